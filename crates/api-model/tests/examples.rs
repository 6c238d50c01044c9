//! Requests and responses of the AWS Step Functions API, read and written back.
//!
//! Each `tests/data/<Operation>.json` holds a request and a response of one operation and
//! says where they come from. Reading them into the generated shapes and writing them back
//! must give the same JSON: same member names, same enumeration strings, timestamps as
//! epoch-second numbers.

use std::fmt::Debug;
use std::path::PathBuf;

use aslan_api_model::*;
use serde_json::{Value, json};

fn example(operation: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(format!("{operation}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let example: Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()));
    assert_eq!(example["operation"], operation, "{}", path.display());
    example
}

/// Reads the example's request and response into `I` and its output, and checks that they
/// write back to the same JSON.
fn round_trip<I>(operation: &str)
where
    I: OperationInput + Debug,
    I::Output: Debug,
{
    assert_eq!(I::OPERATION, operation);
    let example = example(operation);

    let request = &example["request"];
    let input: I = serde_json::from_value(request.clone())
        .unwrap_or_else(|err| panic!("{operation} request: {err}"));
    assert_eq!(input.missing_required(), None, "{operation}: {input:?}");
    assert_eq!(
        &serde_json::to_value(&input).unwrap(),
        request,
        "{operation} request"
    );

    let response = &example["response"];
    let output: I::Output = serde_json::from_value(response.clone())
        .unwrap_or_else(|err| panic!("{operation} response: {err}"));
    assert_eq!(
        &serde_json::to_value(&output).unwrap(),
        response,
        "{operation} response"
    );
}

macro_rules! examples {
    ($($test:ident: $input:ty;)+) => {
        $(
            #[test]
            fn $test() {
                round_trip::<$input>(<$input as OperationInput>::OPERATION);
            }
        )+

        #[test]
        fn every_example_is_tested() {
            let tested = [$(<$input as OperationInput>::OPERATION),+];
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
            for entry in std::fs::read_dir(&dir).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                let operation = name.strip_suffix(".json").unwrap_or(&name);
                assert!(tested.contains(&operation), "tests/data/{name} is not tested");
            }
        }
    };
}

examples! {
    start_execution: StartExecutionInput;
    describe_execution: DescribeExecutionInput;
    list_executions: ListExecutionsInput;
    get_execution_history: GetExecutionHistoryInput;
    create_state_machine: CreateStateMachineInput;
    validate_state_machine_definition: ValidateStateMachineDefinitionInput;
    start_sync_execution: StartSyncExecutionInput;
    get_activity_task: GetActivityTaskInput;
}

#[test]
fn typed_values_of_the_examples() {
    let response = &example("DescribeExecution")["response"];
    let output: DescribeExecutionOutput = serde_json::from_value(response.clone()).unwrap();
    assert_eq!(output.status, ExecutionStatus::Succeeded);
    assert_eq!(output.start_date, Timestamp::from_millis(1_474_305_046_479));
    assert_eq!(
        output.stop_date,
        Some(Timestamp::from_millis(1_474_305_046_707))
    );
    assert_eq!(
        output.redrive_status,
        Some(ExecutionRedriveStatus::NotRedrivable)
    );

    let response = &example("ListExecutions")["response"];
    let output: ListExecutionsOutput = serde_json::from_value(response.clone()).unwrap();
    assert_eq!(output.executions.len(), 2);
    assert!(output.next_token.is_some());

    let response = &example("GetExecutionHistory")["response"];
    let output: GetExecutionHistoryOutput = serde_json::from_value(response.clone()).unwrap();
    let types: Vec<&str> = output
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );

    let response = &example("ValidateStateMachineDefinition")["response"];
    let output: ValidateStateMachineDefinitionOutput =
        serde_json::from_value(response.clone()).unwrap();
    assert_eq!(
        output.result,
        ValidateStateMachineDefinitionResultCode::Fail
    );
    assert_eq!(
        output.diagnostics[0].severity,
        ValidateStateMachineDefinitionSeverity::Error
    );
    assert_eq!(
        output.diagnostics[0].location.as_deref(),
        Some("/States/Pass")
    );

    let response = &example("StartSyncExecution")["response"];
    let output: StartSyncExecutionOutput = serde_json::from_value(response.clone()).unwrap();
    assert_eq!(output.status, SyncExecutionStatus::Succeeded);
    let billing = output.billing_details.unwrap();
    assert_eq!(billing.billed_memory_used_in_mb, Some(64));

    let request = &example("CreateStateMachine")["request"];
    let input: CreateStateMachineInput = serde_json::from_value(request.clone()).unwrap();
    assert_eq!(input.state_machine_type, Some(StateMachineType::Standard));
    let logging = input.logging_configuration.unwrap();
    assert_eq!(logging.level, Some(LogLevel::Error));
    assert_eq!(
        input.encryption_configuration.unwrap().encryption_type,
        EncryptionType::AwsOwnedKey
    );
}

