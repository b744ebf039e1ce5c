//! The X-Ray trace a request belongs to, carried into the events it writes (`traceHeader` in
//! the outbox item), so the relay can hand it to EventBridge and the notifier and balance
//! view join the same trace. On Lambda the runtime names the invocation's trace in
//! `_X_AMZN_TRACE_ID`; the local server names one per request.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static TRACE_HEADER: Option<String>;
}

thread_local! {
    /// The trace of the write running on this thread (the embedded store's writer thread).
    static WRITING_FOR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The trace header of the work in progress, if any.
pub fn current() -> Option<String> {
    TRACE_HEADER
        .try_with(Clone::clone)
        .ok()
        .flatten()
        .or_else(|| WRITING_FOR.with(|trace| trace.borrow().clone()))
        .or_else(|| std::env::var("_X_AMZN_TRACE_ID").ok().filter(|header| !header.is_empty()))
}

/// Runs `work` as part of the trace `header`.
pub async fn within<F: Future>(header: Option<String>, work: F) -> F::Output {
    TRACE_HEADER.scope(header, work).await
}

/// Runs `work` on this thread as part of the trace `header` (a write handed to another thread).
pub fn on_this_thread<T>(header: Option<String>, work: impl FnOnce() -> T) -> T {
    WRITING_FOR.with(|trace| *trace.borrow_mut() = header);
    let result = work();
    WRITING_FOR.with(|trace| *trace.borrow_mut() = None);
    result
}

/// A new X-Ray trace header (`Root=1-<epoch hex>-<96 random bits>;Sampled=1`), for a request
/// that arrived without one.
pub fn new_header(now: chrono::DateTime<chrono::Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{:08x}-{};Sampled=1", now.timestamp(), &random[..24])
}
