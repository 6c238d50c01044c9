"""Fixtures for the black-box tests of `aslan serve` (helpers in aslan_harness.py)."""

import shutil
import tempfile
from pathlib import Path

import pytest

import aslan_harness
from aslan_harness import Server, make_client


class Aslan:
    """What the session fixture yields."""

    def __init__(self, server, client):
        self.server = server
        self.client = client
        self.endpoint = server.endpoint


@pytest.fixture(scope="session")
def aslan():
    root = Path(tempfile.mkdtemp(prefix="aslan-api-"))
    server = Server(root / "data").start()
    try:
        yield Aslan(server, make_client(server.endpoint))
    finally:
        code = server.stop()
        log = server.log()
        shutil.rmtree(root, ignore_errors=True)
    if code not in (0, None):
        pytest.fail(f"aslan serve exited with {code} on SIGTERM:\n{log}")


@pytest.fixture(autouse=True)
def responses_match_the_botocore_model():
    """Every response a test received must match botocore's model of its operation exactly."""
    seen = len(aslan_harness.SHAPE_PROBLEMS)
    yield
    new = aslan_harness.SHAPE_PROBLEMS[seen:]
    if new:
        unique_problems = sorted(set(new))
        pytest.fail(
            "responses differ from the botocore model:\n"
            + "\n".join(f"  {operation} {path or '/'}: {problem}" for operation, path, problem in unique_problems[:20]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def sfn(aslan):
    return aslan.client


@pytest.fixture(scope="session")
def endpoint(aslan):
    return aslan.endpoint


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own (for crash tests): started, and stopped or killed at the end."""
    server = Server(tmp_path / "data")
    try:
        yield server
    finally:
        server.kill()




def pytest_terminal_summary(terminalreporter):
    for report in aslan_harness.REPORT:
        terminalreporter.write_sep("-", "aslan")
        for line in report.splitlines():
            terminalreporter.write_line(line)
