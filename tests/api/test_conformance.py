"""The conformance cases recorded on AWS, run through the API instead of in process.

Every `pure` case of tests/data/localstack/cases (and those that need only long Waits): CreateStateMachine with its definition and type,
StartExecution (StartSyncExecution for EXPRESS), wait for the end, DescribeExecution,
GetExecutionHistory; compared with tests/data/compare.py, and the history's event types with the
recorded ones (sorted when the case's notes say "multiset"). The pass rates must be at least the
in-process rates committed in tests/conformance.snap.

Also the definition-validation cases of tests/data/localstack-validation through
CreateStateMachine and ValidateStateMachineDefinition.
"""

import importlib.util
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import aslan_harness
from aslan_harness import REPO, make_client, unique

DATA = REPO / "tests" / "data"
# The same role ARN as the in-process runner (tests/lib.rs), so that the results compare.
CASE_ROLE = "arn:aws:iam::111111111111:role/aslan-test"
WORKERS = 24
CASE_TIMEOUT = 45.0


def load_compare():
    spec = importlib.util.spec_from_file_location("aslan_compare", DATA / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compare


compare = load_compare()


def read_cases(directory):
    return [(path.stem, json.loads(path.read_text())) for path in sorted(Path(directory).glob("*.json"))]


def uses_jsonata(case):
    features = case.get("features") or []
    return "jsonata" in features or "variables" in features


def snapshot_rates():
    """The in-process pass counts from the first lines of tests/conformance.snap."""
    lines = (REPO / "tests" / "conformance.snap").read_text().splitlines()
    rates = []
    for line in lines[:3]:
        match = re.search(r":\s*(\d+)/(\d+)", line)
        assert match, f"unexpected line in tests/conformance.snap: {line!r}"
        rates.append((int(match.group(1)), int(match.group(2))))
    return {"jsonpath": rates[0], "jsonata": rates[1], "events": rates[2]}


def run_case(client, case):
    """Runs one case through the API; returns (actual, event types or None)."""
    machine_type = case.get("state_machine_type") or "STANDARD"
    machine = client.create_state_machine(
        name=unique("conf"),
        definition=json.dumps(case["definition"]),
        roleArn=CASE_ROLE,
        type=machine_type,
    )["stateMachineArn"]
    text = json.dumps(case["input"]) if "input" in case else "{}"
    if machine_type == "EXPRESS":
        result = client.start_sync_execution(stateMachineArn=machine, name="test-execution", input=text)
        events = None
    else:
        arn = client.start_execution(stateMachineArn=machine, name="test-execution", input=text)["executionArn"]
        deadline = time.monotonic() + CASE_TIMEOUT
        delay = 0.02
        while True:
            result = client.describe_execution(executionArn=arn)
            if result["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                client.stop_execution(executionArn=arn)
                raise TimeoutError(f"still RUNNING after {CASE_TIMEOUT}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        events = []
        token = None
        while True:
            page = client.get_execution_history(executionArn=arn, **({"nextToken": token} if token else {}))
            events += [event["type"] for event in page["events"]]
            token = page.get("nextToken")
            if not token:
                break
    actual = {"status": result["status"]}
    if "output" in result:
        actual["output"] = json.loads(result["output"])
    for field in ("error", "cause"):
        if field in result:
            actual[field] = result[field]
    return actual, events


def check(client, name, case):
    """Returns a dict with the outcome of one case."""
    outcome = {"name": name, "jsonata": uses_jsonata(case), "ok": False, "events_ok": None}
    try:
        actual, events = run_case(client, case)
    except (ClientError, TimeoutError, ValueError) as error:
        outcome["reason"] = f"{type(error).__name__}: {error}"
        return outcome
    ok, reasons, _notes = compare(case, actual)
    outcome["ok"] = ok
    outcome["reason"] = "; ".join(reasons)
    expected_events = case.get("events")
    if isinstance(expected_events, list) and events is not None:
        want, got = list(expected_events), list(events)
        if "multiset" in (case.get("notes") or ""):
            want, got = sorted(want), sorted(got)
        outcome["events_ok"] = want == got
        if want != got:
            outcome["events_reason"] = f"expected {expected_events}, got {events}"
    return outcome


def rate(passed, total):
    return 100.0 * passed / total if total else 100.0


def runs_as_pure(case):
    """`pure` cases, and those filed under services only for their long Waits (as
    tests/conformance.rs counts them); one AWS stopped from outside (ABORTED) is left out."""
    if case.get("category") == "pure":
        return True
    return (case.get("category") == "services" and case.get("requires") == ["wait>5s"]
            and case["expected"]["status"] != "ABORTED")


def test_pure_cases_through_the_api(aslan):
    cases = [(name, case) for name, case in read_cases(DATA / "localstack" / "cases") if runs_as_pure(case)]
    assert cases, "no pure conformance cases found"
    client = make_client(aslan.endpoint, max_pool_connections=WORKERS + 4)
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(lambda item: check(client, *item), cases))
    elapsed = time.monotonic() - began

    groups = {"jsonpath": [o for o in outcomes if not o["jsonata"]], "jsonata": [o for o in outcomes if o["jsonata"]]}
    passed = {key: sum(o["ok"] for o in group) for key, group in groups.items()}
    events_jsonpath = [o for o in groups["jsonpath"] if o["events_ok"] is not None]
    events_jsonata = [o for o in groups["jsonata"] if o["events_ok"] is not None]
    events_passed = sum(o["events_ok"] for o in events_jsonpath)
    snap = snapshot_rates()

    lines = [
        f"Conformance through the API ({len(outcomes)} pure cases, {elapsed:.1f}s):",
        f"  Pure JSONPath cases: {passed['jsonpath']}/{len(groups['jsonpath'])} "
        f"({rate(passed['jsonpath'], len(groups['jsonpath'])):.1f}%; in process {snap['jsonpath'][0]}/{snap['jsonpath'][1]})",
        f"  Pure JSONata/Variables cases: {passed['jsonata']}/{len(groups['jsonata'])} "
        f"({rate(passed['jsonata'], len(groups['jsonata'])):.1f}%; in process {snap['jsonata'][0]}/{snap['jsonata'][1]})",
        f"  Event sequences of pure JSONPath cases: {events_passed}/{len(events_jsonpath)} "
        f"(in process {snap['events'][0]}/{snap['events'][1]})",
        f"  Event sequences of pure JSONata cases: {sum(o['events_ok'] for o in events_jsonata)}/{len(events_jsonata)}",
    ]
    failed = [o for o in outcomes if not o["ok"]]
    lines.append(f"  conformance: {len(outcomes) - len(failed)} passed, {len(failed)} failed")
    for o in failed:
        lines.append(f"  - FAILED {o['name']}: {o['reason'][:600]}")
    for o in groups["jsonpath"]:
        if o["events_ok"] is False:
            lines.append(f"  - EVENTS {o['name']}: {o['events_reason'][:600]}")
    # Not gated (the in-process scoreboard does not compare them yet): names only.
    for o in groups["jsonata"]:
        if o["events_ok"] is False:
            lines.append(f"  - EVENTS (JSONata, not gated) {o['name']}")
    report = "\n".join(lines)
    print(report)
    aslan_harness.REPORT.append(report)

    problems = []
    for key in ("jsonpath", "jsonata"):
        want = rate(*snap[key])
        got = rate(passed[key], len(groups[key]))
        if got + 1e-9 < want:
            problems.append(f"{key}: {got:.1f}% through the API < {want:.1f}% in process")
    if rate(events_passed, len(events_jsonpath)) + 1e-9 < rate(*snap["events"]):
        problems.append(
            f"JSONPath event sequences: {rate(events_passed, len(events_jsonpath)):.1f}% through the API "
            f"< {rate(*snap['events']):.1f}% in process"
        )
    assert not problems, "\n".join(problems) + "\n" + report


VALIDATION_CASES = read_cases(DATA / "localstack-validation" / "cases")


@pytest.mark.parametrize("name,case", VALIDATION_CASES, ids=[name[-70:] for name, _ in VALIDATION_CASES])
def test_validation_cases_through_the_api(sfn, name, case):
    expected = case["expected"]
    machine_type = case.get("state_machine_type") or "STANDARD"
    if case["kind"] == "create":
        with pytest.raises(ClientError) as excinfo:
            sfn.create_state_machine(
                name=unique("invalid"), definition=case["definition"], roleArn=CASE_ROLE, type=machine_type
            )
        assert excinfo.value.response["Error"]["Code"] == expected["error"]
        message = excinfo.value.response["Error"]["Message"]
        for diagnostic in expected["diagnostics"]:
            assert diagnostic["code"] in message, f"{diagnostic['code']} not in {message!r}"
            assert f"at {diagnostic['location']}" in message, f"at {diagnostic['location']} not in {message!r}"
    else:
        response = sfn.validate_state_machine_definition(
            definition=case["definition"], type=machine_type, **case.get("request", {})
        )
        assert response["result"] == expected["result"], response
        for diagnostic in expected["diagnostics"]:
            matching = [d for d in response["diagnostics"] if d["code"] == diagnostic["code"]]
            assert matching, f"{diagnostic['code']} missing from {response['diagnostics']}"
            location = diagnostic.get("location")
            if location and location.startswith("/"):
                assert location in [d.get("location") for d in matching], response["diagnostics"]


ACTIVITY_CASES = [
    (name, case)
    for name, case in read_cases(DATA / "localstack" / "cases")
    if name.startswith("activities_test_activities__")
]


@pytest.mark.parametrize("name,case", ACTIVITY_CASES, ids=[name.split("test_activities__TestActivities_")[-1] for name, _ in ACTIVITY_CASES])
def test_activity_cases_through_the_api(sfn, name, case):
    """The recorded activity cases, with a worker as LocalStack's test had: it answers with the
    task's input, or fails with `Programmatic Error` and the input as the cause; one runs after
    the activity was deleted."""
    activity = sfn.create_activity(name=unique("case"))["activityArn"]
    text = json.dumps(case["definition"]).replace("<<ANY:fixture.create_activity().activityArn>>", activity)
    machine = sfn.create_state_machine(name=unique("case"), definition=text, roleArn=CASE_ROLE)["stateMachineArn"]
    if "on_deleted" in name:
        sfn.delete_activity(activityArn=activity)
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(case["input"]))["executionArn"]
    if "on_deleted" not in name:
        task = sfn.get_activity_task(activityArn=activity, **({} if "no_worker_name" in name else {"workerName": "worker"}))
        if "failure" in name:
            sfn.send_task_failure(taskToken=task["taskToken"], error="Programmatic Error", cause=task["input"])
        else:
            sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
    deadline = time.monotonic() + 5
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            sfn.stop_execution(executionArn=arn)
            pytest.fail(f"the execution was still RUNNING after 5 s; expected {case['expected']}")
        time.sleep(0.05)
    actual = {"status": described["status"]}
    if "output" in described:
        actual["output"] = json.loads(described["output"])
    actual.update({k: described[k] for k in ("error", "cause") if k in described})
    ok, reasons, _ = compare(case, actual)
    assert ok, reasons
    events = [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]
    if "on_deleted" in name:
        # Known difference: AWS fails the state before scheduling anything; aslan's pure
        # interpreter cannot know the activity is gone, so it records ActivityScheduled and
        # ActivityFailed (with the same States.Runtime error and cause) in between.
        expected = case["events"][:2] + ["ActivityScheduled", "ActivityFailed"] + case["events"][2:]
        assert events == expected
        return
    assert events == case["events"]
