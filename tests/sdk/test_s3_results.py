"""Results persisted to S3 (boto3, loaded lazily): a cache hit in a later flow run reads them back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from serverflow import flow, task
from serverflow.cache_policies import INPUTS

pytestmark = pytest.mark.timeout(60)

BUCKET = "serverflow-sdk-results"
calls: list[int] = []


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    moto = pytest.importorskip("moto")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@task(cache_policy=INPUTS, result_storage=f"s3://{BUCKET}/cache")
def heavy(x: int) -> dict[str, int]:
    calls.append(x)
    return {"x": x, "cube": x**3}


@flow
def s3_flow(x: int) -> dict[str, int]:
    return heavy(x)


def test_s3_result_storage_and_cache_hit(sdk_env: str, s3: Any) -> None:
    assert s3_flow(3) == {"x": 3, "cube": 27}
    state = s3_flow(3, return_state=True)
    assert state.result() == {"x": 3, "cube": 27}
    assert calls == [3]  # second run was a cache hit read from S3
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("cache/")
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert record["metadata"]["storage_key"] == f"s3://{BUCKET}/{keys[0]}"
