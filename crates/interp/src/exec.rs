//! One execution's state and the transition function that advances it.
//!
//! An execution is a set of *frames*: the top-level flow, and one per running Parallel branch
//! or Map iteration. A frame sits at one state with that state's raw input. Runnable frames are
//! advanced until each either finishes or waits (for a task, a timer, or its children), so a
//! chain of Pass and Choice states runs in one call without allocating per transition beyond the
//! data it produces. Map iterations are frames, never threads.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use aslan_asl::choice::{ChoiceRule, Operand};
use aslan_asl::definition::*;
use aslan_asl::jsonpath::JsonPath;
use aslan_asl::template::Template;
use aslan_types::{HistoryEvent, HistoryEventType, Timestamp};
use serde_json::{Map as JsonMap, Value, json};

use crate::error::StateError;
use crate::eval::{self, Context, Scope, compact};
use crate::history;
use crate::size::{Bound, MAX_DEPTH, json_size};
use crate::vars::Variables;
use crate::{Command, Env, Event, Outcome, TaskId, TaskRequest, TimerId};

/// Who the execution is, as the context object and the history show it.
#[derive(Debug, Clone, Default)]
pub struct ExecutionInfo {
    /// The execution ARN (`$$.Execution.Id`).
    pub execution_arn: String,
    /// The execution name.
    pub execution_name: String,
    /// The state machine ARN (`$$.StateMachine.Id`).
    pub state_machine_arn: String,
    /// The state machine name.
    pub state_machine_name: String,
    /// The role ARN the execution runs with.
    pub role_arn: String,
    /// The region, for task events.
    pub region: String,
    /// When the execution started, in epoch milliseconds.
    pub start_time: i64,
    /// How many times it was redriven.
    pub redrive_count: u32,
    /// True for an Express execution.
    pub express: bool,
}

/// How the interpreter behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Produce history events (`Command::Record`). Off for benchmarks and Express executions
    /// whose history nobody reads.
    pub record_history: bool,
    /// The largest state input or output, in bytes (AWS: 262,144); `None` for no limit.
    pub max_payload_bytes: Option<usize>,
    /// Seed of the execution's random source (jitter, `States.UUID`, `States.MathRandom`).
    pub seed: u64,
    /// Fail the execution once it has entered this many states (guards `aslan run` against
    /// workflows that loop forever); `None` for no limit.
    pub max_transitions: Option<u64>,
    /// Fail the execution when its history reaches this many events (AWS: 25,000 for Standard
    /// executions); `None` for no limit.
    pub max_history_events: Option<i64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            record_history: true,
            max_payload_bytes: Some(262_144),
            seed: 0x5eed,
            max_transitions: None,
            max_history_events: None,
        }
    }
}

/// The largest value a workflow variable may hold, and the most all the values of one
/// `Assign` may total, in bytes of compact JSON (AWS: 256 KiB each).
const MAX_VARIABLE_BYTES: usize = 262_144;

/// The most the variables stored in one execution (in every scope alive at once) may total, in
/// bytes of compact JSON (AWS: 10 MiB).
const MAX_EXECUTION_VARIABLE_BYTES: usize = 10 * 1024 * 1024;

/// The error for a variable limit passed. AWS documents the limits but neither the error nor
/// its cause; the terminal error of the payload limit is the nearest documented one.
const VARIABLE_LIMIT_ERROR: &str = "States.DataLimitExceeded";

/// The longest an Express execution may run, in seconds.
pub const EXPRESS_MAX_SECONDS: u64 = 300;

type FrameId = usize;
type JoinId = usize;

/// What a waiting frame resumes with.
#[derive(Debug)]
enum Resume {
    TaskSucceeded(Value),
    TaskFailed(StateError),
    WaitOver,
    Children(Vec<Value>),
    ChildFailed(StateError),
    /// A Distributed Map's `ItemReader` answered.
    ItemsRead(Result<Value, StateError>),
    /// A Distributed Map's children all ended (or were tolerated).
    MapRunDone(Vec<Value>, MapRun),
    /// One of a `ResultWriter`'s objects was written.
    Written(Result<Value, StateError>),
}

#[derive(Debug)]
enum Phase {
    /// Entering the state: record `...StateEntered` first.
    Enter,
    /// Running the state again after a retry delay.
    Retry,
    /// Waiting for something.
    Waiting,
    /// Continuing after a wait.
    Resume(Resume),
}

#[derive(Debug)]
struct Frame {
    state: StateId,
    input: Value,
    input_bound: Bound,
    phase: Phase,
    parent: Option<(JoinId, usize)>,
    variables: Variables,
    last_event: i64,
    entered_event: i64,
    entered_time: i64,
    retry_attempts: Vec<u32>,
    retry_count: u32,
    /// A Parallel or Map state recorded its `...Started` event (so a failure records `...Failed`).
    started: bool,
    /// An iteration of a Distributed Map (or inside one): a child execution of its own on AWS,
    /// so its events are not in this execution's history.
    quiet: bool,
}

#[derive(Debug)]
struct Join {
    parent: FrameId,
    results: Vec<Value>,
    remaining: usize,
    pending: VecDeque<(usize, Value)>,
    /// How many child frames run now.
    running: usize,
    scope: ScopeId,
    outer_variables: Arc<Variables>,
    map_name: Option<String>,
    failed: bool,
    /// The Map Run of a Distributed Map.
    map_run: Option<MapRun>,
    /// Children record no history (a Distributed Map's, or any inside one).
    quiet: bool,
}

/// What a Distributed Map's reader or writer task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapIo {
    Read,
    Write,
}

impl MapIo {
    /// How the task's answer resumes the Map's frame.
    fn answered(self, answer: Result<Value, StateError>) -> Resume {
        match self {
            MapIo::Read => Resume::ItemsRead(answer),
            MapIo::Write => Resume::Written(answer),
        }
    }
}

/// One child execution of a Map Run, as a `ResultWriter` reports it.
#[derive(Debug, Clone)]
struct ChildRecord {
    input: Value,
    start: i64,
    stop: i64,
    failed: bool,
}

/// The objects a `ResultWriter` still has to write, and the Map's result once they are.
#[derive(Debug)]
struct PendingWrites {
    files: VecDeque<(String, String)>,
    output: Value,
}

/// A Distributed Map's run: its ARN, the failures it tolerates and how many there were, and
/// (for a `ResultWriter`) each child's record.
#[derive(Debug, Clone)]
struct MapRun {
    arn: String,
    records: Option<Vec<ChildRecord>>,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
    failed: u64,
    total: usize,
}

impl MapRun {
    /// More iterations failed than the run tolerates (none, unless a threshold says so; when
    /// both are set, going past either fails the run).
    fn exceeded(&self) -> bool {
        let count_ok = self.tolerated_count.map(|count| self.failed <= count);
        let percentage_ok = self
            .tolerated_percentage
            .map(|percentage| self.failed as f64 * 100.0 / self.total.max(1) as f64 <= percentage);
        match (count_ok, percentage_ok) {
            (None, None) => self.failed > 0,
            (count, percentage) => !(count.unwrap_or(true) && percentage.unwrap_or(true)),
        }
    }
}

#[derive(Debug)]
struct TaskWait {
    frame: FrameId,
    /// A Distributed Map's `ItemReader` or `ResultWriter` call: no Task events of its own.
    io: Option<MapIo>,
    timeout_timer: Option<TimerId>,
    heartbeat_timer: Option<(TimerId, u64)>,
    started: bool,
    resource_type: String,
    resource: String,
}

#[derive(Debug, Clone, Copy)]
enum TimerPurpose {
    Wait(FrameId),
    Retry(FrameId),
    TaskTimeout(TaskId),
    Heartbeat(TaskId),
    ExecutionTimeout,
}

/// One execution of a state machine.
#[derive(Debug)]
pub struct Execution {
    info: ExecutionInfo,
    start_time_text: String,
    options: Options,
    input: Value,
    frames: Vec<Option<Frame>>,
    free_frames: Vec<FrameId>,
    /// The size of the variables every live frame holds in its own scope (see
    /// `apply_assigned`); a frame's share is freed with it.
    variable_bytes: usize,
    runnable: VecDeque<FrameId>,
    joins: Vec<Option<Join>>,
    free_joins: Vec<JoinId>,
    tasks: HashMap<TaskId, TaskWait>,
    timers: HashMap<TimerId, TimerPurpose>,
    next_id: u64,
    event_id: i64,
    rng_state: Cell<u64>,
    /// The token of the task being prepared: `$$.Task.Token` while its parameters are evaluated.
    pending_token: Option<String>,
    /// The time of the event being handled (for JSONata's `$now()`).
    now: i64,
    transitions: u64,
    outcome: Option<Outcome>,
    /// The frame being advanced records no history (see `Frame::quiet`).
    quiet: bool,
    /// The Map Run each Distributed Map frame started, by frame, as last reported.
    map_runs: HashMap<FrameId, aslan_types::MapRun>,
    /// A `ResultWriter`'s objects still to write, by the Map's frame.
    writes: HashMap<FrameId, PendingWrites>,
}

/// What a finished state hands to [`Execution::complete`].
struct Completion {
    /// JSONPath: the state's value with `ResultPath` applied. JSONata: the state's input.
    value: Value,
    /// An upper bound of `value`'s size.
    bound: Bound,
    /// The state a Choice picked.
    next: Option<StateId>,
    /// The Choice rule that matched (its `Output`/`Assign` apply).
    branch: Option<usize>,
    /// JSONPath: what `Assign` reads, when not `value`. JSONata: `$states.result`.
    result: Option<Value>,
}

impl Completion {
    fn of(value: Value, bound: Bound) -> Self {
        Completion {
            value,
            bound,
            next: None,
            branch: None,
            result: None,
        }
    }
}

/// A JSONata state's `Output`: a value still to take parts of the input or result, or members
/// to add to the input.
enum JsonataOutput<'t> {
    Pending(eval::PendingOutput<'t>),
    Merge(aslan_jsonata::Merge),
}

/// What handling one state did to its frame.
enum Step {
    /// The frame moved on and is still runnable.
    Continue(Frame),
    /// The frame waits; it is parked.
    Park(Frame),
    /// The frame finished its branch with this output.
    Done(Frame, Value),
    /// The frame failed its branch.
    Failed(Frame, StateError),
}

impl Execution {
    /// A new execution; nothing happens until [`Event::Start`].
    pub fn new(info: ExecutionInfo, options: Options) -> Self {
        let start_time_text = Timestamp::from_millis(info.start_time).format_rfc3339();
        let rng_state = Cell::new(options.seed);
        Execution {
            info,
            start_time_text,
            options,
            input: Value::Null,
            frames: Vec::new(),
            free_frames: Vec::new(),
            variable_bytes: 0,
            runnable: VecDeque::new(),
            joins: Vec::new(),
            free_joins: Vec::new(),
            tasks: HashMap::new(),
            timers: HashMap::new(),
            next_id: 1,
            event_id: 0,
            rng_state,
            pending_token: None,
            now: 0,
            transitions: 0,
            outcome: None,
            quiet: false,
            map_runs: HashMap::new(),
            writes: HashMap::new(),
        }
    }

    /// States entered so far (what AWS bills as state transitions).
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// How the execution ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The number of history events so far.
    pub fn event_count(&self) -> i64 {
        self.event_id
    }

    /// Handles one event and returns what the engine must do.
    pub fn handle(&mut self, definition: &Definition, event: Event, env: &Env) -> Vec<Command> {
        let mut out = Vec::new();
        self.handle_into(definition, event, env, &mut out);
        out
    }

    /// Like [`Execution::handle`], appending to `out`.
    pub fn handle_into(
        &mut self,
        definition: &Definition,
        event: Event,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        if self.outcome.is_some() {
            return;
        }
        self.now = env.now;
        self.quiet = match &event {
            Event::TaskStarted { task, .. }
            | Event::TaskSucceeded { task, .. }
            | Event::TaskFailed { task, .. }
            | Event::TaskHeartbeat { task } => self.task_is_quiet(*task),
            Event::TimerFired { timer } => match self.timers.get(timer) {
                Some(TimerPurpose::Wait(frame) | TimerPurpose::Retry(frame)) => {
                    self.frame_is_quiet(*frame)
                }
                Some(TimerPurpose::TaskTimeout(task) | TimerPurpose::Heartbeat(task)) => {
                    self.task_is_quiet(*task)
                }
                _ => false,
            },
            Event::Start { .. } | Event::Stop { .. } => false,
        };
        match event {
            Event::Start { input } => self.start(definition, input, env, out),
            Event::TaskStarted { task, worker } => self.task_started(task, worker, env, out),
            Event::TaskSucceeded { task, output } => {
                if let Some(wait) = self.finish_task(task, out) {
                    if let Some(io) = wait.io {
                        self.resume(wait.frame, io.answered(Ok(output)));
                        self.run(definition, env, out);
                        return;
                    }
                    let output_text = self.options.record_history.then(|| compact(&output));
                    self.record_task_end(&wait, output_text, env, out, None);
                    self.resume(wait.frame, Resume::TaskSucceeded(output));
                }
            }
            Event::TaskFailed { task, error, cause } => {
                if let Some(wait) = self.finish_task(task, out) {
                    let error = StateError::new(error, cause);
                    if let Some(io) = wait.io {
                        self.resume(wait.frame, io.answered(Err(error)));
                        self.run(definition, env, out);
                        return;
                    }
                    self.record_task_end(&wait, None, env, out, Some(&error));
                    self.resume(wait.frame, Resume::TaskFailed(error));
                }
            }
            Event::TaskHeartbeat { task } => {
                if let Some(wait) = self.tasks.get_mut(&task)
                    && let Some((timer, seconds)) = wait.heartbeat_timer
                {
                    self.timers.remove(&timer);
                    out.push(Command::CancelTimer(timer));
                    let new_timer = TimerId(self.next_id);
                    self.next_id += 1;
                    wait.heartbeat_timer = Some((new_timer, seconds));
                    self.timers.insert(new_timer, TimerPurpose::Heartbeat(task));
                    out.push(Command::StartTimer {
                        timer: new_timer,
                        fire_at: env.now + seconds as i64 * 1000,
                    });
                }
            }
            Event::TimerFired { timer } => self.timer_fired(timer, env, out),
            Event::Stop { error, cause } => {
                let last = self.event_id;
                self.emit(out, last, HistoryEventType::ExecutionAborted, env, |e| {
                    e.execution_aborted_event_details =
                        Some(aslan_types::history::ExecutionAbortedEventDetails {
                            error: error.clone(),
                            cause: cause.clone(),
                        });
                });
                self.finish(Outcome::Aborted { error, cause }, out);
                return;
            }
        }
        self.run(definition, env, out);
    }

