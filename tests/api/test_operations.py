"""Every operation of issue 3 through boto3: success shapes (botocore parses them against its
model) and the main error cases (`ClientError.response['Error']['Code']`)."""

import datetime
import json
import os
import re
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from aslan_harness import ROLE_ARN, full_history, make_client, unique, wait_for_execution

ACCOUNT = r"[0-9]{12}"
PASS_DEF = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.r", "End": True}},
}
FAIL_DEF = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}}
WAIT_DEF = {
    "StartAt": "W",
    "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "End": True},
    },
}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def create(sfn, definition, machine_type="STANDARD", name=None, **kwargs):
    name = name or unique("sm")
    response = sfn.create_state_machine(
        name=name,
        definition=definition if isinstance(definition, str) else json.dumps(definition),
        roleArn=ROLE_ARN,
        type=machine_type,
        **kwargs,
    )
    return response["stateMachineArn"]


def activity_definition(activity_arn, **task):
    return {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity_arn, "End": True, **task}}}


@pytest.fixture(scope="module")
def pass_machine(sfn):
    return create(sfn, PASS_DEF)


@pytest.fixture(scope="module")
def hold(sfn):
    """A STANDARD machine whose executions stay RUNNING: a Task on an activity nobody polls."""
    activity = sfn.create_activity(name=unique("idle"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    started = []
    yield machine, started
    for arn in started:
        try:
            sfn.stop_execution(executionArn=arn)
        except ClientError:
            pass


def start_held(sfn, hold, **kwargs):
    machine, started = hold
    response = sfn.start_execution(stateMachineArn=machine, **kwargs)
    started.append(response["executionArn"])
    return response


def run(sfn, machine, input=None, name=None):
    kwargs = {"stateMachineArn": machine}
    if input is not None:
        kwargs["input"] = json.dumps(input)
    if name:
        kwargs["name"] = name
    arn = sfn.start_execution(**kwargs)["executionArn"]
    return wait_for_execution(sfn, arn)


# ---------------------------------------------------------------- protocol


def test_health(endpoint):
    with urllib.request.urlopen(endpoint + "/health", timeout=5) as response:
        assert response.status == 200


def raw_call(endpoint, target, body=b"{}"):
    request = urllib.request.Request(
        endpoint + "/",
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read() or b"{}")


def test_raw_protocol_success_and_error_shapes(endpoint):
    status, headers, body = raw_call(endpoint, "AWSStepFunctions.ListStateMachines")
    assert status == 200
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
    assert isinstance(body["stateMachines"], list)
    status, headers, body = raw_call(endpoint, "AWSStepFunctions.DescribeStateMachine", b'{"stateMachineArn": "x"}')
    assert status == 400
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
    assert body["__type"].endswith("InvalidArn") and isinstance(body["message"], str)
    status, _, body = raw_call(endpoint, "AWSStepFunctions.NoSuchOperation")
    assert status == 400 and "__type" in body and "message" in body
    status, _, body = raw_call(endpoint, "AWSStepFunctions.ListStateMachines", b"not json")
    assert status == 400 and "__type" in body


def test_request_id_header(sfn):
    """AWS answers every request with `x-amzn-RequestId`; SDKs read it into the response metadata."""
    metadata = sfn.list_state_machines()["ResponseMetadata"]
    assert metadata["RequestId"], metadata


def test_unsupported_operation_answers_with_an_aws_error(sfn, pass_machine):
    with pytest.raises(ClientError) as excinfo:
        sfn.list_state_machine_versions(stateMachineArn=pass_machine)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error_code(excinfo) and excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        sfn.list_map_runs(executionArn=pass_machine.replace(":stateMachine:", ":execution:") + ":x")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The server is still well.
    sfn.describe_state_machine(stateMachineArn=pass_machine)


# ---------------------------------------------------------------- state machines


def test_create_state_machine(sfn):
    name = unique("create")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    response = sfn.create_state_machine(name=name, definition=json.dumps(PASS_DEF), roleArn=ROLE_ARN)
    assert re.fullmatch(rf"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{name}", response["stateMachineArn"])
    assert isinstance(response["creationDate"], datetime.datetime)
    assert response["creationDate"] >= before


def test_create_state_machine_is_idempotent(sfn):
    name = unique("idem")
    definition = json.dumps(PASS_DEF)
    first = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE_ARN)
    again = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE_ARN)
    assert again["stateMachineArn"] == first["stateMachineArn"]
    assert again["creationDate"] == first["creationDate"]


def test_create_state_machine_idempotency_ignores_role_arn(sfn):
    """AWS: 'If a following request has a different roleArn or tags, Step Functions will ignore
    these differences and treat it as an idempotent request of the previous.'"""
    name = unique("idem-role")
    definition = json.dumps(PASS_DEF)
    first = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE_ARN)
    again = sfn.create_state_machine(
        name=name, definition=definition, roleArn="arn:aws:iam::123456789012:role/another-role"
    )
    assert again["stateMachineArn"] == first["stateMachineArn"]
    described = sfn.describe_state_machine(stateMachineArn=first["stateMachineArn"])
    assert described["roleArn"] == ROLE_ARN


def test_create_state_machine_idempotency_includes_tracing(sfn):
    """AWS: the idempotency check is based on the name, definition, type, LoggingConfiguration and
    TracingConfiguration."""
    name = unique("idem-tracing")
    create(sfn, PASS_DEF, name=name)
    with pytest.raises(ClientError) as excinfo:
        create(sfn, PASS_DEF, name=name, tracingConfiguration={"enabled": True})
    assert error_code(excinfo) == "StateMachineAlreadyExists"


def test_create_state_machine_already_exists(sfn):
    name = unique("exists")
    create(sfn, PASS_DEF, name=name)
    with pytest.raises(ClientError) as excinfo:
        create(sfn, FAIL_DEF, name=name)
    assert error_code(excinfo) == "StateMachineAlreadyExists"
    with pytest.raises(ClientError) as excinfo:
        create(sfn, PASS_DEF, name=name, machine_type="EXPRESS")
    assert error_code(excinfo) == "StateMachineAlreadyExists"


