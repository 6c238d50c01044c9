//! The `aslan` binary as users and scripts see it: output, `--json` shapes and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn aslan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aslan"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run aslan")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout_json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aslan-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn run_prints_the_output_and_exits_0() {
    let output = aslan(&[
        "run",
        "examples/hello.asl.json",
        "--input",
        r#"{"name": "world"}"#,
        "--virtual-time",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout_json(&output),
        json!({"greeting": "Hello, world!", "name": "world", "remark": "a whole planet"})
    );
}

#[test]
fn run_json_reports_failures_with_exit_1() {
    let output = aslan(&[
        "run",
        "examples/orders.asl.json",
        "--json",
        "--virtual-time",
        "--mock",
        "examples/orders.mock.json",
        "--test-case",
        "CardDeclined",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout_json(&output),
        json!({"status": "FAILED", "error": "OrderFailed", "cause": "The charge did not go through"})
    );
}

#[test]
fn mocks_answer_each_invocation_in_turn() {
    let output = aslan(&[
        "run",
        "examples/orders.asl.json",
        "--json",
        "--virtual-time",
        "--input",
        "@examples/orders.input.json",
        "--mock",
        "examples/orders.mock.json",
        "--test-case",
        "HappyPath",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout_json(&output)["output"]["charge"],
        json!({"charged": true, "amount": 42})
    );
}

#[test]
fn invalid_definitions_exit_2_with_a_located_diagnostic() {
    let path = write_temp(
        "bad.json",
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\"A\": {\"Type\": \"Pass\", \"Next\": \"Nope\"}}\n}\n",
    );
    let output = aslan(&["run", path.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MISSING_TRANSITION_TARGET"), "{stderr}");
    assert!(stderr.contains(":3:"), "line number expected: {stderr}");
    assert!(stderr.contains("/States/A/Next"), "{stderr}");
}

#[test]
fn validate_json_matches_the_api_shape() {
    let path = write_temp(
        "invalid.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass"}}}"#,
    );
    let output = aslan(&["validate", path.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let response = stdout_json(&output);
    assert_eq!(response["result"], "FAIL");
    assert_eq!(response["diagnostics"][0]["severity"], "ERROR");
    assert!(response["diagnostics"][0]["code"].is_string());

    let output = aslan(&["validate", "examples/hello.asl.json", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout_json(&output),
        json!({"result": "OK", "diagnostics": [], "truncated": false})
    );

    let express = write_temp(
        "express.json",
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}}"#,
    );
    let output = aslan(&[
        "validate",
        express.to_str().unwrap_or_default(),
        "--json",
        "--type",
        "EXPRESS",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout_json(&output)["diagnostics"][0]["location"],
        "/States/T/Resource"
    );
}

#[test]
fn yaml_definitions_run() {
    let path = write_temp(
        "machine.yaml",
        "StartAt: Hello\nStates:\n  Hello:\n    Type: Pass\n    Result: hi\n    End: true\n",
    );
    let output = aslan(&["run", path.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(
        stdout_json(&output),
        json!({"status": "SUCCEEDED", "output": "hi"})
    );
}

#[test]
fn events_are_aws_history_events() {
    let output = aslan(&[
        "run",
        "examples/hello.asl.json",
        "--input",
        r#"{"name": "x"}"#,
        "--virtual-time",
        "--events",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    assert!(types.contains(&"WaitStateEntered"));
    assert_eq!(events[0]["id"], 1);
    assert_eq!(events[1]["previousEventId"], 1);
    assert!(events[1]["stateEnteredEventDetails"]["name"].is_string());
}

#[test]
fn bench_prints_the_contract_line() {
    let output = aslan(&[
        "bench",
        "examples/hello.asl.json",
        "--input",
        r#"{"name": "world"}"#,
        "--executions",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stats: Value =
        serde_json::from_str(stderr.lines().last().unwrap_or_default()).expect("stats line");
    assert_eq!(stats["executions"], 3);
    assert_eq!(stats["transitions"], 12);
    assert!(stats["wall_s"].is_number());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(aslan(&["run"]).status.code(), Some(2));
    assert_eq!(
        aslan(&["run", "examples/hello.asl.json", "--input", "{not json"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        aslan(&["run", "does/not/exist.json"]).status.code(),
        Some(2)
    );
}

#[test]
fn graph_draws_every_state() {
    let output = aslan(&["graph", "examples/data-pipeline/pipeline.asl.json"]);
    assert!(output.status.success());
    let svg = String::from_utf8_lossy(&output.stdout);
    assert!(svg.starts_with("<svg"), "{svg}");
    for state in [
        "Validate",
        "Preprocess",
        "Process",
        "Review?",
        "Notify",
        "Failed",
    ] {
        assert!(svg.contains(state), "{state} missing");
    }
    let output = aslan(&[
        "graph",
        "examples/data-pipeline/pipeline.asl.json",
        "--format",
        "json",
    ]);
    let layout = stdout_json(&output);
    assert_eq!(layout["nodes"].as_array().map(Vec::len), Some(8));
    let bad = write_temp("graph-bad.json", r#"{"StartAt": "X", "States": {}}"#);
    let output = aslan(&["graph", bad.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(2));
}

/// A project directory of its own for one test, with these files in it.
fn project(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aslan-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("project file");
    }
    dir
}

#[test]
fn functions_in_aslan_toml_run_next_to_the_definition() {
    let dir = project(
        "fn",
        &[(
            "aslan.toml",
            "[functions.upper]\ncommand = [\"python3\", \"-c\", \"import json,sys; e=json.load(sys.stdin); print(json.dumps(e['s'].upper()))\"]\n",
        )],
    );
    let definition = dir.join("sm.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "U", "States": {"U": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:upper", "End": true}}}"#,
    )
    .expect("definition");
    let output = aslan(&[
        "run",
        definition.to_str().unwrap_or_default(),
        "--input",
        r#"{"s": "shout"}"#,
        "--json",
    ]);
    assert_eq!(
        stdout_json(&output),
        json!({"status": "SUCCEEDED", "output": "SHOUT"})
    );
    let missing = dir.join("missing.json");
    std::fs::write(
        &missing,
        r#"{"StartAt": "U", "States": {"U": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nope", "End": true}}}"#,
    )
    .expect("definition");
    let output = aslan(&["run", missing.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout_json(&output)["error"],
        "Lambda.ResourceNotFoundException"
    );
}

/// A worker that answers its task token through the endpoint `aslan run` names in
/// AWS_ENDPOINT_URL_SFN, as the AWS SDKs would: the event says what to send. What the endpoint
/// answered goes to a log file, which the next state reads.
const CALLBACK_WORKER: &str = r#"
import json, os, sys, urllib.request, urllib.error
event = json.load(sys.stdin)
def call(operation, request):
    http = urllib.request.Request(os.environ["AWS_ENDPOINT_URL_SFN"], data=json.dumps(request).encode(),
        headers={"x-amz-target": "AWSStepFunctions." + operation, "content-type": "application/x-amz-json-1.0"})
    try:
        return json.load(urllib.request.urlopen(http))
    except urllib.error.HTTPError as e:
        return json.load(e)
answers = []
if event["send"] == "success":
    answers.append(call("SendTaskHeartbeat", {"taskToken": event["token"]}))
    answers.append(call("SendTaskSuccess", {"taskToken": event["token"], "output": json.dumps({"approved": True})}))
    answers.append(call("SendTaskSuccess", {"taskToken": event["token"], "output": "{}"}))
    answers.append(call("SendTaskSuccess", {"taskToken": "nonsense", "output": "{}"}))
elif event["send"] == "failure":
    answers.append(call("SendTaskFailure", {"taskToken": event["token"], "error": "Rejected", "cause": "no budget"}))
with open(event["log"] + ".tmp", "w") as f:
    f.write(json.dumps(answers))
os.rename(event["log"] + ".tmp", event["log"])
print("{}")
"#;

/// Waits (up to 20 s) for the worker's log and returns it.
const READ_LOG: &str = r#"
import json, os, sys, time
event = json.load(sys.stdin)
for _ in range(200):
    if os.path.exists(event["log"]):
        break
    time.sleep(0.1)
print(open(event["log"]).read())
"#;

#[test]
fn run_waits_for_task_tokens_and_answers_them_as_the_api_does() {
    let dir = project(
        "token",
        &[
            ("worker.py", CALLBACK_WORKER),
            ("read_log.py", READ_LOG),
            (
                "aslan.toml",
                "[functions.approve]\ncommand = [\"python3\", \"worker.py\"]\n\n[functions.read_log]\ncommand = [\"python3\", \"read_log.py\"]\n",
            ),
        ],
    );
    let definition = dir.join("approval.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "Ask", "States": {
            "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "approve", "Payload": {"token.$": "$$.Task.Token", "send.$": "$.send", "log.$": "$.log"}},
                "HeartbeatSeconds": 2, "ResultPath": "$.approval", "Next": "Read"},
            "Read": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:read_log",
                "ResultPath": "$.answers", "OutputPath": "$['approval', 'answers']", "End": true}}}"#,
    )
    .expect("definition");
    let run = |send: &str| {
        let log = dir.join(format!("{send}.log"));
        let _ = std::fs::remove_file(&log);
        let input = json!({"send": send, "log": log}).to_string();
        aslan(&[
            "run",
            definition.to_str().unwrap_or_default(),
            "--input",
            &input,
            "--json",
        ])
    };

    let output = run("success");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("workers reach this run at http://127.0.0.1:"),
        "the endpoint is announced"
    );
    let result = stdout_json(&output);
    assert_eq!(result["output"]["approval"], json!({"approved": true}));
    let answers = &result["output"]["answers"];
    assert_eq!(answers[0], json!({}), "a heartbeat is taken");
    assert_eq!(answers[1], json!({}), "the answer is taken");
    assert_eq!(answers[2]["__type"], "TaskTimedOut", "a token used twice");
    assert_eq!(answers[3]["__type"], "InvalidToken");

    let output = run("failure");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout_json(&output),
        json!({"status": "FAILED", "error": "Rejected", "cause": "no budget"})
    );

    // Nobody answers: the heartbeat timeout ends the task, in wall-clock seconds even under
    // virtual time (the answer would come from outside).
    let output = run("nothing");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout_json(&output)["error"], "States.HeartbeatTimeout");
    let input = json!({"send": "nothing", "log": dir.join("virtual.log")}).to_string();
    let output = aslan(&[
        "run",
        definition.to_str().unwrap_or_default(),
        "--input",
        &input,
        "--json",
        "--virtual-time",
    ]);
    assert_eq!(stdout_json(&output)["error"], "States.HeartbeatTimeout");
}

#[test]
fn a_workflow_answers_a_token_of_its_own_process_through_aws_sdk_sfn() {
    let dir = project(
        "sdk-token",
        &[
            (
                "stash.py",
                "import json, sys\nopen(sys.argv[1], 'w').write(json.load(sys.stdin)['token'])\nprint('null')\n",
            ),
            (
                "fetch.py",
                "import json, os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.05)\nprint(json.dumps(open(sys.argv[1]).read()))\n",
            ),
            (
                "aslan.toml",
                "[functions.stash]\ncommand = [\"python3\", \"stash.py\", \"token\"]\n\n[functions.fetch]\ncommand = [\"python3\", \"fetch.py\", \"token\"]\n",
            ),
        ],
    );
    let _ = std::fs::remove_file(dir.join("token"));
    let definition = dir.join("pair.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Task", "End": true,
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "stash", "Payload": {"token.$": "$$.Task.Token"}}}}},
            {"StartAt": "Fetch", "States": {
                "Fetch": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fetch", "Next": "Answer"},
                "Answer": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                    "Parameters": {"TaskToken.$": "$", "Output": "{\"from\": \"sibling\"}"}, "End": true}}}]}}}"#,
    )
    .expect("definition");
    let output = aslan(&["run", definition.to_str().unwrap_or_default(), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        stdout_json(&output)["output"],
        json!([{"from": "sibling"}, {}])
    );
}

