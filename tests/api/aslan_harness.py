"""Helpers for the black-box tests of `aslan serve`: the server process, boto3 clients, the AWS CLI.

The binary is `$ASLAN_BIN`, or `target/debug/aslan` under the repository root. Every server gets
a fresh `--data-dir` and a free port on 127.0.0.1.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/aslan-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Summaries the tests want shown at the end of the run (conftest prints them).
REPORT = []


def aslan_bin():
    path = os.environ.get("ASLAN_BIN") or str(REPO / "target" / "debug" / "aslan")
    if not Path(path).is_file():
        pytest.exit(f"aslan binary not found at {path}: build it or set ASLAN_BIN", returncode=2)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `aslan serve` process on a fixed port and data dir; it can be killed and restarted."""

    def __init__(self, data_dir, port=None, extra_args=()):
        self.binary = aslan_bin()
        self.extra_args = list(extra_args)
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        self.process = None

    def start(self, timeout=30.0):
        assert self.process is None or self.process.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir)]
            + self.extra_args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"aslan serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"aslan serve did not answer /health within {timeout}s:\n{self.log()}")

    def stop(self, timeout=15.0):
        """Graceful stop (SIGTERM); returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"aslan serve did not stop within {timeout}s of SIGTERM")

    def kill(self):
        """SIGKILL: a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


# Differences between the raw JSON the server sent and botocore's model of the operation's output
# (botocore's parser silently drops members it does not know): (operation, path, problem).
SHAPE_PROBLEMS = []


def check_shape(shape, value, path, problems):
    """Checks a decoded JSON value against a botocore shape: types, enums, required and unknown members."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append((path, f"expected an object, got {type(value).__name__}"))
            return
        for name in shape.required_members:
            if name not in value:
                problems.append((path, f"missing required member {name!r}"))
        for name, member in value.items():
            if name not in shape.members:
                problems.append((path, f"member {name!r} is not in the model"))
            elif member is not None:
                check_shape(shape.members[name], member, f"{path}.{name}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append((path, f"expected a list, got {type(value).__name__}"))
            return
        for index, item in enumerate(value):
            check_shape(shape.member, item, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append((path, f"expected a map, got {type(value).__name__}"))
            return
        for key, item in value.items():
            check_shape(shape.value, item, f"{path}[{key!r}]", problems)
    elif kind in ("string", "blob"):
        if not isinstance(value, str):
            problems.append((path, f"expected a string, got {value!r:.80}"))
        elif shape.enum and value not in shape.enum:
            problems.append((path, f"{value!r} is not one of {shape.enum}"))
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((path, f"expected an integer, got {value!r:.80}"))
    elif kind in ("float", "double", "timestamp"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append((path, f"expected a number, got {value!r:.80}"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append((path, f"expected a boolean, got {value!r:.80}"))


def _check_response(operation_model, response_dict, **_):
    status = response_dict.get("status_code", 0)
    try:
        body = json.loads(response_dict.get("body") or b"{}")
    except ValueError:
        SHAPE_PROBLEMS.append((operation_model.name, "", "the body is not JSON"))
        return
    problems = []
    if status >= 300:
        if not isinstance(body, dict) or not isinstance(body.get("__type"), str):
            problems.append(("", f"an error without __type: {body!r:.200}"))
    elif operation_model.output_shape is not None:
        check_shape(operation_model.output_shape, body, "", problems)
    SHAPE_PROBLEMS.extend((operation_model.name, path, problem) for path, problem in problems)


def make_client(endpoint, region=REGION, **config):
    """A boto3 Step Functions client for an aslan endpoint (no retries, no `sync-` host prefix)."""
    options = {
        "inject_host_prefix": False,
        "retries": {"max_attempts": 0},
        # GetActivityTask holds the request up to 60 s; AWS advises a socket timeout of 65 s or more.
        "read_timeout": 70,
        "connect_timeout": 5,
    }
    options.update(config)
    client = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(**options),
        **CREDENTIALS,
    )
    client.meta.events.register("before-parse.sfn", _check_response)
    return client


def unique(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def aws_executable():
    beside = Path(sys.executable).parent / "aws"
    if beside.is_file():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI is not installed (pip install -r tests/api/requirements.txt)")
    return found


def aws_cli(endpoint, *args, timeout=120):
    """Runs `aws stepfunctions ARGS` against the endpoint; returns (CompletedProcess, parsed stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=CREDENTIALS["aws_secret_access_key"],
        AWS_DEFAULT_REGION=REGION,
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    command = [
        aws_executable(),
        "stepfunctions",
        *args,
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "--output",
        "json",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    parsed = None
    if result.returncode == 0 and result.stdout.strip():
        parsed = json.loads(result.stdout)
    return result, parsed


def wait_for_execution(client, arn, timeout=30.0, interval=0.05):
    """Polls DescribeExecution until the execution is no longer RUNNING."""
    deadline = time.monotonic() + timeout
    while True:
        described = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{arn} still RUNNING after {timeout}s")
        time.sleep(interval)


def full_history(client, arn, **kwargs):
    events, token = [], None
    while True:
        page = client.get_execution_history(executionArn=arn, **kwargs, **({"nextToken": token} if token else {}))
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events
