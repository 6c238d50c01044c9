//! Task handlers: how Task states reach their work.
//!
//! [`Integrations`] routes each Task by its resource: functions (the function ARN and
//! `lambda:invoke`) to local commands, Lambda-style handlers, worker pools or HTTP endpoints; the
//! HTTP Task; Batch/ECS/Glue jobs to commands; `states:startExecution` to nested executions. All
//! of them are named in the project configuration ([`config::Config`], `aslan.toml`). [`mock`]
//! holds Step Functions Local's mocked responses, which take precedence for the states they name.

mod aws;
mod buckets;
pub mod config;
pub mod function;
mod http;
mod jobs;
mod lambda;
pub mod mock;
mod process;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aslan_asl::definition::{IntegrationPattern, ResourceKind};
use aslan_engine::{TaskError, TaskFuture, TaskHandler};
use aslan_interp::TaskRequest;
use serde_json::{Value, json};

pub use aws::AwsConfig;
pub use config::{Config, ConfigError};
pub use function::{Caller, Function, Invocation};
pub use mock::{MockConfig, MockError, MockHandler};

/// A boxed future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A nested execution to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedStart {
    /// The state machine.
    pub state_machine_arn: String,
    /// The execution name.
    pub name: String,
    /// The input, as JSON text.
    pub input: String,
    /// The parent execution.
    pub parent_execution_arn: String,
}

/// How a nested execution ended, as `DescribeExecution` says.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedEnd {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The output text, when it succeeded.
    pub output: Option<String>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// When it stopped, ms since the epoch.
    pub stop_ms: i64,
}

/// Starts and watches executions for `arn:aws:states:::states:startExecution`; the server
/// implements it over its engine, `aslan run` over in-process runs.
pub trait Executions: Send + Sync {
    /// Starts an execution (idempotent for the same name and input); answers its ARN and start time.
    fn start(&self, request: NestedStart) -> BoxFuture<Result<(String, i64), TaskError>>;
    /// Waits for the execution to end.
    fn wait(&self, execution_arn: String) -> BoxFuture<Result<NestedEnd, TaskError>>;
    /// Stops the execution (its parent stopped or no longer waits).
    fn stop(&self, execution_arn: String);
    /// Calls this engine's own Step Functions API (`aws-sdk:sfn:ACTION`): the operation name and
    /// its request in the API's own (camelCase) form; errors as `(code, message, status)`.
    fn sfn_api(
        &self,
        operation: String,
        request: Value,
    ) -> BoxFuture<Result<Value, (String, String, u16)>>;
}

/// `aws-sdk:sfn:ACTION` on this engine: the SDK's PascalCase parameters become the API's
/// camelCase members, the answer's members PascalCase again, errors `Sfn.XxxException`.
async fn local_sfn(
    executions: &dyn Executions,
    action: &str,
    parameters: &Value,
) -> Result<Value, TaskError> {
    fn recase(value: &Value, upper: bool) -> Value {
        match value {
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(k, v)| {
                        let mut chars = k.chars();
                        let first = chars.next().map(|c| {
                            if upper {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            }
                        });
                        (first.into_iter().chain(chars).collect(), recase(v, upper))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|i| recase(i, upper)).collect()),
            other => other.clone(),
        }
    }
    let mut request = recase(parameters, false);
    // The SDK sends a JSON document for Input/Output: an object given here is serialised.
    for field in ["input", "output"] {
        if let Some(value) = request.get_mut(field)
            && !value.is_string()
        {
            *value = Value::String(value.to_string());
        }
    }
    let mut operation = action.to_owned();
    if let Some(first) = operation.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    match executions.sfn_api(operation, request).await {
        Ok(answer) => Ok(recase(&answer, true)),
        Err((code, message, status)) => {
            let class = if code.ends_with("Exception") {
                code
            } else {
                format!("{code}Exception")
            };
            Err(TaskError::new(
                format!("Sfn.{class}"),
                format!(
                    "{message} (Service: Sfn, Status Code: {status}, Request ID: {})",
                    uuid::Uuid::new_v4()
                ),
            ))
        }
    }
}

