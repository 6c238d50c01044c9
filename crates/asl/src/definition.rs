//! The validated, typed state machine.
//!
//! A [`Definition`] is built once by [`crate::parse`] and trusted afterwards: every `Next` is a
//! resolved [`StateId`], every path, template and intrinsic is compiled, every retrier's numbers
//! are within AWS's bounds. The interpreter never looks at raw JSON.

use serde_json::Value;

use crate::choice::ChoiceRule;
use crate::intrinsics::Intrinsic;
use crate::jsonata::Expression;
use crate::jsonpath::JsonPath;
use crate::template::Template;

/// Index of a state in [`Definition::states`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateId(pub u32);

/// Index of a state list (the top level, a Parallel branch or a Map processor) in
/// [`Definition::scopes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId(pub u32);

/// The query language of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    /// Paths, `.$` keys and intrinsic functions.
    #[default]
    JsonPath,
    /// `{% %}` expressions.
    Jsonata,
}

/// A whole state machine.
#[derive(Debug, Clone)]
pub struct Definition {
    /// `Comment`.
    pub comment: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `TimeoutSeconds` of the whole execution.
    pub timeout_seconds: Option<u64>,
    /// The top-level `QueryLanguage`.
    pub query_language: QueryLanguage,
    /// Every state of every scope.
    pub states: Vec<State>,
    /// Every state list; [`ScopeId`]`(0)` is the top level.
    pub scopes: Vec<Scope>,
    /// False when nothing in the definition can read the context object's execution input
    /// (no `$$` path, no `$states.context`), so an execution need not keep a copy of it.
    pub reads_execution_input: bool,
}

impl Definition {
    /// The top-level scope.
    pub const ROOT: ScopeId = ScopeId(0);

    /// A state by id.
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id.0 as usize]
    }

    /// A scope by id.
    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.0 as usize]
    }

    /// Finds a state of a scope by name.
    pub fn find(&self, scope: ScopeId, name: &str) -> Option<StateId> {
        self.scope(scope)
            .states
            .iter()
            .copied()
            .find(|&id| self.state(id).name == name)
    }
}

/// A state list with its own `StartAt`.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The first state.
    pub start_at: StateId,
    /// The states, in definition order.
    pub states: Vec<StateId>,
    /// The state that owns this scope (Parallel or Map), `None` at the top.
    pub parent: Option<StateId>,
    /// Where the scope is, e.g. `/States/P/Branches[0]`.
    pub pointer: String,
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `Next`.
    Next(StateId),
    /// `End: true`, or a terminal state type.
    End,
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    /// The name, as written.
    pub name: String,
    /// The scope it belongs to.
    pub scope: ScopeId,
    /// Where it is in the definition, e.g. `/States/Fetch`.
    pub pointer: String,
    /// The query language in force for it.
    pub query_language: QueryLanguage,
    /// Where it goes after it succeeds; Choice decides itself.
    pub transition: Transition,
    /// `InputPath` (JSONPath states).
    pub input_path: OptionalPath,
    /// `OutputPath` (JSONPath states).
    pub output_path: OptionalPath,
    /// `Output` (JSONata states).
    pub output: Option<Template>,
    /// `Assign`.
    pub assign: Option<Template>,
    /// What kind of state, with its own fields.
    pub kind: StateKind,
}

/// `InputPath` / `OutputPath`: absent means `$`, `null` means an empty object.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OptionalPath {
    /// Not given: the whole document.
    #[default]
    Whole,
    /// `null`: `{}`.
    Discard,
    /// A path.
    Path(JsonPath),
}

/// `ResultPath`: absent means `$`, `null` means the result is discarded.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ResultPath {
    /// Not given: the result replaces the input.
    #[default]
    Replace,
    /// `null`: the input passes through.
    Discard,
    /// A reference path into the input.
    Path(JsonPath),
}

/// The type-specific part of a state.
#[derive(Debug, Clone)]
pub enum StateKind {
    /// `Pass`.
    Pass(Pass),
    /// `Task`.
    Task(Box<Task>),
    /// `Choice`.
    Choice(Choice),
    /// `Wait`.
    Wait(Wait),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail(Fail),
    /// `Parallel`.
    Parallel(Box<Parallel>),
    /// `Map`.
    Map(Box<Map>),
}

