"""``serverflow`` CLI against the API: tables, deployment run, cancel, readable errors."""

from __future__ import annotations

import uuid

import httpx
import pytest
from serverflow.cli import main

pytestmark = pytest.mark.timeout(60)


def test_work_pool_create_and_ls(sdk_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"sdk-pool-{uuid.uuid4().hex[:8]}"
    assert main(["work-pool", "create", name, "--type", "process"]) == 0
    assert main(["work-pool", "ls"]) == 0
    out = capsys.readouterr().out
    assert f"Created work pool '{name}'" in out
    assert name in out.split("Work pools", 1)[1]


def test_deployment_run_and_flow_run_cancel(
    sdk_env: str, api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    flow_name = f"cli-flow-{uuid.uuid4().hex[:6]}"
    flow_id = api.post("/flows/", json={"name": flow_name}).json()["id"]
    # Listed by name: "0-nightly" sorts before every other test's deployments, however many a full run made.
    response = api.post("/deployments/", json={"name": "0-nightly", "flow_id": flow_id, "parameters": {"x": 1}})
    assert response.status_code in (200, 201), response.text

    assert main(["deployment", "ls"]) == 0
    assert f"{flow_name}/0-nightly" in capsys.readouterr().out

    assert main(["deployment", "run", f"{flow_name}/0-nightly", "--param", "x=5", "--param", "who=ada"]) == 0
    out = capsys.readouterr().out
    assert "Created flow run" in out
    run_id = out.split("(", 1)[1].split(")", 1)[0]
    run = api.get(f"/flow_runs/{run_id}").json()
    assert run["parameters"] == {"x": 5, "who": "ada"}
    assert run["deployment_id"] == response.json()["id"]

    assert main(["flow-run", "ls", "--flow-name", flow_name]) == 0
    assert run_id in capsys.readouterr().out
    assert main(["flow-run", "inspect", run_id]) == 0
    assert '"who": "ada"' in capsys.readouterr().out

    assert main(["flow-run", "cancel", run_id]) == 0
    assert api.get(f"/flow_runs/{run_id}").json()["state_type"] in ("CANCELLING", "CANCELLED")


def test_cli_reports_unreachable_api(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVERFLOW_API_URL", "http://127.0.0.1:9/api")
    assert main(["flow-run", "ls"]) == 1
    assert "Cannot reach the Serverflow API at http://127.0.0.1:9/api" in capsys.readouterr().err


def test_cli_without_api_url(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVERFLOW_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["work-pool", "ls"]) == 1
    assert "SERVERFLOW_API_URL" in capsys.readouterr().err
