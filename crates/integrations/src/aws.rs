//! AWS service integrations: the optimized ones (`arn:aws:states:::sqs:sendMessage`,
//! `sns:publish`, `dynamodb:getItem/putItem/updateItem/deleteItem`, `events:putEvents`) and the
//! generic `arn:aws:states:::aws-sdk:SERVICE:ACTION`, sent with SigV4 to real AWS or to the
//! endpoint the configuration names (an emulator). JSON 1.0/1.1 services take the request as it
//! is; SNS (query protocol) gets it form-encoded and answers XML; S3 object calls are REST.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aslan_engine::TaskError;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::Secret;

/// `[aws]` in aslan.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// One endpoint for every service (an emulator such as moto); none means real AWS.
    pub endpoint_url: Option<String>,
    /// Endpoints per service name (`sqs`, `s3`, ...), before `endpoint_url`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// The region (default: the execution's).
    pub region: Option<String>,
    /// The access key id (default: `AWS_ACCESS_KEY_ID`).
    pub access_key_id: Option<Secret>,
    /// The secret key (default: `AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: Option<Secret>,
    /// The session token (default: `AWS_SESSION_TOKEN`, if set).
    pub session_token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Protocol {
    Json(&'static str, &'static str),
    Query(&'static str),
    S3,
}

struct Service {
    protocol: Protocol,
    signing_name: &'static str,
    host_prefix: &'static str,
    /// How Step Functions names the service in error names of optimized integrations.
    optimized_name: &'static str,
    /// ... and of `aws-sdk` integrations.
    sdk_name: &'static str,
    /// The AWS SDK for Java 1.x's service name, in the causes of optimized integrations.
    v1_name: &'static str,
}

fn service(name: &str) -> Option<Service> {
    let s = |protocol, signing_name, host_prefix, optimized_name, sdk_name| Service {
        protocol,
        signing_name,
        host_prefix,
        optimized_name,
        sdk_name,
        v1_name: match signing_name {
            "dynamodb" => "AmazonDynamoDBv2",
            "sqs" => "AmazonSQS",
            "sns" => "AmazonSNS",
            "events" => "AmazonCloudWatchEvents",
            "lambda" => "AWSLambda",
            "states" => "AWSStepFunctions",
            _ => "AWS",
        },
    };
    use Protocol::*;
    Some(match name {
        "sqs" => s(Json("1.0", "AmazonSQS"), "sqs", "sqs", "SQS", "Sqs"),
        "sns" => s(Query("2010-03-31"), "sns", "sns", "SNS", "Sns"),
        "dynamodb" => s(
            Json("1.0", "DynamoDB_20120810"),
            "dynamodb",
            "dynamodb",
            "DynamoDB",
            "DynamoDb",
        ),
        "events" | "eventbridge" => s(
            Json("1.1", "AWSEvents"),
            "events",
            "events",
            "EventBridge",
            "EventBridge",
        ),
        "sfn" => s(
            Json("1.0", "AWSStepFunctions"),
            "states",
            "states",
            "StepFunctions",
            "Sfn",
        ),
        "secretsmanager" => s(
            Json("1.1", "secretsmanager"),
            "secretsmanager",
            "secretsmanager",
            "SecretsManager",
            "SecretsManager",
        ),
        "ssm" => s(Json("1.1", "AmazonSSM"), "ssm", "ssm", "Ssm", "Ssm"),
        "kinesis" => s(
            Json("1.1", "Kinesis_20131202"),
            "kinesis",
            "kinesis",
            "Kinesis",
            "Kinesis",
        ),
        "cloudwatchlogs" | "logs" => s(
            Json("1.1", "Logs_20140328"),
            "logs",
            "logs",
            "CloudWatchLogs",
            "CloudWatchLogs",
        ),
        "kms" => s(Json("1.1", "TrentService"), "kms", "kms", "Kms", "Kms"),
        "sts" => s(Query("2011-06-15"), "sts", "sts", "Sts", "Sts"),
        "s3" => s(S3, "s3", "s3", "S3", "S3"),
        "lambda" => s(S3, "lambda", "lambda", "Lambda", "Lambda"),
        _ => return None,
    })
}

fn runtime(message: impl Into<String>) -> TaskError {
    TaskError::new("States.Runtime", message)
}

/// `sendMessage` → `SendMessage`.
fn operation(action: &str) -> String {
    let mut chars = action.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The client of one configuration.
pub(crate) struct Aws {
    configured: bool,
    config: AwsConfig,
    base: std::path::PathBuf,
    http: reqwest::Client,
}

/// One call's answer: status, headers, body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Aws {
    pub(crate) fn new(
        config: Option<AwsConfig>,
        base: &std::path::Path,
        http: reqwest::Client,
    ) -> Aws {
        Aws {
            configured: config.is_some(),
            config: config.unwrap_or_default(),
            base: base.to_path_buf(),
            http,
        }
    }

    fn credentials(&self) -> Result<Credentials, TaskError> {
        let read = |secret: &Option<Secret>, variable: &str| -> Result<Option<String>, TaskError> {
            match secret {
                Some(secret) => secret.read(&self.base).map(Some).map_err(runtime),
                None => Ok(std::env::var(variable).ok()),
            }
        };
        let access = read(&self.config.access_key_id, "AWS_ACCESS_KEY_ID")?;
        let secret = read(&self.config.secret_access_key, "AWS_SECRET_ACCESS_KEY")?;
        let token = read(&self.config.session_token, "AWS_SESSION_TOKEN")?;
        match (access, secret) {
            (Some(access), Some(secret)) => {
                Ok(Credentials::new(access, secret, token, None, "aslan"))
            }
            _ => Err(runtime(
                "No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or [aws] access_key_id and secret_access_key in aslan.toml.",
            )),
        }
    }

    fn endpoint(&self, name: &str, service: &Service, region: &str) -> String {
        if let Some(url) = self
            .config
            .endpoints
            .get(name)
            .or(self.config.endpoint_url.as_ref())
        {
            return url.trim_end_matches('/').to_owned();
        }
        format!("https://{}.{region}.amazonaws.com", service.host_prefix)
    }

    // One signed request: the service and region sign it, `optimized` names its client errors.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        service: &Service,
        region: &str,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        optimized: bool,
    ) -> Result<Answer, TaskError> {
        let identity = self.credentials()?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| runtime(format!("cannot sign the request: {e}")))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| runtime(format!("cannot sign the request to {url}: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| runtime(format!("cannot sign the request to {url}: {e}")))?
            .into_parts();
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| runtime(e.to_string()))?;
        let mut request = self.http.request(method, url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.map_err(|e| {
            TaskError::new(
                format!(
                    "{}.SdkClientException",
                    if optimized {
                        service.optimized_name
                    } else {
                        service.sdk_name
                    }
                ),
                format!("Unable to execute HTTP request: {}", client_error_text(&e)),
            )
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| runtime(format!("reading the answer of {url}: {e}")))?
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The configured region, or the execution's.
    fn region(&self, execution_arn: &str) -> String {
        self.config
            .region
            .clone()
            .unwrap_or_else(|| crate::lambda::region_account(execution_arn).0)
    }

    /// Whether `[aws]` names an endpoint for this service.
    pub(crate) fn has_endpoint(&self, name: &str) -> bool {
        self.config.endpoints.contains_key(name)
    }

    /// Whether `[aws]` is in the configuration (functions not defined locally go to Lambda).
    pub(crate) fn configured(&self) -> bool {
        self.configured
    }

    /// Lambda's Invoke: `(status, payload)` or the function's error as Lambda reports it.
    pub(crate) async fn lambda_invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: Vec<u8>,
        asynchronous: bool,
        execution_arn: &str,
    ) -> Result<(u16, crate::function::Invocation), TaskError> {
        let service = service("lambda").ok_or_else(|| runtime("lambda"))?;
        let region = self.region(execution_arn);
        let endpoint = self.endpoint("lambda", &service, &region);
        let mut url = format!(
            "{endpoint}/2015-03-31/functions/{}/invocations",
            crate::percent_encode(function)
        );
        if let Some(qualifier) = qualifier {
            url.push_str(&format!("?Qualifier={}", crate::percent_encode(qualifier)));
        }
        let invocation_type = if asynchronous {
            "Event"
        } else {
            "RequestResponse"
        };
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "x-amz-invocation-type".to_owned(),
                invocation_type.to_owned(),
            ),
        ];
        let answer = self
            .send(&service, &region, "POST", &url, headers, payload, true)
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(service_error(&service, true, &answer));
        }
        if answer.headers.contains_key("x-amz-function-error") {
            let text = String::from_utf8_lossy(&answer.body).into_owned();
            return Ok((
                answer.status,
                crate::function::Invocation::failed_with(text, "Lambda.Unknown"),
            ));
        }
        Ok((
            answer.status,
            crate::function::Invocation::Returned(answer.body),
        ))
    }

    /// Calls `service:action` with `parameters`; `optimized` picks the error and result forms.
    pub(crate) async fn call(
        &self,
        name: &str,
        action: &str,
        parameters: &Value,
        optimized: bool,
        execution_arn: &str,
    ) -> Result<Value, TaskError> {
        let Some(service) = service(name) else {
            return Err(runtime(format!(
                "The service '{name}' is not supported by aslan's AWS integrations yet."
            )));
        };
        let region = self.region(execution_arn);
        let mut endpoint = self.endpoint(name, &service, &region);
        // SQS calls go to the queue's own host, as the AWS SDKs send them.
        if name == "sqs"
            && let Some(origin) = parameters
                .get("QueueUrl")
                .and_then(Value::as_str)
                .and_then(url_origin)
        {
            endpoint = origin;
        }
        let op = operation(action);
        let parameters = if optimized {
            stringify_bodies(name, parameters)
        } else {
            parameters.clone()
        };
        let (answer, result) = match service.protocol {
            Protocol::Json(version, prefix) => {
                let body = serde_json::to_vec(&without_nulls(&parameters)).unwrap_or_default();
                let headers = vec![
                    (
                        "content-type".to_owned(),
                        format!("application/x-amz-json-{version}"),
                    ),
                    ("x-amz-target".to_owned(), format!("{prefix}.{op}")),
                ];
                let answer = self
                    .send(
                        &service,
                        &region,
                        "POST",
                        &format!("{endpoint}/"),
                        headers,
                        body,
                        optimized,
                    )
                    .await?;
                let parsed =
                    serde_json::from_slice::<Value>(&answer.body).unwrap_or_else(|_| json!({}));
                (answer, parsed)
            }
            Protocol::Query(version) => {
                let mut pairs = vec![
                    ("Action".to_owned(), op.clone()),
                    ("Version".to_owned(), version.to_owned()),
                ];
                flatten_query("", &parameters, &mut pairs);
                let body = form(&pairs);
                let headers = vec![(
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
                )];
                let answer = self
                    .send(
                        &service,
                        &region,
                        "POST",
                        &format!("{endpoint}/"),
                        headers,
                        body.into_bytes(),
                        optimized,
                    )
                    .await?;
                let tree = xml_to_json(&String::from_utf8_lossy(&answer.body));
                let result = tree
                    .get(format!("{op}Response"))
                    .and_then(|r| r.get(format!("{op}Result")))
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                (answer, result)
            }
            Protocol::S3 => {
                self.s3(&service, &region, &endpoint, &op, &parameters)
                    .await?
            }
        };
        if !(200..300).contains(&answer.status) {
            return Err(service_error(&service, optimized, &answer));
        }
        let mut result = match result {
            Value::Object(object) => object,
            Value::String(text) if text.is_empty() => Map::new(),
            other => {
                let mut object = Map::new();
                object.insert("Result".into(), other);
                object
            }
        };
        // events:putEvents fails when an entry failed, with the response as the cause.
        if optimized
            && matches!(name, "events" | "eventbridge")
            && result
                .get("FailedEntryCount")
                .and_then(Value::as_u64)
                .is_some_and(|n| n > 0)
        {
            return Err(TaskError::new(
                "EventBridge.FailedEntry",
                Value::Object(result).to_string(),
            ));
        }
        if optimized && matches!(name, "sqs" | "sns" | "dynamodb") {
            let request_id = answer
                .headers
                .get("x-amzn-requestid")
                .or_else(|| answer.headers.get("x-amz-request-id"))
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let mut headers = Map::new();
            for (key, value) in &answer.headers {
                headers.insert(
                    key.as_str().to_owned(),
                    json!(value.to_str().unwrap_or_default()),
                );
            }
            result.insert("SdkHttpMetadata".into(), json!({"AllHttpHeaders": {}, "HttpHeaders": headers, "HttpStatusCode": answer.status}));
            result.insert(
                "SdkResponseMetadata".into(),
                json!({"RequestId": request_id}),
            );
        }
        Ok(Value::Object(result))
    }

    async fn s3(
        &self,
        service: &Service,
        region: &str,
        endpoint: &str,
        op: &str,
        parameters: &Value,
    ) -> Result<(Answer, Value), TaskError> {
        let text = |key: &str| {
            parameters
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let bucket = text("Bucket").ok_or_else(|| runtime("S3 calls need Bucket."))?;
        let key_path = || -> Result<String, TaskError> {
            let key = text("Key").ok_or_else(|| runtime(format!("S3 {op} needs Key.")))?;
            Ok(format!(
                "{endpoint}/{}/{}",
                encode_path(&bucket),
                crate::percent_encode(&key)
            ))
        };
        let (method, url, body, mut headers) = match op {
            "GetObject" => ("GET", key_path()?, Vec::new(), vec![]),
            "HeadObject" => ("HEAD", key_path()?, Vec::new(), vec![]),
            "DeleteObject" => ("DELETE", key_path()?, Vec::new(), vec![]),
            "PutObject" => {
                let body = match parameters.get("Body") {
                    Some(Value::String(s)) => s.clone().into_bytes(),
                    Some(other) => other.to_string().into_bytes(),
                    None => Vec::new(),
                };
                let mut headers = vec![];
                if let Some(content_type) = text("ContentType") {
                    headers.push(("content-type".to_owned(), content_type));
                }
                ("PUT", key_path()?, body, headers)
            }
            "CreateBucket" => (
                "PUT",
                format!("{endpoint}/{}", encode_path(&bucket)),
                Vec::new(),
                vec![],
            ),
            "DeleteBucket" => (
                "DELETE",
                format!("{endpoint}/{}", encode_path(&bucket)),
                Vec::new(),
                vec![],
            ),
            "ListObjectsV2" => {
                let mut url = format!("{endpoint}/{}?list-type=2", encode_path(&bucket));
                for (param, query) in [
                    ("Prefix", "prefix"),
                    ("ContinuationToken", "continuation-token"),
                    ("Delimiter", "delimiter"),
                ] {
                    if let Some(value) = text(param) {
                        url.push_str(&format!("&{query}={}", crate::percent_encode(&value)));
                    }
                }
                if let Some(max) = parameters.get("MaxKeys").and_then(Value::as_u64) {
                    url.push_str(&format!("&max-keys={max}"));
                }
                ("GET", url, Vec::new(), vec![])
            }
            other => {
                return Err(runtime(format!(
                    "aws-sdk:s3:{} is not supported by aslan yet (GetObject, PutObject, HeadObject, DeleteObject, ListObjectsV2, CreateBucket, DeleteBucket are).",
                    other
                )));
            }
        };
        headers.push((
            "x-amz-content-sha256".to_owned(),
            "UNSIGNED-PAYLOAD".to_owned(),
        ));
        let answer = self
            .send(service, region, method, &url, headers, body, false)
            .await?;
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut result = Map::new();
        match op {
            "GetObject" | "HeadObject" => {
                if let Some(ranges) = header("accept-ranges") {
                    result.insert("AcceptRanges".into(), json!(ranges));
                }
                if op == "GetObject" {
                    result.insert("Body".into(), json!(String::from_utf8_lossy(&answer.body)));
                }
                let metadata: Map<String, Value> = answer
                    .headers
                    .iter()
                    .filter_map(|(name, value)| {
                        let key = name.as_str().strip_prefix("x-amz-meta-")?;
                        Some((key.to_owned(), json!(value.to_str().unwrap_or_default())))
                    })
                    .collect();
                result.insert("Metadata".into(), Value::Object(metadata));
                if let Some(sse) = header("x-amz-server-side-encryption") {
                    result.insert("ServerSideEncryption".into(), json!(sse));
                }
                for (name, key) in [
                    ("content-type", "ContentType"),
                    ("etag", "ETag"),
                    ("last-modified", "LastModified"),
                ] {
                    if let Some(value) = header(name) {
                        result.insert(key.into(), json!(value));
                    }
                }
                if let Some(length) = header("content-length").and_then(|l| l.parse::<u64>().ok()) {
                    result.insert("ContentLength".into(), json!(length));
                }
            }
            "PutObject" => {
                for (name, key) in [
                    ("etag", "ETag"),
                    ("x-amz-checksum-crc32", "ChecksumCRC32"),
                    ("x-amz-checksum-type", "ChecksumType"),
                    ("x-amz-server-side-encryption", "ServerSideEncryption"),
                    ("x-amz-version-id", "VersionId"),
                ] {
                    if let Some(value) = header(name) {
                        result.insert(key.into(), json!(value));
                    }
                }
            }
            "ListObjectsV2" => {
                let tree = xml_to_json(&String::from_utf8_lossy(&answer.body));
                if let Some(Value::Object(list)) = tree.get("ListBucketResult") {
                    for (key, value) in list {
                        let value = if key == "Contents" || key == "CommonPrefixes" {
                            match value {
                                Value::Array(_) => value.clone(),
                                other => json!([other]),
                            }
                        } else {
                            value.clone()
                        };
                        result.insert(key.clone(), value);
                    }
                }
            }
            _ => {}
        }
        Ok((answer, Value::Object(result)))
    }
}

