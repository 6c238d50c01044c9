//! The storage interface of aslan.
//!
//! A [`Store`] keeps state machines, executions, each execution's *journal* (the interpreter
//! events it received, with the time of each), its history events, activities and tags. The
//! durable engine rebuilds an execution by replaying its journal through the pure interpreter,
//! so the journal is the source of truth and history is its recorded consequence.
//!
//! Writes that belong to executions go through [`Store::commit`], which takes many executions'
//! changes at once: a backend applies them in one transaction (one fsync), which is how
//! durability stays cheap per transition. Backends: [`memory::MemoryStore`] here,
//! `aslan-store-sqlite` (the default), and every backend runs [`testing::run_all`].

pub mod memory;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;

use serde::{Deserialize, Serialize};

/// What went wrong in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The record does not exist.
    NotFound(String),
    /// A record with that key exists already.
    AlreadyExists(String),
    /// The backend failed (I/O, corruption, ...).
    Backend(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound(what) => write!(f, "not found: {what}"),
            Error::AlreadyExists(what) => write!(f, "already exists: {what}"),
            Error::Backend(message) => write!(f, "storage failed: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// A store result.
pub type Result<T> = std::result::Result<T, Error>;

/// A state machine as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachine {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub machine_type: String,
    /// The definition text, as given.
    pub definition: String,
    /// The role ARN.
    pub role_arn: String,
    /// Creation time, epoch milliseconds.
    pub created_ms: i64,
    /// Changes with every update.
    pub revision_id: String,
    /// The description, if any.
    pub description: Option<String>,
    /// The logging configuration, as JSON text.
    pub logging: Option<String>,
    /// The tracing configuration, as JSON text.
    pub tracing: Option<String>,
}

/// An execution as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Its ARN.
    pub arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// The input, as JSON text.
    pub input: String,
    /// The output, when it succeeded.
    pub output: Option<String>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// Start time, epoch milliseconds.
    pub start_ms: i64,
    /// Stop time, epoch milliseconds.
    pub stop_ms: Option<i64>,
    /// The definition the execution runs (a state machine may change while it runs).
    pub definition: String,
    /// The role ARN.
    pub role_arn: String,
    /// Seed of the execution's random source, so that replay makes the same choices.
    pub seed: u64,
    /// The state machine's revision at start.
    pub revision_id: String,
}

/// One interpreter event an execution received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position in the journal, from 1.
    pub seq: u64,
    /// The time the event was handled, epoch milliseconds.
    pub now_ms: i64,
    /// The event, as JSON text.
    pub event: String,
}

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The event id, from 1.
    pub id: i64,
    /// The `HistoryEvent` as JSON text.
    pub event: String,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ending {
    /// The final status.
    pub status: String,
    /// The output.
    pub output: Option<String>,
    /// The error.
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
    /// When, epoch milliseconds.
    pub stop_ms: i64,
}

/// What changed in one execution in one commit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionChange {
    /// The execution.
    pub arn: String,
    /// A new execution to insert first.
    pub created: Option<Execution>,
    /// Journal entries to append.
    pub journal: Vec<JournalEntry>,
    /// History events to append.
    pub history: Vec<HistoryEntry>,
    /// The ending, when it ended.
    pub ending: Option<Ending>,
    /// Map Runs started or changed (the last report of each replaces the one stored).
    pub map_runs: Vec<aslan_types::MapRun>,
}

/// An activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Creation time, epoch milliseconds.
    pub created_ms: i64,
}

/// Filters and position for listing executions.
#[derive(Debug, Clone, Default)]
pub struct ExecutionQuery {
    /// Only this state machine's.
    pub state_machine_arn: Option<String>,
    /// Only with this status.
    pub status: Option<String>,
    /// Continue after this (start_ms, arn), newest first.
    pub after: Option<(i64, String)>,
    /// At most this many.
    pub limit: usize,
}

/// One execution in a listing: what a list shows, without the input, output and definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    /// Its ARN.
    pub arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// Start time, epoch milliseconds.
    pub start_ms: i64,
    /// Stop time, epoch milliseconds.
    pub stop_ms: Option<i64>,
}

impl From<&Execution> for ExecutionSummary {
    fn from(execution: &Execution) -> Self {
        ExecutionSummary {
            arn: execution.arn.clone(),
            state_machine_arn: execution.state_machine_arn.clone(),
            name: execution.name.clone(),
            status: execution.status.clone(),
            start_ms: execution.start_ms,
            stop_ms: execution.stop_ms,
        }
    }
}

