//! Hand-written helpers over the generated history types of `history.rs`: event-type lookups
//! by state type, and builder methods that fill in an event's details the way AWS does.
//!
//! The interpreter writes an event in two steps: [`HistoryEvent::new`] with the id, the
//! previous id, the time and the type, then one `with_*` method for the details. Methods that
//! serve several event types (such as [`HistoryEvent::with_failure`]) put the details in the
//! member that belongs to the event's type.
//!
//! ```
//! use aslan_types::{HistoryEvent, HistoryEventType, Timestamp};
//!
//! let ts = Timestamp::from_millis(1_525_283_875_612);
//! let entered = HistoryEventType::state_entered("Pass").unwrap();
//! let event = HistoryEvent::new(2, 0, ts, entered).with_state_entered("HelloWorld", "{}");
//! assert_eq!(event.event_type, HistoryEventType::PassStateEntered);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::history::{
    ActivityFailedEventDetails, ActivityScheduleFailedEventDetails, ActivityScheduledEventDetails,
    ActivityStartedEventDetails, ActivitySucceededEventDetails, ActivityTimedOutEventDetails,
    AssignedVariablesDetails, EvaluationFailedEventDetails, ExecutionAbortedEventDetails,
    ExecutionFailedEventDetails, ExecutionRedrivenEventDetails, ExecutionStartedEventDetails,
    ExecutionSucceededEventDetails, ExecutionTimedOutEventDetails, HistoryEvent,
    HistoryEventExecutionDataDetails, HistoryEventType, LambdaFunctionFailedEventDetails,
    LambdaFunctionScheduleFailedEventDetails, LambdaFunctionScheduledEventDetails,
    LambdaFunctionStartFailedEventDetails, LambdaFunctionSucceededEventDetails,
    LambdaFunctionTimedOutEventDetails, MapIterationEventDetails, MapRunFailedEventDetails,
    MapRunRedrivenEventDetails, MapRunStartedEventDetails, MapStateStartedEventDetails,
    StateEnteredEventDetails, StateExitedEventDetails, TaskFailedEventDetails,
    TaskScheduledEventDetails, TaskStartFailedEventDetails, TaskStartedEventDetails,
    TaskSubmitFailedEventDetails, TaskSubmittedEventDetails, TaskSucceededEventDetails,
    TaskTimedOutEventDetails,
};
use crate::status::UnknownVariant;
use crate::timestamp::Timestamp;

impl HistoryEventType {
    /// Returns the `{Type}StateEntered` event of a state whose `Type` is `kind` (`Pass`,
    /// `Task`, `Choice`, `Wait`, `Succeed`, `Fail`, `Parallel` or `Map`).
    pub fn state_entered(kind: &str) -> Option<Self> {
        Some(match kind {
            "Pass" => HistoryEventType::PassStateEntered,
            "Task" => HistoryEventType::TaskStateEntered,
            "Choice" => HistoryEventType::ChoiceStateEntered,
            "Wait" => HistoryEventType::WaitStateEntered,
            "Succeed" => HistoryEventType::SucceedStateEntered,
            "Fail" => HistoryEventType::FailStateEntered,
            "Parallel" => HistoryEventType::ParallelStateEntered,
            "Map" => HistoryEventType::MapStateEntered,
            _ => return None,
        })
    }

    /// Returns the `{Type}StateExited` event of a state whose `Type` is `kind`.
    ///
    /// A Fail state never exits (the execution fails instead), so AWS has no
    /// `FailStateExited` and this returns `None` for `Fail`.
    pub fn state_exited(kind: &str) -> Option<Self> {
        Some(match kind {
            "Pass" => HistoryEventType::PassStateExited,
            "Task" => HistoryEventType::TaskStateExited,
            "Choice" => HistoryEventType::ChoiceStateExited,
            "Wait" => HistoryEventType::WaitStateExited,
            "Succeed" => HistoryEventType::SucceedStateExited,
            "Parallel" => HistoryEventType::ParallelStateExited,
            "Map" => HistoryEventType::MapStateExited,
            _ => return None,
        })
    }

    /// Returns the `{Type}StateAborted` event of a state whose `Type` is `kind`; AWS has one
    /// only for `Task`, `Wait`, `Parallel` and `Map` states.
    pub fn state_aborted(kind: &str) -> Option<Self> {
        Some(match kind {
            "Task" => HistoryEventType::TaskStateAborted,
            "Wait" => HistoryEventType::WaitStateAborted,
            "Parallel" => HistoryEventType::ParallelStateAborted,
            "Map" => HistoryEventType::MapStateAborted,
            _ => return None,
        })
    }

    /// Tells whether this is one of the `{Type}StateEntered` events.
    pub const fn is_state_entered(self) -> bool {
        matches!(
            self,
            HistoryEventType::PassStateEntered
                | HistoryEventType::TaskStateEntered
                | HistoryEventType::ChoiceStateEntered
                | HistoryEventType::WaitStateEntered
                | HistoryEventType::SucceedStateEntered
                | HistoryEventType::FailStateEntered
                | HistoryEventType::ParallelStateEntered
                | HistoryEventType::MapStateEntered
        )
    }

