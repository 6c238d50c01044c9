//! The wire model of the AWS Step Functions API, shared by the aslan server and CLI.
//!
//! The API speaks the AWS JSON 1.0 protocol: every operation is a `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>` (see [`TARGET_PREFIX`]) and
//! `Content-Type: application/x-amz-json-1.0`; the request body is the operation's input as
//! JSON, and the response body its output, or an [`ErrorBody`] with a 4xx or 5xx status.
//!
//! - [`shapes`]: `<Operation>Input` and `<Operation>Output` of every operation, with the
//!   structures and enumerations they use, generated from the botocore service model by
//!   `codegen/api_shapes.py` and re-exported here. Timestamps are [`Timestamp`]s, epoch
//!   seconds on the wire.
//! - [`history`]: the execution-history shapes, which `aslan_types` owns.
//! - [`error`]: the error codes AWS answers with, their HTTP statuses, and the error body.
//! - [`OperationInput`]: ties an input to its operation and output, and names a missing
//!   required member so the server can answer as AWS does.
//!
//! The crate holds serde types only: no I/O and no HTTP.

#![warn(missing_docs)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

pub mod error;
pub mod shapes;

pub use aslan_types::history;
pub use error::{ErrorBody, ErrorCode};
pub use shapes::*;

/// The prefix of the `X-Amz-Target` header: `AWSStepFunctions.StartExecution` names the
/// `StartExecution` operation.
pub const TARGET_PREFIX: &str = "AWSStepFunctions";

/// Every operation of the AWS Step Functions API, in the order of the AWS model.
pub fn operation_names() -> &'static [&'static str] {
    shapes::OPERATION_NAMES
}

/// Returns the operation an `X-Amz-Target` header names, such as `StartExecution` for
/// `AWSStepFunctions.StartExecution`, if it names one of [`operation_names`].
pub fn operation_from_target(target: &str) -> Option<&'static str> {
    let name = target.strip_prefix(TARGET_PREFIX)?.strip_prefix('.')?;
    operation_names()
        .iter()
        .copied()
        .find(|known| *known == name)
}

/// The input of an operation: what it is called, what it answers, and whether it is complete.
///
/// Every `<Operation>Input` implements it. Inputs deserialize leniently: a required member
/// that is absent or null reads as empty rather than failing, because AWS answers a missing
/// member with a `ValidationException`, not a serialization error. The server asks
/// [`missing_required`](OperationInput::missing_required) after deserializing.
pub trait OperationInput: Serialize + DeserializeOwned + Default {
    /// The operation's name, as it appears after [`TARGET_PREFIX`] in `X-Amz-Target`.
    const OPERATION: &'static str;

    /// The operation's response.
    type Output: Serialize + DeserializeOwned;

    /// Returns the wire name of the first required member that is absent or empty, in the
    /// order of the AWS model, such as `stateMachineArn`.
    ///
    /// Required strings are checked, and required lists that the model says may not be
    /// empty; a required list that may be empty (`tags` of `TagResource`) is never reported,
    /// since its absence reads as an empty list.
    fn missing_required(&self) -> Option<&'static str>;
}

/// Reads a required member of an input, taking null as absent, as AWS does: both read as the
/// empty value that [`OperationInput::missing_required`] reports.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_operations() {
        assert_eq!(operation_names().len(), 37);
        assert_eq!(
            operation_from_target("AWSStepFunctions.StartExecution"),
            Some("StartExecution")
        );
        assert_eq!(
            operation_from_target("AWSStepFunctions.ValidateStateMachineDefinition"),
            Some("ValidateStateMachineDefinition")
        );
        assert_eq!(operation_from_target("AWSStepFunctions.Nope"), None);
        assert_eq!(
            operation_from_target("AWSStepFunctionsStartExecution"),
            None
        );
        assert_eq!(operation_from_target("AmazonStates.StartExecution"), None);
        assert_eq!(operation_from_target("StartExecution"), None);
    }

    #[test]
    fn inputs_name_their_operation() {
        assert_eq!(StartExecutionInput::OPERATION, "StartExecution");
        assert_eq!(GetExecutionHistoryInput::OPERATION, "GetExecutionHistory");
        let output: <GetExecutionHistoryInput as OperationInput>::Output =
            GetExecutionHistoryOutput::new(Vec::new());
        assert!(output.events.is_empty());
    }
}
