"""The crash test of issue 3: Standard executions with Waits and activity tasks in flight, the
server killed with SIGKILL at random moments and restarted on the same data dir; every execution
must end with its expected output and every history must hold each transition exactly once.

ASLAN_CRASH_SEED fixes the random kill schedule; ASLAN_CRASH_EXECUTIONS the number of executions.
"""

import json
import os
import random
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

import aslan_harness
from aslan_harness import ROLE_ARN, make_client

EXECUTIONS = int(os.environ.get("ASLAN_CRASH_EXECUTIONS", "200"))
WORKERS = 4
DEADLINE = 110.0  # seconds for the whole test
PATH = ["Prep", "FirstWait", "Work", "SecondWait", "Done"]
PATH_TYPES = {"Prep": "Pass", "FirstWait": "Wait", "Work": "Task", "SecondWait": "Wait", "Done": "Pass"}
# A task handed to a worker just before a crash never reaches it (the hand-out is committed before
# the answer is sent, as on AWS): the task times out and is retried, as a real workflow would.
TASK_TIMEOUT = 6


def definition(activity_arn):
    return {
        "StartAt": "Prep",
        "States": {
            "Prep": {"Type": "Pass", "Parameters": {"n.$": "$.n", "wait.$": "$.wait"}, "Next": "FirstWait"},
            "FirstWait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Work"},
            "Work": {
                "Type": "Task",
                "Resource": activity_arn,
                "TimeoutSeconds": TASK_TIMEOUT,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1.0}],
                "ResultPath": "$.work",
                "Next": "SecondWait",
            },
            "SecondWait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
            "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "doubled.$": "$.work.doubled"}, "End": True},
        },
    }


def execution_input(n):
    return {"n": n, "wait": 1 + n % 3}


def expected_output(n):
    return {"n": n, "doubled": 2 * n}


def retrying(call, stop=None, retry_client_errors=("InternalServerError", "ServiceUnavailable")):
    """Calls until the server answers (it may be down, or restarting)."""
    while True:
        try:
            return call()
        except BotoCoreError:
            pass
        except ClientError as error:
            if error.response["Error"]["Code"] not in retry_client_errors:
                raise
        if stop is not None and stop.is_set():
            return None
        time.sleep(0.1)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.tasks = 0
        self.answered = 0
        self.late_answers = []

    def add(self, field, value=1):
        with self.lock:
            setattr(self, field, getattr(self, field) + value)


def worker(endpoint, activity_arn, name, stop, stats, errors):
    client = make_client(endpoint)
    try:
        while not stop.is_set():
            task = retrying(lambda: client.get_activity_task(activityArn=activity_arn, workerName=name), stop)
            if not task or not task.get("taskToken"):
                continue
            stats.add("tasks")
            job = json.loads(task["input"])
            output = json.dumps({"doubled": 2 * job["n"]})
            try:
                retrying(lambda: client.send_task_success(taskToken=task["taskToken"], output=output), stop)
                stats.add("answered")
            except ClientError as error:
                # The answer was committed before a crash cut the response, or the task timed out.
                with stats.lock:
                    stats.late_answers.append(error.response["Error"]["Code"])
    except Exception as error:  # noqa: BLE001 - reported by the test
        errors.append(f"{name}: {error!r}")


def check_history(events, n):
    """Returns the problems of one execution's history."""
    problems = []
    ids = [event["id"] for event in events]
    if ids != list(range(1, len(events) + 1)):
        problems.append(f"event ids are not 1..{len(events)}: {ids}")
    for event in events:
        if not 0 <= event.get("previousEventId", 0) < event["id"]:
            problems.append(f"event {event['id']} has previousEventId {event.get('previousEventId')}")
    types = [event["type"] for event in events]
    if types[:1] != ["ExecutionStarted"] or types[-1:] != ["ExecutionSucceeded"]:
        problems.append(f"history does not run from ExecutionStarted to ExecutionSucceeded: {types}")
    if types.count("ExecutionStarted") != 1 or types.count("ExecutionSucceeded") != 1:
        problems.append(f"execution start/end recorded more than once: {types}")
    transitions = []
    for event in events:
        if event["type"].endswith("StateEntered"):
            transitions.append(("Entered", event["stateEnteredEventDetails"]["name"], event["type"]))
        elif event["type"].endswith("StateExited"):
            transitions.append(("Exited", event["stateExitedEventDetails"]["name"], event["type"]))
    expected = []
    for state in PATH:
        expected.append(("Entered", state, f"{PATH_TYPES[state]}StateEntered"))
        expected.append(("Exited", state, f"{PATH_TYPES[state]}StateExited"))
    if transitions != expected:
        problems.append(f"transitions {transitions} != {expected}")
    if types.count("ActivitySucceeded") != 1:
        problems.append(f"{types.count('ActivitySucceeded')} ActivitySucceeded events: {types}")
    # A lost hand-out times out and is scheduled again. (AWS names the event ActivityTimedOut;
    # test_operations.py::test_activity_heartbeat_timeout checks the name.)
    timeouts = types.count("ActivityTimedOut") + types.count("TaskTimedOut")
    if types.count("ActivityScheduled") != timeouts + 1:
        problems.append(f"ActivityScheduled does not match the timeouts: {types}")
    return problems


