//! The error a state raises: an AWS error name and a cause.

/// An error raised while running a state, caught by `Retry`/`Catch` or failing the execution.
#[derive(Debug, Clone, PartialEq)]
pub struct StateError {
    /// The error name, e.g. `States.Runtime`, `States.TaskFailed` or a user's own name.
    pub error: String,
    /// The human-readable cause.
    pub cause: String,
}

impl StateError {
    /// An error with a name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StateError {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A `States.Runtime` error.
    pub fn runtime(cause: impl Into<String>) -> Self {
        StateError::new("States.Runtime", cause)
    }

    /// Keeps the cause, ignoring a lower-level detail (kept for symmetry with callers that have one).
    pub(crate) fn with_detail(self, _detail: String) -> Self {
        self
    }

    /// True for the errors no retrier or `States.ALL` catcher handles.
    pub fn is_terminal(&self) -> bool {
        self.error == "States.Runtime" || self.error == "States.DataLimitExceeded"
    }
}
