//! Which Lambda function the work in progress runs as. On Lambda a process is one function;
//! the local server runs them all in one process and names the function for each request and
//! each event it hands on, so what a function asks of AWS can be told apart: the tests sign
//! each function's AWS requests with its own credentials and check them against its role.

use std::future::Future;

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// The function (its binary's name) the current task runs as, where one was named.
pub fn current() -> Option<&'static str> {
    FUNCTION.try_with(|function| *function).ok()
}

/// Runs `work` as the function `function`.
pub async fn running_as<F: Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION.scope(function, work).await
}

/// `work` carrying the current function and trace with it, for a task spawned on its behalf.
pub fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let (function, trace) = (current(), crate::trace::current());
    async move {
        let work = crate::trace::within(trace, work);
        match function {
            Some(function) => running_as(function, work).await,
            None => work.await,
        }
    }
}
