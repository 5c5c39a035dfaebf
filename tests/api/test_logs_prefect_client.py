"""The prefect 3.9.1 client's own log calls against the local stack."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import LogCreate
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterLevel
from prefect.client.schemas.sorting import LogSort


@pytest.fixture
def prefect_client(api_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncPrefectClient]:
    monkeypatch.setenv("PREFECT_API_URL", api_url)
    with get_client(sync_client=True) as client:
        yield client


def test_client_creates_and_reads_logs(prefect_client: SyncPrefectClient) -> None:
    run_id = uuid.uuid4()
    start = datetime.datetime.now(datetime.UTC)
    prefect_client.create_logs(
        [
            LogCreate(
                name="prefect.test",
                level=10 * (i % 5 + 1),
                message=f"m{i}",
                flow_run_id=run_id,
                timestamp=start + datetime.timedelta(milliseconds=i),
            )
            for i in range(50)
        ]
    )
    by_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
    logs = prefect_client.read_logs(by_run)  # sends limit/offset as null
    assert [log.message for log in logs] == [f"m{i}" for i in range(50)]
    errors = prefect_client.read_logs(
        LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]), level=LogFilterLevel(ge_=40)),
        limit=5,
        sort=LogSort.TIMESTAMP_DESC,
    )
    assert [log.message for log in errors] == ["m49", "m48", "m44", "m43", "m39"]
