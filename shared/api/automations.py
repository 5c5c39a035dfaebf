"""/automations routes (Prefect 3.9.1 `server/api/automations.py` compatible).

Automations are evaluated by the trigger evaluator (shared.automations), fed by the
table's stream (reactive) and a schedule (proactive); these routes only store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from fastapi import Body, Path, Response, status

from shared.api import template_validation
from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.automations import (
    Automation,
    AutomationCreate,
    AutomationFilter,
    AutomationPartialUpdate,
    AutomationSort,
    AutomationUpdate,
)
from shared.storage import automations as automation_store

router = ServerflowRouter(prefix="/automations", tags=["Automations"])


@router.post("/", status_code=status.HTTP_201_CREATED, description="Create an automation.")
def create_automation(automation: AutomationCreate) -> Automation:
    automation.trigger.reset_ids()
    data = automation.model_dump()
    owner = data.pop("owner_resource", None)
    return automation_store.create(Automation.model_validate(data), owner)


@router.put(
    "/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, description="Replace an automation."
)
def update_automation(automation: AutomationUpdate, automation_id: UUID = Path(..., alias="id")) -> None:
    automation.trigger.reset_ids()
    automation_store.replace(automation_id, automation)


@router.patch(
    "/{id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    description="Enable or disable an automation.",
)
def patch_automation(automation: AutomationPartialUpdate, automation_id: UUID = Path(..., alias="id")) -> None:
    automation_store.set_enabled(automation_id, automation.enabled)


@router.delete(
    "/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, description="Delete an automation."
)
def delete_automation(automation_id: UUID = Path(..., alias="id")) -> None:
    automation_store.delete(automation_id)


@router.post("/filter", description="Automations matching a filter, sorted and paginated.")
def read_automations(
    sort: AutomationSort = Body(AutomationSort.NAME_ASC),
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    automations: AutomationFilter | None = None,
) -> Sequence[Automation]:
    return automation_store.filter_automations(automations, sort, offset, limit)


@router.post("/count", description="How many automations match a filter.")
def count_automations(automations: AutomationFilter | None = Body(None, embed=True)) -> int:
    return automation_store.count(automations)


@router.get("/{id:uuid}", description="Read an automation by id.")
def read_automation(automation_id: UUID = Path(..., alias="id")) -> Automation:
    return automation_store.read_or_404(automation_id)


@router.get(
    "/related-to/{resource_id:str}",
    description="Automations related to a resource (its owner or a deployment an action names).",
)
def read_automations_related_to_resource(resource_id: str = Path(...)) -> Sequence[Automation]:
    return automation_store.related_to(resource_id)


@router.delete(
    "/owned-by/{resource_id:str}",
    status_code=status.HTTP_202_ACCEPTED,
    description="Delete the automations a resource owns (e.g. a deployment's triggers on redeploy).",
)
def delete_automations_owned_by_resource(resource_id: str = Path(...)) -> None:
    automation_store.delete_owned_by(resource_id)


# The reference's deprecated alias of POST /templates/validate (one implementation).
router.add_api_route(
    "/templates/validate",
    template_validation.validate_template,
    methods=["POST"],
    response_class=Response,
    deprecated=True,
    description="Deprecated alias of POST /templates/validate.",
)
