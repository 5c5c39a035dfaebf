"""Variables: named JSON values kept by the API (``/variables``), as ``prefect.variables.Variable`` offers.

from serverflow import variables
variables.set("db_host", "10.0.0.5", overwrite=True)
host = variables.get("db_host", default="localhost")
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ._api import api_client
from .exceptions import APIError, ObjectNotFound

_MISSING: Any = object()


def get(name: str, default: Any = None) -> Any:
    """The variable's value, or ``default`` when no variable has that name."""
    with api_client() as client:
        try:
            return client.request("GET", f"/variables/name/{quote(name, safe='')}")["value"]
        except ObjectNotFound:
            return default


def set(name: str, value: Any, tags: list[str] | None = None, overwrite: bool = False) -> Any:
    """Create the variable; with ``overwrite=True`` replace an existing one's value (and tags, when given).
    Raises ``ValueError`` if it exists and ``overwrite`` is false, as prefect does. Returns the stored value."""
    body: dict[str, Any] = {"name": name, "value": value, "tags": list(tags or [])}
    with api_client() as client:
        try:
            return client.request("POST", "/variables/", body)["value"]
        except APIError as exc:
            if exc.status_code != 409:
                raise
        if not overwrite:
            raise ValueError(f"Variable {name!r} already exists. Use `overwrite=True` to update it.")
        update: dict[str, Any] = {"name": name, "value": value}
        if tags is not None:
            update["tags"] = list(tags)
        client.request("PATCH", f"/variables/name/{quote(name, safe='')}", update)
        return value


def unset(name: str) -> bool:
    """Delete the variable; False when there was none."""
    with api_client() as client:
        try:
            client.request("DELETE", f"/variables/name/{quote(name, safe='')}")
        except ObjectNotFound:
            return False
        return True


def ls(limit: int | None = None) -> list[dict[str, Any]]:
    """All variables (name, value, tags, ...), sorted by name."""
    body: dict[str, Any] = {"sort": "NAME_ASC"}
    if limit is not None:
        body["limit"] = limit
    with api_client() as client:
        return list(client.request("POST", "/variables/filter", body) or [])
