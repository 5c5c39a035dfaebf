"""Deployments from the SDK: ``flow.deploy(...)`` and ``serverflow deploy file.py:flow``.

A deployment records where the flow's code is (``path``: the source root, ``entrypoint``: the file inside it
and the flow function), its schedules, default parameters, job variables and limits. The API's scheduler then
creates its runs, and a worker of ``work_pool_name`` executes them (or ``flow.serve`` does, with no pool).

Schedules are given as ``cron=``, ``interval=`` (seconds), ``rrule=`` or ``schedules=[...]`` of dicts such
as ``{"cron": "0 * * * *", "timezone": "UTC", "parameters": {...}, "active": True, "slug": "hourly"}``.
Triggers are event-trigger dicts in prefect's schema (``expect``/``match``/``posture``/``threshold``/
``within``/...), plus optional ``name``, ``enabled`` and ``parameters``; each becomes an automation that runs
this deployment, owned by it (replaced on every deploy).
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._api import api_client
from .entrypoints import for_function

if TYPE_CHECKING:
    from .client import SyncClient
    from .flows import Flow

SCHEDULE_KEYS = {"cron", "interval", "rrule"}
SCHEDULE_OPTIONS = {"active", "parameters", "slug"}
TRIGGER_OPTIONS = {"name", "description", "enabled", "parameters", "job_variables"}
_JSON_TYPES: dict[Any, str] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    list: "array",
    dict: "object",
}


def parameter_schema(fn: Any) -> dict[str, Any]:
    """An OpenAPI schema of the flow's parameters (types only where they map to JSON directly)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations only lose their type constraint
        hints = {}
    for position, (name, param) in enumerate(inspect.signature(fn).parameters.items()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        prop: dict[str, Any] = {"title": name, "position": position}
        json_type = _JSON_TYPES.get(typing.get_origin(hints.get(name)) or hints.get(name))
        if json_type:
            prop["type"] = json_type
        if param.default is param.empty:
            required.append(name)
        else:
            prop["default"] = (
                param.default if isinstance(param.default, (int, float, str, bool, type(None), list, dict)) else None
            )
        properties[name] = prop
    schema: dict[str, Any] = {"title": "Parameters", "type": "object", "properties": properties, "definitions": {}}
    if required:
        schema["required"] = required
    return schema


def schedules_of(
    cron: str | None = None,
    interval: float | None = None,
    rrule: str | None = None,
    timezone: str | None = None,
    schedules: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The ``schedules`` list of a DeploymentCreate: ``[{"schedule": {...}, "active": ..., ...}]``."""
    given: list[dict[str, Any]] = [dict(s) for s in schedules or []]
    if cron:
        given.append({"cron": cron})
    if interval:
        given.append({"interval": interval})
    if rrule:
        given.append({"rrule": rrule})
    result = []
    for spec in given:
        kinds = SCHEDULE_KEYS & spec.keys()
        if len(kinds) != 1:
            raise ValueError(f"a schedule needs exactly one of cron, interval, rrule: {spec!r}")
        schedule = {k: v for k, v in spec.items() if k not in SCHEDULE_OPTIONS}
        if timezone and "timezone" not in schedule:
            schedule["timezone"] = timezone
        entry: dict[str, Any] = {"schedule": schedule, "active": spec.get("active", True)}
        for option in ("parameters", "slug"):
            if spec.get(option) is not None:
                entry[option] = spec[option]
        result.append(entry)
    return result


def _automation(trigger: dict[str, Any], deployment_id: str, deployment_name: str, index: int) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "run-deployment", "source": "selected", "deployment_id": deployment_id}
    action["parameters"] = trigger.get("parameters")
    action["job_variables"] = trigger.get("job_variables")
    spec = {k: v for k, v in trigger.items() if k not in TRIGGER_OPTIONS}
    spec.setdefault("type", "event")
    return {
        "name": trigger.get("name") or f"{deployment_name}__automation_{index}",
        "description": trigger.get("description") or "",
        "enabled": trigger.get("enabled", True),
        "trigger": spec,
        "actions": [action],
        "owner_resource": f"prefect.deployment.{deployment_id}",
    }


def apply(
    flow: Flow[..., Any],
    name: str,
    work_pool_name: str | None = None,
    *,
    work_queue_name: str | None = None,
    entrypoint: str | None = None,
    source_root: str | Path | None = None,
    cron: str | None = None,
    interval: float | None = None,
    rrule: str | None = None,
    timezone: str | None = None,
    schedules: list[dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
    job_variables: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
    version: str | None = None,
    concurrency_limit: int | None = None,
    collision_strategy: str | None = None,
    triggers: list[dict[str, Any]] | None = None,
    paused: bool = False,
    enforce_parameter_schema: bool = True,
    client: SyncClient | None = None,
) -> str:
    """Create or update the deployment ``<flow name>/<name>``; returns its id."""
    root = Path(source_root or Path.cwd()).expanduser().resolve()
    body: dict[str, Any] = {
        "name": name,
        "entrypoint": entrypoint or for_function(flow.fn, root),
        "path": str(root),
        "work_pool_name": work_pool_name,
        "work_queue_name": work_queue_name,
        "parameters": dict(parameters or {}),
        "job_variables": dict(job_variables or {}),
        "tags": sorted(set(tags or []) | set(flow.tags)),
        "description": description or flow.description,
        "version": version or flow.version,
        "schedules": schedules_of(cron, interval, rrule, timezone, schedules),
        "paused": paused,
        "enforce_parameter_schema": enforce_parameter_schema,
        "parameter_openapi_schema": parameter_schema(flow.fn),
    }
    if concurrency_limit is not None:
        body["concurrency_limit"] = concurrency_limit
        if collision_strategy:
            body["concurrency_options"] = {"collision_strategy": collision_strategy}
    if client is None:
        with api_client() as api:
            return _apply(api, flow, body, triggers)
    return _apply(client, flow, body, triggers)


def _apply(
    client: SyncClient, flow: Flow[..., Any], body: dict[str, Any], triggers: list[dict[str, Any]] | None
) -> str:
    flow_id = str(client.create_flow(flow.name, sorted(flow.tags)).id)
    deployment = client.request("POST", "/deployments/", {**body, "flow_id": flow_id})
    deployment_id = str(deployment["id"])
    if triggers is not None:
        # Every deploy replaces the deployment's automations, as prefect's deploy does.
        client.request("DELETE", f"/automations/owned-by/{quote(f'prefect.deployment.{deployment_id}', safe='')}")
        for index, trigger in enumerate(triggers):
            client.request("POST", "/automations/", _automation(trigger, deployment_id, body["name"], index))
    return deployment_id
