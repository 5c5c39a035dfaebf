"""Artifacts attached to the current flow/task run (``POST /api/artifacts/``), with prefect's formats."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from .context import get_flow_run_context, get_task_run_context

Table = dict[str, list[Any]] | list[dict[str, Any]] | list[list[Any]]


def _create(type_: str, data: Any, key: str | None, description: str | None) -> uuid.UUID:
    if key is not None and (not key.replace("-", "").isalnum() or key != key.lower()):
        raise ValueError(f"Artifact key {key!r} must only contain lowercase letters, numbers, and dashes.")
    flow_ctx = get_flow_run_context()
    task_ctx = get_task_run_context()
    body: dict[str, Any] = {"type": type_, "data": data, "key": key, "description": description}
    if flow_ctx is not None:
        body["flow_run_id"] = str(flow_ctx.flow_run.id)
        client = flow_ctx.client
    else:
        from .client import SyncClient

        client = SyncClient()
    if task_ctx is not None:
        body["task_run_id"] = str(task_ctx.task_run.id)
        if task_ctx.task_run.flow_run_id:
            body["flow_run_id"] = str(task_ctx.task_run.flow_run_id)
    return client.create_artifact(body).id


def create_markdown_artifact(markdown: str, key: str | None = None, description: str | None = None) -> uuid.UUID:
    return _create("markdown", markdown, key, description)


def _sanitize(item: Any) -> Any:
    if isinstance(item, list):
        return [_sanitize(x) for x in item]
    if isinstance(item, dict):
        return {k: _sanitize(v) for k, v in item.items()}
    if isinstance(item, float) and math.isnan(item):
        return None
    return item


def create_table_artifact(table: Table, key: str | None = None, description: str | None = None) -> uuid.UUID:
    # The API stores a table as its JSON text (NaN -> null), like prefect.
    return _create("table", json.dumps(_sanitize(table)), key, description)


def create_link_artifact(
    link: str, link_text: str | None = None, key: str | None = None, description: str | None = None
) -> uuid.UUID:
    return _create("markdown", f"[{link_text or link}]({link})", key, description)