def test_crash_and_restart(fresh_server):
    seed = int(os.environ.get("ASLAN_CRASH_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    server = fresh_server.start()
    began = time.monotonic()
    client = make_client(server.endpoint)
    activity = client.create_activity(name="crash-worker")["activityArn"]
    machine = client.create_state_machine(
        name="crash", definition=json.dumps(definition(activity)), roleArn=ROLE_ARN
    )["stateMachineArn"]

    stop = threading.Event()
    stats = Stats()
    errors = []
    workers = [
        threading.Thread(target=worker, args=(server.endpoint, activity, f"w{i}", stop, stats, errors), daemon=True)
        for i in range(WORKERS)
    ]
    for thread in workers:
        thread.start()

    arns = {}

    def start_all():
        starter = make_client(server.endpoint)
        for n in range(EXECUTIONS):
            text = json.dumps(execution_input(n))
            try:
                arns[n] = retrying(
                    lambda: starter.start_execution(stateMachineArn=machine, name=f"e-{n:03d}", input=text)
                )["executionArn"]
            except ClientError as error:
                # Started before a crash cut the answer, and already finished: the name is taken.
                if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                    errors.append(f"start e-{n:03d}: {error!r}")
                arns[n] = machine.replace(":stateMachine:", ":execution:") + f":e-{n:03d}"

    try:
        starter = threading.Thread(target=start_all, daemon=True)
        starter.start()

        kills = rng.randint(3, 5)
        restarts = []
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 2.5))
            server.kill()
            time.sleep(rng.uniform(0.0, 0.4))
            restarted = time.monotonic()
            server.start()
            restarts.append(time.monotonic() - restarted)
        starter.join(60)
        assert not starter.is_alive(), "starting the executions did not finish"
        assert len(arns) == EXECUTIONS

        # Wait for every execution to finish.
        watcher = make_client(server.endpoint)
        while True:
            running = retrying(lambda: watcher.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=1000))
            if not running["executions"]:
                break
            assert time.monotonic() - began < DEADLINE, (
                f"{len(running['executions'])} executions still RUNNING after {DEADLINE}s (seed {seed}):\n{server.log()}"
            )
            time.sleep(0.5)
        finished_after = time.monotonic() - began
        stop.set()

        problems = list(errors)
        timed_out_tasks = 0
        for n, arn in sorted(arns.items()):
            described = watcher.describe_execution(executionArn=arn)
            if described["status"] != "SUCCEEDED":
                problems.append(f"e-{n:03d}: {described['status']} {described.get('error')} {described.get('cause')}")
                continue
            if json.loads(described["output"]) != expected_output(n):
                problems.append(f"e-{n:03d}: output {described['output']} != {expected_output(n)}")
            events = []
            token = None
            while True:
                page = watcher.get_execution_history(executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
                events += page["events"]
                token = page.get("nextToken")
                if not token:
                    break
            timed_out_tasks += sum(1 for e in events if e["type"] in ("ActivityTimedOut", "TaskTimedOut"))
            problems += [f"e-{n:03d}: {p}" for p in check_history(events, n)]
        listed = [e for p in watcher.get_paginator("list_executions").paginate(stateMachineArn=machine) for e in p["executions"]]
        if len(listed) != EXECUTIONS:
            problems.append(f"ListExecutions lists {len(listed)} executions, not {EXECUTIONS}")

    finally:
        stop.set()

    # The workers' long polls would hold a graceful stop (see test_sigterm_ends_long_polls): kill.
    server.kill()
    for thread in workers:
        thread.join(5)

    report = (
        f"Crash test (seed {seed}): {EXECUTIONS} executions, {kills} SIGKILLs, restarts to /health in "
        f"{', '.join(f'{r:.2f}s' for r in restarts)}; all finished after {finished_after:.1f}s; "
        f"{stats.tasks} tasks handed out, {stats.answered} answered, late answers {sorted(set(stats.late_answers))} "
        f"x{len(stats.late_answers)}, {timed_out_tasks} task timeouts retried; {len(problems)} problems"
    )
    print(report)
    aslan_harness.REPORT.append(report + "".join(f"\n  - {p[:400]}" for p in problems[:10]))
    assert not problems, f"seed {seed}:\n" + "\n".join(problems[:50])


def test_graceful_restart_keeps_everything(fresh_server):
    """SIGTERM, start again on the same data dir: machines, activities, tags, finished and running
    executions are all there, a Wait resumes and a queued activity task is handed out."""
    server = fresh_server.start()
    client = make_client(server.endpoint)
    activity = client.create_activity(name="keep", tags=[{"key": "k", "value": "v"}])["activityArn"]
    machine = client.create_state_machine(
        name="keep",
        definition=json.dumps({
            "StartAt": "Pause",
            "States": {
                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
                "Work": {"Type": "Task", "Resource": activity, "End": True},
            },
        }),
        roleArn=ROLE_ARN,
        tags=[{"key": "team", "value": "core"}],
    )["stateMachineArn"]
    done = client.start_execution(stateMachineArn=machine, name="done", input='{"i": 0}')["executionArn"]
    task = client.get_activity_task(activityArn=activity)
    client.send_task_success(taskToken=task["taskToken"], output='{"finished": 0}')
    deadline = time.monotonic() + 10
    while client.describe_execution(executionArn=done)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    waiting = client.start_execution(stateMachineArn=machine, name="waiting", input='{"i": 1}')["executionArn"]
    history_before = client.get_execution_history(executionArn=done)["events"]

    began = time.monotonic()
    assert server.stop(timeout=30) == 0
    stop_seconds = time.monotonic() - began
    server.start()
    client = make_client(server.endpoint)

    assert client.describe_state_machine(stateMachineArn=machine)["name"] == "keep"
    assert client.describe_activity(activityArn=activity)["name"] == "keep"
    assert client.list_tags_for_resource(resourceArn=machine)["tags"] == [{"key": "team", "value": "core"}]
    assert client.list_tags_for_resource(resourceArn=activity)["tags"] == [{"key": "k", "value": "v"}]
    finished = client.describe_execution(executionArn=done)
    assert finished["status"] == "SUCCEEDED" and json.loads(finished["output"]) == {"finished": 0}
    assert client.get_execution_history(executionArn=done)["events"] == history_before
    task = client.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"i": 1}
    client.send_task_success(taskToken=task["taskToken"], output='{"finished": 1}')
    deadline = time.monotonic() + 10
    while (described := client.describe_execution(executionArn=waiting))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"finished": 1}
    events = client.get_execution_history(executionArn=waiting)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "WaitStateEntered", "WaitStateExited", "TaskStateEntered", "ActivityScheduled",
        "ActivityStarted", "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    assert stop_seconds < 10


def test_sigterm_ends_long_polls(fresh_server):
    """A graceful stop must not wait out a worker's 60 s GetActivityTask long poll."""
    server = fresh_server.start()
    client = make_client(server.endpoint)
    activity = client.create_activity(name="idle")["activityArn"]
    answer = {}

    def poll():
        try:
            answer["response"] = make_client(server.endpoint).get_activity_task(activityArn=activity)
        except Exception as error:  # noqa: BLE001 - a closed connection is a fine answer too
            answer["error"] = error

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    time.sleep(0.5)
    began = time.monotonic()
    try:
        code = server.stop(timeout=10)
    except RuntimeError:
        code = None  # stop() killed it
    took = time.monotonic() - began
    thread.join(5)
    assert code == 0, f"SIGTERM did not stop the server within 10 s with a long poll open ({took:.1f}s)"