def test_create_state_machine_invalid_definition(sfn):
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    with pytest.raises(ClientError) as excinfo:
        create(sfn, definition)
    assert error_code(excinfo) == "InvalidDefinition"
    message = excinfo.value.response["Error"]["Message"]
    assert message.startswith("Invalid State Machine Definition: '"), message
    assert "MISSING_TRANSITION_TARGET" in message and "/States/A/Next" in message, message


def test_create_state_machine_invalid_definition_aws_text(sfn):
    # Recorded on AWS (tests/data/localstack-validation): the whole message.
    definition = {"StartAt": "WaitUntil", "States": {"WaitUntil": {"Type": "Wait", "Timestamp": "05-12-2016T21:29:29Z", "End": True}}}
    with pytest.raises(ClientError) as excinfo:
        create(sfn, definition)
    assert error_code(excinfo) == "InvalidDefinition"
    assert excinfo.value.response["Error"]["Message"] == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: String does not match "
        "RFC3339 timestamp at /States/WaitUntil/Timestamp'"
    )


def test_create_state_machine_not_json(sfn):
    with pytest.raises(ClientError) as excinfo:
        create(sfn, "not a definition")
    assert error_code(excinfo) == "InvalidDefinition"


@pytest.mark.parametrize("name", ["bad name", "a" * 81, "with/slash", "q?", "star*"])
def test_create_state_machine_invalid_name(sfn, name):
    with pytest.raises(ClientError) as excinfo:
        create(sfn, PASS_DEF, name=name)
    assert error_code(excinfo) == "InvalidName"


def test_create_state_machine_invalid_role_arn(sfn):
    with pytest.raises(ClientError) as excinfo:
        sfn.create_state_machine(name=unique("role"), definition=json.dumps(PASS_DEF), roleArn="not-an-arn")
    assert error_code(excinfo) == "InvalidArn"


def test_create_state_machine_express_rejects_activities(sfn):
    activity = sfn.create_activity(name=unique("act"))["activityArn"]
    with pytest.raises(ClientError) as excinfo:
        create(sfn, activity_definition(activity), machine_type="EXPRESS")
    assert error_code(excinfo) == "InvalidDefinition"


def test_describe_state_machine(sfn):
    name = unique("describe")
    definition = json.dumps(PASS_DEF, indent=2)
    arn = create(sfn, definition, name=name)
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["stateMachineArn"] == arn
    assert described["name"] == name
    assert described["status"] == "ACTIVE"
    assert described["definition"] == definition  # byte for byte, as given
    assert described["roleArn"] == ROLE_ARN
    assert described["type"] == "STANDARD"
    assert isinstance(described["creationDate"], datetime.datetime)
    assert described["loggingConfiguration"]["level"] == "OFF"
    assert described["tracingConfiguration"] == {"enabled": False}
    assert described["revisionId"]


def test_describe_state_machine_errors(sfn, pass_machine):
    missing = pass_machine.rsplit(":", 1)[0] + ":" + unique("missing")
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_state_machine(stateMachineArn=missing)
    assert error_code(excinfo) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:123456789012:nonsense")
    assert error_code(excinfo) == "InvalidArn"
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_state_machine(stateMachineArn="not an arn")
    assert error_code(excinfo) == "InvalidArn"


def test_arns_in_any_region(sfn):
    other = make_client(sfn.meta.endpoint_url, region="eu-west-3")
    arn = other.create_state_machine(name=unique("region"), definition=json.dumps(PASS_DEF), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    assert arn.startswith("arn:aws:states:eu-west-3:"), arn
    execution = other.start_execution(stateMachineArn=arn)["executionArn"]
    assert execution.startswith("arn:aws:states:eu-west-3:"), execution
    assert wait_for_execution(other, execution)["status"] == "SUCCEEDED"


def test_update_state_machine(sfn):
    arn = create(sfn, PASS_DEF)
    before = sfn.describe_state_machine(stateMachineArn=arn)
    new_definition = json.dumps(FAIL_DEF)
    updated = sfn.update_state_machine(
        stateMachineArn=arn, definition=new_definition, roleArn="arn:aws:iam::123456789012:role/other"
    )
    assert isinstance(updated["updateDate"], datetime.datetime)
    assert updated["revisionId"] and updated["revisionId"] != before["revisionId"]
    after = sfn.describe_state_machine(stateMachineArn=arn)
    assert after["definition"] == new_definition
    assert after["roleArn"] == "arn:aws:iam::123456789012:role/other"
    assert after["revisionId"] == updated["revisionId"]
    assert after["creationDate"] == before["creationDate"]
    assert run(sfn, arn)["status"] == "FAILED"


def test_update_state_machine_errors(sfn, pass_machine):
    with pytest.raises(ClientError) as excinfo:
        sfn.update_state_machine(stateMachineArn=pass_machine)
    assert error_code(excinfo) == "MissingRequiredParameter"
    with pytest.raises(ClientError) as excinfo:
        sfn.update_state_machine(stateMachineArn=pass_machine, definition='{"StartAt": "Nowhere", "States": {}}')
    assert error_code(excinfo) == "InvalidDefinition"
    missing = pass_machine.rsplit(":", 1)[0] + ":" + unique("missing")
    with pytest.raises(ClientError) as excinfo:
        sfn.update_state_machine(stateMachineArn=missing, definition=json.dumps(PASS_DEF))
    assert error_code(excinfo) == "StateMachineDoesNotExist"
    # The failed updates changed nothing.
    assert sfn.describe_state_machine(stateMachineArn=pass_machine)["definition"] == json.dumps(PASS_DEF)


def test_delete_state_machine(sfn):
    arn = create(sfn, PASS_DEF)
    response = sfn.delete_state_machine(stateMachineArn=arn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_code(excinfo) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=arn)
    assert error_code(excinfo) == "StateMachineDoesNotExist"
    listed = [m["stateMachineArn"] for page in sfn.get_paginator("list_state_machines").paginate() for m in page["stateMachines"]]
    assert arn not in listed
    with pytest.raises(ClientError) as excinfo:
        sfn.delete_state_machine(stateMachineArn="arn:aws:states:us-east-1:123456789012:activity:x")
    assert error_code(excinfo) == "InvalidArn"


def test_delete_state_machine_lets_running_executions_finish(sfn):
    arn = create(sfn, WAIT_DEF)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"still": "here"}')["executionArn"]
    sfn.delete_state_machine(stateMachineArn=arn)
    described = wait_for_execution(sfn, execution, timeout=10)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"still": "here"}