    fn start(&mut self, definition: &Definition, input: Value, env: &Env, out: &mut Vec<Command>) {
        let input_text = self.options.record_history.then(|| compact(&input));
        let role_arn = self.info.role_arn.clone();
        let id = self.emit(out, 0, HistoryEventType::ExecutionStarted, env, |e| {
            e.execution_started_event_details =
                Some(aslan_types::history::ExecutionStartedEventDetails {
                    input: input_text,
                    input_details: Some(history::not_truncated()),
                    role_arn: Some(role_arn),
                    ..Default::default()
                });
        });
        // Express executions may run five minutes at most, whatever the definition says.
        let limit = if self.info.express {
            Some(EXPRESS_MAX_SECONDS)
        } else {
            None
        };
        let timeout = match (definition.timeout_seconds, limit) {
            (Some(seconds), Some(limit)) => Some(seconds.min(limit)),
            (seconds, limit) => seconds.or(limit),
        };
        if let Some(seconds) = timeout {
            let timer = self.new_timer(TimerPurpose::ExecutionTimeout);
            out.push(Command::StartTimer {
                timer,
                fire_at: env.now + seconds as i64 * 1000,
            });
        }
        let bound = Bound::of(&input);
        // `$$.Execution.Input` needs the input as it was; keep a copy only if something reads it.
        if definition.reads_execution_input {
            self.input = input.clone();
        }
        let scope = definition.scope(Definition::ROOT);
        let frame = Frame {
            state: scope.start_at,
            input,
            input_bound: bound,
            phase: Phase::Enter,
            parent: None,
            variables: Variables::default(),
            last_event: id,
            entered_event: 0,
            entered_time: env.now,
            retry_attempts: Vec::new(),
            retry_count: 0,
            started: false,
            quiet: false,
        };
        let frame_id = self.alloc_frame(frame);
        self.runnable.push_back(frame_id);
    }

    fn frame_is_quiet(&self, frame: FrameId) -> bool {
        self.frames
            .get(frame)
            .and_then(Option::as_ref)
            .is_some_and(|f| f.quiet)
    }

    fn task_is_quiet(&self, task: TaskId) -> bool {
        self.tasks
            .get(&task)
            .is_some_and(|wait| self.frame_is_quiet(wait.frame))
    }

    fn run(&mut self, definition: &Definition, env: &Env, out: &mut Vec<Command>) {
        while let Some(frame_id) = self.runnable.pop_front() {
            if self.outcome.is_some() {
                self.runnable.clear();
                return;
            }
            let Some(mut frame) = self.frames.get_mut(frame_id).and_then(Option::take) else {
                continue;
            };
            self.quiet = frame.quiet;
            loop {
                match self.step(definition, frame_id, frame, env, out) {
                    Step::Continue(next) => frame = next,
                    Step::Park(parked) => {
                        self.frames[frame_id] = Some(parked);
                        break;
                    }
                    Step::Done(done, output) => {
                        self.branch_done(definition, frame_id, done, output, env, out);
                        break;
                    }
                    Step::Failed(failed, error) => {
                        self.branch_failed(definition, frame_id, failed, error, env, out);
                        break;
                    }
                }
                if self.outcome.is_some() {
                    return;
                }
            }
        }
    }

    /// Advances one frame by one state (or one half of a waiting state).
    fn step(
        &mut self,
        definition: &Definition,
        frame_id: FrameId,
        mut frame: Frame,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let state = definition.state(frame.state);
        let phase = std::mem::replace(&mut frame.phase, Phase::Waiting);
        match phase {
            Phase::Enter => {
                self.transitions += 1;
                if let Some(limit) = self.options.max_history_events
                    && self.event_id >= limit
                {
                    let error = StateError::runtime(format!(
                        "The execution reached the maximum number of history events ({limit})."
                    ));
                    return Step::Failed(
                        Frame {
                            parent: None,
                            ..frame
                        },
                        error,
                    );
                }
                if let Some(limit) = self.options.max_transitions
                    && self.transitions > limit
                {
                    let error = StateError::runtime(format!(
                        "The execution entered more than {limit} states, the limit set for this run (--max-transitions)."
                    ));
                    return Step::Failed(
                        Frame {
                            parent: None,
                            ..frame
                        },
                        error,
                    );
                }
                let input_text = self.options.record_history.then(|| compact(&frame.input));
                let name = &state.name;
                let id = self.emit(
                    out,
                    frame.last_event,
                    history::entered(&state.kind),
                    env,
                    |e| {
                        e.state_entered_event_details =
                            Some(aslan_types::history::StateEnteredEventDetails {
                                name: name.clone(),
                                input: input_text,
                                input_details: Some(history::not_truncated()),
                            });
                    },
                );
                frame.last_event = id;
                frame.entered_event = id;
                frame.entered_time = env.now;
                frame.retry_attempts.clear();
                frame.retry_count = 0;
                frame.started = false;
                self.begin(definition, frame_id, frame, state, env, out)
            }
            Phase::Retry => self.begin(definition, frame_id, frame, state, env, out),
            Phase::Resume(resume) => {
                self.resume_state(definition, frame_id, frame, state, resume, env, out)
            }
            Phase::Waiting => Step::Park(frame),
        }
    }

    /// Runs a state from its input processing.
    fn begin(
        &mut self,
        definition: &Definition,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        match &state.kind {
            StateKind::Pass(pass) => {
                let result = self.with_effective(&frame, state, |_, scope, effective_is_whole| {
                    match (&pass.parameters, &pass.result) {
                        (Some(parameters), _) => {
                            Ok(Some(eval::template(parameters, scope, "Parameters")?))
                        }
                        (None, Some(result)) => Ok(Some(result.clone())),
                        (None, None) if effective_is_whole => Ok(None),
                        (None, None) => Ok(Some(scope.input.clone())),
                    }
                });
                match result {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok(result) => {
                        let raw = std::mem::take(&mut frame.input);
                        let mut assign_source = None;
                        let (combined, bound) = match result {
                            // No InputPath, Parameters or Result: the result is the input itself.
                            None => match &pass.result_path {
                                ResultPath::Replace | ResultPath::Discard => {
                                    (Ok(raw), frame.input_bound)
                                }
                                ResultPath::Path(path) => {
                                    let copy = raw.clone();
                                    let bound = frame.input_bound.merged(
                                        frame.input_bound,
                                        path.segments_len(),
                                        path.source().len(),
                                    );
                                    (apply_result_path(raw, copy, path), bound)
                                }
                            },
                            Some(result) => {
                                // `Assign` reads the result, before `ResultPath` merges it.
                                assign_source = state.assign.as_ref().map(|_| result.clone());
                                self.merge(&frame, raw, result, &pass.result_path)
                            }
                        };
                        match combined {
                            Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                            Ok(value) => {
                                let completion = Completion {
                                    result: assign_source,
                                    ..Completion::of(value, bound)
                                };
                                self.complete(frame_id, frame, state, completion, env, out)
                            }
                        }
                    }
                }
            }
            StateKind::Choice(choice) => {
                // The matched rule's index, or usize::MAX for `Default`.
                let decided = self.with_effective(&frame, state, |_, scope, _| {
                    for (index, branch) in choice.choices.iter().enumerate() {
                        if evaluate_rule(&branch.rule, scope)? {
                            return Ok(Some((branch.next, index)));
                        }
                    }
                    Ok(choice.default.map(|next| (next, usize::MAX)))
                });
                match decided {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok(None) => {
                        let error = StateError::new(
                            "States.NoChoiceMatched",
                            format!("No Matches! at state '{}'", state.name),
                        );
                        self.fail_state(frame_id, frame, state, error, env, out)
                    }
                    Ok(Some(next)) => {
                        self.pass_through(frame_id, frame, state, Some(next), env, out)
                    }
                }
            }
            StateKind::Succeed => self.pass_through(frame_id, frame, state, None, env, out),
            StateKind::Fail(fail) => {
                let texts = self.with_effective(&frame, state, |_, scope, _| {
                    let error = fail
                        .error
                        .as_ref()
                        .map(|t| fail_text(t, scope, "ErrorPath"))
                        .transpose()?;
                    let cause = fail
                        .cause
                        .as_ref()
                        .map(|t| fail_text(t, scope, "CausePath"))
                        .transpose()?;
                    Ok((error, cause))
                });
                match texts {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok((error, cause)) => Step::Failed(
                        frame,
                        StateError::new(error.unwrap_or_default(), cause.unwrap_or_default()),
                    ),
                }
            }
            StateKind::Wait(wait) => {
                let until = self.with_effective(&frame, state, |_, scope, _| {
                    wait_until(&wait.until, scope, env.now)
                });
                match until {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok(fire_at) => {
                        let timer = self.new_timer(TimerPurpose::Wait(frame_id));
                        out.push(Command::StartTimer { timer, fire_at });
                        frame.phase = Phase::Waiting;
                        Step::Park(frame)
                    }
                }
            }
            StateKind::Task(task) => {
                // The token exists before the parameters, which may pass it on ($$.Task.Token).
                let needs_token = task.resource.pattern == IntegrationPattern::WaitForTaskToken
                    || task.resource.kind == ResourceKind::Activity;
                self.pending_token = needs_token.then(|| {
                    format!(
                        "{}:{}:{}",
                        self.info.execution_arn,
                        self.next_id,
                        self.next_random()
                    )
                });
                let prepared = self.with_effective(&frame, state, |_, scope, _| {
                    let parameters = match &task.parameters {
                        Some(template) => eval::template(template, scope, "Parameters")?,
                        None => scope.input.clone(),
                    };
                    let timeout = task
                        .timeout
                        .as_ref()
                        .map(|s| resolve_seconds(s, scope, "TimeoutSecondsPath"))
                        .transpose()?;
                    let heartbeat = task
                        .heartbeat
                        .as_ref()
                        .map(|s| resolve_seconds(s, scope, "HeartbeatSecondsPath"))
                        .transpose()?;
                    Ok((parameters, timeout, heartbeat))
                });
                if prepared.is_err() {
                    self.pending_token = None;
                }
                match prepared {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok((parameters, timeout, heartbeat)) => {
                        if let Some(limit) = self.options.max_payload_bytes
                            && json_size(&parameters) > limit
                        {
                            let error = StateError::new(
                                "States.DataLimitExceeded",
                                format!(
                                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                                    state.name
                                ),
                            );
                            self.pending_token = None;
                            return self.fail_state(frame_id, frame, state, error, env, out);
                        }
                        self.schedule_task(
                            frame_id, &mut frame, state, task, parameters, timeout, heartbeat, env,
                            out,
                        );
                        frame.phase = Phase::Waiting;
                        Step::Park(frame)
                    }
                }
            }
            StateKind::Parallel(parallel) => {
                let prepared =
                    self.with_effective(&frame, state, |_, scope, _| match &parallel.parameters {
                        Some(template) => eval::template(template, scope, "Parameters"),
                        None => Ok(scope.input.clone()),
                    });
                match prepared {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok(branch_input) => {
                        let id = self.emit(
                            out,
                            frame.last_event,
                            HistoryEventType::ParallelStateStarted,
                            env,
                            |_| {},
                        );
                        frame.last_event = id;
                        frame.started = true;
                        let items: Vec<(usize, Value)> = parallel
                            .branches
                            .iter()
                            .enumerate()
                            .map(|(i, _)| (i, branch_input.clone()))
                            .collect();
                        let scopes: Vec<ScopeId> = parallel.branches.clone();
                        self.spawn_children(
                            definition,
                            frame_id,
                            &mut frame,
                            items,
                            Some(scopes),
                            Definition::ROOT,
                            0,
                            None,
                            None,
                            env,
                            out,
                        );
                        Step::Park(frame)
                    }
                }
            }
            StateKind::Map(map) => {
                let prepared = self.with_effective(&frame, state, |this, scope, _| {
                    this.prepare_map(map, scope, &frame, state)
                });
                match prepared {
                    Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
                    Ok((items, max_concurrency)) => {
                        let id = self.emit(
                            out,
                            frame.last_event,
                            HistoryEventType::MapStateStarted,
                            env,
                            |e| {
                                e.map_state_started_event_details =
                                    Some(aslan_types::history::MapStateStartedEventDetails {
                                        length: items.as_ref().map(|items| items.len() as i32),
                                    });
                            },
                        );
                        frame.last_event = id;
                        frame.started = true;
                        if map.mode == MapMode::Inline {
                            let items = items.unwrap_or_default();
                            let items: Vec<(usize, Value)> =
                                items.into_iter().enumerate().collect();
                            self.spawn_children(
                                definition,
                                frame_id,
                                &mut frame,
                                items,
                                None,
                                map.processor,
                                max_concurrency,
                                Some(state.name.clone()),
                                None,
                                env,
                                out,
                            );
                            return Step::Park(frame);
                        }
                        // The run's settings are read once it starts; a bad one fails the
                        // execution before any MapRun event (AWS records no MapStateFailed).
                        if let Err(error) = self.with_effective(&frame, state, |_, scope, _| {
                            map_run_tolerance(map, scope)
                        }) {
                            frame.started = false;
                            return self.fail_state(frame_id, frame, state, error, env, out);
                        }
                        let arn = self.map_run_arn(map.label.as_deref().unwrap_or(&state.name));
                        let id = self.emit(
                            out,
                            frame.last_event,
                            HistoryEventType::MapRunStarted,
                            env,
                            |e| {
                                e.map_run_started_event_details =
                                    Some(aslan_types::history::MapRunStartedEventDetails {
                                        map_run_arn: Some(arn.clone()),
                                    });
                            },
                        );
                        frame.last_event = id;
                        let report = aslan_types::MapRun {
                            state_machine_arn: arn
                                .rsplit_once(':')
                                .map(|(head, _)| head.replacen(":mapRun:", ":stateMachine:", 1))
                                .unwrap_or_default(),
                            map_run_arn: arn,
                            execution_arn: self.info.execution_arn.clone(),
                            status: "RUNNING".into(),
                            start_ms: env.now,
                            ..Default::default()
                        };
                        self.map_runs.insert(frame_id, report);
                        match items {
                            Some(items) => self.start_map_run(
                                definition, frame_id, frame, state, map, items, env, out,
                            ),
                            None => self.read_items(frame_id, frame, state, map, env, out),
                        }
                    }
                }
            }
        }
    }

