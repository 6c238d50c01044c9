//! The worker endpoint of `aslan run`: the operations workers use to take activity tasks
//! (`GetActivityTask`) and answer task tokens (`SendTaskSuccess`, `SendTaskFailure`,
//! `SendTaskHeartbeat`), over the AWS JSON protocol `aslan serve` speaks, so boto3 and the AWS
//! CLI work with `aslan run`'s tasks unchanged. Tokens and queues live in the in-process runner
//! ([`TaskTokens`]); nothing here is stored.

use std::sync::Arc;

use aslan_engine::{Callback, TaskError, TaskTokens};
use axum::Router;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::{Error, parse_request, respond};

/// Answers one task-token operation (`SendTaskSuccess`, `SendTaskFailure`,
/// `SendTaskHeartbeat`) with its request in the API's form; other operations are refused.
pub fn task_token_operation(
    tokens: &TaskTokens,
    operation: &str,
    request: &Value,
) -> Result<Value, Error> {
    let field = |name: &str| request.get(name).and_then(Value::as_str);
    let required = |name: &str| {
        field(name).ok_or_else(|| {
            Error::new(
                "ValidationException",
                format!(
                    "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
                ),
            )
        })
    };
    let callback = match operation {
        "SendTaskSuccess" => {
            let output = required("output")?;
            let output: Value = serde_json::from_str(output)
                .map_err(|e| Error::new("InvalidOutput", format!("Invalid Output: '{e}'")))?;
            Callback::Succeeded(output)
        }
        "SendTaskFailure" => Callback::Failed(TaskError::new(
            field("error").unwrap_or_default(),
            field("cause").unwrap_or_default(),
        )),
        "SendTaskHeartbeat" => Callback::Heartbeat,
        other => {
            return Err(Error::new(
                "UnknownOperationException",
                format!(
                    "`aslan run` serves workers only (GetActivityTask, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat), not {other}: use `aslan serve` for the whole API."
                ),
            ));
        }
    };
    tokens.answer(required("taskToken")?, callback)?;
    Ok(json!({}))
}

/// `GetActivityTask`: a task of the activity, waiting for one up to 60 seconds as AWS does
/// (then `{}`, no task).
async fn get_activity_task(tokens: &TaskTokens, request: &Value) -> Result<Value, Error> {
    let Some(arn) = request.get("activityArn").and_then(Value::as_str) else {
        return Err(Error::new(
            "ValidationException",
            "1 validation error detected: Value null at 'activityArn' failed to satisfy constraint: Member must not be null",
        ));
    };
    let worker = request
        .get("workerName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let poll = tokens.poll(arn, worker);
    match tokio::time::timeout(std::time::Duration::from_secs(60), poll).await {
        Ok(task) => Ok(json!({"taskToken": task.token, "input": task.input})),
        Err(_) => Ok(json!({})),
    }
}

/// The endpoint's routes: `POST /` for the three operations, `GET /health`.
pub fn router(tokens: Arc<TaskTokens>) -> Router {
    Router::new()
        .route(
            "/",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let tokens = tokens.clone();
                async move { handle(&tokens, &headers, &body).await }
            }),
        )
        .route("/health", get(|| async { "ok" }))
}

async fn handle(tokens: &TaskTokens, headers: &HeaderMap, body: &[u8]) -> Response {
    let (operation, request) = match parse_request(headers, body) {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    let answer = if operation == "GetActivityTask" {
        get_activity_task(tokens, &request).await
    } else {
        task_token_operation(tokens, operation, &request)
    };
    respond(operation, answer)
}

/// Serves the endpoint on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, tokens: Arc<TaskTokens>) {
    if let Err(error) = axum::serve(listener, router(tokens)).await {
        tracing::error!(%error, "the callback endpoint stopped");
    }
}
