"""functions/events_socket driven with API Gateway WebSocket events; replies stubbed, DynamoDB real (emulator)."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from tests.lambda_support import LambdaContext
from tests.support.events import lifecycle, recorded, running_flow_run, utc_now


@pytest.fixture(scope="module")
def socket_env(aws_endpoint_url: str) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(
        SERVERFLOW_AWS_ENDPOINT_URL=aws_endpoint_url,
        SERVERFLOW_TABLE="serverflow",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    os.environ.pop("SERVERFLOW_API_KEY", None)
    from shared.config import reset_settings_cache
    from shared.storage.table import configure_table

    reset_settings_cache()
    configure_table()
    yield
    os.environ.clear()
    os.environ.update(saved)
    reset_settings_cache()
    configure_table()


def ws_event(
    route: str, connection_id: str, body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection_id,
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "stage": "prod",
            "apiId": "abc123",
            "requestId": str(uuid.uuid4()),
            "connectedAt": 0,
        },
        "isBase64Encoded": False,
    }
    if headers is not None:
        event["headers"] = headers
    if body is not None:
        event["body"] = body
    return event


class StubbedManagementApi:
    """A real boto3 apigatewaymanagementapi client with Stubber expectations."""

    def __init__(self) -> None:
        self.endpoints: list[str] = []
        self.client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url="https://abc123.execute-api.us-east-1.amazonaws.com/prod",
            region_name="us-east-1",
        )
        self.stubber = Stubber(self.client)

    def factory(self, endpoint_url: str) -> Any:
        self.endpoints.append(endpoint_url)
        return self.client

    def expect_post(self, connection_id: str, message: dict[str, Any]) -> None:
        self.stubber.add_response(
            "post_to_connection", {}, {"ConnectionId": connection_id, "Data": json.dumps(message).encode()}
        )

    def expect_delete(self, connection_id: str) -> None:
        self.stubber.add_response("delete_connection", {}, {"ConnectionId": connection_id})


def _socket_calls() -> tuple[list[tuple[str, str, bool]], Any]:
    """(operation, PK, consistent) of every DynamoDB call on the connection items, and a function that stops
    recording."""
    from shared.storage.table import TableItem

    calls: list[tuple[str, str, bool]] = []
    events = TableItem._get_connection().connection.client.meta.events

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        pk = str(((params.get("Key") or params.get("Item") or {}).get("PK") or {}).get("S", ""))
        if pk.startswith(("EVENTS_SOCKET#", "SUBSCRIPTION")):
            calls.append((model.name, pk, bool(params.get("ConsistentRead"))))

    events.register("provide-client-params.dynamodb", note)
    return calls, lambda: events.unregister("provide-client-params.dynamodb", note)


def _auth(token: str | None) -> str:
    return json.dumps({"type": "auth", "token": token})


def test_an_events_in_connection_writes_nothing(socket_env: None, client: httpx.Client) -> None:
    """Issue #13, no API key: connect, auth message, event frames and disconnect write no connection item (the
    auth message reads it once, consistently; a $disconnect in another container reads it once, eventually
    consistently), and the events are stored."""
    from functions.events_socket import handler as module
    from shared.events import apigw_socket
    from shared.events.apigw_socket import handle

    flow_run = running_flow_run(client)
    task_run_id = str(uuid.uuid4())
    connection_id = f"conn-{uuid.uuid4().hex[:8]}="
    key = f"EVENTS_SOCKET#{connection_id}"
    api = StubbedManagementApi()
    calls, stop = _socket_calls()
    try:
        connected = module.handler(
            ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"}), LambdaContext()
        )
        assert connected == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "prefect"}}
        assert calls == []
        api.expect_post(connection_id, {"type": "auth_success"})
        with api.stubber:
            assert handle(ws_event("$default", connection_id, _auth(None)), api.factory) == {"statusCode": 200}
            api.stubber.assert_no_pending_responses()
            events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=10))
            for event in (events[2], events[0], events[1], events[1]):  # out of order, duplicated: no replies
                assert handle(ws_event("$default", connection_id, json.dumps(event)), api.factory) == {
                    "statusCode": 200
                }
            assert handle(ws_event("$default", connection_id, "garbage"), api.factory) == {"statusCode": 200}
        assert api.endpoints == ["https://abc123.execute-api.us-east-1.amazonaws.com/prod"]
        assert calls == [("GetItem", key, True)]  # later frames: this container remembers the connection
        apigw_socket._authenticated.pop(connection_id)  # as if $disconnect ran in another container
        assert module.handler(ws_event("$disconnect", connection_id), LambdaContext()) == {"statusCode": 200}

        warm = f"conn-{uuid.uuid4().hex[:8]}="  # a $disconnect in the container that took the auth message
        handle(ws_event("$connect", warm, headers={"Sec-WebSocket-Protocol": "prefect"}))
        api.expect_post(warm, {"type": "auth_success"})
        with api.stubber:
            handle(ws_event("$default", warm, _auth(None)), api.factory)
        handle(ws_event("$disconnect", warm))
    finally:
        stop()
    assert calls == [("GetItem", key, True), ("GetItem", key, False), ("GetItem", f"EVENTS_SOCKET#{warm}", True)]

    recorded(client)  # the stack's stream-fed recorder takes what the Lambda stored
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED" and run["flow_run_id"] == flow_run["id"]
    states = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["type"] for s in states] == ["PENDING", "RUNNING", "COMPLETED"]


@pytest.fixture
def keyed(socket_env: None) -> Iterator[None]:
    from shared.config import reset_settings_cache

    os.environ["SERVERFLOW_API_KEY"] = "s3cret"
    reset_settings_cache()
    try:
        yield
    finally:
        os.environ.pop("SERVERFLOW_API_KEY", None)
        reset_settings_cache()


def test_with_an_api_key_only_the_key_gets_in(keyed: None) -> None:
    """A connection opened without the key keeps an unauthenticated item that every frame finds until the auth
    message carries the key (a refused one keeps it until its TTL, so a frame still in flight is refused too);
    one whose upgrade carried the key writes nothing."""
    from shared.events.apigw_socket import handle
    from shared.storage import events_connections

    assert handle(ws_event("$connect", "no-proto", headers={})) == {"statusCode": 400}
    for wrong in ("Bearer no", "Basic bm8=", "Basic %%%"):
        headers = {"Sec-WebSocket-Protocol": "prefect", "Authorization": wrong}
        assert handle(ws_event("$connect", "wrong-key", headers=headers)) == {"statusCode": 401}, wrong

    intruder = f"conn-{uuid.uuid4().hex[:8]}="
    assert handle(ws_event("$connect", intruder, headers={"Sec-WebSocket-Protocol": "prefect"}))["statusCode"] == 200
    event = json.dumps(lifecycle(str(uuid.uuid4()), None, utc_now())[0])
    api = StubbedManagementApi()
    api.expect_post(intruder, {"type": "auth_failure", "reason": "Invalid token"})
    api.expect_delete(intruder)
    for _ in range(2):  # an event frame in flight after the refusal is refused as well
        api.expect_post(intruder, {"type": "auth_failure", "reason": "Expected 'auth' message"})
        api.expect_delete(intruder)
    with api.stubber:
        handle(ws_event("$default", intruder, _auth("wrong")), api.factory)
        handle(ws_event("$default", intruder, event), api.factory)
        handle(ws_event("$disconnect", intruder))
        handle(ws_event("$default", intruder, event), api.factory)
        api.stubber.assert_no_pending_responses()
    assert events_connections.read_state(intruder) == (False, "events-in")  # left to its TTL

    good = f"conn-{uuid.uuid4().hex[:8]}="
    handle(ws_event("$connect", good, headers={"Sec-WebSocket-Protocol": "prefect"}))
    api = StubbedManagementApi()
    api.expect_post(good, {"type": "auth_success"})
    with api.stubber:
        handle(ws_event("$default", good, _auth("s3cret")), api.factory)
        api.stubber.assert_no_pending_responses()
    assert events_connections.read_state(good) == (True, "events-in")

    # The upgrade carried the key: our SDK's bearer header, the prefect client's basic one (its auth string).
    carried = {f"conn-{uuid.uuid4().hex[:8]}=": header for header in ("Bearer s3cret", "Basic czNjcmV0")}
    calls, stop = _socket_calls()
    try:
        for connection_id, authorization in carried.items():
            headers = {"Sec-WebSocket-Protocol": "prefect", "Authorization": authorization}
            assert handle(ws_event("$connect", connection_id, headers=headers))["statusCode"] == 200
            api = StubbedManagementApi()
            api.expect_post(connection_id, {"type": "auth_success"})
            with api.stubber:
                handle(ws_event("$default", connection_id, _auth(None)), api.factory)
                handle(ws_event("$default", connection_id, event), api.factory)
                api.stubber.assert_no_pending_responses()
            handle(ws_event("$disconnect", connection_id))
    finally:
        stop()
    assert calls == [("GetItem", f"EVENTS_SOCKET#{connection_id}", True) for connection_id in carried]


def test_replies_of_a_container_go_through_one_management_client(socket_env: None) -> None:
    """The Lambda handler's replies (here two connections' auth replies) reuse the container's client for the
    endpoint (~4 ms of CPU to build one): stubbing that client answers both, a client built per invocation would
    call the (unreachable) endpoint. Another endpoint gets its own client."""
    from functions.events_socket import handler as module
    from shared.events.connections_out import management_api

    endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert management_api(endpoint) is management_api(endpoint)
    assert management_api("https://other.execute-api.us-east-1.amazonaws.com/prod") is not management_api(endpoint)
    connections = [f"conn-{uuid.uuid4().hex[:8]}=" for _ in range(2)]
    with Stubber(management_api(endpoint)) as stubber:
        for connection_id in connections:
            stubber.add_response(
                "post_to_connection", {}, {"ConnectionId": connection_id, "Data": b'{"type": "auth_success"}'}
            )
            headers = {"Sec-WebSocket-Protocol": "prefect"}
            assert (
                module.handler(ws_event("$connect", connection_id, headers=headers), LambdaContext())["statusCode"]
                == 200
            )
            assert module.handler(ws_event("$default", connection_id, _auth(None)), LambdaContext()) == {
                "statusCode": 200
            }
        stubber.assert_no_pending_responses()
    for connection_id in connections:
        module.handler(ws_event("$disconnect", connection_id), LambdaContext())
