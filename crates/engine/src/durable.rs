//! The durable engine behind `aslan serve`.
//!
//! One event loop owns every live execution. It takes all messages that are waiting (starts,
//! task results, timers, stops, activity polls), runs them through the interpreter, writes the
//! whole batch — each execution's journal entries, history events and ending — to the store in
//! one commit, and only then performs the effects: arm timers, hand out tasks, answer callers.
//! A crash therefore loses only what was never committed, and that was never visible; on start,
//! every running execution is rebuilt by replaying its journal.
//!
//! Express executions run in the same loop but are never written to the store.
//!
//! Structure: [`EngineOptions`] → [`spawn`] (the service task) → [`Engine`] (the cheap handle).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use aslan_asl::Definition;
use aslan_asl::definition::{IntegrationPattern, ResourceKind};
use aslan_interp::{
    Command, Env, Event, Execution, ExecutionInfo, Options, Outcome, TaskId, TaskRequest, TimerId,
};
use aslan_store::{Ending, ExecutionChange, HistoryEntry, JournalEntry, Store};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::clock::{Clock, SystemClock};
use crate::journal;
use crate::task::{TaskError, TaskHandler};

/// How the engine behaves.
#[derive(Clone)]
pub struct EngineOptions {
    /// The largest state input/output (AWS: 262,144 bytes).
    pub max_payload_bytes: Option<usize>,
    /// Runs Task states that are not activities.
    pub handler: Arc<dyn TaskHandler>,
    /// The AWS region in task events.
    pub region: String,
    /// The most history events a Standard execution may have (AWS: 25,000).
    pub max_history_events: Option<i64>,
}

/// Why the engine refused a request.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// An execution with that name is running with another input.
    ExecutionAlreadyExists(String),
    /// No such execution (or it is not running).
    ExecutionDoesNotExist(String),
    /// The task token is not valid.
    InvalidToken(String),
    /// The task behind the token is over.
    TaskTimedOut(String),
    /// The store failed.
    Storage(String),
    /// The engine has stopped.
    Stopped,
}

/// What to start.
pub struct StartRequest {
    /// The execution ARN (for Express, with its unique suffix).
    pub execution_arn: String,
    /// The execution name.
    pub name: String,
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// The state machine name.
    pub state_machine_name: String,
    /// The state machine's revision at start.
    pub revision_id: String,
    /// The definition text.
    pub definition_text: String,
    /// The definition, validated.
    pub definition: Arc<Definition>,
    /// The role ARN.
    pub role_arn: String,
    /// The input, as given.
    pub input_text: String,
    /// The input, parsed.
    pub input: Value,
    /// Express executions are not stored.
    pub express: bool,
}

/// A started execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Its ARN.
    pub execution_arn: String,
    /// Its start time, epoch milliseconds.
    pub start_ms: i64,
}

/// A finished execution, for `StartSyncExecution`.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The outcome.
    pub outcome: Outcome,
    /// Start time.
    pub start_ms: i64,
    /// Stop time.
    pub stop_ms: i64,
    /// States entered (billing).
    pub transitions: u64,
}

/// An activity task handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    /// The task token.
    pub token: String,
    /// The input, as JSON text.
    pub input: String,
}

