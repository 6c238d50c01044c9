"""Task integrations through a real `aslan serve --config aslan.toml` (issue #4).

One project directory holds local functions (commands, Python handlers, a pool), jobs, an HTTP
server run by the test, and child state machines; each test runs workflows through boto3 and
checks results, errors, Retry/Catch around failures, callbacks and nested executions. The
lambda-mock conformance cases run here too, with their functions as local Python handlers.
"""

import http.server
import json
import shutil
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from aslan_harness import REPO, ROLE_ARN, Server, free_port, full_history, make_client, unique, wait_for_execution

ACCOUNT_REGION = "us-east-1:123456789012"


class Handler(http.server.BaseHTTPRequestHandler):
    """A small HTTP service: /ok echoes the request, /fail answers 500, /slow sleeps, /fn is a function.

    /token-rotating and /token-short are OAuth token endpoints that number the tokens they issue
    (the short ones live one second); /guarded takes only the token issued last.
    """

    issued = 0
    valid = None

    def log_message(self, *args):
        pass

    def _answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_GET(self):
        if self.path.startswith("/guarded"):
            auth = self.headers.get("authorization")
            if auth == f"Bearer {Handler.valid}":
                self._answer(200, {"auth": auth})
            else:
                self._answer(401, {"message": "token not accepted"})
        elif self.path.startswith("/ok"):
            self._answer(200, {"path": self.path, "key": self.headers.get("x-api-key"), "auth": self.headers.get("authorization")})
        elif self.path.startswith("/fail"):
            self._answer(500, {"message": "broken"})
        else:
            self._answer(404, {"message": "no such page"})

    def do_POST(self):
        body = self._body()
        if self.path.startswith("/fn"):
            event = json.loads(body or "null")
            if isinstance(event, dict) and event.get("fail"):
                self._answer(200, {"errorType": "RemoteError", "errorMessage": "asked to fail"}, [("x-amz-function-error", "Unhandled")])
            else:
                self._answer(200, {"remote": event})
        elif self.path.startswith("/token-"):
            Handler.issued += 1
            kind = self.path.removeprefix("/token-")
            Handler.valid = f"{kind}-{Handler.issued}"
            lifetime = 1 if kind == "short" else 3600
            self._answer(200, {"access_token": Handler.valid, "token_type": "bearer", "expires_in": lifetime})
        elif self.path.startswith("/token"):
            self._answer(200, {"access_token": "tok-123", "token_type": "bearer"})
        else:
            self._answer(200, {"received": body, "type": self.headers.get("content-type")})


