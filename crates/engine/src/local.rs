//! The in-process runner: one execution, start to finish, in memory.
//!
//! It performs the interpreter's commands: tasks go to the [`TaskHandler`] and run concurrently,
//! timers wait on the [`Clock`] (a virtual clock skips them), history goes to the caller. This
//! is what `aslan run`, `aslan bench` and the conformance suite use; the durable server adds
//! storage around the same loop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use aslan_asl::Definition;
use aslan_asl::definition::{IntegrationPattern, ResourceKind};
use aslan_interp::{
    Command, Env, Event, Execution, ExecutionInfo, Options, Outcome, TaskId, TimerId,
};
use aslan_types::HistoryEvent;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::task::TaskHandler;
use crate::tokens::{ActivityTask, Callback, TaskTokens};

/// Receives every history event as it is recorded.
pub type EventSink = Box<dyn FnMut(&HistoryEvent) + Send>;

/// How to run one execution.
pub struct RunOptions {
    /// Identity of the execution (ARNs, names, start time).
    pub info: ExecutionInfo,
    /// Interpreter options (history, payload limit, seed, transition limit).
    pub interp: Options,
    /// Called with every history event as it is recorded (progress display).
    pub on_event: Option<EventSink>,
    /// Keep the history in the result.
    pub keep_history: bool,
    /// Where `.waitForTaskToken` tasks wait for `SendTaskSuccess`/`Failure`/`Heartbeat`.
    /// Without it the handler's own answer ends such a task.
    pub tokens: Option<Arc<TaskTokens>>,
}

/// How one execution ended.
#[derive(Debug)]
pub struct RunResult {
    /// The outcome.
    pub outcome: Outcome,
    /// The history, when kept.
    pub history: Vec<HistoryEvent>,
    /// States entered.
    pub transitions: u64,
}