enum Message {
    Start {
        request: Box<StartRequest>,
        reply: oneshot::Sender<Result<Started, EngineError>>,
        finished: Option<oneshot::Sender<Finished>>,
    },
    Stop {
        arn: String,
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<Result<i64, EngineError>>,
    },
    Complete {
        token: String,
        result: Result<Value, TaskError>,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    Heartbeat {
        token: String,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    Poll {
        activity_arn: String,
        worker: Option<String>,
        reply: oneshot::Sender<ActivityTask>,
    },
    Requeue {
        activity_arn: String,
        arn: String,
        task: TaskId,
        token: String,
        input: String,
    },
    TaskDone {
        arn: String,
        task: TaskId,
        result: Result<Value, TaskError>,
    },
    Watch {
        arn: String,
        reply: oneshot::Sender<Finished>,
    },
}

/// The cheap handle through which the API talks to the engine.
#[derive(Clone)]
pub struct Engine {
    sender: mpsc::UnboundedSender<Message>,
}

impl Engine {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Message,
    ) -> Result<T, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(make(reply))
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// Starts an execution; answers once its start is committed.
    pub async fn start(&self, request: StartRequest) -> Result<Started, EngineError> {
        self.ask(|reply| Message::Start {
            request: Box::new(request),
            reply,
            finished: None,
        })
        .await?
    }

    /// Starts an execution and waits for it to finish.
    pub async fn start_sync(&self, request: StartRequest) -> Result<Finished, EngineError> {
        let (finished, done) = oneshot::channel();
        self.ask(|reply| Message::Start {
            request: Box::new(request),
            reply,
            finished: Some(finished),
        })
        .await??;
        done.await.map_err(|_| EngineError::Stopped)
    }

    /// Waits for a running execution to end; `None` when it is not running here (it ended
    /// before, or never existed: read the store).
    pub async fn watch(&self, arn: &str) -> Option<Finished> {
        let (reply, done) = oneshot::channel();
        self.sender
            .send(Message::Watch {
                arn: arn.to_owned(),
                reply,
            })
            .ok()?;
        done.await.ok()
    }

    /// Stops a running execution; answers with the stop time.
    pub async fn stop(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<i64, EngineError> {
        self.ask(|reply| Message::Stop {
            arn: arn.to_owned(),
            error,
            cause,
            reply,
        })
        .await?
    }

    /// `SendTaskSuccess` / `SendTaskFailure`.
    pub async fn complete_task(
        &self,
        token: &str,
        result: Result<Value, TaskError>,
    ) -> Result<(), EngineError> {
        self.ask(|reply| Message::Complete {
            token: token.to_owned(),
            result,
            reply,
        })
        .await?
    }

    /// `SendTaskHeartbeat`.
    pub async fn heartbeat(&self, token: &str) -> Result<(), EngineError> {
        self.ask(|reply| Message::Heartbeat {
            token: token.to_owned(),
            reply,
        })
        .await?
    }

    /// Waits for a task of an activity. Dropping the future gives up (the task stays queued).
    pub async fn poll_activity(
        &self,
        activity_arn: &str,
        worker: Option<String>,
    ) -> Result<ActivityTask, EngineError> {
        self.ask(|reply| Message::Poll {
            activity_arn: activity_arn.to_owned(),
            worker,
            reply,
        })
        .await
    }
}

struct Live {
    execution: Execution,
    definition: Arc<Definition>,
    express: bool,
    input_text: String,
    start_ms: i64,
    next_seq: u64,
    tasks: HashMap<TaskId, TaskRequest>,
    finished: Vec<oneshot::Sender<Finished>>,
}

#[derive(Default)]
struct ActivityQueue {
    pending: VecDeque<(String, TaskId, String, String)>,
    pollers: VecDeque<(Option<String>, oneshot::Sender<ActivityTask>)>,
}

/// Effects performed after a commit.
enum Effect {
    Timer {
        arn: String,
        timer: TimerId,
        fire_at: i64,
    },
    Dispatch {
        arn: String,
        request: Box<TaskRequest>,
    },
    Reply(Box<dyn FnOnce() + Send>),
}

struct Service<C: Clock> {
    store: Arc<dyn Store>,
    options: EngineOptions,
    clock: C,
    sender: mpsc::UnboundedSender<Message>,
    live: HashMap<String, Live>,
    timers: BinaryHeap<Reverse<(i64, u64, String, TimerId)>>,
    timer_seq: u64,
    cancelled_timers: HashSet<(String, TimerId)>,
    tokens: HashMap<String, (String, TaskId)>,
    activities: HashMap<String, ActivityQueue>,
    /// Running handler futures, aborted when their task is cancelled or their execution ends.
    running: HashMap<(String, TaskId), tokio::task::AbortHandle>,
    /// Standard executions started since this engine started.
    started: HashSet<String>,
}

/// Starts the engine on the current tokio runtime, resuming every running execution.
pub async fn spawn(store: Arc<dyn Store>, options: EngineOptions) -> Result<Engine, EngineError> {
    spawn_with_clock(store, options, SystemClock).await
}

/// [`spawn`] with another clock.
pub async fn spawn_with_clock<C: Clock + 'static>(
    store: Arc<dyn Store>,
    options: EngineOptions,
    clock: C,
) -> Result<Engine, EngineError> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut service = Service {
        store,
        options,
        clock,
        sender: sender.clone(),
        live: HashMap::new(),
        timers: BinaryHeap::new(),
        timer_seq: 0,
        cancelled_timers: HashSet::new(),
        tokens: HashMap::new(),
        running: HashMap::new(),
        activities: HashMap::new(),
        started: HashSet::new(),
    };
    service.recover().await?;
    tokio::spawn(service.run(receiver));
    Ok(Engine { sender })
}

