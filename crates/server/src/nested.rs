//! Nested executions (`arn:aws:states:::states:startExecution`) over the server's own API and
//! engine: a child starts exactly as a `StartExecution` call would start it.

use std::sync::{Arc, OnceLock};

use aslan_engine::TaskError;
use aslan_integrations::{BoxFuture, Executions, NestedEnd, NestedStart};
use aslan_interp::Outcome;
use serde_json::{Value, json};

use crate::api::{self, AppState};

/// Starts, watches and stops child executions; the state is set once the server is built.
#[derive(Default)]
pub(crate) struct ServerExecutions {
    pub(crate) state: OnceLock<Arc<AppState>>,
}

fn region_of(arn: &str) -> String {
    arn.split(':').nth(3).unwrap_or("us-east-1").to_owned()
}

fn api_failure(error: api::Error) -> TaskError {
    // The names a Step Functions integration reports for the service's errors.
    TaskError::new(
        format!(
            "StepFunctions.{}Exception",
            error.code.trim_end_matches("Exception")
        ),
        error.message,
    )
}

impl ServerExecutions {
    fn state(&self) -> Result<Arc<AppState>, TaskError> {
        self.state
            .get()
            .cloned()
            .ok_or_else(|| TaskError::new("States.Runtime", "The server is not ready."))
    }
}

impl Executions for ServerExecutions {
    fn start(&self, request: NestedStart) -> BoxFuture<Result<(String, i64), TaskError>> {
        let state = self.state();
        Box::pin(async move {
            let state = state?;
            let region = region_of(&request.parent_execution_arn);
            let body = json!({
                "stateMachineArn": request.state_machine_arn,
                "name": request.name,
                "input": request.input,
            });
            match api::call(&state, "StartExecution", &region, &body).await {
                Ok(started) => Ok((
                    started["executionArn"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    epoch_ms(&started["startDate"]),
                )),
                // Sent again after a restart: the child already exists under its fixed name.
                Err(error) if error.code == "ExecutionAlreadyExists" => {
                    let arn = error
                        .message
                        .split('\'')
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let described = api::call(
                        &state,
                        "DescribeExecution",
                        &region,
                        &json!({"executionArn": arn}),
                    )
                    .await
                    .map_err(api_failure)?;
                    Ok((arn, epoch_ms(&described["startDate"])))
                }
                Err(error) => Err(api_failure(error)),
            }
        })
    }

    fn wait(&self, execution_arn: String) -> BoxFuture<Result<NestedEnd, TaskError>> {
        let state = self.state();
        Box::pin(async move {
            let state = state?;
            if let Some(finished) = state.engine.watch(&execution_arn).await {
                let mut end = NestedEnd {
                    status: finished.outcome.status().to_owned(),
                    output: None,
                    error: None,
                    cause: None,
                    stop_ms: finished.stop_ms,
                };
                match finished.outcome {
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
                return Ok(end);
            }
            // Not running: it ended already (or the engine restarted since); ask the store.
            let region = region_of(&execution_arn);
            let described = api::call(
                &state,
                "DescribeExecution",
                &region,
                &json!({"executionArn": execution_arn}),
            )
            .await
            .map_err(api_failure)?;
            let text = |key: &str| described[key].as_str().map(str::to_owned);
            Ok(NestedEnd {
                status: text("status").unwrap_or_default(),
                output: text("output"),
                error: text("error"),
                cause: text("cause"),
                stop_ms: epoch_ms(&described["stopDate"]),
            })
        })
    }

    fn sfn_api(
        &self,
        operation: String,
        request: Value,
    ) -> BoxFuture<Result<Value, (String, String, u16)>> {
        let state = self.state();
        Box::pin(async move {
            let state = state.map_err(|e| (e.error, e.cause, 500))?;
            // The region of the ARNs in the request, else the default.
            let region = request
                .as_object()
                .and_then(|o| {
                    o.values()
                        .find_map(|v| v.as_str().filter(|s| s.starts_with("arn:")))
                })
                .map(region_of)
                .unwrap_or_else(|| "us-east-1".to_owned());
            api::call(&state, &operation, &region, &request)
                .await
                .map_err(|e| (e.code.to_owned(), e.message, e.status.as_u16()))
        })
    }

    fn stop(&self, execution_arn: String) {
        let Ok(state) = self.state() else {
            return;
        };
        tokio::spawn(async move {
            let _ = state
                .engine
                .stop(
                    &execution_arn,
                    Some("States.Aborted".into()),
                    Some("The parent execution stopped or stopped waiting.".into()),
                )
                .await;
        });
    }
}

/// The API's epoch seconds (a float) as milliseconds.
fn epoch_ms(value: &Value) -> i64 {
    value
        .as_f64()
        .map(|s| (s * 1000.0).round() as i64)
        .unwrap_or(0)
}
