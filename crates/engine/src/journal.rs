//! The journal's record format: the interpreter events an execution received, as JSON.
//!
//! Replaying these through the pure interpreter, with the time each was handled, rebuilds an
//! execution exactly; this is what makes Standard executions survive restarts.

use aslan_interp::{Event, TaskId, TimerId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
enum Record {
    Start {
        input: Value,
    },
    TaskStarted {
        task: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<String>,
    },
    TaskSucceeded {
        task: u64,
        output: Value,
    },
    TaskFailed {
        task: u64,
        error: String,
        cause: String,
    },
    TaskHeartbeat {
        task: u64,
    },
    TimerFired {
        timer: u64,
    },
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// An event as journal text.
pub fn encode(event: &Event) -> String {
    let record = match event {
        Event::Start { input } => Record::Start {
            input: input.clone(),
        },
        Event::TaskStarted { task, worker } => Record::TaskStarted {
            task: task.0,
            worker: worker.clone(),
        },
        Event::TaskSucceeded { task, output } => Record::TaskSucceeded {
            task: task.0,
            output: output.clone(),
        },
        Event::TaskFailed { task, error, cause } => Record::TaskFailed {
            task: task.0,
            error: error.clone(),
            cause: cause.clone(),
        },
        Event::TaskHeartbeat { task } => Record::TaskHeartbeat { task: task.0 },
        Event::TimerFired { timer } => Record::TimerFired { timer: timer.0 },
        Event::Stop { error, cause } => Record::Stop {
            error: error.clone(),
            cause: cause.clone(),
        },
    };
    serde_json::to_string(&record).unwrap_or_default()
}

/// Journal text back to an event; `None` when it is not one (a corrupt or foreign record).
pub fn decode(text: &str) -> Option<Event> {
    let record: Record = serde_json::from_str(text).ok()?;
    Some(match record {
        Record::Start { input } => Event::Start { input },
        Record::TaskStarted { task, worker } => Event::TaskStarted {
            task: TaskId(task),
            worker,
        },
        Record::TaskSucceeded { task, output } => Event::TaskSucceeded {
            task: TaskId(task),
            output,
        },
        Record::TaskFailed { task, error, cause } => Event::TaskFailed {
            task: TaskId(task),
            error,
            cause,
        },
        Record::TaskHeartbeat { task } => Event::TaskHeartbeat { task: TaskId(task) },
        Record::TimerFired { timer } => Event::TimerFired {
            timer: TimerId(timer),
        },
        Record::Stop { error, cause } => Event::Stop { error, cause },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let events = [
            Event::Start {
                input: serde_json::json!({"a": [1, 2]}),
            },
            Event::TaskStarted {
                task: TaskId(3),
                worker: Some("w".into()),
            },
            Event::TaskSucceeded {
                task: TaskId(3),
                output: serde_json::json!("ok"),
            },
            Event::TaskFailed {
                task: TaskId(4),
                error: "E".into(),
                cause: "C".into(),
            },
            Event::TaskHeartbeat { task: TaskId(4) },
            Event::TimerFired { timer: TimerId(9) },
            Event::Stop {
                error: None,
                cause: Some("c".into()),
            },
        ];
        for event in events {
            assert_eq!(decode(&encode(&event)), Some(event));
        }
        assert_eq!(decode("{\"type\":\"Nope\"}"), None);
    }
}
