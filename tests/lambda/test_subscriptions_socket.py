"""/events/out on AWS: the API Gateway WebSocket Lambda (auth, filter, backfill) and the
stream-fed fan-out Lambda posting through @connections; a GoneException drops the
subscription. DynamoDB is the emulator; the management API is a recording fake."""

from __future__ import annotations

import datetime
import importlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.aws_env import stack_aws_env
from tests.lambda_support import LambdaContext

# `lambda` is a keyword: the sibling module's event builder is imported by name.
ws_event = importlib.import_module("tests.lambda.test_events_socket").ws_event


@pytest.fixture
def aws(aws_endpoint_url: str) -> Iterator[None]:
    with stack_aws_env(
        aws_endpoint_url,
        SERVERFLOW_EVENTS_SOCKET_MANAGEMENT_URL="https://abc123.execute-api.us-east-1.amazonaws.com/prod",
    ):
        yield


class RecordingApi:
    """Stands in for apigatewaymanagementapi: records posts; ids in `gone` answer GoneException."""

    def __init__(self, gone: set[str] | None = None) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[str] = []
        self.gone = gone or set()

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        if ConnectionId in self.gone:
            raise ClientError({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")
        self.posts.append((ConnectionId, json.loads(Data)))
        return {}

    def delete_connection(self, ConnectionId: str) -> dict[str, Any]:  # noqa: N803 - boto3's keyword name
        self.deleted.append(ConnectionId)
        return {}


def _event(name: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "occurred": datetime.datetime.now(datetime.UTC).isoformat(),
        "event": name,
        "resource": {"prefect.resource.id": "r"},
    }


def _stream_record(entity: str, body: str, event_name: str = "INSERT") -> dict[str, Any]:
    return {
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"NewImage": {"entity": {"S": entity}, "body": {"S": body}}},
    }


def test_out_channel_subscribes_backfills_and_fans_out(aws: None, client: httpx.Client) -> None:
    from functions.events_socket import handler as socket_module
    from functions.subscriptions_fanout import handler as fanout_module
    from shared.events import connections_out
    from shared.events.apigw_socket import handle
    from shared.schemas.events import Event
    from shared.storage import subscriptions

    tag = uuid.uuid4().hex[:8]
    earlier = _event(f"test.{tag}.one")
    assert client.post("/events", json=[earlier]).status_code == 204
    connection_id = f"out-{tag}="
    api = RecordingApi()
    connect = ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"})
    connect["queryStringParameters"] = {"serverflow-channel": "events-out"}
    assert socket_module.handler(connect, LambdaContext())["statusCode"] == 200
    handle(ws_event("$default", connection_id, json.dumps({"type": "auth", "token": None})), lambda _: api)
    handle(
        ws_event(
            "$default", connection_id, json.dumps({"type": "filter", "filter": {"event": {"prefix": [f"test.{tag}"]}}})
        ),
        lambda _: api,
    )
    assert api.posts[0] == (connection_id, {"type": "auth_success"})
    assert [(c, f["event"]["id"]) for c, f in api.posts[1:]] == [(connection_id, earlier["id"])]  # the backfill

    live = Event.model_validate(_event(f"test.{tag}.two")).receive()
    other = Event.model_validate(_event("test.elsewhere")).receive()
    records = [
        _stream_record("event", live.model_dump_json()),
        _stream_record("event", other.model_dump_json()),
        _stream_record("flow_run", "{}"),
    ]
    fake = RecordingApi()
    original = connections_out.apigw_poster
    connections_out.apigw_poster = lambda endpoint, client=None: original(endpoint, fake)
    try:
        fanout_module.handler({"Records": records}, LambdaContext())
        assert [(c, f["event"]["id"]) for c, f in fake.posts if c == connection_id] == [(connection_id, str(live.id))]
        # The same connection gone: its subscription is dropped on the next post.
        fake.gone.add(connection_id)
        again = Event.model_validate(_event(f"test.{tag}.three")).receive()
        fanout_module.handler({"Records": [_stream_record("event", again.model_dump_json())]}, LambdaContext())
    finally:
        connections_out.apigw_poster = original
    assert connection_id not in [s.connection_id for s in subscriptions.of_channel("events")]


def test_invalid_filter_closes_and_disconnect_cleans_up(aws: None) -> None:
    from functions.events_socket import handler as socket_module
    from shared.events.apigw_socket import handle
    from shared.storage import events_connections, subscriptions

    connection_id = f"bad-{uuid.uuid4().hex[:8]}="
    api = RecordingApi()
    connect = ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"})
    connect["queryStringParameters"] = {"serverflow-channel": "logs-out"}
    socket_module.handler(connect, LambdaContext())
    handle(ws_event("$default", connection_id, json.dumps({"type": "auth", "token": None})), lambda _: api)
    handle(ws_event("$default", connection_id, json.dumps({"type": "nope"})), lambda _: api)
    assert api.deleted == [connection_id]
    # The item stays for the $disconnect that API Gateway sends after the close (a frame in flight finds it).
    assert events_connections.read_state(connection_id) == (True, "logs-out")
    socket_module.handler(ws_event("$disconnect", connection_id), LambdaContext())
    assert events_connections.read_state(connection_id) is None

    good = f"good-{uuid.uuid4().hex[:8]}="
    connect = ws_event("$connect", good, headers={"Sec-WebSocket-Protocol": "prefect"})
    connect["queryStringParameters"] = {"serverflow-channel": "logs-out"}
    socket_module.handler(connect, LambdaContext())
    handle(ws_event("$default", good, json.dumps({"type": "auth", "token": None})), lambda _: api)
    handle(ws_event("$default", good, json.dumps({"type": "filter", "filter": {}})), lambda _: api)
    assert good in [s.connection_id for s in subscriptions.of_channel("logs")]
    socket_module.handler(ws_event("$disconnect", good), LambdaContext())
    assert good not in [s.connection_id for s in subscriptions.of_channel("logs")]
    assert events_connections.read_state(good) is None


def _wait_for_the_stacks_fanout(client: httpx.Client, tag: str) -> None:
    """The running stack's own fan-out reads the same table stream as this test's in-process handlers. Let it
    pass everything written so far before workers subscribe here: otherwise it may claim this test's run and
    post it to connection ids only this process knows (gone, for the stack), dropping those workers. The
    sentinel: a worker that only this process knows subscribes to a fresh key, a run is queued for that key
    (after everything so far, on the ordered stream), and the stack's fan-out, once it gets there, finds the
    worker gone and drops its subscription."""
    from functions.events_socket import handler as socket_module
    from shared.events.apigw_socket import handle
    from shared.events.task_subscriptions import CHANNEL
    from shared.storage import subscriptions

    sentinel_key, connection_id = f"tests.sentinel-{tag}", f"sentinel-{tag}="
    connect = ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"})
    connect["queryStringParameters"] = {"serverflow-channel": "task-runs"}
    socket_module.handler(connect, LambdaContext())
    api = RecordingApi()
    handle(ws_event("$default", connection_id, json.dumps({"type": "auth", "token": None})), lambda _: api)
    subscribe = {"type": "subscribe", "keys": [sentinel_key], "client_id": f"sentinel-{tag}"}
    handle(ws_event("$default", connection_id, json.dumps(subscribe)), lambda _: api)
    scheduled = {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"deferred": True}}
    sentinel = {"name": "sentinel", "task_key": sentinel_key, "dynamic_key": tag, "state": scheduled}
    assert client.post("/task_runs/", json=sentinel).status_code == 201
    deadline = time.monotonic() + 30
    while connection_id in [s.connection_id for s in subscriptions.of_channel(CHANNEL)]:
        assert time.monotonic() < deadline, "the stack's fan-out did not reach the sentinel run in 30 s"
        time.sleep(0.05)