def test_list_state_machines_pagination(sfn):
    created = {create(sfn, PASS_DEF, name=unique("list")) for _ in range(5)}
    express = create(sfn, PASS_DEF, machine_type="EXPRESS")
    created.add(express)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = sfn.list_state_machines(**kwargs)
        pages += 1
        assert len(page["stateMachines"]) <= 2
        for item in page["stateMachines"]:
            assert set(item) == {"stateMachineArn", "name", "type", "creationDate"}
            assert isinstance(item["creationDate"], datetime.datetime)
            seen.append(item)
        token = page.get("nextToken")
        if not token:
            break
    arns = [item["stateMachineArn"] for item in seen]
    assert len(arns) == len(set(arns)), "a machine was listed twice"
    assert created <= set(arns)
    assert pages >= 3
    assert {item["type"] for item in seen if item["stateMachineArn"] == express} == {"EXPRESS"}
    # The paginator agrees.
    everything = [m["stateMachineArn"] for page in sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 3}) for m in page["stateMachines"]]
    assert sorted(everything) == sorted(arns)


def test_list_state_machines_bad_token(sfn):
    with pytest.raises(ClientError) as excinfo:
        sfn.list_state_machines(nextToken="garbage-token")
    assert error_code(excinfo) == "InvalidToken"


def test_describe_state_machine_for_execution(sfn):
    arn = create(sfn, PASS_DEF)
    original = sfn.describe_state_machine(stateMachineArn=arn)
    execution = run(sfn, arn)
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(FAIL_DEF))
    described = sfn.describe_state_machine_for_execution(executionArn=execution["executionArn"])
    assert described["stateMachineArn"] == arn
    assert described["name"] == original["name"]
    assert described["definition"] == original["definition"]  # the revision the execution ran
    assert described["roleArn"] == ROLE_ARN
    assert isinstance(described["updateDate"], datetime.datetime)
    assert described.get("revisionId") == original["revisionId"]
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_state_machine_for_execution(executionArn=execution["executionArn"] + "-missing")
    assert error_code(excinfo) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_state_machine_for_execution(executionArn="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    assert error_code(excinfo) == "InvalidArn"


def test_describe_state_machine_for_execution_update_date(sfn):
    """AWS: updateDate is when the execution's state machine was updated; for a newly created
    state machine, its creation date (not the execution's start)."""
    arn = create(sfn, PASS_DEF)
    created = sfn.describe_state_machine(stateMachineArn=arn)["creationDate"]
    time.sleep(0.3)
    first = run(sfn, arn)["executionArn"]
    assert sfn.describe_state_machine_for_execution(executionArn=first)["updateDate"] == created
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(FAIL_DEF))["updateDate"]
    time.sleep(0.3)
    second = run(sfn, arn)["executionArn"]
    assert sfn.describe_state_machine_for_execution(executionArn=second)["updateDate"] == updated


# ---------------------------------------------------------------- executions


def test_start_execution(sfn, pass_machine):
    name = unique("exec")
    response = sfn.start_execution(stateMachineArn=pass_machine, name=name, input='{"a": 1}')
    machine_name = pass_machine.rsplit(":", 1)[1]
    assert re.fullmatch(rf"arn:aws:states:us-east-1:{ACCOUNT}:execution:{machine_name}:{name}", response["executionArn"])
    assert isinstance(response["startDate"], datetime.datetime)
    described = wait_for_execution(sfn, response["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"a": 1, "r": {"ok": True}}


def test_start_execution_without_name_or_input(sfn, pass_machine):
    response = sfn.start_execution(stateMachineArn=pass_machine)
    described = wait_for_execution(sfn, response["executionArn"])
    assert re.fullmatch(r"[0-9a-f-]{36}", described["name"]), described["name"]
    assert json.loads(described["input"]) == {}
    assert json.loads(described["output"]) == {"r": {"ok": True}}


def test_start_execution_is_idempotent_while_running(sfn, hold):
    name = unique("same")
    first = start_held(sfn, hold, name=name, input='{"x": 1}')
    again = sfn.start_execution(stateMachineArn=hold[0], name=name, input='{"x": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=hold[0], name=name, input='{"x": 2}')
    assert error_code(excinfo) == "ExecutionAlreadyExists"
    executions = sfn.list_executions(stateMachineArn=hold[0])["executions"]
    assert [e["executionArn"] for e in executions].count(first["executionArn"]) == 1


def test_start_execution_name_taken_by_closed_execution(sfn, pass_machine):
    name = unique("closed")
    arn = run(sfn, pass_machine, input={"x": 1}, name=name)["executionArn"]
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=pass_machine, name=name, input=json.dumps({"x": 1}))
    assert error_code(excinfo) == "ExecutionAlreadyExists"
    assert arn in excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize("text", ["not json", "{", '{"a": }', "{'a': 1}"])
def test_start_execution_invalid_input(sfn, pass_machine, text):
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=pass_machine, input=text)
    assert error_code(excinfo) == "InvalidExecutionInput"


def test_start_execution_input_too_large(sfn, pass_machine):
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=pass_machine, input=json.dumps({"big": "x" * 262_144}))
    assert error_code(excinfo) in ("InvalidExecutionInput", "ValidationException")


def test_start_execution_errors(sfn, pass_machine):
    missing = pass_machine.rsplit(":", 1)[0] + ":" + unique("missing")
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=missing)
    assert error_code(excinfo) == "StateMachineDoesNotExist"
    for bogus in ["arn:bogus", "arn:aws:states:us-east-1:123456789012:activity:x", "nonsense"]:
        with pytest.raises(ClientError) as excinfo:
            sfn.start_execution(stateMachineArn=bogus)
        assert error_code(excinfo) == "InvalidArn", bogus
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=pass_machine, name="bad name")
    assert error_code(excinfo) == "InvalidName"


