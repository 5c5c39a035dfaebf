"""The benchmark harness in smoke mode (tiny counts), so it cannot rot. Not a performance test: it only
checks that one run starts both servers, measures every operation on each, and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPS = {
    "create_flow_run",
    "set_state_pending",
    "set_state_running",
    "set_state_completed",
    "read_flow_run",
    "filter_by_state",
    "filter_by_flow",
    "filter_sorted_expected_start",
    "logs_batch_create",
    # The UI's dashboard / list queries (bench/ui_queries.py).
    "ui_dashboard_flow_runs",
    "ui_dashboard_flow_runs_count",
    "ui_flow_runs_history",
    "ui_flows_count_deployments",
    "ui_flows_next_runs",
    "ui_flow_runs_count_task_runs",
    "ui_task_runs_dashboard_counts",
    "ui_task_runs_count",
    "flow_run_graph_v2",
    "ui_flow_run_logs",  # after logs_batch_create: the UI's run page reading a run's logs
}


@pytest.mark.timeout(480)  # both servers, every section; a loaded 2-core box (xdist) needs minutes
def test_bench_smoke(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--import-repeats", "1", "--out", str(tmp_path)],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=450,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "REST API" in p.stdout and "Cost model" in p.stdout
    res = json.loads((tmp_path / "latest.json").read_text())
    for side in ("reference", "serverflow"):
        assert "error" not in res[side], res[side].get("traceback")
        ops = res[side]["api"]["ops"]
        assert set(ops) == OPS
        assert all(o["requests"] > 0 for o in ops.values())
        assert res[side]["client_flows"], side
    floor = res["serverflow"]["floor"]
    assert floor["set_state_pending"]["ddb_calls_per_op"] > 0  # the botocore hook counted calls
    assert floor["flow_run_graph_v2"]["items_read_all_per_op"] > 0  # reads by key are counted too
    # The UI's dashboard and list queries read at most 1.5 items per item they return (issue #12); items read
    # are counted by the botocore hook, so this is exact, not a timing. These three must return something.
    setup = res["serverflow"]["api"]["setup"]
    assert all(
        setup[f"{op}_returned"] > 0
        for op in (
            "ui_flows_next_runs",
            "ui_task_runs_dashboard_counts",
            "ui_task_runs_count",
            "ui_flow_run_logs",
            "ui_dashboard_flow_runs",
            "ui_dashboard_flow_runs_count",
        )
    )
    for op in sorted(o for o in OPS if o.startswith("ui_") or o == "flow_run_graph_v2"):
        returned = setup[f"{op}_returned"]
        assert isinstance(returned, int), (op, returned)
        read = floor[op].get("items_read_all_per_op", 0.0)  # absent: nothing read
        assert read <= 1.5 * returned, (op, read, returned)
        # Index anchors (flow runs' anchors, task-run guards listing a flow run) are counted apart (index entries,
        # each followed by its run's read): as many.
        anchors = floor[op].get("index_anchors_read_per_op", 0.0)
        assert anchors <= 1.5 * returned, (op, anchors, returned)
    assert "total" in res["cost"]["per_million_flow_runs"]
    # The AWS path: the client's websocket frames replayed through the Lambda handler, one invocation each.
    replays = [f["aws_ws_replay"] for f in res["serverflow"]["client_flows"] if "aws_ws_replay" in f]
    assert replays and all(r["errors"] == 0 and r["invocations"] == r["frames"] + 3 for r in replays), replays
    assert res["cost"]["aws_path"]["per_million_task_runs"]["total"] > 0
    assert "target $ per 1M task runs" in p.stdout
    assert res["imports"]["handlers"]
    layout = res["imports"]["lambda_layout"]  # cached from a full run, or says it is not built yet
    assert layout.get("handlers") or "not built" in layout.get("error", ""), layout
    assert "Lambda layout" in p.stdout
    sdk_flows = res["serverflow"]["sdk_flows"]
    assert [f["state"] for f in sdk_flows] == ["COMPLETED", "COMPLETED"], sdk_flows
    assert res["serverflow"]["sdk_vs_prefect_per_task"]["serverflow_ms"] is not None
    assert "SDK vs prefect" in p.stdout