#[derive(Clone)]
struct Inner {
    functions: BTreeMap<String, Arc<Function>>,
    jobs: BTreeMap<String, config::JobConfig>,
    base: std::path::PathBuf,
    connections: Arc<http::Connections>,
    http: reqwest::Client,
    executions: Option<Arc<dyn Executions>>,
    mock: Option<Arc<MockHandler>>,
    callbacks: bool,
    aws: Arc<aws::Aws>,
    buckets: buckets::Buckets,
}

/// Routes Task states to their work; see the crate documentation.
#[derive(Clone)]
pub struct Integrations {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integrations")
            .field(
                "functions",
                &self.inner.functions.keys().collect::<Vec<_>>(),
            )
            .field("jobs", &self.inner.jobs.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An HTTP client with rustls on ring.
fn http_client() -> Result<reqwest::Client, ConfigError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| ConfigError {
            message: format!("cannot build the HTTP client: {e}"),
        })
}

impl Integrations {
    /// Builds the handlers a configuration names (an empty configuration is fine).
    pub fn new(config: &Config) -> Result<Integrations, ConfigError> {
        let http = http_client()?;
        let mut functions = BTreeMap::new();
        for (name, function) in &config.functions {
            let built = Function::new(name, function, &config.base_dir, &http)
                .map_err(|message| ConfigError { message })?;
            functions.insert(name.clone(), Arc::new(built));
        }
        Ok(Integrations {
            inner: Arc::new(Inner {
                functions,
                jobs: config.jobs.clone(),
                base: config.base_dir.clone(),
                connections: Arc::new(http::Connections::new(
                    config.connections.clone(),
                    &config.base_dir,
                )),
                http: http.clone(),
                executions: None,
                mock: None,
                callbacks: false,
                aws: Arc::new(aws::Aws::new(config.aws.clone(), &config.base_dir, http)),
                buckets: buckets::Buckets::new(
                    config
                        .buckets
                        .iter()
                        .map(|(name, path)| (name.clone(), config.resolve(path)))
                        .collect(),
                ),
            }),
        })
    }

    /// Routes `states:startExecution` to `executions`.
    pub fn with_executions(self, executions: Arc<dyn Executions>) -> Integrations {
        self.map(|inner| inner.executions = Some(executions))
    }

    /// The host takes task tokens back (`SendTaskSuccess`): `.waitForTaskToken` tasks hand
    /// their work over and wait. Without it such tasks fail with `aslan.CallbackUnavailable`
    /// (`aslan run` turns it on when a workflow waits for tokens).
    pub fn with_callbacks(self) -> Integrations {
        self.map(|inner| inner.callbacks = true)
    }

    /// Answers the states a mock test case names from it.
    pub fn with_mock(self, mock: MockHandler) -> Integrations {
        self.map(|inner| inner.mock = Some(Arc::new(mock)))
    }

    fn map(self, change: impl FnOnce(&mut Inner)) -> Integrations {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        Integrations {
            inner: Arc::new(inner),
        }
    }
}