def test_task_worker_channel_gets_each_queued_run_once(aws: None, client: httpx.Client) -> None:
    """Runs queued before the workers subscribe reach exactly one of them (backlog drain
    claims); a redelivered stream record of an already delivered run posts nothing."""
    from functions.events_socket import handler as socket_module
    from functions.subscriptions_fanout import handler as fanout_module
    from shared.events import connections_out
    from shared.events.apigw_socket import handle
    from shared.storage import task_queue, task_workers

    tag = uuid.uuid4().hex[:8]
    task_key = f"tests.record-{tag}"
    scheduled = {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"deferred": True}}
    created = client.post(
        "/task_runs/", json={"name": "r", "task_key": task_key, "dynamic_key": tag, "state": scheduled}
    )
    assert created.status_code == 201, created.text
    queued = task_queue.backlog(task_key)
    assert [q.task_run.id for q in queued] == [uuid.UUID(created.json()["id"])]  # no worker yet: it waits
    _wait_for_the_stacks_fanout(client, tag)

    api = RecordingApi()
    workers = [f"worker-{n}-{tag}=" for n in range(2)]
    for n, connection_id in enumerate(workers):
        connect = ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"})
        connect["queryStringParameters"] = {"serverflow-channel": "task-runs"}
        socket_module.handler(connect, LambdaContext())
        handle(ws_event("$default", connection_id, json.dumps({"type": "auth", "token": None})), lambda _: api)
        handle(
            ws_event(
                "$default",
                connection_id,
                json.dumps({"type": "subscribe", "keys": [task_key], "client_id": f"client-{n}-{tag}"}),
            ),
            lambda _: api,
        )
    assert {f"client-{n}-{tag}" for n in range(2)} <= {w.identifier for w in task_workers.active([task_key])}
    delivered = [(c, f["id"]) for c, f in api.posts if "id" in f]
    assert delivered == [(workers[0], created.json()["id"])]
    assert task_queue.backlog(task_key) == []

    record = {
        "eventName": "INSERT",
        "dynamodb": {
            "NewImage": {
                "PK": {"S": f"TASK_QUEUE#{task_key}"},
                "SK": {"S": queued[0].position},
                "entity": {"S": "task_queue"},
                "body": {"S": queued[0].task_run.model_dump_json()},
            }
        },
    }
    fake = RecordingApi()
    original = connections_out.apigw_poster
    connections_out.apigw_poster = lambda endpoint, client=None: original(endpoint, fake)
    try:
        fanout_module.handler({"Records": [record]}, LambdaContext())  # redelivered: already claimed
    finally:
        connections_out.apigw_poster = original
    assert fake.posts == []
    # An ack is accepted silently; a disconnect forgets the worker.
    handle(ws_event("$default", workers[0], json.dumps({"type": "ack"})), lambda _: api)
    for connection_id in workers:
        socket_module.handler(ws_event("$disconnect", connection_id), LambdaContext())
    assert not {f"client-{n}-{tag}" for n in range(2)} & {w.identifier for w in task_workers.active([task_key])}