/// Filters and position for [`Store::search_executions`] (the console's execution list).
#[derive(Debug, Clone, Default)]
pub struct ExecutionSearch {
    /// Only this state machine's.
    pub state_machine_arn: Option<String>,
    /// Only with this status.
    pub status: Option<String>,
    /// Only those whose name starts with this (case-sensitive).
    pub name_prefix: Option<String>,
    /// Only those started at or after this time, epoch milliseconds.
    pub started_from_ms: Option<i64>,
    /// Only those started before this time, epoch milliseconds.
    pub started_until_ms: Option<i64>,
    /// Continue after this (start_ms, arn), newest first.
    pub after: Option<(i64, String)>,
    /// At most this many.
    pub limit: usize,
}

impl ExecutionSearch {
    /// Whether `execution` passes the filters (not the position).
    pub fn matches(&self, execution: &ExecutionSummary) -> bool {
        self.state_machine_arn
            .as_deref()
            .is_none_or(|arn| execution.state_machine_arn == arn)
            && self
                .status
                .as_deref()
                .is_none_or(|status| execution.status == status)
            && self
                .name_prefix
                .as_deref()
                .is_none_or(|prefix| execution.name.starts_with(prefix))
            && self
                .started_from_ms
                .is_none_or(|from| execution.start_ms >= from)
            && self
                .started_until_ms
                .is_none_or(|until| execution.start_ms < until)
            && match &self.after {
                None => true,
                Some((start_ms, arn)) => {
                    execution.start_ms < *start_ms
                        || (execution.start_ms == *start_ms && execution.arn > *arn)
                }
            }
    }
}

/// How many executions of one state machine have one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The status.
    pub status: String,
    /// How many.
    pub count: u64,
}

