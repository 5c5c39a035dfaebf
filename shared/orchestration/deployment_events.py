"""The `prefect.deployment.ready` / `prefect.deployment.not-ready` events the server emits when a
poll or the foreman changes a deployment's status.

Pure: builds the event the reference emits (its name is the status in kebab case; the related
resources are the deployment's flow, work queue and work pool). Storage writes it in the same
transaction as the status change, so an event exists exactly when its transition does.
"""

from __future__ import annotations

import datetime

from shared.schemas.deployments import Deployment, DeploymentStatus
from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.flows import Flow
from shared.schemas.types import uuid7
from shared.schemas.work_pools import WorkPool


def _related(deployment: Deployment, flow: Flow | None, pool: WorkPool | None) -> list[dict[str, str]]:
    related = []
    if flow is not None:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow.{flow.id}",
                "prefect.resource.name": flow.name,
                "prefect.resource.role": "flow",
            }
        )
    if deployment.work_queue_id is not None:
        related.append(
            {
                "prefect.resource.id": f"prefect.work-queue.{deployment.work_queue_id}",
                "prefect.resource.name": deployment.work_queue_name or "",
                "prefect.resource.role": "work-queue",
            }
        )
        # The reference names the pool only through the deployment's queue.
        if pool is not None:
            related.append(
                {
                    "prefect.resource.id": f"prefect.work-pool.{pool.id}",
                    "prefect.resource.name": pool.name,
                    "prefect.work-pool.type": pool.type,
                    "prefect.resource.role": "work-pool",
                }
            )
    return related


def deployment_status_event(
    deployment: Deployment,
    status: DeploymentStatus,
    occurred: datetime.datetime,
    flow: Flow | None,
    pool: WorkPool | None,
) -> ReceivedEvent:
    """The event for `deployment` entering `status` (READY -> `ready`, NOT_READY -> `not-ready`)."""
    event = Event.model_validate(
        {
            "occurred": occurred,
            "event": f"prefect.deployment.{status.value.lower().replace('_', '-')}",
            "resource": {
                "prefect.resource.id": f"prefect.deployment.{deployment.id}",
                "prefect.resource.name": deployment.name,
            },
            "related": _related(deployment, flow, pool),
            "id": uuid7(),
        }
    )
    return event.receive()
