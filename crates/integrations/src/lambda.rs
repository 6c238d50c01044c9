//! Step Functions' two ways to call a function: the function ARN as the resource (the result is
//! the function's payload) and `arn:aws:states:::lambda:invoke` (the result is Lambda's Invoke
//! response: `{ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode}`).

use aslan_engine::TaskError;
use serde_json::{Map, Value, json};

use crate::function::{Caller, Invocation};

/// A function reference split into its name and qualifier: `name`, `name:alias`, a partial ARN
/// `ACCOUNT:function:name`, or a full ARN.
pub(crate) fn split_function_name(reference: &str) -> (String, Option<String>) {
    let rest = if let Some(at) = reference.find(":function:") {
        &reference[at + ":function:".len()..]
    } else {
        reference
    };
    match rest.split_once(':') {
        Some((name, qualifier)) => (name.to_owned(), Some(qualifier.to_owned())),
        None => (rest.to_owned(), None),
    }
}

/// `REGION` and `ACCOUNT` of an execution ARN.
pub(crate) fn region_account(execution_arn: &str) -> (String, String) {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    let region = parts.get(3).copied().unwrap_or("us-east-1");
    let account = parts.get(4).copied().unwrap_or("123456789012");
    (region.to_owned(), account.to_owned())
}

/// The function's ARN as Lambda names it in errors.
pub(crate) fn function_arn(caller: &Caller, name: &str, qualifier: Option<&str>) -> String {
    let (region, account) = region_account(&caller.execution);
    format!(
        "arn:aws:lambda:{region}:{account}:function:{name}:{}",
        qualifier.unwrap_or("$LATEST")
    )
}

/// Lambda's answer for a function that does not exist.
pub(crate) fn not_found(caller: &Caller, name: &str, qualifier: Option<&str>) -> TaskError {
    TaskError::new(
        "Lambda.ResourceNotFoundException",
        format!(
            "Function not found: {} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {}; Proxy: null)",
            function_arn(caller, name, qualifier),
            caller.request_id
        ),
    )
}

/// The payload as JSON; a payload that is not JSON is kept as a string.
fn parse_payload(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The result of the function-ARN resource.
pub(crate) fn legacy_result(invocation: Invocation) -> Result<Value, TaskError> {
    match invocation {
        Invocation::Returned(bytes) => Ok(parse_payload(&bytes)),
        // The cause is the error object exactly as the function's runtime wrote it.
        Invocation::Failed {
            error_type,
            payload,
        } => Err(TaskError::new(error_type, payload)),
    }
}

/// The event `lambda:invoke` sends: a string `Payload` is sent as it is, anything else as JSON.
pub(crate) fn invoke_payload(parameters: &Value) -> Vec<u8> {
    match parameters.get("Payload") {
        // No payload: Lambda's runtimes hand the function an empty object.
        None | Some(Value::Null) => b"{}".to_vec(),
        Some(Value::String(text)) => text.as_bytes().to_vec(),
        Some(other) => serde_json::to_vec(other).unwrap_or_default(),
    }
}

/// The `lambda:invoke` result for a successful call (status 200, or 202 for `Event`).
pub(crate) fn invoke_envelope(bytes: &[u8], status: u16, request_id: &str, date: &str) -> Value {
    let length = bytes.len().to_string();
    let mut all = Map::new();
    let mut headers = Map::new();
    let pairs = [
        ("Connection", "keep-alive"),
        ("Content-Length", length.as_str()),
        ("Content-Type", "application/json"),
        ("Date", date),
        ("X-Amz-Executed-Version", "$LATEST"),
        ("x-amzn-Remapped-Content-Length", "0"),
        ("x-amzn-RequestId", request_id),
        (
            "X-Amzn-Trace-Id",
            "Root=1-00000000-000000000000000000000000;Sampled=0",
        ),
    ];
    for (name, value) in pairs {
        headers.insert(name.to_owned(), Value::String(value.to_owned()));
        all.insert(name.to_owned(), json!([value]));
    }
    let payload = if status == 202 {
        Value::String(String::new())
    } else {
        parse_payload(bytes)
    };
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": headers,
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status,
    })
}

/// `lambda:invoke`'s answer to an invocation: the Invoke envelope, or the function's error.
pub(crate) fn invoke_result(
    invocation: Invocation,
    status: u16,
    request_id: &str,
    date: &str,
) -> Result<Value, TaskError> {
    match invocation {
        Invocation::Returned(bytes) => Ok(invoke_envelope(&bytes, status, request_id, date)),
        Invocation::Failed {
            error_type,
            payload,
        } => Err(invoke_error(error_type, &payload)),
    }
}

/// The `lambda:invoke` failure for a function error: the error type, and the error object as
/// Step Functions re-serialises it.
pub(crate) fn invoke_error(error_type: String, payload: &str) -> TaskError {
    let cause = serde_json::from_str::<Value>(payload)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| payload.to_owned());
    TaskError::new(error_type, cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_qualifiers() {
        assert_eq!(split_function_name("f"), ("f".into(), None));
        assert_eq!(
            split_function_name("f:prod"),
            ("f".into(), Some("prod".into()))
        );
        assert_eq!(
            split_function_name("arn:aws:lambda:us-east-1:1:function:f:3"),
            ("f".into(), Some("3".into()))
        );
        assert_eq!(split_function_name("1:function:f"), ("f".into(), None));
    }

    #[test]
    fn payloads_and_envelopes() {
        assert_eq!(invoke_payload(&json!({"Payload": "0"})), b"0");
        assert_eq!(invoke_payload(&json!({"Payload": {"a": 1}})), br#"{"a":1}"#);
        assert_eq!(invoke_payload(&json!({})), b"{}");
        assert_eq!(invoke_payload(&json!({"Payload": null})), b"{}");
        let envelope = invoke_envelope(b"0", 200, "r", "d");
        assert_eq!(envelope["Payload"], json!(0));
        assert_eq!(
            envelope["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"],
            "1"
        );
        assert_eq!(envelope["StatusCode"], 200);
        assert_eq!(
            invoke_envelope(b"not json", 200, "r", "d")["Payload"],
            "not json"
        );
    }

    #[test]
    fn errors_keep_or_compact_the_object() {
        let text = r#"{"errorMessage": "boom", "errorType": "Exception"}"#;
        let legacy = legacy_result(Invocation::Failed {
            error_type: "Exception".into(),
            payload: text.into(),
        })
        .unwrap_err();
        assert_eq!(legacy.cause, text);
        let service = invoke_error("Exception".into(), text);
        assert_eq!(
            service.cause,
            r#"{"errorMessage":"boom","errorType":"Exception"}"#
        );
    }
}