/// An activity worker as written for AWS, speaking the protocol with urllib: it polls
/// GetActivityTask until the run is up, and answers with the input's total.
const ACTIVITY_WORKER: &str = r#"
import json, sys, time, urllib.request, urllib.error
endpoint, arn = sys.argv[1], sys.argv[2]
def call(operation, request):
    http = urllib.request.Request(endpoint, data=json.dumps(request).encode(),
        headers={"x-amz-target": "AWSStepFunctions." + operation, "content-type": "application/x-amz-json-1.0"})
    return json.load(urllib.request.urlopen(http, timeout=70))
for _ in range(200):
    try:
        task = call("GetActivityTask", {"activityArn": arn, "workerName": "w-1"})
        break
    except (urllib.error.URLError, ConnectionError):
        time.sleep(0.05)
call("SendTaskHeartbeat", {"taskToken": task["taskToken"]})
total = sum(json.loads(task["input"])["amounts"])
call("SendTaskSuccess", {"taskToken": task["taskToken"], "output": json.dumps({"total": total})})
"#;

#[test]
fn run_hands_activity_tasks_to_workers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let arn = "arn:aws:states:us-east-1:123456789012:activity:sum";
    let definition = write_temp(
        "activity.json",
        &json!({"StartAt": "Sum", "States": {"Sum": {"Type": "Task", "Resource": arn,
            "HeartbeatSeconds": 30, "TimeoutSeconds": 60, "End": true}}})
        .to_string(),
    );
    let run = Command::new(env!("CARGO_BIN_EXE_aslan"))
        .args([
            "run",
            definition.to_str().unwrap_or_default(),
            "--input",
            r#"{"amounts": [1, 2, 39]}"#,
            "--json",
            "--events",
            "--callbacks",
            &address,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start aslan run");
    let worker = Command::new("python3")
        .args(["-c", ACTIVITY_WORKER, &format!("http://{address}"), arn])
        .output()
        .expect("run the worker");
    assert!(worker.status.success(), "{worker:?}");
    let output = run.wait_with_output().expect("aslan run ends");
    assert_eq!(
        stdout_json(&output),
        json!({"status": "SUCCEEDED", "output": {"total": 42}})
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let started: Vec<Value> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["type"] == "ActivityStarted")
        .collect();
    assert_eq!(started.len(), 1, "{stderr}");
    assert_eq!(
        started[0]["activityStartedEventDetails"]["workerName"],
        "w-1"
    );
}

#[test]
fn a_distributed_map_reads_its_items_from_a_local_bucket() {
    let dir = project(
        "bucket",
        &[(
            "aslan.toml",
            "[buckets]\norders = \"data\"\n\n[functions.total]\ncommand = [\"python3\", \"-c\", \"import json,sys; e=json.load(sys.stdin); print(sum(int(i['amount']) for i in e['Items']))\"]\n",
        )],
    );
    std::fs::create_dir_all(dir.join("data/2026")).expect("bucket dir");
    std::fs::write(
        dir.join("data/2026/orders.csv"),
        "id,amount\n1,10\n2,20\n3,30\n4,40\n5,50\n",
    )
    .expect("object");
    std::fs::write(dir.join("data/2026/notes.json"), "[]").expect("object");
    let definition = dir.join("orders.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "Totals", "States": {
            "Totals": {"Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 4},
                    "Parameters": {"Bucket": "orders", "Key.$": "$.key"}},
                "ItemBatcher": {"MaxItemsPerBatch": 2},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Sum", "States": {"Sum": {"Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:total", "End": true}}},
                "ResultPath": "$.totals", "Next": "Files"},
            "Files": {"Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": "orders", "Prefix": "2026/"}},
                "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "ResultPath": "$.files", "Next": "Write"},
            "Write": {"Type": "Map", "ItemsPath": "$.totals",
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "W", "States": {"W": {"Type": "Pass", "End": true}}},
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "orders", "Prefix": "out"}},
                "ResultSelector": {"key.$": "$.ResultWriterDetails.Key"},
                "ResultPath": "$.written", "End": true}}}"#,
    )
    .expect("definition");
    let output = aslan(&[
        "run",
        definition.to_str().unwrap_or_default(),
        "--input",
        r#"{"key": "2026/orders.csv"}"#,
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let mut result = stdout_json(&output)["output"].clone();
    let manifest_key = result["written"]["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    result["written"] = Value::Null;
    assert_eq!(
        result,
        json!({"key": "2026/orders.csv", "totals": [30, 70],
            "files": [{"key": "2026/notes.json", "size": 2}, {"key": "2026/orders.csv", "size": 35}],
            "written": null})
    );
    // The results went to the bucket's directory: a manifest naming SUCCEEDED_0.json.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("data").join(&manifest_key)).unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap_or_default();
    assert!(manifest_key.starts_with("out/") && succeeded_key.ends_with("/SUCCEEDED_0.json"));
    let succeeded: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("data").join(succeeded_key)).unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(succeeded[1]["Output"], "70");

    let output = aslan(&[
        "run",
        definition.to_str().unwrap_or_default(),
        "--input",
        r#"{"key": "2026/missing.csv"}"#,
        "--json",
    ]);
    assert_eq!(
        stdout_json(&output)["error"],
        "States.ItemReaderFailed",
        "{output:?}"
    );
}