@pytest.fixture(scope="module")
def http_service():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def write_project(root, service):
    fns = root / "fns"
    fns.mkdir()
    (fns / "handlers.py").write_text(textwrap.dedent("""\
        import os, time

        def double(event, context):
            print("doubling", event)
            return {"value": event["value"] * 2}

        def flaky(event, context):
            marker = os.path.join(os.environ["FLAKY_DIR"], event["id"])
            if not os.path.exists(marker):
                open(marker, "w").close()
                raise RuntimeError("first call fails")
            return {"recovered": True}

        def validate(event, context):
            if event.get("amount", 0) < 0:
                raise ValueError("amount must not be negative")
            return {"valid": True, **event}
        """))
    (fns / "greet.mjs").write_text(textwrap.dedent("""\
        export const handler = async (event, context) => ({ hello: event.name, fn: context.functionName });
        export const boom = async () => { throw new TypeError("not a greeting"); };
        """))
    (fns / "slow.sh").write_text("#!/bin/sh\nsleep 30\n")
    (fns / "crash.sh").write_text("#!/bin/sh\necho 'about to crash' >&2\nexit 3\n")
    (fns / "job.sh").write_text("#!/bin/sh\ncat > /dev/null\necho \"job $ASLAN_JOB_ID with $MODE\"\n[ \"$MODE\" = fail ] && exit 7\nexit 0\n")
    for script in ("slow.sh", "crash.sh", "job.sh"):
        (fns / script).chmod(0o755)
    flaky = root / "flaky"
    flaky.mkdir()
    (root / "child.json").write_text(json.dumps({
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Choice", "Choices": [{"And": [{"Variable": "$.fail", "IsPresent": True}, {"Variable": "$.fail", "BooleanEquals": True}], "Next": "Boom"}], "Default": "Done"},
            "Done": {"Type": "Pass", "Parameters": {"child.$": "$.n"}, "End": True},
            "Boom": {"Type": "Fail", "Error": "ChildFailed", "Cause": "asked to"},
        },
    }))
    (root / "aslan.toml").write_text(textwrap.dedent(f"""\
        [functions.double]
        runtime = "python"
        handler = "handlers.double"
        code = "fns"

        [functions.pooled]
        runtime = "python"
        handler = "handlers.double"
        code = "fns"
        workers = 2

        [functions.flaky]
        runtime = "python"
        handler = "handlers.flaky"
        code = "fns"
        environment = {{ FLAKY_DIR = "{flaky}" }}

        [functions.validate]
        runtime = "python"
        handler = "handlers.validate"
        code = "fns"

        [functions.greet]
        runtime = "node"
        handler = "greet.handler"
        code = "fns"

        [functions.greet-boom]
        runtime = "node"
        handler = "greet.boom"
        code = "fns"
        workers = 1

        [functions.slow]
        command = ["./fns/slow.sh"]
        timeout_seconds = 1

        [functions.crash]
        command = ["./fns/crash.sh"]

        [functions.echo]
        command = ["cat"]

        [functions.remote]
        url = "{service}/fn"

        [jobs.nightly]
        command = ["./fns/job.sh"]

        [connections.keyed]
        kind = "api_key"
        api_key_name = "x-api-key"
        api_key_value = {{ env = "ASLAN_TEST_API_KEY" }}

        [connections.oauth]
        kind = "oauth_client_credentials"
        token_url = "{service}/token"
        client_id = "me"
        client_secret = "s3cret"

        [connections.rotating]
        kind = "oauth_client_credentials"
        token_url = "{service}/token-rotating"
        client_id = "me"
        client_secret = "s3cret"

        [connections.short]
        kind = "oauth_client_credentials"
        token_url = "{service}/token-short"
        client_id = "me"
        client_secret = "s3cret"
        """))


class Project:
    def __init__(self, server, client, root):
        self.server = server
        self.client = client
        self.root = root

    def machine(self, definition, name=None):
        return self.client.create_state_machine(
            name=name or unique("int"), definition=json.dumps(definition), roleArn=ROLE_ARN
        )["stateMachineArn"]

    def run(self, definition, payload=None, timeout=30.0):
        arn = self.client.start_execution(stateMachineArn=self.machine(definition), input=json.dumps(payload or {}))["executionArn"]
        described = wait_for_execution(self.client, arn, timeout=timeout)
        return described, arn


@pytest.fixture(scope="module")
def project(http_service):
    import os

    os.environ["ASLAN_TEST_API_KEY"] = "key-abc"
    root = Path(tempfile.mkdtemp(prefix="aslan-int-"))
    write_project(root, http_service)
    server = Server(root / "data", extra_args=["--config", str(root / "aslan.toml")])
    server.start()
    try:
        yield Project(server, make_client(server.endpoint), root)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def task(resource, **fields):
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}


def lambda_arn(name):
    return f"arn:aws:lambda:{ACCOUNT_REGION}:function:{name}"


