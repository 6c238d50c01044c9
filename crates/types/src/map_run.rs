//! A Distributed Map's Map Run as `DescribeMapRun` and `ListMapRuns` report it. The interpreter
//! keeps one per running Distributed Map and hands a copy to its engine whenever it changes;
//! the server stores the last.

use serde::{Deserialize, Serialize};

/// One Map Run and the counts of its child executions (and items: one per child, or per batch
/// of items with `ItemBatcher`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapRun {
    /// `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID`.
    pub map_run_arn: String,
    /// The execution whose Map state started it.
    pub execution_arn: String,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE/LABEL`.
    pub state_machine_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `ABORTED`.
    pub status: String,
    /// When it started, epoch milliseconds.
    pub start_ms: i64,
    /// When it ended.
    pub stop_ms: Option<i64>,
    /// `MaxConcurrency` (0: no limit).
    pub max_concurrency: u64,
    /// `ToleratedFailureCount` (0 when not set).
    pub tolerated_failure_count: u64,
    /// `ToleratedFailurePercentage` (0 when not set).
    pub tolerated_failure_percentage: f64,
    /// Children not started yet.
    pub pending: u64,
    /// Children running.
    pub running: u64,
    /// Children that succeeded.
    pub succeeded: u64,
    /// Children that failed.
    pub failed: u64,
    /// Children stopped because the run ended without them.
    pub aborted: u64,
    /// All children.
    pub total: u64,
    /// Children whose results a `ResultWriter` wrote.
    pub results_written: u64,
}
