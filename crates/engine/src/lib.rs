//! The engine drives the pure interpreter: it keeps time, runs tasks, fires timers and records
//! history.
//!
//! - [`clock`]: the one place that reads the wall clock ([`SystemClock`]), and the
//!   [`VirtualClock`] that makes long Waits take no time.
//! - [`task`]: the [`TaskHandler`] interface through which every Task reaches its work.
//! - [`local`]: the in-process runner behind `aslan run` and `aslan bench`.
//! - [`durable`]: the engine behind `aslan serve`: one event loop, group-committed journals,
//!   recovery by replay; [`journal`] is its record format.
//! - [`tokens`]: the task tokens and activity tasks that in-process executions wait on
//!   (`aslan run`).

pub mod clock;
pub mod durable;
pub mod journal;
pub mod local;
pub mod task;
pub mod tokens;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use local::{RunOptions, RunResult, run, run_blocking};
pub use task::{NoHandler, TaskError, TaskFuture, TaskHandler};
pub use tokens::{ActivityTask, Callback, TaskTokens};
