"""/variables routes over HTTP against the local stack, plus the real client's Variable and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from prefect.client.schemas.objects import Variable as ClientVariable

from tests.e2e.prefect_env import prefect_env


def _name() -> str:
    return f"var_{uuid.uuid4().hex[:12]}"


def _create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/variables/", json=body)
    assert response.status_code == 201, response.text
    ClientVariable.model_validate(response.json())
    return response.json()


def test_create_read_by_id_and_name_update_delete(client: httpx.Client) -> None:
    name = _name()
    created = _create(client, name=name, value={"a": [1, 2.5, None, True]}, tags=["t1"])
    assert created["value"] == {"a": [1, 2.5, None, True]} and created["tags"] == ["t1"]
    assert client.get(f"/variables/{created['id']}").json() == created
    assert client.get(f"/variables/name/{name}").json() == created

    assert client.patch(f"/variables/{created['id']}", json={"value": 42}).status_code == 204
    after = client.get(f"/variables/{created['id']}").json()
    assert after["value"] == 42 and after["tags"] == ["t1"] and after["updated"] >= created["updated"]

    assert client.patch(f"/variables/name/{name}", json={"tags": ["t2", "t3"], "value": None}).status_code == 204
    after = client.get(f"/variables/name/{name}").json()
    assert after["value"] is None and after["tags"] == ["t2", "t3"]

    assert client.delete(f"/variables/name/{name}").status_code == 204
    assert client.get(f"/variables/name/{name}").status_code == 404
    assert client.get(f"/variables/{created['id']}").json() == {"detail": "Variable not found."}
    assert client.delete(f"/variables/name/{name}").status_code == 404
    assert client.delete(f"/variables/{created['id']}").status_code == 404


def test_json_values_of_every_kind_round_trip(client: httpx.Client) -> None:
    for value in ["text", 7, -1.5, False, None, [1, "two"], {"nested": {"k": ["v"]}}]:
        created = _create(client, name=_name(), value=value)
        assert client.get(f"/variables/{created['id']}").json()["value"] == value


def test_duplicate_name_is_409_and_concurrent_creates_make_one(client: httpx.Client) -> None:
    name = _name()
    _create(client, name=name, value=1)
    duplicate = client.post("/variables/", json={"name": name, "value": 2})
    assert duplicate.status_code == 409
    assert duplicate.json() == {"detail": f"A variable with the name {name!r} already exists."}

    racing = _name()
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda i: client.post("/variables/", json={"name": racing, "value": i}).status_code, range(8))
        )
    assert sorted(codes) == [201] + [409] * 7
    count = client.post("/variables/count", json={"variables": {"name": {"any_": [racing]}}})
    assert count.json() == 1


def test_rename_moves_the_name_and_a_taken_name_is_409(client: httpx.Client) -> None:
    first, second, renamed = _name(), _name(), _name()
    a = _create(client, name=first, value="a")
    _create(client, name=second, value="b")
    assert client.patch(f"/variables/{a['id']}", json={"name": renamed}).status_code == 204
    assert client.get(f"/variables/name/{first}").status_code == 404
    assert client.get(f"/variables/name/{renamed}").json()["id"] == a["id"]
    # the old name is free again
    _create(client, name=first, value="again")
    taken = client.patch(f"/variables/{a['id']}", json={"name": second})
    assert taken.status_code == 409, taken.text
    assert client.get(f"/variables/name/{renamed}").json()["value"] == "a"


def test_bad_input_is_422_never_500(client: httpx.Client) -> None:
    too_big = client.post("/variables/", json={"name": _name(), "value": "x" * 5000})
    assert too_big.status_code == 422
    assert "Variable value must be less than 5000 characters" in too_big.text
    assert client.post("/variables/", json={"name": _name(), "value": "x" * 4990}).status_code == 201
    bad_name = client.post("/variables/", json={"name": "Has Spaces", "value": 1})
    assert bad_name.status_code == 422
    assert "Variable name must only contain lowercase letters, numbers, and dashes or underscores." in bad_name.text
    assert client.post("/variables/", json={"name": "x" * 256, "value": 1}).status_code == 422
    assert client.post("/variables/", json={"name": _name()}).status_code == 422  # value is required
    assert client.post("/variables/", json={"name": _name(), "value": 1, "extra": 1}).status_code == 422
    assert client.post("/variables/", json={"name": _name(), "value": 1, "tags": "notalist"}).status_code == 422
    created = _create(client, name=_name(), value=1)
    assert client.patch(f"/variables/{created['id']}", json={"value": {"k": "y" * 5000}}).status_code == 422
    assert client.patch(f"/variables/{created['id']}", json={"name": "UPPER"}).status_code == 422
    assert client.patch(f"/variables/{uuid.uuid4()}", json={"value": 1}).status_code == 404
    assert client.patch(f"/variables/name/{_name()}", json={"value": 1}).status_code == 404
    assert client.get("/variables/not-a-uuid").status_code == 404
    assert client.post("/variables/filter", json={"limit": -1}).status_code == 422
    assert client.post("/variables/filter", json={"variables": {"name": {"bogus": 1}}}).status_code == 422


def test_filter_sort_paginate_and_count(client: httpx.Client) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    names = sorted(f"{tag.replace('-', '_')}_{i}" for i in range(4))
    made = [
        _create(client, name=n, value=i, tags=[tag] + (["even"] if i % 2 == 0 else [])) for i, n in enumerate(names)
    ]

    def names_for(**body: Any) -> list[str]:
        response = client.post("/variables/filter", json=body)
        assert response.status_code == 200, response.text
        return [v["name"] for v in response.json()]

    mine = {"tags": {"all_": [tag]}}
    assert names_for(variables=mine) == names
    assert names_for(variables=mine, sort="NAME_DESC") == names[::-1]
    assert names_for(variables=mine, sort="CREATED_DESC") == names[::-1]
    assert names_for(variables=mine, offset=1, limit=2) == names[1:3]
    assert names_for(variables={"tags": {"all_": [tag, "even"]}}) == [names[0], names[2]]
    assert names_for(variables={"id": {"any_": [made[3]["id"], made[1]["id"]]}}) == [names[1], names[3]]
    assert names_for(variables={"name": {"any_": [names[2], "missing_name"]}}) == [names[2]]
    assert names_for(variables={"name": {"like_": tag.replace("-", "_")}}) == names
    assert client.post("/variables/count", json={"variables": mine}).json() == 4
    assert client.post("/variables/count", json={"variables": {"tags": {"all_": [tag, "even"]}}}).json() == 2
    assert isinstance(client.post("/variables/count").json(), int)


def _prefect(api_url: str, home: str, *args: str) -> subprocess.CompletedProcess[str]:
    # A wide terminal, so the CLI's table does not cut names.
    return subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env={**prefect_env(api_url, home), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_client_variable_set_get_and_cli(api_url: str, client: httpx.Client) -> None:
    name = _name()
    script = f"""
