"""Block types, schemas, documents and capabilities over HTTP against the local stack."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from prefect.client.schemas.objects import BlockDocument as ClientBlockDocument
from prefect.client.schemas.objects import BlockSchema as ClientBlockSchema
from prefect.client.schemas.objects import BlockType as ClientBlockType

SECRET_FIELDS_SCHEMA = {
    "title": "Creds",
    "type": "object",
    "properties": {
        "user": {"title": "User", "type": "string"},
        "password": {"title": "Password", "type": "string", "writeOnly": True, "format": "password"},
        "headers": {"title": "Headers", "type": "object"},
    },
    "secret_fields": ["password", "headers.*"],
    "block_type_slug": "creds",
}


def _slug() -> str:
    return f"test-type-{uuid.uuid4().hex[:10]}"


def _ok(response: httpx.Response, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json() if response.content else None


def _block_type(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    slug = _slug()
    body = {"name": f"Test {slug}", "slug": slug, "description": "a <b>test</b> type", **extra}
    created = _ok(client.post("/block_types/", json=body), 201)
    ClientBlockType.model_validate(created)
    return created


def _block_schema(
    client: httpx.Client, block_type_id: str, fields: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "block_type_id": block_type_id,
        "fields": fields or {**SECRET_FIELDS_SCHEMA, "title": uuid.uuid4().hex},
        **extra,
    }
    response = client.post("/block_schemas/", json=body)
    assert response.status_code in (200, 201), response.text
    ClientBlockSchema.model_validate(response.json())
    return response.json()


def _document(
    client: httpx.Client, schema: dict[str, Any], data: dict[str, Any], name: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"block_type_id": schema["block_type_id"], "block_schema_id": schema["id"], "data": data, **extra}
    if name is not None:
        body["name"] = name
    created = _ok(client.post("/block_documents/", json=body), 201)
    ClientBlockDocument.model_validate(created)
    return created


def test_system_block_types_exist_on_a_fresh_stack(client: httpx.Client) -> None:
    types = _ok(client.post("/block_types/filter", json={}))
    slugs = {t["slug"]: t for t in types}
    for slug in ("secret", "webhook", "local-file-system", "slack-webhook", "remote-file-system", "aws-credentials"):
        assert slug in slugs
    assert {s for s, t in slugs.items() if t["is_protected"]} >= {"secret", "webhook", "local-file-system"}
    assert not slugs["slack-webhook"]["is_protected"]
    names = [t["name"] for t in types]
    assert names == sorted(names)
    secret = _ok(client.get("/block_types/slug/secret"))
    schemas = _ok(
        client.post("/block_schemas/filter", json={"block_schemas": {"block_type_id": {"any_": [secret["id"]]}}})
    )
    assert schemas and all(s["block_type"]["slug"] == "secret" for s in schemas)
    assert "value" in schemas[0]["fields"]["secret_fields"]
    by_checksum = _ok(client.get(f"/block_schemas/checksum/{schemas[0]['checksum']}"))
    assert by_checksum["id"] == schemas[0]["id"]
    assert {"notify", "read-path", "write-path", "get-directory", "put-directory"} <= set(
        _ok(client.get("/block_capabilities/"))
    )


def test_protected_system_types_cannot_be_deleted(client: httpx.Client) -> None:
    secret = _ok(client.get("/block_types/slug/secret"))
    response = client.delete(f"/block_types/{secret['id']}")
    assert response.status_code == 403 and response.json()["detail"] == "protected block types cannot be deleted."
    schema = _ok(
        client.post("/block_schemas/filter", json={"block_schemas": {"block_type_id": {"any_": [secret["id"]]}}})
    )[0]
    response = client.delete(f"/block_schemas/{schema['id']}")
    assert response.status_code == 403
    assert _ok(client.get(f"/block_schemas/{schema['id']}"))["id"] == schema["id"]
    reserved = client.post("/block_types/", json={"name": "Prefect Thing", "slug": "prefect-thing"})
    assert reserved.status_code == 403 and "reserved" in reserved.json()["detail"]


def test_block_type_crud_and_slug_rules(client: httpx.Client) -> None:
    created = _block_type(client)
    assert created["description"] == "a &lt;b&gt;test&lt;/b&gt; type"  # stored HTML-escaped, as the reference
    assert _ok(client.get(f"/block_types/slug/{created['slug']}"))["id"] == created["id"]
    duplicate = client.post("/block_types/", json={"name": created["name"], "slug": created["slug"]})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    _ok(client.patch(f"/block_types/{created['id']}", json={"code_example": "x = 1"}), 204)
    assert _ok(client.get(f"/block_types/{created['id']}"))["code_example"] == "x = 1"
    assert client.patch(f"/block_types/{created['id']}", json={"slug": "nope"}).status_code == 422
    bad_slug = client.post("/block_types/", json={"name": "Bad", "slug": "Bad Slug"})
    assert bad_slug.status_code == 422
    assert client.get("/block_types/slug/no-such-type").json() == {"detail": "Block type not found"}
    assert client.get(f"/block_types/{uuid.uuid4()}").status_code == 404
    schema = _block_schema(client, created["id"])
    doc = _document(client, schema, {"user": "u"}, name="doc-of-deleted-type")
    _ok(client.delete(f"/block_types/{created['id']}"), 204)
    assert client.get(f"/block_types/{created['id']}").status_code == 404
    assert client.get(f"/block_schemas/{schema['id']}").status_code == 404
    assert client.get(f"/block_documents/{doc['id']}").status_code == 404


def test_block_schema_checksum_identity_version_and_capabilities(client: httpx.Client) -> None:
    block_type = _block_type(client)
    fields = {**SECRET_FIELDS_SCHEMA, "title": f"T{uuid.uuid4().hex}"}
    first = client.post(
        "/block_schemas/", json={"block_type_id": block_type["id"], "fields": fields, "capabilities": ["fly"]}
    )
    assert first.status_code == 201, first.text
    again = client.post(
        "/block_schemas/", json={"block_type_id": block_type["id"], "fields": fields, "capabilities": ["fly"]}
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    v2 = _ok(
        client.post("/block_schemas/", json={"block_type_id": block_type["id"], "fields": fields, "version": "2.0"}),
        201,
    )
    checksum = first.json()["checksum"]
    assert checksum.startswith("sha256:") and v2["checksum"] == checksum and v2["id"] != first.json()["id"]
    assert (
        _ok(client.get(f"/block_schemas/checksum/{checksum}", params={"version": "non-versioned"}))["id"]
        == first.json()["id"]
    )
    assert _ok(client.get(f"/block_schemas/checksum/{checksum}"))["id"] == v2["id"]  # newest without a version
    assert client.get(f"/block_schemas/checksum/{checksum}", params={"version": "9"}).status_code == 404
    assert "fly" in _ok(client.get("/block_capabilities/"))
    by_capability = _ok(
        client.post("/block_schemas/filter", json={"block_schemas": {"block_capabilities": {"all_": ["fly"]}}})
    )
    assert [s["id"] for s in by_capability] == [first.json()["id"]]
    types_with_fly = _ok(
        client.post("/block_types/filter", json={"block_schemas": {"block_capabilities": {"all_": ["fly"]}}})
    )
    assert [t["id"] for t in types_with_fly] == [block_type["id"]]
    _ok(client.delete(f"/block_schemas/{v2['id']}"), 204)
    assert client.get(f"/block_schemas/{v2['id']}").status_code == 404
    assert client.post("/block_schemas/", json={"block_type_id": str(uuid.uuid4()), "fields": {}}).status_code == 404
    assert client.post("/block_schemas/", json={"block_type_id": block_type["id"], "fields": "nope"}).status_code == 422


def test_documents_mask_secrets_unless_asked(client: httpx.Client) -> None:
    schema = _block_schema(client, _block_type(client)["id"])
    data = {"user": "me", "password": "hunter2", "headers": {"Authorization": "Bearer t", "X": "y"}}
    created = _document(client, schema, data, name="masked")
    assert created["data"] == {
        "user": "me",
        "password": "********",
        "headers": {"Authorization": "********", "X": "********"},
    }
    assert created["block_schema"]["id"] == schema["id"] and created["block_type"]["id"] == schema["block_type_id"]
    plain = _ok(client.get(f"/block_documents/{created['id']}", params={"include_secrets": "true"}))
    assert plain["data"] == data
    slug = created["block_type"]["slug"]
    by_name = _ok(client.get(f"/block_types/slug/{slug}/block_documents/name/masked", params={"include_secrets": True}))
    assert by_name["data"]["password"] == "hunter2"
    listed = _ok(client.get(f"/block_types/slug/{slug}/block_documents"))
    assert [d["data"]["password"] for d in listed] == ["********"]
    # A masked value posted back keeps the stored secret; a new value replaces it.
    _ok(client.patch(f"/block_documents/{created['id']}", json={"data": {"password": "********", "user": "you"}}), 204)
    after = _ok(client.get(f"/block_documents/{created['id']}", params={"include_secrets": True}))["data"]
    assert after["password"] == "hunter2" and after["user"] == "you" and after["headers"] == data["headers"]
    _ok(
        client.patch(
            f"/block_documents/{created['id']}", json={"data": {"user": "solo"}, "merge_existing_data": False}
        ),
        204,
    )
    assert _ok(client.get(f"/block_documents/{created['id']}", params={"include_secrets": True}))["data"] == {
        "user": "solo"
    }
    filtered = _ok(
        client.post(
            "/block_documents/filter", json={"block_documents": {"name": {"any_": ["masked"]}}, "include_secrets": True}
        )
    )
    assert any(d["id"] == created["id"] and d["data"] == {"user": "solo"} for d in filtered)


def test_document_names_anonymous_documents_and_counts(client: httpx.Client) -> None:
    schema = _block_schema(client, _block_type(client)["id"])
    named = _document(client, schema, {"user": "a"}, name="first")
    duplicate = client.post(
        "/block_documents/",
        json={"name": "first", "block_type_id": schema["block_type_id"], "block_schema_id": schema["id"], "data": {}},
    )
    assert duplicate.status_code == 409 and duplicate.json() == {"detail": "Block already exists"}
    anonymous = _document(client, schema, {"user": "b"}, is_anonymous=True)
    assert anonymous["name"].startswith("anonymous-") and anonymous["is_anonymous"]
    of_type = {"block_documents": {"block_type_id": {"any_": [schema["block_type_id"]]}}}
    assert [d["id"] for d in _ok(client.post("/block_documents/filter", json=of_type))] == [named["id"]]
    assert _ok(client.post("/block_documents/count", json=of_type)) == 1
    with_anonymous = {"block_documents": {"block_type_id": {"any_": [schema["block_type_id"]]}, "is_anonymous": None}}
    assert _ok(client.post("/block_documents/count", json=with_anonymous)) == 2
    by_slug = {"block_types": {"slug": {"any_": [named["block_type"]["slug"]]}}}
    assert [d["id"] for d in _ok(client.post("/block_documents/filter", json=by_slug))] == [named["id"]]
    for bad in (
        {"name": "Upper Case", "data": {}},
        {"name": "a/b", "data": {}},
        {"data": {}},  # a named document needs a name
    ):
        response = client.post(
            "/block_documents/", json={**bad, "block_type_id": schema["block_type_id"], "block_schema_id": schema["id"]}
        )
        assert response.status_code == 422, response.text
    unknown = client.post(
        "/block_documents/",
        json={"name": "x", "data": {}, "block_type_id": str(uuid.uuid4()), "block_schema_id": schema["id"]},
    )
    assert unknown.status_code == 404
    _ok(client.delete(f"/block_documents/{named['id']}"), 204)
    assert client.delete(f"/block_documents/{named['id']}").status_code == 404
    assert client.get(f"/block_documents/{named['id']}").json() == {"detail": "Block document not found"}
    # The name is free again once the document is gone.
    _document(client, schema, {}, name="first")


def test_nested_references_resolved_on_read(client: httpx.Client) -> None:
    child_schema = _block_schema(client, _block_type(client)["id"])
    child = _document(client, child_schema, {"user": "inner", "password": "pw"}, name="child")
    parent_schema = _block_schema(
        client,
        _block_type(client)["id"],
        fields={"title": f"P{uuid.uuid4().hex}", "type": "object", "properties": {}, "secret_fields": []},
    )
    parent = _document(
        client, parent_schema, {"label": "outer", "creds": {"$ref": {"block_document_id": child["id"]}}}, name="parent"
    )
    assert parent["data"] == {"label": "outer", "creds": {"user": "inner", "password": "********"}}
    reference = parent["block_document_references"]["creds"]["block_document"]
    assert (
        reference["id"] == child["id"]
        and reference["name"] == "child"
        and reference["block_type"]["id"] == child_schema["block_type_id"]
    )
    full = _ok(client.get(f"/block_documents/{parent['id']}", params={"include_secrets": True}))
    assert full["data"]["creds"] == {"user": "inner", "password": "pw"}
    # A reference that would close a cycle, or points nowhere, is a 400.
    cycle = client.patch(
        f"/block_documents/{child['id']}", json={"data": {"back": {"$ref": {"block_document_id": parent["id"]}}}}
    )
    assert cycle.status_code == 400 and "cycle" in cycle.json()["detail"]
    dangling = client.post(
        "/block_documents/",
        json={
            "name": "dangling",
            "block_type_id": parent_schema["block_type_id"],
            "block_schema_id": parent_schema["id"],
            "data": {"x": {"$ref": {"block_document_id": str(uuid.uuid4())}}},
        },
    )
    assert dangling.status_code == 400
    no_id = client.post(
        "/block_documents/",
        json={
            "name": "noid",
            "block_type_id": parent_schema["block_type_id"],
            "block_schema_id": parent_schema["id"],
            "data": {"x": {"$ref": {}}},
        },
    )
    assert no_id.status_code == 400 and "block_document_id" in no_id.json()["detail"]
    # Deleting the referenced document drops the reference from the parent, as the reference's cascade does.
    _ok(client.delete(f"/block_documents/{child['id']}"), 204)
    after = _ok(client.get(f"/block_documents/{parent['id']}"))
    assert after["data"] == {"label": "outer"} and after["block_document_references"] == {}


def test_concurrent_creates_of_one_name_make_one_document(client: httpx.Client, api_url: str) -> None:
    schema = _block_schema(client, _block_type(client)["id"])
    body = {
        "name": "racy",
        "block_type_id": schema["block_type_id"],
        "block_schema_id": schema["id"],
        "data": {"user": "x"},
    }

    def create(_: int) -> int:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            return http.post("/block_documents/", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, range(8)))
    assert sorted(codes) == [201] + [409] * 7, codes
    of_type = {"block_documents": {"block_type_id": {"any_": [schema["block_type_id"]]}}}
    assert _ok(client.post("/block_documents/count", json=of_type)) == 1

    slug = _slug()

    def create_type(_: int) -> int:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            return http.post("/block_types/", json={"name": f"Racy {slug}", "slug": slug}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        type_codes = list(pool.map(create_type, range(6)))
    assert sorted(type_codes) == [201] + [409] * 5, type_codes


def test_bad_input_is_a_prefect_shaped_4xx(client: httpx.Client) -> None:
    block_type = _block_type(client)
    schema = _block_schema(client, block_type["id"])
    nested_unknown_type = {
        "title": "N",
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/X"}},
        "block_schema_references": {
            "x": {"block_type_slug": "no-such-block-type", "block_schema_checksum": "sha256:0"}
        },
        "definitions": {
            "X": {"title": "X", "type": "object", "properties": {}, "block_type_slug": "no-such-block-type"}
        },
    }
    response = client.post("/block_schemas/", json={"block_type_id": block_type["id"], "fields": nested_unknown_type})
    assert response.status_code == 409 and "no-such-block-type" in response.json()["detail"]
    malformed = client.post(
        "/block_schemas/",
        json={"block_type_id": block_type["id"], "fields": {"block_schema_references": {"x": "nope"}}},
    )
    assert malformed.status_code == 400, malformed.text
    # A merge that would grow a document past DynamoDB's item limit is a 413, never a 500.
    doc = _document(client, schema, {"user": "a", "blob": "x" * 300_000}, name="big")
    grown = client.patch(f"/block_documents/{doc['id']}", json={"data": {"more": "y" * 300_000}})
    assert grown.status_code == 413 and "too large" in grown.json()["detail"]
    # A name longer than any DynamoDB key can hold is a 422.
    long_name = client.post(
        "/block_documents/",
        json={"name": "n" * 3000, "block_type_id": block_type["id"], "block_schema_id": schema["id"], "data": {}},
    )
    assert long_name.status_code == 422, long_name.text
    assert client.get(f"/block_types/slug/{block_type['slug']}/block_documents/name/{'n' * 3000}").status_code == 404
    wrong_schema = client.patch(
        f"/block_documents/{doc['id']}", json={"data": {}, "block_schema_id": _secret_schema_id(client)}
    )
    assert wrong_schema.status_code == 400 and "same block type" in wrong_schema.json()["detail"]
    assert client.patch(f"/block_documents/{uuid.uuid4()}", json={"data": {}}).status_code == 404
    assert client.post("/block_documents/filter", json={"sort": "NOPE"}).status_code == 422
    assert client.post("/block_documents/filter", json={"block_documents": {"nope": 1}}).status_code == 422


def _secret_schema_id(client: httpx.Client) -> str:
    secret = _ok(client.get("/block_types/slug/secret"))
    return str(
        _ok(client.post("/block_schemas/filter", json={"block_schemas": {"block_type_id": {"any_": [secret["id"]]}}}))[
            0
        ]["id"]
    )


def test_lifecycle_events_like_the_reference(client: httpx.Client) -> None:
    block_type = _block_type(client)
    schema = _block_schema(client, block_type["id"])
    doc = _document(client, schema, {"user": "visible", "password": "never-in-events"}, name="evented")
    _document(client, schema, {"user": "x"}, is_anonymous=True)
    _ok(client.patch(f"/block_documents/{doc['id']}", json={"data": {"user": "changed"}}), 204)
    _ok(client.delete(f"/block_documents/{doc['id']}"), 204)

    def events(resource_id: str) -> list[dict[str, Any]]:
        body = {"filter": {"resource": {"id": [resource_id]}, "order": "ASC"}, "limit": 50}
        return _ok(client.post("/events/filter", json=body))["events"]

    document_events = events(f"prefect.block-document.{doc['id']}")
    assert [e["event"] for e in document_events] == [
        "prefect.block-document.created",
        "prefect.block-document.updated",
        "prefect.block-document.deleted",
    ]
    created = document_events[0]
    assert created["payload"] == {
        "name": "evented",
        "data": {"user": "visible"},
        "block_schema": {"capabilities": [], "block_type": {"id": block_type["id"], "name": block_type["name"]}},
    }
    assert {r["prefect.resource.role"] for r in created["related"]} == {"block-type", "block-schema"}
    assert document_events[1]["payload"]["data"] == {"user": "changed"}
    assert "never-in-events" not in str(document_events)
    assert [e["event"] for e in events(f"prefect.block-type.{block_type['id']}")] == ["prefect.block-type.created"]
