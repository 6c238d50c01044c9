//! The HTTP Task, `arn:aws:states:::http:invoke`: `ApiEndpoint`, `Method`, `Headers`,
//! `QueryParameters`, `RequestBody`, `Transform`, with authorization from a connection in the
//! configuration. The result is `{Headers, ResponseBody, StatusCode, StatusText}`; a status that
//! is not 2xx fails with `States.Http.StatusCode.NNN`, a network failure with `States.Http.Socket`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aslan_engine::TaskError;
use serde_json::{Map, Value, json};

use crate::config::ConnectionConfig;

/// HTTP connections and an OAuth token cache.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    pub(crate) by_name: BTreeMap<String, ConnectionConfig>,
    pub(crate) base: std::path::PathBuf,
    tokens: Mutex<BTreeMap<String, CachedToken>>,
}

/// An OAuth access token and when it stops being used: `expires_in` less a tenth (at most a
/// minute), so a token is not sent in its last moments; never, when the server gave no lifetime.
#[derive(Debug, Clone)]
struct CachedToken {
    value: String,
    renew_at: Option<Instant>,
}

impl Connections {
    /// Forgets a connection's OAuth token, so the next request fetches a new one.
    fn forget_token(&self, name: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    pub(crate) fn new(by_name: BTreeMap<String, ConnectionConfig>, base: &Path) -> Self {
        Connections {
            by_name,
            base: base.to_path_buf(),
            tokens: Mutex::new(BTreeMap::new()),
        }
    }
}

fn runtime(message: impl Into<String>) -> TaskError {
    TaskError::new("States.Runtime", message)
}

/// `arn:aws:events:REGION:ACCOUNT:connection/NAME/ID` → `NAME` (a bare name is taken as it is).
fn connection_name(arn: &str) -> &str {
    match arn.split_once(":connection/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => arn,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `a=1&b=x` with the array format of `Transform.RequestEncodingOptions.ArrayFormat`.
fn url_encode(body: &Map<String, Value>, array_format: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in body {
        match value {
            Value::Array(items) => match array_format {
                "COMMAS" => pairs.push((
                    key.clone(),
                    items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
                )),
                "REPEAT" => pairs.extend(items.iter().map(|v| (key.clone(), scalar_text(v)))),
                "BRACKETS" => {
                    pairs.extend(items.iter().map(|v| (format!("{key}[]"), scalar_text(v))))
                }
                _ => pairs.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (format!("{key}[{i}]"), scalar_text(v))),
                ),
            },
            other => pairs.push((key.clone(), scalar_text(other))),
        }
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", crate::percent_encode(k), crate::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The access token of an `oauth_client_credentials` connection: the cached one while it is
/// fresh, else a new one from the token endpoint (client credentials grant).
async fn oauth_token(
    client: &reqwest::Client,
    connections: &Connections,
    name: &str,
    connection: &ConnectionConfig,
    secret: &(dyn Fn(&Option<crate::config::Secret>) -> Result<String, TaskError> + Sync),
) -> Result<String, TaskError> {
    let now = Instant::now();
    let cached = connections
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .filter(|token| token.renew_at.is_none_or(|at| now < at))
        .map(|token| token.value.clone());
    if let Some(token) = cached {
        return Ok(token);
    }
    let client_secret = secret(&connection.client_secret)?;
    let mut form = vec![
        ("grant_type", "client_credentials".to_owned()),
        (
            "client_id",
            connection.client_id.clone().unwrap_or_default(),
        ),
        ("client_secret", client_secret),
    ];
    if let Some(scope) = &connection.scope {
        form.push(("scope", scope.clone()));
    }
    let url = connection.token_url.clone().unwrap_or_default();
    let answer = client.post(&url).form(&form).send().await.map_err(|e| {
        TaskError::new(
            "States.Http.Socket",
            format!("The OAuth token endpoint of connection '{name}' did not answer: {e}"),
        )
    })?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    let Some(token) = body.get("access_token").and_then(Value::as_str) else {
        return Err(runtime(format!(
            "The OAuth token endpoint of connection '{name}' answered {status} without an access_token."
        )));
    };
    let lifetime = match body.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
    .map(|seconds| Duration::from_secs_f64(seconds.min(1e9)));
    let renew_at =
        lifetime.map(|lifetime| now + lifetime - (lifetime / 10).min(Duration::from_secs(60)));
    connections
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            name.to_owned(),
            CachedToken {
                value: token.to_owned(),
                renew_at,
            },
        );
    Ok(token.to_owned())
}

async fn authorize(
    client: &reqwest::Client,
    connections: &Connections,
    name: &str,
    mut request: reqwest::RequestBuilder,
) -> Result<reqwest::RequestBuilder, TaskError> {
    let Some(connection) = connections.by_name.get(name) else {
        return Err(runtime(format!(
            "The connection '{name}' is not defined in the configuration ([connections.{name}] in aslan.toml)."
        )));
    };
    let secret = |s: &Option<crate::config::Secret>| -> Result<String, TaskError> {
        s.as_ref()
            .ok_or_else(|| runtime(format!("connection '{name}' has no secret")))?
            .read(&connections.base)
            .map_err(|e| runtime(format!("connection '{name}': {e}")))
    };
    for (header, value) in &connection.headers {
        request = request.header(header, value);
    }
    match connection.kind.as_str() {
        "basic" => {
            let password = secret(&connection.password)?;
            Ok(request.basic_auth(
                connection.username.clone().unwrap_or_default(),
                Some(password),
            ))
        }
        "api_key" => {
            let value = secret(&connection.api_key_value)?;
            Ok(request.header(
                connection.api_key_name.as_deref().unwrap_or("x-api-key"),
                value,
            ))
        }
        "oauth_client_credentials" => {
            let token = oauth_token(client, connections, name, connection, &secret).await?;
            Ok(request.bearer_auth(token))
        }
        _ => Ok(request),
    }
}

/// Runs one HTTP Task.
pub(crate) async fn invoke(
    client: &reqwest::Client,
    connections: &Connections,
    parameters: &Value,
    timeout: Option<std::time::Duration>,
) -> Result<Value, TaskError> {
    let endpoint = parameters
        .get("ApiEndpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| runtime("The HTTP Task needs ApiEndpoint, a string."))?;
    let method = parameters
        .get("Method")
        .and_then(Value::as_str)
        .ok_or_else(|| runtime("The HTTP Task needs Method, a string."))?;
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| runtime(format!("'{method}' is not an HTTP method.")))?;
    let mut request = client.request(method, endpoint);
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    if let Some(query) = parameters.get("QueryParameters").and_then(Value::as_object) {
        let pairs: Vec<(String, String)> = query
            .iter()
            .flat_map(|(k, v)| match v {
                Value::Array(items) => items.iter().map(|i| (k.clone(), scalar_text(i))).collect(),
                other => vec![(k.clone(), scalar_text(other))],
            })
            .collect();
        request = request.query(&pairs);
    }
    let mut content_type_set = false;
    if let Some(headers) = parameters.get("Headers").and_then(Value::as_object) {
        for (name, value) in headers {
            content_type_set |= name.eq_ignore_ascii_case("content-type");
            request = request.header(name.as_str(), scalar_text(value));
        }
    }
    if let Some(body) = parameters.get("RequestBody") {
        let encoding = parameters
            .pointer("/Transform/RequestBodyEncoding")
            .and_then(Value::as_str)
            .unwrap_or("NONE");
        if encoding == "URL_ENCODED" {
            let format = parameters
                .pointer("/Transform/RequestEncodingOptions/ArrayFormat")
                .and_then(Value::as_str)
                .unwrap_or("INDICES");
            let Some(object) = body.as_object() else {
                return Err(runtime("URL_ENCODED needs RequestBody to be an object."));
            };
            if !content_type_set {
                request = request.header("content-type", "application/x-www-form-urlencoded");
            }
            request = request.body(url_encode(object, format));
        } else {
            if !content_type_set {
                request = request.header("content-type", "application/json");
            }
            let text = match body {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            request = request.body(text);
        }
    }
    let send_error = |e: reqwest::Error| {
        let what = if e.is_timeout() {
            "timed out"
        } else {
            "failed"
        };
        TaskError::new(
            "States.Http.Socket",
            format!("The request to {endpoint} {what}: {e}"),
        )
    };
    let connection = parameters
        .pointer("/Authentication/ConnectionArn")
        .and_then(Value::as_str)
        .map(connection_name);
    let response = match connection {
        None => request.send().await.map_err(send_error)?,
        Some(name) => {
            // An OAuth token the server no longer takes (401) is fetched again and the request
            // sent once more, as EventBridge connections do.
            let again = request.try_clone();
            let response = authorize(client, connections, name, request)
                .await?
                .send()
                .await
                .map_err(send_error)?;
            let oauth = connections
                .by_name
                .get(name)
                .is_some_and(|c| c.kind == "oauth_client_credentials");
            match again {
                Some(again) if oauth && response.status() == reqwest::StatusCode::UNAUTHORIZED => {
                    connections.forget_token(name);
                    authorize(client, connections, name, again)
                        .await?
                        .send()
                        .await
                        .map_err(send_error)?
                }
                _ => response,
            }
        }
    };
    let status = response.status();
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in response.headers() {
        let value = Value::String(value.to_str().unwrap_or_default().to_owned());
        match headers.get_mut(name.as_str()) {
            Some(Value::Array(values)) => values.push(value),
            _ => {
                headers.insert(name.as_str().to_owned(), Value::Array(vec![value]));
            }
        }
    }
    let text = response.text().await.map_err(|e| {
        TaskError::new(
            "States.Http.Socket",
            format!("Reading the answer of {endpoint} failed: {e}"),
        )
    })?;
    let body = if text.is_empty() {
        Value::String(String::new())
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    let result = json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": status.as_u16(),
        "StatusText": status.canonical_reason().unwrap_or(""),
    });
    if status.is_success() {
        Ok(result)
    } else {
        Err(TaskError::new(
            format!("States.Http.StatusCode.{}", status.as_u16()),
            result.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_array_formats() {
        let body = json!({"a": [1, 2], "b": "x y"});
        let body = body.as_object().unwrap();
        assert_eq!(url_encode(body, "INDICES"), "a%5B0%5D=1&a%5B1%5D=2&b=x%20y");
        assert_eq!(url_encode(body, "REPEAT"), "a=1&a=2&b=x%20y");
        assert_eq!(url_encode(body, "COMMAS"), "a=1%2C2&b=x%20y");
        assert_eq!(url_encode(body, "BRACKETS"), "a%5B%5D=1&a%5B%5D=2&b=x%20y");
    }

    #[test]
    fn connection_names() {
        assert_eq!(
            connection_name("arn:aws:events:us-east-1:1:connection/orders/abc-123"),
            "orders"
        );
        assert_eq!(connection_name("orders"), "orders");
    }
}
