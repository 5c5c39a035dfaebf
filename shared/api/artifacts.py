"""/artifacts routes (Prefect 3.9.1 `server/api/artifacts.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, HTTPException, Path, status

from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from shared.schemas.filters.artifacts import ArtifactCollectionFilter, ArtifactFilter
from shared.schemas.filters.deployments import DeploymentFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.sorting import ArtifactCollectionSort, ArtifactSort
from shared.storage import artifacts as artifact_store

router = ServerflowRouter(prefix="/artifacts", tags=["Artifacts"])


@router.post("/", status_code=status.HTTP_201_CREATED)
def create_artifact(artifact: ArtifactCreate) -> Artifact:
    """Create an artifact.

    For more information, see https://www.prefect.io/docs/v3/concepts/artifacts.
    """
    try:
        return artifact_store.create(artifact)
    except artifact_store.ArtifactTooLarge as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail=str(exc)) from exc


@router.get("/{id:uuid}")
def read_artifact(artifact_id: UUID = Path(..., alias="id")) -> Artifact:
    """Retrieve an artifact from the database."""
    return artifact_store.read_or_404(artifact_id)


@router.get("/{key}/latest")
def read_latest_artifact(key: str = Path(...)) -> Artifact:
    """Retrieve the latest artifact from the artifact table."""
    return artifact_store.read_latest(key)


@router.post("/filter")
def read_artifacts(
    sort: ArtifactSort = Body(ArtifactSort.ID_DESC),
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    artifacts: ArtifactFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
) -> list[Artifact]:
    """Retrieve artifacts from the database."""
    return artifact_store.filter_artifacts(artifacts, flow_runs, task_runs, flows, deployments, sort, offset, limit)


@router.post("/latest/filter")
def read_latest_artifacts(
    sort: ArtifactCollectionSort = Body(ArtifactCollectionSort.ID_DESC),
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    artifacts: ArtifactCollectionFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
) -> list[ArtifactCollection]:
    """Retrieve artifacts from the database."""
    return artifact_store.filter_collections(artifacts, flow_runs, task_runs, flows, deployments, sort, offset, limit)


@router.post("/count")
def count_artifacts(
    artifacts: ArtifactFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
) -> int:
    """Count artifacts from the database."""
    return len(artifact_store.filter_artifacts(artifacts, flow_runs, task_runs, flows, deployments))


@router.post("/latest/count")
def count_latest_artifacts(
    artifacts: ArtifactCollectionFilter | None = None,
    flow_runs: FlowRunFilter | None = None,
    task_runs: TaskRunFilter | None = None,
    flows: FlowFilter | None = None,
    deployments: DeploymentFilter | None = None,
) -> int:
    """Count artifacts from the database."""
    return len(artifact_store.filter_collections(artifacts, flow_runs, task_runs, flows, deployments))


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_artifact(artifact: ArtifactUpdate, artifact_id: UUID = Path(..., alias="id")) -> None:
    """Update an artifact in the database."""
    try:
        artifact_store.update(artifact_id, artifact)
    except artifact_store.ArtifactTooLarge as exc:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail=str(exc)) from exc


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_artifact(artifact_id: UUID = Path(..., alias="id")) -> None:
    """Delete an artifact from the database."""
    artifact_store.delete(artifact_id)
