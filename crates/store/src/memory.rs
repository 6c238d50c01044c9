//! An in-memory [`Store`]: for Express executions, tests, and `aslan serve --data-dir :memory:`.
//! It runs the same conformance suite as the durable backends.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use crate::{
    Activity, Error, Execution, ExecutionChange, ExecutionQuery, ExecutionSearch, ExecutionSummary,
    HistoryEntry, JournalEntry, Result, StateMachine, StatusCount, Store,
};

#[derive(Debug, Default)]
struct Data {
    machines: BTreeMap<String, StateMachine>,
    executions: HashMap<String, Execution>,
    /// Every execution's (start time, ARN), newest first: the order of every listing.
    by_start: BTreeSet<(Reverse<i64>, String)>,
    /// Executions by state machine and status.
    counts: BTreeMap<(String, String), u64>,
    journals: HashMap<String, Vec<JournalEntry>>,
    histories: HashMap<String, Vec<HistoryEntry>>,
    activities: BTreeMap<String, Activity>,
    tags: HashMap<String, BTreeMap<String, String>>,
    /// Map Runs by ARN, and each execution's in the order they started.
    map_runs: HashMap<String, aslan_types::MapRun>,
    map_runs_of: HashMap<String, Vec<String>>,
}

/// A store that lives as long as the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        // A panic while holding the lock leaves consistent data (every method writes last).
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Newest first, then by ARN, as every backend orders executions.
pub fn execution_order(a: &Execution, b: &Execution) -> std::cmp::Ordering {
    b.start_ms.cmp(&a.start_ms).then_with(|| a.arn.cmp(&b.arn))
}

impl Store for MemoryStore {
    fn create_state_machine(&self, machine: &StateMachine) -> Result<()> {
        let mut data = self.data();
        if data.machines.contains_key(&machine.arn) {
            return Err(Error::AlreadyExists(machine.arn.clone()));
        }
        data.machines.insert(machine.arn.clone(), machine.clone());
        Ok(())
    }

    fn update_state_machine(&self, machine: &StateMachine) -> Result<()> {
        let mut data = self.data();
        match data.machines.get_mut(&machine.arn) {
            Some(existing) => {
                *existing = machine.clone();
                Ok(())
            }
            None => Err(Error::NotFound(machine.arn.clone())),
        }
    }

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>> {
        Ok(self.data().machines.get(arn).cloned())
    }

    fn delete_state_machine(&self, arn: &str) -> Result<()> {
        self.data().machines.remove(arn);
        Ok(())
    }

    fn list_state_machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<StateMachine>> {
        let data = self.data();
        Ok(data
            .machines
            .values()
            .filter(|m| after.is_none_or(|after| m.arn.as_str() > after))
            .take(limit)
            .cloned()
            .collect())
    }

    fn commit(&self, changes: Vec<ExecutionChange>) -> Result<()> {
        let mut guard = self.data();
        let data = &mut *guard;
        for change in &changes {
            if let Some(created) = &change.created {
                if data.executions.contains_key(&created.arn) {
                    return Err(Error::AlreadyExists(created.arn.clone()));
                }
            } else if !data.executions.contains_key(&change.arn) {
                return Err(Error::NotFound(change.arn.clone()));
            }
        }
        for change in changes {
            if let Some(created) = change.created {
                data.by_start
                    .insert((Reverse(created.start_ms), created.arn.clone()));
                *data
                    .counts
                    .entry((created.state_machine_arn.clone(), created.status.clone()))
                    .or_default() += 1;
                data.executions.insert(created.arn.clone(), created);
            }
            data.journals
                .entry(change.arn.clone())
                .or_default()
                .extend(change.journal);
            data.histories
                .entry(change.arn.clone())
                .or_default()
                .extend(change.history);
            for run in change.map_runs {
                if !data.map_runs.contains_key(&run.map_run_arn) {
                    data.map_runs_of
                        .entry(run.execution_arn.clone())
                        .or_default()
                        .push(run.map_run_arn.clone());
                }
                data.map_runs.insert(run.map_run_arn.clone(), run);
            }
            if let (Some(ending), Some(execution)) =
                (change.ending, data.executions.get_mut(&change.arn))
            {
                let before = std::mem::replace(&mut execution.status, ending.status.clone());
                let machine = &execution.state_machine_arn;
                if let Some(count) = data.counts.get_mut(&(machine.clone(), before)) {
                    *count = count.saturating_sub(1);
                }
                *data
                    .counts
                    .entry((machine.clone(), ending.status))
                    .or_default() += 1;
                execution.output = ending.output;
                execution.error = ending.error;
                execution.cause = ending.cause;
                execution.stop_ms = Some(ending.stop_ms);
            }
        }
        Ok(())
    }

    fn get_execution(&self, arn: &str) -> Result<Option<Execution>> {
        Ok(self.data().executions.get(arn).cloned())
    }