    /// Tells whether this is one of the `{Type}StateExited` events.
    pub const fn is_state_exited(self) -> bool {
        matches!(
            self,
            HistoryEventType::PassStateExited
                | HistoryEventType::TaskStateExited
                | HistoryEventType::ChoiceStateExited
                | HistoryEventType::WaitStateExited
                | HistoryEventType::SucceedStateExited
                | HistoryEventType::ParallelStateExited
                | HistoryEventType::MapStateExited
        )
    }

    /// Tells whether this event ends an execution: `ExecutionSucceeded`, `ExecutionFailed`,
    /// `ExecutionTimedOut` or `ExecutionAborted`.
    pub const fn is_execution_terminal(self) -> bool {
        matches!(
            self,
            HistoryEventType::ExecutionSucceeded
                | HistoryEventType::ExecutionFailed
                | HistoryEventType::ExecutionTimedOut
                | HistoryEventType::ExecutionAborted
        )
    }
}

impl fmt::Display for HistoryEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HistoryEventType {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HistoryEventType::from_name(s).ok_or_else(|| UnknownVariant {
            kind: "HistoryEventType",
            value: s.to_owned(),
        })
    }
}

impl HistoryEventExecutionDataDetails {
    /// The details AWS attaches to every input or output in GetExecutionHistory:
    /// `{"truncated": false}`.
    pub fn not_truncated() -> Self {
        HistoryEventExecutionDataDetails {
            truncated: Some(false),
        }
    }
}

impl AssignedVariablesDetails {
    /// The details AWS attaches to assigned variables in GetExecutionHistory:
    /// `{"truncated": false}`.
    pub fn not_truncated() -> Self {
        AssignedVariablesDetails {
            truncated: Some(false),
        }
    }
}

/// Flags a builder method used on an event type it does not serve.
///
/// A mismatch is a bug in the caller, so debug builds stop there; release builds leave the
/// event without details rather than put them in a member AWS would not use.
fn mismatch(method: &str, event_type: HistoryEventType) {
    debug_assert!(
        false,
        "HistoryEvent::{method} does not apply to {event_type} events"
    );
}

impl HistoryEvent {
    /// Makes an event with no details.
    ///
    /// `previous_event_id` is 0 for the first event and for the events AWS does not chain,
    /// such as the `StateEntered` event of a top-level state.
    pub fn new(
        id: i64,
        previous_event_id: i64,
        timestamp: Timestamp,
        event_type: HistoryEventType,
    ) -> Self {
        HistoryEvent {
            timestamp,
            event_type,
            id,
            previous_event_id: Some(previous_event_id),
            activity_failed_event_details: None,
            activity_schedule_failed_event_details: None,
            activity_scheduled_event_details: None,
            activity_started_event_details: None,
            activity_succeeded_event_details: None,
            activity_timed_out_event_details: None,
            task_failed_event_details: None,
            task_scheduled_event_details: None,
            task_start_failed_event_details: None,
            task_started_event_details: None,
            task_submit_failed_event_details: None,
            task_submitted_event_details: None,
            task_succeeded_event_details: None,
            task_timed_out_event_details: None,
            execution_failed_event_details: None,
            execution_started_event_details: None,
            execution_succeeded_event_details: None,
            execution_aborted_event_details: None,
            execution_timed_out_event_details: None,
            execution_redriven_event_details: None,
            map_state_started_event_details: None,
            map_iteration_started_event_details: None,
            map_iteration_succeeded_event_details: None,
            map_iteration_failed_event_details: None,
            map_iteration_aborted_event_details: None,
            lambda_function_failed_event_details: None,
            lambda_function_schedule_failed_event_details: None,
            lambda_function_scheduled_event_details: None,
            lambda_function_start_failed_event_details: None,
            lambda_function_succeeded_event_details: None,
            lambda_function_timed_out_event_details: None,
            state_entered_event_details: None,
            state_exited_event_details: None,
            map_run_started_event_details: None,
            map_run_failed_event_details: None,
            map_run_redriven_event_details: None,
            evaluation_failed_event_details: None,
        }
    }

