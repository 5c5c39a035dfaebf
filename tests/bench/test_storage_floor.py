"""The storage floor (issue #13) of the SDK's flows, from recorded counters: the same breakdown and hot-key table
as the real prefect client's, and its event groups' minute keys rated over their shards.

The counters below are the meter's shape (bench/ddb_meter.py) for a 0-task and a 200-task SDK flow, trimmed to
the routes that matter here.
"""

from __future__ import annotations

from typing import Any

from bench import report, storage_floor
from bench.cost import Routes
from bench.run import build_cost
from shared.storage import event_groups, task_runs

TASKS = 200


def _route(wru_by: dict[str, float], wru_by_key: dict[str, float], calls: int, put_bytes: float) -> dict[str, Any]:
    return {
        "requests": 1,
        "ddb_calls": calls,
        "rru": 1.0,
        "wru": sum(wru_by.values()),
        "stored_kept": put_bytes,
        "stored_expiring": 0.0,
        "wru_by": wru_by,
        "wru_by_key": wru_by_key,
        "put_bytes_by": {"FLOW_RUN": put_bytes},
    }


def _sdk_flows(groups_per_shard: float) -> tuple[Routes, Routes]:
    """The SDK's 0-task flow (create, two state changes) and its 200-task flow: the same, plus its task runs' state
    events posted as event groups in three of the eight shards of a minute, and the stream-fed recorder's keyed
    task runs with their started-terminal index entry in each of the twelve shards (names as a smoke run of the
    bench recorded them, 2026-11-29)."""
    flow0: Routes = {
        "POST /api/flow_runs/": _route(
            {"BatchWriteItem:FLOW_RUN": 1.0, "BatchWriteItem:FLOW_RUN+GSI1": 1.0},
            {"table FLOW_RUN#<id>": 1.0, "GSI1 FLOW_RUNS#3": 1.0},
            3,
            900.0,
        ),
        "POST /api/flow_runs/{id}/set_state": _route(
            {"PutItem:FLOW_RUN": 2.0, "PutItem:FLOW_RUN+GSI5": 4.0},
            {"table FLOW_RUN#<id>": 2.0, "GSI5 FLOW_RUNS#STATE#RUNNING#3": 4.0},
            6,
            1400.0,
        ),
    }
    groups = {f"table EVENT_GROUP#<ts>#{shard}": groups_per_shard for shard in (0, 3, 5)}
    started = {f"GSI4 TASK_RUNS_STARTED#COMPLETED#{shard}": 17.0 if shard < 8 else 16.0 for shard in range(12)}
    flow_n: Routes = {
        **flow0,
        "POST /api/events": _route({"BatchWriteItem:EVENT_GROUP/*": sum(groups.values())}, groups, 4, 20_000.0),
        "stream:TaskRunRecorderFunction": _route(
            {"PutItem:TASK_RUN_KEYS/*": 1.0 * TASKS, "PutItem:TASK_RUN_KEYS/*+GSI4": 1.0 * TASKS},
            {"table TASK_RUN_KEYS#<id>": 1.0 * TASKS, **started},
            TASKS,
            180_000.0,
        ),
    }
    return flow0, flow_n


def _row(floor: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in floor["hot_keys"] if r["key"] == key)


def test_an_sdk_flows_event_group_minute_key_is_rated_over_all_its_shards() -> None:
    flow0, flow_n = _sdk_flows(groups_per_shard=28.0)
    floor = storage_floor.breakdown(flow0, flow_n, TASKS)

    task_run = floor["task_run"]
    assert task_run["wru"] == round((3 * 28.0 + 2.0 * TASKS) / TASKS, 3)
    assert task_run["wru_by"] == {
        "BatchWriteItem:EVENT_GROUP/*": 0.42,
        "PutItem:TASK_RUN_KEYS/*": 1.0,
        "PutItem:TASK_RUN_KEYS/*+GSI4": 1.0,
    }
    assert task_run["stored_bytes"] == round(200_000 / TASKS)
    # The run touched three shards of the minute; at 10,000 task runs/s its writes spread over all eight.
    groups = _row(floor, "table EVENT_GROUP#<ts>#<shard>")
    assert groups["shared"] and groups["shards"] == event_groups.SHARDS
    assert groups["wcu_per_s"] == round(3 * 28.0 / event_groups.SHARDS / TASKS * storage_floor.TASK_RUNS_PER_S)
    assert not groups["over_limit"]
    started = _row(floor, "GSI4 TASK_RUNS_STARTED#COMPLETED#<shard>")
    assert started["shards"] == task_runs.TERMINAL_SHARDS
    assert started["wcu_per_s"] == round(1.0 / task_runs.TERMINAL_SHARDS * storage_floor.TASK_RUNS_PER_S)
    # A task run's own keys are one entity's share, never the verdict's.
    assert not _row(floor, "table TASK_RUN_KEYS#<id>")["shared"]

    text = storage_floor.render(floor, "SDK task runs")
    assert "at 10,000 SDK task runs/s + 1,000 flow runs/s" in text
    assert "0.42 WRU  BatchWriteItem:EVENT_GROUP/*" in text
    assert "target no hot key: met" in text


def test_an_sdk_flow_writing_a_minute_key_past_the_limit_is_not_met() -> None:
    # Five times the group bytes: each of the eight keys past 1,000 WCU/s.
    floor = storage_floor.breakdown(*_sdk_flows(groups_per_shard=140.0), TASKS)
    groups = _row(floor, "table EVENT_GROUP#<ts>#<shard>")
    assert groups["over_limit"] and groups["wcu_per_s"] > storage_floor.KEY_LIMIT_WCU_S
    text = storage_floor.render(floor, "SDK task runs")
    assert "table EVENT_GROUP#<ts>#<shard>" in text and "OVER" in text
    assert "target no hot key: NOT met (1 keys over)" in text


def test_the_cost_model_keeps_the_sdk_floor_and_the_report_prints_it_beside_the_real_clients() -> None:
    flow0, flow_n = _sdk_flows(groups_per_shard=28.0)
    cost = build_cost({"sdk_flow_counters": {"sequential_0": flow0, f"sequential_{TASKS}": flow_n}}, TASKS)
    sdk = cost["sdk_storage_floor"]
    assert sdk == storage_floor.breakdown(flow0, flow_n, TASKS)
    assert cost["sdk_storage"]["per_million_task_runs"]["kept_usd_per_month"] > 0
    lines = report.storage_floor_sections({"cost": cost})
    # The real client's flows were not run here: its section says so, the SDK's is printed whole.
    prefect_at = lines.index("Storage floor (AWS path, real prefect client, bench/storage_floor.py):")
    sdk_at = lines.index(
        "Storage floor (Serverflow SDK, plain HTTP as on AWS, 200-task sequential flow, bench/storage_floor.py):"
    )
    assert lines[prefect_at + 1] == "  (not measured)"
    assert lines[sdk_at + 1] == storage_floor.render(sdk, "SDK task runs")
