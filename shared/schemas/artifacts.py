"""Artifacts and artifact collections (the latest version of each key)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import field_validator

from shared.schemas.base import ActionBaseModel, ObjectBaseModel
from shared.schemas.filters.artifacts import ArtifactCollectionFilter, ArtifactFilter
from shared.schemas.sorting import ArtifactCollectionSort, ArtifactSort
from shared.schemas.types import ArtifactKey

MAX_METADATA_VALUE_LENGTH = 500  # longer metadata values are cut, not rejected


def truncate_metadata(metadata: dict[str, str] | None) -> dict[str, str] | None:
    """Cut each metadata value to 500 characters + "...", as the reference does."""
    if metadata is None:
        return None
    return {
        key: (str(value)[:MAX_METADATA_VALUE_LENGTH] + "..." if len(str(value)) > MAX_METADATA_VALUE_LENGTH else value)
        for key, value in metadata.items()
    }


# Keys a result payload may carry to name/describe the artifact made from it.
_RESULT_ARTIFACT_KEYS = {"artifact_key": "key", "artifact_type": "type", "artifact_description": "description"}


def _split_result(data: Any) -> tuple[Any, dict[str, Any]]:
    if not isinstance(data, dict):
        return data, {}
    data = dict(data)
    info = {}
    for source, target in _RESULT_ARTIFACT_KEYS.items():
        value = data.pop(source, None)
        if value:
            info[target] = value
    return data, info


class Artifact(ObjectBaseModel):
    key: str | None = None
    type: str | None = None
    description: str | None = None
    data: dict[str, Any] | Any | None = None
    metadata_: dict[str, str] | None = None
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None

    @field_validator("metadata_")
    @classmethod
    def _truncate(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return truncate_metadata(value)

    @classmethod
    def from_result(cls, data: Any) -> Artifact:
        """An artifact for a state's result; artifact_* keys move onto the artifact."""
        payload, info = _split_result(data)
        return cls(data=payload, **info)


class ArtifactCreate(ActionBaseModel):
    """Body of POST /artifacts/."""

    key: ArtifactKey | None = None
    type: str | None = None
    description: str | None = None
    data: dict[str, Any] | Any | None = None
    metadata_: dict[str, str] | None = None
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None

    @field_validator("metadata_")
    @classmethod
    def _truncate(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return truncate_metadata(value)

    @classmethod
    def from_result(cls, data: Any) -> ArtifactCreate:
        payload, info = _split_result(data)
        return cls(data=payload, **info)


class ArtifactUpdate(ActionBaseModel):
    """Body of PATCH /artifacts/{id}."""

    data: dict[str, Any] | Any | None = None
    description: str | None = None
    metadata_: dict[str, str] | None = None

    @field_validator("metadata_")
    @classmethod
    def _truncate(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return truncate_metadata(value)


class ArtifactCollection(ObjectBaseModel):
    """The latest artifact of a key (GET /artifacts/{key}/latest, POST /artifacts/latest/filter)."""

    key: str
    latest_id: UUID
    type: str | None = None
    description: str | None = None
    data: dict[str, Any] | Any | None = None
    metadata_: dict[str, str] | None = None
    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None

    @classmethod
    def from_artifact(cls, artifact: Artifact, collection_id: UUID | None = None) -> ArtifactCollection:
        """Collection view of `artifact` (which must have a key)."""
        if artifact.key is None:
            raise ValueError("only keyed artifacts belong to a collection")
        fields = artifact.model_dump(exclude={"id", "key"})
        extra = {"id": collection_id} if collection_id is not None else {}
        return cls(key=artifact.key, latest_id=artifact.id, **fields, **extra)


__all__ = [
    "Artifact",
    "ArtifactCollection",
    "ArtifactCollectionFilter",
    "ArtifactCollectionSort",
    "ArtifactCreate",
    "ArtifactFilter",
    "ArtifactSort",
    "ArtifactUpdate",
    "truncate_metadata",
]
