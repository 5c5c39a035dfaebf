"""Automations end to end on the local stack: the real prefect client runs flows (and
manages automations), the stream-fed evaluator and the scheduled proactive evaluator act
through the API's routes."""

from __future__ import annotations

import datetime
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import httpx

from tests.e2e.prefect_env import SCRIPTS, prefect_env
from tests.support.events import fed


def _flow_and_deployment(client: httpx.Client, tag: str) -> tuple[str, str]:
    flow = client.post("/flows/", json={"name": f"target-{tag}"}).json()
    deployment = client.post(
        "/deployments/", json={"name": f"x-{tag}", "flow_id": flow["id"], "parameters": {"who": "default"}}
    )
    assert deployment.status_code == 201, deployment.text
    return flow["id"], deployment.json()["id"]


def _run_flow(api_url: str, outcome: str, name: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        result = subprocess.run(
            [sys.executable, str(SCRIPTS / "one_flow.py"), outcome, name],
            env=prefect_env(api_url, home),
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    import json

    return dict(json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1]))


def _runs_of(client: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    return list(client.post("/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}}}).json())


def _wait(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    return predicate()


def _events(client: httpx.Client, name: str, resource_id: str) -> list[dict[str, Any]]:
    fed(client)  # prefect.flow-run.* names are read by time: once the feed has paged them
    body = {
        "filter": {
            "event": {"name": [name]},
            "any_resource": {"id": [resource_id]},
            "occurred": {"since": (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).isoformat()},
        },
        "limit": 50,
    }
    return list(client.post("/events/filter", json=body).json()["events"])


def test_flow_run_failed_runs_a_deployment(api_url: str, client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    _, deployment_id = _flow_and_deployment(client, tag)
    failing_flow = client.post("/flows/", json={"name": f"failing-{tag}"}).json()
    automation = client.post(
        "/automations/",
        json={
            "name": f"rerun-{tag}",
            "trigger": {
                "type": "event",
                "posture": "Reactive",
                "expect": ["prefect.flow-run.Failed"],
                "match": {"prefect.resource.id": "prefect.flow-run.*"},
                "match_related": {"prefect.resource.id": f"prefect.flow.{failing_flow['id']}"},
            },
            "actions": [
                {
                    "type": "run-deployment",
                    "source": "selected",
                    "deployment_id": deployment_id,
                    "parameters": {
                        "who": {"__prefect_kind": "jinja", "template": "{{ event.resource['prefect.resource.name'] }}"}
                    },
                }
            ],
        },
    )
    assert automation.status_code == 201, automation.text
    automation_id = automation.json()["id"]

    failed = _run_flow(api_url, "fail", f"failing-{tag}")
    assert failed["state"] == "FAILED"
    runs = _wait(lambda: _runs_of(client, deployment_id), timeout=60)
    assert len(runs) == 1, runs
    run = runs[0]
    failed_event = _events(client, "prefect.flow-run.Failed", f"prefect.flow-run.{failed['flow_run_id']}")[0]
    latency = (
        datetime.datetime.fromisoformat(run["created"]) - datetime.datetime.fromisoformat(failed_event["occurred"])
    ).total_seconds()
    print(f"\nautomation latency: flow run Failed -> deployment run created in {latency:.3f} s")
    assert latency < 5, latency  # the bound on the local stack (measured, not a tight timing)
    assert run["created_by"]["type"] == "AUTOMATION" and run["created_by"]["id"] == automation_id
    run_name = client.get(f"/flow_runs/{failed['flow_run_id']}").json()["name"]
    assert run["parameters"] == {"who": run_name}  # the template saw the triggering event
    executed = _wait(
        lambda: _events(client, "prefect.automation.action.executed", f"prefect.automation.{automation_id}"), timeout=30
    )
    assert executed and executed[0]["payload"]["action_type"] == "run-deployment"
    assert any(r["prefect.resource.id"] == f"prefect.flow-run.{run['id']}" for r in executed[0]["related"])
    # A successful run of the same flow matches nothing; no second run appears.
    _run_flow(api_url, "complete", f"failing-{tag}")
    time.sleep(2)
    assert len(_runs_of(client, deployment_id)) == 1


def test_a_failing_action_records_a_failure_and_the_next_action_still_runs(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    _, deployment_id = _flow_and_deployment(client, tag)
    gone = str(uuid.uuid4())
    automation = client.post(
        "/automations/",
        json={
            "name": f"broken-{tag}",
            "trigger": {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.go"]},
            "actions": [
                {"type": "run-deployment", "source": "selected", "deployment_id": gone},
                {"type": "run-deployment", "source": "selected", "deployment_id": deployment_id},
            ],
        },
    ).json()
    event = {
        "id": str(uuid.uuid4()),
        "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
        "event": f"test.{tag}.go",
        "resource": {"prefect.resource.id": f"test.{tag}"},
    }
    assert client.post("/events", json=[event]).status_code == 204
    assert _wait(lambda: _runs_of(client, deployment_id), timeout=30)
    failed = _wait(
        lambda: _events(client, "prefect.automation.action.failed", f"prefect.automation.{automation['id']}"),
        timeout=30,
    )
    assert failed and "Deployment not found" in failed[0]["payload"]["reason"]
    # Redelivering the same event (same id) does not fire again.
    assert client.post("/events", json=[event]).status_code == 204
    time.sleep(2)
    assert len(_runs_of(client, deployment_id)) == 1


def test_compound_trigger_fires_when_all_children_fired(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    _, deployment_id = _flow_and_deployment(client, tag)
    child = lambda name: {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.{name}"]}  # noqa: E731 - a one-line trigger factory
    created = client.post(
        "/automations/",
        json={
            "name": f"both-{tag}",
            "trigger": {"type": "compound", "require": "all", "within": 60, "triggers": [child("a"), child("b")]},
            "actions": [{"type": "run-deployment", "source": "selected", "deployment_id": deployment_id}],
        },
    )
    assert created.status_code == 201, created.text

    def emit(name: str) -> None:
        event = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
            "event": f"test.{tag}.{name}",
            "resource": {"prefect.resource.id": f"test.{tag}"},
        }
        assert client.post("/events", json=[event]).status_code == 204

    emit("a")
    emit("a")
    time.sleep(2)
    assert _runs_of(client, deployment_id) == []  # only one child fired
    emit("b")
    assert len(_wait(lambda: _runs_of(client, deployment_id), timeout=30)) == 1
    time.sleep(2)
    assert len(_runs_of(client, deployment_id)) == 1


def test_proactive_no_completed_within_30s_fires_once(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    _, deployment_id = _flow_and_deployment(client, tag)
    created = client.post(
        "/automations/",
        json={
            "name": f"stuck-{tag}",
            "trigger": {
                "type": "event",
                "posture": "Proactive",
                "after": [f"test.{tag}.Running"],
                "expect": [f"test.{tag}.Completed"],
                "for_each": ["prefect.resource.id"],
                "within": 30,
                "threshold": 1,
            },
            "actions": [{"type": "run-deployment", "source": "selected", "deployment_id": deployment_id}],
        },
    )
    assert created.status_code == 201, created.text

    def emit(name: str, resource: str) -> None:
        event = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
            "event": f"test.{tag}.{name}",
            "resource": {"prefect.resource.id": resource},
        }
        assert client.post("/events", json=[event]).status_code == 204

    emit("Running", f"stuck.{tag}")  # never completes
    emit("Running", f"fine.{tag}")
    emit("Completed", f"fine.{tag}")  # completes in time: no firing for this one
    runs = _wait(lambda: _runs_of(client, deployment_id), timeout=150)  # window 30 s + a 1-minute schedule
    assert len(runs) == 1
    time.sleep(65)  # another tick: the fired window is gone (the trigger waits for `after` again)
    assert len(_runs_of(client, deployment_id)) == 1


def test_call_webhook_through_a_webhook_block(api_url: str, client: httpx.Client) -> None:
    import http.server
    import threading

    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tag = uuid.uuid4().hex[:8]
        from tests.e2e.prefect_env import run_script

        saved, _ = run_script(
            "save_webhook_block.py", api_url, f"hook-{tag}", f"http://127.0.0.1:{server.server_port}/hook"
        )
        automation = client.post(
            "/automations/",
            json={
                "name": f"hook-{tag}",
                "trigger": {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.go"]},
                "actions": [
                    {
                        "type": "call-webhook",
                        "block_document_id": saved["block_document_id"],
                        "payload": "event={{ event.event }}",
                    }
                ],
            },
        ).json()
        event = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
            "event": f"test.{tag}.go",
            "resource": {"prefect.resource.id": f"test.{tag}"},
        }
        assert client.post("/events", json=[event]).status_code == 204
        assert _wait(lambda: received, timeout=30) == [f"event=test.{tag}.go".encode()]
        executed = _wait(
            lambda: _events(client, "prefect.automation.action.executed", f"prefect.automation.{automation['id']}"),
            timeout=30,
        )
        assert executed and executed[0]["payload"]["status_code"] == 200
    finally:
        server.shutdown()


def test_send_notification_through_a_slack_webhook_block(api_url: str, client: httpx.Client) -> None:
    """`send-notification` renders its subject/body templates and posts them through the block's url."""
    import http.server
    import json
    import threading

    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tag = uuid.uuid4().hex[:8]
        from tests.e2e.prefect_env import run_script

        saved, _ = run_script(
            "save_slack_block.py", api_url, f"slack-{tag}", f"http://127.0.0.1:{server.server_port}/slack"
        )
        automation = client.post(
            "/automations/",
            json={
                "name": f"notify-{tag}",
                "trigger": {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.alert"]},
                "actions": [
                    {
                        "type": "send-notification",
                        "block_document_id": saved["block_document_id"],
                        "subject": "Alert from {{ automation.name }}",
                        "body": "saw {{ event.event }} on {{ event.resource['prefect.resource.id'] }}",
                    }
                ],
            },
        )
        assert automation.status_code == 201, automation.text
        event = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
            "event": f"test.{tag}.alert",
            "resource": {"prefect.resource.id": f"test.{tag}"},
        }
        assert client.post("/events", json=[event]).status_code == 204
        assert _wait(lambda: received, timeout=30)
        executed = _wait(
            lambda: _events(
                client, "prefect.automation.action.executed", f"prefect.automation.{automation.json()['id']}"
            ),
            timeout=30,
        )
        assert len(received) == 1
        payload = json.loads(received[0])
        assert payload["body"] == f"saw test.{tag}.alert on test.{tag}"
        assert payload["subject"] == f"Alert from notify-{tag}"
        assert executed and executed[0]["payload"]["action_type"] == "send-notification"
        assert executed[0]["payload"]["status_code"] == 200
        assert f"prefect.block-document.{saved['block_document_id']}" in [
            r["prefect.resource.id"] for r in executed[0]["related"]
        ]
    finally:
        server.shutdown()
