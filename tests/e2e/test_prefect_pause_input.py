"""The real client: a flow pauses with `wait_for_input`, another process resumes it with input."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid

import httpx

from tests.e2e.prefect_env import SCRIPTS, prefect_env

RESUME = """
import sys
from prefect.flow_runs import resume_flow_run
resume_flow_run(sys.argv[1], run_input={"approved": True, "note": "ship it"})
"""


def _paused_run(client: httpx.Client, flow_name: str, deadline: float, flow_process: subprocess.Popen[str]) -> str:
    while time.monotonic() < deadline:
        assert flow_process.poll() is None, flow_process.communicate()[0][-4000:]
        runs = client.post(
            "/flow_runs/filter",
            json={"flows": {"name": {"any_": [flow_name]}}, "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}},
        ).json()
        if runs:
            return str(runs[0]["id"])
        time.sleep(0.5)
    raise AssertionError("the flow never paused")


def _schema(client: httpx.Client, run_id: str, key: str, deadline: float) -> dict[str, object]:
    while time.monotonic() < deadline:
        response = client.get(f"/flow_runs/{run_id}/input/{key}")
        if response.status_code == 200:
            return json.loads(response.text)
        time.sleep(0.3)
    raise AssertionError("the paused flow never stored its input schema")


def test_pause_with_input_is_resumed_from_another_process(api_url: str, client: httpx.Client) -> None:
    flow_name = f"approval-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        env = prefect_env(api_url, home)
        flow_process = subprocess.Popen(
            [sys.executable, str(SCRIPTS / "pause_for_input.py"), flow_name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            run_id = _paused_run(client, flow_name, time.monotonic() + 120, flow_process)
            paused = client.get(f"/flow_runs/{run_id}").json()["state"]
            keyset = paused["state_details"]["run_input_keyset"]
            # The client stores the input schema just after the Paused state is accepted.
            schema = _schema(client, run_id, keyset["schema"], time.monotonic() + 60)
            assert schema["properties"]["approved"]["type"] == "boolean"

            with tempfile.TemporaryDirectory(prefix="prefect-home-") as other_home:
                resumed = subprocess.run(
                    [sys.executable, "-c", RESUME, run_id],
                    env=prefect_env(api_url, other_home),
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            output, _ = flow_process.communicate(timeout=150)
        finally:
            if flow_process.poll() is None:
                flow_process.kill()
                flow_process.communicate()
    assert flow_process.returncode == 0, output[-6000:]
    result = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])
    assert result == {"type": "COMPLETED", "result": {"approved": True, "note": "ship it"}}
    final = client.get(f"/flow_runs/{run_id}").json()
    assert final["state"]["type"] == "COMPLETED"
    assert json.loads(client.get(f"/flow_runs/{run_id}/input/{keyset['response']}").text) == {
        "approved": True,
        "note": "ship it",
    }
