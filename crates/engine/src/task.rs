//! The interface between Task states and the work they reach.
//!
//! The interpreter emits a [`TaskRequest`]; the engine hands it to a [`TaskHandler`], which
//! answers with the result or an error name and cause. Mocks, local functions, HTTP, activities
//! and AWS services are all handlers (in `aslan-integrations`).

use std::future::Future;
use std::pin::Pin;

use aslan_interp::TaskRequest;
use serde_json::Value;

/// A task failure as Step Functions reports it: an error name and a cause.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    /// The error name, e.g. `States.TaskFailed` or a function's `errorType`.
    pub error: String,
    /// The cause.
    pub cause: String,
}

impl TaskError {
    /// A failure with a name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// The future a handler returns.
pub type TaskFuture = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;

/// Runs the work of Task states.
pub trait TaskHandler: Send + Sync {
    /// Starts the task; the future resolves to its result.
    fn invoke(&self, request: &TaskRequest) -> TaskFuture;
}

/// A handler for when nothing is configured: every task fails with a message saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHandler;

impl TaskHandler for NoHandler {
    fn invoke(&self, request: &TaskRequest) -> TaskFuture {
        let cause = format!(
            "No integration is configured for the resource '{}' of the state '{}'. Give mocked responses with --mock FILE --test-case NAME.",
            request.resource.arn, request.state_name
        );
        Box::pin(async move { Err(TaskError::new("aslan.TaskNotConfigured", cause)) })
    }
}