def test_start_sync_execution_success(sfn):
    name = unique("express")
    arn = create(sfn, PASS_DEF, machine_type="EXPRESS", name=name)
    response = sfn.start_sync_execution(stateMachineArn=arn, name="run-1", input='{"v": [1, 2]}')
    assert response["status"] == "SUCCEEDED"
    assert re.fullmatch(rf"arn:aws:states:us-east-1:{ACCOUNT}:express:{name}:run-1:[0-9a-f-]{{36}}", response["executionArn"])
    assert response["stateMachineArn"] == arn
    assert response["name"] == "run-1"
    assert json.loads(response["input"]) == {"v": [1, 2]}
    assert json.loads(response["output"]) == {"v": [1, 2], "r": {"ok": True}}
    assert isinstance(response["startDate"], datetime.datetime)
    assert isinstance(response["stopDate"], datetime.datetime)
    assert response["stopDate"] >= response["startDate"]
    assert response["billingDetails"]["billedDurationInMilliseconds"] >= 0
    assert "error" not in response and "cause" not in response
    # The same name twice is allowed for Express (each run has its own ARN).
    again = sfn.start_sync_execution(stateMachineArn=arn, name="run-1", input="{}")
    assert again["status"] == "SUCCEEDED" and again["executionArn"] != response["executionArn"]


def test_start_sync_execution_failure(sfn):
    arn = create(sfn, FAIL_DEF, machine_type="EXPRESS")
    response = sfn.start_sync_execution(stateMachineArn=arn)
    assert response["status"] == "FAILED"
    assert response["error"] == "Boom"
    assert response["cause"] == "it broke"
    assert "output" not in response


def test_start_sync_execution_with_a_wait(sfn):
    arn = create(sfn, WAIT_DEF, machine_type="EXPRESS")
    began = time.monotonic()
    response = sfn.start_sync_execution(stateMachineArn=arn, input='{"k": "v"}')
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {"k": "v"}
    assert time.monotonic() - began >= 0.9


def test_start_sync_execution_standard_not_supported(sfn, pass_machine):
    with pytest.raises(ClientError) as excinfo:
        sfn.start_sync_execution(stateMachineArn=pass_machine)
    assert error_code(excinfo) == "StateMachineTypeNotSupported"


def test_start_sync_execution_errors(sfn):
    arn = create(sfn, PASS_DEF, machine_type="EXPRESS")
    with pytest.raises(ClientError) as excinfo:
        sfn.start_sync_execution(stateMachineArn=arn, input="{nope")
    assert error_code(excinfo) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as excinfo:
        sfn.start_sync_execution(stateMachineArn=arn + "-missing")
    assert error_code(excinfo) == "StateMachineDoesNotExist"


def test_start_execution_express_async(sfn):
    arn = create(sfn, PASS_DEF, machine_type="EXPRESS")
    response = sfn.start_execution(stateMachineArn=arn, input="{}")
    assert ":express:" in response["executionArn"]
    assert isinstance(response["startDate"], datetime.datetime)


def test_stop_execution(sfn, hold):
    arn = start_held(sfn, hold, input='{"stop": "me"}')["executionArn"]
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    stopped = sfn.stop_execution(executionArn=arn, error="MyError", cause="a reason")
    assert isinstance(stopped["stopDate"], datetime.datetime)
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED"
    assert described["error"] == "MyError"
    assert described["cause"] == "a reason"
    assert isinstance(described["stopDate"], datetime.datetime)
    assert "output" not in described
    events = full_history(sfn, arn)
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "MyError", "cause": "a reason"}


