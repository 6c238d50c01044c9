//! The predefined error names of the Amazon States Language and AWS Step Functions.
//!
//! The names come from the States Language specification (appendix A) and from the AWS
//! "Error names" documentation of Step Functions, which adds `States.DataLimitExceeded`,
//! `States.Runtime`, `States.QueryEvaluationError`, `States.Http.Socket` and the
//! `States.Http.StatusCode.<code>` family that HTTP Tasks report.

/// Matches any error name in `ErrorEquals`, except the terminal `States.DataLimitExceeded`
/// and `States.Runtime`.
pub const ALL: &str = "States.ALL";
/// A payload grew past the size quota; terminal, so `States.ALL` does not catch it.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// A run-time error that cannot be retried, such as applying a path to a value without it.
pub const RUNTIME: &str = "States.Runtime";
/// A Task ran longer than its `TimeoutSeconds`, or missed its heartbeat.
pub const TIMEOUT: &str = "States.Timeout";
/// A Task failed; matches any error of a Task except `States.Timeout`.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A Task lacked the privileges to run its code.
pub const PERMISSIONS: &str = "States.Permissions";
/// A `ResultPath` could not be applied to the state's input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// A path in a `Parameters` field whose name ends in `.$` failed.
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A JSONata expression failed, or produced a value of the wrong type.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
/// A branch of a Parallel state failed.
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// A Choice state matched no rule and has no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map state's failed items exceeded its tolerated failure threshold.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A Map state could not read its items through its `ItemReader`.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// A Map state could not write its results through its `ResultWriter`.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// A Task did not send a heartbeat within its `HeartbeatSeconds`.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// An HTTP Task timed out at the socket.
pub const HTTP_SOCKET: &str = "States.Http.Socket";

/// The prefix of the errors an HTTP Task reports for a response status, such as
/// `States.Http.StatusCode.404`.
pub const HTTP_STATUS_CODE_PREFIX: &str = "States.Http.StatusCode.";

/// The prefix that only predefined error names may start with.
pub const STATES_PREFIX: &str = "States.";

/// Every predefined error name with a fixed spelling; the `States.Http.StatusCode.<code>`
/// family is open-ended and not listed.
pub const PREDEFINED: &[&str] = &[
    ALL,
    DATA_LIMIT_EXCEEDED,
    RUNTIME,
    TIMEOUT,
    TASK_FAILED,
    PERMISSIONS,
    RESULT_PATH_MATCH_FAILURE,
    PARAMETER_PATH_FAILURE,
    QUERY_EVALUATION_ERROR,
    BRANCH_FAILED,
    NO_CHOICE_MATCHED,
    INTRINSIC_FAILURE,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RESULT_WRITER_FAILED,
    HEARTBEAT_TIMEOUT,
    HTTP_SOCKET,
];

/// Tells whether `name` is a predefined error name, including `States.Http.StatusCode.<code>`
/// with a three-digit code.
pub fn is_predefined(name: &str) -> bool {
    if PREDEFINED.contains(&name) {
        return true;
    }
    name.strip_prefix(HTTP_STATUS_CODE_PREFIX)
        .is_some_and(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
}

/// Tells whether `name` starts with `States.`, which the States Language reserves for the
/// predefined errors: a state may not report such an error of its own.
pub fn has_states_prefix(name: &str) -> bool {
    name.starts_with(STATES_PREFIX)
}

/// Returns the error name an HTTP Task reports for a response with status `code`.
pub fn http_status_code(code: u16) -> String {
    format!("{HTTP_STATUS_CODE_PREFIX}{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_names() {
        for name in PREDEFINED {
            assert!(is_predefined(name), "{name}");
            assert!(has_states_prefix(name), "{name}");
        }
        assert!(is_predefined("States.ALL"));
        assert!(is_predefined("States.QueryEvaluationError"));
        assert!(is_predefined("States.Http.StatusCode.404"));
        assert!(!is_predefined("States.Http.StatusCode.4XX"));
        assert!(!is_predefined("States.Http.StatusCode."));
        assert!(!is_predefined("States.all"));
        assert!(!is_predefined("States.Format"));
        assert!(!is_predefined("Lambda.ServiceException"));
        assert!(!has_states_prefix("Lambda.ServiceException"));
        assert_eq!(http_status_code(429), "States.Http.StatusCode.429");
        assert!(is_predefined(&http_status_code(503)));
    }
}
