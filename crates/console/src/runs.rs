//! What happened to each state of an execution, read from its history events.
//!
//! Every `…StateEntered` event starts a [`Run`] of that state; its `…StateExited` ends it. The
//! history links each event to the one before it in its own flow (`previousEventId`), which is
//! what tells the runs of a Map's iterations and of a Parallel's branches apart: a run whose
//! entering event follows `MapIterationStarted` belongs to that iteration, one that follows
//! `ParallelStateStarted` to that branch. Failures (`TaskFailed`, `ExecutionFailed`, ...) are
//! charged to the run they happened in; a run that exits after a failure had its error caught.

use std::collections::HashMap;

use aslan_asl::Definition;
use aslan_asl::definition::StateKind;
use serde::Serialize;
use serde_json::Value;

/// How a run of a state ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Exited normally.
    Succeeded,
    /// Failed, and the failure left the state.
    Failed,
    /// Failed, and a `Catch` took over.
    Caught,
    /// Still running.
    Running,
    /// Stopped from outside: the execution was stopped or timed out, or a sibling branch failed.
    Aborted,
}

/// One run of one state.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Its index in the list of runs.
    pub id: usize,
    /// The state's name.
    pub state: String,
    /// The Parallel or Map run it runs inside.
    pub parent: Option<usize>,
    /// The Map iteration it belongs to, when it runs directly in a Map's processor.
    pub iteration: Option<u32>,
    /// How it ended.
    pub status: RunStatus,
    /// The id of its `…StateEntered` event.
    pub entered: i64,
    /// The id of its `…StateExited` event.
    pub exited: Option<i64>,
    /// When it was entered, epoch milliseconds.
    pub start_ms: i64,
    /// When it exited or failed, epoch milliseconds.
    pub end_ms: Option<i64>,
    /// The last error it had.
    pub error: Option<String>,
    /// The cause of that error.
    pub cause: Option<String>,
    /// The id of the event that recorded the error.
    pub failed_event: Option<i64>,
    /// How many times its task was scheduled (retries + 1); 0 for states without tasks.
    pub attempts: u32,
    /// The number of Map iterations it started (Map states only).
    pub iterations: u32,
}

struct Event {
    id: i64,
    previous: i64,
    kind: String,
    time_ms: i64,
    details: Option<Value>,
}

fn parse_event(value: &Value) -> Option<Event> {
    let object = value.as_object()?;
    let details = object
        .iter()
        .find(|(key, _)| key.ends_with("EventDetails"))
        .map(|(_, value)| value.clone());
    Some(Event {
        id: object.get("id")?.as_i64()?,
        previous: object
            .get("previousEventId")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        kind: object.get("type")?.as_str()?.to_owned(),
        time_ms: object
            .get("timestamp")
            .and_then(Value::as_f64)
            .map(|seconds| (seconds * 1000.0).round() as i64)
            .unwrap_or(0),
        details,
    })
}

fn detail<'a>(event: &'a Event, key: &str) -> Option<&'a str> {
    event.details.as_ref()?.get(key)?.as_str()
}

fn is_task_failure(kind: &str) -> bool {
    matches!(
        kind,
        "TaskFailed"
            | "TaskTimedOut"
            | "TaskStartFailed"
            | "TaskSubmitFailed"
            | "ActivityFailed"
            | "ActivityTimedOut"
            | "ActivityScheduleFailed"
            | "LambdaFunctionFailed"
            | "LambdaFunctionTimedOut"
            | "LambdaFunctionScheduleFailed"
            | "LambdaFunctionStartFailed"
            | "EvaluationFailed"
            | "MapRunFailed"
    )
}

