"""The web console in a real headless browser (Debian's Chromium driven by Playwright).

A state machine with a Choice, a Parallel, a Map and a Catch runs once to success (its Task fails
and is caught) and once to failure (a Fail state); the pages must show the graph's nodes and
edges, each state's outcome, the failed state's error and cause, and the history as a table.

Chromium: `$ASLAN_CHROMIUM` or /usr/bin/chromium (`.ci/run` installs Debian's package). Without
it the module is skipped locally; under CI it fails. With `ASLAN_SCREENSHOTS=DIR` it saves the
screenshots the README shows.
"""

import json
import os
import re
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from aslan_harness import ROLE_ARN, unique, wait_for_execution

CHROMIUM = os.environ.get("ASLAN_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).is_file():
    if os.environ.get("CI"):
        raise RuntimeError(f"Chromium is required under CI and is missing at {CHROMIUM}")
    pytest.skip(f"Chromium is not installed at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

SCREENSHOTS = os.environ.get("ASLAN_SCREENSHOTS")

DEFINITION = {
    "Comment": "Validate an order, charge it and ship its items",
    "StartAt": "Validate",
    "States": {
        "Validate": {"Type": "Pass", "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.mode", "StringEquals": "reject", "Next": "Reject"}],
            "Default": "Fanout",
        },
        "Fanout": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Reserve", "States": {"Reserve": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Charge",
                    "States": {
                        # No function named charge-card is configured, so the Task fails with
                        # Lambda.ResourceNotFoundException and the Catch takes over.
                        "Charge": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "charge-card", "Payload.$": "$"},
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                            "End": True,
                        },
                        "Recover": {"Type": "Pass", "Result": "charged later", "End": True},
                    },
                },
            ],
            "ResultPath": "$.fanout",
            "Next": "Ship",
        },
        "Ship": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "Pack", "States": {"Pack": {"Type": "Pass", "End": True}}},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Reject": {"Type": "Fail", "Error": "OrderRejected", "Cause": "the order was rejected"},
    },
}

WAITING = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 600, "Next": "After"}, "After": {"Type": "Pass", "End": True}},
}

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="aslan-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": 1440, "height": 1000},
            device_scale_factor=1,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    page.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="module")
def orders(sfn):
    """The state machine and its two finished executions."""
    # A plain name when the pictures are for the README.
    name = "orders" if SCREENSHOTS else unique("orders")
    machine = sfn.create_state_machine(name=name, definition=json.dumps(DEFINITION), roleArn=ROLE_ARN)
    arn = machine["stateMachineArn"]
    good = sfn.start_execution(
        stateMachineArn=arn, name="order-1001", input=json.dumps({"mode": "ship", "items": ["book", "lamp", "mug"]})
    )["executionArn"]
    bad = sfn.start_execution(stateMachineArn=arn, name="order-1002", input=json.dumps({"mode": "reject"}))[
        "executionArn"
    ]
    assert wait_for_execution(sfn, good)["status"] == "SUCCEEDED"
    assert wait_for_execution(sfn, bad)["status"] == "FAILED"
    return {"name": name, "arn": arn, "good": good, "bad": bad}


def url(endpoint, path, **params):
    return endpoint + path + ("?" + urllib.parse.urlencode(params) if params else "")


def node(page, name):
    return page.locator(f'.graph [data-state="{name}"]')


def edge(page, source, target, kind=None):
    kind_class = f".kind-{kind}" if kind else ""
    return page.locator(f'.graph .g-edge{kind_class}[data-from="{source}"][data-to="{target}"]')


def shoot(page, name):
    """Saves the page for the README (with ASLAN_SCREENSHOTS): tall enough to fit the graph."""
    if not SCREENSHOTS:
        return
    Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 1440, "height": 1240})
    page.locator(".graph-controls button.fit").click()
    page.mouse.move(1, 1)
    page.wait_for_timeout(400)
    page.screenshot(path=str(Path(SCREENSHOTS) / name))
    page.set_viewport_size(size)


def test_the_state_machine_list_counts_executions(page, endpoint, orders):
    page.goto(url(endpoint, "/"))
    row = page.locator("#machines tr", has_text=orders["name"])
    expect(row).to_contain_text("STANDARD")
    expect(row.locator(".chip.s-succeeded")).to_contain_text("1")
    expect(row.locator(".chip.s-failed")).to_contain_text("1")


