"""Issue #14: no request may store something that later fails to read back, and a bad stored
item never fails a whole filter. One test per finding, all through HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from tests.support.api import make_flow, make_run

LIMIT = 64  # shared/schemas/json_limits.MAX_JSON_DEPTH, named in every refusal


def nested(depth: int) -> Any:
    """A JSON value `depth` levels deep (lists in dicts), built without recursion."""
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def nested_text(depth: int) -> str:
    """The same as json.dumps(nested(depth)), for depths the client's own encoder cannot reach."""
    opens = ["[" if level % 2 else '{"k":' for level in range(depth)]
    closes = ["]" if level % 2 else "}" for level in range(depth)]
    return "".join(reversed(opens)) + "1" + "".join(closes)


def test_nested_text_matches_nested() -> None:
    import json

    assert json.loads(nested_text(7)) == nested(7)


def assert_too_deep(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text[:500]
    assert f"limit of {LIMIT}" in response.text, response.text[:500]


def test_labels_values_must_be_scalars_as_in_the_reference(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    refused = client.patch(f"/flow_runs/{run['id']}/labels", json={"x": [1]})
    assert refused.status_code == 422, refused.text
    assert client.patch(f"/flow_runs/{run['id']}/labels", json={"x": 1, "y": "z"}).status_code == 204
    read = client.get(f"/flow_runs/{run['id']}")
    assert read.status_code == 200
    assert read.json()["labels"]["x"] == 1
    assert client.post("/flow_runs/filter", json={}).status_code == 200


@pytest.mark.parametrize("depth", [LIMIT + 1, 200, 300, 10_000])
def test_deep_flow_run_parameters_are_refused_naming_the_limit(client: httpx.Client, depth: int) -> None:
    flow = make_flow(client)
    body = '{"flow_id": "%s", "parameters": {"p": %s}}' % (flow["id"], nested_text(depth))
    assert_too_deep(client.post("/flow_runs/", content=body, headers={"content-type": "application/json"}))
    assert client.post("/flow_runs/filter", json={}).status_code == 200
    assert client.post("/flow_runs/count", json={}).status_code == 200


def test_json_just_within_the_limit_is_stored_and_reads_back(client: httpx.Client) -> None:
    flow = make_flow(client)
    # The request body adds two levels ({"parameters": {"p": ...}}).
    run = make_run(client, flow["id"], parameters={"p": nested(LIMIT - 2)})
    read = client.get(f"/flow_runs/{run['id']}")
    assert read.status_code == 200
    assert read.json()["parameters"] == {"p": nested(LIMIT - 2)}
    assert run["id"] in [
        r["id"] for r in client.post("/flow_runs/filter", json={"flows": {"id": {"any_": [flow["id"]]}}}).json()
    ]


def test_every_stored_json_field_has_the_same_bound(client: httpx.Client) -> None:
    flow = make_flow(client)
    run = make_run(client, flow["id"])
    deep = nested(300)
    assert_too_deep(
        client.post("/deployments/", json={"flow_id": flow["id"], "name": "deep", "parameters": {"p": deep}})
    )
    assert_too_deep(
        client.post("/deployments/", json={"flow_id": flow["id"], "name": "deep", "job_variables": {"p": deep}})
    )
    assert_too_deep(client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING", "data": deep}}))
    assert_too_deep(client.post("/artifacts/", json={"data": deep}))
    event = {
        "occurred": "2026-01-01T00:00:00Z",
        "event": "deep",
        "resource": {"prefect.resource.id": "x"},
        "id": str(uuid.uuid4()),
        "payload": {"p": deep},
    }
    assert_too_deep(client.post("/events", json=[event]))
    assert_too_deep(client.patch(f"/flow_runs/{run['id']}", json={"job_variables": {"p": deep}}))
    # Nothing was stored: the run still reads and re-states.
    assert client.get(f"/flow_runs/{run['id']}").status_code == 200


def test_an_oversized_chunked_body_is_413_not_500(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 10_000  # 1 MB, past the 350 KB limit, with no content-length
        yield b'"}'

    response = client.post("/flows/", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_simple_cross_origin_request_cannot_bulk_delete(client: httpx.Client, content_type: str) -> None:
    """Browsers send these without a preflight: they must not reach a mutating route (CSRF)."""
    flow = make_flow(client)
    response = client.post("/flows/bulk_delete", content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415, response.text
    assert client.get(f"/flows/{flow['id']}").status_code == 200
    no_type = client.post("/flows/bulk_delete", content=b"{}", headers={"content-type": ""})
    assert no_type.status_code == 415, no_type.text
    assert client.get(f"/flows/{flow['id']}").status_code == 200


def _table(aws_endpoint_url: str) -> Any:
    creds = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.resource("dynamodb", endpoint_url=aws_endpoint_url, **creds).Table("serverflow")


def test_a_bad_stored_item_is_skipped_never_failing_a_filter_or_a_bulk_delete(
    client: httpx.Client, aws_endpoint_url: str
) -> None:
    """A run whose stored body no longer validates (written by an older version, or by hand)."""
    flow = make_flow(client)
    good = make_run(client, flow["id"])
    bad = make_run(client, flow["id"])
    _table(aws_endpoint_url).update_item(
        Key={"PK": f"FLOW_RUN#{bad['id']}", "SK": "#META"},
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": '{"id": "' + bad["id"] + '", "labels": {"x": [1]}}'},
    )
    by_flow = {"flows": {"id": {"any_": [flow["id"]]}}}
    found = client.post("/flow_runs/filter", json=by_flow)
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()] == [good["id"]]
    assert client.post("/flow_runs/count", json=by_flow).status_code == 200
    deleted = client.post("/flows/bulk_delete", json={"flows": {"id": {"any_": [flow["id"]]}}})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] == [flow["id"]]
    assert client.get(f"/flow_runs/{good['id']}").status_code == 404
    # The unreadable run went with its flow too (deleted by key).
    assert "Item" not in _table(aws_endpoint_url).get_item(Key={"PK": f"FLOW_RUN#{bad['id']}", "SK": "#META"})


@pytest.mark.parametrize("key", ["../../etc/passwd", "results/../../x.json", "a\\..\\..\\b", "x\u0000y"])
def test_a_result_storage_key_cannot_climb_out_of_its_root(client: httpx.Client, key: str) -> None:
    run = make_run(client, make_flow(client)["id"])
    data = {"storage_key": key, "serializer": {"type": "json"}, "storage_block_id": None, "expiration": None}
    refused = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "COMPLETED", "data": data}})
    assert refused.status_code == 422, refused.text
    assert "storage_key" in refused.text
    # Full paths are what the reference client writes for local results: still accepted.
    data["storage_key"] = "/root/.prefect/storage/3f2a"
    accepted = client.post(
        f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "COMPLETED", "data": data}, "force": True}
    )
    assert accepted.status_code in (200, 201), accepted.text
