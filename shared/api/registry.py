"""Which router module serves which Prefect domain.

A domain name is also its Lambda's folder under functions/ and its function in
template.yaml; routers are imported lazily so each Lambda loads only its own.
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter

DOMAIN_ROUTERS: dict[str, str] = {
    "admin": "shared.api.admin",
    "csrf_token": "shared.api.csrf_token",
    "flows": "shared.api.flows",
    "flow_runs": "shared.api.flow_runs",
    "flow_run_states": "shared.api.flow_run_states",
    "task_runs": "shared.api.task_runs",
    "task_run_states": "shared.api.task_run_states",
    "logs": "shared.api.logs",
    "artifacts": "shared.api.artifacts",
    "events": "shared.api.events",
    "work_pools": "shared.api.work_pools",
    "work_queues": "shared.api.work_queues",
    "collections": "shared.api.collections",
    "deployments": "shared.api.deployments",
    "automations": "shared.api.automations",
    "ui": "shared.api.ui",
    "ui_settings": "shared.api.ui_settings",
    "variables": "shared.api.variables",
    "saved_searches": "shared.api.saved_searches",
    "blocks": "shared.api.blocks",
    "concurrency_limits": "shared.api.concurrency_limits",
    "concurrency_limits_v2": "shared.api.concurrency_limits_v2",
    "task_workers": "shared.api.task_workers",
    "templates": "shared.api.templates",
    "observed_states": "shared.api.observed_states",
}

# Domains served at the root instead of under /api: Prefect's UI reads /ui-settings there.
ROOT_DOMAINS: frozenset[str] = frozenset({"ui_settings"})


def load_router(domain: str) -> APIRouter:
    try:
        module_path = DOMAIN_ROUTERS[domain]
    except KeyError as exc:
        raise ValueError(f"Unknown domain {domain!r}; known: {sorted(DOMAIN_ROUTERS)}") from exc
    router = importlib.import_module(module_path).router
    if not isinstance(router, APIRouter):
        raise TypeError(f"{module_path}.router is not an APIRouter")
    return router
