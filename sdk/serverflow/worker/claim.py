"""Claiming a run: the orchestrated SCHEDULED -> PENDING transition is the lock (an SQS message is only a
hint, delivered at least once). A second claimer gets ABORT and skips the run."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ..client.models import FlowRun
from ..exceptions import ObjectNotFound
from .api import WorkerAPI


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    LOST = "lost"  # someone else has it, or it is not runnable: the hint is spent
    NOT_YET = "not_yet"  # the server asked us to wait: leave the hint for later


@dataclass
class Claim:
    outcome: ClaimOutcome
    run: FlowRun | None = None
    deployment: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def claim(api: WorkerAPI, run_id: UUID | str) -> Claim:
    """Raises ObjectNotFound for an unknown run (a poison hint: the caller leaves it for the DLQ)."""
    run = api.read_run(run_id)
    if run.state_type != "SCHEDULED":
        return Claim(ClaimOutcome.LOST, run, reason=f"run is {run.state_type}")
    if run.deployment_id is None:
        return Claim(ClaimOutcome.LOST, run, reason="run has no deployment to execute")
    try:
        deployment = api.read_deployment(run.deployment_id)
    except ObjectNotFound:
        # As the reference worker: a run whose deployment is gone can never execute.
        api.propose(
            run.id, "CANCELLED", "Cancelled", f"Deployment {run.deployment_id} no longer exists, cancelled run."
        )
        return Claim(ClaimOutcome.LOST, run, reason="deployment no longer exists")
    result = api.propose(run.id, "PENDING", "Pending")
    if result.status == "WAIT":
        return Claim(ClaimOutcome.NOT_YET, run, deployment, reason=result.reason or "server asked to wait")
    if result.status == "ABORT" or result.state is None or result.state.type != "PENDING":
        return Claim(
            ClaimOutcome.LOST,
            run,
            deployment,
            reason=result.reason or f"server returned {result.state and result.state.type}",
        )
    api.set_labels(run.id)
    return Claim(ClaimOutcome.CLAIMED, run, deployment)
