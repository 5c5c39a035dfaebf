"""Every orchestrated flow-run transition emits the reference's `prefect.flow-run.<State>` event."""

from __future__ import annotations

import uuid

import httpx

from tests.support.events import fed


def _events_for(client: httpx.Client, run_id: str) -> list[dict]:
    body = {"filter": {"resource": {"id": [f"prefect.flow-run.{run_id}"]}, "order": "ASC"}, "limit": 50}
    response = client.post("/events/filter", json=body)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def test_transitions_emit_state_change_events(client: httpx.Client) -> None:
    flow = client.post("/flows/", json={"name": f"events-{uuid.uuid4().hex[:8]}"}).json()
    run = client.post("/flow_runs/", json={"flow_id": flow["id"], "tags": ["blue"]}).json()
    running = client.post(
        f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "RUNNING", "name": "Running"}}
    ).json()
    assert running["status"] == "ACCEPT"
    # A rejected/aborted proposal writes no state, so it emits nothing.
    client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "PENDING", "name": "Pending"}})

    events = _events_for(client, run["id"])
    assert [e["event"] for e in events] == ["prefect.flow-run.Pending", "prefect.flow-run.Running"]
    pending, running_event = events
    assert running_event["id"] == running["state"]["id"]
    assert running_event["follows"] == pending["id"]
    assert running_event["payload"]["intended"] == {"from": "PENDING", "to": "RUNNING"}
    assert running_event["payload"]["validated_state"] == {"type": "RUNNING", "name": "Running"}
    resource = running_event["resource"]
    assert resource["prefect.state-type"] == "RUNNING" and resource["prefect.run-count"] == "1"
    roles = {r["prefect.resource.role"]: r["prefect.resource.id"] for r in running_event["related"]}
    assert roles["flow"] == f"prefect.flow.{flow['id']}" and roles["tag"] == "prefect.tag.blue"


def test_state_events_are_found_by_name_and_prefix(client: httpx.Client) -> None:
    # These events are left out of the by-name index: names and prefixes that can match them read
    # the time feed (once it has paged them), which must answer the same as the name index did.
    flow = client.post("/flows/", json={"name": f"events-{uuid.uuid4().hex[:8]}"}).json()
    run = client.post("/flow_runs/", json={"flow_id": flow["id"]}).json()
    for state_type in ("RUNNING", "COMPLETED"):
        response = client.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": state_type}})
        assert response.json()["status"] == "ACCEPT"
    fed(client)
    of_flow = {"related": {"id": [f"prefect.flow.{flow['id']}"]}}

    def names(event_filter: dict) -> list[str]:
        body = {"filter": {**of_flow, **event_filter, "order": "ASC"}, "limit": 50}
        response = client.post("/events/filter", json=body)
        assert response.status_code == 200, response.text
        return [e["event"] for e in response.json()["events"]]

    assert names({"event": {"name": ["prefect.flow-run.Completed"]}}) == ["prefect.flow-run.Completed"]
    every = ["prefect.flow-run.Pending", "prefect.flow-run.Running", "prefect.flow-run.Completed"]
    for prefix in ("prefect.flow-run.", "prefect.flow-run", "prefect."):
        assert names({"event": {"prefix": [prefix]}}) == every, prefix
    assert names({"event": {"prefix": ["prefect.deployment."]}}) == []
