//! Nested executions in `aslan run`: `states:startExecution` runs a child state machine named in
//! `[state_machines]` of aslan.toml, in this process, with the same task handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aslan_asl::MachineType;
use aslan_engine::{RunOptions, SystemClock, TaskError, TaskHandler, TaskTokens, VirtualClock};
use aslan_integrations::{BoxFuture, Config, Executions, Integrations, NestedEnd, NestedStart};
use aslan_interp::{ExecutionInfo, Options, Outcome};
use tokio::sync::watch;

type Ended = watch::Receiver<Option<NestedEnd>>;

/// Runs children in process.
pub(crate) struct LocalExecutions {
    files: HashMap<String, std::path::PathBuf>,
    handler: OnceLock<Integrations>,
    virtual_time: bool,
    running: Mutex<HashMap<String, (Ended, tokio::task::AbortHandle)>>,
    tokens: Arc<TaskTokens>,
}

impl LocalExecutions {
    pub(crate) fn new(config: &Config, virtual_time: bool, tokens: Arc<TaskTokens>) -> Self {
        LocalExecutions {
            files: config
                .state_machines
                .iter()
                .map(|(name, path)| (name.clone(), config.resolve(path)))
                .collect(),
            handler: OnceLock::new(),
            virtual_time,
            running: Mutex::new(HashMap::new()),
            tokens,
        }
    }

    /// The handlers children use (the parent's own).
    pub(crate) fn set_handler(&self, handler: Integrations) {
        let _ = self.handler.set(handler);
    }
}

fn does_not_exist(arn: &str) -> TaskError {
    TaskError::new(
        "StepFunctions.StateMachineDoesNotExistException",
        format!(
            "State Machine Does Not Exist: '{arn}' (name it in [state_machines] of aslan.toml)"
        ),
    )
}

impl Executions for LocalExecutions {
    fn start(&self, request: NestedStart) -> BoxFuture<Result<(String, i64), TaskError>> {
        let result = (|| {
            let arn = &request.state_machine_arn;
            let name = arn.rsplit(':').next().unwrap_or(arn).to_owned();
            let path = self.files.get(&name).ok_or_else(|| does_not_exist(arn))?;
            let definition = crate::load_valid(path, MachineType::Standard).map_err(|e| {
                TaskError::new(
                    "StepFunctions.InvalidDefinitionException",
                    format!("{}: {e:#}", path.display()),
                )
            })?;
            let input: serde_json::Value = serde_json::from_str(&request.input).map_err(|e| {
                TaskError::new(
                    "StepFunctions.InvalidExecutionInputException",
                    format!("Invalid State Machine Execution Input: '{e}'"),
                )
            })?;
            let handler: Arc<dyn TaskHandler> = Arc::new(
                self.handler
                    .get()
                    .cloned()
                    .ok_or_else(|| TaskError::new("States.Runtime", "no handler"))?,
            );
            let now = SystemClock::read();
            let (region, account) = {
                let parts: Vec<&str> = request.parent_execution_arn.split(':').collect();
                (
                    parts.get(3).copied().unwrap_or("us-east-1").to_owned(),
                    parts.get(4).copied().unwrap_or("123456789012").to_owned(),
                )
            };
            let execution_arn = format!(
                "arn:aws:states:{region}:{account}:execution:{name}:{}",
                request.name
            );
            let info = ExecutionInfo {
                execution_arn: execution_arn.clone(),
                execution_name: request.name.clone(),
                state_machine_arn: arn.clone(),
                state_machine_name: name,
                role_arn: format!("arn:aws:iam::{account}:role/aslan-local"),
                region,
                start_time: now,
                redrive_count: 0,
                express: false,
            };
            let options = RunOptions {
                info,
                interp: Options::default(),
                on_event: None,
                keep_history: false,
                tokens: Some(self.tokens.clone()),
            };
            let (sender, receiver) = watch::channel(None);
            let virtual_time = self.virtual_time;
            let task = tokio::spawn(async move {
                let result = if virtual_time {
                    let clock = VirtualClock::new(now);
                    aslan_engine::run(&definition, input, options, &clock, handler).await
                } else {
                    aslan_engine::run(&definition, input, options, &SystemClock, handler).await
                };
                let stop_ms = SystemClock::read();
                let mut end = NestedEnd {
                    status: result.outcome.status().to_owned(),
                    output: None,
                    error: None,
                    cause: None,
                    stop_ms,
                };
                match result.outcome {
                    Outcome::Succeeded(output) => end.output = Some(output.to_string()),
                    Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
                        end.error = Some(error).filter(|e| !e.is_empty());
                        end.cause = Some(cause).filter(|c| !c.is_empty());
                    }
                    Outcome::Aborted { error, cause } => {
                        end.error = error;
                        end.cause = cause;
                    }
                }
                let _ = sender.send(Some(end));
            });
            self.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(execution_arn.clone(), (receiver, task.abort_handle()));
            Ok((execution_arn, now))
        })();
        Box::pin(async move { result })
    }

    fn wait(&self, execution_arn: String) -> BoxFuture<Result<NestedEnd, TaskError>> {
        let receiver = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&execution_arn)
            .map(|(receiver, _)| receiver.clone());
        Box::pin(async move {
            let Some(mut receiver) = receiver else {
                return Err(TaskError::new(
                    "StepFunctions.ExecutionDoesNotExistException",
                    format!("Execution Does Not Exist: '{execution_arn}'"),
                ));
            };
            loop {
                if let Some(end) = receiver.borrow().clone() {
                    return Ok(end);
                }
                if receiver.changed().await.is_err() {
                    // The child was stopped.
                    return Ok(NestedEnd {
                        status: "ABORTED".into(),
                        output: None,
                        error: None,
                        cause: None,
                        stop_ms: SystemClock::read(),
                    });
                }
            }
        })
    }

    fn sfn_api(
        &self,
        operation: String,
        request: serde_json::Value,
    ) -> BoxFuture<Result<serde_json::Value, (String, String, u16)>> {
        // Task tokens of this process are answered here; the rest of the API needs a server.
        let answer =
            aslan_server::callbacks::task_token_operation(&self.tokens, &operation, &request)
                .map_err(|error| (error.code.to_owned(), error.message, error.status.as_u16()));
        Box::pin(async move { answer })
    }

    fn stop(&self, execution_arn: String) {
        if let Some((_, handle)) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&execution_arn)
        {
            handle.abort();
        }
    }
}