    /// Sets the details of an `ExecutionStarted` event: the execution input and the role.
    ///
    /// The version and alias ARNs, when the execution started through one, go in
    /// `execution_started_event_details` directly.
    pub fn with_execution_started(
        mut self,
        input: impl Into<String>,
        role_arn: Option<String>,
    ) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::ExecutionStarted);
        self.execution_started_event_details = Some(ExecutionStartedEventDetails {
            input: Some(input.into()),
            input_details: Some(HistoryEventExecutionDataDetails::not_truncated()),
            role_arn,
            state_machine_alias_arn: None,
            state_machine_version_arn: None,
        });
        self
    }

    /// Sets the details of an `ExecutionRedriven` event.
    pub fn with_execution_redriven(mut self, redrive_count: i32) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::ExecutionRedriven);
        self.execution_redriven_event_details = Some(ExecutionRedrivenEventDetails {
            redrive_count: Some(redrive_count),
        });
        self
    }

    /// Sets the output of an `ExecutionSucceeded`, `ActivitySucceeded` or
    /// `LambdaFunctionSucceeded` event.
    pub fn with_output(mut self, output: impl Into<String>) -> Self {
        let output = Some(output.into());
        let output_details = Some(HistoryEventExecutionDataDetails::not_truncated());
        match self.event_type {
            HistoryEventType::ExecutionSucceeded => {
                self.execution_succeeded_event_details = Some(ExecutionSucceededEventDetails {
                    output,
                    output_details,
                });
            }
            HistoryEventType::ActivitySucceeded => {
                self.activity_succeeded_event_details = Some(ActivitySucceededEventDetails {
                    output,
                    output_details,
                });
            }
            HistoryEventType::LambdaFunctionSucceeded => {
                self.lambda_function_succeeded_event_details =
                    Some(LambdaFunctionSucceededEventDetails {
                        output,
                        output_details,
                    });
            }
            other => mismatch("with_output", other),
        }
        self
    }

    /// Sets the error and cause of an event whose details are just those two:
    /// `ExecutionFailed`, `ExecutionAborted`, `ExecutionTimedOut`, `ActivityFailed`,
    /// `ActivityScheduleFailed`, `ActivityTimedOut`, `LambdaFunctionFailed`,
    /// `LambdaFunctionScheduleFailed`, `LambdaFunctionStartFailed`, `LambdaFunctionTimedOut`
    /// or `MapRunFailed`.
    ///
    /// AWS leaves out an error or a cause that is absent, as for a Fail state without
    /// `Cause`.
    pub fn with_failure(mut self, error: Option<String>, cause: Option<String>) -> Self {
        match self.event_type {
            HistoryEventType::ExecutionFailed => {
                self.execution_failed_event_details =
                    Some(ExecutionFailedEventDetails { error, cause });
            }
            HistoryEventType::ExecutionAborted => {
                self.execution_aborted_event_details =
                    Some(ExecutionAbortedEventDetails { error, cause });
            }
            HistoryEventType::ExecutionTimedOut => {
                self.execution_timed_out_event_details =
                    Some(ExecutionTimedOutEventDetails { error, cause });
            }
            HistoryEventType::ActivityFailed => {
                self.activity_failed_event_details =
                    Some(ActivityFailedEventDetails { error, cause });
            }
            HistoryEventType::ActivityScheduleFailed => {
                self.activity_schedule_failed_event_details =
                    Some(ActivityScheduleFailedEventDetails { error, cause });
            }
            HistoryEventType::ActivityTimedOut => {
                self.activity_timed_out_event_details =
                    Some(ActivityTimedOutEventDetails { error, cause });
            }
            HistoryEventType::LambdaFunctionFailed => {
                self.lambda_function_failed_event_details =
                    Some(LambdaFunctionFailedEventDetails { error, cause });
            }
            HistoryEventType::LambdaFunctionScheduleFailed => {
                self.lambda_function_schedule_failed_event_details =
                    Some(LambdaFunctionScheduleFailedEventDetails { error, cause });
            }
            HistoryEventType::LambdaFunctionStartFailed => {
                self.lambda_function_start_failed_event_details =
                    Some(LambdaFunctionStartFailedEventDetails { error, cause });
            }
            HistoryEventType::LambdaFunctionTimedOut => {
                self.lambda_function_timed_out_event_details =
                    Some(LambdaFunctionTimedOutEventDetails { error, cause });
            }
            HistoryEventType::MapRunFailed => {
                self.map_run_failed_event_details = Some(MapRunFailedEventDetails { error, cause });
            }
            other => mismatch("with_failure", other),
        }
        self
    }

    /// Sets the details of a `{Type}StateEntered` event: the state's name and input.
    pub fn with_state_entered(mut self, name: impl Into<String>, input: impl Into<String>) -> Self {
        debug_assert!(self.event_type.is_state_entered(), "{}", self.event_type);
        self.state_entered_event_details = Some(StateEnteredEventDetails {
            name: name.into(),
            input: Some(input.into()),
            input_details: Some(HistoryEventExecutionDataDetails::not_truncated()),
        });
        self
    }

    /// Sets the details of a `{Type}StateExited` event: the state's name and output.
    pub fn with_state_exited(mut self, name: impl Into<String>, output: impl Into<String>) -> Self {
        debug_assert!(self.event_type.is_state_exited(), "{}", self.event_type);
        self.state_exited_event_details = Some(StateExitedEventDetails {
            name: name.into(),
            output: Some(output.into()),
            output_details: Some(HistoryEventExecutionDataDetails::not_truncated()),
            assigned_variables: None,
            assigned_variables_details: None,
        });
        self
    }

    /// Adds the variables a state assigned, each value serialized as JSON text, to the
    /// details that [`HistoryEvent::with_state_exited`] set.
    pub fn with_assigned_variables(mut self, variables: BTreeMap<String, String>) -> Self {
        match self.state_exited_event_details.as_mut() {
            Some(details) => {
                details.assigned_variables = Some(variables);
                details.assigned_variables_details =
                    Some(AssignedVariablesDetails::not_truncated());
            }
            None => mismatch(
                "with_assigned_variables before with_state_exited",
                self.event_type,
            ),
        }
        self
    }

    /// Sets the details of a `TaskScheduled` event.
    pub fn with_task_scheduled(mut self, details: TaskScheduledEventDetails) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::TaskScheduled);
        self.task_scheduled_event_details = Some(details);
        self
    }

    /// Sets the details of a `TaskStarted` event: the resource type (such as `lambda`) and
    /// the resource (such as `invoke`).
    pub fn with_task_started(
        mut self,
        resource_type: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::TaskStarted);
        self.task_started_event_details =
            Some(TaskStartedEventDetails::new(resource_type, resource));
        self
    }

    /// Sets the details of a `TaskSucceeded` or `TaskSubmitted` event: the resource and the
    /// response it gave.
    pub fn with_task_output(
        mut self,
        resource_type: impl Into<String>,
        resource: impl Into<String>,
        output: impl Into<String>,
    ) -> Self {
        let (resource_type, resource) = (resource_type.into(), resource.into());
        let output = Some(output.into());
        let output_details = Some(HistoryEventExecutionDataDetails::not_truncated());
        match self.event_type {
            HistoryEventType::TaskSucceeded => {
                self.task_succeeded_event_details = Some(TaskSucceededEventDetails {
                    resource_type,
                    resource,
                    output,
                    output_details,
                });
            }
            HistoryEventType::TaskSubmitted => {
                self.task_submitted_event_details = Some(TaskSubmittedEventDetails {
                    resource_type,
                    resource,
                    output,
                    output_details,
                });
            }
            other => mismatch("with_task_output", other),
        }
        self
    }

    /// Sets the details of a `TaskFailed`, `TaskStartFailed`, `TaskSubmitFailed` or
    /// `TaskTimedOut` event: the resource, the error and the cause.
    pub fn with_task_failure(
        mut self,
        resource_type: impl Into<String>,
        resource: impl Into<String>,
        error: Option<String>,
        cause: Option<String>,
    ) -> Self {
        let (resource_type, resource) = (resource_type.into(), resource.into());
        match self.event_type {
            HistoryEventType::TaskFailed => {
                self.task_failed_event_details = Some(TaskFailedEventDetails {
                    resource_type,
                    resource,
                    error,
                    cause,
                });
            }
            HistoryEventType::TaskStartFailed => {
                self.task_start_failed_event_details = Some(TaskStartFailedEventDetails {
                    resource_type,
                    resource,
                    error,
                    cause,
                });
            }
            HistoryEventType::TaskSubmitFailed => {
                self.task_submit_failed_event_details = Some(TaskSubmitFailedEventDetails {
                    resource_type,
                    resource,
                    error,
                    cause,
                });
            }
            HistoryEventType::TaskTimedOut => {
                self.task_timed_out_event_details = Some(TaskTimedOutEventDetails {
                    resource_type,
                    resource,
                    error,
                    cause,
                });
            }
            other => mismatch("with_task_failure", other),
        }
        self
    }

    /// Sets the details of an `ActivityScheduled` event.
    pub fn with_activity_scheduled(mut self, details: ActivityScheduledEventDetails) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::ActivityScheduled);
        self.activity_scheduled_event_details = Some(details);
        self
    }

    /// Sets the details of an `ActivityStarted` event: the name the worker gave, if any.
    pub fn with_activity_started(mut self, worker_name: Option<String>) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::ActivityStarted);
        self.activity_started_event_details = Some(ActivityStartedEventDetails { worker_name });
        self
    }

    /// Sets the details of a `LambdaFunctionScheduled` event.
    pub fn with_lambda_function_scheduled(
        mut self,
        details: LambdaFunctionScheduledEventDetails,
    ) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::LambdaFunctionScheduled);
        self.lambda_function_scheduled_event_details = Some(details);
        self
    }

    /// Sets the details of a `MapStateStarted` event: the number of items.
    pub fn with_map_state_started(mut self, length: i32) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::MapStateStarted);
        self.map_state_started_event_details = Some(MapStateStartedEventDetails {
            length: Some(length),
        });
        self
    }

    /// Sets the details of a `MapIterationStarted`, `MapIterationSucceeded`,
    /// `MapIterationFailed` or `MapIterationAborted` event: the Map state's name and the
    /// item's index.
    pub fn with_map_iteration(mut self, map_state_name: impl Into<String>, index: i32) -> Self {
        let details = Some(MapIterationEventDetails {
            name: Some(map_state_name.into()),
            index: Some(index),
        });
        match self.event_type {
            HistoryEventType::MapIterationStarted => {
                self.map_iteration_started_event_details = details
            }
            HistoryEventType::MapIterationSucceeded => {
                self.map_iteration_succeeded_event_details = details;
            }
            HistoryEventType::MapIterationFailed => {
                self.map_iteration_failed_event_details = details
            }
            HistoryEventType::MapIterationAborted => {
                self.map_iteration_aborted_event_details = details
            }
            other => mismatch("with_map_iteration", other),
        }
        self
    }

    /// Sets the details of a `MapRunStarted` event: the Map Run's ARN.
    pub fn with_map_run_started(mut self, map_run_arn: impl Into<String>) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::MapRunStarted);
        self.map_run_started_event_details = Some(MapRunStartedEventDetails {
            map_run_arn: Some(map_run_arn.into()),
        });
        self
    }

    /// Sets the details of a `MapRunRedriven` event.
    pub fn with_map_run_redriven(
        mut self,
        map_run_arn: impl Into<String>,
        redrive_count: i32,
    ) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::MapRunRedriven);
        self.map_run_redriven_event_details = Some(MapRunRedrivenEventDetails {
            map_run_arn: Some(map_run_arn.into()),
            redrive_count: Some(redrive_count),
        });
        self
    }

    /// Sets the details of an `EvaluationFailed` event: the state, the error, the cause and
    /// the field whose evaluation failed (such as `Arguments`).
    pub fn with_evaluation_failed(
        mut self,
        state: impl Into<String>,
        error: Option<String>,
        cause: Option<String>,
        location: Option<String>,
    ) -> Self {
        debug_assert_eq!(self.event_type, HistoryEventType::EvaluationFailed);
        self.evaluation_failed_event_details = Some(EvaluationFailedEventDetails {
            error,
            cause,
            location,
            state: state.into(),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::GetExecutionHistoryOutput;
    use serde_json::{Value, json};

    /// The sample response of GetExecutionHistory in the AWS Step Functions API reference
    /// ("HelloWorld Execution History").
    const AWS_HELLO_WORLD: &str = r#"{
      "events": [
        {
          "timestamp": 1525283875.58,
          "executionStartedEventDetails": {
            "input": "{}",
            "inputDetails": {"truncated": false},
            "roleArn": "arn:aws:iam::123456789123:role/service-role/StatesExecutionRole-us-east-1"
          },
          "type": "ExecutionStarted",
          "id": 1,
          "previousEventId": 0
        },
        {
          "timestamp": 1525283875.612,
          "type": "PassStateEntered",
          "id": 2,
          "stateEnteredEventDetails": {
            "input": "{}",
            "inputDetails": {"truncated": false},
            "name": "HelloWorld"
          },
          "previousEventId": 0
        },
        {
          "timestamp": 1525283875.612,
          "stateExitedEventDetails": {
            "output": "\"Hello World!\"",
            "outputDetails": {"truncated": false},
            "name": "HelloWorld"
          },
          "type": "PassStateExited",
          "id": 3,
          "previousEventId": 2
        },
        {
          "executionSucceededEventDetails": {
            "output": "\"Hello World!\"",
            "outputDetails": {"truncated": false}
          },
          "timestamp": 1525283875.612,
          "type": "ExecutionSucceeded",
          "id": 4,
          "previousEventId": 3
        }
      ]
    }"#;

    /// A longer history in the shapes of the AWS API reference, with a Lambda task, variables,
    /// an inline Map state, a JSONata evaluation failure and a failed execution.
    const RICH_HISTORY: &str = r#"{
      "events": [
        {"timestamp": 1.7096400001E9, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
         "executionStartedEventDetails": {"input": "{\"items\":[1,2]}", "inputDetails": {"truncated": false},
           "roleArn": "arn:aws:iam::123456789012:role/service-role/StepFunctions-Demo-role",
           "stateMachineAliasArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Demo:PROD",
           "stateMachineVersionArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Demo:3"}},
        {"timestamp": 1709640000.2, "type": "TaskStateEntered", "id": 2, "previousEventId": 0,
         "stateEnteredEventDetails": {"name": "Invoke", "input": "{\"items\":[1,2]}", "inputDetails": {"truncated": false}}},
        {"timestamp": 1709640000.201, "type": "TaskScheduled", "id": 3, "previousEventId": 2,
         "taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
           "parameters": "{\"FunctionName\":\"arn:aws:lambda:us-east-1:123456789012:function:f\",\"Payload\":{}}",
           "timeoutInSeconds": 60, "heartbeatInSeconds": 10,
           "taskCredentials": {"roleArn": "arn:aws:iam::123456789012:role/Other"}}},
        {"timestamp": 1709640000.25, "type": "TaskStarted", "id": 4, "previousEventId": 3,
         "taskStartedEventDetails": {"resourceType": "lambda", "resource": "invoke"}},
        {"timestamp": 1709640000.5, "type": "TaskSucceeded", "id": 5, "previousEventId": 4,
         "taskSucceededEventDetails": {"resourceType": "lambda", "resource": "invoke",
           "output": "{\"Payload\":{\"ok\":true},\"StatusCode\":200}", "outputDetails": {"truncated": false}}},
        {"timestamp": 1709640000.501, "type": "TaskStateExited", "id": 6, "previousEventId": 5,
         "stateExitedEventDetails": {"name": "Invoke", "output": "{\"items\":[1,2]}", "outputDetails": {"truncated": false},
           "assignedVariables": {"ok": "true", "label": "\"first\""}, "assignedVariablesDetails": {"truncated": false}}},
        {"timestamp": 1709640000.502, "type": "MapStateEntered", "id": 7, "previousEventId": 6,
         "stateEnteredEventDetails": {"name": "Each", "input": "{\"items\":[1,2]}", "inputDetails": {"truncated": false}}},
        {"timestamp": 1709640000.503, "type": "MapStateStarted", "id": 8, "previousEventId": 7,
         "mapStateStartedEventDetails": {"length": 2}},
        {"timestamp": 1709640000.504, "type": "MapIterationStarted", "id": 9, "previousEventId": 8,
         "mapIterationStartedEventDetails": {"name": "Each", "index": 0}},
        {"timestamp": 1709640000.505, "type": "PassStateEntered", "id": 10, "previousEventId": 9,
         "stateEnteredEventDetails": {"name": "Double", "input": "1", "inputDetails": {"truncated": false}}},
        {"timestamp": 1709640000.506, "type": "PassStateExited", "id": 11, "previousEventId": 10,
         "stateExitedEventDetails": {"name": "Double", "output": "2", "outputDetails": {"truncated": false}}},
        {"timestamp": 1709640000.507, "type": "MapIterationSucceeded", "id": 12, "previousEventId": 11,
         "mapIterationSucceededEventDetails": {"name": "Each", "index": 0}},
        {"timestamp": 1709640000.508, "type": "MapIterationFailed", "id": 13, "previousEventId": 9,
         "mapIterationFailedEventDetails": {"name": "Each", "index": 1}},
        {"timestamp": 1709640000.509, "type": "MapStateFailed", "id": 14, "previousEventId": 13},
        {"timestamp": 1709640000.51, "type": "EvaluationFailed", "id": 15, "previousEventId": 14,
         "evaluationFailedEventDetails": {"error": "States.QueryEvaluationError",
           "cause": "An error occurred while evaluating the expression.", "location": "Output", "state": "Each"}},
        {"timestamp": 1709640000.511, "type": "LambdaFunctionScheduled", "id": 16, "previousEventId": 15,
         "lambdaFunctionScheduledEventDetails": {"resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
           "input": "{}", "inputDetails": {"truncated": false}, "timeoutInSeconds": 5}},
        {"timestamp": 1709640000.512, "type": "ActivityStarted", "id": 17, "previousEventId": 16,
         "activityStartedEventDetails": {"workerName": "worker-1"}},
        {"timestamp": 1709640000.513, "type": "MapRunStarted", "id": 18, "previousEventId": 17,
         "mapRunStartedEventDetails": {"mapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:Demo/Each:0e3f"}},
        {"timestamp": 1709640000.514, "type": "ExecutionRedriven", "id": 19, "previousEventId": 18,
         "executionRedrivenEventDetails": {"redriveCount": 1}},
        {"timestamp": 1709640000.999, "type": "ExecutionFailed", "id": 20, "previousEventId": 19,
         "executionFailedEventDetails": {"error": "States.QueryEvaluationError",
           "cause": "An error occurred while evaluating the expression."}}
      ],
      "nextToken": "AAAA"
    }"#;

    fn round_trip(text: &str) -> GetExecutionHistoryOutput {
        let original: Value = serde_json::from_str(text).unwrap();
        let parsed: GetExecutionHistoryOutput = serde_json::from_str(text).unwrap();
        let again = serde_json::to_value(&parsed).unwrap();
        assert_eq!(again, original);
        parsed
    }

    #[test]
    fn aws_sample_round_trips() {
        let history = round_trip(AWS_HELLO_WORLD);
        assert_eq!(history.events.len(), 4);
        assert_eq!(
            history.events[0].timestamp,
            Timestamp::from_millis(1_525_283_875_580)
        );
        assert_eq!(
            history.events[2].event_type,
            HistoryEventType::PassStateExited
        );
        let exited = history.events[2]
            .state_exited_event_details
            .as_ref()
            .unwrap();
        assert_eq!(exited.output.as_deref(), Some("\"Hello World!\""));
        assert_eq!(history.next_token, None);
    }

    #[test]
    fn rich_history_round_trips() {
        let history = round_trip(RICH_HISTORY);
        assert_eq!(history.events.len(), 20);
        assert_eq!(history.next_token.as_deref(), Some("AAAA"));
        let exited = history.events[5]
            .state_exited_event_details
            .as_ref()
            .unwrap();
        let vars = exited.assigned_variables.as_ref().unwrap();
        assert_eq!(vars.get("label").map(String::as_str), Some("\"first\""));
    }

    #[test]
    fn builders_reproduce_the_aws_sample() {
        let t0 = Timestamp::from_millis(1_525_283_875_580);
        let t1 = Timestamp::from_millis(1_525_283_875_612);
        let role = "arn:aws:iam::123456789123:role/service-role/StatesExecutionRole-us-east-1";
        let events = vec![
            HistoryEvent::new(1, 0, t0, HistoryEventType::ExecutionStarted)
                .with_execution_started("{}", Some(role.to_owned())),
            HistoryEvent::new(2, 0, t1, HistoryEventType::PassStateEntered)
                .with_state_entered("HelloWorld", "{}"),
            HistoryEvent::new(3, 2, t1, HistoryEventType::PassStateExited)
                .with_state_exited("HelloWorld", "\"Hello World!\""),
            HistoryEvent::new(4, 3, t1, HistoryEventType::ExecutionSucceeded)
                .with_output("\"Hello World!\""),
        ];
        let built = serde_json::to_value(GetExecutionHistoryOutput::new(events)).unwrap();
        let expected: Value = serde_json::from_str(AWS_HELLO_WORLD).unwrap();
        assert_eq!(built, expected);
    }

    #[test]
    fn builders_fill_the_member_of_the_event_type() {
        let ts = Timestamp::from_millis(1_709_640_000_000);
        let event = |ty| HistoryEvent::new(5, 4, ts, ty);
        let err = || Some("E".to_owned());
        let cause = || Some("C".to_owned());

        let failed = event(HistoryEventType::ExecutionFailed).with_failure(err(), None);
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            json!({"timestamp": 1709640000.0, "type": "ExecutionFailed", "id": 5, "previousEventId": 4,
                   "executionFailedEventDetails": {"error": "E"}})
        );
        let aborted = event(HistoryEventType::ExecutionAborted).with_failure(err(), cause());
        assert!(aborted.execution_aborted_event_details.is_some());
        let timed_out = event(HistoryEventType::ExecutionTimedOut).with_failure(None, None);
        assert_eq!(
            serde_json::to_value(&timed_out).unwrap()["executionTimedOutEventDetails"],
            json!({})
        );
        let map_run_failed = event(HistoryEventType::MapRunFailed).with_failure(err(), cause());
        assert!(map_run_failed.map_run_failed_event_details.is_some());

        let task_failed = event(HistoryEventType::TaskFailed).with_task_failure(
            "lambda",
            "invoke",
            err(),
            cause(),
        );
        assert_eq!(
            serde_json::to_value(&task_failed).unwrap()["taskFailedEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "error": "E", "cause": "C"})
        );
        let timed_out = event(HistoryEventType::TaskTimedOut).with_task_failure(
            "lambda",
            "invoke",
            err(),
            None,
        );
        assert!(timed_out.task_timed_out_event_details.is_some());
        let submitted = event(HistoryEventType::TaskSubmitted).with_task_output(
            "states",
            "startExecution.sync",
            "{}",
        );
        assert!(submitted.task_submitted_event_details.is_some());
        let started = event(HistoryEventType::TaskStarted).with_task_started("lambda", "invoke");
        assert_eq!(
            started.task_started_event_details.unwrap().resource,
            "invoke"
        );

        for (ty, pick) in [
            (HistoryEventType::MapIterationStarted, 0),
            (HistoryEventType::MapIterationSucceeded, 1),
            (HistoryEventType::MapIterationFailed, 2),
            (HistoryEventType::MapIterationAborted, 3),
        ] {
            let e = event(ty).with_map_iteration("Each", 7);
            let set = [
                &e.map_iteration_started_event_details,
                &e.map_iteration_succeeded_event_details,
                &e.map_iteration_failed_event_details,
                &e.map_iteration_aborted_event_details,
            ];
            for (i, details) in set.iter().enumerate() {
                assert_eq!(details.is_some(), i == pick, "{ty}");
            }
        }

        let exited = event(HistoryEventType::TaskStateExited)
            .with_state_exited("Invoke", "{}")
            .with_assigned_variables(BTreeMap::from([("x".to_owned(), "1".to_owned())]));
        assert_eq!(
            serde_json::to_value(&exited).unwrap()["stateExitedEventDetails"],
            json!({"name": "Invoke", "output": "{}", "outputDetails": {"truncated": false},
                   "assignedVariables": {"x": "1"}, "assignedVariablesDetails": {"truncated": false}})
        );

        let scheduled =
            event(HistoryEventType::TaskScheduled).with_task_scheduled(TaskScheduledEventDetails {
                timeout_in_seconds: Some(60),
                ..TaskScheduledEventDetails::new("lambda", "invoke", "us-east-1", "{}")
            });
        assert_eq!(
            serde_json::to_value(&scheduled).unwrap()["taskScheduledEventDetails"],
            json!({"resourceType": "lambda", "resource": "invoke", "region": "us-east-1", "parameters": "{}",
                   "timeoutInSeconds": 60})
        );
        let map_started = event(HistoryEventType::MapStateStarted).with_map_state_started(3);
        assert_eq!(
            map_started.map_state_started_event_details.unwrap().length,
            Some(3)
        );
        let redriven = event(HistoryEventType::ExecutionRedriven).with_execution_redriven(2);
        assert_eq!(
            redriven
                .execution_redriven_event_details
                .unwrap()
                .redrive_count,
            Some(2)
        );
        let eval = event(HistoryEventType::EvaluationFailed).with_evaluation_failed(
            "S",
            Some("States.QueryEvaluationError".to_owned()),
            None,
            Some("Arguments".to_owned()),
        );
        assert_eq!(
            eval.evaluation_failed_event_details
                .unwrap()
                .location
                .as_deref(),
            Some("Arguments")
        );
        let activity = event(HistoryEventType::ActivityScheduled).with_activity_scheduled(
            ActivityScheduledEventDetails {
                heartbeat_in_seconds: Some(5),
                ..ActivityScheduledEventDetails::new(
                    "arn:aws:states:us-east-1:123456789012:activity:w",
                )
            },
        );
        assert!(activity.activity_scheduled_event_details.is_some());
        let worker = event(HistoryEventType::ActivityStarted).with_activity_started(None);
        assert_eq!(
            serde_json::to_value(&worker).unwrap()["activityStartedEventDetails"],
            json!({})
        );
        let lambda = event(HistoryEventType::LambdaFunctionScheduled)
            .with_lambda_function_scheduled(LambdaFunctionScheduledEventDetails::new(
                "arn:aws:lambda:::f",
            ));
        assert!(lambda.lambda_function_scheduled_event_details.is_some());
        let lambda_ok = event(HistoryEventType::LambdaFunctionSucceeded).with_output("1");
        assert!(lambda_ok.lambda_function_succeeded_event_details.is_some());
        let run = event(HistoryEventType::MapRunStarted).with_map_run_started("arn");
        assert!(run.map_run_started_event_details.is_some());
        let run = event(HistoryEventType::MapRunRedriven).with_map_run_redriven("arn", 1);
        assert!(run.map_run_redriven_event_details.is_some());
    }

    #[test]
    #[should_panic(expected = "does not apply")]
    #[cfg(debug_assertions)]
    fn mismatched_builder_panics_in_debug() {
        let _ = HistoryEvent::new(1, 0, Timestamp::UNIX_EPOCH, HistoryEventType::TaskFailed)
            .with_failure(None, None);
    }

    #[test]
    fn event_types_by_state_type() {
        for kind in [
            "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
        ] {
            let entered = HistoryEventType::state_entered(kind).unwrap();
            assert_eq!(entered.as_str(), format!("{kind}StateEntered"));
            assert!(entered.is_state_entered());
            match HistoryEventType::state_exited(kind) {
                Some(exited) => {
                    assert_eq!(exited.as_str(), format!("{kind}StateExited"));
                    assert!(exited.is_state_exited());
                }
                None => assert_eq!(kind, "Fail"),
            }
        }
        assert_eq!(HistoryEventType::state_entered("pass"), None);
        assert_eq!(
            HistoryEventType::state_aborted("Wait"),
            Some(HistoryEventType::WaitStateAborted)
        );
        assert_eq!(
            HistoryEventType::state_aborted("Parallel"),
            Some(HistoryEventType::ParallelStateAborted)
        );
        assert_eq!(HistoryEventType::state_aborted("Pass"), None);
        assert!(HistoryEventType::ExecutionTimedOut.is_execution_terminal());
        assert!(!HistoryEventType::ExecutionRedriven.is_execution_terminal());
    }

    #[test]
    fn every_event_type_uses_its_aws_name() {
        assert_eq!(HistoryEventType::ALL.len(), 62);
        for ty in HistoryEventType::ALL {
            let json = serde_json::to_string(ty).unwrap();
            assert_eq!(json, format!("\"{}\"", ty.as_str()));
            assert_eq!(
                serde_json::from_str::<HistoryEventType>(&json).unwrap(),
                *ty
            );
            assert_eq!(ty.as_str().parse::<HistoryEventType>(), Ok(*ty));
            assert_eq!(ty.to_string(), ty.as_str());
        }
        assert!("FailStateExited".parse::<HistoryEventType>().is_err());
        assert!(serde_json::from_str::<HistoryEventType>("\"taskFailed\"").is_err());
    }
}
