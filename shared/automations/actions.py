"""Automation actions, performed through the API's own routes (in process).

As in the reference, where actions call the API with an orchestration client, every
action is an HTTP request to the Serverflow app, served in process (httpx's ASGI
transport): a run an automation creates goes through `POST /deployments/{id}/create_flow_run`
(the one run-creation path, with its validation, orchestration and dispatch), a state
change through `POST /flow_runs/{id}/set_state`, and so on. The automation's id and
name travel in the `Prefect-Automation-ID` / `-Name` headers, so created runs carry
`created_by {"type": "AUTOMATION", ...}`.

Each action records `prefect.automation.action.triggered`, then `.executed` or `.failed`
(with the reason), like the reference. A failing action never stops the next one.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.api.app import create_app
from shared.api.registry import DOMAIN_ROUTERS
from shared.config import get_settings
from shared.events.ingest import ingest
from shared.schemas.automations import (
    Action,
    Automation,
    CallWebhook,
    CancelFlowRun,
    ChangeFlowRunState,
    DoNothing,
    EventTrigger,
    PauseAutomation,
    PauseDeployment,
    PauseWorkPool,
    PauseWorkQueue,
    ResumeAutomation,
    ResumeDeployment,
    ResumeFlowRun,
    ResumeWorkPool,
    ResumeWorkQueue,
    RunDeployment,
    SendNotification,
    SuspendFlowRun,
)
from shared.schemas.events import Event, ReceivedEvent, RelatedResource, Resource
from shared.schemas.types import now_utc, uuid7

logger = logging.getLogger("serverflow.automations.actions")

# The domains actions call; on AWS the evaluator Lambda serves these routers in process.
ACTION_DOMAINS = ("deployments", "flow_runs", "work_pools", "work_queues", "automations", "blocks")
BASE_URL = "http://serverflow.internal/api"


class ActionFailed(Exception):
    """The action could not be performed; the reason goes into the `.failed` event."""


@dataclass
class TriggeredAction:
    automation: Automation
    action: Action
    action_index: int
    triggered: datetime.datetime
    triggering_event: ReceivedEvent | None
    triggering_labels: dict[str, str] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid4)
    automation_triggered_event_id: UUID | None = None


@lru_cache(maxsize=1)
def _app() -> FastAPI:
    return create_app([d for d in ACTION_DOMAINS if d in DOMAIN_ROUTERS])


def _client(automation: Automation) -> httpx.AsyncClient:
    headers = {
        "Prefect-Automation-ID": str(automation.id),
        "Prefect-Automation-Name": base64.b64encode(automation.name.encode()).decode(),
    }
    api_key = get_settings().api_key
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url=BASE_URL, headers=headers, timeout=30)


def _expect(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ActionFailed(f"{what}: {response.status_code} {detail}")
    return response.json() if response.content else None


# --- templates -----------------------------------------------------------------------

_jinja = ImmutableSandboxedEnvironment()


def _render(value: Any, context: dict[str, Any]) -> Any:
    """Hydrate parameters: {"__prefect_kind": "jinja", "template": ...} and {"__prefect_kind": "json", "value": ...}."""
    if isinstance(value, dict):
        kind = value.get("__prefect_kind")
        if kind == "jinja":
            try:
                return _jinja.from_string(str(value.get("template", ""))).render(**context)
            except Exception as exc:
                raise ActionFailed(f"Failed to render template: {exc}") from exc
        if kind == "json":
            raw = value.get("value")
            try:
                return json.loads(raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                raise ActionFailed(f"Invalid JSON parameter: {exc}") from exc
        if kind == "none":
            return None
        return {k: _render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, context) for v in value]
    return value


def _context(triggered: TriggeredAction) -> dict[str, Any]:
    event = triggered.triggering_event
    return {
        "automation": triggered.automation.model_dump(mode="json"),
        "event": event.model_dump(mode="json") if event else None,
        "labels": triggered.triggering_labels,
    }


# --- targets ---------------------------------------------------------------------------


def _inferred(triggered: TriggeredAction, kind: str) -> UUID:
    """The id of the `prefect.<kind>.<id>` resource of the triggering event."""
    event = triggered.triggering_event
    if event is None:
        raise ActionFailed(f"No event to infer the {kind} from")
    for resource in [event.resource, *event.related]:
        if resource.id.startswith(f"prefect.{kind}."):
            try:
                return resource.prefect_object_id(f"prefect.{kind}")
            except ValueError:
                continue
    raise ActionFailed(f"No {kind} could be inferred")


def _target(triggered: TriggeredAction, kind: str, selected: UUID | None) -> UUID:
    return selected if selected is not None else _inferred(triggered, kind)


# --- performing ------------------------------------------------------------------------


async def _set_state(
    api: httpx.AsyncClient, run_id: UUID, state: Mapping[str, object], force: bool
) -> list[RelatedResource]:
    body = _expect(
        await api.post(f"/flow_runs/{run_id}/set_state", json={"state": state, "force": force}), "Failed to set state"
    )
    if body and body.get("status") not in ("ACCEPT", None):
        raise ActionFailed(f"Failed to set state: {body.get('status')} {body.get('details')}")
    return [RelatedResource({"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "target"})]


async def _perform(triggered: TriggeredAction, api: httpx.AsyncClient) -> tuple[list[RelatedResource], dict[str, Any]]:
    action = triggered.action
    if isinstance(action, RunDeployment):
        deployment_id = _target(triggered, "deployment", action.deployment_id)
        body: dict[str, Any] = {}
        if action.parameters is not None:  # None: the deployment's defaults
            body["parameters"] = _render(action.parameters, _context(triggered))
        if action.job_variables is not None:
            body["job_variables"] = action.job_variables
        if action.schedule_after:
            when = now_utc() + action.schedule_after
            body["state"] = {
                "type": "SCHEDULED",
                "name": "Scheduled",
                "state_details": {"scheduled_time": when.isoformat()},
            }
        run = _expect(
            await api.post(f"/deployments/{deployment_id}/create_flow_run", json=body), "Failed to create flow run"
        )
        related = [
            RelatedResource(
                {"prefect.resource.id": f"prefect.deployment.{deployment_id}", "prefect.resource.role": "target"}
            ),
            RelatedResource(
                {
                    "prefect.resource.id": f"prefect.flow-run.{run['id']}",
                    "prefect.resource.role": "flow-run",
                    "prefect.resource.name": run.get("name", ""),
                }
            ),
        ]
        return related, {}
    if isinstance(action, (PauseDeployment, ResumeDeployment)):
        deployment_id = _target(triggered, "deployment", action.deployment_id)
        verb = "pause_deployment" if isinstance(action, PauseDeployment) else "resume_deployment"
        _expect(await api.post(f"/deployments/{deployment_id}/{verb}"), f"Failed to {verb.replace('_', ' ')}")
        return [
            RelatedResource(
                {"prefect.resource.id": f"prefect.deployment.{deployment_id}", "prefect.resource.role": "target"}
            )
        ], {}
    if isinstance(action, ChangeFlowRunState):
        run_id = _inferred(triggered, "flow-run")
        state = {
            "type": action.state.value,
            "name": action.name or action.state.value.title(),
            "message": action.message,
        }
        return await _set_state(api, run_id, state, action.force), {}
    if isinstance(action, CancelFlowRun):
        return await _set_state(
            api, _inferred(triggered, "flow-run"), {"type": "CANCELLING", "name": "Cancelling"}, False
        ), {}
    if isinstance(action, SuspendFlowRun):
        suspended: dict[str, object] = {
            "type": "PAUSED",
            "name": "Suspended",
            "state_details": {"pause_reschedule": True},
        }
        return await _set_state(api, _inferred(triggered, "flow-run"), suspended, False), {}
    if isinstance(action, ResumeFlowRun):
        run_id = _inferred(triggered, "flow-run")
        result = _expect(await api.post(f"/flow_runs/{run_id}/resume", json={}), "Failed to resume flow run")
        if result and result.get("status") != "ACCEPT":
            raise ActionFailed(f"Failed to resume flow run: {result.get('details')}")
        return [
            RelatedResource({"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "target"})
        ], {}
    if isinstance(action, (PauseWorkPool, ResumeWorkPool)):
        pool_id = _target(triggered, "work-pool", action.work_pool_id)
        pools = _expect(
            await api.post("/work_pools/filter", json={"work_pools": {"id": {"any_": [str(pool_id)]}}}),
            "Failed to read work pool",
        )
        if not pools:
            raise ActionFailed(f"Work pool {pool_id} not found")
        paused = isinstance(action, PauseWorkPool)
        _expect(
            await api.patch(f"/work_pools/{pools[0]['name']}", json={"is_paused": paused}), "Failed to update work pool"
        )
        return [
            RelatedResource({"prefect.resource.id": f"prefect.work-pool.{pool_id}", "prefect.resource.role": "target"})
        ], {}
    if isinstance(action, (PauseWorkQueue, ResumeWorkQueue)):
        queue_id = _target(triggered, "work-queue", action.work_queue_id)
        paused = isinstance(action, PauseWorkQueue)
        _expect(await api.patch(f"/work_queues/{queue_id}", json={"is_paused": paused}), "Failed to update work queue")
        return [
            RelatedResource(
                {"prefect.resource.id": f"prefect.work-queue.{queue_id}", "prefect.resource.role": "target"}
            )
        ], {}
    if isinstance(action, (PauseAutomation, ResumeAutomation)):
        automation_id = action.automation_id if action.automation_id is not None else triggered.automation.id
        enabled = isinstance(action, ResumeAutomation)
        _expect(
            await api.patch(f"/automations/{automation_id}", json={"enabled": enabled}), "Failed to update automation"
        )
        return [
            RelatedResource(
                {"prefect.resource.id": f"prefect.automation.{automation_id}", "prefect.resource.role": "target"}
            )
        ], {}
    if isinstance(action, (CallWebhook, SendNotification)):
        return await _notify(triggered, action, api)
    raise ActionFailed(f"Unknown action type {action.type}")


async def _notify(
    triggered: TriggeredAction, action: CallWebhook | SendNotification, api: httpx.AsyncClient
) -> tuple[list[RelatedResource], dict[str, Any]]:
    """Read the block document through the API and deliver through it."""
    response = await api.get(f"/block_documents/{action.block_document_id}", params={"include_secrets": "true"})
    if response.status_code == 404:
        raise ActionFailed(f"Block document {action.block_document_id} not found")
    document = _expect(response, "Failed to read block document")
    data: dict[str, Any] = document.get("data") or {}
    context = _context(triggered)
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise ActionFailed(f"Block document {action.block_document_id} has no url to deliver to")
    if isinstance(action, CallWebhook):
        payload = _render({"__prefect_kind": "jinja", "template": action.payload}, context) if action.payload else ""
        method = str(data.get("method") or "POST")
        headers = data.get("headers") if isinstance(data.get("headers"), dict) else {}
    else:
        subject = _render({"__prefect_kind": "jinja", "template": action.subject}, context)
        text = _render({"__prefect_kind": "jinja", "template": action.body}, context)
        payload, method, headers = (
            json.dumps({"subject": subject, "body": text, "text": f"{subject}\n{text}"}),
            "POST",
            {"Content-Type": "application/json"},
        )
    try:
        async with httpx.AsyncClient(timeout=10) as outside:
            delivered = await outside.request(method, url, content=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise ActionFailed(f"Failed to deliver to {url}: {exc}") from exc
    details = {"status_code": delivered.status_code}
    if delivered.status_code >= 400:
        raise ActionFailed(f"{url} answered {delivered.status_code}")
    return [
        RelatedResource(
            {
                "prefect.resource.id": f"prefect.block-document.{action.block_document_id}",
                "prefect.resource.role": "block",
            }
        )
    ], details


def _resource(automation: Automation) -> Resource:
    labels = {
        "prefect.resource.id": f"prefect.automation.{automation.id}",
        "prefect.resource.name": automation.name,
        "prefect.trigger-type": automation.trigger.type,
    }
    if isinstance(automation.trigger, EventTrigger):
        labels["prefect.posture"] = automation.trigger.posture.value
    return Resource(labels)


async def act(triggered: TriggeredAction) -> bool:
    """Perform one action and record its events; True if it succeeded."""
    details = {
        "action_index": triggered.action_index,
        "action_type": triggered.action.type,
        "invocation": str(triggered.id),
    }
    resulting: list[RelatedResource] = []
    extra: dict[str, Any] = {}
    failure: str | None = None
    try:
        if not isinstance(triggered.action, DoNothing):  # the only action that calls nothing
            async with _client(triggered.automation) as api:
                resulting, extra = await _perform(triggered, api)
    except ActionFailed as exc:
        failure = str(exc)
    except Exception as exc:
        logger.exception("Action %s of automation %s crashed", triggered.action.type, triggered.automation.id)
        failure = f"Unexpected error: {exc}"
    related = list(resulting)
    if triggered.automation_triggered_event_id:
        related.append(
            RelatedResource(
                {
                    "prefect.resource.id": f"prefect.event.{triggered.automation_triggered_event_id}",
                    "prefect.resource.role": "automation-triggered-event",
                }
            )
        )
    if triggered.triggering_event:
        related.append(
            RelatedResource(
                {
                    "prefect.resource.id": f"prefect.event.{triggered.triggering_event.id}",
                    "prefect.resource.role": "triggering-event",
                }
            )
        )
    resource = _resource(triggered.automation)
    triggered_id = uuid7()
    events = [
        Event(
            occurred=triggered.triggered,
            event="prefect.automation.action.triggered",
            resource=resource,
            related=related,
            payload=details,
            id=triggered_id,
        ),
        Event(
            occurred=now_utc(),
            event="prefect.automation.action.failed" if failure else "prefect.automation.action.executed",
            resource=resource,
            related=related,
            payload={**details, **({"reason": failure} if failure else {}), **extra},
            id=uuid7(),
            follows=triggered_id,
        ),
    ]
    ingest(events)
    return failure is None
