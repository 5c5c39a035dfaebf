"""The same small set of objects on each server, made over HTTP, to fill path parameters and the
ids a request body needs (a flow, a run of it, a task run, a deployment in a work pool, ...)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conformance import retrying

SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Seed:
    """Ids and names of the seeded objects on one server."""

    values: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def fill_path(self, template: str) -> str:
        """A concrete request path: each {param} by the object its position names (else a sample id)."""
        segments = template.split("/")
        out = []
        for index, segment in enumerate(segments):
            if not (segment.startswith("{") and segment.endswith("}")):
                out.append(segment)
                continue
            literals = [s for s in segments[:index] if s and not s.startswith("{")]
            out.append(self._param(segment[1:-1], literals))
        return "/".join(out)

    def _param(self, name: str, literals: list[str]) -> str:
        last = literals[-1] if literals else ""
        prev = literals[-2] if len(literals) > 1 else ""
        if name == "view":
            return "aggregate-worker-metadata"
        if name == "countable":
            return "event"
        if name == "schedule_id":
            return self.values.get("deployment_schedule", SAMPLE_ID)
        if name == "flow_name":
            return self.values["flow_name"]
        if name == "deployment_name":
            return self.values["deployment_name"]
        if last == "name":
            return self.values.get(f"{prev}:name", SAMPLE_ID)
        if name == "key" and last == "artifacts":
            return self.values["artifact_key"]
        if last in {"queues", "workers"}:
            return self.values.get(f"{last}:name", SAMPLE_ID)
        return self.values.get(f"{last}:{'name' if last == 'work_pools' else 'id'}", SAMPLE_ID)


def with_fresh_target(api_url: str, seed: Seed, template: str) -> Seed:
    """A copy of `seed` whose object named by the path (a PATCH's target) is a new one, so one
    request's accepted change (e.g. a field set to null) cannot change the next request's answer."""
    collection = [s for s in template.split("/") if s and not s.startswith("{")]
    values = dict(seed.values)
    suffix = uuid.uuid4().hex[:8]
    # Its own connection: the reference drops a keep-alive connection after answering a 500.
    with httpx.Client(base_url=api_url, timeout=60) as http:
        _make_fresh(http, seed, collection, values, suffix)
    return Seed(values)


def _make_fresh(http: httpx.Client, seed: Seed, collection: list[str], values: dict[str, str], suffix: str) -> None:
    if collection[1:2] == ["deployments"]:
        made = _ok(
            post(
                http,
                "/deployments/",
                json={
                    "name": f"conformance-deployment-{suffix}",
                    "flow_id": seed["flows:id"],
                    "work_pool_name": seed["work_pools:name"],
                    "work_queue_name": seed["queues:name"],
                    "schedules": [{"schedule": {"interval": 3600}, "active": False}],
                },
            )
        )
        values.update(
            {
                "deployments:id": made["id"],
                "deployment_name": made["name"],
                "deployment_schedule": made["schedules"][0]["id"],
            }
        )
    elif "queues" in collection or collection[1:2] == ["work_queues"]:
        made = _ok(
            post(http, f"/work_pools/{seed['work_pools:name']}/queues", json={"name": f"conformance-queue-{suffix}"})
        )
        values.update({"queues:name": made["name"], "work_queues:id": made["id"], "work_queues:name": made["name"]})
    elif collection[1:2] == ["work_pools"]:
        made = _ok(post(http, "/work_pools/", json={"name": f"conformance-pool-{suffix}", "type": "process"}))
        values.update({"work_pools:name": made["name"], "work_pool_id": made["id"]})
    elif collection[1:2] == ["flow_runs"]:
        made = _ok(post(http, "/flow_runs/", json={"flow_id": seed["flows:id"], "name": f"conformance-run-{suffix}"}))
        values["flow_runs:id"] = made["id"]
    elif collection[1:2] == ["task_runs"]:
        made = _ok(
            post(
                http,
                "/task_runs/",
                json={"flow_run_id": seed["flow_runs:id"], "task_key": f"t-{suffix}", "dynamic_key": "0"},
            )
        )
        values["task_runs:id"] = made["id"]
    elif collection[1:2] == ["flows"]:
        values["flows:id"] = _ok(post(http, "/flows/", json={"name": f"conformance-flow-{suffix}"}))["id"]
    elif collection[1:2] == ["artifacts"]:
        made = _ok(post(http, "/artifacts/", json={"key": f"conformance-{suffix}", "type": "markdown", "data": "x"}))
        values["artifacts:id"] = made["id"]


def post(http: httpx.Client, path: str, json: Any) -> httpx.Response:
    return retrying.request(http, "POST", path, json)


def get(http: httpx.Client, path: str, params: dict[str, str]) -> httpx.Response:
    return retrying.request(http, "GET", httpx.URL(path, params=params).raw_path.decode())


def _ok(response: httpx.Response) -> dict:
    assert response.status_code < 300, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else {}


def seed_server(api_url: str, tag: str) -> Seed:
    """Create the objects with plain HTTP calls that both servers answer the same way."""
    suffix = f"{tag}-{uuid.uuid4().hex[:8]}"
    v: dict[str, str] = {}
    with httpx.Client(base_url=api_url, timeout=60) as http:
        flow = _ok(post(http, "/flows/", json={"name": f"conformance-flow-{suffix}"}))
        v["flows:id"], v["flows:name"], v["flow_name"] = flow["id"], flow["name"], flow["name"]
        pool = _ok(post(http, "/work_pools/", json={"name": f"conformance-pool-{suffix}", "type": "process"}))
        v["work_pools:name"], v["work_pool_id"] = pool["name"], pool["id"]
        queue = _ok(post(http, f"/work_pools/{pool['name']}/queues", json={"name": f"conformance-queue-{suffix}"}))
        v["queues:name"], v["work_queues:id"], v["work_queues:name"] = queue["name"], queue["id"], queue["name"]
        _ok(post(http, f"/work_pools/{pool['name']}/workers/heartbeat", json={"name": f"conformance-worker-{suffix}"}))
        v["workers:name"] = f"conformance-worker-{suffix}"
        deployment = _ok(
            post(
                http,
                "/deployments/",
                json={
                    "name": f"conformance-deployment-{suffix}",
                    "flow_id": flow["id"],
                    "work_pool_name": pool["name"],
                    "work_queue_name": queue["name"],
                    "schedules": [{"schedule": {"interval": 3600}, "active": False}],
                },
            )
        )
        v["deployments:id"], v["deployment_name"] = deployment["id"], deployment["name"]
        v["deployments:name"] = deployment["name"]
        if deployment.get("schedules"):
            v["deployment_schedule"] = deployment["schedules"][0]["id"]
        run = _ok(post(http, "/flow_runs/", json={"flow_id": flow["id"], "name": f"conformance-run-{suffix}"}))
        v["flow_runs:id"] = run["id"]
        states = _ok(get(http, "/flow_run_states/", params={"flow_run_id": run["id"]}))
        if states:
            v["flow_run_states:id"] = states[0]["id"]
        task_run = _ok(
            post(
                http,
                "/task_runs/",
                json={"flow_run_id": run["id"], "task_key": "conformance-task", "dynamic_key": "0", "name": "t"},
            )
        )
        v["task_runs:id"] = task_run["id"]
        task_states = _ok(get(http, "/task_run_states/", params={"task_run_id": task_run["id"]}))
        if task_states:
            v["task_run_states:id"] = task_states[0]["id"]
        key = re.sub(r"[^a-z0-9-]", "-", f"conformance-{suffix}")
        artifact = _ok(
            post(http, "/artifacts/", json={"key": key, "type": "markdown", "data": "# hi", "flow_run_id": run["id"]})
        )
        v["artifacts:id"], v["artifact_key"] = artifact["id"], key
        now = datetime.now(UTC)
        _ok(
            post(
                http,
                "/logs/",
                json=[
                    {
                        "name": "conformance",
                        "level": 20,
                        "message": "hello",
                        "timestamp": now.isoformat(),
                        "flow_run_id": run["id"],
                    }
                ],
            )
        )
        v["now"] = now.isoformat()
        v["later"] = (now + timedelta(hours=1)).isoformat()
    return Seed(v)
