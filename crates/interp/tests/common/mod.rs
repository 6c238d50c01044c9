//! Helpers the interpreter's integration tests share.
// Each test file uses its own subset of these.
#![allow(dead_code)]

use aslan_asl::{Definition, LoadOptions};
use aslan_interp::{Command, Execution, ExecutionInfo, Options, TaskRequest};
use serde_json::Value;

/// A definition that must be valid.
pub(crate) fn definition(value: Value) -> Definition {
    let parsed = aslan_asl::parse_value(&value, LoadOptions::default());
    match parsed.definition {
        Some(definition) => definition,
        None => panic!("invalid test definition: {:?}", parsed.diagnostics),
    }
}

/// The types of the history events among `commands`, in order.
pub(crate) fn event_types(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Record(event) => Some(event.event_type.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

/// The first task `commands` schedule.
pub(crate) fn first_task(commands: &[Command]) -> TaskRequest {
    commands
        .iter()
        .find_map(|c| match c {
            Command::ScheduleTask(request) => Some((**request).clone()),
            _ => None,
        })
        .expect("a task is scheduled")
}

/// When the test executions start (epoch milliseconds).
pub(crate) const T0: i64 = 1_700_000_000_000;

/// An execution `e` of a state machine `M`, started at `T0`.
pub(crate) fn execution() -> Execution {
    Execution::new(
        ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:e".into(),
            execution_name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
            state_machine_name: "M".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            region: "us-east-1".into(),
            start_time: T0,
            ..Default::default()
        },
        Options::default(),
    )
}