    /// Starts a Distributed Map's child executions over `items` (already selected and batched).
    #[allow(clippy::too_many_arguments)]
    fn start_map_run(
        &mut self,
        definition: &Definition,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        map: &aslan_asl::definition::Map,
        items: Vec<Value>,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let settings = self.with_effective(&frame, state, |_, scope, _| {
            Ok((map_run_tolerance(map, scope)?, map_concurrency(map, scope)?))
        });
        let ((tolerated_count, tolerated_percentage), max_concurrency) = match settings {
            Ok(settings) => settings,
            Err(error) => return self.fail_state(frame_id, frame, state, error, env, out),
        };
        if let Some(report) = self.map_runs.get_mut(&frame_id) {
            report.max_concurrency = max_concurrency as u64;
            report.tolerated_failure_count = tolerated_count.unwrap_or(0);
            report.tolerated_failure_percentage = tolerated_percentage.unwrap_or(0.0);
            report.total = items.len() as u64;
            report.pending = items.len() as u64;
            out.push(Command::MapRun(Box::new(report.clone())));
        }
        let map_run = MapRun {
            arn: self
                .map_runs
                .get(&frame_id)
                .map(|report| report.map_run_arn.clone())
                .unwrap_or_default(),
            records: map.result_writer.as_ref().map(|_| {
                items
                    .iter()
                    .map(|input| ChildRecord {
                        input: input.clone(),
                        start: env.now,
                        stop: env.now,
                        failed: false,
                    })
                    .collect()
            }),
            tolerated_count,
            tolerated_percentage,
            failed: 0,
            total: items.len(),
        };
        if items.is_empty() {
            frame.phase = Phase::Resume(Resume::MapRunDone(Vec::new(), map_run));
            self.runnable.push_back(frame_id);
            return Step::Park(frame);
        }
        let items: Vec<(usize, Value)> = items.into_iter().enumerate().collect();
        self.spawn_children(
            definition,
            frame_id,
            &mut frame,
            items,
            None,
            map.processor,
            max_concurrency,
            None,
            Some(map_run),
            env,
            out,
        );
        Step::Park(frame)
    }

    /// Schedules an `ItemReader` or `ResultWriter` call of a Map's frame: a task with no
    /// history of its own, whose answer resumes the frame.
    fn schedule_map_io(
        &mut self,
        frame_id: FrameId,
        state: &State,
        io: MapIo,
        resource: &aslan_asl::definition::Resource,
        parameters: Value,
        out: &mut Vec<Command>,
    ) {
        let id = TaskId(self.next_id);
        self.next_id += 1;
        self.tasks.insert(
            id,
            TaskWait {
                frame: frame_id,
                io: Some(io),
                timeout_timer: None,
                heartbeat_timer: None,
                started: false,
                resource_type: String::new(),
                resource: String::new(),
            },
        );
        out.push(Command::ScheduleTask(Box::new(TaskRequest {
            id,
            execution_arn: self.info.execution_arn.clone(),
            state_name: state.name.clone(),
            resource: resource.clone(),
            parameters,
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
            retry_count: 0,
        })));
    }

    /// Calls a Distributed Map's `ItemReader` (a task with no history of its own); the answer
    /// comes back as `Resume::ItemsRead`.
    fn read_items(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        map: &aslan_asl::definition::Map,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let Some(reader) = &map.item_reader else {
            return Step::Failed(frame, StateError::runtime("Internal error: no ItemReader"));
        };
        let parameters = match &reader.parameters {
            None => Ok(Value::Object(JsonMap::new())),
            Some(template) => self.with_effective(&frame, state, |_, scope, _| {
                eval::template(template, scope, "ItemReader")
            }),
        };
        let parameters = match parameters {
            Ok(parameters) => parameters,
            Err(error) => {
                return self.map_run_failed(
                    frame_id,
                    frame,
                    state,
                    "States.ItemReaderFailed",
                    error,
                    env,
                    out,
                );
            }
        };
        self.schedule_map_io(
            frame_id,
            state,
            MapIo::Read,
            &reader.resource,
            parameters,
            out,
        );
        frame.phase = Phase::Waiting;
        Step::Park(frame)
    }

    /// The Map Run ended well: `MapRunSucceeded`, then the Map state succeeds with `result`.
    #[allow(clippy::too_many_arguments)]
    fn map_run_succeeded(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        map: &aslan_asl::definition::Map,
        result: Vec<Value>,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let written = self.writes.contains_key(&frame_id);
        self.end_map_run(frame_id, "SUCCEEDED", written, env, out);
        frame.last_event = self.emit(
            out,
            frame.last_event,
            HistoryEventType::MapRunSucceeded,
            env,
            |_| {},
        );
        let result = match self.writes.remove(&frame_id) {
            Some(pending) => pending.output,
            None => Value::Array(result),
        };
        self.map_succeeded(frame_id, frame, state, map, result, env, out)
    }

    /// `MapStateSucceeded`, then the Map's result goes through `ResultSelector`/`ResultPath`.
    #[allow(clippy::too_many_arguments)]
    fn map_succeeded(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        map: &aslan_asl::definition::Map,
        result: Value,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        frame.last_event = self.emit(
            out,
            frame.last_event,
            HistoryEventType::MapStateSucceeded,
            env,
            |_| {},
        );
        self.finish_with_result(
            frame_id,
            frame,
            state,
            result,
            map.result_selector.as_ref(),
            &map.result_path,
            env,
            out,
        )
    }

    /// Writes the next of a `ResultWriter`'s objects (a task with no history of its own), or,
    /// when all are written, ends the Map Run.
    fn write_next(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        writer: &aslan_asl::definition::ResultWriter,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let next = self
            .writes
            .get_mut(&frame_id)
            .and_then(|pending| pending.files.pop_front());
        let Some((key, body)) = next else {
            let StateKind::Map(map) = &state.kind else {
                return Step::Failed(frame, StateError::runtime("Internal error: not a Map"));
            };
            return self.map_run_succeeded(frame_id, frame, state, map, Vec::new(), env, out);
        };
        let bucket = self
            .writes
            .get(&frame_id)
            .and_then(|pending| {
                pending
                    .output
                    .pointer("/ResultWriterDetails/Bucket")
                    .cloned()
            })
            .unwrap_or(Value::Null);
        let parameters = json!({"Bucket": bucket, "Key": key, "Body": body});
        self.schedule_map_io(
            frame_id,
            state,
            MapIo::Write,
            &writer.resource,
            parameters,
            out,
        );
        frame.phase = Phase::Waiting;
        Step::Park(frame)
    }

    /// The objects a `ResultWriter` writes for a finished Map Run, as AWS lays them out under
    /// `Prefix/<map run id>/`: `SUCCEEDED_0.json` and `FAILED_0.json` (each child execution's
    /// record; JSON Lines with `OutputType: JSONL`), then `manifest.json`; and the Map's result,
    /// `{MapRunArn, ResultWriterDetails: {Bucket, Key}}`.
    fn result_files(
        &self,
        writer: &aslan_asl::definition::ResultWriter,
        parameters: &Value,
        results: &[Value],
        run: &MapRun,
    ) -> (Vec<(String, String)>, Value) {
        let bucket = parameters.get("Bucket").cloned().unwrap_or(Value::Null);
        let prefix = parameters
            .get("Prefix")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end_matches('/');
        let run_id = run.arn.rsplit(':').next().unwrap_or_default();
        let folder = if prefix.is_empty() {
            run_id.to_owned()
        } else {
            format!("{prefix}/{run_id}")
        };
        // The children as AWS names them: a state machine and executions under the Map Run.
        let machine_arn = run
            .arn
            .rsplit_once(':')
            .map(|(head, _)| head.replacen(":mapRun:", ":stateMachine:", 1))
            .unwrap_or_default();
        let execution_prefix = machine_arn.replacen(":stateMachine:", ":execution:", 1);
        let jsonl = writer.output_type.as_deref() == Some("JSONL");
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        let records = run.records.as_deref().unwrap_or_default();
        for (slot, record) in records.iter().enumerate() {
            let name = aslan_asl::intrinsics::uuid_v4(self.next_random(), self.next_random());
            let result = results.get(slot).cloned().unwrap_or(Value::Null);
            let mut entry = JsonMap::new();
            entry.insert(
                "ExecutionArn".into(),
                json!(format!("{execution_prefix}:{name}")),
            );
            entry.insert("Input".into(), json!(compact(&record.input)));
            entry.insert("InputDetails".into(), json!({"Included": true}));
            entry.insert("Name".into(), json!(name));
            entry.insert("RedriveCount".into(), json!(0));
            entry.insert(
                "StartDate".into(),
                json!(Timestamp::from_millis(record.start).format_rfc3339()),
            );
            entry.insert("StateMachineArn".into(), json!(machine_arn));
            entry.insert(
                "StopDate".into(),
                json!(Timestamp::from_millis(record.stop).format_rfc3339()),
            );
            if record.failed {
                entry.insert(
                    "Error".into(),
                    result.get("Error").cloned().unwrap_or(Value::Null),
                );
                entry.insert(
                    "Cause".into(),
                    result.get("Cause").cloned().unwrap_or(Value::Null),
                );
                entry.insert("RedriveStatus".into(), json!("REDRIVABLE"));
                entry.insert("Status".into(), json!("FAILED"));
                failed.push(Value::Object(entry));
            } else {
                entry.insert("Output".into(), json!(compact(&result)));
                entry.insert("OutputDetails".into(), json!({"Included": true}));
                entry.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
                entry.insert(
                    "RedriveStatusReason".into(),
                    json!("Execution is SUCCEEDED and cannot be redriven"),
                );
                entry.insert("Status".into(), json!("SUCCEEDED"));
                succeeded.push(Value::Object(entry));
            }
        }
        let text = |entries: &[Value]| {
            if jsonl {
                entries
                    .iter()
                    .map(|e| compact(e) + "\n")
                    .collect::<String>()
            } else {
                compact(&Value::Array(entries.to_vec()))
            }
        };
        let extension = if jsonl { "jsonl" } else { "json" };
        let mut files = Vec::new();
        let mut listed = JsonMap::new();
        for (status, entries) in [("FAILED", &failed), ("SUCCEEDED", &succeeded)] {
            let mut keys = Vec::new();
            if !entries.is_empty() {
                let key = format!("{folder}/{status}_0.{extension}");
                let body = text(entries);
                keys.push(json!({"Key": key, "Size": body.len()}));
                files.push((key, body));
            }
            listed.insert(status.into(), Value::Array(keys));
        }
        listed.insert("PENDING".into(), json!([]));
        let manifest_key = format!("{folder}/manifest.json");
        let manifest = json!({
            "DestinationBucket": bucket,
            "MapRunArn": run.arn,
            "ResultFiles": listed,
        });
        files.push((manifest_key.clone(), compact(&manifest)));
        let output = json!({
            "MapRunArn": run.arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
        });
        (files, output)
    }

    /// The Map Run failed outside its children (its items could not be read, or its results
    /// not written): `MapRunFailed`, then the state fails with `error_name`.
    #[allow(clippy::too_many_arguments)]
    fn map_run_failed(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        error_name: &str,
        error: StateError,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        self.end_map_run(frame_id, "FAILED", false, env, out);
        self.writes.remove(&frame_id);
        let error = StateError::new(error_name, error.cause);
        let id = self.emit(
            out,
            frame.last_event,
            HistoryEventType::MapRunFailed,
            env,
            |e| {
                e.map_run_failed_event_details =
                    Some(aslan_types::history::MapRunFailedEventDetails {
                        error: Some(error.error.clone()),
                        cause: Some(error.cause.clone()),
                    });
            },
        );
        frame.last_event = id;
        self.fail_state_with(frame_id, frame, state, error, false, env, out)
    }

    /// Finishes a state whose output is its effective input (Choice, Wait, Succeed).
    #[allow(clippy::too_many_arguments)]
    fn pass_through(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        choice: Option<(StateId, usize)>,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let raw = std::mem::take(&mut frame.input);
        let value = match &state.input_path {
            OptionalPath::Whole => Ok(raw),
            _ => self
                .effective_input(&frame, &raw, state)
                .map(Cow::into_owned),
        };
        match value {
            Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
            Ok(value) => {
                let bound = frame.input_bound;
                let completion = Completion {
                    next: choice.map(|(next, _)| next),
                    branch: choice
                        .map(|(_, branch)| branch)
                        .filter(|&b| b != usize::MAX),
                    ..Completion::of(value, bound)
                };
                self.complete(frame_id, frame, state, completion, env, out)
            }
        }
    }