def test_the_definition_graph_has_every_state_and_transition(page, endpoint, orders):
    page.goto(url(endpoint, "/console/state-machine", arn=orders["arn"]))
    expect(page.locator("h1")).to_have_text(orders["name"])
    for state in ["Validate", "Route", "Fanout", "Reserve", "Charge", "Recover", "Ship", "Pack", "Done", "Reject"]:
        expect(node(page, state)).to_have_count(1)
    expect(node(page, "Charge")).to_contain_text("lambda:invoke")
    expect(edge(page, "Validate", "Route", "next")).to_have_count(1)
    expect(edge(page, "Route", "Reject", "choice")).to_contain_text('$.mode == "reject"')
    expect(edge(page, "Route", "Fanout", "default")).to_contain_text("Default")
    expect(edge(page, "Charge", "Recover", "catch")).to_contain_text("States.ALL")
    expect(edge(page, "Fanout", "Ship", "next")).to_have_count(1)
    expect(page.locator('.graph .g-edge.kind-end[data-from="Done"]')).to_have_count(1)
    # Parallel branches and the Map's processor are groups inside their states.
    expect(page.locator('.graph .g-group[data-owner="Fanout"]')).to_have_count(2)
    expect(page.locator('.graph .g-group[data-owner="Ship"]')).to_have_count(1)
    expect(page.locator(".graph .g-marker.start")).to_have_count(4)
    # The definition text sits beside the graph; selecting a state marks its lines and shows its fields.
    expect(page.locator(".code")).to_contain_text('"StartAt": "Validate"')
    node(page, "Charge").click()
    expect(page.locator("#state-fields")).to_contain_text("arn:aws:states:::lambda:invoke")
    expect(page.locator(".code .ln.hl").first).to_contain_text('"Charge"')
    shoot(page, "console-definition.png")
    # Zoom changes the view box; Fit brings it back.
    graph = page.locator(".graph svg")
    before = graph.get_attribute("viewBox")
    page.locator(".graph-controls button[title='Zoom in']").click()
    assert graph.get_attribute("viewBox") != before
    page.locator(".graph-controls button.fit").click()


def test_a_failed_execution_shows_the_failed_state_its_error_and_the_events(page, endpoint, orders):
    page.goto(url(endpoint, "/console/execution", arn=orders["bad"]))
    expect(page.locator("h1")).to_contain_text("order-1002")
    expect(page.locator("h1 .badge")).to_have_text("Failed")
    expect(node(page, "Reject")).to_have_class(re.compile(r"\bst-failed\b"))
    expect(node(page, "Validate")).to_have_class(re.compile(r"\bst-succeeded\b"))
    expect(node(page, "Route")).to_have_class(re.compile(r"\bst-succeeded\b"))
    expect(node(page, "Fanout")).not_to_have_class(re.compile(r"\breached\b"))
    expect(edge(page, "Route", "Reject", "choice")).to_have_class(re.compile(r"\btaken\b"))
    # The failed state is selected, with its error and cause.
    details = page.locator("#details")
    expect(details.locator("h2")).to_have_text("Reject")
    expect(details.locator("#state-error")).to_contain_text("OrderRejected")
    expect(details.locator("#state-error")).to_contain_text("the order was rejected")
    expect(page.locator("#execution-error")).to_contain_text("OrderRejected")
    expect(page.locator("#timeline")).to_contain_text("Reject")
    shoot(page, "console-failed-execution.png")
    page.locator('[data-tab="events"]').click()
    table = page.locator("#events")
    for event_type in ["ExecutionStarted", "PassStateEntered", "ChoiceStateExited", "FailStateEntered", "ExecutionFailed"]:
        expect(table.locator(f'tr[data-type="{event_type}"]')).to_have_count(1)
    failed = table.locator('tr[data-type="ExecutionFailed"]')
    expect(failed).to_contain_text("OrderRejected: the order was rejected")
    failed.click()
    expect(table.locator("tr.event-details:not([hidden])")).to_contain_text('"cause"')