def test_function_arn_and_lambda_invoke(project):
    described, arn = project.run(task(lambda_arn("double")), {"value": 21})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"value": 42}
    types = [e["type"] for e in full_history(project.client, arn)]
    assert types[1:5] == ["TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded"]

    described, arn = project.run(task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": "pooled", "Payload.$": "$"}), {"value": 5})
    output = json.loads(described["output"])
    assert output["StatusCode"] == 200 and output["Payload"] == {"value": 10} and output["ExecutedVersion"] == "$LATEST"
    types = [e["type"] for e in full_history(project.client, arn)]
    assert "TaskScheduled" in types and "TaskSucceeded" in types


def test_node_handlers(project):
    described, _ = project.run(task(lambda_arn("greet")), {"name": "ada"})
    assert json.loads(described["output"]) == {"hello": "ada", "fn": "greet"}
    described, _ = project.run(task(lambda_arn("greet-boom")))
    assert described["error"] == "TypeError"
    assert json.loads(described["cause"])["errorMessage"] == "not a greeting"


def test_function_errors_map_to_task_errors(project):
    described, _ = project.run(task(lambda_arn("validate")), {"amount": -1})
    assert described["status"] == "FAILED"
    assert described["error"] == "ValueError"
    cause = json.loads(described["cause"])
    assert cause["errorMessage"] == "amount must not be negative"
    assert cause["stackTrace"][0].startswith('  File "/var/task/handlers.py"')

    described, _ = project.run(task(lambda_arn("crash")))
    assert described["error"] == "Runtime.ExitError" and "exit status 3" in described["cause"]

    described, _ = project.run(task(lambda_arn("slow")))
    assert described["error"] == "Sandbox.Timedout" and "timed out after 1.00 seconds" in described["cause"]

    described, _ = project.run(task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": "missing"}))
    assert described["error"] == "Lambda.ResourceNotFoundException"
    assert "function:missing:$LATEST" in described["cause"]


def test_retry_and_catch_around_functions(project):
    definition = task(
        lambda_arn("flaky"),
        Parameters={"id": unique("f")},
        Retry=[{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
    )
    described, arn = project.run(definition)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"recovered": True}
    assert [e["type"] for e in full_history(project.client, arn)].count("LambdaFunctionFailed") == 1

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": lambda_arn("crash"), "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify"}], "End": True},
            "Notify": {"Type": "Pass", "End": True},
        },
    }
    described, _ = project.run(definition, {"order": 1})
    output = json.loads(described["output"])
    assert described["status"] == "SUCCEEDED" and output["error"]["Error"] == "Runtime.ExitError"


def test_http_endpoint_function(project):
    described, _ = project.run(task(lambda_arn("remote")), {"x": 1})
    assert json.loads(described["output"]) == {"remote": {"x": 1}}
    described, _ = project.run(task(lambda_arn("remote")), {"fail": True})
    assert described["error"] == "RemoteError"


def test_http_task(project, http_service):
    params = {"ApiEndpoint": f"{http_service}/ok", "Method": "GET", "QueryParameters": {"q": "1"},
              "Authentication": {"ConnectionArn": f"arn:aws:events:{ACCOUNT_REGION}:connection/keyed/abc"}}
    described, _ = project.run(task("arn:aws:states:::http:invoke", Parameters=params))
    output = json.loads(described["output"])
    assert output["StatusCode"] == 200 and output["StatusText"] == "OK"
    assert output["ResponseBody"] == {"path": "/ok?q=1", "key": "key-abc", "auth": None}
    assert output["Headers"]["content-type"] == ["application/json"]

    params = {"ApiEndpoint": f"{http_service}/ok", "Method": "GET",
              "Authentication": {"ConnectionArn": f"arn:aws:events:{ACCOUNT_REGION}:connection/oauth/abc"}}
    described, _ = project.run(task("arn:aws:states:::http:invoke", Parameters=params))
    assert json.loads(described["output"])["ResponseBody"]["auth"] == "Bearer tok-123"

    params = {"ApiEndpoint": f"{http_service}/post", "Method": "POST", "RequestBody": {"a": [1, 2]},
              "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "REPEAT"}}}
    described, _ = project.run(task("arn:aws:states:::http:invoke", Parameters=params))
    assert json.loads(described["output"])["ResponseBody"] == {"received": "a=1&a=2", "type": "application/x-www-form-urlencoded"}

    described, _ = project.run(task("arn:aws:states:::http:invoke", Parameters={"ApiEndpoint": f"{http_service}/fail", "Method": "GET"}))
    assert described["error"] == "States.Http.StatusCode.500"
    assert json.loads(described["cause"])["ResponseBody"] == {"message": "broken"}

    refused = f"http://127.0.0.1:{free_port()}/nothing"
    definition = task("arn:aws:states:::http:invoke", Parameters={"ApiEndpoint": refused, "Method": "GET"},
                      Retry=[{"ErrorEquals": ["States.Http.Socket"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                      Catch=[{"ErrorEquals": ["States.Http.Socket"], "Next": "Caught"}])
    definition["States"]["T"].pop("End")
    definition["States"]["T"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    described, arn = project.run(definition)
    assert described["status"] == "SUCCEEDED"
    assert [e["type"] for e in full_history(project.client, arn)].count("TaskFailed") == 2


def test_oauth_tokens_are_renewed_when_they_expire_or_are_refused(project, http_service):
    def call(connection):
        params = {"ApiEndpoint": f"{http_service}/guarded", "Method": "GET",
                  "Authentication": {"ConnectionArn": f"arn:aws:events:{ACCOUNT_REGION}:connection/{connection}/abc"}}
        described, arn = project.run(task("arn:aws:states:::http:invoke", Parameters=params))
        assert described["status"] == "SUCCEEDED", described
        return json.loads(described["output"])["ResponseBody"]["auth"]

    first = call("rotating")
    assert call("rotating") == first  # cached: no new token while it is fresh
    Handler.valid = "revoked"  # the service stops taking the token: 401, a new token, one retry
    second = call("rotating")
    assert second != first and second == f"Bearer {Handler.valid}"

    short = call("short")
    time.sleep(1.2)  # the token lived one second: the next call fetches another before sending
    assert call("short") != short


def test_jobs(project):
    ok = {"JobName": "n", "JobDefinition": "nightly", "JobQueue": "q", "ContainerOverrides": {"Environment": [{"Name": "MODE", "Value": "ok"}]}}
    described, _ = project.run(task("arn:aws:states:::batch:submitJob.sync", Parameters=ok))
    output = json.loads(described["output"])
    assert output["Status"] == "SUCCEEDED" and output["Container"]["ExitCode"] == 0

    bad = dict(ok, ContainerOverrides={"Environment": [{"Name": "MODE", "Value": "fail"}]})
    definition = task("arn:aws:states:::batch:submitJob.sync", Parameters=bad,
                      Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}])
    definition["States"]["T"].pop("End")
    definition["States"]["T"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    described, _ = project.run(definition)
    output = json.loads(described["output"])
    cause = json.loads(output["Cause"])
    assert output["Error"] == "States.TaskFailed" and cause["Status"] == "FAILED" and cause["Container"]["ExitCode"] == 7

    described, _ = project.run(task("arn:aws:states:::glue:startJobRun.sync", Parameters={"JobName": "nightly"}))
    assert json.loads(described["output"])["JobRunState"] == "SUCCEEDED"
    described, _ = project.run(task("arn:aws:states:::ecs:runTask", Parameters={"TaskDefinition": "nightly:1"}))
    assert json.loads(described["output"])["Tasks"][0]["TaskArn"].startswith("arn:aws:ecs:")
    described, _ = project.run(task("arn:aws:states:::glue:startJobRun.sync", Parameters={"JobName": "unknown"}))
    assert described["error"] == "Glue.EntityNotFoundException"


def test_callbacks_with_task_tokens(project):
    definition = task("arn:aws:states:::lambda:invoke.waitForTaskToken",
                      Parameters={"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}})
    machine = project.machine(definition)
    arn = project.client.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    token = None
    deadline = time.monotonic() + 10
    while token is None and time.monotonic() < deadline:
        for event in full_history(project.client, arn):
            if event["type"] == "TaskScheduled":
                token = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
        time.sleep(0.05)
    assert token
    time.sleep(0.3)  # the function (cat) has answered; the task still waits for its token
    assert project.client.describe_execution(executionArn=arn)["status"] == "RUNNING"
    project.client.send_task_heartbeat(taskToken=token)
    project.client.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    described = wait_for_execution(project.client, arn)
    assert json.loads(described["output"]) == {"approved": True}
    with pytest.raises(ClientError) as used_twice:
        project.client.send_task_success(taskToken=token, output="{}")
    assert used_twice.value.response["Error"]["Code"] == "TaskTimedOut"
    with pytest.raises(ClientError) as invalid:
        project.client.send_task_failure(taskToken="not-a-token", error="E")
    assert invalid.value.response["Error"]["Code"] == "InvalidToken"


def test_callback_token_survives_a_restart(project, tmp_path):
    root = tmp_path
    (root / "aslan.toml").write_text('[functions.echo]\ncommand = ["cat"]\n')
    server = Server(root / "data", extra_args=["--config", str(root / "aslan.toml")]).start()
    try:
        client = make_client(server.endpoint)
        machine = client.create_state_machine(name=unique("cb"), roleArn=ROLE_ARN, definition=json.dumps(
            task("arn:aws:states:::lambda:invoke.waitForTaskToken", Parameters={"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}})))["stateMachineArn"]
        arn = client.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        token = None
        for _ in range(200):
            scheduled = [e for e in full_history(client, arn) if e["type"] == "TaskScheduled"]
            if scheduled:
                token = json.loads(scheduled[0]["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
                break
            time.sleep(0.05)
        assert token
        server.kill()
        server.start()
        client = make_client(server.endpoint)
        client.send_task_success(taskToken=token, output='"after restart"')
        assert json.loads(wait_for_execution(client, arn)["output"]) == "after restart"
    finally:
        server.stop()


def test_nested_executions(project):
    child = project.machine(json.loads((project.root / "child.json").read_text()))
    described, _ = project.run(task("arn:aws:states:::states:startExecution.sync:2",
                                    Parameters={"StateMachineArn": child, "Input": {"n": 7}}))
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["Output"] == {"child": 7} and output["Status"] == "SUCCEEDED"

    described, _ = project.run(task("arn:aws:states:::states:startExecution.sync",
                                    Parameters={"StateMachineArn": child, "Input": {"n": 1}}))
    assert json.loads(json.loads(described["output"])["Output"]) == {"child": 1}

    described, _ = project.run(task("arn:aws:states:::states:startExecution.sync",
                                    Parameters={"StateMachineArn": child, "Input": {"fail": True}}))
    assert described["error"] == "States.TaskFailed"
    assert json.loads(described["cause"])["Error"] == "ChildFailed"

    described, _ = project.run(task("arn:aws:states:::states:startExecution",
                                    Parameters={"StateMachineArn": child, "Input": {"n": 2}}))
    started = json.loads(described["output"])
    assert started["ExecutionArn"].startswith("arn:aws:states:") and "StartDate" in started


def test_stopping_a_parent_stops_its_child(project):
    waiter = project.machine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    parent = project.machine(task("arn:aws:states:::states:startExecution.sync:2", Parameters={"StateMachineArn": waiter}))
    arn = project.client.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    children = []
    for _ in range(200):
        children = project.client.list_executions(stateMachineArn=waiter, statusFilter="RUNNING")["executions"]
        if children:
            break
        time.sleep(0.05)
    assert children
    project.client.stop_execution(executionArn=arn)
    child = wait_for_execution(project.client, children[0]["executionArn"], timeout=10)
    assert child["status"] == "ABORTED"


# The lambda-mock conformance cases through the API. Cases that give one function name different
# behaviours run on separate servers, each with its own aslan.toml.

DATA = REPO / "tests" / "data"


def lambda_cases():
    cases = []
    for path in sorted((DATA / "localstack" / "cases").glob("*.json")):
        case = json.loads(path.read_text())
        if case["category"] == "lambda-mock":
            cases.append((path.stem, case))
    return cases


def write_functions(root, functions):
    lines = []
    for name, mock in functions.items():
        code = root / "functions" / name
        code.mkdir(parents=True)
        if mock["kind"] == "raise":
            source = f"def handler(event, context):\n    raise {mock['errorType']}({json.dumps(mock['errorMessage'])})\n"
        elif mock["kind"] == "constant":
            source = f"import json\n\nVALUE = json.loads({json.dumps(json.dumps(mock['value']))})\n\n\ndef handler(event, context):\n    return VALUE\n"
        else:
            source = "def handler(event, context):\n    return event\n"
        (code / "handler.py").write_text(source)
        lines.append(f'[functions.{json.dumps(name)}]\nruntime = "python"\nhandler = "handler.handler"\ncode = "functions/{name}"\n')
    (root / "aslan.toml").write_text("\n".join(lines))


def test_lambda_mock_cases_through_the_api():
    import test_conformance

    groups = {}
    for name, case in lambda_cases():
        key = json.dumps(case["mocks"]["lambda"], sort_keys=True)
        groups.setdefault(key, []).append((name, case))
    passed, failures, total = 0, [], 0
    for key, cases in groups.items():
        root = Path(tempfile.mkdtemp(prefix="aslan-lm-"))
        write_functions(root, json.loads(key))
        server = Server(root / "data", extra_args=["--config", str(root / "aslan.toml")]).start()
        try:
            client = make_client(server.endpoint)
            for name, case in cases:
                total += 1
                try:
                    actual, _ = test_conformance.run_case(client, case)
                except Exception as error:  # a case that cannot run is a failure, not a crash
                    failures.append(f"{name}: {error}")
                    continue
                ok, reasons = test_conformance.compare(case, actual)[:2]
                if ok:
                    passed += 1
                else:
                    failures.append(f"{name}: {reasons}")
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    rate = 100.0 * passed / total
    import aslan_harness

    aslan_harness.REPORT.append(f"lambda-mock cases through the API (local Python handlers): {passed}/{total}"
                                + "".join(f"\n  - {f[:300]}" for f in failures))
    assert rate >= 95.0, f"lambda-mock cases through the API: {passed}/{total}\n" + "\n".join(failures[:10])


def test_aws_sdk_sfn_calls_this_engine(project):
    # One workflow waits for a token; a second one answers it through aws-sdk:sfn:sendTaskSuccess.
    waiting = project.machine(task("arn:aws:states:::lambda:invoke.waitForTaskToken",
                                   Parameters={"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}}))
    arn = project.client.start_execution(stateMachineArn=waiting, input="{}")["executionArn"]
    token = None
    for _ in range(200):
        scheduled = [e for e in full_history(project.client, arn) if e["type"] == "TaskScheduled"]
        if scheduled:
            token = json.loads(scheduled[0]["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
            break
        time.sleep(0.05)
    answer = task("arn:aws:states:::aws-sdk:sfn:sendTaskSuccess", Parameters={"TaskToken.$": "$.token", "Output": {"from": "workflow"}})
    described, _ = project.run(answer, {"token": token})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(wait_for_execution(project.client, arn)["output"]) == {"from": "workflow"}

    described, _ = project.run(task("arn:aws:states:::aws-sdk:sfn:sendTaskFailure", Parameters={"TaskToken": "Invalid token"}))
    assert described["error"] == "Sfn.InvalidTokenException"
    assert "(Service: Sfn, Status Code: 400" in described["cause"]

    child = project.machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    described, _ = project.run(task("arn:aws:states:::aws-sdk:sfn:startExecution", Parameters={"StateMachineArn": child, "Input": {"a": 1}}))
    assert json.loads(described["output"])["ExecutionArn"].startswith("arn:aws:states:")


def test_workers_answer_task_tokens_with_boto3_under_run_and_serve(tmp_path):
    """Functions get AWS_ENDPOINT_URL_SFN, which boto3 reads by itself: `aslan run` answers
    SendTaskSuccess at a small endpoint of its own, `aslan serve` at its API. A worker written
    for AWS works unchanged under both."""
    import subprocess
    import sys

    from aslan_harness import aslan_bin

    (tmp_path / "worker.py").write_text(textwrap.dedent("""\
        import json, sys
        import boto3
        event = json.load(sys.stdin)
        sfn = boto3.client("stepfunctions")  # endpoint from AWS_ENDPOINT_URL_SFN
        sfn.send_task_heartbeat(taskToken=event["token"])
        sfn.send_task_success(taskToken=event["token"], output=json.dumps({"total": event["n"] * 2}))
        print("null")
        """))
    (tmp_path / "aslan.toml").write_text(textwrap.dedent(f"""\
        [functions.worker]
        command = [{json.dumps(sys.executable)}, "worker.py"]
        environment = {{ AWS_ACCESS_KEY_ID = "local", AWS_SECRET_ACCESS_KEY = "local", AWS_DEFAULT_REGION = "us-east-1" }}
        """))
    definition = task("arn:aws:states:::lambda:invoke.waitForTaskToken", TimeoutSeconds=60, HeartbeatSeconds=30,
                      Parameters={"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"}})
    (tmp_path / "sm.json").write_text(json.dumps(definition))

    result = subprocess.run([aslan_bin(), "run", str(tmp_path / "sm.json"), "--input", '{"n": 21}', "--json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "SUCCEEDED", "output": {"total": 42}}

    server = Server(tmp_path / "data", extra_args=["--config", str(tmp_path / "aslan.toml")])
    server.start()
    try:
        project = Project(server, make_client(server.endpoint), tmp_path)
        described, arn = project.run(definition, {"n": 4})
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"]) == {"total": 8}
        assert "TaskSucceeded" in [e["type"] for e in full_history(project.client, arn)]
    finally:
        server.stop()