fn not_configured(request: &TaskRequest, hint: &str) -> TaskError {
    TaskError::new(
        "aslan.TaskNotConfigured",
        format!(
            "No integration is configured for the resource '{}' of the state '{}'. {hint}",
            request.resource.arn, request.state_name
        ),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters (query strings, forms,
/// SigV4-signed paths).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Now, in milliseconds since the Unix epoch (integrations run outside the pure core).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl TaskHandler for Integrations {
    fn invoke(&self, request: &TaskRequest) -> TaskFuture {
        if let Some(mock) = &self.inner.mock
            && mock.has(&request.state_name)
        {
            return mock.invoke(request);
        }
        let inner = self.inner.clone();
        let request = request.clone();
        Box::pin(async move { inner.run(request).await })
    }
}

impl Inner {
    fn caller(&self, request: &TaskRequest, function_arn: String) -> Caller {
        let (region, _) = lambda::region_account(&request.execution_arn);
        Caller {
            execution: request.execution_arn.clone(),
            state: request.state_name.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            function_arn,
            region,
        }
    }

    async fn run(&self, request: TaskRequest) -> Result<Value, TaskError> {
        if request.resource.pattern == IntegrationPattern::WaitForTaskToken && !self.callbacks {
            return Err(TaskError::new(
                "aslan.CallbackUnavailable",
                format!(
                    "The state '{}' waits for a task token, which comes back through SendTaskSuccess/SendTaskFailure: run it with `aslan serve`, or mock it.",
                    request.state_name
                ),
            ));
        }
        match &request.resource.kind {
            ResourceKind::LambdaFunction { name } => {
                let caller = self.caller(&request, request.resource.arn.clone());
                let payload = serde_json::to_vec(&request.parameters).unwrap_or_default();
                let Some(function) = self.functions.get(name) else {
                    if !self.aws.configured() {
                        return Err(lambda::not_found(&caller, name, None));
                    }
                    // Not a local function: AWS Lambda (or the emulator [aws] names).
                    let (_, qualifier) = lambda::split_function_name(&request.resource.arn);
                    let (_, invocation) = self
                        .aws
                        .lambda_invoke(
                            name,
                            qualifier.as_deref(),
                            payload,
                            false,
                            &request.execution_arn,
                        )
                        .await?;
                    return lambda::legacy_result(invocation);
                };
                lambda::legacy_result(function.invoke(payload, &caller).await)
            }
            ResourceKind::Service { service, action } => {
                match (service.as_str(), action.as_str()) {
                    ("lambda", "invoke") => self.lambda_invoke(&request).await,
                    ("http", "invoke") => {
                        let timeout = request.timeout_seconds.map(std::time::Duration::from_secs);
                        http::invoke(&self.http, &self.connections, &request.parameters, timeout)
                            .await
                    }
                    ("states", "startExecution") => self.start_execution(&request).await,
                    (service, action) => match jobs::Service::of(service, action) {
                        Some(kind) => {
                            let (region, account) = lambda::region_account(&request.execution_arn);
                            jobs::run(
                                &self.jobs,
                                &self.base,
                                jobs::JobRequest {
                                    service: kind,
                                    wait: matches!(
                                        request.resource.pattern,
                                        IntegrationPattern::Sync | IntegrationPattern::Sync2
                                    ),
                                    parameters: &request.parameters,
                                    execution: &request.execution_arn,
                                    state: &request.state_name,
                                    region: &region,
                                    account: &account,
                                },
                            )
                            .await
                        }
                        None => {
                            let (name, optimized) = match service.strip_prefix("aws-sdk:") {
                                Some(name) => (name, false),
                                None => (service, true),
                            };
                            // A bucket named in [buckets] is a local directory.
                            if name == "s3" && self.buckets.directory(&request.parameters).is_some()
                            {
                                return self.buckets.call(action, &request.parameters).await;
                            }
                            // Step Functions is this engine, unless [aws] sends it elsewhere.
                            if name == "sfn"
                                && !self.aws.has_endpoint("sfn")
                                && let Some(executions) = &self.executions
                            {
                                return local_sfn(executions.as_ref(), action, &request.parameters)
                                    .await;
                            }
                            self.aws
                                .call(
                                    name,
                                    action,
                                    &request.parameters,
                                    optimized,
                                    &request.execution_arn,
                                )
                                .await
                        }
                    },
                }
            }
            ResourceKind::Activity => Err(not_configured(
                &request,
                "Activities are served by `aslan serve` (GetActivityTask).",
            )),
            ResourceKind::Other => Err(not_configured(&request, "The resource is not known.")),
        }
    }

    async fn lambda_invoke(&self, request: &TaskRequest) -> Result<Value, TaskError> {
        let parameters = &request.parameters;
        let Some(reference) = parameters.get("FunctionName").and_then(Value::as_str) else {
            return Err(TaskError::new(
                "States.Runtime",
                "lambda:invoke needs FunctionName, a string.",
            ));
        };
        let (name, qualifier) = lambda::split_function_name(reference);
        let qualifier = qualifier.or_else(|| {
            parameters
                .get("Qualifier")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let mut caller = self.caller(request, String::new());
        caller.function_arn = lambda::function_arn(&caller, &name, qualifier.as_deref());
        let payload = lambda::invoke_payload(parameters);
        let date = aslan_types::Timestamp::from_millis(now_ms()).format_http_date();
        let asynchronous =
            parameters.get("InvocationType").and_then(Value::as_str) == Some("Event");
        let Some(function) = self.functions.get(&name).cloned() else {
            if !self.aws.configured() {
                return Err(lambda::not_found(&caller, &name, qualifier.as_deref()));
            }
            // Not a local function: AWS Lambda (or the emulator [aws] names).
            let (status, invocation) = self
                .aws
                .lambda_invoke(
                    &name,
                    qualifier.as_deref(),
                    payload,
                    asynchronous,
                    &request.execution_arn,
                )
                .await?;
            return lambda::invoke_result(invocation, status, &caller.request_id, &date);
        };
        if asynchronous {
            let background = caller.clone();
            tokio::spawn(async move {
                let _ = function.invoke(payload, &background).await;
            });
            return Ok(lambda::invoke_envelope(b"", 202, &caller.request_id, &date));
        }
        let invocation = function.invoke(payload, &caller).await;
        lambda::invoke_result(invocation, 200, &caller.request_id, &date)
    }

    async fn start_execution(&self, request: &TaskRequest) -> Result<Value, TaskError> {
        let Some(executions) = self.executions.clone() else {
            return Err(not_configured(
                request,
                "Nested executions need `aslan serve`, or [state_machines] in aslan.toml for `aslan run`.",
            ));
        };
        let parameters = &request.parameters;
        let Some(state_machine_arn) = parameters.get("StateMachineArn").and_then(Value::as_str)
        else {
            return Err(TaskError::new(
                "States.Runtime",
                "states:startExecution needs StateMachineArn, a string.",
            ));
        };
        let input = match parameters.get("Input") {
            None => "{}".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        // A name fixed by the parent and the task, so that a re-sent start (after a restart) is
        // the same execution.
        let name = match parameters.get("Name").and_then(Value::as_str) {
            Some(name) => name.to_owned(),
            None => derived_name(&request.execution_arn, request.id.0, request.retry_count),
        };
        let (arn, start_ms) = executions
            .start(NestedStart {
                state_machine_arn: state_machine_arn.to_owned(),
                name: name.clone(),
                input: input.clone(),
                parent_execution_arn: request.execution_arn.clone(),
            })
            .await?;
        let pattern = request.resource.pattern;
        if pattern == IntegrationPattern::RequestResponse {
            return Ok(json!({"ExecutionArn": arn, "StartDate": start_ms}));
        }
        // From here on the child belongs to this task: if the task is dropped (the parent
        // stopped, timed out or a sibling failed), the child is stopped too.
        let mut guard = StopGuard {
            executions: executions.clone(),
            arn: Some(arn.clone()),
        };
        if pattern == IntegrationPattern::WaitForTaskToken {
            // The task ends when someone sends its token; the engine keeps waiting.
            guard.arn = None;
            return Ok(json!({"ExecutionArn": arn, "StartDate": start_ms}));
        }
        let end = executions.wait(arn.clone()).await;
        guard.arn = None;
        let end = end?;
        let parsed = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        let sync2 = pattern == IntegrationPattern::Sync2;
        let mut described = json!({
            "ExecutionArn": arn,
            "Input": if sync2 { parsed(&input) } else { Value::String(input.clone()) },
            "InputDetails": {"Included": true},
            "Name": name,
            "StartDate": start_ms,
            "StateMachineArn": state_machine_arn,
            "Status": end.status,
            "StopDate": end.stop_ms,
        });
        if let Some(output) = &end.output {
            described["Output"] = if sync2 {
                parsed(output)
            } else {
                Value::String(output.clone())
            };
            described["OutputDetails"] = json!({"Included": true});
        }
        if let Some(error) = &end.error {
            described["Error"] = json!(error);
        }
        if let Some(cause) = &end.cause {
            described["Cause"] = json!(cause);
        }
        if end.status == "SUCCEEDED" {
            Ok(described)
        } else {
            Err(TaskError::new("States.TaskFailed", described.to_string()))
        }
    }
}

struct StopGuard {
    executions: Arc<dyn Executions>,
    arn: Option<String>,
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        if let Some(arn) = self.arn.take() {
            self.executions.stop(arn);
        }
    }
}

/// A child execution name derived from its parent and task: at most 80 characters, unique.
fn derived_name(parent: &str, task: u64, retry: u32) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parent.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}-{task}-{retry}")
}