impl StateKind {
    /// The `Type` as written in definitions and used in event names.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// A `Pass` state.
#[derive(Debug, Clone)]
pub struct Pass {
    /// `Result`.
    pub result: Option<Value>,
    /// `Parameters` (JSONPath).
    pub parameters: Option<Template>,
    /// `ResultPath`.
    pub result_path: ResultPath,
}

/// A `Task` state.
#[derive(Debug, Clone)]
pub struct Task {
    /// `Resource`.
    pub resource: Resource,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath`.
    pub result_path: ResultPath,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<Seconds>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Seconds>,
    /// `Credentials`, kept as written.
    pub credentials: Option<Template>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// A number of seconds that is written in the definition or read at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    /// A constant.
    Fixed(u64),
    /// A JSONPath into the state input.
    Path(JsonPath),
    /// A JSONata expression.
    Expression(Expression),
}

/// The `Resource` of a Task, classified.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The ARN as written, with any integration-pattern suffix.
    pub arn: String,
    /// What it points at.
    pub kind: ResourceKind,
    /// How the Task waits for it.
    pub pattern: IntegrationPattern,
}

/// What a Task resource names.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceKind {
    /// `arn:aws:states:REGION:ACCOUNT:activity:NAME`.
    Activity,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    LambdaFunction {
        /// The function name (or the whole ARN when it cannot be split).
        name: String,
    },
    /// `arn:aws:states:::SERVICE:ACTION[.pattern]`.
    Service {
        /// `lambda`, `sqs`, `states`, `aws-sdk:s3`, `http`, ...
        service: String,
        /// `invoke`, `sendMessage`, `startExecution`, ...
        action: String,
    },
    /// Anything else (kept so that mocks and custom handlers can still match it).
    Other,
}

/// How a Task waits for its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationPattern {
    /// Call and take the response.
    RequestResponse,
    /// `.sync`: wait for the job.
    Sync,
    /// `.sync:2`.
    Sync2,
    /// `.waitForTaskToken`: wait for `SendTaskSuccess`.
    WaitForTaskToken,
}

/// A `Choice` state.
#[derive(Debug, Clone)]
pub struct Choice {
    /// `Choices`, in order.
    pub choices: Vec<ChoiceBranch>,
    /// `Default`.
    pub default: Option<StateId>,
}

/// One entry of `Choices`.
#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    /// The rule.
    pub rule: ChoiceRule,
    /// Where to go when it matches.
    pub next: StateId,
    /// `Assign` of the rule.
    pub assign: Option<Template>,
    /// `Output` of the rule (JSONata).
    pub output: Option<Template>,
}

/// A `Wait` state.
#[derive(Debug, Clone)]
pub struct Wait {
    /// How long.
    pub until: WaitUntil,
}

/// What a Wait waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitUntil {
    /// `Seconds`, `SecondsPath` or a JSONata `Seconds`.
    Seconds(Seconds),
    /// `Timestamp` as epoch milliseconds.
    Timestamp(i64),
    /// `TimestampPath`.
    TimestampPath(JsonPath),
    /// A JSONata `Timestamp`.
    TimestampExpression(Expression),
}

/// A `Fail` state.
#[derive(Debug, Clone)]
pub struct Fail {
    /// `Error` / `ErrorPath`.
    pub error: Option<Text>,
    /// `Cause` / `CausePath`.
    pub cause: Option<Text>,
}

/// A string that is written in the definition or computed at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// A constant.
    Literal(String),
    /// A JSONPath (`ErrorPath`, `CausePath`).
    Path(JsonPath),
    /// An intrinsic function (`ErrorPath`, `CausePath`).
    Intrinsic(Box<Intrinsic>),
    /// A JSONata expression.
    Expression(Expression),
}

/// A `Parallel` state.
#[derive(Debug, Clone)]
pub struct Parallel {
    /// The branches, each a scope.
    pub branches: Vec<ScopeId>,
    /// `Parameters` / `Arguments`.
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath`.
    pub result_path: ResultPath,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// A `Map` state.
#[derive(Debug, Clone)]
pub struct Map {
    /// The processor (`ItemProcessor` or the legacy `Iterator`).
    pub processor: ScopeId,
    /// Inline or distributed.
    pub mode: MapMode,
    /// Where the items come from.
    pub items: ItemsSource,
    /// `ItemSelector` or the legacy `Parameters`.
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` / `MaxConcurrencyPath`; 0 means no limit.
    pub max_concurrency: MaxConcurrency,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath`.
    pub result_path: ResultPath,
    /// `ToleratedFailurePercentage(Path)`.
    pub tolerated_failure_percentage: Option<Tolerance>,
    /// `ToleratedFailureCount(Path)`.
    pub tolerated_failure_count: Option<Tolerance>,
    /// `ItemReader`: where a Distributed Map's items come from instead of its input.
    pub item_reader: Option<ItemReader>,
    /// `ItemBatcher`.
    pub item_batcher: Option<ItemBatcher>,
    /// `ResultWriter`: where a Distributed Map writes its children's results.
    pub result_writer: Option<ResultWriter>,
    /// `Label`: names the Map Run (default: the state's name).
    pub label: Option<String>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// Inline or distributed Map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    /// Iterations run inside the execution.
    Inline,
    /// Iterations run as child executions (`STANDARD` or `EXPRESS`).
    Distributed,
}

/// Where a Map's items come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemsSource {
    /// `ItemsPath` (absent means `$`).
    Path(JsonPath),
    /// `Items` as a JSONata template or constant array.
    Items(Template),
}

/// `MaxConcurrency` of a Map.
#[derive(Debug, Clone, PartialEq)]
pub enum MaxConcurrency {
    /// A constant; 0 is unlimited.
    Fixed(u32),
    /// `MaxConcurrencyPath`.
    Path(JsonPath),
    /// A JSONata expression.
    Expression(Expression),
}

/// A Distributed Map's `ItemReader`: a resource that reads the items (`s3:getObject` with a
/// `ReaderConfig.InputType`, or `s3:listObjectsV2`), called with `Parameters`/`Arguments`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReader {
    /// `Resource`.
    pub resource: Resource,
    /// `Parameters` or `Arguments`.
    pub parameters: Option<Template>,
    /// `ReaderConfig.InputType`: `JSON`, `JSONL`, `CSV`, `MANIFEST`, ... (none for a listing).
    pub input_type: Option<String>,
    /// `ReaderConfig.CSVHeaderLocation` is `GIVEN`: these `CSVHeaders`; else the first row.
    pub csv_headers: Option<Vec<String>>,
    /// `ReaderConfig.CSVDelimiter` as a character (default `,`).
    pub csv_delimiter: char,
    /// `ReaderConfig.MaxItems(Path)`: read at most so many items (0: all).
    pub max_items: Option<Tolerance>,
}

