//! Shared domain values of aslan, with the names and shapes AWS Step Functions uses.
//!
//! - [`status`]: execution status and state machine type.
//! - [`timestamp`]: millisecond timestamps, RFC 3339 formatting and the strict parser of
//!   Wait state timestamps.
//! - [`arn`]: Step Functions ARNs and resource-name validation.
//! - [`history`]: execution-history events generated from the AWS service model, with
//!   builder helpers for the interpreter.
//! - [`errors`]: the predefined `States.*` error names.
//! - [`map_run`]: a Distributed Map's Map Run and its counts.
//!
//! The crate does no I/O and reads no clock: callers pass timestamps in.

pub mod arn;
pub mod errors;
mod events;
pub mod history;
pub mod map_run;
pub mod status;
pub mod timestamp;

pub use arn::{
    ArnError, NameError, NameErrorKind, StatesArn, StatesResource, validate_alias_name,
    validate_name,
};
pub use history::{GetExecutionHistoryOutput, HistoryEvent, HistoryEventType};
pub use map_run::MapRun;
pub use status::{ExecutionStatus, StateMachineType, UnknownVariant};
pub use timestamp::{Timestamp, TimestampError};