fn ending(outcome: &Outcome, stop_ms: i64) -> Ending {
    let (status, output, error, cause) = match outcome {
        Outcome::Succeeded(output) => (
            "SUCCEEDED",
            Some(serde_json::to_string(output).unwrap_or_default()),
            None,
            None,
        ),
        Outcome::Failed { error, cause } => ("FAILED", None, non_empty(error), non_empty(cause)),
        Outcome::TimedOut { error, cause } => {
            ("TIMED_OUT", None, non_empty(error), non_empty(cause))
        }
        Outcome::Aborted { error, cause } => ("ABORTED", None, error.clone(), cause.clone()),
    };
    Ending {
        status: status.into(),
        output,
        error,
        cause,
        stop_ms,
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl<C: Clock + 'static> Service<C> {
    /// Rebuilds every running execution from its journal and re-arms what it waits for.
    async fn recover(&mut self) -> Result<(), EngineError> {
        let store = self.store.clone();
        let running = tokio::task::spawn_blocking(move || store.running_executions())
            .await
            .map_err(|e| EngineError::Storage(e.to_string()))?
            .map_err(|e| EngineError::Storage(e.to_string()))?;
        for record in running {
            let parsed = aslan_asl::parse(&record.definition, aslan_asl::LoadOptions::default());
            let Some(definition) = parsed.definition else {
                continue;
            };
            let store = self.store.clone();
            let arn = record.arn.clone();
            let entries = tokio::task::spawn_blocking(move || store.journal(&arn))
                .await
                .map_err(|e| EngineError::Storage(e.to_string()))?
                .map_err(|e| EngineError::Storage(e.to_string()))?;
            let info = ExecutionInfo {
                execution_arn: record.arn.clone(),
                execution_name: record.name.clone(),
                state_machine_arn: record.state_machine_arn.clone(),
                state_machine_name: record
                    .state_machine_arn
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                role_arn: record.role_arn.clone(),
                region: self.options.region.clone(),
                start_time: record.start_ms,
                redrive_count: 0,
                express: false,
            };
            let mut execution = Execution::new(info, self.interp_options(record.seed, false));
            let mut timers: HashMap<TimerId, i64> = HashMap::new();
            let mut tasks: HashMap<TaskId, TaskRequest> = HashMap::new();
            let mut next_seq = 1;
            for entry in &entries {
                let Some(event) = journal::decode(&entry.event) else {
                    continue;
                };
                next_seq = entry.seq + 1;
                match &event {
                    Event::TimerFired { timer } => {
                        timers.remove(timer);
                    }
                    Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => {
                        tasks.remove(task);
                    }
                    _ => {}
                }
                let commands = execution.handle(&definition, event, &Env { now: entry.now_ms });
                for command in commands {
                    match command {
                        Command::StartTimer { timer, fire_at } => {
                            timers.insert(timer, fire_at);
                        }
                        Command::CancelTimer(timer) => {
                            timers.remove(&timer);
                        }
                        Command::ScheduleTask(request) => {
                            tasks.insert(request.id, *request);
                        }
                        Command::CancelTask(task) => {
                            tasks.remove(&task);
                        }
                        Command::Record(_) | Command::Finish(_) | Command::MapRun(_) => {}
                    }
                }
            }
            let started_tasks: HashSet<TaskId> = entries
                .iter()
                .filter_map(|e| match journal::decode(&e.event) {
                    Some(Event::TaskStarted { task, .. }) => Some(task),
                    _ => None,
                })
                .collect();
            if execution.outcome().is_some() {
                continue;
            }
            for (timer, fire_at) in timers {
                self.arm(&record.arn, timer, fire_at);
            }
            let mut live = Live {
                execution,
                definition: Arc::new(definition),
                express: false,
                input_text: record.input.clone(),
                start_ms: record.start_ms,
                next_seq,
                tasks: HashMap::new(),
                finished: Vec::new(),
            };
            for (id, request) in tasks {
                if let Some(token) = &request.task_token {
                    self.tokens.insert(token.clone(), (record.arn.clone(), id));
                }
                let started = started_tasks.contains(&id);
                live.tasks.insert(id, request.clone());
                // Activities and callbacks that were handed out wait for their worker or token;
                // other started work is sent again (its answer was lost with the process).
                let handed_out = request.resource.kind == ResourceKind::Activity
                    || request.resource.pattern == IntegrationPattern::WaitForTaskToken;
                if !started || !handed_out {
                    self.dispatch(&record.arn, request);
                }
            }
            self.live.insert(record.arn.clone(), live);
        }
        Ok(())
    }

    fn interp_options(&self, seed: u64, express: bool) -> Options {
        Options {
            record_history: true,
            max_payload_bytes: self.options.max_payload_bytes,
            seed,
            max_transitions: None,
            // Express executions have no history limit on AWS.
            max_history_events: if express {
                None
            } else {
                self.options.max_history_events
            },
        }
    }

    fn arm(&mut self, arn: &str, timer: TimerId, fire_at: i64) {
        self.timer_seq += 1;
        self.timers
            .push(Reverse((fire_at, self.timer_seq, arn.to_owned(), timer)));
    }

    async fn run(mut self, mut receiver: mpsc::UnboundedReceiver<Message>) {
        loop {
            // Fire due timers first; then wait for a message or the next timer.
            let now = self.clock.now();
            let mut batch: Vec<Message> = Vec::new();
            let mut fired: Vec<(String, TimerId)> = Vec::new();
            while let Some(Reverse((fire_at, _, _, _))) = self.timers.peek() {
                if *fire_at > now {
                    break;
                }
                if let Some(Reverse((_, _, arn, timer))) = self.timers.pop()
                    && !self.cancelled_timers.remove(&(arn.clone(), timer))
                {
                    fired.push((arn, timer));
                }
            }
            if fired.is_empty() {
                let next = self.timers.peek().map(|Reverse((at, _, _, _))| *at);
                let message = match next {
                    Some(at) => {
                        tokio::select! {
                            message = receiver.recv() => message,
                            () = self.clock.sleep_until(at) => { continue; }
                        }
                    }
                    None => receiver.recv().await,
                };
                match message {
                    Some(message) => batch.push(message),
                    None => return,
                }
            }
            while batch.len() < 4096 {
                match receiver.try_recv() {
                    Ok(message) => batch.push(message),
                    Err(_) => break,
                }
            }
            self.process(batch, fired).await;
        }
    }

    /// Handles one batch: interpret, commit once, then perform the effects.
    async fn process(&mut self, batch: Vec<Message>, fired: Vec<(String, TimerId)>) {
        let mut changes: Vec<ExecutionChange> = Vec::new();
        let mut change_index: HashMap<String, usize> = HashMap::new();
        let mut effects: Vec<Effect> = Vec::new();
        for (arn, timer) in fired {
            self.feed(
                &arn,
                Event::TimerFired { timer },
                &mut changes,
                &mut change_index,
                &mut effects,
            );
        }
        for message in batch {
            self.message(message, &mut changes, &mut change_index, &mut effects);
        }
        let touched: Vec<String> = changes.iter().map(|c| c.arn.clone()).collect();
        let durable: Vec<ExecutionChange> = changes
            .into_iter()
            .filter(|c| self.live.get(&c.arn).is_none_or(|l| !l.express))
            .collect();
        if !durable.is_empty() {
            let store = self.store.clone();
            let committed = tokio::task::spawn_blocking(move || store.commit(durable)).await;
            let failure = match committed {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(error) => Some(error.to_string()),
            };
            if let Some(message) = failure {
                // Nothing of this batch is durable, so none of its effects may happen: the
                // callers' replies are dropped (they see the engine's error) and the executions
                // it touched leave memory, to be rebuilt from the store on the next start.
                tracing_error(&message);
                drop(effects);
                for arn in touched {
                    self.live.remove(&arn);
                }
                return;
            }
        }
        for effect in effects {
            match effect {
                Effect::Timer {
                    arn,
                    timer,
                    fire_at,
                } => self.arm(&arn, timer, fire_at),
                Effect::Dispatch { arn, request } => self.dispatch(&arn, *request),
                Effect::Reply(reply) => reply(),
            }
        }
        self.live
            .retain(|_, live| live.execution.outcome().is_none());
    }

    fn message(
        &mut self,
        message: Message,
        changes: &mut Vec<ExecutionChange>,
        index: &mut HashMap<String, usize>,
        effects: &mut Vec<Effect>,
    ) {
        match message {
            Message::Start {
                request,
                reply,
                finished,
            } => {
                let arn = request.execution_arn.clone();
                // A name is taken once used (the API checks the store for older executions; this
                // covers those that started and ended since this engine started).
                if !request.express && !self.live.contains_key(&arn) && self.started.contains(&arn)
                {
                    let _ = reply.send(Err(EngineError::ExecutionAlreadyExists(arn.clone())));
                    return;
                }
                if let Some(existing) = self.live.get_mut(&arn) {
                    // AWS: the same name and input while running is the same execution.
                    let answer = if existing.input_text == request.input_text && !existing.express {
                        if let Some(finished) = finished {
                            existing.finished.push(finished);
                        }
                        Ok(Started {
                            execution_arn: arn.clone(),
                            start_ms: existing.start_ms,
                        })
                    } else {
                        Err(EngineError::ExecutionAlreadyExists(arn.clone()))
                    };
                    let _ = reply.send(answer);
                    return;
                }
                let now = self.clock.now();
                let seed = seed_for(&arn, now);
                let info = ExecutionInfo {
                    execution_arn: arn.clone(),
                    execution_name: request.name.clone(),
                    state_machine_arn: request.state_machine_arn.clone(),
                    state_machine_name: request.state_machine_name.clone(),
                    role_arn: request.role_arn.clone(),
                    region: self.options.region.clone(),
                    start_time: now,
                    redrive_count: 0,
                    express: request.express,
                };
                let live = Live {
                    execution: Execution::new(info, self.interp_options(seed, request.express)),
                    definition: request.definition.clone(),
                    express: request.express,
                    input_text: request.input_text.clone(),
                    start_ms: now,
                    next_seq: 1,
                    tasks: HashMap::new(),
                    finished: finished.into_iter().collect(),
                };
                self.live.insert(arn.clone(), live);
                if !request.express {
                    self.started.insert(arn.clone());
                    index.insert(arn.clone(), changes.len());
                    changes.push(ExecutionChange {
                        arn: arn.clone(),
                        created: Some(aslan_store::Execution {
                            arn: arn.clone(),
                            state_machine_arn: request.state_machine_arn.clone(),
                            name: request.name.clone(),
                            status: "RUNNING".into(),
                            input: request.input_text.clone(),
                            output: None,
                            error: None,
                            cause: None,
                            start_ms: now,
                            stop_ms: None,
                            definition: request.definition_text.clone(),
                            role_arn: request.role_arn.clone(),
                            seed,
                            revision_id: request.revision_id.clone(),
                        }),
                        ..Default::default()
                    });
                }
                let started = Started {
                    execution_arn: arn.clone(),
                    start_ms: now,
                };
                effects.push(Effect::Reply(Box::new(move || {
                    let _ = reply.send(Ok(started));
                })));
                self.feed(
                    &arn,
                    Event::Start {
                        input: request.input,
                    },
                    changes,
                    index,
                    effects,
                );
            }
            Message::Stop {
                arn,
                error,
                cause,
                reply,
            } => {
                if !self.live.contains_key(&arn) {
                    let _ = reply.send(Err(EngineError::ExecutionDoesNotExist(arn)));
                    return;
                }
                self.feed(&arn, Event::Stop { error, cause }, changes, index, effects);
                let stop_ms = self.clock.now();
                effects.push(Effect::Reply(Box::new(move || {
                    let _ = reply.send(Ok(stop_ms));
                })));
            }
            Message::Complete {
                token,
                result,
                reply,
            } => {
                let Some((arn, task)) = self.tokens.remove(&token) else {
                    let _ = reply.send(Err(crate::tokens::unknown_token(&token)));
                    return;
                };
                let event = match result {
                    Ok(output) => Event::TaskSucceeded { task, output },
                    Err(error) => Event::TaskFailed {
                        task,
                        error: error.error,
                        cause: error.cause,
                    },
                };
                if let Some(live) = self.live.get_mut(&arn) {
                    live.tasks.remove(&task);
                }
                self.feed(&arn, event, changes, index, effects);
                effects.push(Effect::Reply(Box::new(move || {
                    let _ = reply.send(Ok(()));
                })));
            }
            Message::Heartbeat { token, reply } => {
                let Some((arn, task)) = self.tokens.get(&token).cloned() else {
                    let _ = reply.send(Err(crate::tokens::unknown_token(&token)));
                    return;
                };
                self.feed(&arn, Event::TaskHeartbeat { task }, changes, index, effects);
                effects.push(Effect::Reply(Box::new(move || {
                    let _ = reply.send(Ok(()));
                })));
            }
            Message::Poll {
                activity_arn,
                worker,
                reply,
            } => {
                // A worker that gave up (its long poll timed out) gets nothing.
                if reply.is_closed() {
                    return;
                }
                let queue = self.activities.entry(activity_arn.clone()).or_default();
                queue.pollers.retain(|(_, poller)| !poller.is_closed());
                match queue.pending.pop_front() {
                    Some((arn, task, token, input)) => {
                        // The hand-out is recorded (ActivityStarted) before the worker hears of it.
                        self.feed(
                            &arn,
                            Event::TaskStarted { task, worker },
                            changes,
                            index,
                            effects,
                        );
                        let handed = ActivityTask {
                            token: token.clone(),
                            input: input.clone(),
                        };
                        let sender = self.sender.clone();
                        effects.push(Effect::Reply(Box::new(move || {
                            // The worker left between the commit and now: queue the task again.
                            if reply.send(handed).is_err() {
                                let _ = sender.send(Message::Requeue {
                                    activity_arn,
                                    arn,
                                    task,
                                    token,
                                    input,
                                });
                            }
                        })));
                    }
                    None => queue.pollers.push_back((worker, reply)),
                }
            }
            Message::Requeue {
                activity_arn,
                arn,
                task,
                token,
                input,
            } => {
                if self
                    .live
                    .get(&arn)
                    .is_some_and(|l| l.tasks.contains_key(&task))
                {
                    let queue = self.activities.entry(activity_arn).or_default();
                    queue.pending.push_front((arn, task, token, input));
                }
            }
            Message::Watch { arn, reply } => {
                // Dropping the reply tells the caller the execution is not running.
                if let Some(live) = self.live.get_mut(&arn) {
                    live.finished.push(reply);
                }
            }
            Message::TaskDone { arn, task, result } => {
                self.running.remove(&(arn.clone(), task));
                let Some(live) = self.live.get_mut(&arn) else {
                    return;
                };
                // A callback task's work was handed over; it ends when its token comes back.
                let waits_for_token = live.tasks.get(&task).is_some_and(|request| {
                    request.resource.pattern == IntegrationPattern::WaitForTaskToken
                });
                if waits_for_token && result.is_ok() {
                    return;
                }
                let Some(request) = live.tasks.remove(&task) else {
                    return;
                };
                if let Some(token) = &request.task_token {
                    self.tokens.remove(token);
                }
                let event = match result {
                    Ok(output) => Event::TaskSucceeded { task, output },
                    Err(error) => Event::TaskFailed {
                        task,
                        error: error.error,
                        cause: error.cause,
                    },
                };
                self.feed(&arn, event, changes, index, effects);
            }
        }
    }

    /// Runs one event through an execution and collects what it changes and causes.
    fn feed(
        &mut self,
        arn: &str,
        event: Event,
        changes: &mut Vec<ExecutionChange>,
        index: &mut HashMap<String, usize>,
        effects: &mut Vec<Effect>,
    ) {
        let now = self.clock.now();
        let Some(live) = self.live.get_mut(arn) else {
            return;
        };
        if live.execution.outcome().is_some() {
            return;
        }
        let journal_text = (!live.express).then(|| journal::encode(&event));
        let commands = live.execution.handle(&live.definition, event, &Env { now });
        let slot = match index.get(arn) {
            Some(&slot) => slot,
            None => {
                index.insert(arn.to_owned(), changes.len());
                changes.push(ExecutionChange {
                    arn: arn.to_owned(),
                    ..Default::default()
                });
                changes.len() - 1
            }
        };
        if let Some(text) = journal_text {
            changes[slot].journal.push(JournalEntry {
                seq: live.next_seq,
                now_ms: now,
                event: text,
            });
            live.next_seq += 1;
        }
        let mut handed_to_handler = Vec::new();
        for command in commands {
            match command {
                Command::Record(event) => {
                    if !live.express {
                        let text = serde_json::to_string(&event).unwrap_or_default();
                        changes[slot].history.push(HistoryEntry {
                            id: event.id,
                            event: text,
                        });
                    }
                }
                Command::MapRun(report) => {
                    if !live.express {
                        // Only the last report of a run in a batch is worth writing.
                        let runs = &mut changes[slot].map_runs;
                        runs.retain(|r| r.map_run_arn != report.map_run_arn);
                        runs.push(*report);
                    }
                }
                Command::StartTimer { timer, fire_at } => effects.push(Effect::Timer {
                    arn: arn.to_owned(),
                    timer,
                    fire_at,
                }),
                Command::CancelTimer(timer) => {
                    self.cancelled_timers.insert((arn.to_owned(), timer));
                }
                Command::ScheduleTask(request) => {
                    if let Some(token) = &request.task_token {
                        self.tokens
                            .insert(token.clone(), (arn.to_owned(), request.id));
                    }
                    live.tasks.insert(request.id, (*request).clone());
                    if request.resource.kind != ResourceKind::Activity {
                        handed_to_handler.push(request.id);
                    }
                    effects.push(Effect::Dispatch {
                        arn: arn.to_owned(),
                        request,
                    });
                }
                Command::CancelTask(task) => {
                    if let Some(handle) = self.running.remove(&(arn.to_owned(), task)) {
                        handle.abort();
                    }
                    if let Some(request) = live.tasks.remove(&task)
                        && let Some(token) = &request.task_token
                    {
                        self.tokens.remove(token);
                    }
                    for queue in self.activities.values_mut() {
                        queue
                            .pending
                            .retain(|(a, t, _, _)| !(a == arn && *t == task));
                    }
                }
                Command::Finish(outcome) => {
                    changes[slot].ending = Some(ending(&outcome, now));
                    let finished = Finished {
                        outcome,
                        start_ms: live.start_ms,
                        stop_ms: now,
                        transitions: live.execution.transitions(),
                    };
                    for waiter in live.finished.drain(..) {
                        let finished = finished.clone();
                        effects.push(Effect::Reply(Box::new(move || {
                            let _ = waiter.send(finished);
                        })));
                    }
                    for (task, request) in live.tasks.drain() {
                        if let Some(handle) = self.running.remove(&(arn.to_owned(), task)) {
                            handle.abort();
                        }
                        if let Some(token) = &request.task_token {
                            self.tokens.remove(token);
                        }
                    }
                }
            }
        }
        // Functions, HTTP, jobs and nested executions start at once (activities start when a
        // worker takes them): record TaskStarted in the same batch.
        for task in handed_to_handler {
            self.feed(
                arn,
                Event::TaskStarted { task, worker: None },
                changes,
                index,
                effects,
            );
        }
    }

    /// Hands a task to its worker: an activity queue, or the task handler.
    fn dispatch(&mut self, arn: &str, request: TaskRequest) {
        if request.resource.kind == ResourceKind::Activity {
            // AWS fails the state when its activity does not exist (any more).
            if matches!(self.store.get_activity(&request.resource.arn), Ok(None)) {
                let cause = format!("The activity {} does not exist.", request.resource.arn);
                let _ = self.sender.send(Message::TaskDone {
                    arn: arn.to_owned(),
                    task: request.id,
                    result: Err(TaskError::new("States.Runtime", cause)),
                });
                return;
            }
            let token = request.task_token.clone().unwrap_or_default();
            let input = serde_json::to_string(&request.parameters).unwrap_or_default();
            let queue = self
                .activities
                .entry(request.resource.arn.clone())
                .or_default();
            queue
                .pending
                .push_back((arn.to_owned(), request.id, token, input));
            // Wake a waiting worker through the loop, so the hand-out is recorded first.
            let waiting =
                std::iter::from_fn(|| queue.pollers.pop_front()).find(|(_, p)| !p.is_closed());
            if let Some((worker, poller)) = waiting {
                let _ = self.sender.send(Message::Poll {
                    activity_arn: request.resource.arn,
                    worker,
                    reply: poller,
                });
            }
            return;
        }
        let future = self.options.handler.invoke(&request);
        let sender = self.sender.clone();
        let (arn, task) = (arn.to_owned(), request.id);
        let key = (arn.clone(), task);
        let handle = tokio::spawn(async move {
            let result = future.await;
            let _ = sender.send(Message::TaskDone { arn, task, result });
        });
        self.running.insert(key, handle.abort_handle());
    }
}

/// A seed for an execution's random source, fixed at its start and stored with it.
fn seed_for(arn: &str, now: i64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in arn.bytes().chain(now.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn tracing_error(message: &str) {
    tracing::error!(message, "storage commit failed; the batch was not applied");
}