#[test]
fn timestamps_are_epoch_seconds() {
    let output = StartExecutionOutput::new(
        "arn:aws:states:us-east-1:123456789012:execution:HelloWorld:ExecutionName",
        Timestamp::from_millis(1_474_305_046_479),
    );
    assert_eq!(
        serde_json::to_string(&output).unwrap(),
        r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:HelloWorld:ExecutionName","startDate":1474305046.479}"#
    );
    // AWS writes exponents, SDKs write plain fractions or whole seconds: all are read.
    for (text, millis) in [
        ("1.474305046479E9", 1_474_305_046_479),
        ("1474305046.479", 1_474_305_046_479),
        ("1474305046", 1_474_305_046_000),
    ] {
        let output: StartExecutionOutput =
            serde_json::from_str(&format!(r#"{{"executionArn":"a","startDate":{text}}}"#)).unwrap();
        assert_eq!(output.start_date, Timestamp::from_millis(millis), "{text}");
    }
    let value = serde_json::to_value(&output).unwrap();
    assert!(value["startDate"].is_f64());
}

#[test]
fn unknown_members_are_ignored() {
    let input: CreateStateMachineInput = serde_json::from_value(json!({
        "name": "HelloWorld",
        "definition": "{}",
        "roleArn": "arn:aws:iam::123456789012:role/R",
        "someFutureMember": {"nested": [1, 2]},
        "loggingConfiguration": {"level": "OFF", "someFutureFlag": true}
    }))
    .unwrap();
    assert_eq!(input.name, "HelloWorld");
    assert_eq!(
        input.logging_configuration.unwrap().level,
        Some(LogLevel::Off)
    );

    // AWS puts `__type` into nested structures of some responses.
    let output: StartSyncExecutionOutput = serde_json::from_value(json!({
        "executionArn": "arn:aws:states:us-east-1:123456789101:express:sm:a:b",
        "inputDetails": {
            "__type": "com.amazonaws.swf.base.model#CloudWatchEventsExecutionDataDetails",
            "included": true
        },
        "startDate": 1.629880767853E9,
        "stopDate": 1.629880768343E9,
        "status": "FAILED",
        "error": "Failed To Make Pizza",
        "cause": "They asked for Pineapple"
    }))
    .unwrap();
    assert_eq!(output.status, SyncExecutionStatus::Failed);
    assert_eq!(output.input_details.unwrap().included, Some(true));
}

#[test]
fn missing_required_members_are_reported() {
    let input: StartExecutionInput = serde_json::from_str("{}").unwrap();
    assert_eq!(input.missing_required(), Some("stateMachineArn"));
    let input: StartExecutionInput =
        serde_json::from_str(r#"{"stateMachineArn": null, "name": null}"#).unwrap();
    assert_eq!(input.missing_required(), Some("stateMachineArn"));
    assert_eq!(input.name, None);

    let input: CreateStateMachineInput = serde_json::from_str(r#"{"name": "M"}"#).unwrap();
    assert_eq!(input.missing_required(), Some("definition"));
    let input: CreateStateMachineInput =
        serde_json::from_str(r#"{"name": "M", "definition": "{}"}"#).unwrap();
    assert_eq!(input.missing_required(), Some("roleArn"));
    let input: CreateStateMachineInput =
        serde_json::from_str(r#"{"name": "", "definition": "{}", "roleArn": "r"}"#).unwrap();
    assert_eq!(input.missing_required(), Some("name"));

    // The model gives `routingConfiguration` a minimum of one item.
    let input: CreateStateMachineAliasInput =
        serde_json::from_str(r#"{"name": "PROD", "routingConfiguration": []}"#).unwrap();
    assert_eq!(input.missing_required(), Some("routingConfiguration"));
    // `tags` may be empty, so its absence cannot be seen.
    let input: TagResourceInput = serde_json::from_str(r#"{"resourceArn": "a"}"#).unwrap();
    assert_eq!(input.missing_required(), None);
    assert!(input.tags.is_empty());

    let input: ListExecutionsInput = serde_json::from_str("{}").unwrap();
    assert_eq!(input.missing_required(), None);
    assert_eq!(input, ListExecutionsInput::default());

    // A member of the wrong type is still an error for the server to report.
    assert!(serde_json::from_str::<StartExecutionInput>(r#"{"stateMachineArn": 5}"#).is_err());
    assert!(serde_json::from_str::<ListExecutionsInput>(r#"{"statusFilter": "DONE"}"#).is_err());
}

#[test]
fn enumerations_use_the_wire_strings() {
    fn check<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned,
    {
        for value in all {
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(json, Value::from(as_str(*value)));
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), *value);
        }
    }
    check(LogLevel::ALL, LogLevel::as_str);
    check(SyncExecutionStatus::ALL, SyncExecutionStatus::as_str);
    check(StateMachineStatus::ALL, StateMachineStatus::as_str);
    check(ExecutionRedriveStatus::ALL, ExecutionRedriveStatus::as_str);
    check(MapRunStatus::ALL, MapRunStatus::as_str);
    check(
        ValidateStateMachineDefinitionResultCode::ALL,
        ValidateStateMachineDefinitionResultCode::as_str,
    );
    check(
        ValidateStateMachineDefinitionSeverity::ALL,
        ValidateStateMachineDefinitionSeverity::as_str,
    );
    check(
        MockResponseValidationMode::ALL,
        MockResponseValidationMode::as_str,
    );
    check(
        ValidationExceptionReason::ALL,
        ValidationExceptionReason::as_str,
    );

    assert_eq!(LogLevel::All.as_str(), "ALL");
    assert_eq!(SyncExecutionStatus::TimedOut.as_str(), "TIMED_OUT");
    assert_eq!(
        ExecutionRedriveStatus::RedrivableByMapRun.as_str(),
        "REDRIVABLE_BY_MAP_RUN"
    );
    assert_eq!(ValidateStateMachineDefinitionResultCode::Ok.as_str(), "OK");
    assert_eq!(MockResponseValidationMode::None.as_str(), "NONE");
    assert_eq!(
        "WARNING".parse(),
        Ok(ValidateStateMachineDefinitionSeverity::Warning)
    );
    assert!(
        "warning"
            .parse::<ValidateStateMachineDefinitionSeverity>()
            .is_err()
    );
    assert_eq!(IncludedData::MetadataOnly.to_string(), "METADATA_ONLY");
}

#[test]
fn error_bodies() {
    let body = ErrorBody::new(
        ErrorCode::ExecutionDoesNotExist,
        "Execution Does Not Exist: 'arn:aws:states:us-east-1:123456789012:execution:M:E'",
    );
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"__type":"ExecutionDoesNotExist","message":"Execution Does Not Exist: 'arn:aws:states:us-east-1:123456789012:execution:M:E'"}"#
    );

    let body = ErrorBody::new(ErrorCode::ValidationException, "labeled ARNs")
        .with_reason(ValidationExceptionReason::ApiDoesNotSupportLabeledArns);
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "__type": "ValidationException",
            "message": "labeled ARNs",
            "reason": "API_DOES_NOT_SUPPORT_LABELED_ARNS"
        })
    );

    let body = ErrorBody::new(ErrorCode::ResourceNotFound, "no such alias")
        .with_resource_name("arn:aws:states:us-east-1:123456789012:stateMachine:M:PROD");
    assert_eq!(
        serde_json::to_value(&body).unwrap()["resourceName"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:M:PROD"
    );

    // As AWS sends it: a namespace before `#`.
    let body: ErrorBody = serde_json::from_str(
        r#"{"__type":"com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist","message":"Execution Does Not Exist: 'arn'"}"#,
    )
    .unwrap();
    assert_eq!(body.code(), Some(ErrorCode::ExecutionDoesNotExist));
    assert_eq!(body.code().unwrap().http_status(), 400);

    let body: ErrorBody = serde_json::from_str(
        r#"{"__type":"KmsInvalidStateException","Message":"key disabled","kmsKeyState":"DISABLED"}"#,
    )
    .unwrap();
    assert_eq!(body.message, "key disabled");
    assert_eq!(body.kms_key_state, Some(KmsKeyState::Disabled));
}