    fn list_executions(&self, query: &ExecutionQuery) -> Result<Vec<Execution>> {
        let data = self.data();
        let mut found: Vec<&Execution> = data
            .executions
            .values()
            .filter(|e| {
                query
                    .state_machine_arn
                    .as_deref()
                    .is_none_or(|arn| e.state_machine_arn == arn)
            })
            .filter(|e| {
                query
                    .status
                    .as_deref()
                    .is_none_or(|status| e.status == status)
            })
            .filter(|e| match &query.after {
                None => true,
                Some((start_ms, arn)) => {
                    e.start_ms < *start_ms || (e.start_ms == *start_ms && e.arn > *arn)
                }
            })
            .collect();
        found.sort_by(|a, b| execution_order(a, b));
        Ok(found.into_iter().take(query.limit).cloned().collect())
    }

    fn search_executions(&self, search: &ExecutionSearch) -> Result<Vec<ExecutionSummary>> {
        let data = self.data();
        // Newest first. The position or the end of the time range (whichever is further on)
        // is where the walk starts; `matches` decides the rest.
        let lower = match (&search.after, search.started_until_ms) {
            (Some((start_ms, _)), Some(until)) if until <= *start_ms => {
                Bound::Included((Reverse(until), String::new()))
            }
            (Some((start_ms, arn)), _) => Bound::Excluded((Reverse(*start_ms), arn.clone())),
            (None, Some(until)) => Bound::Included((Reverse(until), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut found = Vec::new();
        for (Reverse(start_ms), arn) in data.by_start.range((lower, Bound::Unbounded)) {
            if search.started_from_ms.is_some_and(|from| *start_ms < from) {
                break;
            }
            let Some(execution) = data.executions.get(arn) else {
                continue;
            };
            let summary = ExecutionSummary::from(execution);
            if search.matches(&summary) {
                found.push(summary);
                if found.len() >= search.limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    fn count_executions(&self) -> Result<Vec<StatusCount>> {
        Ok(self
            .data()
            .counts
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|((state_machine_arn, status), count)| StatusCount {
                state_machine_arn: state_machine_arn.clone(),
                status: status.clone(),
                count: *count,
            })
            .collect())
    }

    fn get_map_run(&self, arn: &str) -> Result<Option<aslan_types::MapRun>> {
        Ok(self.data().map_runs.get(arn).cloned())
    }

    fn list_map_runs(&self, execution_arn: &str) -> Result<Vec<aslan_types::MapRun>> {
        let data = self.data();
        Ok(data
            .map_runs_of
            .get(execution_arn)
            .into_iter()
            .flatten()
            .filter_map(|arn| data.map_runs.get(arn).cloned())
            .collect())
    }

    fn running_executions(&self) -> Result<Vec<Execution>> {
        let data = self.data();
        let mut found: Vec<Execution> = data
            .executions
            .values()
            .filter(|e| e.status == "RUNNING")
            .cloned()
            .collect();
        found.sort_by(execution_order);
        Ok(found)
    }

    fn journal(&self, arn: &str) -> Result<Vec<JournalEntry>> {
        Ok(self.data().journals.get(arn).cloned().unwrap_or_default())
    }

    fn history(
        &self,
        arn: &str,
        after_id: Option<i64>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<HistoryEntry>> {
        let data = self.data();
        let Some(events) = data.histories.get(arn) else {
            return Ok(Vec::new());
        };
        let found: Vec<HistoryEntry> = if reverse {
            events
                .iter()
                .rev()
                .filter(|e| after_id.is_none_or(|after| e.id < after))
                .take(limit)
                .cloned()
                .collect()
        } else {
            events
                .iter()
                .filter(|e| after_id.is_none_or(|after| e.id > after))
                .take(limit)
                .cloned()
                .collect()
        };
        Ok(found)
    }

    fn create_activity(&self, activity: &Activity) -> Result<Activity> {
        let mut data = self.data();
        Ok(data
            .activities
            .entry(activity.arn.clone())
            .or_insert_with(|| activity.clone())
            .clone())
    }

    fn get_activity(&self, arn: &str) -> Result<Option<Activity>> {
        Ok(self.data().activities.get(arn).cloned())
    }

    fn delete_activity(&self, arn: &str) -> Result<()> {
        self.data().activities.remove(arn);
        Ok(())
    }

    fn list_activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<Activity>> {
        let data = self.data();
        Ok(data
            .activities
            .values()
            .filter(|a| after.is_none_or(|after| a.arn.as_str() > after))
            .take(limit)
            .cloned()
            .collect())
    }

    fn tag(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()> {
        let mut data = self.data();
        let entry = data.tags.entry(resource_arn.to_owned()).or_default();
        for (key, value) in tags {
            entry.insert(key.clone(), value.clone());
        }
        Ok(())
    }

    fn untag(&self, resource_arn: &str, keys: &[String]) -> Result<()> {
        let mut data = self.data();
        if let Some(entry) = data.tags.get_mut(resource_arn) {
            for key in keys {
                entry.remove(key);
            }
        }
        Ok(())
    }

    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .data()
            .tags
            .get(resource_arn)
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_passes_the_suite() {
        crate::testing::run_all(crate::memory::MemoryStore::new);
    }
}
