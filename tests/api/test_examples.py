"""examples/data-pipeline runs as its README says: with `aslan run` and through the server."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from aslan_harness import REPO, ROLE_ARN, Server, aslan_bin, make_client, unique, wait_for_execution

EXAMPLE = REPO / "examples" / "data-pipeline"


def copy_example():
    root = Path(tempfile.mkdtemp(prefix="aslan-example-")) / "data-pipeline"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("outbox.jsonl", "*.clean.json", ".aslan"))
    return root


def test_pipeline_with_aslan_run():
    root = copy_example()
    try:
        good = subprocess.run([aslan_bin(), "run", str(root / "pipeline.asl.json"), "--input", "@" + str(root / "input.json"), "--json"],
                              capture_output=True, text=True, timeout=120, cwd=REPO)
        assert good.returncode == 0, good.stderr
        assert json.loads(good.stdout)["output"] == {"status": "processed", "summary": {"orders": 3, "total": 242.5}}
        assert "kept 3 of 5 orders" in good.stderr

        bad = subprocess.run([aslan_bin(), "run", str(root / "pipeline.asl.json"), "--input", "@" + str(root / "broken-input.json"), "--json"],
                             capture_output=True, text=True, timeout=120, cwd=REPO)
        assert bad.returncode == 1, bad.stderr
        assert json.loads(bad.stdout)["error"] == "PipelineFailed"
        sent = [json.loads(line) for line in (root / "outbox.jsonl").read_text().splitlines()]
        assert sent[-1]["batch"] == "data/broken.json" and sent[-1]["error"] == "States.TaskFailed"
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


def test_pipeline_through_the_server():
    root = copy_example()
    server = Server(root / ".aslan", extra_args=["--config", str(root / "aslan.toml")]).start()
    try:
        client = make_client(server.endpoint)
        machine = client.create_state_machine(name=unique("pipeline"), roleArn=ROLE_ARN,
                                              definition=(root / "pipeline.asl.json").read_text())["stateMachineArn"]
        arn = client.start_execution(stateMachineArn=machine, input=(root / "input.json").read_text())["executionArn"]
        described = wait_for_execution(client, arn, timeout=60)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"])["summary"]["total"] == 242.5
        arn = client.start_execution(stateMachineArn=machine, input=(root / "broken-input.json").read_text())["executionArn"]
        described = wait_for_execution(client, arn, timeout=60)
        assert described["status"] == "FAILED" and described["error"] == "PipelineFailed"
    finally:
        server.stop()
        shutil.rmtree(root.parent, ignore_errors=True)
