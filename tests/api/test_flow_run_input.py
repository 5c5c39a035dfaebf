"""Flow run inputs (/flow_runs/{id}/input...) and resume with run_input, over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from prefect.client.schemas.objects import FlowRunInput as ClientFlowRunInput

from tests.support.api import iso_in, make_flow, make_run, propose


def _input(client: httpx.Client, run_id: str, key: str, value: str, sender: str | None = None) -> httpx.Response:
    return client.post(f"/flow_runs/{run_id}/input", json={"key": key, "value": value, "sender": sender})


def test_create_read_filter_delete(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    assert _input(client, run["id"], "msg-1", '{"a": 1}', sender="me").status_code == 201
    time.sleep(0.01)  # distinct `created` for the order check
    assert _input(client, run["id"], "msg-2", "plain text").status_code == 201
    assert _input(client, run["id"], "other", "x").status_code == 201

    read = client.get(f"/flow_runs/{run['id']}/input/msg-1")
    assert read.status_code == 200 and read.text == '{"a": 1}'
    assert read.headers["content-type"].startswith("text/plain")

    def keys(**body: Any) -> list[str]:
        response = client.post(f"/flow_runs/{run['id']}/input/filter", json=body)
        assert response.status_code == 200, response.text
        found = [ClientFlowRunInput.model_validate(i) for i in response.json()]
        return [i.key for i in found]

    assert keys(prefix="msg") == ["msg-1"]  # limit defaults to 1
    assert keys(prefix="msg", limit=10) == ["msg-1", "msg-2"]
    assert keys(prefix="msg", limit=10, exclude_keys=["msg-1"]) == ["msg-2"]
    assert keys(prefix="", limit=10) == ["msg-1", "msg-2", "other"] or set(keys(prefix="", limit=10)) == {
        "msg-1",
        "msg-2",
        "other",
    }
    first = client.post(f"/flow_runs/{run['id']}/input/filter", json={"prefix": "msg-1"}).json()[0]
    assert first["sender"] == "me" and first["flow_run_id"] == run["id"] and first["value"] == '{"a": 1}'

    assert client.delete(f"/flow_runs/{run['id']}/input/msg-1").status_code == 204
    missing = client.get(f"/flow_runs/{run['id']}/input/msg-1")
    assert missing.status_code == 404 and missing.json() == {"detail": "Flow run input not found"}
    assert client.delete(f"/flow_runs/{run['id']}/input/msg-1").status_code == 404

    # inputs go with their run
    assert client.delete(f"/flow_runs/{run['id']}").status_code == 204
    assert client.get(f"/flow_runs/{run['id']}/input/msg-2").status_code == 404


def test_duplicate_key_is_409_missing_run_404_bad_key_422(client: httpx.Client) -> None:
    run = make_run(client, make_flow(client)["id"])
    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda i: _input(client, run["id"], "same-key", str(i)).status_code, range(5)))
    assert sorted(codes) == [201] + [409] * 4
    duplicate = _input(client, run["id"], "same-key", "again")
    assert duplicate.json() == {"detail": "A flow run input with this key already exists."}
    missing_run = _input(client, str(uuid.uuid4()), "k", "v")
    assert missing_run.status_code == 404 and missing_run.json() == {"detail": "Flow run not found"}
    assert _input(client, run["id"], "Bad Key", "v").status_code == 422
    assert client.post(f"/flow_runs/{run['id']}/input", json={"key": "k"}).status_code == 422
    assert client.post(f"/flow_runs/{run['id']}/input", json={"key": "k", "value": {"not": "text"}}).status_code == 422
    assert client.post(f"/flow_runs/{run['id']}/input/filter", json={}).status_code == 422
    assert client.get("/flow_runs/not-a-uuid/input/k").status_code == 404


SCHEMA = {
    "title": "Approval",
    "type": "object",
    "properties": {"approved": {"title": "Approved", "type": "boolean"}, "note": {"title": "Note", "type": "string"}},
    "required": ["approved"],
}


def _paused_for_input(
    client: httpx.Client, *, schema: str | None, reschedule: bool = False
) -> tuple[str, dict[str, str]]:
    flow_id = make_flow(client)["id"]
    if reschedule:  # only a deployment's run can be suspended
        deployment = client.post("/deployments/", json={"flow_id": flow_id, "name": f"d-{uuid.uuid4().hex[:8]}"}).json()
        run = client.post(f"/deployments/{deployment['id']}/create_flow_run", json={}).json()
    else:
        run = make_run(client, flow_id)
    keyset = {"description": "paused-1-description", "response": "paused-1-response", "schema": "paused-1-schema"}
    if schema is not None:
        assert _input(client, run["id"], keyset["schema"], schema).status_code == 201
    propose(client, run["id"], "RUNNING")
    details: dict[str, Any] = {
        "pause_timeout": iso_in(3600),
        "run_input_keyset": keyset,
        "pause_reschedule": reschedule,
    }
    paused = propose(client, run["id"], "PAUSED", state_details=details)
    assert paused.json()["status"] == "ACCEPT", paused.text
    return run["id"], keyset


def test_resume_validates_input_against_the_stored_schema_and_stores_it(client: httpx.Client) -> None:
    run_id, keyset = _paused_for_input(client, schema=json.dumps(SCHEMA))
    invalid = client.post(f"/flow_runs/{run_id}/resume", json={"run_input": {"approved": "yes please"}})
    assert invalid.status_code == 200 and invalid.json()["status"] == "REJECT"
    assert invalid.json()["details"]["reason"].startswith("Reason: Validation failed for field 'approved'.")
    assert invalid.json()["state"]["type"] == "PAUSED"
    missing = client.post(f"/flow_runs/{run_id}/resume", json={})
    assert (
        missing.json()["status"] == "REJECT"
        and "'approved' is a required property" in missing.json()["details"]["reason"]
    )
    assert client.get(f"/flow_runs/{run_id}/input/{keyset['response']}").status_code == 404

    ok = client.post(f"/flow_runs/{run_id}/resume", json={"run_input": {"approved": True, "note": "lgtm"}})
    assert ok.status_code == 201 and ok.json()["status"] == "ACCEPT", ok.text
    assert ok.json()["state"]["type"] == "RUNNING"
    stored = client.get(f"/flow_runs/{run_id}/input/{keyset['response']}")
    assert stored.status_code == 200 and json.loads(stored.text) == {"approved": True, "note": "lgtm"}


def test_resume_of_a_suspended_run_reschedules_it(client: httpx.Client) -> None:
    run_id, keyset = _paused_for_input(client, schema=json.dumps(SCHEMA), reschedule=True)
    ok = client.post(f"/flow_runs/{run_id}/resume", json={"run_input": {"approved": False}})
    assert (
        ok.status_code == 201 and ok.json()["state"]["type"] == "SCHEDULED" and ok.json()["state"]["name"] == "Resuming"
    )
    assert json.loads(client.get(f"/flow_runs/{run_id}/input/{keyset['response']}").text) == {"approved": False}


def test_resume_with_a_schema_that_is_not_json_is_rejected(client: httpx.Client) -> None:
    run_id, _ = _paused_for_input(client, schema="{not json")
    response = client.post(f"/flow_runs/{run_id}/resume", json={"run_input": {"approved": True}})
    assert response.json()["status"] == "REJECT"
    assert response.json()["details"]["reason"] == "Run input schema is not valid JSON."


def test_resume_hydrates_ui_placeholders_in_the_input(client: httpx.Client) -> None:
    variable = f"approval_note_{uuid.uuid4().hex[:8]}"
    assert client.post("/variables/", json={"name": variable, "value": "from a variable"}).status_code == 201
    run_id, keyset = _paused_for_input(client, schema=json.dumps(SCHEMA))
    missing = client.post(
        f"/flow_runs/{run_id}/resume",
        json={
            "run_input": {
                "approved": True,
                "note": {"__prefect_kind": "workspace_variable", "variable_name": "no_such_var"},
            }
        },
    )
    assert missing.json()["status"] == "REJECT"
    assert (
        missing.json()["details"]["reason"]
        == "Error hydrating run input: Variable 'no_such_var' not found in workspace."
    )
    bad_json = client.post(
        f"/flow_runs/{run_id}/resume", json={"run_input": {"approved": {"__prefect_kind": "json", "value": "{nope"}}}
    )
    assert bad_json.json()["details"]["reason"].startswith("Error hydrating run input: Invalid JSON:")

    run_input = {
        "approved": {"__prefect_kind": "json", "value": "true"},
        "note": {"__prefect_kind": "workspace_variable", "variable_name": variable},
        "dropped": {"__prefect_kind": "json"},
    }
    ok = client.post(f"/flow_runs/{run_id}/resume", json={"run_input": run_input})
    assert ok.json()["status"] == "ACCEPT", ok.text
    stored = json.loads(client.get(f"/flow_runs/{run_id}/input/{keyset['response']}").text)
    assert stored == {"approved": True, "note": "from a variable"}
