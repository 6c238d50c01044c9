//! The AWS Step Functions API (AWS JSON 1.0): `POST /` with `X-Amz-Target:
//! AWSStepFunctions.<Operation>`, errors as `{"__type", "message"}` with HTTP 400.
//!
//! Each operation is a function from the request body to the response body; [`Error`] maps
//! every failure to AWS's error name in one place.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aslan_asl::{Definition, LoadOptions, MachineType, Severity};
use aslan_engine::TaskError;
use aslan_engine::durable::{Engine, EngineError, StartRequest};
use aslan_interp::Outcome;
use aslan_store::{Activity, ExecutionQuery, StateMachine, Store};
use aslan_types::Timestamp;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The largest input or output AWS accepts (256 KiB).
pub const MAX_PAYLOAD: usize = 262_144;

/// Everything the operations share.
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The engine.
    pub engine: Engine,
    /// The account in ARNs.
    pub account: String,
    /// Parsed definitions by revision.
    pub definitions: Mutex<HashMap<String, Arc<Definition>>>,
    /// Counter for revision ids and names.
    pub counter: std::sync::atomic::AtomicU64,
    /// Turns true when the server begins to shut down (long polls end).
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// An API error: AWS's error name and a message.
#[derive(Debug)]
pub struct Error {
    /// `ExecutionDoesNotExist`, `InvalidArn`, ...
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The HTTP status.
    pub status: StatusCode,
}

impl Error {
    /// An error the client caused (HTTP 400).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        Error {
            code: "InternalServerError",
            message: message.into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message});
        (
            self.status,
            [("content-type", "application/x-amz-json-1.0")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<aslan_store::Error> for Error {
    fn from(error: aslan_store::Error) -> Self {
        Error::internal(error.to_string())
    }
}

impl From<EngineError> for Error {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::ExecutionAlreadyExists(arn) => Error::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ),
            EngineError::ExecutionDoesNotExist(arn) => Error::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            ),
            EngineError::InvalidToken(_) => {
                Error::new("InvalidToken", "Invalid Token: 'Invalid token'")
            }
            EngineError::TaskTimedOut(_) => Error::new(
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'",
            ),
            EngineError::Storage(message) => Error::internal(message),
            EngineError::Stopped => Error::internal("the engine has stopped"),
        }
    }
}

type Outcome2 = Result<Value, Error>;

/// The operation (`X-Amz-Target: AWSStepFunctions.<Operation>`) and JSON body of a request, or
/// the error answer for a request that is neither.
pub(crate) fn parse_request<'a>(
    headers: &'a HeaderMap,
    body: &[u8],
) -> Result<(&'a str, Value), Error> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix("AWSStepFunctions.") else {
        return Err(Error::new(
            "UnknownOperationException",
            format!("Unknown operation: '{target}'"),
        ));
    };
    if body.is_empty() {
        return Ok((operation, json!({})));
    }
    match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => Ok((operation, value)),
        _ => Err(Error::new(
            "SerializationException",
            "The request body is not a JSON object",
        )),
    }
}

/// The answer to a request, logged, with the request id every AWS response carries.
pub(crate) fn respond(operation: &str, result: Result<Value, Error>) -> Response {
    match &result {
        Ok(_) => tracing::debug!(operation, "request"),
        Err(error) if error.status.is_server_error() => {
            tracing::error!(operation, code = error.code, message = %error.message, "request failed")
        }
        Err(error) => tracing::info!(operation, code = error.code, "request refused"),
    }
    let mut response = match result {
        Ok(value) => (
            [("content-type", "application/x-amz-json-1.0")],
            value.to_string(),
        )
            .into_response(),
        Err(error) => error.into_response(),
    };
    // SDKs put the request id in their response metadata.
    if let Ok(id) = axum::http::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// Dispatches one request.
pub async fn handle(state: Arc<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (operation, request) = match parse_request(&headers, &body) {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    let region = region_of(&headers);
    let result = call(&state, operation, &region, &request).await;
    respond(operation, result)
}

/// The region of a request, from its SigV4 credential scope (any region works).
fn region_of(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(2))
        .filter(|region| !region.is_empty())
        .unwrap_or("us-east-1")
        .to_owned()
}

fn epoch(ms: i64) -> Value {
    json!(Timestamp::from_millis(ms).to_epoch_seconds_f64())
}

struct Ctx<'a> {
    state: &'a Arc<AppState>,
    region: &'a str,
    request: &'a Value,
}

/// The parts of a Step Functions ARN this API needs.
struct Arn<'a> {
    region: &'a str,
    account: &'a str,
    kind: &'a str,
    rest: Vec<&'a str>,
}

fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" || parts[1].is_empty() {
        return None;
    }
    Some(Arn {
        region: parts[3],
        account: parts[4],
        kind: parts[5],
        rest: parts[6..].to_vec(),
    })
}

fn invalid_arn(arn: &str) -> Error {
    Error::new(
        "InvalidArn",
        format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
    )
}

impl Ctx<'_> {
    fn string(&self, field: &str) -> Option<&str> {
        self.request.get(field).and_then(Value::as_str)
    }

    fn required(&self, field: &str) -> Result<&str, Error> {
        match self.string(field) {
            Some(value) => Ok(value),
            None => Err(Error::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
                ),
            )),
        }
    }

    fn limit(&self) -> Result<usize, Error> {
        match self.request.get("maxResults").and_then(Value::as_i64) {
            None | Some(0) => Ok(100),
            Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
            Some(n) => Err(Error::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
                ),
            )),
        }
    }

    fn next_token(&self) -> Result<Option<String>, Error> {
        match self.string("nextToken") {
            None => Ok(None),
            Some(token) => token
                .strip_prefix("aslan1:")
                .map(|t| Some(t.to_owned()))
                .ok_or_else(|| {
                    Error::new("InvalidToken", "Invalid Token: 'Invalid pagination token'")
                }),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> aslan_store::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let store = self.state.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(Error::from)
    }

    async fn machine(&self, arn: &str) -> Result<StateMachine, Error> {
        match parse_arn(arn) {
            Some(parsed) if parsed.kind == "stateMachine" && parsed.rest.len() == 1 => {}
            _ => return Err(invalid_arn(arn)),
        }
        let key = arn.to_owned();
        self.blocking(move |s| s.get_state_machine(&key))
            .await?
            .ok_or_else(|| {
                Error::new(
                    "StateMachineDoesNotExist",
                    format!("State Machine Does Not Exist: '{arn}'"),
                )
            })
    }

    fn definition_for(
        &self,
        machine_type: &str,
        revision: &str,
        text: &str,
    ) -> Result<Arc<Definition>, Error> {
        let mut cache = self
            .state
            .definitions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(definition) = cache.get(revision) {
            return Ok(definition.clone());
        }
        let parsed = aslan_asl::parse(
            text,
            LoadOptions {
                machine_type: machine_type_of(machine_type),
            },
        );
        match parsed.definition {
            Some(definition) if !parsed.diagnostics.has_errors() => {
                let definition = Arc::new(definition);
                cache.insert(revision.to_owned(), definition.clone());
                Ok(definition)
            }
            _ => Err(Error::new(
                "InvalidDefinition",
                parsed.diagnostics.invalid_definition_message(),
            )),
        }
    }

    fn new_revision(&self) -> String {
        let n = self
            .state
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("{:x}-{:x}", aslan_engine::SystemClock::read(), n)
    }

    async fn create_state_machine(&self) -> Outcome2 {
        let name = self.required("name")?;
        let definition = self.required("definition")?;
        let role_arn = self.required("roleArn")?;
        if !is_role_arn(role_arn) {
            return Err(Error::new(
                "InvalidArn",
                format!("Invalid Role Arn: '{role_arn}'"),
            ));
        }
        aslan_types::validate_name(name)
            .map_err(|_| Error::new("InvalidName", format!("Invalid Name: '{name}'")))?;
        let machine_type = self.string("type").unwrap_or("STANDARD");
        if !matches!(machine_type, "STANDARD" | "EXPRESS") {
            return Err(Error::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{machine_type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
                ),
            ));
        }
        let parsed = aslan_asl::parse(
            definition,
            LoadOptions {
                machine_type: machine_type_of(machine_type),
            },
        );
        if parsed.diagnostics.has_errors() || parsed.definition.is_none() {
            return Err(Error::new(
                "InvalidDefinition",
                parsed.diagnostics.invalid_definition_message(),
            ));
        }
        let arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.region, self.state.account
        );
        let record = StateMachine {
            arn: arn.clone(),
            name: name.to_owned(),
            machine_type: machine_type.to_owned(),
            definition: definition.to_owned(),
            role_arn: role_arn.to_owned(),
            created_ms: aslan_engine::SystemClock::read(),
            revision_id: self.new_revision(),
            description: self.string("description").map(str::to_owned),
            logging: self
                .request
                .get("loggingConfiguration")
                .map(Value::to_string),
            tracing: self
                .request
                .get("tracingConfiguration")
                .map(Value::to_string),
        };
        let to_store = record.clone();
        match self
            .blocking(move |s| s.create_state_machine(&to_store))
            .await
        {
            Ok(()) => {}
            // Only a taken name means "exists"; any other storage failure is reported as such.
            Err(error) if !error.message.starts_with("already exists") => return Err(error),
            Err(_) => {
                // AWS: creating the same state machine again is idempotent; anything else is a conflict.
                let key = arn.clone();
                let existing = self.blocking(move |s| s.get_state_machine(&key)).await?;
                match existing {
                    Some(existing)
                        // AWS compares the definition, type and logging and tracing settings; a
                        // different role keeps the first one.
                        if existing.definition == record.definition
                            && existing.machine_type == record.machine_type
                            && same_json(existing.logging.as_deref(), record.logging.as_deref())
                            && same_json(existing.tracing.as_deref(), record.tracing.as_deref()) =>
                    {
                        return Ok(
                            json!({"stateMachineArn": arn, "creationDate": epoch(existing.created_ms)}),
                        );
                    }
                    _ => {
                        return Err(Error::new(
                            "StateMachineAlreadyExists",
                            format!("State Machine Already Exists: '{arn}'"),
                        ));
                    }
                }
            }
        }
        if let Some(tags) = self.request.get("tags").and_then(Value::as_array) {
            let pairs = tag_pairs(tags);
            let key = arn.clone();
            self.blocking(move |s| s.tag(&key, &pairs)).await?;
        }
        Ok(json!({"stateMachineArn": arn, "creationDate": epoch(record.created_ms)}))
    }

    async fn describe_state_machine(&self) -> Outcome2 {
        let arn = self.required("stateMachineArn")?;
        let machine = self.machine(arn).await?;
        Ok(describe_machine(&machine))
    }

    async fn update_state_machine(&self) -> Outcome2 {
        let arn = self.required("stateMachineArn")?;
        let mut machine = self.machine(arn).await?;
        let definition = self.string("definition");
        let role_arn = self.string("roleArn");
        if definition.is_none()
            && role_arn.is_none()
            && self.request.get("loggingConfiguration").is_none()
            && self.request.get("tracingConfiguration").is_none()
        {
            return Err(Error::new(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if let Some(definition) = definition {
            let parsed = aslan_asl::parse(
                definition,
                LoadOptions {
                    machine_type: machine_type_of(&machine.machine_type),
                },
            );
            if parsed.diagnostics.has_errors() {
                return Err(Error::new(
                    "InvalidDefinition",
                    parsed.diagnostics.invalid_definition_message(),
                ));
            }
            machine.definition = definition.to_owned();
        }
        if let Some(role_arn) = role_arn {
            machine.role_arn = role_arn.to_owned();
        }
        if let Some(logging) = self.request.get("loggingConfiguration") {
            machine.logging = Some(logging.to_string());
        }
        if let Some(tracing) = self.request.get("tracingConfiguration") {
            machine.tracing = Some(tracing.to_string());
        }
        machine.revision_id = self.new_revision();
        let update_ms = aslan_engine::SystemClock::read();
        let record = machine.clone();
        self.blocking(move |s| s.update_state_machine(&record))
            .await?;
        Ok(json!({"updateDate": epoch(update_ms), "revisionId": machine.revision_id}))
    }

    async fn delete_state_machine(&self) -> Outcome2 {
        let arn = self.required("stateMachineArn")?.to_owned();
        match parse_arn(&arn) {
            Some(parsed) if parsed.kind == "stateMachine" => {}
            _ => return Err(invalid_arn(&arn)),
        }
        self.blocking(move |s| s.delete_state_machine(&arn)).await?;
        Ok(json!({}))
    }

    async fn list_state_machines(&self) -> Outcome2 {
        let limit = self.limit()?;
        let after = self.next_token()?;
        let machines = self
            .blocking(move |s| s.list_state_machines(after.as_deref(), limit + 1))
            .await?;
        let more = machines.len() > limit;
        let items: Vec<Value> = machines
            .iter()
            .take(limit)
            .map(|m| json!({"stateMachineArn": m.arn, "name": m.name, "type": m.machine_type, "creationDate": epoch(m.created_ms)}))
            .collect();
        let mut response = json!({"stateMachines": items});
        if more && let Some(last) = machines.get(limit - 1) {
            response["nextToken"] = json!(format!("aslan1:{}", last.arn));
        }
        Ok(response)
    }

    async fn execution(&self, arn: &str) -> Result<aslan_store::Execution, Error> {
        match parse_arn(arn) {
            Some(parsed) if parsed.kind == "execution" && parsed.rest.len() == 2 => {}
            Some(parsed) if parsed.kind == "express" => {
                return Err(Error::new(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                ));
            }
            _ => return Err(invalid_arn(arn)),
        }
        let key = arn.to_owned();
        self.blocking(move |s| s.get_execution(&key))
            .await?
            .ok_or_else(|| {
                Error::new(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })
    }

    async fn describe_state_machine_for_execution(&self) -> Outcome2 {
        let arn = self.required("executionArn")?;
        let execution = self.execution(arn).await?;
        let name = execution
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default();
        Ok(json!({
            "stateMachineArn": execution.state_machine_arn,
            "name": name,
            "definition": execution.definition,
            "roleArn": execution.role_arn,
            "updateDate": epoch(revision_time(&execution.revision_id).unwrap_or(execution.start_ms)),
            "revisionId": execution.revision_id,
            "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
            "tracingConfiguration": {"enabled": false},
        }))
    }

    async fn start_execution(&self, sync: bool) -> Outcome2 {
        let machine_arn = self.required("stateMachineArn")?;
        let machine = self.machine(machine_arn).await?;
        let express = machine.machine_type == "EXPRESS";
        if sync && !express {
            return Err(Error::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let name = match self.string("name") {
            Some(name) => {
                aslan_types::validate_name(name)
                    .map_err(|_| Error::new("InvalidName", format!("Invalid Name: '{name}'")))?;
                name.to_owned()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let input_text = self.string("input").unwrap_or("{}").to_owned();
        if input_text.len() > MAX_PAYLOAD {
            return Err(Error::new(
                "InvalidExecutionInput",
                "Invalid State Machine Execution Input: 'The input exceeds the maximum size of 262144 bytes'",
            ));
        }
        let input: Value = serde_json::from_str(&input_text).map_err(|e| {
            Error::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let parsed = parse_arn(machine_arn).ok_or_else(|| invalid_arn(machine_arn))?;
        let execution_arn = if express {
            format!(
                "arn:aws:states:{}:{}:express:{}:{name}:{}",
                parsed.region,
                parsed.account,
                machine.name,
                uuid::Uuid::new_v4()
            )
        } else {
            format!(
                "arn:aws:states:{}:{}:execution:{}:{name}",
                parsed.region, parsed.account, machine.name
            )
        };
        if !express {
            // A closed execution keeps its name; a running one with the same input is the same execution.
            let key = execution_arn.clone();
            if let Some(existing) = self.blocking(move |s| s.get_execution(&key)).await? {
                if existing.status == "RUNNING" && existing.input == input_text {
                    return Ok(
                        json!({"executionArn": existing.arn, "startDate": epoch(existing.start_ms)}),
                    );
                }
                return Err(Error::new(
                    "ExecutionAlreadyExists",
                    format!("Execution Already Exists: '{execution_arn}'"),
                ));
            }
        }
        let definition = self.definition_for(
            &machine.machine_type,
            &machine.revision_id,
            &machine.definition,
        )?;
        let request = StartRequest {
            execution_arn: execution_arn.clone(),
            name: name.clone(),
            state_machine_arn: machine.arn.clone(),
            state_machine_name: machine.name.clone(),
            revision_id: machine.revision_id.clone(),
            definition_text: machine.definition.clone(),
            definition,
            role_arn: machine.role_arn.clone(),
            input_text: input_text.clone(),
            input,
            express,
        };
        if !sync {
            let started = self.state.engine.start(request).await?;
            return Ok(
                json!({"executionArn": started.execution_arn, "startDate": epoch(started.start_ms)}),
            );
        }
        let finished = self.state.engine.start_sync(request).await?;
        let mut response = json!({
            "executionArn": execution_arn,
            "stateMachineArn": machine.arn,
            "name": name,
            "startDate": epoch(finished.start_ms),
            "stopDate": epoch(finished.stop_ms),
            "input": input_text,
            "inputDetails": {"included": true},
            "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": (finished.stop_ms - finished.start_ms).max(100)},
        });
        let timed_out = matches!(finished.outcome, Outcome::TimedOut { .. });
        match finished.outcome {
            Outcome::Succeeded(output) => {
                response["status"] = json!("SUCCEEDED");
                response["output"] = json!(output.to_string());
                response["outputDetails"] = json!({"included": true});
            }
            Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
                // The status follows how the execution ended, not the error's name: a Task's
                // uncaught States.Timeout fails the execution.
                response["status"] = json!(if timed_out { "TIMED_OUT" } else { "FAILED" });
                if !error.is_empty() {
                    response["error"] = json!(error);
                }
                if !cause.is_empty() {
                    response["cause"] = json!(cause);
                }
            }
            Outcome::Aborted { error, cause } => {
                response["status"] = json!("FAILED");
                if let Some(error) = error {
                    response["error"] = json!(error);
                }
                if let Some(cause) = cause {
                    response["cause"] = json!(cause);
                }
            }
        }
        Ok(response)
    }

    async fn stop_execution(&self) -> Outcome2 {
        let arn = self.required("executionArn")?;
        if !arn.contains(":express:") {
            let execution = self.execution(arn).await?;
            if execution.status != "RUNNING" {
                return Err(Error::new(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                ));
            }
        }
        let stop_ms = self
            .state
            .engine
            .stop(
                arn,
                self.string("error").map(str::to_owned),
                self.string("cause").map(str::to_owned),
            )
            .await?;
        Ok(json!({"stopDate": epoch(stop_ms)}))
    }

    async fn describe_execution(&self) -> Outcome2 {
        let arn = self.required("executionArn")?;
        let e = self.execution(arn).await?;
        let mut response = json!({
            "executionArn": e.arn,
            "stateMachineArn": e.state_machine_arn,
            "name": e.name,
            "status": e.status,
            "startDate": epoch(e.start_ms),
            "input": e.input,
            "inputDetails": {"included": true},
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
        });
        if let Some(stop_ms) = e.stop_ms {
            response["stopDate"] = epoch(stop_ms);
        }
        if let Some(output) = &e.output {
            response["output"] = json!(output);
            response["outputDetails"] = json!({"included": true});
        }
        if let Some(error) = &e.error {
            response["error"] = json!(error);
        }
        if let Some(cause) = &e.cause {
            response["cause"] = json!(cause);
        }
        Ok(response)
    }

    async fn list_executions(&self) -> Outcome2 {
        let machine_arn = self.required("stateMachineArn")?;
        let machine = self.machine(machine_arn).await?;
        if machine.machine_type == "EXPRESS" {
            return Err(Error::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let limit = self.limit()?;
        let status = self.string("statusFilter").map(str::to_owned);
        if let Some(status) = &status
            && !matches!(
                status.as_str(),
                "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" | "PENDING_REDRIVE"
            )
        {
            return Err(Error::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value '{status}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]"
                ),
            ));
        }
        let after = match self.next_token()? {
            None => None,
            Some(token) => {
                let (ms, arn) = token.split_once('|').ok_or_else(|| {
                    Error::new("InvalidToken", "Invalid Token: 'Invalid pagination token'")
                })?;
                Some((
                    ms.parse::<i64>()
                        .map_err(|_| Error::new("InvalidToken", "Invalid Token"))?,
                    arn.to_owned(),
                ))
            }
        };
        let query = ExecutionQuery {
            state_machine_arn: Some(machine_arn.to_owned()),
            status,
            after,
            limit: limit + 1,
        };
        let executions = self.blocking(move |s| s.list_executions(&query)).await?;
        let more = executions.len() > limit;
        let items: Vec<Value> = executions
            .iter()
            .take(limit)
            .map(|e| {
                let mut item = json!({
                    "executionArn": e.arn,
                    "stateMachineArn": e.state_machine_arn,
                    "name": e.name,
                    "status": e.status,
                    "startDate": epoch(e.start_ms),
                });
                if let Some(stop_ms) = e.stop_ms {
                    item["stopDate"] = epoch(stop_ms);
                }
                item
            })
            .collect();
        let mut response = json!({"executions": items});
        if more && let Some(last) = executions.get(limit - 1) {
            response["nextToken"] = json!(format!("aslan1:{}|{}", last.start_ms, last.arn));
        }
        Ok(response)
    }

    async fn get_execution_history(&self) -> Outcome2 {
        let arn = self.required("executionArn")?.to_owned();
        self.execution(&arn).await?;
        let limit = self.limit()?;
        let reverse = self
            .request
            .get("reverseOrder")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let include_data = self
            .request
            .get("includeExecutionData")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let after = match self.next_token()? {
            None => None,
            Some(token) => Some(token.parse::<i64>().map_err(|_| {
                Error::new("InvalidToken", "Invalid Token: 'Invalid pagination token'")
            })?),
        };
        let entries = self
            .blocking(move |s| s.history(&arn, after, limit + 1, reverse))
            .await?;
        let more = entries.len() > limit;
        let mut events = Vec::with_capacity(entries.len().min(limit));
        for entry in entries.iter().take(limit) {
            let mut event: Value =
                serde_json::from_str(&entry.event).map_err(|e| Error::internal(e.to_string()))?;
            if !include_data {
                strip_data(&mut event);
            }
            events.push(event);
        }
        let mut response = json!({"events": events});
        if more && let Some(last) = entries.get(limit - 1) {
            response["nextToken"] = json!(format!("aslan1:{}", last.id));
        }
        Ok(response)
    }

    fn validate_definition(&self) -> Outcome2 {
        let definition = self.required("definition")?;
        let machine_type = machine_type_of(self.string("type").unwrap_or("STANDARD"));
        let parsed = aslan_asl::parse(definition, LoadOptions { machine_type });
        let min_severity = self.string("severity").unwrap_or("ERROR");
        let max = self
            .request
            .get("maxResults")
            .and_then(Value::as_u64)
            .filter(|&n| n > 0)
            .unwrap_or(100) as usize;
        let shown: Vec<Value> = parsed
            .diagnostics
            .iter()
            .filter(|d| min_severity == "WARNING" || d.severity == Severity::Error)
            .map(|d| {
                let mut item =
                    json!({"severity": d.severity.as_str(), "code": d.code, "message": d.message});
                if let Some(location) = &d.location {
                    item["location"] = json!(location);
                }
                item
            })
            .collect();
        let truncated = shown.len() > max;
        Ok(json!({
            "result": if parsed.diagnostics.has_errors() { "FAIL" } else { "OK" },
            "diagnostics": shown.into_iter().take(max).collect::<Vec<_>>(),
            "truncated": truncated,
        }))
    }

    async fn create_activity(&self) -> Outcome2 {
        let name = self.required("name")?;
        aslan_types::validate_name(name)
            .map_err(|_| Error::new("InvalidName", format!("Invalid Name: '{name}'")))?;
        let activity = Activity {
            arn: format!(
                "arn:aws:states:{}:{}:activity:{name}",
                self.region, self.state.account
            ),
            name: name.to_owned(),
            created_ms: aslan_engine::SystemClock::read(),
        };
        let stored = self.blocking(move |s| s.create_activity(&activity)).await?;
        if let Some(tags) = self.request.get("tags").and_then(Value::as_array) {
            let pairs = tag_pairs(tags);
            let key = stored.arn.clone();
            self.blocking(move |s| s.tag(&key, &pairs)).await?;
        }
        Ok(json!({"activityArn": stored.arn, "creationDate": epoch(stored.created_ms)}))
    }

    async fn activity(&self, arn: &str) -> Result<Activity, Error> {
        match parse_arn(arn) {
            Some(parsed) if parsed.kind == "activity" => {}
            _ => return Err(invalid_arn(arn)),
        }
        let key = arn.to_owned();
        self.blocking(move |s| s.get_activity(&key))
            .await?
            .ok_or_else(|| {
                Error::new(
                    "ActivityDoesNotExist",
                    format!("Activity Does Not Exist: '{arn}'"),
                )
            })
    }

    async fn describe_activity(&self) -> Outcome2 {
        let activity = self.activity(self.required("activityArn")?).await?;
        Ok(
            json!({"activityArn": activity.arn, "name": activity.name, "creationDate": epoch(activity.created_ms)}),
        )
    }

    async fn delete_activity(&self) -> Outcome2 {
        let arn = self.required("activityArn")?.to_owned();
        match parse_arn(&arn) {
            Some(parsed) if parsed.kind == "activity" => {}
            _ => return Err(invalid_arn(&arn)),
        }
        self.blocking(move |s| s.delete_activity(&arn)).await?;
        Ok(json!({}))
    }

    async fn list_activities(&self) -> Outcome2 {
        let limit = self.limit()?;
        let after = self.next_token()?;
        let activities = self
            .blocking(move |s| s.list_activities(after.as_deref(), limit + 1))
            .await?;
        let more = activities.len() > limit;
        let items: Vec<Value> = activities
            .iter()
            .take(limit)
            .map(|a| json!({"activityArn": a.arn, "name": a.name, "creationDate": epoch(a.created_ms)}))
            .collect();
        let mut response = json!({"activities": items});
        if more && let Some(last) = activities.get(limit - 1) {
            response["nextToken"] = json!(format!("aslan1:{}", last.arn));
        }
        Ok(response)
    }

    async fn describe_map_run(&self) -> Outcome2 {
        let arn = self.required("mapRunArn")?;
        if parse_arn(arn).is_none_or(|parsed| parsed.kind != "mapRun") {
            return Err(invalid_arn(arn));
        }
        let key = arn.to_owned();
        let run = self
            .blocking(move |s| s.get_map_run(&key))
            .await?
            .ok_or_else(|| {
                Error::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
            })?;
        // One child execution per item (per batch with ItemBatcher), so both counts agree.
        let counts = json!({
            "pending": run.pending,
            "running": run.running,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "timedOut": 0,
            "aborted": run.aborted,
            "total": run.total,
            "resultsWritten": run.results_written,
            "failuresNotRedrivable": run.failed + run.aborted,
            "pendingRedrive": 0,
        });
        let mut response = json!({
            "mapRunArn": run.map_run_arn,
            "executionArn": run.execution_arn,
            "status": run.status,
            "startDate": epoch(run.start_ms),
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_failure_percentage,
            "toleratedFailureCount": run.tolerated_failure_count,
            "itemCounts": counts,
            "executionCounts": counts,
            "redriveCount": 0,
        });
        if let Some(stop_ms) = run.stop_ms {
            response["stopDate"] = epoch(stop_ms);
        }
        Ok(response)
    }

    async fn list_map_runs(&self) -> Outcome2 {
        let arn = self.required("executionArn")?;
        let execution = self.execution(arn).await?;
        let limit = self.limit()?;
        let after = self.next_token()?;
        let key = execution.arn.clone();
        let runs = self.blocking(move |s| s.list_map_runs(&key)).await?;
        let start = match &after {
            Some(after) => runs
                .iter()
                .position(|r| &r.map_run_arn == after)
                .map_or(runs.len(), |i| i + 1),
            None => 0,
        };
        let page: Vec<&aslan_types::MapRun> = runs.iter().skip(start).take(limit).collect();
        let items: Vec<Value> = page
            .iter()
            .map(|run| {
                let mut item = json!({
                    "executionArn": run.execution_arn,
                    "mapRunArn": run.map_run_arn,
                    "stateMachineArn": run.state_machine_arn,
                    "startDate": epoch(run.start_ms),
                });
                if let Some(stop_ms) = run.stop_ms {
                    item["stopDate"] = epoch(stop_ms);
                }
                item
            })
            .collect();
        let mut response = json!({ "mapRuns": items });
        if start + page.len() < runs.len()
            && let Some(last) = page.last()
        {
            response["nextToken"] = json!(format!("aslan1:{}", last.map_run_arn));
        }
        Ok(response)
    }

    async fn get_activity_task(&self) -> Outcome2 {
        let arn = self.required("activityArn")?;
        self.activity(arn).await?;
        // Long poll: AWS holds the request up to 60 seconds, then answers with no task.
        // A shutting-down server answers at once instead of holding the poll open.
        let wait = self
            .state
            .engine
            .poll_activity(arn, self.string("workerName").map(str::to_owned));
        let mut stopping = self.state.stopping.clone();
        tokio::select! {
            polled = tokio::time::timeout(Duration::from_secs(60), wait) => match polled {
                Ok(Ok(task)) => Ok(json!({"taskToken": task.token, "input": task.input})),
                Ok(Err(error)) => Err(error.into()),
                Err(_) => Ok(json!({})),
            },
            _ = stopping.wait_for(|stopping| *stopping) => Ok(json!({})),
        }
    }

    async fn send_task_success(&self) -> Outcome2 {
        let token = self.required("taskToken")?;
        let output_text = self.required("output")?;
        let output: Value = serde_json::from_str(output_text)
            .map_err(|e| Error::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
        self.state.engine.complete_task(token, Ok(output)).await?;
        Ok(json!({}))
    }

    async fn send_task_failure(&self) -> Outcome2 {
        let token = self.required("taskToken")?;
        let error = TaskError::new(
            self.string("error").unwrap_or_default(),
            self.string("cause").unwrap_or_default(),
        );
        self.state.engine.complete_task(token, Err(error)).await?;
        Ok(json!({}))
    }

    async fn send_task_heartbeat(&self) -> Outcome2 {
        let token = self.required("taskToken")?;
        self.state.engine.heartbeat(token).await?;
        Ok(json!({}))
    }

    async fn resource(&self) -> Result<String, Error> {
        let arn = self.required("resourceArn")?.to_owned();
        let exists = match parse_arn(&arn) {
            Some(parsed) if parsed.kind == "stateMachine" => {
                let key = arn.clone();
                self.blocking(move |s| s.get_state_machine(&key))
                    .await?
                    .is_some()
            }
            Some(parsed) if parsed.kind == "activity" => {
                let key = arn.clone();
                self.blocking(move |s| s.get_activity(&key))
                    .await?
                    .is_some()
            }
            _ => return Err(invalid_arn(&arn)),
        };
        if !exists {
            return Err(Error::new(
                "ResourceNotFound",
                format!("Resource not found: '{arn}'"),
            ));
        }
        Ok(arn)
    }

    async fn tag_resource(&self) -> Outcome2 {
        let arn = self.resource().await?;
        let tags = self
            .request
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| tag_pairs(t))
            .unwrap_or_default();
        let existing = {
            let key = arn.clone();
            self.blocking(move |s| s.tags(&key)).await?
        };
        let mut keys: std::collections::BTreeSet<&str> =
            existing.iter().map(|(k, _)| k.as_str()).collect();
        keys.extend(tags.iter().map(|(k, _)| k.as_str()));
        if keys.len() > 50 {
            return Err(Error::new(
                "TooManyTags",
                format!(
                    "Too many tags: '{arn}' would have {} tags, the limit is 50",
                    keys.len()
                ),
            ));
        }
        self.blocking(move |s| s.tag(&arn, &tags)).await?;
        Ok(json!({}))
    }

    async fn untag_resource(&self) -> Outcome2 {
        let arn = self.resource().await?;
        let keys: Vec<String> = self
            .request
            .get("tagKeys")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        self.blocking(move |s| s.untag(&arn, &keys)).await?;
        Ok(json!({}))
    }

    async fn list_tags(&self) -> Outcome2 {
        let arn = self.resource().await?;
        let tags = self.blocking(move |s| s.tags(&arn)).await?;
        Ok(
            json!({"tags": tags.into_iter().map(|(key, value)| json!({"key": key, "value": value})).collect::<Vec<_>>()}),
        )
    }
}

/// An IAM role ARN: `arn:PARTITION:iam::ACCOUNT:role/NAME`.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[5].starts_with("role/")
        && parts[5].len() > 5
}

/// Two optional JSON texts that mean the same.
fn same_json(a: Option<&str>, b: Option<&str>) -> bool {
    let parse = |t: Option<&str>| t.and_then(|t| serde_json::from_str::<Value>(t).ok());
    parse(a) == parse(b)
}

/// When a revision was made: revision ids start with the time in hexadecimal milliseconds.
fn revision_time(revision_id: &str) -> Option<i64> {
    i64::from_str_radix(revision_id.split('-').next()?, 16).ok()
}

fn machine_type_of(text: &str) -> MachineType {
    if text == "EXPRESS" {
        MachineType::Express
    } else {
        MachineType::Standard
    }
}

fn tag_pairs(tags: &[Value]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.get("key")?.as_str()?.to_owned(),
                t.get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ))
        })
        .collect()
}

fn describe_machine(machine: &StateMachine) -> Value {
    let logging = machine
        .logging
        .as_deref()
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_else(|| json!({"level": "OFF", "includeExecutionData": false}));
    let tracing = machine
        .tracing
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or_else(|| json!({"enabled": false}));
    let mut response = json!({
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "status": "ACTIVE",
        "definition": machine.definition,
        "roleArn": machine.role_arn,
        "type": machine.machine_type,
        "creationDate": epoch(machine.created_ms),
        "loggingConfiguration": logging,
        "tracingConfiguration": tracing,
        "revisionId": machine.revision_id,
    });
    if let Some(description) = &machine.description {
        response["description"] = json!(description);
    }
    response
}

/// `includeExecutionData: false` leaves inputs and outputs out of history events.
fn strip_data(event: &mut Value) {
    if let Value::Object(map) = event {
        for (_, details) in map.iter_mut() {
            if let Value::Object(details) = details {
                for field in ["input", "output", "parameters"] {
                    details.remove(field);
                }
            }
        }
    }
}

/// Runs one operation on a request object: the API's entry point, also used inside the server
/// (nested executions start through it).
pub async fn call(
    state: &Arc<AppState>,
    operation: &str,
    region: &str,
    request: &Value,
) -> Result<Value, Error> {
    let context = Ctx {
        state,
        region,
        request,
    };
    match operation {
        "CreateStateMachine" => context.create_state_machine().await,
        "DescribeStateMachine" => context.describe_state_machine().await,
        "UpdateStateMachine" => context.update_state_machine().await,
        "DeleteStateMachine" => context.delete_state_machine().await,
        "ListStateMachines" => context.list_state_machines().await,
        "DescribeStateMachineForExecution" => context.describe_state_machine_for_execution().await,
        "StartExecution" => context.start_execution(false).await,
        "StartSyncExecution" => context.start_execution(true).await,
        "StopExecution" => context.stop_execution().await,
        "DescribeExecution" => context.describe_execution().await,
        "ListExecutions" => context.list_executions().await,
        "GetExecutionHistory" => context.get_execution_history().await,
        "ValidateStateMachineDefinition" => context.validate_definition(),
        "CreateActivity" => context.create_activity().await,
        "DescribeActivity" => context.describe_activity().await,
        "DeleteActivity" => context.delete_activity().await,
        "ListActivities" => context.list_activities().await,
        "GetActivityTask" => context.get_activity_task().await,
        "SendTaskSuccess" => context.send_task_success().await,
        "SendTaskFailure" => context.send_task_failure().await,
        "SendTaskHeartbeat" => context.send_task_heartbeat().await,
        "DescribeMapRun" => context.describe_map_run().await,
        "ListMapRuns" => context.list_map_runs().await,
        "TagResource" => context.tag_resource().await,
        "UntagResource" => context.untag_resource().await,
        "ListTagsForResource" => context.list_tags().await,
        // Versions, aliases, map runs, redrive and TestState come with their own issue.
        other if aslan_api_model::operation_names().contains(&other) => Err(Error::new(
            "ValidationException",
            format!("The operation '{other}' is not supported by this version of aslan"),
        )),
        other => Err(Error::new(
            "UnknownOperationException",
            format!("Unknown operation: '{other}'"),
        )),
    }
}