/// A connection failure as the Java SDK words it: `HOST: Name or service not known`.
fn client_error_text(error: &reqwest::Error) -> String {
    let mut innermost = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        innermost = cause.to_string();
        source = cause.source();
    }
    let host = error
        .url()
        .and_then(|u| u.host_str())
        .unwrap_or_default()
        .to_owned();
    if innermost.contains("Name or service not known") || innermost.contains("lookup address") {
        format!("{host}: Name or service not known")
    } else if innermost.contains("onnection refused") {
        format!("Connect to {host} failed: Connection refused")
    } else {
        innermost
    }
}

/// The request without null members: the SDKs leave unset (null) members out.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// `scheme://host[:port]` of a URL.
fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}"))
}

/// Optimized integrations send an object `MessageBody`/`Message`/`Detail` as JSON text.
fn stringify_bodies(service: &str, parameters: &Value) -> Value {
    let mut parameters = parameters.clone();
    let field = match service {
        "sqs" => "MessageBody",
        "sns" => "Message",
        _ => "",
    };
    if let Some(value) = parameters.get_mut(field)
        && !value.is_string()
    {
        *value = Value::String(value.to_string());
    }
    if service == "events"
        && let Some(Value::Array(entries)) = parameters.get_mut("Entries")
    {
        for entry in entries {
            if let Some(detail) = entry.get_mut("Detail")
                && !detail.is_string()
            {
                *detail = Value::String(detail.to_string());
            }
        }
    }
    parameters
}

