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

    /// Says where an error the interpreter raised itself happened, as AWS does:
    /// "An error occurred while executing the state 'X' (entered at the event id #2). ...".
    /// Errors from tasks, Fail states and branches keep their cause as it is.
    pub(crate) fn located(mut self, state: &str, entered_event: i64) -> Self {
        const PREFIX: &str = "An error occurred while executing the state";
        let raised_here = matches!(
            self.error.as_str(),
            "States.Runtime" | "States.QueryEvaluationError" | "States.IntrinsicFailure"
        );
        if raised_here && !self.cause.starts_with(PREFIX) {
            self.cause = format!(
                "{PREFIX} '{state}' (entered at the event id #{entered_event}). {}",
                self.cause
            );
        }
        self
    }

    /// True for the errors no retrier or `States.ALL` catcher handles.
    pub fn is_terminal(&self) -> bool {
        self.error == "States.Runtime" || self.error == "States.DataLimitExceeded"
    }
}
