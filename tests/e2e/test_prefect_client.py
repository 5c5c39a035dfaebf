"""The real prefect 3.9.1 client runs flows against the local stack and reads them back."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.e2e.prefect_env import run_script


@pytest.fixture(scope="module")
def summary(api_url: str) -> dict:
    data, output = run_script("foundation_flows.py", api_url)
    assert "Traceback" not in output or "this flow fails" in output or "fails once" in output, output[-4000:]
    return data


def test_parent_flow_and_subflow_complete(summary: dict) -> None:
    assert summary["parent"]["state"] == "COMPLETED"
    assert summary["result"] == {"total": 3, "tenfold": 30, "loud": "HELLO", "sub": 31}
    assert [s["state"] for s in summary["subflows"]] == ["COMPLETED"]


def test_every_task_run_recorded_with_final_state_and_run_count(summary: dict) -> None:
    by_name = {tr["name"].rsplit("-", 1)[0]: tr for tr in summary["task_runs"]}
    assert set(by_name) >= {"add", "flaky", "shout", "child"}, summary["task_runs"]
    assert all(tr["state"] == "COMPLETED" for tr in summary["task_runs"]), summary["task_runs"]
    assert by_name["flaky"]["run_count"] == 2
    assert by_name["add"]["run_count"] == 1
    # The subflow's parent task run follows the subflow's state.
    assert str(by_name["child"]["id"]) == summary["subflows"][0]["parent_task_run_id"]


def test_each_task_run_state_reads_back_by_its_id(summary: dict) -> None:
    # The client makes state ids UUIDv7: the recorder's pages of state ids find them (task_run_state_ids.py).
    assert [s["type"] for s in summary["flaky_states"]][-1] == "COMPLETED" and len(summary["flaky_states"]) >= 4
    assert all(uuid.UUID(s["id"]).version == 7 for s in summary["flaky_states"])
    assert summary["flaky_states_by_id"] == summary["flaky_states"]


def test_logs_and_artifact_are_recorded(summary: dict) -> None:
    logs = summary["logs"]
    assert "parent starting" in logs and "parent done" in logs
    assert "shouting hello" in logs
    assert "child running with 30" in logs
    artifacts = [a for a in summary["artifacts"] if a["key"] == "foundation-report"]
    assert artifacts and artifacts[0]["type"] == "markdown" and artifacts[0]["data"].startswith("# Report")


def test_each_task_runs_logs_read_by_task_run_alone(summary: dict) -> None:
    """The client's lines of all task runs share their flow run's groups; read by task run (the UI's task-run
    page) each task run gets exactly its lines, in order: every one its flow run's read before held, and none
    its flow run's read after does not hold (lines may still arrive in between)."""

    def of(task_run_id: str, lines: list[dict]) -> list[str]:
        return [line["id"] for line in lines if line["task_run_id"] == task_run_id]

    for task_run in summary["task_runs"]:
        lines = summary["logs_by_task_run"][task_run["id"]]
        got = [line["id"] for line in lines]
        assert all(line["task_run_id"] == task_run["id"] for line in lines)
        before, after = of(task_run["id"], summary["log_lines_before"]), of(task_run["id"], summary["log_lines"])
        assert set(before) <= set(got) and got == [i for i in after if i in set(got)], (task_run, lines)
        if task_run["name"].rsplit("-", 1)[0] in ("add", "flaky", "shout"):
            assert any(line["message"].startswith("Finished in state") for line in lines), (task_run, lines)
    shout = next(tr for tr in summary["task_runs"] if tr["name"].startswith("shout"))
    assert "shouting hello" in [line["message"] for line in summary["logs_by_task_run"][shout["id"]]]


def test_failing_flow_ends_failed(summary: dict) -> None:
    assert summary["failing"]["state"] == "FAILED"


def test_flow_retries_complete_with_run_count_two(summary: dict) -> None:
    assert summary["retried"] == {"state": "COMPLETED", "run_count": 2}
    assert summary["retried_result"] == "ok"


def test_state_history_is_ordered(summary: dict) -> None:
    history = summary["parent_state_history"]
    assert history[0] == "PENDING" and history[-1] == "COMPLETED"
    assert Counter(history)["RUNNING"] == 1
    assert summary["filtered_count"] == 3
