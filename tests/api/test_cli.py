"""The same server driven by the AWS CLI (`aws stepfunctions ... --endpoint-url`)."""

import json
import time

import pytest

from aslan_harness import ROLE_ARN, aws_cli, unique

DEFINITION = {
    "StartAt": "Greet",
    "States": {
        "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.name)"}, "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
    },
}


def cli_ok(endpoint, *args):
    result, parsed = aws_cli(endpoint, *args)
    assert result.returncode == 0, f"aws {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return parsed


@pytest.fixture(scope="module")
def cli_machine(endpoint):
    name = unique("cli")
    created = cli_ok(
        endpoint, "create-state-machine", "--name", name, "--definition", json.dumps(DEFINITION), "--role-arn", ROLE_ARN
    )
    assert created["stateMachineArn"].endswith(f":stateMachine:{name}")
    assert "creationDate" in created
    return created["stateMachineArn"]


@pytest.fixture(scope="module")
def cli_execution(endpoint, cli_machine):
    started = cli_ok(
        endpoint, "start-execution", "--state-machine-arn", cli_machine, "--name", "first", "--input", '{"name": "cli"}'
    )
    assert started["executionArn"].endswith(":first")
    assert "startDate" in started
    deadline = time.monotonic() + 20
    while True:
        described = cli_ok(endpoint, "describe-execution", "--execution-arn", started["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return described


def test_create_start_describe(cli_execution, cli_machine):
    assert cli_execution["status"] == "SUCCEEDED"
    assert cli_execution["stateMachineArn"] == cli_machine
    assert json.loads(cli_execution["output"]) == {"greeting": "hello cli"}
    assert json.loads(cli_execution["input"]) == {"name": "cli"}


def test_get_execution_history(endpoint, cli_execution):
    history = cli_ok(endpoint, "get-execution-history", "--execution-arn", cli_execution["executionArn"])
    types = [event["type"] for event in history["events"]]
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "ExecutionSucceeded",
    ]
    # The CLI pages through the history by itself; a small page size must give the same events.
    paged = cli_ok(
        endpoint, "get-execution-history", "--execution-arn", cli_execution["executionArn"], "--page-size", "2"
    )
    assert paged["events"] == history["events"]
    reverse = cli_ok(endpoint, "get-execution-history", "--execution-arn", cli_execution["executionArn"], "--reverse-order")
    assert [e["id"] for e in reverse["events"]] == [6, 5, 4, 3, 2, 1]


def test_list_executions(endpoint, cli_machine, cli_execution):
    listed = cli_ok(endpoint, "list-executions", "--state-machine-arn", cli_machine, "--status-filter", "SUCCEEDED")
    assert [e["executionArn"] for e in listed["executions"]] == [cli_execution["executionArn"]]
    running = cli_ok(endpoint, "list-executions", "--state-machine-arn", cli_machine, "--status-filter", "RUNNING")
    assert running["executions"] == []


def test_list_state_machines(endpoint, cli_machine):
    listed = cli_ok(endpoint, "list-state-machines", "--page-size", "1")
    assert cli_machine in [m["stateMachineArn"] for m in listed["stateMachines"]]


def test_validate_state_machine_definition(endpoint):
    ok = cli_ok(endpoint, "validate-state-machine-definition", "--definition", json.dumps(DEFINITION))
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    failed = cli_ok(endpoint, "validate-state-machine-definition", "--definition", json.dumps(bad))
    assert failed["result"] == "FAIL"
    assert ("MISSING_TRANSITION_TARGET", "/States/A/Next") in [(d["code"], d.get("location")) for d in failed["diagnostics"]]


def test_start_sync_execution(endpoint):
    name = unique("cli-express")
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 42, "End": True}}}
    arn = cli_ok(
        endpoint, "create-state-machine", "--name", name, "--definition", json.dumps(definition),
        "--role-arn", ROLE_ARN, "--type", "EXPRESS",
    )["stateMachineArn"]
    result = cli_ok(endpoint, "start-sync-execution", "--state-machine-arn", arn)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == 42


def test_error_exit_code_and_message(endpoint):
    missing = f"arn:aws:states:us-east-1:123456789012:stateMachine:{unique('missing')}"
    result, _ = aws_cli(endpoint, "describe-state-machine", "--state-machine-arn", missing)
    assert result.returncode in (254, 255), result
    assert "StateMachineDoesNotExist" in result.stderr, result.stderr
    result, _ = aws_cli(
        endpoint, "create-state-machine", "--name", unique("bad"), "--definition", '{"StartAt": "X", "States": {}}',
        "--role-arn", ROLE_ARN,
    )
    assert result.returncode in (254, 255), result
    assert "InvalidDefinition" in result.stderr, result.stderr
