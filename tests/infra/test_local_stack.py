"""The one-command local stack: says where it listens, stops cleanly on Ctrl-C/SIGTERM, keeps data by default."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.stack_process import StackProcess


def _stopped_cleanly(stack: StackProcess) -> None:
    code = stack.stop(signal.SIGINT)
    assert code == 0, "\n".join(stack.output)
    deadline = time.monotonic() + 5
    while "Serverflow stopped." not in stack.output and time.monotonic() < deadline:
        time.sleep(0.1)  # the drain thread may still be reading the last lines
    assert "Serverflow stopped." in stack.output
    assert not any("Traceback" in line for line in stack.output), "\n".join(stack.output)


def test_ctrl_c_stops_cleanly_and_persisted_data_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = StackProcess(extra_args=["--persist", str(data), "--no-schedules"]).start()
    try:
        assert any(line == f"Serverflow API: {first.api_url}" for line in first.output), first.output
        flow = httpx.post(f"{first.api_url}/flows/", json={"name": "survives-restart"}).json()
        run = httpx.post(f"{first.api_url}/flow_runs/", json={"flow_id": flow["id"]}).json()
    finally:
        _stopped_cleanly(first)
    assert list(data.glob("journal-*.log")), list(data.iterdir())

    second = StackProcess(extra_args=["--persist", str(data), "--no-schedules"]).start()
    try:
        assert httpx.get(f"{second.api_url}/flows/name/survives-restart").json()["id"] == flow["id"]
        restored = httpx.get(f"{second.api_url}/flow_runs/{run['id']}").json()
        assert restored["state_type"] == "PENDING"
        # Indexes are rebuilt too: the run is found through a filter, not only by key.
        found = httpx.post(
            f"{second.api_url}/flow_runs/filter", json={"flows": {"name": {"any_": ["survives-restart"]}}}
        ).json()
        assert [r["id"] for r in found] == [run["id"]]
    finally:
        _stopped_cleanly(second)


def test_in_memory_a_restart_starts_empty() -> None:
    first = StackProcess(extra_args=["--in-memory", "--no-schedules"]).start()
    try:
        httpx.post(f"{first.api_url}/flows/", json={"name": "ephemeral"})
    finally:
        _stopped_cleanly(first)
    second = StackProcess(extra_args=["--in-memory", "--no-schedules"]).start()
    try:
        assert httpx.get(f"{second.api_url}/flows/name/ephemeral").status_code == 404
    finally:
        _stopped_cleanly(second)


def test_an_external_aws_endpoint_is_used_instead_of_the_embedded_emulator(tmp_path: Path) -> None:
    """The LocalStack path: `--aws-endpoint-url` provisions the template's table and queues there.

    No Docker here, so a separately started emulator stands in for LocalStack: the stack must
    create its resources in it and start no emulator of its own."""
    import subprocess

    import boto3

    from tests.server_env import server_python
    from tests.stack_process import REPO_ROOT, free_port

    port = free_port()
    external = subprocess.Popen(
        [server_python(), "-m", "infra.local.emulator", "--port", str(port)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        stack = StackProcess(extra_args=["--aws-endpoint-url", endpoint, "--no-schedules"]).start()
        try:
            assert f"AWS endpoint: {endpoint}" in stack.output
            assert httpx.post(f"{stack.api_url}/flows/", json={"name": "on-external-aws"}).status_code == 201
            creds = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
            tables = boto3.client("dynamodb", endpoint_url=endpoint, **creds).list_tables()["TableNames"]
            assert "serverflow" in tables
            queues = boto3.client("sqs", endpoint_url=endpoint, **creds).list_queues().get("QueueUrls", [])
            assert any(url.endswith("WorkPoolDeadLetterQueue") for url in queues), queues
            # No embedded emulator was started on the stack's own emulator port.
            from infra.local.stack import port_in_use

            assert not port_in_use("127.0.0.1", stack.emulator_port)
        finally:
            _stopped_cleanly(stack)
        assert external.poll() is None, "the external endpoint must outlive the stack"
    finally:
        external.terminate()
        external.wait(timeout=10)


def test_data_is_kept_by_default_in_the_per_user_data_dir(tmp_path: Path) -> None:
    """No flag at all: the data directory ($SERVERFLOW_DATA_DIR, else ~/.serverflow/data) keeps data."""
    env = {"SERVERFLOW_DATA_DIR": str(tmp_path / "home-data")}
    first = StackProcess(extra_args=["--no-schedules"], env=env, default_storage=False).start()
    try:
        assert any(line.startswith(f"Data: {tmp_path / 'home-data'}") for line in first.output), first.output
        httpx.post(f"{first.api_url}/flows/", json={"name": "kept-by-default"}).raise_for_status()
    finally:
        _stopped_cleanly(first)
    second = StackProcess(extra_args=["--no-schedules"], env=env, default_storage=False).start()
    try:
        assert httpx.get(f"{second.api_url}/flows/name/kept-by-default").status_code == 200
    finally:
        _stopped_cleanly(second)


def test_sigterm_and_ctrl_c_to_the_process_group_stop_in_order_and_keep_everything(tmp_path: Path) -> None:
    """SIGTERM used to skip the final snapshot; Ctrl-C to the group killed the emulator first."""
    data = tmp_path / "data"
    names = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        stack = StackProcess(extra_args=["--data-dir", str(data), "--no-schedules"], own_group=True).start()
        name = f"stopped-by-{sig.name}"
        httpx.post(f"{stack.api_url}/flows/", json={"name": name}).raise_for_status()
        names.append(name)
        assert stack.process is not None
        os.killpg(stack.process.pid, sig)  # what a terminal's Ctrl-C (or a service manager) does
        assert stack.process.wait(timeout=30) == 0, "\n".join(stack.output)
        deadline = time.monotonic() + 5
        while "Serverflow stopped." not in stack.output and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = list(stack.output)
        assert not any("Traceback" in line for line in lines), "\n".join(lines)
        # API first, emulator (journal closed) last.
        assert lines.index("AWS emulator stopped.") < lines.index("Serverflow stopped."), lines
    again = StackProcess(extra_args=["--data-dir", str(data), "--no-schedules"]).start()
    try:
        for name in names:
            assert httpx.get(f"{again.api_url}/flows/name/{name}").status_code == 200, name
    finally:
        _stopped_cleanly(again)
