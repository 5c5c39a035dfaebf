"""The prefect 3.9.1 client's own artifact calls against the local stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterKey,
)
from prefect.client.schemas.sorting import ArtifactSort
from prefect.settings import PREFECT_API_URL, temporary_settings


@pytest.fixture
def prefect_client(api_url: str) -> Iterator[SyncPrefectClient]:
    # prefect reads its settings once at import: an environment variable set afterwards is not seen, and
    # the client would start an ephemeral server instead of talking to the stack.
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        yield client


def test_client_artifact_round_trip(prefect_client: SyncPrefectClient) -> None:
    key = f"client-{uuid.uuid4().hex[:10]}"
    first = prefect_client.create_artifact(ArtifactCreate(key=key, type="markdown", data="# one"))
    second = prefect_client.create_artifact(
        ArtifactCreate(key=key, type="markdown", data="# two", metadata_={"a": "b"})
    )
    found = prefect_client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC
    )
    assert [a.id for a in found] == [second.id, first.id]
    (latest,) = prefect_client.read_latest_artifacts(
        artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
    )
    assert latest.latest_id == second.id and latest.metadata_ == {"a": "b"}
    prefect_client.update_artifact(second.id, ArtifactUpdate(description="edited"))
    prefect_client.delete_artifact(first.id)
    (only,) = prefect_client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert only.id == second.id and only.description == "edited"
