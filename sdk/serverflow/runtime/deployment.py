"""The deployment of the current flow run, if any: ``id``, ``name``, ``parameters``, ``version``, ``flow_run_id``."""

from __future__ import annotations

from typing import Any

from ..context import get_flow_run_context
from ._env import env_flow_run_id, fetch_deployment, fetch_flow_run

__all__ = ["flow_run_id", "id", "name", "parameters", "version"]


def _deployment() -> dict[str, Any] | None:
    ctx = get_flow_run_context()
    if ctx is not None:
        if ctx.deployment:
            known: dict[str, Any] = ctx.deployment
            return known
        deployment_id = ctx.flow_run.deployment_id
    else:
        run_id = env_flow_run_id()
        deployment_id = fetch_flow_run(run_id).deployment_id if run_id else None
    if deployment_id is None:
        return None
    fetched: dict[str, Any] = fetch_deployment(str(deployment_id)).model_dump(mode="json")
    return fetched


def __getattr__(attr: str) -> Any:
    if attr not in __all__:
        raise AttributeError(attr)
    if attr == "flow_run_id":
        ctx = get_flow_run_context()
        return str(ctx.flow_run.id) if ctx else env_flow_run_id()
    deployment = _deployment()
    if deployment is None:
        return {} if attr == "parameters" else None
    if attr == "id":
        return str(deployment.get("id"))
    return deployment.get(attr, {} if attr == "parameters" else None)
