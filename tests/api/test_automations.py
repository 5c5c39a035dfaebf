"""/automations over HTTP on the local stack: CRUD, the reference's validation, filter /
count, related-to and owned-by; and the real client's SDK and deploy triggers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.prefect_env import run_script


def _automation(tag: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"auto-{tag}",
        "trigger": {
            "type": "event",
            "posture": "Reactive",
            "expect": [f"test.{tag}"],
            "match": {"prefect.resource.id": "r.*"},
        },
        "actions": [{"type": "do-nothing"}],
        "tags": [f"t-{tag}"],
    }
    body.update(overrides)
    return body


def test_create_read_update_patch_delete(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    sent = _automation(tag)
    sent["trigger"]["id"] = str(uuid.uuid4())  # client ids are replaced
    created = client.post("/automations/", json=sent)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["trigger"]["id"] != sent["trigger"]["id"]
    assert body["trigger"]["within"] == 0.0 and body["trigger"]["threshold"] == 1 and body["enabled"] is True
    automation_id = body["id"]
    assert client.get(f"/automations/{automation_id}").json() == body

    replaced = _automation(tag, name=f"renamed-{tag}", description="d")
    assert client.put(f"/automations/{automation_id}", json=replaced).status_code == 204
    after = client.get(f"/automations/{automation_id}").json()
    assert (after["name"], after["description"], after["created"]) == (f"renamed-{tag}", "d", body["created"])

    assert client.patch(f"/automations/{automation_id}", json={"enabled": False}).status_code == 204
    assert client.get(f"/automations/{automation_id}").json()["enabled"] is False

    assert client.delete(f"/automations/{automation_id}").status_code == 204
    assert client.get(f"/automations/{automation_id}").status_code == 404
    assert client.delete(f"/automations/{automation_id}").status_code == 404
    assert client.put(f"/automations/{automation_id}", json=replaced).status_code == 404
    assert client.patch(f"/automations/{automation_id}", json={"enabled": True}).status_code == 404


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "event", "posture": "Sideways"},
        {"type": "event", "posture": "Reactive", "within": -5},
        {"type": "event", "posture": "Proactive", "within": 5},
        {"type": "event", "posture": "Reactive", "match": {"prefect.resource.id": 5}},
        {"type": "event", "posture": "Reactive", "match": "everything"},
        {"type": "compound", "require": 3, "triggers": [{"type": "event", "posture": "Reactive"}]},
        {"type": "compound", "require": 0, "triggers": [{"type": "event", "posture": "Reactive"}]},
        {"type": "nonsense"},
    ],
)
def test_invalid_triggers_are_422_with_a_detail(client: httpx.Client, trigger: dict[str, Any]) -> None:
    response = client.post("/automations/", json=_automation("bad", trigger=trigger))
    assert response.status_code == 422, response.text
    assert response.json()["exception_detail"]


def test_invalid_actions_are_422(client: httpx.Client) -> None:
    for action in (
        {"type": "run-deployment", "source": "selected"},  # no deployment
        {"type": "run-deployment", "source": "inferred", "deployment_id": str(uuid.uuid4())},
        {"type": "explode"},
        {"type": "change-flow-run-state"},  # no state
    ):
        assert client.post("/automations/", json=_automation("bad", actions=[action])).status_code == 422, action
    loop = _automation(
        "loop",
        trigger={"type": "event", "posture": "Reactive", "expect": ["prefect.flow-run.Running"]},
        actions=[{"type": "run-deployment", "source": "selected", "deployment_id": str(uuid.uuid4())}],
    )
    response = client.post("/automations/", json=loop)
    assert response.status_code == 422 and "infinite loop" in response.text


def test_proactive_within_defaults_to_ten_seconds(client: httpx.Client) -> None:
    created = client.post(
        "/automations/", json=_automation("pro", trigger={"type": "event", "posture": "Proactive", "expect": ["x"]})
    ).json()
    assert created["trigger"]["within"] == 10.0
    client.delete(f"/automations/{created['id']}")


def test_filter_count_and_sort(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [client.post("/automations/", json=_automation(tag, name=f"{letter}-{tag}")).json()["id"] for letter in "bac"]
    mine = {"tags": {"all_": [f"t-{tag}"]}}
    names = [a["name"] for a in client.post("/automations/filter", json={"automations": mine}).json()]
    assert names == [f"a-{tag}", f"b-{tag}", f"c-{tag}"]
    names = [
        a["name"]
        for a in client.post(
            "/automations/filter", json={"automations": mine, "sort": "NAME_DESC", "limit": 2, "offset": 1}
        ).json()
    ]
    assert names == [f"b-{tag}", f"a-{tag}"]
    assert client.post("/automations/count", json={"automations": mine}).json() == 3
    assert (
        client.post("/automations/filter", json={"automations": {"name": {"any_": [f"c-{tag}"]}}}).json()[0]["id"]
        == ids[2]
    )
    assert client.post("/automations/count").json() >= 3
    for automation_id in ids:
        client.delete(f"/automations/{automation_id}")


def test_related_to_and_owned_by(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    deployment = f"prefect.deployment.{uuid.uuid4()}"
    owned = client.post(
        "/automations/", json={**_automation(tag, name=f"owned-{tag}"), "owner_resource": deployment}
    ).json()
    acting = client.post(
        "/automations/",
        json=_automation(
            tag,
            name=f"acting-{tag}",
            actions=[{"type": "pause-deployment", "source": "selected", "deployment_id": deployment.rsplit(".", 1)[1]}],
        ),
    ).json()
    related = {a["id"] for a in client.get(f"/automations/related-to/{deployment}").json()}
    assert related == {owned["id"], acting["id"]}
    assert client.delete(f"/automations/owned-by/{deployment}").status_code == 202
    assert client.get(f"/automations/{owned['id']}").status_code == 404
    assert client.get(f"/automations/{acting['id']}").status_code == 200  # related, not owned
    assert [a["id"] for a in client.get(f"/automations/related-to/{deployment}").json()] == [acting["id"]]
    client.delete(f"/automations/{acting['id']}")


def test_real_client_sdk_and_deploy_triggers(api_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    out, _ = run_script("automations_client.py", api_url, tag)
    assert out["read"] == {"name": f"sdk-{tag}", "threshold": 2, "within": 30.0}
    assert out["updated_description"] == "changed" and out["by_name"] is True
    assert out["disabled"] is False and out["enabled_again"] is True and out["deleted"] is True
    related = out["deploy"]["related"]
    assert len(related) == 1  # the redeploy deleted the first owned automation
    assert related[0]["actions"][0]["type"] == "run-deployment"
    assert related[0]["actions"][0]["deployment_id"] == out["deploy"]["deployment_id"]
    assert related[0]["actions"][0]["parameters"] == {"x": 5}
