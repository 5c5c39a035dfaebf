"""A flow run created from a deployment (`POST /deployments/{id}/create_flow_run`), pure.

Field for field as the reference builds it: the deployment's parameters overlaid by the
run's, the union of tags, the deployment's queue unless the run names another one, the
run's own job variables (the merge with the pool and deployment happens at execution),
and a SCHEDULED state for "now" when the client sends none.
"""

from __future__ import annotations

import datetime
from typing import Any

from shared.scheduling.planner import deployment_run_labels
from shared.schemas._jsonschema_tools import SchemaValidationError, validate_value
from shared.schemas.common import CreatedBy
from shared.schemas.deployments import Deployment, DeploymentFlowRunCreate
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import StateCreate, StateType


class ParameterSchemaError(ValueError):
    """Parameters do not satisfy the deployment's schema (the reference's 409 detail)."""


def run_parameters(deployment: Deployment, requested: dict[str, Any] | None) -> dict[str, Any]:
    return {**(deployment.parameters or {}), **(requested or {})}


def check_parameters(deployment: Deployment, parameters: dict[str, Any], enforce: bool | None) -> None:
    """Enforce the parameter schema when the run (or else the deployment) asks for it."""
    if not (deployment.enforce_parameter_schema if enforce is None else enforce):
        return
    schema = deployment.parameter_openapi_schema
    if not isinstance(schema, dict):
        raise ParameterSchemaError(
            "Error updating deployment: Cannot update parameters because parameter schema enforcement "
            "is enabled and the deployment does not have a valid parameter schema."
        )
    try:
        validate_value(parameters, schema)
    except SchemaValidationError as exc:
        raise ParameterSchemaError(f"Error creating flow run: {exc}") from exc


def initial_state(requested: StateCreate | None) -> StateCreate:
    return requested or StateCreate(type=StateType.SCHEDULED, name="Scheduled")


def flow_run_from_deployment(
    deployment: Deployment,
    request: DeploymentFlowRunCreate,
    parameters: dict[str, Any],
    work_queue: tuple[Any, str | None],
    work_pool: tuple[Any, str | None],
    created_by: CreatedBy | None,
    now: datetime.datetime,
) -> FlowRun:
    """The run, without its state (the caller orchestrates the initial state onto it)."""
    queue_id, queue_name = work_queue
    pool_id, pool_name = work_pool
    return FlowRun(
        name=request.name,
        flow_id=deployment.flow_id,
        deployment_id=deployment.id,
        deployment_version=deployment.version,
        parameters=parameters,
        context=request.context,
        empirical_policy=request.empirical_policy,
        tags=sorted(set(deployment.tags) | set(request.tags)),
        labels=deployment_run_labels(deployment, request.labels),
        idempotency_key=request.idempotency_key,
        parent_task_run_id=request.parent_task_run_id,
        infrastructure_document_id=request.infrastructure_document_id or deployment.infrastructure_document_id,
        work_queue_id=queue_id,
        work_queue_name=queue_name,
        work_pool_id=pool_id,
        work_pool_name=pool_name,
        job_variables=request.job_variables,
        created_by=created_by,
        created=now,
        updated=now,
    )