    /// Evaluates `f` with the state's effective input (after `InputPath`) and its context.
    fn with_effective<T>(
        &self,
        frame: &Frame,
        state: &State,
        f: impl FnOnce(&Self, &Scope<'_>, bool) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let effective = self.effective_input(frame, &frame.input, state)?;
        let is_whole = matches!(state.input_path, OptionalPath::Whole);
        // What is known of the frame's input holds for the effective input when it is whole.
        let bound = is_whole.then_some(frame.input_bound);
        self.with_scope_full(frame, state, &effective, None, None, bound, |scope| {
            f(self, scope, is_whole)
        })
    }

    /// Reads an `InputPath`/`OutputPath`, borrowing from `input` when it can.
    fn select_path<'v>(
        &self,
        path: &JsonPath,
        input: &'v Value,
        frame: &Frame,
        state: &State,
    ) -> Result<Cow<'v, Value>, String> {
        match path.root() {
            aslan_asl::jsonpath::PathRoot::Input if path.is_definite() => path
                .select_ref(input)
                .map(Cow::Borrowed)
                .map_err(|e| e.message),
            _ => self
                .with_scope(frame, state, input, |scope| Ok(scope.select(path)))
                .unwrap_or_else(|e| Err(e.cause))
                .map(Cow::Owned),
        }
    }

    /// Evaluates `f` over `input` with the frame's context and variables.
    fn with_scope<T>(
        &self,
        frame: &Frame,
        state: &State,
        input: &Value,
        f: impl FnOnce(&Scope<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        self.with_scope_full(frame, state, input, None, None, None, f)
    }

    /// Evaluates `f` with `$states.result` and `$states.errorOutput` bound too.
    /// `input_bound`: what is known of `input`, when it is the frame's input.
    #[allow(clippy::too_many_arguments)]
    fn with_scope_full<T>(
        &self,
        frame: &Frame,
        state: &State,
        input: &Value,
        result: Option<&Value>,
        error_output: Option<&Value>,
        input_bound: Option<Bound>,
        f: impl FnOnce(&Scope<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let context = Context {
            execution_id: &self.info.execution_arn,
            execution_name: &self.info.execution_name,
            execution_input: &self.input,
            role_arn: &self.info.role_arn,
            start_time: &self.start_time_text,
            redrive_count: (!self.info.express).then_some(self.info.redrive_count),
            state_machine_id: &self.info.state_machine_arn,
            state_machine_name: &self.info.state_machine_name,
            state_name: &state.name,
            entered_time: frame.entered_time,
            retry_count: frame.retry_count,
            is_task: matches!(state.kind, StateKind::Task(_)),
            task_token: self.pending_token.as_deref(),
            map_item: None,
        };
        let scope = Scope {
            input,
            context: &context,
            variables: &frame.variables,
            random: &self.rng_state,
            now: self.now,
            states_input: None,
            result,
            error_output,
            input_bound,
        };
        f(&scope)
    }

    fn effective_input<'v>(
        &self,
        frame: &Frame,
        raw: &'v Value,
        state: &State,
    ) -> Result<Cow<'v, Value>, StateError> {
        match &state.input_path {
            OptionalPath::Whole => Ok(Cow::Borrowed(raw)),
            OptionalPath::Discard => Ok(Cow::Owned(Value::Object(JsonMap::new()))),
            OptionalPath::Path(path) => self.select_path(path, raw, frame, state).map_err(|_| {
                StateError::runtime(format!(
                    "Invalid path '{}' : No results for path: {}",
                    path.source(),
                    path.normalized()
                ))
            }),
        }
    }

    /// Merges a result into the raw input by `ResultPath`, tracking the size bound.
    fn merge(
        &self,
        frame: &Frame,
        raw: Value,
        result: Value,
        result_path: &ResultPath,
    ) -> (Result<Value, StateError>, Bound) {
        let result_bound = Bound::of(&result);
        match result_path {
            ResultPath::Replace => (Ok(result), result_bound),
            ResultPath::Discard => (Ok(raw), frame.input_bound),
            ResultPath::Path(path) => (
                apply_result_path(raw, result, path),
                frame
                    .input_bound
                    .merged(result_bound, path.segments_len(), path.source().len()),
            ),
        }
    }

    /// Finishes a state: its output (`OutputPath`, or JSONata's `Output`), the size limit,
    /// `Assign`, `...StateExited`, then the transition. `Output` and `Assign` both read the
    /// variables as they were before the state.
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        completion: Completion,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let Completion {
            value,
            bound,
            next,
            branch,
            result,
        } = completion;
        let (output_template, assign_template) = match (branch, &state.kind) {
            (Some(index), StateKind::Choice(choice)) => match choice.choices.get(index) {
                Some(rule) => (
                    rule.output.as_ref().or(state.output.as_ref()),
                    rule.assign.as_ref().or(state.assign.as_ref()),
                ),
                None => (state.output.as_ref(), state.assign.as_ref()),
            },
            _ => (state.output.as_ref(), state.assign.as_ref()),
        };
        let (output, mut bound, assigned) = if state.query_language == QueryLanguage::Jsonata {
            let evaluated = self.with_scope_full(
                &frame,
                state,
                &value,
                result.as_ref(),
                None,
                Some(bound),
                |scope| {
                    // An `Output` of `$merge([$states.input, {...}])` extends the input, which
                    // this frame owns, once `Assign` has read it, instead of copying it.
                    let merge = match output_template {
                        Some(Template::Expression(expression)) => {
                            eval::input_merge(expression, scope, "Output", bound.normalised)?
                        }
                        _ => None,
                    };
                    let output = match merge {
                        Some(merge) => Some(JsonataOutput::Merge(merge)),
                        None => output_template
                            .map(|t| eval::output(t, scope))
                            .transpose()?
                            .map(JsonataOutput::Pending),
                    };
                    let assigned = assign_template
                        .map(|t| eval::template(t, scope, "Assign"))
                        .transpose()?;
                    Ok((output, assigned))
                },
            );
            match evaluated {
                Err(error) => {
                    return self.fail_state(frame_id, frame, state, error, env, out);
                }
                Ok((Some(JsonataOutput::Pending(pending)), assigned)) => {
                    let mut bound = pending.bound;
                    bound.normalised = pending.normalised;
                    (pending.finish(value, result), bound, assigned)
                }
                Ok((Some(JsonataOutput::Merge(merge)), assigned)) => {
                    let mut bound = bound.with_members(merge.members());
                    bound.normalised = true;
                    (merge.apply(value), bound, assigned)
                }
                Ok((None, assigned)) => match result {
                    Some(result) => {
                        let bound = Bound::of(&result);
                        (result, bound, assigned)
                    }
                    None => (value, bound, assigned),
                },
            }
        } else {
            let assigned = match assign_template {
                None => None,
                Some(template) => {
                    let source = result.as_ref().unwrap_or(&value);
                    match self.with_scope(&frame, state, source, |scope| {
                        eval::template(template, scope, "Assign")
                    }) {
                        Ok(values) => Some(values),
                        Err(error) => {
                            return self.fail_state(frame_id, frame, state, error, env, out);
                        }
                    }
                }
            };
            let output = match &state.output_path {
                OptionalPath::Whole => value,
                OptionalPath::Discard => Value::Object(JsonMap::new()),
                OptionalPath::Path(path) => match self.select_path(path, &value, &frame, state) {
                    Ok(v) => v.into_owned(),
                    Err(_) => {
                        let error = StateError::runtime(format!(
                            "Invalid path '{}' : No results for path: {}",
                            path.source(),
                            path.normalized()
                        ));
                        return self.fail_state(frame_id, frame, state, error, env, out);
                    }
                },
            };
            (output, bound, assigned)
        };
        match self.check_limits(&output, bound, state) {
            Ok(exact) => bound = exact,
            Err(error) => {
                return self.fail_state(frame_id, frame, state, error, env, out);
            }
        }
        let assigned = match self.apply_assigned(&mut frame, assigned) {
            Ok(assigned) => assigned,
            Err(error) => {
                return self.fail_state(frame_id, frame, state, error, env, out);
            }
        };
        self.record_exited(&mut frame, state, &output, assigned, env, out);
        let next = match (&state.kind, next) {
            (_, Some(next)) => Transition::Next(next),
            (StateKind::Succeed, _) => Transition::End,
            _ => state.transition,
        };
        match next {
            Transition::Next(next) => {
                frame.state = next;
                frame.input = output;
                frame.input_bound = bound;
                frame.phase = Phase::Enter;
                Step::Continue(frame)
            }
            Transition::End => Step::Done(frame, output),
        }
    }

    /// Checks a state's output against the payload limit and the nesting limit, measuring it
    /// only when its bound says a limit might be passed. Returns the tightened bound.
    fn check_limits(
        &self,
        output: &Value,
        bound: Bound,
        state: &State,
    ) -> Result<Bound, StateError> {
        let over_size = self
            .options
            .max_payload_bytes
            .is_some_and(|limit| bound.size > limit);
        if !over_size && bound.depth <= MAX_DEPTH {
            return Ok(bound);
        }
        let exact = Bound {
            normalised: bound.normalised,
            ..Bound::of(output)
        };
        if self
            .options
            .max_payload_bytes
            .is_some_and(|limit| exact.size > limit)
        {
            return Err(StateError::new(
                "States.DataLimitExceeded",
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            ));
        }
        if exact.depth > MAX_DEPTH {
            return Err(StateError::runtime(format!(
                "The state/task '{}' returned a result nested more than {MAX_DEPTH} levels deep",
                state.name
            )));
        }
        Ok(exact)
    }

    /// Sets the variables an `Assign` produced; returns them as AWS's `assignedVariables`
    /// (name → JSON text) when history is recorded.
    ///
    /// AWS limits a variable to 256 KiB, all the values of one `Assign` to 256 KiB, and all the
    /// variables of an execution to 10 MiB; an `Assign` that would pass a limit assigns
    /// nothing and fails the state.
    fn apply_assigned(
        &mut self,
        frame: &mut Frame,
        assigned: Option<Value>,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, StateError> {
        let Some(Value::Object(map)) = assigned else {
            return Ok(None);
        };
        let mut sizes = Vec::with_capacity(map.len());
        let mut assign_bytes = 0usize;
        let mut replaced_bytes = 0usize;
        for (name, value) in &map {
            let size = Bound::of(value).size;
            if size > MAX_VARIABLE_BYTES {
                return Err(StateError::new(
                    VARIABLE_LIMIT_ERROR,
                    format!(
                        "The value assigned to the variable '{name}' is {size} bytes, more than the {MAX_VARIABLE_BYTES} bytes a variable may hold."
                    ),
                ));
            }
            assign_bytes += size;
            if assign_bytes > MAX_VARIABLE_BYTES {
                return Err(StateError::new(
                    VARIABLE_LIMIT_ERROR,
                    format!(
                        "The values of the Assign total more than the {MAX_VARIABLE_BYTES} bytes one Assign may hold (at the variable '{name}')."
                    ),
                ));
            }
            replaced_bytes += frame.variables.own_size(name);
            sizes.push(size);
        }
        // A variable assigned again frees its old value.
        let execution_bytes = self.variable_bytes.saturating_sub(replaced_bytes) + assign_bytes;
        if execution_bytes > MAX_EXECUTION_VARIABLE_BYTES {
            return Err(StateError::new(
                VARIABLE_LIMIT_ERROR,
                format!(
                    "The variables of the execution would total {execution_bytes} bytes, more than the {MAX_EXECUTION_VARIABLE_BYTES} bytes an execution may hold."
                ),
            ));
        }
        self.variable_bytes = execution_bytes;
        let mut recorded = self
            .options
            .record_history
            .then(std::collections::BTreeMap::new);
        for ((name, value), size) in map.into_iter().zip(sizes) {
            if let Some(recorded) = recorded.as_mut() {
                recorded.insert(name.clone(), compact(&value));
            }
            frame.variables.set(name, value, size);
        }
        Ok(recorded)
    }

    /// Records `...StateExited` (Fail states have none).
    fn record_exited(
        &mut self,
        frame: &mut Frame,
        state: &State,
        output: &Value,
        assigned: Option<std::collections::BTreeMap<String, String>>,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        let Some(exited) = history::exited(&state.kind) else {
            return;
        };
        let output_text = self.options.record_history.then(|| compact(output));
        let id = self.emit(out, frame.last_event, exited, env, |e| {
            e.state_exited_event_details = Some(aslan_types::history::StateExitedEventDetails {
                name: state.name.clone(),
                output: output_text,
                output_details: Some(history::not_truncated()),
                assigned_variables_details: assigned
                    .is_some()
                    .then(aslan_types::history::AssignedVariablesDetails::not_truncated),
                assigned_variables: assigned,
            });
        });
        frame.last_event = id;
    }

    /// A state failed: retry, catch, or fail the frame.
    // The step context (env, output) travels with every state handler.
    #[allow(clippy::too_many_arguments)]
    fn fail_state(
        &mut self,
        frame_id: FrameId,
        frame: Frame,
        state: &State,
        error: StateError,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        self.fail_state_with(frame_id, frame, state, error, true, env, out)
    }

    /// Fails a state; `own` says the error arose in this state (not in a task's work or a
    /// child branch), which is when a failed JSONata expression is recorded as EvaluationFailed.
    #[allow(clippy::too_many_arguments)]
    fn fail_state_with(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        error: StateError,
        own: bool,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let error = error.located(&state.name, frame.entered_event);
        // A JSONata expression that fails is recorded as an EvaluationFailed event first.
        let evaluation_failed = own && error.error == "States.QueryEvaluationError";
        if evaluation_failed {
            let location = error
                .cause
                .split("for the field '")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .map(str::to_owned);
            let (error_name, cause) = (error.error.clone(), error.cause.clone());
            let id = self.emit(
                out,
                frame.last_event,
                HistoryEventType::EvaluationFailed,
                env,
                |e| {
                    e.evaluation_failed_event_details =
                        Some(aslan_types::history::EvaluationFailedEventDetails {
                            error: Some(error_name),
                            cause: Some(cause),
                            location,
                            state: state.name.clone(),
                        });
                },
            );
            frame.last_event = id;
        }
        let (retry, catch, failed_event) = match &state.kind {
            StateKind::Task(task) => (&task.retry[..], &task.catch[..], None),
            StateKind::Parallel(p) => (
                &p.retry[..],
                &p.catch[..],
                Some(HistoryEventType::ParallelStateFailed),
            ),
            StateKind::Map(m) => (
                &m.retry[..],
                &m.catch[..],
                Some(HistoryEventType::MapStateFailed),
            ),
            _ => (&[][..], &[][..], None),
        };
        if (!error.is_terminal()
            || retry
                .iter()
                .any(|r| r.errors.names.iter().any(|n| n == &error.error)))
            && let Some((index, retrier)) = retry
                .iter()
                .enumerate()
                .find(|(_, r)| r.errors.matches(&error.error))
        {
            if frame.retry_attempts.len() < retry.len() {
                frame.retry_attempts.resize(retry.len(), 0);
            }
            let attempts = frame.retry_attempts[index];
            if attempts < retrier.max_attempts {
                let mut delay =
                    retrier.interval_seconds as f64 * retrier.backoff_rate.powi(attempts as i32);
                if let Some(max) = retrier.max_delay_seconds {
                    delay = delay.min(max as f64);
                }
                if retrier.jitter_full {
                    let fraction = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
                    delay *= fraction;
                }
                frame.retry_attempts[index] = attempts + 1;
                frame.retry_count += 1;
                let timer = self.new_timer(TimerPurpose::Retry(frame_id));
                out.push(Command::StartTimer {
                    timer,
                    fire_at: env.now + (delay * 1000.0).round() as i64,
                });
                frame.phase = Phase::Waiting;
                return Step::Park(frame);
            }
        }
        if (!error.is_terminal()
            || catch
                .iter()
                .any(|c| c.errors.names.iter().any(|n| n == &error.error)))
            && let Some(catcher) = catch.iter().find(|c| c.errors.matches(&error.error))
        {
            if let Some(event) = failed_event.filter(|_| frame.started || evaluation_failed) {
                let id = self.emit(out, frame.last_event, event, env, |_| {});
                frame.last_event = id;
            }
            let mut error_output = JsonMap::new();
            error_output.insert("Error".into(), Value::String(error.error.clone()));
            error_output.insert("Cause".into(), Value::String(error.cause.clone()));
            let error_output = Value::Object(error_output);
            let raw = std::mem::take(&mut frame.input);
            // A catcher's `Output` (JSONata) or `ResultPath` (JSONPath) makes the output; its
            // `Assign` reads the error output, with the variables as they were.
            let evaluated = if state.query_language == QueryLanguage::Jsonata {
                self.with_scope_full(
                    &frame,
                    state,
                    &raw,
                    None,
                    Some(&error_output),
                    None,
                    |scope| {
                        let output = catcher
                            .output
                            .as_ref()
                            .map(|t| eval::template(t, scope, "Output"))
                            .transpose()?;
                        let assigned = catcher
                            .assign
                            .as_ref()
                            .map(|t| eval::template(t, scope, "Assign"))
                            .transpose()?;
                        Ok((output, assigned))
                    },
                )
                .map(|(output, assigned)| {
                    let output = output.unwrap_or_else(|| error_output.clone());
                    let bound = Bound::of(&output);
                    (output, bound, assigned)
                })
            } else {
                let assigned = catcher
                    .assign
                    .as_ref()
                    .map(|t| {
                        self.with_scope(&frame, state, &error_output, |scope| {
                            eval::template(t, scope, "Assign")
                        })
                    })
                    .transpose();
                assigned.and_then(|assigned| {
                    let (combined, bound) =
                        self.merge(&frame, raw, error_output.clone(), &catcher.result_path);
                    combined.map(|value| (value, bound, assigned))
                })
            };
            // The caught error's output obeys the same limits as any state's output.
            let (value, bound, assigned) = match evaluated.and_then(|(value, bound, assigned)| {
                self.check_limits(&value, bound, state)
                    .map(|bound| (value, bound, assigned))
            }) {
                Ok(done) => done,
                Err(e) => {
                    let e = e.located(&state.name, frame.entered_event);
                    return Step::Failed(frame, e);
                }
            };
            let assigned = match self.apply_assigned(&mut frame, assigned) {
                Ok(assigned) => assigned,
                Err(error) => return Step::Failed(frame, error),
            };
            self.record_exited(&mut frame, state, &value, assigned, env, out);
            frame.state = catcher.next;
            frame.input = value;
            frame.input_bound = bound;
            frame.phase = Phase::Enter;
            return Step::Continue(frame);
        }
        if let Some(event) = failed_event.filter(|_| frame.started || evaluation_failed) {
            let id = self.emit(out, frame.last_event, event, env, |_| {});
            frame.last_event = id;
        }
        // A Task whose failure ends a Parallel branch is recorded as aborted (AWS records
        // TaskFailed, then TaskStateAborted, then the Parallel's failure).
        let in_parallel_branch = frame
            .parent
            .and_then(|(join, _)| self.joins[join].as_ref())
            .is_some_and(|join| join.map_name.is_none());
        if matches!(state.kind, StateKind::Task(_)) && in_parallel_branch {
            let id = self.emit(
                out,
                frame.last_event,
                HistoryEventType::TaskStateAborted,
                env,
                |_| {},
            );
            frame.last_event = id;
        }
        Step::Failed(frame, error)
    }

    // The step context (env, output) travels with every state handler.
    #[allow(clippy::too_many_arguments)]
    fn resume_state(
        &mut self,
        definition: &Definition,
        frame_id: FrameId,
        frame: Frame,
        state: &State,
        resume: Resume,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        match (resume, &state.kind) {
            (Resume::WaitOver, _) => self.pass_through(frame_id, frame, state, None, env, out),
            (Resume::TaskSucceeded(result), StateKind::Task(task)) => self.finish_with_result(
                frame_id,
                frame,
                state,
                result,
                task.result_selector.as_ref(),
                &task.result_path,
                env,
                out,
            ),
            (Resume::Children(results), StateKind::Parallel(parallel)) => {
                // AWS records no ParallelStateSucceeded: the results go to ParallelStateExited.
                self.finish_with_result(
                    frame_id,
                    frame,
                    state,
                    Value::Array(results),
                    parallel.result_selector.as_ref(),
                    &parallel.result_path,
                    env,
                    out,
                )
            }
            (Resume::Children(results), StateKind::Map(map)) => {
                self.map_succeeded(frame_id, frame, state, map, Value::Array(results), env, out)
            }
            (Resume::MapRunDone(results, run), StateKind::Map(map)) => match &map.result_writer {
                None => self.map_run_succeeded(frame_id, frame, state, map, results, env, out),
                Some(writer) => {
                    let files = self.with_effective(&frame, state, |this, scope, _| {
                        let parameters = match &writer.parameters {
                            Some(template) => eval::template(template, scope, "ResultWriter")?,
                            None => Value::Object(JsonMap::new()),
                        };
                        Ok(this.result_files(writer, &parameters, &results, &run))
                    });
                    match files {
                        Ok((files, output)) => {
                            self.writes.insert(
                                frame_id,
                                PendingWrites {
                                    files: files.into(),
                                    output,
                                },
                            );
                            self.write_next(frame_id, frame, state, writer, env, out)
                        }
                        Err(error) => self.map_run_failed(
                            frame_id,
                            frame,
                            state,
                            "States.ResultWriterFailed",
                            error,
                            env,
                            out,
                        ),
                    }
                }
            },
            (Resume::Written(written), StateKind::Map(map)) => {
                match (written, &map.result_writer) {
                    (Ok(_), Some(writer)) => {
                        self.write_next(frame_id, frame, state, writer, env, out)
                    }
                    (Err(error), _) => self.map_run_failed(
                        frame_id,
                        frame,
                        state,
                        "States.ResultWriterFailed",
                        error,
                        env,
                        out,
                    ),
                    (Ok(_), None) => Step::Failed(
                        frame,
                        StateError::runtime("Internal error: no ResultWriter"),
                    ),
                }
            }
            (Resume::ItemsRead(read), StateKind::Map(map)) => {
                let Some(reader) = &map.item_reader else {
                    return Step::Failed(
                        frame,
                        StateError::runtime("Internal error: no ItemReader"),
                    );
                };
                let items = read.and_then(|result| {
                    self.with_effective(&frame, state, |this, scope, _| {
                        let max_items = match &reader.max_items {
                            None => None,
                            Some(field) => Some(max_items(field, scope)?),
                        };
                        let items = crate::reader::read_items(reader, &result, max_items)
                            .map_err(|cause| StateError::new("States.ItemReaderFailed", cause))?;
                        this.select_and_batch(map, items, scope, &frame, state)
                    })
                });
                match items {
                    Ok(items) => {
                        self.start_map_run(definition, frame_id, frame, state, map, items, env, out)
                    }
                    Err(error) => self.map_run_failed(
                        frame_id,
                        frame,
                        state,
                        "States.ItemReaderFailed",
                        error,
                        env,
                        out,
                    ),
                }
            }
            (Resume::TaskFailed(error) | Resume::ChildFailed(error), _) => {
                self.fail_state_with(frame_id, frame, state, error, false, env, out)
            }
            (_, _) => Step::Failed(
                frame,
                StateError::runtime(format!(
                    "Internal error: unexpected resumption of state '{}'",
                    state.name
                )),
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_with_result(
        &mut self,
        frame_id: FrameId,
        mut frame: Frame,
        state: &State,
        result: Value,
        selector: Option<&Template>,
        result_path: &ResultPath,
        env: &Env,
        out: &mut Vec<Command>,
    ) -> Step {
        let result = match selector {
            None => Ok(result),
            Some(template) => self.with_scope(&frame, state, &result, |scope| {
                eval::template(template, scope, "ResultSelector")
            }),
        };
        let result = match result {
            Ok(r) => r,
            Err(error) => {
                return self.fail_state(frame_id, frame, state, error, env, out);
            }
        };
        let raw = std::mem::take(&mut frame.input);
        if state.query_language == QueryLanguage::Jsonata {
            // `Output` reads `$states.input` and `$states.result`; by default it is the result.
            let bound = frame.input_bound;
            let completion = Completion {
                result: Some(result),
                ..Completion::of(raw, bound)
            };
            return self.complete(frame_id, frame, state, completion, env, out);
        }
        // `Assign` reads the result, before `ResultPath` puts it into the input.
        let assign_source = state.assign.as_ref().map(|_| result.clone());
        let (combined, bound) = self.merge(&frame, raw, result, result_path);
        match combined {
            Err(error) => self.fail_state(frame_id, frame, state, error, env, out),
            Ok(value) => {
                let completion = Completion {
                    result: assign_source,
                    ..Completion::of(value, bound)
                };
                self.complete(frame_id, frame, state, completion, env, out)
            }
        }
    }

    fn prepare_map(
        &self,
        map: &aslan_asl::definition::Map,
        scope: &Scope<'_>,
        frame: &Frame,
        state: &State,
    ) -> Result<(Option<Vec<Value>>, usize), StateError> {
        // Distributed Map's readers (S3 objects) and result writing are not built yet; a
        // definition that needs them fails plainly instead of running with other semantics.
        if let Some(writer) = &map.result_writer
            && writer
                .transformation
                .as_deref()
                .is_some_and(|t| t != "NONE")
        {
            return Err(StateError::runtime(
                "ResultWriter's WriterConfig.Transformation COMPACT and FLATTEN are not supported by this version of aslan (NONE is)",
            ));
        }
        let max_concurrency = map_concurrency(map, scope)?;
        // With an ItemReader the items are read once the Map Run starts (ItemsPath is unused).
        if map.mode == MapMode::Distributed && map.item_reader.is_some() {
            return Ok((None, max_concurrency));
        }
        let items = match &map.items {
            ItemsSource::Path(path) => {
                let selected = scope.select_cow(path).map_err(|_| {
                    StateError::runtime(format!(
                        "Invalid path '{}' : No results for path: {}",
                        path.source(),
                        path.normalized()
                    ))
                })?;
                match selected.as_ref() {
                    Value::Array(items) => items.clone(),
                    other if state.query_language == QueryLanguage::Jsonata => {
                        return Err(StateError::new(
                            "States.QueryEvaluationError",
                            format!(
                                "Map state input must be an array but was: {}",
                                compact(other)
                            ),
                        ));
                    }
                    other => {
                        return Err(StateError::runtime(format!(
                            "Item selector '{}' did not produce a list: {}",
                            path.source(),
                            compact(other)
                        )));
                    }
                }
            }
            ItemsSource::Items(template) => match eval::template(template, scope, "Items")? {
                Value::Array(items) => items,
                other => {
                    let source = match template {
                        Template::Expression(expression) => expression.source().to_owned(),
                        _ => compact(&other),
                    };
                    return Err(StateError::new(
                        "States.QueryEvaluationError",
                        format!(
                            "The JSONata expression '{source}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                            json_type(&other),
                            compact(&other)
                        ),
                    ));
                }
            },
        };
        let items = self.select_and_batch(map, items, scope, frame, state)?;
        Ok((Some(items), max_concurrency))
    }

    /// `ItemSelector` (once per item, with `$$.Map.Item` set), then `ItemBatcher`.
    fn select_and_batch(
        &self,
        map: &aslan_asl::definition::Map,
        items: Vec<Value>,
        scope: &Scope<'_>,
        frame: &Frame,
        state: &State,
    ) -> Result<Vec<Value>, StateError> {
        let items = match &map.item_selector {
            None => items,
            Some(selector) => {
                let mut selected = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let context = Context {
                        state_name: &state.name,
                        entered_time: frame.entered_time,
                        map_item: Some((index as u64, item)),
                        ..*scope.context
                    };
                    let item_scope = Scope {
                        context: &context,
                        ..*scope
                    };
                    selected.push(eval::template(selector, &item_scope, "ItemSelector")?);
                }
                selected
            }
        };
        let items = match &map.item_batcher {
            None => items,
            Some(batcher) => batch_items(batcher, items, scope)?,
        };
        Ok(items)
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_children(
        &mut self,
        definition: &Definition,
        parent: FrameId,
        frame: &mut Frame,
        items: Vec<(usize, Value)>,
        branch_scopes: Option<Vec<ScopeId>>,
        scope: ScopeId,
        max_concurrency: usize,
        map_name: Option<String>,
        map_run: Option<MapRun>,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        frame.phase = Phase::Waiting;
        let count = items.len();
        if count == 0 {
            frame.phase = Phase::Resume(Resume::Children(Vec::new()));
            self.runnable.push_back(parent);
            return;
        }
        let outer = Arc::new(frame.variables.clone());
        let join = Join {
            parent,
            results: vec![Value::Null; count],
            remaining: count,
            pending: VecDeque::new(),
            running: 0,
            scope,
            outer_variables: outer,
            map_name,
            failed: false,
            quiet: frame.quiet || map_run.is_some(),
            map_run,
        };
        let join_id = match self.free_joins.pop() {
            Some(id) => {
                self.joins[id] = Some(join);
                id
            }
            None => {
                self.joins.push(Some(join));
                self.joins.len() - 1
            }
        };
        let last_event = frame.last_event;
        for (slot, input) in items {
            let child_scope = branch_scopes.as_ref().map_or(scope, |scopes| scopes[slot]);
            let can_start = {
                let join = self.joins[join_id].as_ref().map_or(0, |j| j.running);
                max_concurrency == 0 || join < max_concurrency
            };
            if can_start {
                self.start_child(
                    definition,
                    join_id,
                    slot,
                    child_scope,
                    input,
                    last_event,
                    env,
                    out,
                );
            } else if let Some(join) = self.joins[join_id].as_mut() {
                join.pending.push_back((slot, input));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_child(
        &mut self,
        definition: &Definition,
        join_id: JoinId,
        slot: usize,
        scope: ScopeId,
        input: Value,
        last_event: i64,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        if let Some(join) = self.joins[join_id].as_mut()
            && let Some(run) = join.map_run.as_mut()
        {
            if let Some(record) = run.records.as_mut().and_then(|r| r.get_mut(slot)) {
                record.start = env.now;
            }
            if let Some(report) = self.map_runs.get_mut(&join.parent) {
                report.pending = report.pending.saturating_sub(1);
                report.running += 1;
            }
        }
        let (outer, map_name, quiet) = match self.joins[join_id].as_ref() {
            Some(join) => (
                join.outer_variables.clone(),
                join.map_name.clone(),
                join.quiet,
            ),
            None => return,
        };
        let mut last = last_event;
        if let Some(name) = map_name {
            last = self.emit(out, last, HistoryEventType::MapIterationStarted, env, |e| {
                e.map_iteration_started_event_details =
                    Some(aslan_types::history::MapIterationEventDetails {
                        name: Some(name.clone()),
                        index: Some(slot as i32),
                    });
            });
        }
        let bound = Bound::of(&input);
        let variables = if outer.is_empty() {
            Variables::default()
        } else {
            Variables::nested(outer)
        };
        let frame = Frame {
            state: definition.scope(scope).start_at,
            input,
            input_bound: bound,
            phase: Phase::Enter,
            parent: Some((join_id, slot)),
            variables,
            last_event: last,
            entered_event: 0,
            entered_time: env.now,
            retry_attempts: Vec::new(),
            retry_count: 0,
            started: false,
            quiet,
        };
        let id = self.alloc_frame(frame);
        if let Some(join) = self.joins[join_id].as_mut() {
            join.running += 1;
        }
        self.runnable.push_back(id);
    }

    fn branch_done(
        &mut self,
        definition: &Definition,
        frame_id: FrameId,
        frame: Frame,
        output: Value,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        self.free_frame(frame_id);
        self.release_variables(&frame);
        let Some((join_id, slot)) = frame.parent else {
            self.quiet = false;
            let output_text = self.options.record_history.then(|| compact(&output));
            self.emit(
                out,
                frame.last_event,
                HistoryEventType::ExecutionSucceeded,
                env,
                |e| {
                    e.execution_succeeded_event_details =
                        Some(aslan_types::history::ExecutionSucceededEventDetails {
                            output: output_text,
                            output_details: Some(history::not_truncated()),
                        });
                },
            );
            self.finish(Outcome::Succeeded(output), out);
            return;
        };
        self.child_finished(
            definition,
            join_id,
            slot,
            Ok(output),
            frame.last_event,
            env,
            out,
        );
    }

    /// A child frame ended with `output` (a tolerated failure of a Distributed Map's iteration
    /// ends with its error output): the next pending child starts, and the last one resumes
    /// the parent.
    #[allow(clippy::too_many_arguments)]
    fn child_finished(
        &mut self,
        definition: &Definition,
        join_id: JoinId,
        slot: usize,
        output: Result<Value, Value>,
        last_event: i64,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        let Some(join) = self.joins[join_id].as_mut() else {
            return;
        };
        if join.failed {
            return;
        }
        if let Some(record) = join
            .map_run
            .as_mut()
            .and_then(|run| run.records.as_mut())
            .and_then(|records| records.get_mut(slot))
        {
            record.stop = env.now;
        }
        if join.map_run.is_some()
            && let Some(report) = self.map_runs.get_mut(&join.parent)
        {
            report.running = report.running.saturating_sub(1);
            match output {
                Ok(_) => report.succeeded += 1,
                Err(_) => report.failed += 1,
            }
            out.push(Command::MapRun(Box::new(report.clone())));
        }
        let output = output.unwrap_or_else(|failed| failed);
        join.results[slot] = output;
        join.remaining -= 1;
        join.running -= 1;
        let map_name = join.map_name.clone();
        let next = join.pending.pop_front();
        let scope = join.scope;
        let finished = join.remaining == 0;
        let mut last = last_event;
        if let Some(name) = map_name {
            last = self.emit(
                out,
                last,
                HistoryEventType::MapIterationSucceeded,
                env,
                |e| {
                    e.map_iteration_succeeded_event_details =
                        Some(aslan_types::history::MapIterationEventDetails {
                            name: Some(name.clone()),
                            index: Some(slot as i32),
                        });
                },
            );
        }
        if let Some((next_slot, input)) = next {
            self.start_child(definition, join_id, next_slot, scope, input, last, env, out);
        }
        if finished && let Some(join) = self.joins[join_id].take() {
            self.free_joins.push(join_id);
            if let Some(parent) = self.frames[join.parent].as_mut() {
                parent.last_event = last.max(parent.last_event);
                parent.phase = Phase::Resume(match join.map_run {
                    Some(run) => Resume::MapRunDone(join.results, run),
                    None => Resume::Children(join.results),
                });
            }
            self.runnable.push_back(join.parent);
        }
    }

    fn branch_failed(
        &mut self,
        definition: &Definition,
        frame_id: FrameId,
        frame: Frame,
        error: StateError,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        self.free_frame(frame_id);
        self.release_variables(&frame);
        let Some((join_id, slot)) = frame.parent else {
            self.quiet = false;
            let (error_name, cause) = (error.error.clone(), error.cause.clone());
            self.emit(
                out,
                frame.last_event,
                HistoryEventType::ExecutionFailed,
                env,
                |e| {
                    e.execution_failed_event_details =
                        Some(aslan_types::history::ExecutionFailedEventDetails {
                            error: (!error_name.is_empty()).then(|| error_name.clone()),
                            cause: (!cause.is_empty()).then(|| cause.clone()),
                        });
                },
            );
            self.finish(
                Outcome::Failed {
                    error: error.error,
                    cause: error.cause,
                },
                out,
            );
            return;
        };
        // A Distributed Map's run goes on while its failures stay within what it tolerates;
        // the failed item's result is its error output.
        if let Some(run) = self.joins[join_id]
            .as_mut()
            .and_then(|j| j.map_run.as_mut())
        {
            run.failed += 1;
            if let Some(record) = run.records.as_mut().and_then(|r| r.get_mut(slot)) {
                record.failed = true;
            }
            if !run.exceeded() {
                let output = json!({"Error": error.error, "Cause": error.cause});
                self.child_finished(
                    definition,
                    join_id,
                    slot,
                    Err(output),
                    frame.last_event,
                    env,
                    out,
                );
                return;
            }
        }
        let Some(join) = self.joins[join_id].take() else {
            return;
        };
        self.free_joins.push(join_id);
        let mut last = frame.last_event;
        let error = if join.map_run.is_some() {
            if let Some(report) = self.map_runs.get_mut(&join.parent) {
                report.running = report.running.saturating_sub(1);
                report.failed += 1;
            }
            self.end_map_run(join.parent, "FAILED", false, env, out);
            let error = StateError::new(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            );
            let parent_last = self.frames[join.parent]
                .as_ref()
                .map_or(last, |p| p.last_event);
            self.quiet = self.frame_is_quiet(join.parent);
            last = self.emit(
                out,
                last.max(parent_last),
                HistoryEventType::MapRunFailed,
                env,
                |e| {
                    e.map_run_failed_event_details =
                        Some(aslan_types::history::MapRunFailedEventDetails {
                            error: Some(error.error.clone()),
                            cause: Some(error.cause.clone()),
                        });
                },
            );
            error
        } else {
            error
        };
        if let Some(name) = &join.map_name {
            last = self.emit(out, last, HistoryEventType::MapIterationFailed, env, |e| {
                e.map_iteration_failed_event_details =
                    Some(aslan_types::history::MapIterationEventDetails {
                        name: Some(name.clone()),
                        index: Some(slot as i32),
                    });
            });
        }
        // A tolerated failure would let the Map go on; that belongs to Distributed Map, which
        // is its own issue, so say so rather than fail the Map for the wrong reason.
        let parent_kind = self
            .frames
            .get(join.parent)
            .and_then(Option::as_ref)
            .map(|p| &definition.state(p.state).kind);
        let error = match parent_kind {
            Some(StateKind::Map(map))
                if map.mode == MapMode::Inline
                    && (map.tolerated_failure_count.is_some()
                        || map.tolerated_failure_percentage.is_some()) =>
            {
                StateError::runtime(format!(
                    "An iteration failed ({}) and the Map has a tolerated failure threshold, which is not supported by this version of aslan",
                    error.error
                ))
            }
            _ => error,
        };
        // The other branches are abandoned: their tasks and timers are cancelled.
        for sibling in self.children_of(join_id) {
            if sibling != frame_id {
                self.abandon_frame(sibling, out);
            }
        }
        if let Some(parent) = self.frames[join.parent].as_mut() {
            parent.last_event = last.max(parent.last_event);
            parent.phase = Phase::Resume(Resume::ChildFailed(error));
        }
        self.runnable.push_back(join.parent);
    }

    /// Drops a frame and everything it waits for, including nested branches.
    fn abandon_frame(&mut self, frame_id: FrameId, out: &mut Vec<Command>) {
        if self.frames.get(frame_id).is_none_or(Option::is_none) {
            return;
        }
        self.free_frame(frame_id);
        let tasks: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, w)| w.frame == frame_id)
            .map(|(id, _)| *id)
            .collect();
        for task in tasks {
            if let Some(wait) = self.tasks.remove(&task) {
                self.drop_task_timers(&wait, out);
                out.push(Command::CancelTask(task));
            }
        }
        let timers: Vec<TimerId> = self.timers.iter().filter(|(_, p)| matches!(p, TimerPurpose::Wait(f) | TimerPurpose::Retry(f) if *f == frame_id)).map(|(id, _)| *id).collect();
        for timer in timers {
            self.timers.remove(&timer);
            out.push(Command::CancelTimer(timer));
        }
        let nested: Vec<JoinId> = self
            .joins
            .iter()
            .enumerate()
            .filter_map(|(id, j)| j.as_ref().filter(|j| j.parent == frame_id).map(|_| id))
            .collect();
        for join_id in nested {
            let children = self.children_of(join_id);
            self.joins[join_id] = None;
            self.free_joins.push(join_id);
            for child in children {
                self.abandon_frame(child, out);
            }
        }
    }

    /// The live frames started by a join (a scan: only failures need it).
    fn children_of(&self, join_id: JoinId) -> Vec<FrameId> {
        self.frames
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.as_ref()
                    .is_some_and(|f| f.parent.is_some_and(|(j, _)| j == join_id))
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// A Map Run ended with `status`: its last report, then it is forgotten. Children still
    /// pending or running count as aborted.
    fn end_map_run(
        &mut self,
        frame_id: FrameId,
        status: &str,
        written: bool,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        if let Some(mut report) = self.map_runs.remove(&frame_id) {
            report.status = status.to_owned();
            report.stop_ms = Some(env.now);
            report.aborted += report.pending + report.running;
            report.pending = 0;
            report.running = 0;
            if written {
                report.results_written = report.succeeded + report.failed;
            }
            out.push(Command::MapRun(Box::new(report)));
        }
    }

    fn finish(&mut self, outcome: Outcome, out: &mut Vec<Command>) {
        // Map Runs still going end with the execution.
        for (_, mut report) in std::mem::take(&mut self.map_runs) {
            report.status = "ABORTED".into();
            report.stop_ms = Some(self.now);
            report.aborted += report.pending + report.running;
            report.pending = 0;
            report.running = 0;
            out.push(Command::MapRun(Box::new(report)));
        }
        for (task, wait) in std::mem::take(&mut self.tasks) {
            self.drop_task_timers(&wait, out);
            out.push(Command::CancelTask(task));
        }
        for (timer, _) in std::mem::take(&mut self.timers) {
            out.push(Command::CancelTimer(timer));
        }
        self.frames.clear();
        self.free_frames.clear();
        self.variable_bytes = 0;
        self.joins.clear();
        self.free_joins.clear();
        self.runnable.clear();
        self.outcome = Some(outcome.clone());
        out.push(Command::Finish(outcome));
    }

    fn timer_fired(&mut self, timer: TimerId, env: &Env, out: &mut Vec<Command>) {
        let Some(purpose) = self.timers.remove(&timer) else {
            return;
        };
        match purpose {
            TimerPurpose::Wait(frame_id) => self.resume(frame_id, Resume::WaitOver),
            TimerPurpose::Retry(frame_id) => {
                if let Some(frame) = self.frames.get_mut(frame_id).and_then(Option::as_mut) {
                    frame.phase = Phase::Retry;
                    self.runnable.push_back(frame_id);
                }
            }
            TimerPurpose::TaskTimeout(task) | TimerPurpose::Heartbeat(task) => {
                let heartbeat = matches!(purpose, TimerPurpose::Heartbeat(_));
                if let Some(wait) = self.finish_task(task, out) {
                    out.push(Command::CancelTask(task));
                    let error = if heartbeat {
                        StateError::new("States.HeartbeatTimeout", "")
                    } else {
                        StateError::new("States.Timeout", "")
                    };
                    let (resource_type, resource) =
                        (wait.resource_type.clone(), wait.resource.clone());
                    let last = self
                        .frames
                        .get(wait.frame)
                        .and_then(Option::as_ref)
                        .map_or(self.event_id, |f| f.last_event);
                    let error_name = error.error.clone();
                    // Activities and legacy Lambda functions time out with their own event types.
                    let event_type = match resource_type.as_str() {
                        "activity" => HistoryEventType::ActivityTimedOut,
                        "lambda-function" => HistoryEventType::LambdaFunctionTimedOut,
                        _ => HistoryEventType::TaskTimedOut,
                    };
                    let id = self.emit(out, last, event_type, env, |e| match event_type {
                        HistoryEventType::ActivityTimedOut => {
                            e.activity_timed_out_event_details =
                                Some(aslan_types::history::ActivityTimedOutEventDetails {
                                    error: Some(error_name),
                                    cause: None,
                                });
                        }
                        HistoryEventType::LambdaFunctionTimedOut => {
                            e.lambda_function_timed_out_event_details =
                                Some(aslan_types::history::LambdaFunctionTimedOutEventDetails {
                                    error: Some(error_name),
                                    cause: None,
                                });
                        }
                        _ => {
                            e.task_timed_out_event_details =
                                Some(aslan_types::history::TaskTimedOutEventDetails {
                                    resource_type,
                                    resource,
                                    error: Some(error_name),
                                    cause: None,
                                });
                        }
                    });
                    if let Some(frame) = self.frames.get_mut(wait.frame).and_then(Option::as_mut) {
                        frame.last_event = id;
                    }
                    self.resume(wait.frame, Resume::TaskFailed(error));
                }
            }
            TimerPurpose::ExecutionTimeout => {
                let last = self.event_id;
                self.emit(out, last, HistoryEventType::ExecutionTimedOut, env, |e| {
                    e.execution_timed_out_event_details =
                        Some(aslan_types::history::ExecutionTimedOutEventDetails {
                            error: Some("States.Timeout".into()),
                            cause: Some("The execution timed out.".into()),
                        });
                });
                self.finish(
                    Outcome::TimedOut {
                        error: "States.Timeout".into(),
                        cause: "The execution timed out.".into(),
                    },
                    out,
                );
            }
        }
    }

    fn resume(&mut self, frame_id: FrameId, resume: Resume) {
        if let Some(frame) = self.frames.get_mut(frame_id).and_then(Option::as_mut) {
            frame.phase = Phase::Resume(resume);
            self.runnable.push_back(frame_id);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn schedule_task(
        &mut self,
        frame_id: FrameId,
        frame: &mut Frame,
        state: &State,
        task: &Task,
        parameters: Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        let id = TaskId(self.next_id);
        self.next_id += 1;
        let (resource_type, resource) = history::resource_names(&task.resource);
        let task_token = self.pending_token.take();
        if self.options.record_history {
            let parameters_text = compact(&parameters);
            let region = self.info.region.clone();
            let (rt, r) = (resource_type.clone(), resource.clone());
            let event_id = match &task.resource.kind {
                ResourceKind::Activity => self.emit(
                    out,
                    frame.last_event,
                    HistoryEventType::ActivityScheduled,
                    env,
                    |e| {
                        e.activity_scheduled_event_details =
                            Some(aslan_types::history::ActivityScheduledEventDetails {
                                resource: task.resource.arn.clone(),
                                input: Some(parameters_text),
                                input_details: Some(history::not_truncated()),
                                timeout_in_seconds: timeout.map(|t| t as i64),
                                heartbeat_in_seconds: heartbeat.map(|t| t as i64),
                            });
                    },
                ),
                ResourceKind::LambdaFunction { .. } => self.emit(
                    out,
                    frame.last_event,
                    HistoryEventType::LambdaFunctionScheduled,
                    env,
                    |e| {
                        e.lambda_function_scheduled_event_details =
                            Some(aslan_types::history::LambdaFunctionScheduledEventDetails {
                                resource: task.resource.arn.clone(),
                                input: Some(parameters_text),
                                input_details: Some(history::not_truncated()),
                                timeout_in_seconds: timeout.map(|t| t as i64),
                                task_credentials: None,
                            });
                    },
                ),
                _ => self.emit(
                    out,
                    frame.last_event,
                    HistoryEventType::TaskScheduled,
                    env,
                    |e| {
                        let mut details = aslan_types::history::TaskScheduledEventDetails::new(
                            rt,
                            r,
                            region,
                            parameters_text,
                        );
                        details.timeout_in_seconds = timeout.map(|t| t as i64);
                        details.heartbeat_in_seconds = heartbeat.map(|t| t as i64);
                        e.task_scheduled_event_details = Some(details);
                    },
                ),
            };
            frame.last_event = event_id;
        } else {
            self.event_id += 1;
        }
        let timeout_timer = timeout.map(|seconds| {
            let timer = self.new_timer(TimerPurpose::TaskTimeout(id));
            out.push(Command::StartTimer {
                timer,
                fire_at: env.now + seconds as i64 * 1000,
            });
            timer
        });
        let heartbeat_timer = heartbeat.map(|seconds| {
            let timer = self.new_timer(TimerPurpose::Heartbeat(id));
            out.push(Command::StartTimer {
                timer,
                fire_at: env.now + seconds as i64 * 1000,
            });
            (timer, seconds)
        });
        self.tasks.insert(
            id,
            TaskWait {
                frame: frame_id,
                io: None,
                timeout_timer,
                heartbeat_timer,
                started: false,
                resource_type,
                resource,
            },
        );
        out.push(Command::ScheduleTask(Box::new(TaskRequest {
            id,
            execution_arn: self.info.execution_arn.clone(),
            state_name: state.name.clone(),
            resource: task.resource.clone(),
            parameters,
            task_token,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            retry_count: frame.retry_count,
        })));
    }

    fn task_started(
        &mut self,
        task: TaskId,
        worker: Option<String>,
        env: &Env,
        out: &mut Vec<Command>,
    ) {
        let Some(wait) = self.tasks.get_mut(&task) else {
            return;
        };
        if wait.started {
            return;
        }
        if wait.io.is_some() {
            wait.started = true;
            return;
        }
        let frame_id = wait.frame;
        let (resource_type, resource) = (wait.resource_type.clone(), wait.resource.clone());
        let last = self
            .frames
            .get(frame_id)
            .and_then(Option::as_ref)
            .map_or(self.event_id, |f| f.last_event);
        let event_type = match resource_type.as_str() {
            "activity" => HistoryEventType::ActivityStarted,
            "lambda-function" => HistoryEventType::LambdaFunctionStarted,
            _ => HistoryEventType::TaskStarted,
        };
        let id = self.emit(out, last, event_type, env, |e| match event_type {
            HistoryEventType::TaskStarted => {
                e.task_started_event_details =
                    Some(aslan_types::history::TaskStartedEventDetails::new(
                        resource_type.clone(),
                        resource.clone(),
                    ));
            }
            HistoryEventType::ActivityStarted => {
                e.activity_started_event_details =
                    Some(aslan_types::history::ActivityStartedEventDetails {
                        worker_name: worker.clone(),
                    });
            }
            _ => {}
        });
        if let Some(wait) = self.tasks.get_mut(&task) {
            wait.started = true;
        }
        if let Some(frame) = self.frames.get_mut(frame_id).and_then(Option::as_mut) {
            frame.last_event = id;
        }
    }

    fn record_task_end(
        &mut self,
        wait: &TaskWait,
        output_text: Option<String>,
        env: &Env,
        out: &mut Vec<Command>,
        error: Option<&StateError>,
    ) {
        let succeeded = error.is_none();
        let last = self
            .frames
            .get(wait.frame)
            .and_then(Option::as_ref)
            .map_or(self.event_id, |f| f.last_event);
        let kind = wait.resource_type.as_str();
        let event_type = match (kind, succeeded) {
            ("activity", true) => HistoryEventType::ActivitySucceeded,
            ("activity", false) => HistoryEventType::ActivityFailed,
            ("lambda-function", true) => HistoryEventType::LambdaFunctionSucceeded,
            ("lambda-function", false) => HistoryEventType::LambdaFunctionFailed,
            (_, true) => HistoryEventType::TaskSucceeded,
            (_, false) => HistoryEventType::TaskFailed,
        };
        let (resource_type, resource) = (wait.resource_type.clone(), wait.resource.clone());
        let id = self.emit(out, last, event_type, env, |e| {
            let error_name = error.map(|e| e.error.clone());
            let cause = error.map(|e| e.cause.clone());
            match event_type {
                HistoryEventType::TaskSucceeded => {
                    let mut d = aslan_types::history::TaskSucceededEventDetails::new(
                        resource_type.clone(),
                        resource.clone(),
                    );
                    d.output = output_text.clone();
                    d.output_details = Some(history::not_truncated());
                    e.task_succeeded_event_details = Some(d);
                }
                HistoryEventType::TaskFailed => {
                    let mut d = aslan_types::history::TaskFailedEventDetails::new(
                        resource_type.clone(),
                        resource.clone(),
                    );
                    d.error = error_name;
                    d.cause = cause;
                    e.task_failed_event_details = Some(d);
                }
                HistoryEventType::ActivitySucceeded => {
                    e.activity_succeeded_event_details =
                        Some(aslan_types::history::ActivitySucceededEventDetails {
                            output: output_text.clone(),
                            output_details: Some(history::not_truncated()),
                        });
                }
                HistoryEventType::ActivityFailed => {
                    e.activity_failed_event_details =
                        Some(aslan_types::history::ActivityFailedEventDetails {
                            error: error_name,
                            cause,
                        });
                }
                HistoryEventType::LambdaFunctionSucceeded => {
                    e.lambda_function_succeeded_event_details =
                        Some(aslan_types::history::LambdaFunctionSucceededEventDetails {
                            output: output_text.clone(),
                            output_details: Some(history::not_truncated()),
                        });
                }
                HistoryEventType::LambdaFunctionFailed => {
                    e.lambda_function_failed_event_details =
                        Some(aslan_types::history::LambdaFunctionFailedEventDetails {
                            error: error_name,
                            cause,
                        });
                }
                _ => {}
            }
        });
        if let Some(frame) = self.frames.get_mut(wait.frame).and_then(Option::as_mut) {
            frame.last_event = id;
        }
    }

    fn finish_task(&mut self, task: TaskId, out: &mut Vec<Command>) -> Option<TaskWait> {
        let wait = self.tasks.remove(&task)?;
        self.drop_task_timers(&wait, out);
        Some(wait)
    }

    fn drop_task_timers(&mut self, wait: &TaskWait, out: &mut Vec<Command>) {
        if let Some(timer) = wait.timeout_timer
            && self.timers.remove(&timer).is_some()
        {
            out.push(Command::CancelTimer(timer));
        }
        if let Some((timer, _)) = wait.heartbeat_timer
            && self.timers.remove(&timer).is_some()
        {
            out.push(Command::CancelTimer(timer));
        }
    }

    fn new_timer(&mut self, purpose: TimerPurpose) -> TimerId {
        let timer = TimerId(self.next_id);
        self.next_id += 1;
        self.timers.insert(timer, purpose);
        timer
    }

    fn alloc_frame(&mut self, frame: Frame) -> FrameId {
        match self.free_frames.pop() {
            Some(id) => {
                self.frames[id] = Some(frame);
                id
            }
            None => {
                self.frames.push(Some(frame));
                self.frames.len() - 1
            }
        }
    }

    /// Frees a frame's slot, and the variables of a frame still in it (one taken out to run
    /// is passed to `release_variables` instead).
    fn free_frame(&mut self, frame_id: FrameId) {
        if let Some(slot) = self.frames.get_mut(frame_id) {
            if let Some(frame) = slot.take() {
                self.variable_bytes = self
                    .variable_bytes
                    .saturating_sub(frame.variables.own_bytes());
            }
            self.free_frames.push(frame_id);
        }
        // A Map Run the frame was in the middle of ends with it.
        if !self.map_runs.is_empty() {
            self.map_runs.remove(&frame_id);
            self.writes.remove(&frame_id);
        }
    }

    /// A frame ended: its own variables go out of scope.
    fn release_variables(&mut self, frame: &Frame) {
        self.variable_bytes = self
            .variable_bytes
            .saturating_sub(frame.variables.own_bytes());
    }

    /// Appends a history event (when history is on) and returns its id.
    fn emit(
        &mut self,
        out: &mut Vec<Command>,
        previous: i64,
        event_type: HistoryEventType,
        env: &Env,
        fill: impl FnOnce(&mut HistoryEvent),
    ) -> i64 {
        if self.quiet {
            return previous;
        }
        self.event_id += 1;
        if self.options.record_history {
            let mut event = HistoryEvent::new(
                self.event_id,
                previous,
                Timestamp::from_millis(env.now),
                event_type,
            );
            fill(&mut event);
            out.push(Command::Record(Box::new(event)));
        }
        self.event_id
    }

    /// `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:UUID`, as AWS names a Map Run.
    fn map_run_arn(&self, label: &str) -> String {
        let parts: Vec<&str> = self.info.state_machine_arn.split(':').collect();
        let part = |i: usize, default: &'static str| parts.get(i).copied().unwrap_or(default);
        let uuid = aslan_asl::intrinsics::uuid_v4(self.next_random(), self.next_random());
        format!(
            "arn:{}:states:{}:{}:mapRun:{}/{label}:{uuid}",
            part(1, "aws"),
            part(3, "us-east-1"),
            part(4, "123456789012"),
            self.info.state_machine_name
        )
    }

    fn next_random(&self) -> u64 {
        crate::eval::next_random(&self.rng_state)
    }
}

/// Writes `result` into `raw` at a reference path.
fn apply_result_path(mut raw: Value, result: Value, path: &JsonPath) -> Result<Value, StateError> {
    match path.set(&mut raw, result) {
        Ok(()) => Ok(raw),
        Err(error) => Err(StateError::runtime(error.message)),
    }
}

/// Decides a Choice rule.
fn evaluate_rule(rule: &ChoiceRule, scope: &Scope<'_>) -> Result<bool, StateError> {
    match rule {
        ChoiceRule::And(rules) => {
            for rule in rules {
                if !evaluate_rule(rule, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ChoiceRule::Or(rules) => {
            for rule in rules {
                if evaluate_rule(rule, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        ChoiceRule::Not(rule) => Ok(!evaluate_rule(rule, scope)?),
        ChoiceRule::Compare {
            variable,
            op,
            operand,
        } => {
            let value = scope.select_cow(variable);
            let value = match value {
                Ok(v) => Some(v),
                Err(_) if *op == aslan_asl::choice::Comparison::IsPresent => None,
                Err(_) => {
                    return Err(StateError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.source()
                    )));
                }
            };
            // An indefinite path that matched nothing is "not present" too.
            let value = match value {
                Some(Cow::Owned(Value::Array(items)))
                    if !variable.is_definite() && items.is_empty() =>
                {
                    None
                }
                other => other,
            };
            let resolved = match operand {
                Operand::Path(path) => Some(scope.select(path).map_err(|_| {
                    StateError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        path.source()
                    ))
                })?),
                _ => None,
            };
            Ok(op.test(value.as_deref(), operand, resolved.as_ref()))
        }
        ChoiceRule::Condition(template) => match eval::template(template, scope, "Condition")? {
            Value::Bool(b) => Ok(b),
            other => Err(StateError::new(
                "States.QueryEvaluationError",
                format!(
                    "The Condition evaluated to a non-boolean value: {}",
                    compact(&other)
                ),
            )),
        },
    }
}

/// `Error`/`Cause` of a Fail state.
fn fail_text(text: &Text, scope: &Scope<'_>, field: &str) -> Result<String, StateError> {
    match text {
        Text::Literal(s) => Ok(s.clone()),
        Text::Path(path) => {
            let value = scope.select(path).map_err(|_| {
                StateError::runtime(format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    path.source(),
                    compact(scope.input)
                ))
            })?;
            match value {
                Value::String(s) => Ok(s),
                other => Err(StateError::runtime(format!(
                    "The JSONPath '{}' specified for the field '{field}' must resolve to a string, but got '{}'",
                    path.source(),
                    compact(&other)
                ))),
            }
        }
        Text::Intrinsic(call) => match eval::intrinsic(call, scope)? {
            Value::String(s) => Ok(s),
            other => Ok(compact(&other)),
        },
        Text::Expression(expression) => {
            let name = if field == "ErrorPath" {
                "Error"
            } else {
                "Cause"
            };
            match eval::expression_value(expression, scope, name)? {
                Value::String(s) => Ok(s),
                other => Ok(compact(&other)),
            }
        }
    }
}

/// The value at a path of the state's input, or AWS's error for a path with no results.
fn select_or_fail(scope: &Scope<'_>, path: &JsonPath) -> Result<Value, StateError> {
    scope.select(path).map_err(|_| {
        StateError::runtime(format!(
            "Invalid path '{}' : No results for path: {}",
            path.source(),
            path.normalized()
        ))
    })
}

/// Resolves `TimeoutSeconds(Path)`/`HeartbeatSeconds(Path)`.
fn resolve_seconds(seconds: &Seconds, scope: &Scope<'_>, field: &str) -> Result<u64, StateError> {
    match seconds {
        Seconds::Fixed(n) => Ok(*n),
        Seconds::Path(path) => {
            let value = select_or_fail(scope, path)?;
            match value.as_u64() {
                Some(n) if n > 0 => Ok(n),
                _ => Err(StateError::runtime(format!(
                    "The {field} parameter references an invalid value: {} == {}",
                    path.source(),
                    display(&value)
                ))),
            }
        }
        Seconds::Expression(expression) => {
            let name = field.trim_end_matches("Path");
            let value = eval::expression_value(expression, scope, name)?;
            match value.as_u64() {
                Some(n) if n > 0 => Ok(n),
                _ => Err(StateError::new(
                    "States.QueryEvaluationError",
                    format!(
                        "The JSONata expression '{}' specified for the field '{name}' returned an unexpected result type. Expected 'integer', but was '{}' for value: {}",
                        expression.source(),
                        json_type(&value),
                        compact(&value)
                    ),
                )),
            }
        }
    }
}

/// When a Wait state ends, in epoch milliseconds.
fn wait_until(until: &WaitUntil, scope: &Scope<'_>, now: i64) -> Result<i64, StateError> {
    match until {
        WaitUntil::Seconds(Seconds::Fixed(n)) => Ok(now + *n as i64 * 1000),
        WaitUntil::Seconds(Seconds::Path(path)) => {
            let value = select_or_fail(scope, path)?;
            match &value {
                Value::Number(n) if n.as_i64().is_some() => {
                    let seconds = n.as_i64().unwrap_or(0);
                    if seconds < 0 {
                        Err(StateError::runtime(format!(
                            "The SecondsPath parameter references a negative value: {} == {}",
                            path.source(),
                            display(&value)
                        )))
                    } else {
                        Ok(now + seconds * 1000)
                    }
                }
                _ => Err(StateError::runtime(format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                    path.source(),
                    display(&value)
                ))),
            }
        }
        WaitUntil::Timestamp(at) => Ok(*at),
        WaitUntil::TimestampPath(path) => {
            let value = select_or_fail(scope, path)?;
            match value.as_str().map(Timestamp::parse_rfc3339) {
                Some(Ok(t)) => Ok(t.as_millis()),
                _ => Err(StateError::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                    path.source(),
                    display(&value)
                ))),
            }
        }
        WaitUntil::Seconds(Seconds::Expression(expression)) => {
            let value = eval::expression_value(expression, scope, "Seconds")?;
            match value.as_i64() {
                Some(seconds) if seconds >= 0 => Ok(now + seconds * 1000),
                _ => Err(StateError::new(
                    "States.QueryEvaluationError",
                    format!(
                        "The JSONata expression '{}' specified for the field 'Seconds' returned an unexpected result type. Expected 'integer', but was '{}' for value: {}",
                        expression.source(),
                        json_type(&value),
                        compact(&value)
                    ),
                )),
            }
        }
        WaitUntil::TimestampExpression(expression) => {
            let value = eval::expression_value(expression, scope, "Timestamp")?;
            match value.as_str().map(Timestamp::parse_rfc3339) {
                Some(Ok(t)) => Ok(t.as_millis()),
                _ => Err(StateError::new(
                    "States.QueryEvaluationError",
                    format!(
                        "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                        display(&value)
                    ),
                )),
            }
        }
    }
}

/// A value in a message the way AWS prints it: strings bare, everything else as JSON.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

/// `MaxConcurrency(Path)` of a Map; 0 is no limit.
fn map_concurrency(
    map: &aslan_asl::definition::Map,
    scope: &Scope<'_>,
) -> Result<usize, StateError> {
    Ok(match &map.max_concurrency {
        MaxConcurrency::Fixed(n) => *n as usize,
        MaxConcurrency::Path(path) => {
            let value = select_or_fail(scope, path)?;
            match value.as_u64() {
                Some(n) if n <= u32::MAX as u64 => n as usize,
                _ => {
                    return Err(StateError::runtime(format!(
                        "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {}",
                        compact(&value),
                        path.source()
                    )));
                }
            }
        }
        MaxConcurrency::Expression(expression) => {
            let value = eval::expression_value(expression, scope, "MaxConcurrency")?;
            match value.as_u64() {
                Some(n) if n <= u32::MAX as u64 => n as usize,
                _ => {
                    return Err(StateError::new(
                        "States.QueryEvaluationError",
                        format!(
                            "The JSONata expression '{}' specified for the field 'MaxConcurrency' returned an unexpected result type. Expected 'integer', but was '{}' for value: {}",
                            expression.source(),
                            json_type(&value),
                            compact(&value)
                        ),
                    ));
                }
            }
        }
    })
}

/// `ReaderConfig.MaxItems(Path)`: a count (a numeric string counts too); 0 reads everything.
fn max_items(field: &Tolerance, scope: &Scope<'_>) -> Result<u64, StateError> {
    let value = match field {
        Tolerance::Path(path) => select_or_fail(scope, path)?,
        other => number_field(other, scope, "MaxItems", "integer")?,
    };
    let number = match &value {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        other => other.as_f64(),
    };
    match number {
        Some(n) if n < 0.0 => Err(StateError::new(
            "States.ItemReaderFailed",
            "field MaxItems must be positive",
        )),
        Some(n) if n.fract() == 0.0 => Ok(n as u64),
        _ => Err(not_valid(field, "MaxItems", "integer", &value)),
    }
}

/// The failures a Distributed Map's run tolerates: `ToleratedFailureCount` and
/// `ToleratedFailurePercentage`, constant, from a path, or from JSONata.
fn map_run_tolerance(
    map: &aslan_asl::definition::Map,
    scope: &Scope<'_>,
) -> Result<(Option<u64>, Option<f64>), StateError> {
    let read = |tolerance: &Tolerance, field: &str, kind: &str| {
        number_field(tolerance, scope, field, kind)
    };
    let count = match &map.tolerated_failure_count {
        None => None,
        Some(tolerance) => Some(non_negative_integer(
            tolerance,
            read(tolerance, "ToleratedFailureCount", "integer")?,
            "ToleratedFailureCount",
        )?),
    };
    let percentage = match &map.tolerated_failure_percentage {
        None => None,
        Some(tolerance) => {
            let value = read(tolerance, "ToleratedFailurePercentage", "number")?;
            let Some(percentage) = value.as_f64() else {
                return Err(not_valid(
                    tolerance,
                    "ToleratedFailurePercentage",
                    "float",
                    &value,
                ));
            };
            if !(0.0..=100.0).contains(&percentage) {
                return Err(StateError::runtime(
                    "ToleratedFailurePercentage must be between 0 and 100.",
                ));
            }
            Some(percentage)
        }
    };
    Ok((count, percentage))
}

/// Groups a Distributed Map's items for `ItemBatcher`: each batch is `{"Items": [...]}` (with
/// `"BatchInput"` when given) of at most `MaxItemsPerBatch` items whose JSON takes at most
/// `MaxInputBytesPerBatch` bytes.
fn batch_items(
    batcher: &ItemBatcher,
    items: Vec<Value>,
    scope: &Scope<'_>,
) -> Result<Vec<Value>, StateError> {
    let limit = |tolerance: &Option<Tolerance>, field: &str| -> Result<Option<u64>, StateError> {
        match tolerance {
            None => Ok(None),
            Some(tolerance) => {
                let value = number_field(tolerance, scope, field, "integer")?;
                let n = non_negative_integer(tolerance, value, field)?;
                if n == 0 {
                    return Err(StateError::runtime(format!(
                        "{field} must be greater than 0."
                    )));
                }
                Ok(Some(n))
            }
        }
    };
    let max_items = limit(&batcher.max_items, "MaxItemsPerBatch")?.unwrap_or(u64::MAX);
    let max_bytes = limit(&batcher.max_bytes, "MaxInputBytesPerBatch")?.map(|n| n.min(262_144));
    let batch_input = match &batcher.batch_input {
        Some(template) => Some(eval::template(template, scope, "BatchInput")?),
        None => None,
    };
    let wrap = |items: Vec<Value>| {
        let mut batch = JsonMap::new();
        if let Some(input) = &batch_input {
            batch.insert("BatchInput".to_owned(), input.clone());
        }
        batch.insert("Items".to_owned(), Value::Array(items));
        Value::Object(batch)
    };
    let mut batches = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut current_bytes = 0usize;
    for item in items {
        let bytes = json_size(&item) + 1;
        if let Some(max) = max_bytes
            && bytes as u64 > max
        {
            return Err(StateError::runtime(format!(
                "An item of {bytes} bytes does not fit in a batch of MaxInputBytesPerBatch {max} bytes."
            )));
        }
        let full = current.len() as u64 >= max_items
            || max_bytes.is_some_and(|max| (current_bytes + bytes) as u64 > max);
        if full && !current.is_empty() {
            batches.push(wrap(std::mem::take(&mut current)));
            current_bytes = 0;
        }
        current_bytes += bytes;
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(wrap(current));
    }
    Ok(batches)
}

/// An integer of at least 0 from a number field.
fn non_negative_integer(
    tolerance: &Tolerance,
    value: Value,
    field: &str,
) -> Result<u64, StateError> {
    match (value.as_u64(), value.as_i64()) {
        (Some(n), _) => Ok(n),
        (None, Some(_)) => Err(StateError::runtime(format!(
            "{field} must be greater than or equal to 0."
        ))),
        _ => Err(not_valid(tolerance, field, "integer", &value)),
    }
}

/// The error for a number field whose value is not a number of the right kind.
fn not_valid(tolerance: &Tolerance, field: &str, kind: &str, value: &Value) -> StateError {
    let source = match tolerance {
        Tolerance::Path(path) => path.source().to_owned(),
        _ => compact(value),
    };
    StateError::runtime(format!(
        "The {field}Path field refers to value \"{}\" which is not a valid {kind}: {source}",
        display(value)
    ))
}

/// The value of a number field (a constant, a path or a JSONata expression).
fn number_field(
    tolerance: &Tolerance,
    scope: &Scope<'_>,
    field: &str,
    kind: &str,
) -> Result<Value, StateError> {
    match tolerance {
        Tolerance::Fixed(n) if n.fract() == 0.0 && *n >= 0.0 => Ok(json!(*n as u64)),
        Tolerance::Fixed(n) => Ok(json!(n)),
        Tolerance::Path(path) => select_or_fail(scope, path),
        Tolerance::Expression(expression) => {
            let value = eval::expression_value(expression, scope, field)?;
            if value.is_number() {
                Ok(value)
            } else {
                Err(StateError::new(
                    "States.QueryEvaluationError",
                    format!(
                        "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{kind}', but was '{}' for value: {}",
                        expression.source(),
                        json_type(&value),
                        compact(&value)
                    ),
                ))
            }
        }
    }
}

/// JSON type names as AWS's messages use them.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
