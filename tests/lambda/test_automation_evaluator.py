"""functions/automation_triggers driven with DynamoDB stream batches (DynamoDB real, emulator):
the same batch evaluated by four concurrent invocations, then redelivered, fires once;
bucketed counting per for_each key; a sequence trigger fires only in order."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.aws_env import stack_aws_env
from tests.lambda_support import LambdaContext


@pytest.fixture
def aws(aws_endpoint_url: str) -> Iterator[None]:
    with stack_aws_env(aws_endpoint_url):
        yield


def _record(event: Any) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"entity": {"S": "event"}, "body": {"S": event.model_dump_json()}}},
    }


def _event(name: str, resource: str, seconds_ago: float = 0) -> Any:
    from shared.schemas.events import Event

    occurred = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds_ago)
    return Event.model_validate(
        {
            "id": str(uuid.uuid4()),
            "occurred": occurred.isoformat(),
            "event": name,
            "resource": {"prefect.resource.id": resource},
        }
    ).receive()


def _executed(client: httpx.Client, automation_id: str) -> int:
    body = {
        "filter": {
            "event": {"name": ["prefect.automation.action.executed"]},
            "resource": {"id": [f"prefect.automation.{automation_id}"]},
        },
        "limit": 50,
    }
    return int(client.post("/events/filter", json=body).json()["total"])


def _create(client: httpx.Client, trigger: dict[str, Any]) -> str:
    created = client.post(
        "/automations/",
        json={"name": f"eval-{uuid.uuid4().hex[:6]}", "trigger": trigger, "actions": [{"type": "do-nothing"}]},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _settle(client: httpx.Client, automation_id: str, expected: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _executed(client, automation_id) < expected:
        time.sleep(0.2)
    time.sleep(1)
    return _executed(client, automation_id)


def test_concurrent_and_redelivered_batches_fire_once(aws: None, client: httpx.Client) -> None:
    from functions.automation_triggers.handler import handler

    tag = uuid.uuid4().hex[:8]
    automation_id = _create(client, {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.go"]})
    batch = {"Records": [_record(_event(f"test.{tag}.go", f"r.{tag}"))]}
    threads = [threading.Thread(target=handler, args=(batch, LambdaContext())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    handler(batch, LambdaContext())  # redelivery after a "crash"
    assert _settle(client, automation_id, 1) == 1


def test_threshold_counts_per_for_each_key(aws: None, client: httpx.Client) -> None:
    from functions.automation_triggers.handler import handler

    tag = uuid.uuid4().hex[:8]
    automation_id = _create(
        client,
        {
            "type": "event",
            "posture": "Reactive",
            "expect": [f"test.{tag}.tick"],
            "for_each": ["prefect.resource.id"],
            "threshold": 3,
            "within": 60,
        },
    )
    # Two ticks each for a and b (no firing), then a third for a (fires for a only); a redelivered
    # tick of b is not counted again.
    events = [
        _event(f"test.{tag}.tick", f"a.{tag}"),
        _event(f"test.{tag}.tick", f"b.{tag}"),
        _event(f"test.{tag}.tick", f"a.{tag}"),
        _event(f"test.{tag}.tick", f"b.{tag}"),
    ]
    handler({"Records": [_record(e) for e in events]}, LambdaContext())
    handler({"Records": [_record(events[1])]}, LambdaContext())
    assert _settle(client, automation_id, 0) == 0
    handler({"Records": [_record(_event(f"test.{tag}.tick", f"a.{tag}"))]}, LambdaContext())
    assert _settle(client, automation_id, 1) == 1


def test_sequence_fires_only_in_order(aws: None, client: httpx.Client) -> None:
    from functions.automation_triggers.handler import handler

    tag = uuid.uuid4().hex[:8]
    child = lambda name: {"type": "event", "posture": "Reactive", "expect": [f"test.{tag}.{name}"]}  # noqa: E731 - a one-line trigger factory
    automation_id = _create(client, {"type": "sequence", "within": 60, "triggers": [child("first"), child("second")]})
    handler({"Records": [_record(_event(f"test.{tag}.second", "r"))]}, LambdaContext())
    time.sleep(0.05)
    handler({"Records": [_record(_event(f"test.{tag}.first", "r"))]}, LambdaContext())
    assert _settle(client, automation_id, 0) == 0  # second then first: out of order
    time.sleep(0.05)
    handler({"Records": [_record(_event(f"test.{tag}.second", "r"))]}, LambdaContext())
    assert _settle(client, automation_id, 1) == 1  # first, then second