def test_stop_execution_withdraws_its_activity_task(sfn, endpoint):
    activity = sfn.create_activity(name=unique("withdraw"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    stopped = sfn.start_execution(stateMachineArn=machine, input='{"which": 1}')["executionArn"]
    time.sleep(0.2)
    sfn.stop_execution(executionArn=stopped)
    second = sfn.start_execution(stateMachineArn=machine, input='{"which": 2}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"which": 2}
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert wait_for_execution(sfn, second)["status"] == "SUCCEEDED"
    # The token of a task whose execution was stopped is over.
    third = sfn.start_execution(stateMachineArn=machine, input='{"which": 3}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.stop_execution(executionArn=third)
    with pytest.raises(ClientError) as excinfo:
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert error_code(excinfo) == "TaskTimedOut"


def test_stop_execution_during_a_wait(sfn):
    arn = create(sfn, WAIT_DEF)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.stop_execution(executionArn=execution)
    time.sleep(1.3)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    types = [e["type"] for e in full_history(sfn, execution)]
    assert types == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]


def test_stop_execution_errors(sfn, pass_machine):
    missing = pass_machine.replace(":stateMachine:", ":execution:") + ":" + unique("missing")
    with pytest.raises(ClientError) as excinfo:
        sfn.stop_execution(executionArn=missing)
    assert error_code(excinfo) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.stop_execution(executionArn="arn:aws:states:us-east-1:123456789012:bogus")
    assert error_code(excinfo) == "InvalidArn"


def test_describe_execution_succeeded(sfn, pass_machine):
    name = unique("describe")
    started = sfn.start_execution(stateMachineArn=pass_machine, name=name, input='{"n": 1.5}')
    described = wait_for_execution(sfn, started["executionArn"])
    assert described["executionArn"] == started["executionArn"]
    assert described["stateMachineArn"] == pass_machine
    assert described["name"] == name
    assert described["status"] == "SUCCEEDED"
    assert described["startDate"] == started["startDate"]
    assert described["stopDate"] >= described["startDate"]
    assert described["input"] == '{"n": 1.5}'
    assert described["inputDetails"] == {"included": True}
    assert json.loads(described["output"]) == {"n": 1.5, "r": {"ok": True}}
    assert described["outputDetails"] == {"included": True}
    assert "error" not in described


def test_describe_execution_failed(sfn):
    arn = create(sfn, FAIL_DEF)
    described = run(sfn, arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "Boom"
    assert described["cause"] == "it broke"
    assert "output" not in described


def test_describe_execution_running(sfn, hold):
    arn = start_held(sfn, hold)["executionArn"]
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "RUNNING"
    assert "stopDate" not in described and "output" not in described


def test_describe_execution_errors(sfn, pass_machine):
    missing = pass_machine.replace(":stateMachine:", ":execution:") + ":" + unique("missing")
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_execution(executionArn=missing)
    assert error_code(excinfo) == "ExecutionDoesNotExist"
    for bogus in [pass_machine, "arn:aws:states:us-east-1:123456789012:execution", "x"]:
        with pytest.raises(ClientError) as excinfo:
            sfn.describe_execution(executionArn=bogus)
        assert error_code(excinfo) == "InvalidArn", bogus


def test_list_executions(sfn):
    activity = sfn.create_activity(name=unique("idle"))["activityArn"]
    definition = {
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.mode", "StringEquals": "hold", "Next": "Work"},
                                                     {"Variable": "$.mode", "StringEquals": "fail", "Next": "Fail"}],
                      "Default": "Done"},
            "Work": {"Type": "Task", "Resource": activity, "End": True},
            "Fail": {"Type": "Fail", "Error": "E"},
            "Done": {"Type": "Succeed"},
        },
    }
    arn = create(sfn, definition)
    succeeded = [run(sfn, arn, input={"mode": "ok"})["executionArn"] for _ in range(3)]
    failed = [run(sfn, arn, input={"mode": "fail"})["executionArn"] for _ in range(2)]
    running = sfn.start_execution(stateMachineArn=arn, input='{"mode": "hold"}')["executionArn"]
    try:
        everything = sfn.list_executions(stateMachineArn=arn)["executions"]
        assert {e["executionArn"] for e in everything} == set(succeeded + failed + [running])
        for item in everything:
            assert item["stateMachineArn"] == arn
            assert isinstance(item["startDate"], datetime.datetime)
            assert ("stopDate" in item) == (item["status"] != "RUNNING")
        # Newest first, as AWS lists them.
        starts = [e["startDate"] for e in everything]
        assert starts == sorted(starts, reverse=True)

        def listed(**kwargs):
            return {e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn, **kwargs)["executions"]}

        assert listed(statusFilter="SUCCEEDED") == set(succeeded)
        assert listed(statusFilter="FAILED") == set(failed)
        assert listed(statusFilter="RUNNING") == {running}
        assert listed(statusFilter="ABORTED") == set()

        pages, token, seen = 0, None, []
        while True:
            kwargs = {"stateMachineArn": arn, "maxResults": 2}
            if token:
                kwargs["nextToken"] = token
            page = sfn.list_executions(**kwargs)
            pages += 1
            assert len(page["executions"]) <= 2
            seen += [e["executionArn"] for e in page["executions"]]
            token = page.get("nextToken")
            if not token:
                break
        assert pages == 3
        assert seen == [e["executionArn"] for e in everything]
        paged = [e["executionArn"] for p in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arn, statusFilter="SUCCEEDED", PaginationConfig={"PageSize": 1}) for e in p["executions"]]
        assert sorted(paged) == sorted(succeeded)
    finally:
        sfn.stop_execution(executionArn=running)
    assert listed(statusFilter="ABORTED") == {running}


def test_list_executions_pagination_with_equal_start_times(sfn):
    """Executions started in the same millisecond are each listed once across pages."""
    from concurrent.futures import ThreadPoolExecutor

    arn = create(sfn, PASS_DEF)
    client = make_client(sfn.meta.endpoint_url, max_pool_connections=16)
    with ThreadPoolExecutor(8) as pool:
        started = set(pool.map(lambda i: client.start_execution(stateMachineArn=arn, name=f"n{i:02d}")["executionArn"], range(40)))
    seen = [e["executionArn"] for p in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=arn, PaginationConfig={"PageSize": 7}) for e in p["executions"]]
    assert len(seen) == len(set(seen)) == 40
    assert set(seen) == started


def test_list_executions_errors(sfn, pass_machine):
    with pytest.raises(ClientError) as excinfo:
        sfn.list_executions(stateMachineArn=pass_machine, statusFilter="SLEEPING")
    assert error_code(excinfo) == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        sfn.list_executions(stateMachineArn=pass_machine + "-missing")
    assert error_code(excinfo) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.list_executions(stateMachineArn="bogus")
    assert error_code(excinfo) == "InvalidArn"
    with pytest.raises(ClientError) as excinfo:
        sfn.list_executions(stateMachineArn=pass_machine, maxResults=1001)
    assert error_code(excinfo) == "ValidationException"


def test_list_executions_express_not_supported(sfn):
    arn = create(sfn, PASS_DEF, machine_type="EXPRESS")
    with pytest.raises(ClientError) as excinfo:
        sfn.list_executions(stateMachineArn=arn)
    assert error_code(excinfo) == "StateMachineTypeNotSupported"


# ---------------------------------------------------------------- history

HISTORY_DEF = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Result": "one", "ResultPath": "$.first", "Next": "Second"},
        "Second": {"Type": "Pass", "Result": "two", "ResultPath": "$.second", "Next": "Third"},
        "Third": {"Type": "Pass", "End": True},
    },
}


@pytest.fixture(scope="module")
def history_execution(sfn):
    arn = create(sfn, HISTORY_DEF)
    return run(sfn, arn, input={"in": True})["executionArn"]