def test_a_succeeded_execution_marks_the_caught_path_and_map_iterations(page, endpoint, orders):
    page.goto(url(endpoint, "/console/execution", arn=orders["good"]))
    expect(page.locator("h1 .badge")).to_have_text("Succeeded")
    expect(node(page, "Charge")).to_have_class(re.compile(r"\bst-caught\b"))
    expect(node(page, "Recover")).to_have_class(re.compile(r"\bst-succeeded\b"))
    expect(edge(page, "Charge", "Recover", "catch")).to_have_class(re.compile(r"\btaken\b.*\bcaught\b"))
    for state in ["Validate", "Route", "Fanout", "Reserve", "Ship", "Pack", "Done"]:
        expect(node(page, state)).to_have_class(re.compile(r"\bst-succeeded\b"))
    expect(node(page, "Reject")).not_to_have_class(re.compile(r"\breached\b"))
    # The caught error and its cause, on the Task (with the whole graph in view).
    page.locator(".graph-controls button.fit").click()
    node(page, "Charge").click()
    error = page.locator("#state-error")
    expect(error).to_contain_text("Caught error")
    expect(error).to_contain_text("Lambda.ResourceNotFoundException")
    expect(page.locator("#details")).to_contain_text("Input")
    # Map iterations: three, each browsable.
    node(page, "Ship").click(position={"x": 24, "y": 12})  # its header
    iterations = page.locator("#details .iteration-grid button.it")
    expect(iterations).to_have_count(3)
    iterations.nth(1).click()
    expect(page.locator(".iteration-bar")).to_contain_text("Ship: iteration 1")
    node(page, "Pack").click()
    expect(page.locator("#details pre.json").first).to_contain_text('"lamp"')
    page.locator('[data-tab="events"]').click()
    table = page.locator("#events")
    expect(table.locator('tr[data-type="TaskFailed"]')).to_contain_text("Lambda.ResourceNotFoundException")
    expect(table.locator('tr[data-type="MapIterationStarted"]')).to_have_count(3)
    expect(table.locator('tr[data-type="ExecutionSucceeded"]')).to_have_count(1)


def test_executions_are_filtered_by_status_machine_and_name(page, endpoint, orders):
    page.goto(url(endpoint, "/console/executions", state_machine=orders["arn"], status="FAILED"))
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("order-1002")
    page.locator("select[name=status]").select_option("")
    expect(rows).to_have_count(2)
    page.locator("input[name=prefix]").fill("order-1001")
    page.locator("input[name=prefix]").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("order-1001")
    rows.first.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("order-1001")
    # Paging, one execution a page: newest first, and back.
    page.goto(url(endpoint, "/console/executions", state_machine=orders["arn"], limit="1"))
    expect(rows).to_have_count(1)
    first = rows.first.locator("a").first.inner_text()
    second = {"order-1001": "order-1002", "order-1002": "order-1001"}[first]
    page.locator(".pager a", has_text="Older").click()
    expect(rows.first).to_contain_text(second)
    expect(page.locator(".pager")).to_contain_text("Page 2")
    expect(page.locator(".pager span.disabled", has_text="Older")).to_have_count(1)
    page.locator(".pager a", has_text="Newer").click()
    expect(rows.first).to_contain_text(first)


def test_start_a_new_execution_watch_it_run_and_stop_it(page, endpoint, sfn):
    name = unique("hold")
    arn = sfn.create_state_machine(name=name, definition=json.dumps(WAITING), roleArn=ROLE_ARN)["stateMachineArn"]
    page.goto(url(endpoint, "/console/state-machine", arn=arn))
    page.locator("button", has_text="Start execution").click()
    page.locator("#start-name").fill("held-1")
    page.locator("#start-input").fill('{"why": "console test"}')
    page.locator("#start-submit").click()
    expect(page.locator("h1")).to_contain_text("held-1")
    expect(page.locator("h1 .badge")).to_have_text("Running")
    expect(node(page, "Hold")).to_have_class(re.compile(r"\bst-running\b"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#stop").click()
    expect(page.locator("h1 .badge")).to_have_text("Aborted")
    expect(node(page, "Hold")).to_have_class(re.compile(r"\bst-aborted\b"))
    execution = f"arn:aws:states:us-east-1:123456789012:execution:{name}:held-1"
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED"
    assert json.loads(described["input"]) == {"why": "console test"}