/// An AWS error answer as a Task error: `Service.CodeException` and AWS's cause form.
fn service_error(service: &Service, optimized: bool, answer: &Answer) -> TaskError {
    let text = String::from_utf8_lossy(&answer.body);
    // REST-JSON services (Lambda) name the error in a header.
    let header_code = answer
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).to_owned());
    let (code, message) = if let Ok(value) = serde_json::from_str::<Value>(&text) {
        let code = value
            .get("__type")
            .or_else(|| value.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("UnknownError");
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let code =
            header_code.unwrap_or_else(|| code.rsplit('#').next().unwrap_or(code).to_owned());
        (code, message.to_owned())
    } else {
        let tree = xml_to_json(&text);
        let error = tree
            .get("ErrorResponse")
            .and_then(|e| e.get("Error"))
            .or_else(|| tree.get("Error"))
            .cloned()
            .unwrap_or(Value::Null);
        let code = match error.get("Code").and_then(Value::as_str) {
            Some(code) if !code.is_empty() => code.to_owned(),
            _ => match answer.status {
                404 => "NotFound".to_owned(),
                403 => "AccessDenied".to_owned(),
                status => format!("Http{status}"),
            },
        };
        let message = error
            .get("Message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        (code, message)
    };
    let request_id = answer
        .headers
        .get("x-amzn-requestid")
        .or_else(|| answer.headers.get("x-amz-request-id"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Errors the SDK has no class for surface as the service's base exception.
    let generic = matches!(
        code.as_str(),
        "ValidationException" | "ValidationError" | "SerializationException" | "InternalFailure"
    );
    let class = |base: String| {
        if generic {
            base
        } else if code.ends_with("Exception") {
            code.clone()
        } else {
            format!("{code}Exception")
        }
    };
    if optimized {
        // The optimized integrations report as the AWS SDK for Java 1.x does.
        let name = service.optimized_name;
        TaskError::new(
            format!("{name}.{}", class(format!("Amazon{name}Exception"))),
            format!(
                "{message} (Service: {}; Status Code: {}; Error Code: {code}; Request ID: {request_id}; Proxy: null)",
                service.v1_name, answer.status
            ),
        )
    } else {
        let name = service.sdk_name;
        TaskError::new(
            format!("{name}.{}", class(format!("{name}Exception"))),
            format!(
                "{message} (Service: {name}, Status Code: {}, Request ID: {request_id})",
                answer.status
            ),
        )
    }
}

/// Query-protocol parameters: structures as `A.B`, lists as `A.member.N`, attribute maps as
/// `A.entry.N.Name` / `A.entry.N.Value...`.
fn flatten_query(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                if key.ends_with("Attributes") && child.is_object() {
                    for (i, (name, attribute)) in
                        child.as_object().into_iter().flatten().enumerate()
                    {
                        let entry = format!("{}.entry.{}", join(key), i + 1);
                        out.push((format!("{entry}.Name"), name.clone()));
                        flatten_query(&format!("{entry}.Value"), attribute, out);
                    }
                } else {
                    flatten_query(&join(key), child, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten_query(&format!("{prefix}.member.{}", i + 1), item, out);
            }
        }
        Value::String(text) => out.push((prefix.to_owned(), text.clone())),
        Value::Null => {}
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", crate::percent_encode(k), crate::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A key in a path: `/` stays.
fn encode_path(text: &str) -> String {
    text.split('/')
        .map(crate::percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// A small XML reader for AWS answers: elements become keys, repeated elements arrays, text
/// leaves strings; attributes, comments and the declaration are skipped.
pub(crate) fn xml_to_json(text: &str) -> Value {
    fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    }
    // Deeper documents are cut off rather than recursing without bound on a hostile answer.
    const MAX_DEPTH: usize = 64;
    fn element(text: &str, pos: &mut usize, depth: usize) -> Value {
        let mut children: Map<String, Value> = Map::new();
        let mut content = String::new();
        while *pos < text.len() {
            let rest = &text[*pos..];
            let Some(open) = rest.find('<') else {
                *pos = text.len();
                break;
            };
            content.push_str(&rest[..open]);
            *pos += open;
            let rest = &text[*pos..];
            if rest.starts_with("</") {
                *pos += rest.find('>').map_or(rest.len(), |i| i + 1);
                break;
            }
            if rest.starts_with("<?") || rest.starts_with("<!") {
                *pos += rest.find('>').map_or(rest.len(), |i| i + 1);
                continue;
            }
            let close = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[1..close];
            let self_closing = tag.ends_with('/');
            let name = tag
                .trim_end_matches('/')
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned();
            *pos += (close + 1).min(rest.len());
            let value = if self_closing {
                Value::String(String::new())
            } else if depth >= MAX_DEPTH {
                *pos = text.len();
                Value::Null
            } else {
                element(text, pos, depth + 1)
            };
            match children.get_mut(&name) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    let value = if name == "member" {
                        Value::Array(vec![value])
                    } else {
                        value
                    };
                    children.insert(name, value);
                }
            }
        }
        if children.is_empty() {
            Value::String(unescape(content.trim()))
        } else {
            // A list wrapper (`<Items><member/>...`) becomes the list itself.
            if children.len() == 1
                && let Some(Value::Array(items)) = children.get("member")
            {
                return Value::Array(items.clone());
            }
            Value::Object(children)
        }
    }
    let mut pos = 0;
    element(text, &mut pos, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flattening() {
        let mut pairs = Vec::new();
        flatten_query(
            "",
            &json!({"TopicArn": "t", "Message": "m", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "x"}}, "Ids": ["a", "b"]}),
            &mut pairs,
        );
        assert!(pairs.contains(&("MessageAttributes.entry.1.Name".into(), "kind".into())));
        assert!(pairs.contains(&(
            "MessageAttributes.entry.1.Value.DataType".into(),
            "String".into()
        )));
        assert!(pairs.contains(&("Ids.member.2".into(), "b".into())));
    }

    #[test]
    fn xml_answers() {
        let xml = r#"<?xml version="1.0"?><PublishResponse xmlns="x"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>"#;
        assert_eq!(
            xml_to_json(xml)["PublishResponse"]["PublishResult"],
            json!({"MessageId": "m-1"})
        );
        let list = "<ListBucketResult><Name>b</Name><Contents><Key>a</Key></Contents><Contents><Key>b &amp; c</Key></Contents></ListBucketResult>";
        assert_eq!(
            xml_to_json(list)["ListBucketResult"]["Contents"],
            json!([{"Key": "a"}, {"Key": "b & c"}])
        );
        let members = "<R><Topics><member><TopicArn>x</TopicArn></member></Topics></R>";
        assert_eq!(
            xml_to_json(members)["R"]["Topics"],
            json!([{"TopicArn": "x"}])
        );
    }

    #[test]
    fn hostile_xml_neither_panics_nor_recurses_forever() {
        let deep = "<a>".repeat(100_000);
        let _ = xml_to_json(&deep);
        for text in [
            "<",
            "<a",
            "</",
            "<?",
            "<a/>",
            "<a><b></a>",
            "é<ü>ö</ü>",
            "<<>>",
            ">",
        ] {
            let _ = xml_to_json(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_panic(text in "[<>/?!a-z é&;]{0,64}") {
            let _ = xml_to_json(&text);
        }
    }

    #[test]
    fn names() {
        assert_eq!(operation("sendMessage"), "SendMessage");
        assert!(service("dynamodb").is_some() && service("nope").is_none());
        let bodies = stringify_bodies("sqs", &json!({"MessageBody": {"a": 1}}));
        assert_eq!(bodies["MessageBody"], r#"{"a":1}"#);
    }
}