/// A Distributed Map's `ResultWriter`: `s3:putObject` with `Parameters`/`Arguments` naming
/// `Bucket` and `Prefix`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultWriter {
    /// `Resource`.
    pub resource: Resource,
    /// `Parameters` or `Arguments`.
    pub parameters: Option<Template>,
    /// `WriterConfig.OutputType` (`JSON` or `JSONL`), when given.
    pub output_type: Option<String>,
    /// `WriterConfig.Transformation` (`NONE`, `COMPACT`, `FLATTEN`), when given.
    pub transformation: Option<String>,
}

/// A Distributed Map's `ItemBatcher`: each child execution gets `{"Items": [...],
/// "BatchInput": ...}` with at most so many items and so many bytes of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch(Path)`.
    pub max_items: Option<Tolerance>,
    /// `MaxInputBytesPerBatch(Path)` (at most 256 KiB).
    pub max_bytes: Option<Tolerance>,
    /// `BatchInput`, a template.
    pub batch_input: Option<Template>,
}

/// A number given as a constant, a path or a JSONata expression: a tolerated-failure
/// threshold, or a batch limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Tolerance {
    /// A constant.
    Fixed(f64),
    /// A path.
    Path(JsonPath),
    /// A JSONata expression.
    Expression(Expression),
}

/// Which errors a retrier or catcher handles.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMatcher {
    /// `ErrorEquals`, as written.
    pub names: Vec<String>,
}

impl ErrorMatcher {
    /// Whether `error` is handled, by AWS's rules: a name matches itself; `States.ALL` matches
    /// every error but the terminal `States.DataLimitExceeded` and `States.Runtime`;
    /// `States.TaskFailed` matches the same except `States.Timeout`.
    pub fn matches(&self, error: &str) -> bool {
        self.names.iter().any(|name| match name.as_str() {
            "States.ALL" => error != "States.DataLimitExceeded" && error != "States.Runtime",
            "States.TaskFailed" => {
                error != "States.Timeout"
                    && error != "States.DataLimitExceeded"
                    && error != "States.Runtime"
            }
            other => other == error,
        })
    }
}

/// One entry of `Retry`. Its numbers are within AWS's bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub errors: ErrorMatcher,
    /// `IntervalSeconds`, at least 1.
    pub interval_seconds: u64,
    /// `MaxAttempts`, 0 means never retry.
    pub max_attempts: u32,
    /// `BackoffRate`, at least 1.0.
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy: FULL`.
    pub jitter_full: bool,
}

/// One entry of `Catch`.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub errors: ErrorMatcher,
    /// `Next`.
    pub next: StateId,
    /// `ResultPath` (default `$`).
    pub result_path: ResultPath,
    /// `Assign`.
    pub assign: Option<Template>,
    /// `Output` (JSONata).
    pub output: Option<Template>,
}
