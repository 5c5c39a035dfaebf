"""Issue #13's storage figures, from the DynamoDB meter's breakdowns of one client's flows (a 0-task flow and an
N-task flow): the real prefect client's on the AWS path, and the Serverflow SDK's (plain HTTP, already the AWS
path):

- write units per task run and per flow run by item kind and index (`wru_by`), beside the calls;
- hot keys: the write units each index partition key takes per run (`wru_by_key`), scaled to
  10,000 task runs/s and 1,000 flow runs/s. A key pattern holding `<id>` belongs to one entity
  (its run, its flow run...), so its rate is one entity's share; a pattern without `<id>` is one
  key every run writes to: DynamoDB serves at most 1,000 WCU/s per partition key;
- stored bytes per run: the item bytes put per flow run and per task run (the last write of an
  item counts; state history, events and logs accumulate).
"""

from __future__ import annotations

import re
from typing import Any

from bench.cost import Routes

TASK_RUNS_PER_S = 10_000
FLOW_RUNS_PER_S = 1_000
KEY_LIMIT_WCU_S = 1_000


def _sum(routes: Routes | None, field: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for route, r in (routes or {}).items():
        if route == "background":
            continue
        for name, value in (r.get(field) or {}).items():
            out[name] = out.get(name, 0.0) + float(value)
    return out


def _totals(routes: Routes | None) -> dict[str, float]:
    routes = {k: v for k, v in (routes or {}).items() if k != "background"}
    return {
        "ddb_calls": sum(r.get("ddb_calls", 0) for r in routes.values()),
        "rru": sum(r.get("rru", 0.0) for r in routes.values()),
        "wru": sum(r.get("wru", 0.0) for r in routes.values()),
        # Net bytes left in the table (items, index copies, 100 bytes of overhead each): kept until deleted,
        # or expiring with a retention period (TTL).
        "stored_kept": sum(r.get("stored_kept", 0.0) for r in routes.values()),
        "stored_expiring": sum(r.get("stored_expiring", 0.0) for r in routes.values()),
    }


def _per(flow0: dict[str, float], flow_n: dict[str, float], n: int) -> dict[str, float]:
    return {k: round((flow_n.get(k, 0.0) - flow0.get(k, 0.0)) / n, 3) for k in set(flow0) | set(flow_n)}


def breakdown(flow0: Routes | None, flow_n: Routes | None, n_tasks: int) -> dict[str, Any]:
    """Per flow run (the 0-task flow) and per task run (marginal) figures."""
    if flow0 is None:
        return {}
    out: dict[str, Any] = {
        "tasks": n_tasks,
        "flow_run": {
            **_totals(flow0),
            "wru_by": _sum(flow0, "wru_by"),
            "stored_bytes": sum(_sum(flow0, "put_bytes_by").values()),
        },
    }
    if flow_n is not None and n_tasks > 0:
        out["task_run"] = {
            **_per(_totals(flow0), _totals(flow_n), n_tasks),
            "wru_by": {
                k: v for k, v in _per(_sum(flow0, "wru_by"), _sum(flow_n, "wru_by"), n_tasks).items() if abs(v) >= 0.005
            },
            "stored_bytes": round(
                (sum(_sum(flow_n, "put_bytes_by").values()) - sum(_sum(flow0, "put_bytes_by").values())) / n_tasks
            ),
        }
        keys0, keys_n = _shards(_sum(flow0, "wru_by_key")), _shards(_sum(flow_n, "wru_by_key"))
        rows: list[dict[str, Any]] = []
        for pattern in set(keys0) | set(keys_n):
            shards = max(keys0.get(pattern, (0.0, 1))[1], keys_n.get(pattern, (0.0, 1))[1])
            # A sharded key family spreads its writes over its shards (the hash of an id picks one).
            per_flow = keys0.get(pattern, (0.0, 1))[0] / shards
            per_task = max(0.0, keys_n.get(pattern, (0.0, 1))[0] / shards - per_flow) / n_tasks
            if pattern.startswith("table ") and ("FLOW_NAME#" in pattern or "EVENTS_SOCKET#" in pattern):
                continue  # the bench's own flow name / socket: one per flow or connection, not per run
            shared = "<id>" not in pattern.split(" ", 1)[1]
            rate = per_task * TASK_RUNS_PER_S + per_flow * FLOW_RUNS_PER_S
            rows.append(
                {
                    "key": pattern,
                    "shards": shards,
                    "wru_per_flow_run": round(per_flow, 3),
                    "wru_per_task_run": round(per_task, 3),
                    "shared": shared,
                    "wcu_per_s": round(rate),
                    "over_limit": shared and rate > KEY_LIMIT_WCU_S,
                }
            )
        rows.sort(key=lambda r: (not r["shared"], -r["wcu_per_s"]))
        out["hot_keys"] = rows
    return out


SHARD = re.compile(r"#(?:s)?(\d+)$")


def shard_counts() -> dict[str, int]:
    """The write-shard counts of the sharded key families, by their key prefix (the storage's constants)."""
    from shared.storage import event_feed, event_groups, events, flow_runs, log_feed, task_run_state_ids, task_runs

    return {
        "EVENTS": events.TIME_SHARDS,
        "EVENT_FEED": event_feed.FEED_SHARDS,
        # The SDK's task-run state events, compressed in groups: a minute's key spread over its shards.
        "EVENT_GROUP": event_groups.SHARDS,
        "EVENT_NAMES": events.NAME_SHARDS,
        "FLOW_RUNS": flow_runs.SHARDS,
        "LOG_FEED": log_feed.FEED_SHARDS,
        "TASK_RUNS": task_runs.ALL_RUNS_SHARDS,
        "TASK_RUNS_IN": task_runs.STATE_SHARDS,
        "TASK_RUNS_STARTED#ACTIVE": task_runs.ACTIVE_SHARDS,
        # A started terminal run's one index copy: its terminal state type's key (the legacy
        # TASK_RUNS_STARTED#TERMINAL family is only read now).
        **{f"TASK_RUNS_STARTED#{t.value}": task_runs.TERMINAL_SHARDS for t in task_runs.TERMINAL_KINDS},
        "TASK_RUN_STATE_IDS": task_run_state_ids.SHARDS,
    }


def _shards(by_key: dict[str, float]) -> dict[str, tuple[float, int]]:
    """Key families: `LOG_FEED#3` and `LOG_FEED#5` are shards of `LOG_FEED#<shard>`: (summed units, shard count)."""
    counts = shard_counts()
    out: dict[str, tuple[float, int]] = {}
    for pattern, units in by_key.items():
        found = SHARD.search(pattern)
        family = SHARD.sub("#<shard>", pattern) if found else pattern
        name = pattern.split(" ", 1)[-1]
        # The longest family the key belongs to: `TASK_RUNS_STARTED#ACTIVE#3` is one of the ACTIVE shards.
        prefix = max((p for p in counts if name.startswith(p + "#")), key=len, default=None)
        seen = (counts[prefix] if prefix else int(found.group(1)) + 1) if found else 1
        total, shards = out.get(family, (0.0, 1))
        out[family] = (total + units, max(shards, seen))
    return out


def render(floor: dict[str, Any], task_runs: str = "task runs") -> str:
    """The breakdown as printed; `task_runs` names whose task runs the write rates are for (e.g. "SDK task runs")."""
    if not floor:
        return "  (not measured)"
    lines = []
    for what in ("flow_run", "task_run"):
        f = floor.get(what)
        if not f:
            continue
        lines.append(
            f"  per {what.replace('_', ' ')}: {f['ddb_calls']:.2f} DynamoDB calls, RRU {f['rru']:.2f}, "
            f"WRU {f['wru']:.2f}, stored {f['stored_bytes']:.0f} bytes"
        )
        if "stored_kept" in f:
            lines.append(
                f"      left in the table: {f['stored_kept']:.0f} bytes kept (runs, states: RunRetentionDays, default "
                f"forever) + {f['stored_expiring']:.0f} bytes expiring (events, logs, connections: their retention)"
            )
        for name, units in sorted(f["wru_by"].items(), key=lambda kv: -kv[1])[:14]:
            lines.append(f"      {units:7.2f} WRU  {name}")
    hot = floor.get("hot_keys") or []
    if hot:
        lines.append(
            f"  write rate per partition key at {TASK_RUNS_PER_S:,} {task_runs}/s + {FLOW_RUNS_PER_S:,} flow runs/s "
            f"(target: no shared key > {KEY_LIMIT_WCU_S:,} WCU/s; <id> keys: one entity's share)"
        )
        for row in [r for r in hot if r["shared"]]:
            flag = "  OVER" if row["over_limit"] else ""
            shards = f", {row['shards']} shards" if row.get("shards", 1) > 1 else ""
            lines.append(
                f"      {row['wcu_per_s']:>9,} WCU/s  {row['key']}  ({row['wru_per_task_run']} per task run, "
                f"{row['wru_per_flow_run']} per flow run, per key{shards}){flag}"
            )
        own = sorted(
            (r for r in hot if not r["shared"]), key=lambda r: -(r["wru_per_task_run"] + r["wru_per_flow_run"])
        )
        lines.append(
            "  keys of one entity (spread by id; hot only if one flow run alone had thousands of task runs/s): "
            + ", ".join(
                f"{r['key']} {r['wru_per_task_run']}/task run {r['wru_per_flow_run']}/flow run" for r in own[:8]
            )
        )
        over = [r for r in hot if r["over_limit"]]
        lines.append(f"  target no hot key: {'met' if not over else f'NOT met ({len(over)} keys over)'}")
    return "\n".join(lines)
