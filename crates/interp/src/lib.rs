//! The pure, sans-IO interpreter of the Amazon States Language.
//!
//! An [`Execution`] is a closed transition function: it receives [`Event`]s (start, a task's
//! result, a timer firing, a stop request) together with an [`Env`] carrying the current time, and
//! answers with [`Command`]s (record this history event, schedule this task, start this timer,
//! the execution finished). It never reads a clock, the disk, the network or an OS random source:
//! the engine around it performs the commands and feeds the results back. The same code therefore
//! serves the in-process runner, the durable server (which can replay events to rebuild state),
//! virtual time in tests, and `TestState`.

mod error;
mod eval;
mod exec;
mod history;
mod reader;
mod size;
mod vars;

pub use error::StateError;
pub use exec::{EXPRESS_MAX_SECONDS, Execution, ExecutionInfo, Options};
pub use vars::Variables;

use aslan_asl::definition::Resource;
use aslan_types::HistoryEvent;
use serde_json::Value;

/// The world as the interpreter sees it at one step.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// Now, in milliseconds since the Unix epoch.
    pub now: i64,
}

/// Identifies a task the interpreter asked the engine to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

/// Identifies a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);

/// What happens to an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The execution starts with this input.
    Start {
        /// The execution input.
        input: Value,
    },
    /// A worker or integration began the task.
    TaskStarted {
        /// Which task.
        task: TaskId,
        /// The activity worker that took it (`GetActivityTask`'s `workerName`).
        worker: Option<String>,
    },
    /// The task finished with a result.
    TaskSucceeded {
        /// Which task.
        task: TaskId,
        /// Its result.
        output: Value,
    },
    /// The task failed.
    TaskFailed {
        /// Which task.
        task: TaskId,
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// The task's worker is alive.
    TaskHeartbeat {
        /// Which task.
        task: TaskId,
    },
    /// A timer fired.
    TimerFired {
        /// Which timer.
        timer: TimerId,
    },
    /// Someone asked the execution to stop (`StopExecution`).
    Stop {
        /// The error to record.
        error: Option<String>,
        /// The cause to record.
        cause: Option<String>,
    },
}

/// What the interpreter asks its engine to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Append this event to the execution's history.
    Record(Box<HistoryEvent>),
    /// Run a task and report back with `TaskStarted`/`TaskSucceeded`/`TaskFailed`.
    ScheduleTask(Box<TaskRequest>),
    /// The task is no longer wanted (timeout, stop, a sibling branch failed).
    CancelTask(TaskId),
    /// Fire `TimerFired` at this time.
    StartTimer {
        /// Which timer.
        timer: TimerId,
        /// When, in milliseconds since the Unix epoch.
        fire_at: i64,
    },
    /// The timer is no longer wanted.
    CancelTimer(TimerId),
    /// The execution is over.
    Finish(Outcome),
    /// A Distributed Map's run started or changed (its counts, its status): the engine keeps
    /// the last for `DescribeMapRun`/`ListMapRuns`. Not part of the history.
    MapRun(Box<aslan_types::MapRun>),
}

/// A task for the engine to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// Its id.
    pub id: TaskId,
    /// The execution it belongs to.
    pub execution_arn: String,
    /// The Task state's name.
    pub state_name: String,
    /// The resource, classified.
    pub resource: Resource,
    /// The effective parameters (after `Parameters`/`Arguments`).
    pub parameters: Value,
    /// The task token, for `.waitForTaskToken` and activities.
    pub task_token: Option<String>,
    /// `TimeoutSeconds`, resolved.
    pub timeout_seconds: Option<u64>,
    /// `HeartbeatSeconds`, resolved.
    pub heartbeat_seconds: Option<u64>,
    /// How many times this state was retried before this attempt.
    pub retry_count: u32,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It succeeded with this output.
    Succeeded(Value),
    /// It failed.
    Failed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// It ran past its `TimeoutSeconds`.
    TimedOut {
        /// The error name (`States.Timeout`).
        error: String,
        /// The cause.
        cause: String,
    },
    /// It was stopped.
    Aborted {
        /// The error given to `StopExecution`.
        error: Option<String>,
        /// The cause given to `StopExecution`.
        cause: Option<String>,
    },
}

impl Outcome {
    /// AWS's status name for the outcome.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded(_) => "SUCCEEDED",
            Outcome::Failed { .. } => "FAILED",
            Outcome::TimedOut { .. } => "TIMED_OUT",
            Outcome::Aborted { .. } => "ABORTED",
        }
    }
}