def test_get_execution_history(sfn, history_execution):
    events = sfn.get_execution_history(executionArn=history_execution)["events"]
    types = [e["type"] for e in events]
    assert types == [
        "ExecutionStarted",
        "PassStateEntered", "PassStateExited",
        "PassStateEntered", "PassStateExited",
        "PassStateEntered", "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["previousEventId"] == 0
    for previous, event in zip(events, events[1:]):
        assert event["previousEventId"] == previous["id"]
        assert event["timestamp"] >= previous["timestamp"]
    assert all(isinstance(e["timestamp"], datetime.datetime) for e in events)
    started = events[0]["executionStartedEventDetails"]
    assert json.loads(started["input"]) == {"in": True}
    assert started["roleArn"] == ROLE_ARN
    assert started["inputDetails"] == {"truncated": False}
    entered = events[1]["stateEnteredEventDetails"]
    assert entered["name"] == "First" and json.loads(entered["input"]) == {"in": True}
    exited = events[2]["stateExitedEventDetails"]
    assert exited["name"] == "First" and json.loads(exited["output"]) == {"in": True, "first": "one"}
    succeeded = events[-1]["executionSucceededEventDetails"]
    assert json.loads(succeeded["output"]) == {"in": True, "first": "one", "second": "two"}


def test_get_execution_history_pagination(sfn, history_execution):
    everything = sfn.get_execution_history(executionArn=history_execution)["events"]
    pages, token, paged = 0, None, []
    while True:
        kwargs = {"executionArn": history_execution, "maxResults": 3}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        pages += 1
        assert len(page["events"]) <= 3
        paged += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert pages == 3
    assert paged == everything
    via_paginator = [e for p in sfn.get_paginator("get_execution_history").paginate(
        executionArn=history_execution, PaginationConfig={"PageSize": 2}) for e in p["events"]]
    assert via_paginator == everything


def test_get_execution_history_reverse_order(sfn, history_execution):
    forward = sfn.get_execution_history(executionArn=history_execution)["events"]
    backward = sfn.get_execution_history(executionArn=history_execution, reverseOrder=True)["events"]
    assert backward == list(reversed(forward))
    first_page = sfn.get_execution_history(executionArn=history_execution, reverseOrder=True, maxResults=3)
    assert [e["id"] for e in first_page["events"]] == [8, 7, 6]
    second_page = sfn.get_execution_history(
        executionArn=history_execution, reverseOrder=True, maxResults=3, nextToken=first_page["nextToken"]
    )
    assert [e["id"] for e in second_page["events"]] == [5, 4, 3]


def test_get_execution_history_without_data(sfn, history_execution):
    with_data = sfn.get_execution_history(executionArn=history_execution)["events"]
    events = sfn.get_execution_history(executionArn=history_execution, includeExecutionData=False)["events"]
    assert [e["type"] for e in events] == [e["type"] for e in with_data]
    for event in events:
        for key, value in event.items():
            if key.endswith("EventDetails"):
                assert "input" not in value and "output" not in value, event
    assert events[1]["stateEnteredEventDetails"]["name"] == "First"
    assert events[0]["executionStartedEventDetails"]["roleArn"] == ROLE_ARN


def test_get_execution_history_errors(sfn, pass_machine):
    missing = pass_machine.replace(":stateMachine:", ":execution:") + ":" + unique("missing")
    with pytest.raises(ClientError) as excinfo:
        sfn.get_execution_history(executionArn=missing)
    assert error_code(excinfo) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.get_execution_history(executionArn="garbage")
    assert error_code(excinfo) == "InvalidArn"


# ---------------------------------------------------------------- validation


def test_validate_state_machine_definition_ok(sfn):
    response = sfn.validate_state_machine_definition(definition=json.dumps(PASS_DEF))
    assert response["result"] == "OK"
    assert response["diagnostics"] == []
    assert response["truncated"] is False
    response = sfn.validate_state_machine_definition(definition=json.dumps(PASS_DEF), type="EXPRESS")
    assert response["result"] == "OK"


def test_validate_state_machine_definition_fail(sfn):
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "C": {"Type": "Succeed"}}}
    response = sfn.validate_state_machine_definition(definition=json.dumps(definition))
    assert response["result"] == "FAIL"
    assert response["truncated"] is False
    codes = {(d["code"], d.get("location")) for d in response["diagnostics"]}
    assert ("MISSING_TRANSITION_TARGET", "/States/A/Next") in codes, response["diagnostics"]
    for diagnostic in response["diagnostics"]:
        assert diagnostic["severity"] in ("ERROR", "WARNING")
        assert diagnostic["message"]
    truncated = sfn.validate_state_machine_definition(definition=json.dumps(definition), maxResults=1)
    assert len(truncated["diagnostics"]) == 1
    assert truncated["truncated"] is (len(response["diagnostics"]) > 1)


def test_validate_state_machine_definition_type_matters(sfn):
    activity = "arn:aws:states:us-east-1:123456789012:activity:a"
    definition = json.dumps(activity_definition(activity))
    assert sfn.validate_state_machine_definition(definition=definition, type="STANDARD")["result"] == "OK"
    assert sfn.validate_state_machine_definition(definition=definition, type="EXPRESS")["result"] == "FAIL"


def test_validate_state_machine_definition_not_json(sfn):
    response = sfn.validate_state_machine_definition(definition="not a definition")
    assert response["result"] == "FAIL"
    assert response["diagnostics"] and response["diagnostics"][0]["severity"] == "ERROR"


# ---------------------------------------------------------------- activities


def test_create_and_describe_activity(sfn):
    name = unique("activity")
    created = sfn.create_activity(name=name)
    assert re.fullmatch(rf"arn:aws:states:us-east-1:{ACCOUNT}:activity:{name}", created["activityArn"])
    assert isinstance(created["creationDate"], datetime.datetime)
    described = sfn.describe_activity(activityArn=created["activityArn"])
    assert described == {**described, "activityArn": created["activityArn"], "name": name, "creationDate": created["creationDate"]}
    # CreateActivity is idempotent.
    again = sfn.create_activity(name=name)
    assert again["activityArn"] == created["activityArn"]
    assert again["creationDate"] == created["creationDate"]