/// Runs one execution to its end.
pub async fn run<C: Clock>(
    definition: &Definition,
    input: Value,
    mut options: RunOptions,
    clock: &C,
    handler: Arc<dyn TaskHandler>,
) -> RunResult {
    let mut execution = Execution::new(options.info.clone(), options.interp.clone());
    let mut history = Vec::new();
    let mut timers: BinaryHeap<Reverse<(i64, TimerId)>> = BinaryHeap::new();
    let mut cancelled_timers: HashSet<TimerId> = HashSet::new();
    let mut tasks: JoinSet<(TaskId, Result<Value, crate::TaskError>)> = JoinSet::new();
    let mut cancelled_tasks: HashSet<TaskId> = HashSet::new();
    let mut running: HashMap<TaskId, tokio::task::AbortHandle> = HashMap::new();
    // `.waitForTaskToken` tasks and their tokens: the work's own success does not end them.
    let mut waiting: HashMap<TaskId, String> = HashMap::new();
    let (callback_sender, mut callbacks) = tokio::sync::mpsc::unbounded_channel();
    let tokens = options.tokens.clone();
    let forget = |waiting: &mut HashMap<TaskId, String>, id: &TaskId| {
        if let (Some(token), Some(tokens)) = (waiting.remove(id), &tokens) {
            tokens.forget(&token);
        }
    };
    let mut commands = Vec::new();
    let mut event = Some(Event::Start { input });
    loop {
        if let Some(next) = event.take() {
            let env = Env { now: clock.now() };
            commands.clear();
            execution.handle_into(definition, next, &env, &mut commands);
            let mut started = Vec::new();
            for command in commands.drain(..) {
                match command {
                    Command::Record(recorded) => {
                        if let Some(callback) = options.on_event.as_mut() {
                            callback(&recorded);
                        }
                        if options.keep_history {
                            history.push(*recorded);
                        }
                    }
                    Command::ScheduleTask(request) => {
                        let id = request.id;
                        if let (Some(tokens), Some(token)) = (&tokens, &request.task_token) {
                            if request.resource.kind == ResourceKind::Activity {
                                // Queued for GetActivityTask; started when a worker takes it.
                                tokens.register(token, (id, callback_sender.clone()));
                                waiting.insert(id, token.clone());
                                let task = ActivityTask {
                                    token: token.clone(),
                                    input: request.parameters.to_string(),
                                };
                                tokens.enqueue(&request.resource.arn, task);
                                continue;
                            }
                            if request.resource.pattern == IntegrationPattern::WaitForTaskToken {
                                tokens.register(token, (id, callback_sender.clone()));
                                waiting.insert(id, token.clone());
                            }
                        }
                        let future = handler.invoke(&request);
                        started.push(id);
                        let handle = tasks.spawn(async move { (id, future.await) });
                        running.insert(id, handle);
                    }
                    Command::CancelTask(id) => {
                        // Dropping the work stops what it started (processes, child executions).
                        if let Some(handle) = running.remove(&id) {
                            handle.abort();
                        }
                        forget(&mut waiting, &id);
                        cancelled_tasks.insert(id);
                    }
                    Command::StartTimer { timer, fire_at } => {
                        timers.push(Reverse((fire_at, timer)))
                    }
                    Command::CancelTimer(timer) => {
                        cancelled_timers.insert(timer);
                    }
                    // Map Run reports are for the server's API.
                    Command::MapRun(_) => {}
                    Command::Finish(outcome) => {
                        tasks.abort_all();
                        for id in waiting.keys().copied().collect::<Vec<_>>() {
                            forget(&mut waiting, &id);
                        }
                        return RunResult {
                            outcome,
                            history,
                            transitions: execution.transitions(),
                        };
                    }
                }
            }
            // Local handlers start their work at once.
            for id in started {
                let env = Env { now: clock.now() };
                execution.handle_into(
                    definition,
                    Event::TaskStarted {
                        task: id,
                        worker: None,
                    },
                    &env,
                    &mut commands,
                );
            }
            if !commands.is_empty() {
                // TaskStarted only records events.
                for command in commands.drain(..) {
                    if let Command::Record(recorded) = command {
                        if let Some(callback) = options.on_event.as_mut() {
                            callback(&recorded);
                        }
                        if options.keep_history {
                            history.push(*recorded);
                        }
                    }
                }
            }
            continue;
        }
        while let Some(Reverse((_, timer))) = timers.peek() {
            if cancelled_timers.remove(timer) {
                timers.pop();
            } else {
                break;
            }
        }
        let next_timer = timers.peek().map(|Reverse((at, timer))| (*at, *timer));
        if tasks.is_empty() && waiting.is_empty() {
            let Some((at, timer)) = next_timer else {
                // Nothing can happen any more: the execution is stuck.
                let outcome = Outcome::Failed {
                    error: "States.Runtime".into(),
                    cause: "The execution is waiting for nothing: no task is running and no timer is set.".into(),
                };
                return RunResult {
                    outcome,
                    history,
                    transitions: execution.transitions(),
                };
            };
            clock.sleep_until(at).await;
            timers.pop();
            event = Some(Event::TimerFired { timer });
            continue;
        }
        // Tasks are running or waiting for their tokens. With a virtual clock, time only moves
        // when nothing else can happen: not while a handler runs; while tasks only wait for
        // their tokens, which come from outside, it runs at wall-clock speed.
        let timer_due = match next_timer {
            Some((at, _)) if !clock.is_virtual() || tasks.is_empty() => at,
            _ => i64::MAX,
        };
        let timer = async {
            if clock.is_virtual() {
                let wait = timer_due.saturating_sub(clock.now()).max(0);
                tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
            }
            clock.sleep_until(timer_due).await;
        };
        let finished = tokio::select! {
            joined = tasks.join_next(), if !tasks.is_empty() => joined,
            Some((id, callback)) = callbacks.recv() => {
                if !waiting.contains_key(&id) {
                    continue;
                }
                if callback != Callback::Heartbeat && running.contains_key(&id) {
                    // Answered while the work still runs: its own result no longer counts.
                    cancelled_tasks.insert(id);
                }
                event = Some(match callback {
                    Callback::Heartbeat => Event::TaskHeartbeat { task: id },
                    Callback::Started { worker } => Event::TaskStarted { task: id, worker },
                    Callback::Succeeded(output) => {
                        waiting.remove(&id);
                        Event::TaskSucceeded { task: id, output }
                    }
                    Callback::Failed(error) => {
                        waiting.remove(&id);
                        Event::TaskFailed { task: id, error: error.error, cause: error.cause }
                    }
                });
                continue;
            }
            () = timer, if timer_due != i64::MAX => None,
        };
        match finished {
            Some(Ok((id, result))) => {
                running.remove(&id);
                if cancelled_tasks.remove(&id) {
                    continue;
                }
                if waiting.contains_key(&id) && result.is_ok() {
                    // The work was handed over; the task waits for its token.
                    continue;
                }
                forget(&mut waiting, &id);
                event = Some(match result {
                    Ok(output) => Event::TaskSucceeded { task: id, output },
                    Err(error) => Event::TaskFailed {
                        task: id,
                        error: error.error,
                        cause: error.cause,
                    },
                });
            }
            Some(Err(join_error)) if join_error.is_cancelled() => continue,
            Some(Err(join_error)) => {
                let outcome = Outcome::Failed {
                    error: "States.Runtime".into(),
                    cause: format!("A task handler crashed: {join_error}"),
                };
                return RunResult {
                    outcome,
                    history,
                    transitions: execution.transitions(),
                };
            }
            None => {
                if let Some(Reverse((_, timer))) = timers.pop() {
                    event = Some(Event::TimerFired { timer });
                }
            }
        }
    }
}

/// Runs one execution on a fresh single-threaded runtime.
pub fn run_blocking<C: Clock>(
    definition: &Definition,
    input: Value,
    options: RunOptions,
    clock: &C,
    handler: Arc<dyn TaskHandler>,
) -> std::io::Result<RunResult> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(run(definition, input, options, clock, handler)))
}
