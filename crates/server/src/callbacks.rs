//! The callback endpoint of `aslan run`: the three operations a worker uses to answer a task
//! token (`SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat`), over the AWS JSON protocol
//! `aslan serve` speaks, so boto3 and the AWS CLI answer `aslan run`'s tasks unchanged. The
//! tokens live in the in-process runner ([`TaskTokens`]); nothing here is stored.

use std::sync::Arc;

use aslan_engine::{Callback, TaskError, TaskTokens};
use axum::Router;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::Error;

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
                    "`aslan run` answers task tokens only (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat), not {other}: use `aslan serve` for the whole API."
                ),
            ));
        }
    };
    tokens.answer(required("taskToken")?, callback)?;
    Ok(json!({}))
}

/// The endpoint's routes: `POST /` for the three operations, `GET /health`.
pub fn router(tokens: Arc<TaskTokens>) -> Router {
    Router::new()
        .route(
            "/",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let tokens = tokens.clone();
                async move { handle(&tokens, &headers, &body) }
            }),
        )
        .route("/health", get(|| async { "ok" }))
}

fn handle(tokens: &TaskTokens, headers: &HeaderMap, body: &[u8]) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix("AWSStepFunctions.") else {
        return Error::new(
            "UnknownOperationException",
            format!("Unknown operation: '{target}'"),
        )
        .into_response();
    };
    let request: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        _ => {
            return Error::new(
                "SerializationException",
                "The request body is not a JSON object",
            )
            .into_response();
        }
    };
    match task_token_operation(tokens, operation, &request) {
        Ok(value) => (
            [("content-type", "application/x-amz-json-1.0")],
            value.to_string(),
        )
            .into_response(),
        Err(error) => {
            tracing::info!(operation, code = error.code, "callback refused");
            error.into_response()
        }
    }
}

/// Serves the endpoint on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, tokens: Arc<TaskTokens>) {
    if let Err(error) = axum::serve(listener, router(tokens)).await {
        tracing::error!(%error, "the callback endpoint stopped");
    }
}
