"""Slots given back by maintenance: the lease reaper and the CANCELLING-timeout cleanup."""

from __future__ import annotations

import datetime
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture
def short_cancelling_timeout(aws_env: None) -> Iterator[int]:
    from shared.config import reset_settings_cache

    os.environ["SERVERFLOW_CANCELLING_TIMEOUT_SECONDS"] = "1"
    reset_settings_cache()
    yield 1
    os.environ.pop("SERVERFLOW_CANCELLING_TIMEOUT_SECONDS", None)
    reset_settings_cache()


def _limit(client: httpx.Client, limit: int) -> str:
    name = f"reap-{uuid.uuid4().hex[:8]}"
    assert client.post("/v2/concurrency_limits/", json={"name": name, "limit": limit}).status_code == 201
    return name


def _active(client: httpx.Client, name: str) -> int:
    return int(client.get(f"/v2/concurrency_limits/{name}").json()["active_slots"])


def test_reaper_handler_leaves_live_leases_alone(client: httpx.Client, invoke: Callable[[str], Any]) -> None:
    name = _limit(client, 2)
    lease = client.post(
        "/v2/concurrency_limits/increment-with-lease", json={"names": [name], "slots": 1, "lease_duration": 60}
    )
    assert lease.status_code == 200
    result = invoke("lease_reaper")
    assert set(result) == {"reclaimed"}
    assert _active(client, name) == 1


def test_reaper_releases_expired_leases_once(client: httpx.Client, aws_env: None) -> None:
    from shared.maintenance.lease_reaper import tick

    name = _limit(client, 2)
    leases = [
        client.post(
            "/v2/concurrency_limits/increment-with-lease", json={"names": [name], "slots": 1, "lease_duration": 60}
        ).json()
        for _ in range(2)
    ]
    assert _active(client, name) == 2
    # one holder keeps renewing, so only the other lease is past its expiration at +100 s
    renewed = leases[0]["lease_id"]
    assert (
        client.post(f"/v2/concurrency_limits/leases/{renewed}/renew", json={"lease_duration": 600}).status_code == 204
    )
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=100)
    assert tick(now=later).reclaimed >= 1
    assert _active(client, name) == 1
    assert tick(now=later).reclaimed == 0  # the renewed lease is not due; the reaped one is gone
    assert _active(client, name) == 1
    assert client.post(f"/v2/concurrency_limits/leases/{leases[1]['lease_id']}/renew", json={}).status_code == 410
    assert client.post(f"/v2/concurrency_limits/leases/{renewed}/renew", json={}).status_code == 204


def test_cancelling_timeout_cleanup_releases_the_deployment_slot(
    client: httpx.Client, invoke: Callable[[str], Any], short_cancelling_timeout: int
) -> None:
    flow_id = client.post("/flows/", json={"name": f"cc-flow-{uuid.uuid4().hex[:8]}"}).json()["id"]
    deployment = client.post(
        "/deployments/", json={"name": f"cc-{uuid.uuid4().hex[:8]}", "flow_id": flow_id, "concurrency_limit": 1}
    ).json()
    run = client.post(f"/deployments/{deployment['id']}/create_flow_run", json={}).json()["id"]
    for state in ("PENDING", "RUNNING", "CANCELLING"):
        assert client.post(f"/flow_runs/{run}/set_state", json={"state": {"type": state}}).json()["status"] == "ACCEPT"
    limit_name = f"deployment:{deployment['id']}"
    assert _active(client, limit_name) == 1
    time.sleep(short_cancelling_timeout + 0.5)
    assert invoke("cancellation_cleanup")["timed_out"] >= 1
    assert client.get(f"/flow_runs/{run}").json()["state"]["type"] == "CANCELLED"
    assert _active(client, limit_name) == 0
