//! End-to-end scenarios over HTTP against a Kickboard server started in-process.

mod concurrency;
mod delivery;
mod durability;
mod flow;
mod input;
mod rules;
mod samples;