import json
from prefect.variables import Variable
Variable.set({name!r}, {{"rows": 3, "ok": True}}, tags=["from-client"])
first = Variable.get({name!r})
Variable.set({name!r}, "second", overwrite=True)
print(json.dumps({{"first": first, "second": Variable.get({name!r}), "missing": Variable.get("no_such_var_x", default="dflt")}}))
"""
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        result = subprocess.run(
            [sys.executable, "-c", script], env=prefect_env(api_url, home), capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert out == {"first": {"rows": 3, "ok": True}, "second": "second", "missing": "dflt"}

        cli_name = _name()
        set_result = _prefect(api_url, home, "variable", "set", cli_name, "hello-cli", "--tag", "cli")
        assert set_result.returncode == 0, set_result.stdout + set_result.stderr
        got = _prefect(api_url, home, "variable", "get", cli_name)
        assert got.returncode == 0 and "hello-cli" in got.stdout, got.stdout + got.stderr
        listed = _prefect(api_url, home, "variable", "ls", "--limit", "200")
        assert listed.returncode == 0 and cli_name in listed.stdout, listed.stdout + listed.stderr
        unset = _prefect(api_url, home, "variable", "unset", cli_name)
        assert unset.returncode == 0, unset.stdout + unset.stderr
    assert client.get(f"/variables/name/{cli_name}").status_code == 404
    stored = client.get(f"/variables/name/{name}").json()
    assert stored["value"] == "second"


def test_concurrent_renames_onto_one_name_leave_one_holder(client: httpx.Client) -> None:
    target = _name()
    made = [_create(client, name=_name(), value=i) for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda v: client.patch(f"/variables/{v['id']}", json={"name": target}).status_code, made))
    assert sorted(codes) == [204] + [409] * 5
    holder = client.get(f"/variables/name/{target}").json()
    assert [v["id"] for v in made if client.get(f"/variables/{v['id']}").json()["name"] == target] == [holder["id"]]
    assert client.post("/variables/count", json={"variables": {"name": {"any_": [target]}}}).json() == 1
