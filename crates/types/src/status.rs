//! Enumerations of the Step Functions API: the status of an execution and the type of a
//! state machine, with the SCREAMING_SNAKE names AWS uses on the wire.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that names none of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// What the string was meant to name, such as `ExecutionStatus`.
    pub kind: &'static str,
    /// The string that was given.
    pub value: String,
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}: '{}'", self.kind, self.value)
    }
}

impl std::error::Error for UnknownVariant {}

/// The status of an execution, as `DescribeExecution` and `ListExecutions` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// The execution has started and has not stopped.
    Running,
    /// The execution reached a Succeed state or an end state.
    Succeeded,
    /// The execution failed with an error.
    Failed,
    /// The execution ran longer than its `TimeoutSeconds`.
    TimedOut,
    /// The execution was stopped by `StopExecution`.
    Aborted,
    /// The execution was redriven and has not started again yet.
    PendingRedrive,
}

impl ExecutionStatus {
    /// Every status, in the order of the AWS model.
    pub const ALL: &'static [ExecutionStatus] = &[
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Aborted,
        ExecutionStatus::PendingRedrive,
    ];

    /// Returns the name AWS uses, such as `TIMED_OUT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
            ExecutionStatus::PendingRedrive => "PENDING_REDRIVE",
        }
    }

    /// Tells whether the execution has stopped for good or until a redrive.
    ///
    /// `PENDING_REDRIVE` is not terminal: the execution is about to run again.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Succeeded
                | ExecutionStatus::Failed
                | ExecutionStatus::TimedOut
                | ExecutionStatus::Aborted
        )
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExecutionStatus::ALL
            .iter()
            .copied()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                kind: "ExecutionStatus",
                value: s.to_owned(),
            })
    }
}

/// The type of a state machine, fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateMachineType {
    /// A long-running, exactly-once workflow with an execution history; the default.
    #[default]
    Standard,
    /// A short-lived, at-least-once workflow without an execution history.
    Express,
}

impl StateMachineType {
    /// Returns the name AWS uses: `STANDARD` or `EXPRESS`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StateMachineType::Standard => "STANDARD",
            StateMachineType::Express => "EXPRESS",
        }
    }
}

impl fmt::Display for StateMachineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StateMachineType {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "STANDARD" => Ok(StateMachineType::Standard),
            "EXPRESS" => Ok(StateMachineType::Express),
            _ => Err(UnknownVariant {
                kind: "StateMachineType",
                value: s.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_status_names() {
        for status in ExecutionStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(
                serde_json::from_str::<ExecutionStatus>(&json).unwrap(),
                *status
            );
            assert_eq!(status.as_str().parse::<ExecutionStatus>(), Ok(*status));
        }
        assert_eq!(ExecutionStatus::TimedOut.as_str(), "TIMED_OUT");
        assert_eq!(
            ExecutionStatus::PendingRedrive.to_string(),
            "PENDING_REDRIVE"
        );
        assert!("running".parse::<ExecutionStatus>().is_err());
        assert!(ExecutionStatus::Aborted.is_terminal());
        assert!(!ExecutionStatus::Running.is_terminal());
        assert!(!ExecutionStatus::PendingRedrive.is_terminal());
    }

    #[test]
    fn state_machine_type_names() {
        assert_eq!("STANDARD".parse(), Ok(StateMachineType::Standard));
        assert_eq!("EXPRESS".parse(), Ok(StateMachineType::Express));
        let err = "express".parse::<StateMachineType>().unwrap_err();
        assert_eq!(err.to_string(), "unknown StateMachineType: 'express'");
        assert_eq!(
            serde_json::to_string(&StateMachineType::Express).unwrap(),
            "\"EXPRESS\""
        );
        assert_eq!(StateMachineType::default(), StateMachineType::Standard);
    }
}