/// The runs of every state, in the order they were entered. `history` holds the events as the
/// store keeps them (JSON text of AWS `HistoryEvent`s), in id order; events that do not parse
/// are skipped. `running` says whether the execution is still running.
pub fn runs(definition: &Definition, history: &[Value], running: bool) -> Vec<Run> {
    let kind_of: HashMap<&str, &StateKind> = definition
        .states
        .iter()
        .map(|state| (state.name.as_str(), &state.kind))
        .collect();
    let mut runs: Vec<Run> = Vec::new();
    let mut open: Vec<bool> = Vec::new();
    // The run each event belongs to, and the frame (parent run, iteration) it happened in.
    let mut owner: HashMap<i64, Option<usize>> = HashMap::new();
    let mut frame: HashMap<i64, (Option<usize>, Option<u32>)> = HashMap::new();
    let mut kinds: HashMap<i64, (String, Option<u32>)> = HashMap::new();
    let mut execution_ended: Option<String> = None;

    // Walks up from `run` through parents to the innermost open run that `accept`s.
    let find_up =
        |runs: &[Run], open: &[bool], start: Option<usize>, accept: &dyn Fn(&Run) -> bool| {
            let mut cursor = start;
            while let Some(i) = cursor {
                if open[i] && accept(&runs[i]) {
                    return Some(i);
                }
                cursor = runs[i].parent;
            }
            None
        };

    for value in history {
        let Some(event) = parse_event(value) else {
            continue;
        };
        let before = owner.get(&event.previous).copied().flatten();
        let before_frame = frame.get(&event.previous).copied().unwrap_or((None, None));
        let (previous_kind, previous_index) = kinds
            .get(&event.previous)
            .cloned()
            .unwrap_or_else(|| (String::new(), None));
        let kind = event.kind.as_str();
        let mut this_owner = before;
        let mut this_frame = match before {
            Some(run) => (runs[run].parent, runs[run].iteration),
            None => before_frame,
        };
        if kind.ends_with("StateEntered") {
            let parent_frame = match previous_kind.as_str() {
                "ParallelStateStarted" => (before, None),
                "MapIterationStarted" => (before, previous_index),
                _ => this_frame,
            };
            let name = detail(&event, "name").unwrap_or_default().to_owned();
            let id = runs.len();
            runs.push(Run {
                id,
                state: name,
                parent: parent_frame.0,
                iteration: parent_frame.1,
                status: RunStatus::Running,
                entered: event.id,
                exited: None,
                start_ms: event.time_ms,
                end_ms: None,
                error: None,
                cause: None,
                failed_event: None,
                attempts: 0,
                iterations: 0,
            });
            open.push(true);
            this_owner = Some(id);
            this_frame = parent_frame;
        } else if kind.ends_with("StateExited") {
            let name = detail(&event, "name").unwrap_or_default();
            this_owner = find_up(&runs, &open, before, &|run| run.state == name);
            if let Some(run) = this_owner {
                open[run] = false;
                runs[run].exited = Some(event.id);
                runs[run].end_ms = Some(event.time_ms);
                this_frame = (runs[run].parent, runs[run].iteration);
            }
        } else if kind.starts_with("MapIteration") {
            let name = detail(&event, "name").unwrap_or_default();
            this_owner = find_up(&runs, &open, before, &|run| run.state == name);
            if let Some(run) = this_owner {
                this_frame = (runs[run].parent, runs[run].iteration);
                if kind == "MapIterationStarted" {
                    runs[run].iterations += 1;
                }
            }
        } else if kind.starts_with("ParallelState") || kind.starts_with("MapState") {
            let wanted = if kind.starts_with("Parallel") {
                "Parallel"
            } else {
                "Map"
            };
            this_owner = find_up(&runs, &open, before, &|run| {
                kind_of
                    .get(run.state.as_str())
                    .is_some_and(|k| k.type_name() == wanted)
            });
            if let Some(run) = this_owner {
                this_frame = (runs[run].parent, runs[run].iteration);
                if kind.ends_with("Failed") {
                    // The error is the one that came out of the branch or iteration.
                    let origin = before.filter(|&origin| origin != run);
                    let (error, cause) = match origin {
                        Some(origin) => (runs[origin].error.clone(), runs[origin].cause.clone()),
                        None => (None, None),
                    };
                    // A Distributed Map's error is on its MapRunFailed.
                    let error = detail(&event, "error")
                        .map(str::to_owned)
                        .or(error)
                        .or_else(|| runs[run].error.clone());
                    let cause = detail(&event, "cause")
                        .map(str::to_owned)
                        .or(cause)
                        .or_else(|| runs[run].cause.clone());
                    if let Some(origin) = origin
                        && open[origin]
                        && runs[origin].failed_event.is_none()
                    {
                        runs[origin].error = error.clone();
                        runs[origin].cause = cause.clone();
                        runs[origin].failed_event = Some(event.id);
                        runs[origin].end_ms = Some(event.time_ms);
                    }
                    runs[run].error = error;
                    runs[run].cause = cause;
                    runs[run].failed_event = Some(event.id);
                }
            }
        } else if is_task_failure(kind) {
            if let Some(run) = before {
                runs[run].error = detail(&event, "error").map(str::to_owned);
                runs[run].cause = detail(&event, "cause").map(str::to_owned);
                runs[run].failed_event = Some(event.id);
                runs[run].end_ms = Some(event.time_ms);
            }
        } else if kind.ends_with("Scheduled") {
            if let Some(run) = before {
                runs[run].attempts += 1;
                // A retry clears the last failure until it fails again.
                runs[run].error = None;
                runs[run].cause = None;
                runs[run].failed_event = None;
                runs[run].end_ms = None;
            }
        } else if matches!(
            kind,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        ) {
            execution_ended = Some(kind.to_owned());
            // An error raised by the state itself (a Fail state, a Choice with no match).
            if kind == "ExecutionFailed"
                && let Some(run) = before
                && open[run]
                && runs[run].failed_event.is_none()
            {
                runs[run].error = detail(&event, "error").map(str::to_owned);
                runs[run].cause = detail(&event, "cause").map(str::to_owned);
                runs[run].failed_event = Some(event.id);
                runs[run].end_ms = Some(event.time_ms);
            }
        } else if kind == "ExecutionSucceeded" {
            execution_ended = Some(kind.to_owned());
        }
        let index = event
            .details
            .as_ref()
            .and_then(|d| d.get("index"))
            .and_then(Value::as_u64)
            .map(|i| i as u32);
        owner.insert(event.id, this_owner);
        frame.insert(event.id, this_frame);
        kinds.insert(event.id, (event.kind.clone(), index));
    }

    // Settle each run, outermost first so that a parent's end is known to its children.
    let ended =
        |runs: &[Run], open: &[bool], run: usize| !open[run] || runs[run].failed_event.is_some();
    let statuses: Vec<RunStatus> = (0..runs.len())
        .map(|i| {
            let run = &runs[i];
            if !open[i] {
                return if run.failed_event.is_some() {
                    RunStatus::Caught
                } else {
                    RunStatus::Succeeded
                };
            }
            if run.failed_event.is_some() {
                return RunStatus::Failed;
            }
            let mut ancestor = run.parent;
            while let Some(a) = ancestor {
                if ended(&runs, &open, a) {
                    return RunStatus::Aborted;
                }
                ancestor = runs[a].parent;
            }
            if running && execution_ended.is_none() {
                RunStatus::Running
            } else {
                RunStatus::Aborted
            }
        })
        .collect();
    for (run, status) in runs.iter_mut().zip(statuses) {
        run.status = status;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use aslan_engine::{NoHandler, RunOptions, VirtualClock, run_blocking};
    use aslan_interp::{ExecutionInfo, Options};

    const DEMO: &str = r#"{
      "StartAt": "Validate",
      "States": {
        "Validate": {"Type": "Pass", "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$.mode", "StringEquals": "fail", "Next": "Reject"}
          ], "Default": "Fanout"},
        "Fanout": {"Type": "Parallel", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
            {"StartAt": "Charge", "States": {
                "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}], "End": true},
                "Recover": {"Type": "Pass", "End": true}}}
          ], "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$[0].items", "ItemProcessor": {"StartAt": "Item",
            "States": {"Item": {"Type": "Pass", "End": true}}}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Reject": {"Type": "Fail", "Error": "Rejected", "Cause": "mode was fail"}
      }
    }"#;

    fn history(text: &str, input: Value) -> (Definition, Vec<Value>) {
        let parsed = aslan_asl::parse(text, aslan_asl::LoadOptions::default());
        let definition = parsed.definition.expect("valid");
        let options = RunOptions {
            info: ExecutionInfo {
                execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
                execution_name: "e".into(),
                state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
                state_machine_name: "m".into(),
                role_arn: "arn:aws:iam::1:role/r".into(),
                region: "us-east-1".into(),
                start_time: 1_000,
                redrive_count: 0,
                express: false,
            },
            interp: Options {
                record_history: true,
                ..Options::default()
            },
            on_event: None,
            keep_history: true,
            tokens: None,
        };
        let result = run_blocking(
            &definition,
            input,
            options,
            &VirtualClock::new(1_000),
            Arc::new(NoHandler),
        )
        .expect("runtime");
        let events = result
            .history
            .iter()
            .map(|e| serde_json::to_value(e).expect("event"))
            .collect();
        (definition, events)
    }

    fn status_of(runs: &[Run], state: &str) -> Vec<RunStatus> {
        runs.iter()
            .filter(|r| r.state == state)
            .map(|r| r.status)
            .collect()
    }

    #[test]
    fn a_caught_task_a_parallel_and_map_iterations() {
        let (definition, events) =
            history(DEMO, serde_json::json!({"mode": "ok", "items": [1, 2, 3]}));
        let runs = runs(&definition, &events, false);
        assert_eq!(status_of(&runs, "Validate"), vec![RunStatus::Succeeded]);
        assert_eq!(status_of(&runs, "Charge"), vec![RunStatus::Caught]);
        assert_eq!(status_of(&runs, "Recover"), vec![RunStatus::Succeeded]);
        assert_eq!(status_of(&runs, "Reject"), Vec::<RunStatus>::new());
        let charge = runs.iter().find(|r| r.state == "Charge").expect("Charge");
        assert_eq!(charge.error.as_deref(), Some("aslan.TaskNotConfigured"));
        assert_eq!(charge.attempts, 1);
        let fanout = runs.iter().find(|r| r.state == "Fanout").expect("Fanout");
        assert_eq!(charge.parent, Some(fanout.id));
        assert_eq!(fanout.status, RunStatus::Succeeded);
        let each = runs.iter().find(|r| r.state == "Each").expect("Each");
        assert_eq!(each.iterations, 3);
        let items: Vec<_> = runs.iter().filter(|r| r.state == "Item").collect();
        assert_eq!(items.len(), 3);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item.parent, Some(each.id));
            assert_eq!(item.iteration, Some(i as u32));
            assert_eq!(item.status, RunStatus::Succeeded);
        }
        let done = runs.iter().find(|r| r.state == "Done").expect("Done");
        assert_eq!(done.parent, None);
        assert_eq!(done.status, RunStatus::Succeeded);
    }

    #[test]
    fn a_fail_state_fails_with_its_error() {
        let (definition, events) = history(DEMO, serde_json::json!({"mode": "fail"}));
        let runs = runs(&definition, &events, false);
        assert_eq!(status_of(&runs, "Route"), vec![RunStatus::Succeeded]);
        let reject = runs.iter().find(|r| r.state == "Reject").expect("Reject");
        assert_eq!(reject.status, RunStatus::Failed);
        assert_eq!(reject.error.as_deref(), Some("Rejected"));
        assert_eq!(reject.cause.as_deref(), Some("mode was fail"));
        assert!(status_of(&runs, "Fanout").is_empty());
    }

    #[test]
    fn an_uncaught_failure_in_a_branch_fails_the_parallel_and_aborts_its_sibling() {
        let (definition, events) = history(
            r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 60, "End": true}}},
                {"StartAt": "Boom", "States": {"Boom": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke", "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                    "End": true}}}]}}}"#,
            serde_json::json!({}),
        );
        let runs = runs(&definition, &events, false);
        let boom = runs.iter().find(|r| r.state == "Boom").expect("Boom");
        assert_eq!(boom.status, RunStatus::Failed);
        assert_eq!(boom.attempts, 2);
        assert_eq!(boom.error.as_deref(), Some("aslan.TaskNotConfigured"));
        let parallel = runs.iter().find(|r| r.state == "P").expect("P");
        assert_eq!(parallel.status, RunStatus::Failed);
        assert_eq!(parallel.error.as_deref(), Some("aslan.TaskNotConfigured"));
        assert_eq!(status_of(&runs, "Slow"), vec![RunStatus::Aborted]);
    }

    #[test]
    fn a_distributed_map_fails_with_its_map_runs_error() {
        let (definition, events) = history(
            r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}}}}"#,
            serde_json::json!([1]),
        );
        let runs = runs(&definition, &events, false);
        let map = runs.iter().find(|r| r.state == "M").expect("M");
        assert_eq!(map.status, RunStatus::Failed);
        assert_eq!(
            map.error.as_deref(),
            Some("States.ExceedToleratedFailureThreshold")
        );
        assert!(
            runs.iter().all(|r| r.state != "F"),
            "children are not in the history"
        );
    }

    #[test]
    fn a_running_execution_has_a_running_state() {
        let (definition, events) = history(
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "W"},
                "W": {"Type": "Wait", "Seconds": 60, "End": true}}}"#,
            serde_json::json!({}),
        );
        // Cut the history before the Wait ends.
        let entered = events
            .iter()
            .position(|e| e["type"] == "WaitStateEntered")
            .expect("entered");
        let runs = runs(&definition, &events[..=entered], true);
        assert_eq!(status_of(&runs, "A"), vec![RunStatus::Succeeded]);
        assert_eq!(status_of(&runs, "W"), vec![RunStatus::Running]);
        let all = super::runs(&definition, &events, false);
        assert_eq!(status_of(&all, "W"), vec![RunStatus::Succeeded]);
    }

    #[test]
    fn a_choice_without_a_match_fails_with_states_no_choice_matched() {
        let (definition, events) = history(
            r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]}, "D": {"Type": "Succeed"}}}"#,
            serde_json::json!({"x": 2}),
        );
        let runs = runs(&definition, &events, false);
        let choice = runs.iter().find(|r| r.state == "C").expect("C");
        assert_eq!(choice.status, RunStatus::Failed);
        assert_eq!(choice.error.as_deref(), Some("States.NoChoiceMatched"));
    }
}