/// The storage interface. Methods block; the engine calls them off its event loop.
pub trait Store: Send + Sync + 'static {
    /// Creates a state machine; `AlreadyExists` when the ARN is taken.
    fn create_state_machine(&self, machine: &StateMachine) -> Result<()>;
    /// Replaces a state machine's record.
    fn update_state_machine(&self, machine: &StateMachine) -> Result<()>;
    /// Reads a state machine.
    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>>;
    /// Deletes a state machine (its executions stay).
    fn delete_state_machine(&self, arn: &str) -> Result<()>;
    /// Lists state machines by ARN, after `after`, at most `limit`.
    fn list_state_machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<StateMachine>>;

    /// Applies many executions' changes atomically (one transaction, one sync).
    /// `AlreadyExists` when a created execution's ARN is taken (then nothing is applied).
    fn commit(&self, changes: Vec<ExecutionChange>) -> Result<()>;
    /// Reads an execution.
    fn get_execution(&self, arn: &str) -> Result<Option<Execution>>;
    /// Lists executions, newest first.
    fn list_executions(&self, query: &ExecutionQuery) -> Result<Vec<Execution>>;
    /// Every execution still running (to resume after a restart).
    fn running_executions(&self) -> Result<Vec<Execution>>;
    /// Reads a Map Run (as its last report left it).
    fn get_map_run(&self, arn: &str) -> Result<Option<aslan_types::MapRun>>;
    /// An execution's Map Runs, in the order they started.
    fn list_map_runs(&self, execution_arn: &str) -> Result<Vec<aslan_types::MapRun>>;
    /// Lists execution summaries, newest first, by the console's filters. Backends answer it
    /// from an index; this default pages through [`Store::list_executions`].
    fn search_executions(&self, search: &ExecutionSearch) -> Result<Vec<ExecutionSummary>> {
        let mut found = Vec::new();
        let mut query = ExecutionQuery {
            state_machine_arn: search.state_machine_arn.clone(),
            status: search.status.clone(),
            after: search.after.clone(),
            limit: 1000,
        };
        while found.len() < search.limit {
            let page = self.list_executions(&query)?;
            let Some(last) = page.last() else { break };
            query.after = Some((last.start_ms, last.arn.clone()));
            let past_range = search
                .started_from_ms
                .is_some_and(|from| last.start_ms < from);
            found.extend(
                page.iter()
                    .map(ExecutionSummary::from)
                    .filter(|summary| search.matches(summary)),
            );
            if past_range {
                break;
            }
        }
        found.truncate(search.limit);
        Ok(found)
    }
    /// How many executions each state machine has in each status (pairs with none are left
    /// out), sorted by state machine and status. Backends keep these counts as they write; this
    /// default counts every execution.
    fn count_executions(&self) -> Result<Vec<StatusCount>> {
        let mut counts = std::collections::BTreeMap::<(String, String), u64>::new();
        let mut query = ExecutionQuery {
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = self.list_executions(&query)?;
            let Some(last) = page.last() else { break };
            query.after = Some((last.start_ms, last.arn.clone()));
            for execution in &page {
                *counts
                    .entry((
                        execution.state_machine_arn.clone(),
                        execution.status.clone(),
                    ))
                    .or_default() += 1;
            }
        }
        Ok(counts
            .into_iter()
            .map(|((state_machine_arn, status), count)| StatusCount {
                state_machine_arn,
                status,
                count,
            })
            .collect())
    }
    /// An execution's journal, in order.
    fn journal(&self, arn: &str) -> Result<Vec<JournalEntry>>;
    /// History events with ids after `after_id` (or before it when `reverse`), at most `limit`.
    fn history(
        &self,
        arn: &str,
        after_id: Option<i64>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<HistoryEntry>>;

    /// Creates an activity, or returns the existing one with that ARN.
    fn create_activity(&self, activity: &Activity) -> Result<Activity>;
    /// Reads an activity.
    fn get_activity(&self, arn: &str) -> Result<Option<Activity>>;
    /// Deletes an activity.
    fn delete_activity(&self, arn: &str) -> Result<()>;
    /// Lists activities by ARN.
    fn list_activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<Activity>>;

    /// Sets tags on a resource (replacing values of existing keys).
    fn tag(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()>;
    /// Removes tags.
    fn untag(&self, resource_arn: &str, keys: &[String]) -> Result<()>;
    /// A resource's tags, sorted by key.
    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>>;
}

/// A shared store is a store.
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn create_state_machine(&self, m: &StateMachine) -> Result<()> {
        (**self).create_state_machine(m)
    }
    fn update_state_machine(&self, m: &StateMachine) -> Result<()> {
        (**self).update_state_machine(m)
    }
    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>> {
        (**self).get_state_machine(arn)
    }
    fn delete_state_machine(&self, arn: &str) -> Result<()> {
        (**self).delete_state_machine(arn)
    }
    fn list_state_machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<StateMachine>> {
        (**self).list_state_machines(after, limit)
    }
    fn commit(&self, changes: Vec<ExecutionChange>) -> Result<()> {
        (**self).commit(changes)
    }
    fn get_execution(&self, arn: &str) -> Result<Option<Execution>> {
        (**self).get_execution(arn)
    }
    fn list_executions(&self, query: &ExecutionQuery) -> Result<Vec<Execution>> {
        (**self).list_executions(query)
    }
    fn running_executions(&self) -> Result<Vec<Execution>> {
        (**self).running_executions()
    }
    fn get_map_run(&self, arn: &str) -> Result<Option<aslan_types::MapRun>> {
        (**self).get_map_run(arn)
    }
    fn list_map_runs(&self, execution_arn: &str) -> Result<Vec<aslan_types::MapRun>> {
        (**self).list_map_runs(execution_arn)
    }
    fn search_executions(&self, search: &ExecutionSearch) -> Result<Vec<ExecutionSummary>> {
        (**self).search_executions(search)
    }
    fn count_executions(&self) -> Result<Vec<StatusCount>> {
        (**self).count_executions()
    }
    fn journal(&self, arn: &str) -> Result<Vec<JournalEntry>> {
        (**self).journal(arn)
    }
    fn history(
        &self,
        arn: &str,
        after_id: Option<i64>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<HistoryEntry>> {
        (**self).history(arn, after_id, limit, reverse)
    }
    fn create_activity(&self, activity: &Activity) -> Result<Activity> {
        (**self).create_activity(activity)
    }
    fn get_activity(&self, arn: &str) -> Result<Option<Activity>> {
        (**self).get_activity(arn)
    }
    fn delete_activity(&self, arn: &str) -> Result<()> {
        (**self).delete_activity(arn)
    }
    fn list_activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<Activity>> {
        (**self).list_activities(after, limit)
    }
    fn tag(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()> {
        (**self).tag(resource_arn, tags)
    }
    fn untag(&self, resource_arn: &str, keys: &[String]) -> Result<()> {
        (**self).untag(resource_arn, keys)
    }
    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        (**self).tags(resource_arn)
    }
}
