"""AWS service integrations against a real emulator: moto's server mode (from PyPI), started here.

aslan serve gets `[aws] endpoint_url` pointing at moto; the tests create queues, topics, tables
and buckets with boto3 against moto, run workflows through aslan, and check both the results and
the effects in moto. Errors come back with Step Functions' names (`DynamoDB.ResourceNotFound...`,
`S3.NoSuchKeyException`) and Catch handles them.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from aslan_harness import CREDENTIALS, REGION, ROLE_ARN, Server, free_port, full_history, make_client, unique, wait_for_execution


@pytest.fixture(scope="module")
def moto():
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        pytest.skip("moto_server is not installed (tests/api/requirements.txt installs it)")
    process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def aws(moto, name):
    return boto3.client(name, endpoint_url=moto, region_name=REGION, **CREDENTIALS)


@pytest.fixture(scope="module")
def aslan(moto):
    root = Path(tempfile.mkdtemp(prefix="aslan-aws-"))
    (root / "aslan.toml").write_text(f'[aws]\nendpoint_url = "{moto}"\nregion = "{REGION}"\n'
                                     'access_key_id = "testing"\nsecret_access_key = "testing"\n')
    server = Server(root / "data", extra_args=["--config", str(root / "aslan.toml")]).start()
    try:
        yield make_client(server.endpoint)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def run(client, states, payload=None, start="T"):
    machine = client.create_state_machine(name=unique("aws"), roleArn=ROLE_ARN,
                                          definition=json.dumps({"StartAt": start, "States": states}))["stateMachineArn"]
    arn = client.start_execution(stateMachineArn=machine, input=json.dumps(payload or {}))["executionArn"]
    return wait_for_execution(client, arn, timeout=30), arn


def one(resource, parameters, **extra):
    return {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True, **extra}}


def test_sqs_send_message(aslan, moto):
    sqs = aws(moto, "sqs")
    queue = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    described, _ = run(aslan, one("arn:aws:states:::sqs:sendMessage", {"QueueUrl": queue, "MessageBody": {"order.$": "$.order"}}), {"order": 7})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["MessageId"] and output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert json.loads(received[0]["Body"]) == {"order": 7}


def test_sqs_callback_with_task_token(aslan, moto):
    sqs = aws(moto, "sqs")
    queue = sqs.create_queue(QueueName=unique("cb"))["QueueUrl"]
    machine = aslan.create_state_machine(name=unique("aws"), roleArn=ROLE_ARN, definition=json.dumps({"StartAt": "T", "States": one(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken", {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}})}))["stateMachineArn"]
    arn = aslan.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    messages = []
    for _ in range(20):
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            break
    token = json.loads(messages[0]["Body"])["token"]
    aslan.send_task_success(taskToken=token, output='{"worker": "done"}')
    assert json.loads(wait_for_execution(aslan, arn)["output"]) == {"worker": "done"}


def test_sns_publish(aslan, moto):
    topic = aws(moto, "sns").create_topic(Name=unique("t"))["TopicArn"]
    described, _ = run(aslan, one("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": {"hello": "world"},
                                                                     "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}}))
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["MessageId"]


def test_dynamodb_items_and_errors(aslan, moto):
    table = unique("tbl")
    aws(moto, "dynamodb").create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    states = {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"id": {"S": "a"}, "n": {"N": "1"}}}, "ResultPath": None, "Next": "Update"},
        "Update": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                   "Parameters": {"TableName": table, "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
                                  "ExpressionAttributeValues": {":one": {"N": "1"}}}, "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S": "a"}}}, "ResultSelector": {"item.$": "$.Item"}, "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                   "Parameters": {"TableName": table, "Key": {"id": {"S": "a"}}}, "ResultPath": None, "End": True},
    }
    described, _ = run(aslan, states, start="Put")
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"item": {"id": {"S": "a"}, "n": {"N": "2"}}}
    assert "Item" not in aws(moto, "dynamodb").get_item(TableName=table, Key={"id": {"S": "a"}})

    missing = one("arn:aws:states:::dynamodb:getItem", {"TableName": "no-such-table", "Key": {"id": {"S": "a"}}},
                  Catch=[{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"], "Next": "Caught"}])
    missing["T"].pop("End")
    missing["T"]["Next"] = "Caught"
    missing["Caught"] = {"Type": "Pass", "End": True}
    described, _ = run(aslan, missing)
    output = json.loads(described["output"])
    assert output["Error"] == "DynamoDB.ResourceNotFoundException", output
    assert "Status Code: 400" in output["Cause"]


def test_eventbridge_put_events(aslan, moto):
    described, _ = run(aslan, one("arn:aws:states:::events:putEvents", {"Entries": [{"Source": "aslan.test", "DetailType": "t", "Detail": {"a": 1}}]}))
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["FailedEntryCount"] == 0


def test_aws_sdk_s3_and_generic_json_services(aslan, moto):
    bucket = unique("bkt").lower()
    aws(moto, "s3").create_bucket(Bucket=bucket)
    states = {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {"Bucket": bucket, "Key": "reports/a b.json", "Body.$": "$"}, "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "reports/a b.json"}, "ResultSelector": {"body.$": "States.StringToJson($.Body)"}, "ResultPath": "$.got", "Next": "List"},
        "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listObjectsV2",
                 "Parameters": {"Bucket": bucket, "Prefix": "reports/"}, "ResultSelector": {"keys.$": "$.Contents[*].Key"}, "ResultPath": "$.list", "Next": "Tables"},
        "Tables": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:listTables", "Parameters": {}, "ResultSelector": {"ok.$": "$.TableNames"}, "ResultPath": "$.tables", "End": True},
    }
    described, _ = run(aslan, states, {"x": 1}, start="Put")
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["got"]["body"] == {"x": 1}
    assert output["list"]["keys"] == ["reports/a b.json"]
    assert isinstance(output["tables"]["ok"], list)

    described, _ = run(aslan, one("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "missing"}))
    assert described["status"] == "FAILED"
    assert described["error"] == "S3.NoSuchKeyException", described


def test_distributed_map_reads_items_from_s3(aslan, moto):
    bucket = unique("items").lower()
    s3 = aws(moto, "s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/items.json", Body=json.dumps([{"n": 1}, {"n": 2}, {"n": 3}]))
    s3.put_object(Bucket=bucket, Key="in/rows.jsonl", Body='{"n": 4}\n{"n": 5}\n')
    def processor(name):  # state names are unique across a definition
        return {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": name, "States": {name: {"Type": "Pass", "End": True}}}
    states = {
        "Json": {"Type": "Map", "ItemProcessor": processor("P1"), "ResultPath": "$.json", "Next": "Lines",
                 "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                                "Parameters": {"Bucket": bucket, "Key": "in/items.json"}}},
        "Lines": {"Type": "Map", "ItemProcessor": processor("P2"), "ResultPath": "$.lines", "Next": "Keys",
                  "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                                 "Parameters": {"Bucket": bucket, "Key": "in/rows.jsonl"}}},
        "Keys": {"Type": "Map", "ItemProcessor": processor("P3"), "ResultPath": "$.keys", "Next": "Write",
                 "ItemSelector": {"key.$": "$$.Map.Item.Value.Key"},
                 "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": bucket, "Prefix": "in/"}}},
        "Write": {"Type": "Map", "ItemProcessor": processor("P4"), "ItemsPath": "$.json", "ResultPath": "$.written", "End": True,
                  "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": bucket, "Prefix": "out"}}},
    }
    described, arn = run(aslan, states, {}, start="Json")
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["json"] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert output["lines"] == [{"n": 4}, {"n": 5}]
    assert output["keys"] == [{"key": "in/items.json"}, {"key": "in/rows.jsonl"}]
    details = output["written"]["ResultWriterDetails"]
    assert details["Bucket"] == bucket and details["Key"].startswith("out/")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    written = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    children = json.loads(s3.get_object(Bucket=bucket, Key=written)["Body"].read())
    assert [json.loads(c["Output"]) for c in children] == [{"n": 1}, {"n": 2}, {"n": 3}]
    types = [e["type"] for e in full_history(aslan, arn)]
    assert "TaskScheduled" not in types and types.count("MapRunSucceeded") == 4

    missing = {"M": {"Type": "Map", "ItemProcessor": processor("P"), "End": True,
                     "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                                    "Parameters": {"Bucket": bucket, "Key": "nope.json"}}}}
    described, _ = run(aslan, missing, {}, start="M")
    assert described["status"] == "FAILED" and described["error"] == "States.ItemReaderFailed", described


def test_lambda_functions_not_defined_locally_go_to_lambda(aslan, moto):
    # moto's Lambda without Docker answers every invocation with the event it was given.
    request = urllib.request.Request(moto + "/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=5)
    iam = aws(moto, "iam")
    role = iam.create_role(RoleName=unique("role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = unique("fn")
    import io
    import zipfile
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    aws(moto, "lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                                        Code={"ZipFile": archive.getvalue()})
    described, _ = run(aslan, one("arn:aws:states:::lambda:invoke", {"FunctionName": name, "Payload": {"a": 1}}))
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["StatusCode"] == 200 and output["Payload"] == {"a": 1}

    described, _ = run(aslan, one(f"arn:aws:lambda:{REGION}:123456789012:function:{name}", {"b": 2}))
    assert json.loads(described["output"]) == {"b": 2}
    # (moto's Docker-less Lambda answers even for functions that do not exist, so the
    # ResourceNotFoundException path is tested with local functions in test_integrations.py.)


# The `services` conformance cases that need only AWS services moto emulates and no fixture the
# recording harness created (queues, tables, state machines): run through aslan + moto and
# compared as tests/data/compare.py does. Reported, not gated: moto's error messages and a few
# of its behaviours differ from AWS's.
SERVICES = {"aws-sdk", "dynamodb", "events", "sqs", "sns"}


def test_services_cases_against_moto(aslan):
    import aslan_harness
    import test_conformance

    data = Path(__file__).resolve().parents[1] / "data" / "localstack" / "cases"
    cases = []
    for path in sorted(data.glob("*.json")):
        case = json.loads(path.read_text())
        requires = set(case.get("requires") or [])
        if case["category"] == "services" and requires and requires <= SERVICES:
            cases.append((path.stem, case))
    passed, failures = 0, []
    for name, case in cases:
        try:
            actual, _ = test_conformance.run_case(aslan, case)
            ok, reasons = test_conformance.compare(case, actual)[:2]
        except Exception as error:
            ok, reasons = False, [repr(error)]
        if ok:
            passed += 1
        else:
            failures.append(f"{name}: {'; '.join(map(str, reasons))}"[:400])
    report = f"services cases (AWS services only, no fixtures) against moto: {passed}/{len(cases)}"
    aslan_harness.REPORT.append(report + "".join(f"\n  - {f}" for f in failures))
    assert cases