def test_activity_errors(sfn):
    with pytest.raises(ClientError) as excinfo:
        sfn.create_activity(name="bad name")
    assert error_code(excinfo) == "InvalidName"
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_activity(activityArn="arn:aws:states:us-east-1:123456789012:activity:" + unique("missing"))
    assert error_code(excinfo) == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_activity(activityArn="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    assert error_code(excinfo) == "InvalidArn"
    with pytest.raises(ClientError) as excinfo:
        sfn.get_activity_task(activityArn="arn:aws:states:us-east-1:123456789012:activity:" + unique("missing"))
    assert error_code(excinfo) == "ActivityDoesNotExist"


def test_delete_activity(sfn):
    arn = sfn.create_activity(name=unique("delete"))["activityArn"]
    assert sfn.delete_activity(activityArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as excinfo:
        sfn.describe_activity(activityArn=arn)
    assert error_code(excinfo) == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as excinfo:
        sfn.delete_activity(activityArn="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    assert error_code(excinfo) == "InvalidArn"


def test_list_activities_pagination(sfn):
    created = {sfn.create_activity(name=unique("list"))["activityArn"] for _ in range(5)}
    pages, token, seen = 0, None, []
    while True:
        kwargs = {"maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = sfn.list_activities(**kwargs)
        pages += 1
        assert len(page["activities"]) <= 2
        for item in page["activities"]:
            assert set(item) == {"activityArn", "name", "creationDate"}
            seen.append(item["activityArn"])
        token = page.get("nextToken")
        if not token:
            break
    assert pages >= 3
    assert len(seen) == len(set(seen))
    assert created <= set(seen)
    via_paginator = [a["activityArn"] for p in sfn.get_paginator("list_activities").paginate() for a in p["activities"]]
    assert sorted(via_paginator) == sorted(seen)


class Poll(threading.Thread):
    """GetActivityTask in a thread of its own (a long poll)."""

    def __init__(self, endpoint, activity_arn, **kwargs):
        super().__init__(daemon=True)
        self.client = make_client(endpoint, **kwargs.pop("config", {}))
        self.request = {"activityArn": activity_arn, **kwargs}
        self.result = None
        self.error = None
        self.started_at = None
        self.answered_at = None

    def run(self):
        self.started_at = time.monotonic()
        try:
            self.result = self.client.get_activity_task(**self.request)
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = error
        self.answered_at = time.monotonic()

    def answer(self, timeout=20):
        self.join(timeout)
        assert not self.is_alive(), "GetActivityTask did not answer"
        if self.error:
            raise self.error
        return self.result


def test_get_activity_task_long_poll(sfn, endpoint):
    activity = sfn.create_activity(name=unique("poll"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    poll = Poll(endpoint, activity, workerName="worker-7")
    poll.start()
    time.sleep(0.5)
    assert poll.is_alive(), f"GetActivityTask answered before any task existed: {poll.result or poll.error}"
    execution = sfn.start_execution(stateMachineArn=machine, input='{"job": 42}')["executionArn"]
    task = poll.answer()
    assert task["taskToken"]
    assert json.loads(task["input"]) == {"job": 42}
    assert poll.answered_at - poll.started_at >= 0.5
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    described = wait_for_execution(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"done": True}
    events = full_history(sfn, execution)
    types = [e["type"] for e in events]
    assert types == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    scheduled = events[2]["activityScheduledEventDetails"]
    assert scheduled["resource"] == activity
    assert json.loads(scheduled["input"]) == {"job": 42}
    assert events[3]["activityStartedEventDetails"].get("workerName") == "worker-7"
    assert json.loads(events[4]["activitySucceededEventDetails"]["output"]) == {"done": True}


def test_get_activity_task_queued_before_poll(sfn):
    activity = sfn.create_activity(name=unique("queued"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    execution = sfn.start_execution(stateMachineArn=machine, input='{"q": 1}')["executionArn"]
    time.sleep(0.2)
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"q": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='"plain string"')
    assert json.loads(wait_for_execution(sfn, execution)["output"]) == "plain string"


def test_get_activity_task_abandoned_poll_does_not_swallow_a_task(sfn, endpoint):
    """A worker whose client gave up on its long poll must not be handed the next task."""
    activity = sfn.create_activity(name=unique("abandon"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    impatient = Poll(endpoint, activity, config={"read_timeout": 1})
    impatient.start()
    impatient.join(10)
    assert impatient.error is not None, "the impatient poll should have timed out on the client"
    poll = Poll(endpoint, activity)
    poll.start()
    time.sleep(0.3)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"a": 1}')["executionArn"]
    poll.join(5)
    try:
        assert not poll.is_alive(), "the task went to the abandoned poll"
        assert json.loads(poll.answer()["input"]) == {"a": 1}
    finally:
        sfn.stop_execution(executionArn=execution)


@pytest.mark.skipif(not os.environ.get("ASLAN_SLOW_TESTS"), reason="waits 60 s; set ASLAN_SLOW_TESTS=1")
def test_get_activity_task_empty_after_60_seconds(sfn):
    activity = sfn.create_activity(name=unique("empty"))["activityArn"]
    began = time.monotonic()
    response = sfn.get_activity_task(activityArn=activity)
    assert response.get("taskToken") in (None, "")
    assert 55 <= time.monotonic() - began <= 66


def test_send_task_failure(sfn):
    activity = sfn.create_activity(name=unique("fail"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broke", cause="out of coffee")
    described = wait_for_execution(sfn, execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "Worker.Broke"
    assert described["cause"] == "out of coffee"
    types = [e["type"] for e in full_history(sfn, execution)]
    assert "ActivityFailed" in types and types[-1] == "ExecutionFailed"


def test_send_task_failure_caught(sfn):
    activity = sfn.create_activity(name=unique("catch"))["activityArn"]
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": activity, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": True},
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    machine = create(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="E", cause="C")
    described = wait_for_execution(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"Error": "E", "Cause": "C"}


def test_task_token_errors(sfn):
    activity = sfn.create_activity(name=unique("tokens"))["activityArn"]
    machine = create(sfn, activity_definition(activity))
    for call in (
        lambda token: sfn.send_task_success(taskToken=token, output="{}"),
        lambda token: sfn.send_task_failure(taskToken=token),
        lambda token: sfn.send_task_heartbeat(taskToken=token),
    ):
        with pytest.raises(ClientError) as excinfo:
            call("bogus-token")
        assert error_code(excinfo) == "InvalidToken"
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    token = sfn.get_activity_task(activityArn=activity)["taskToken"]
    with pytest.raises(ClientError) as excinfo:
        sfn.send_task_success(taskToken=token, output="not json")
    assert error_code(excinfo) == "InvalidOutput"
    sfn.send_task_success(taskToken=token, output="{}")
    assert wait_for_execution(sfn, execution)["status"] == "SUCCEEDED"
    # The token was used: its task is over.
    for call in (
        lambda: sfn.send_task_success(taskToken=token, output="{}"),
        lambda: sfn.send_task_failure(taskToken=token),
        lambda: sfn.send_task_heartbeat(taskToken=token),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "TaskTimedOut"


def test_activity_heartbeat_timeout(sfn):
    activity = sfn.create_activity(name=unique("heartbeat"))["activityArn"]
    machine = create(sfn, activity_definition(activity, HeartbeatSeconds=1, TimeoutSeconds=30))
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    token = sfn.get_activity_task(activityArn=activity)["taskToken"]
    sfn.send_task_heartbeat(taskToken=token)
    described = wait_for_execution(sfn, execution, timeout=10)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.HeartbeatTimeout"
    types = [e["type"] for e in full_history(sfn, execution)]
    assert "ActivityTimedOut" in types
    with pytest.raises(ClientError) as excinfo:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(excinfo) == "TaskTimedOut"


# ---------------------------------------------------------------- tags


def test_tags_on_state_machines(sfn):
    arn = create(sfn, PASS_DEF, tags=[{"key": "team", "value": "core"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "core"}]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "team", "value": "platform"}])
    tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("env", "test"), ("team", "platform")]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team", "not-there"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "test"}]


def test_tags_on_activities(sfn):
    arn = sfn.create_activity(name=unique("tagged"), tags=[{"key": "a", "value": "1"}])["activityArn"]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}])
    tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("a", "1"), ("b", "2")]
    sfn.untag_resource(resourceArn=arn, tagKeys=["a", "b"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tag_errors(sfn):
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:" + unique("missing")
    for call in (
        lambda arn: sfn.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}]),
        lambda arn: sfn.untag_resource(resourceArn=arn, tagKeys=["k"]),
        lambda arn: sfn.list_tags_for_resource(resourceArn=arn),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(missing)
        assert error_code(excinfo) == "ResourceNotFound"
        with pytest.raises(ClientError) as excinfo:
            call("not-an-arn")
        assert error_code(excinfo) == "InvalidArn"
    arn = create(sfn, PASS_DEF)
    with pytest.raises(ClientError) as excinfo:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(51)])
    assert error_code(excinfo) == "TooManyTags"


# ---------------------------------------------------------------- validation errors of the API itself


def test_missing_required_member(endpoint):
    status, _, body = raw_call(endpoint, "AWSStepFunctions.DescribeStateMachine", b"{}")
    assert status == 400
    assert body["__type"].split("#")[-1] == "ValidationException", body


# ---------------------------------------------------------------- regressions


def test_a_standard_machine_named_express_is_stored(sfn):
    # A Standard machine's execution ARN contains ":execution:express:" when the machine is
    # named "express"; it must be stored like any other Standard execution.
    machine = create(sfn, PASS_DEF, name="express")
    described = run(sfn, machine, input={"k": 1})
    assert described["status"] == "SUCCEEDED"
    assert sfn.describe_execution(executionArn=described["executionArn"])["status"] == "SUCCEEDED"


def test_a_name_stays_taken_after_its_execution_ends(sfn):
    machine = create(sfn, PASS_DEF)
    run(sfn, machine, name="once")
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn=machine, name="once", input="{}")
    assert error_code(excinfo) == "ExecutionAlreadyExists"


# ---------------------------------------------------------------- distributed map


def test_distributed_map_records_its_map_run_not_its_children(sfn):
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "Label": "Orders", "ToleratedFailureCount": 1,
        "ItemBatcher": {"MaxItemsPerBatch": 2},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Check",
            "States": {
                "Check": {"Type": "Choice", "Choices": [
                    {"Variable": "$.Items[0]", "NumericEquals": 3, "Next": "Boom"}], "Default": "Ok"},
                "Boom": {"Type": "Fail", "Error": "Bad", "Cause": "three"},
                "Ok": {"Type": "Pass", "OutputPath": "$.Items", "End": True},
            },
        },
        "End": True,
    }}}
    machine = create(sfn, definition)
    described = run(sfn, machine, {"items": [1, 2, 3, 4, 5]})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [[1, 2], {"Error": "Bad", "Cause": "three"}, [5]]
    events = full_history(sfn, described["executionArn"])
    types = [e["type"] for e in events]
    assert types == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
                     "MapRunSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    arn = events[3]["mapRunStartedEventDetails"]["mapRunArn"]
    assert arn.startswith(machine.replace(":stateMachine:", ":mapRun:") + "/Orders:"), arn


