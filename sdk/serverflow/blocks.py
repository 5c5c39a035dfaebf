"""Blocks: typed, named configuration stored as block documents (``/block_documents``), readable by the
prefect client too. ``Secret`` and ``JSON`` are built in; both keep prefect's slugs and field names.

    from serverflow.blocks import Secret, JSON
    Secret(value="s3cr3t").save("db-password", overwrite=True)
    password = Secret.load("db-password").get()

``save`` registers the block's type and schema when the server does not have them yet (as prefect's
``Block.save`` does), then creates the named document, or updates it with ``overwrite=True``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from ._api import api_client
from .exceptions import APIError, ObjectNotFound


class Block:
    """Base class: subclasses set the type's slug/name and the JSON schema of their fields."""

    _block_type_slug: ClassVar[str]
    _block_type_name: ClassVar[str]
    _description: ClassVar[str] = ""
    _fields: ClassVar[dict[str, Any]]  # JSON schema of the document's data
    _secret_fields: ClassVar[list[str]] = []

    def __init__(self, **data: Any) -> None:
        missing = [key for key in self._fields.get("required", []) if key not in data]
        if missing:
            raise TypeError(f"{type(self).__name__} needs {', '.join(missing)}")
        self._data = data
        self._document_id: str | None = None
        self._document_name: str | None = None

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("_data", {})
        if name in data:
            return data[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        shown = {k: ("********" if k in self._secret_fields else v) for k, v in self._data.items()}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @classmethod
    def load(cls, name: str) -> Block:
        """The document ``name`` of this block type, with secret values revealed."""
        with api_client() as client:
            document = client.request(
                "GET",
                f"/block_types/slug/{quote(cls._block_type_slug, safe='')}/block_documents/name/{quote(name, safe='')}"
                "?include_secrets=true",
            )
        block = cls(**(document.get("data") or {}))
        block._document_id, block._document_name = document["id"], document.get("name")
        return block

    def save(self, name: str, overwrite: bool = False) -> str:
        """Store this block as document ``name``; returns the document id."""
        with api_client() as client:
            block_type_id, block_schema_id = self._ensure_registered(client)
            body = {
                "name": name,
                "data": self._data,
                "block_type_id": block_type_id,
                "block_schema_id": block_schema_id,
            }
            try:
                document = client.request("POST", "/block_documents/", body)
            except APIError as exc:
                if exc.status_code != 409:
                    raise
                if not overwrite:
                    raise ValueError(
                        f"{type(self).__name__} {name!r} already exists; use overwrite=True to replace it"
                    ) from None
                existing = client.request(
                    "GET",
                    f"/block_types/slug/{quote(self._block_type_slug, safe='')}/block_documents/name/{quote(name, safe='')}",
                )
                client.request(
                    "PATCH",
                    f"/block_documents/{existing['id']}",
                    {"data": self._data, "merge_existing_data": False, "block_schema_id": block_schema_id},
                )
                document = existing
        self._document_id, self._document_name = str(document["id"]), name
        return self._document_id

    @classmethod
    def delete(cls, name: str) -> bool:
        """Delete document ``name``; False when there was none."""
        with api_client() as client:
            try:
                document = client.request(
                    "GET",
                    f"/block_types/slug/{quote(cls._block_type_slug, safe='')}/block_documents/name/{quote(name, safe='')}",
                )
            except ObjectNotFound:
                return False
            client.request("DELETE", f"/block_documents/{document['id']}")
            return True

    @classmethod
    def _schema_fields(cls) -> dict[str, Any]:
        return {
            **cls._fields,
            "block_type_slug": cls._block_type_slug,
            "secret_fields": list(cls._secret_fields),
            "block_schema_references": {},
        }

    @classmethod
    def _ensure_registered(cls, client: Any) -> tuple[str, str]:
        """(block type id, block schema id), registering the type and schema if the server lacks them."""
        try:
            block_type = client.request("GET", f"/block_types/slug/{quote(cls._block_type_slug, safe='')}")
        except ObjectNotFound:
            try:
                block_type = client.request(
                    "POST",
                    "/block_types/",
                    {"name": cls._block_type_name, "slug": cls._block_type_slug, "description": cls._description},
                )
            except APIError as exc:
                if exc.status_code != 409:  # registered concurrently by someone else
                    raise
                block_type = client.request("GET", f"/block_types/slug/{quote(cls._block_type_slug, safe='')}")
        schemas = client.request(
            "POST",
            "/block_schemas/filter",
            {"block_schemas": {"block_type_id": {"any_": [block_type["id"]]}}, "limit": 1},
        )
        if schemas:
            return str(block_type["id"]), str(schemas[0]["id"])
        schema = client.request(
            "POST",
            "/block_schemas/",
            {
                "fields": cls._schema_fields(),
                "block_type_id": block_type["id"],
                "capabilities": [],
                "version": "non-versioned",
            },
        )
        return str(block_type["id"]), str(schema["id"])


class Secret(Block):
    """A secret value (string or JSON); shown as ``********`` by the API unless secrets are requested."""

    _block_type_slug = "secret"
    _block_type_name = "Secret"
    _description = "A block that represents a secret value. The value stored in this block will be obfuscated when this block is viewed or edited in the UI."
    _fields: ClassVar[dict[str, Any]] = {
        "title": "Secret",
        "type": "object",
        "properties": {"value": {"title": "Value", "description": "A value that should be kept secret."}},
        "required": ["value"],
    }
    _secret_fields: ClassVar[list[str]] = ["value"]

    def get(self) -> Any:
        return self._data["value"]


class JSON(Block):
    """Any JSON value under one name."""

    _block_type_slug = "json"
    _block_type_name = "JSON"
    _description = "A block that represents JSON."
    _fields: ClassVar[dict[str, Any]] = {
        "title": "JSON",
        "type": "object",
        "properties": {"value": {"title": "Value", "description": "A JSON-compatible value."}},
        "required": ["value"],
    }
