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


def test_connect_auth_events_disconnect(socket_env: None, client: httpx.Client) -> None:
    from functions.events_socket import handler as module
    from shared.events.apigw_socket import handle

    flow_run = running_flow_run(client)
    task_run_id = str(uuid.uuid4())
    connection_id = f"conn-{uuid.uuid4().hex[:8]}="
    api = StubbedManagementApi()

    connected = module.handler(
        ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"}), LambdaContext()
    )
    assert connected == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "prefect"}}

    api.expect_post(connection_id, {"type": "auth_success"})
    with api.stubber:
        assert handle(
            ws_event("$default", connection_id, json.dumps({"type": "auth", "token": None})), api.factory
        ) == {"statusCode": 200}
        api.stubber.assert_no_pending_responses()
        events = lifecycle(task_run_id, flow_run["id"], utc_now() - datetime.timedelta(seconds=10))
        for event in (events[2], events[0], events[1], events[1]):  # out of order, duplicated: no replies
            assert handle(ws_event("$default", connection_id, json.dumps(event)), api.factory) == {"statusCode": 200}
        assert handle(ws_event("$default", connection_id, "garbage"), api.factory) == {"statusCode": 200}
    assert api.endpoints == ["https://abc123.execute-api.us-east-1.amazonaws.com/prod"]

    recorded(client)  # the stack's stream-fed recorder takes what the Lambda stored
    run = client.get(f"/task_runs/{task_run_id}").json()
    assert run["state_type"] == "COMPLETED" and run["flow_run_id"] == flow_run["id"]
    states = client.get("/task_run_states/", params={"task_run_id": task_run_id}).json()
    assert [s["type"] for s in states] == ["PENDING", "RUNNING", "COMPLETED"]

    assert module.handler(ws_event("$disconnect", connection_id), LambdaContext()) == {"statusCode": 200}
    from shared.storage import events_connections

    assert events_connections.is_authenticated(connection_id) is None


def test_failed_auth_replies_and_closes(socket_env: None) -> None:
    from shared.config import reset_settings_cache
    from shared.events.apigw_socket import handle

    os.environ["SERVERFLOW_API_KEY"] = "s3cret"
    reset_settings_cache()
    try:
        assert handle(ws_event("$connect", "no-proto", headers={})) == {"statusCode": 400}
        assert handle(
            ws_event(
                "$connect", "bad-bearer", headers={"Sec-WebSocket-Protocol": "prefect", "Authorization": "Bearer nope"}
            )
        ) == {"statusCode": 401}

        connection_id = f"conn-{uuid.uuid4().hex[:8]}="
        assert (
            handle(ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"}))["statusCode"]
            == 200
        )
        api = StubbedManagementApi()
        api.expect_post(connection_id, {"type": "auth_failure", "reason": "Invalid token"})
        api.expect_delete(connection_id)
        with api.stubber:
            handle(ws_event("$default", connection_id, json.dumps({"type": "auth", "token": "wrong"})), api.factory)
            api.stubber.assert_no_pending_responses()

        good = f"conn-{uuid.uuid4().hex[:8]}="
        handle(ws_event("$connect", good, headers={"Sec-WebSocket-Protocol": "prefect"}))
        api = StubbedManagementApi()
        api.expect_post(good, {"type": "auth_success"})
        with api.stubber:
            handle(ws_event("$default", good, json.dumps({"type": "auth", "token": "s3cret"})), api.factory)
            api.stubber.assert_no_pending_responses()
        from shared.storage import events_connections

        assert events_connections.is_authenticated(good) is True
    finally:
        os.environ.pop("SERVERFLOW_API_KEY", None)
        reset_settings_cache()


def _socket_calls() -> tuple[list[tuple[str, str]], Any]:
    """(operation, PK) of every DynamoDB call on the connection items, and a function that stops recording."""
    from shared.storage.table import TableItem

    calls: list[tuple[str, str]] = []
    events = TableItem._get_connection().connection.client.meta.events

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        pk = str(((params.get("Key") or params.get("Item") or {}).get("PK") or {}).get("S", ""))
        if pk.startswith(("EVENTS_SOCKET#", "SUBSCRIPTION")):
            calls.append((model.name, pk))

    events.register("provide-client-params.dynamodb", note)
    return calls, lambda: events.unregister("provide-client-params.dynamodb", note)


def test_a_connection_costs_one_put_and_one_delete(socket_env: None, client: httpx.Client) -> None:
    """Issue #13: the auth message reads the connection and marks it authenticated, later frames do not read it
    again (this container knows), and $disconnect of an /events/in connection deletes it in one call (there is
    no subscription to look for)."""
    from functions.events_socket import handler as module
    from shared.events.apigw_socket import handle

    flow_run = running_flow_run(client)
    connection_id = f"conn-{uuid.uuid4().hex[:8]}="
    api = StubbedManagementApi()
    calls, stop = _socket_calls()
    try:
        module.handler(
            ws_event("$connect", connection_id, headers={"Sec-WebSocket-Protocol": "prefect"}), LambdaContext()
        )
        api.expect_post(connection_id, {"type": "auth_success"})
        with api.stubber:
            handle(ws_event("$default", connection_id, json.dumps({"type": "auth", "token": None})), api.factory)
            for event in lifecycle(str(uuid.uuid4()), flow_run["id"], utc_now()):
                handle(ws_event("$default", connection_id, json.dumps(event)), api.factory)
        module.handler(ws_event("$disconnect", connection_id), LambdaContext())
    finally:
        stop()
    key = f"EVENTS_SOCKET#{connection_id}"
    # The auth frame reads the connection (another container may have answered $connect); the reference wants
    # the auth message first even with no key, so the item records that it came.
    assert calls == [("PutItem", key), ("GetItem", key), ("UpdateItem", key), ("DeleteItem", key)]