def test_map_runs_are_described_and_listed(sfn):
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ToleratedFailurePercentage": 50,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Odd",
            "States": {
                "Odd": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "No"}],
                        "Default": "Yes"},
                "No": {"Type": "Fail", "Error": "Three"},
                "Yes": {"Type": "Succeed"},
            },
        },
        "Next": "Again",
    }, "Again": {
        "Type": "Map", "ItemsPath": "$", "Label": "Second",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }}}
    machine = create(sfn, definition)
    described = run(sfn, machine, {"items": [1, 2, 3, 4]})
    assert described["status"] == "SUCCEEDED", described
    execution = described["executionArn"]

    listed = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    assert len(listed) == 2
    assert listed[0]["stateMachineArn"] == machine + "/Each"
    assert listed[1]["mapRunArn"].startswith(machine.replace(":stateMachine:", ":mapRun:") + "/Second:")
    page = sfn.list_map_runs(executionArn=execution, maxResults=1)
    assert [r["mapRunArn"] for r in page["mapRuns"]] == [listed[0]["mapRunArn"]]
    rest = sfn.list_map_runs(executionArn=execution, maxResults=1, nextToken=page["nextToken"])
    assert [r["mapRunArn"] for r in rest["mapRuns"]] == [listed[1]["mapRunArn"]]

    run_details = sfn.describe_map_run(mapRunArn=listed[0]["mapRunArn"])
    assert run_details["status"] == "SUCCEEDED"
    assert run_details["executionArn"] == execution
    assert run_details["maxConcurrency"] == 2 and run_details["toleratedFailurePercentage"] == 50
    counts = run_details["executionCounts"]
    assert (counts["total"], counts["succeeded"], counts["failed"], counts["pending"], counts["running"]) == (4, 3, 1, 0, 0)
    assert run_details["itemCounts"] == counts
    assert "stopDate" in run_details

    with pytest.raises(ClientError) as missing:
        sfn.describe_map_run(mapRunArn=listed[0]["mapRunArn"] + "x")
    assert error_code(missing) == "ResourceNotFound"
    with pytest.raises(ClientError) as missing:
        sfn.list_map_runs(executionArn=execution + "x")
    assert error_code(missing) == "ExecutionDoesNotExist"
