"""The emulator's write-ahead journal (infra/local/persistence.py), driven through the emulator process:
replay after SIGKILL, a torn tail cut off, snapshots that compact the journal, queues restored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.provision import create_table
from infra.local.stack import wait_for_port
from tests.stack_process import REPO_ROOT, free_port

CREDS = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@contextmanager
def emulator(data: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.emulator", "--port", str(port), "--data-dir", str(data)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **CREDS_ENV, **env},
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


CREDS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDS_ENV.items():
        monkeypatch.setenv(name, value)


def _client(endpoint: str, service: str = "dynamodb") -> Any:
    return boto3.client(service, endpoint_url=endpoint, **CREDS)


def _put(endpoint: str, n: int) -> None:
    client = _client(endpoint)
    for i in range(n):
        client.put_item(
            TableName="j",
            Item={
                "PK": {"S": f"k{i}"},
                "SK": {"S": "#META"},
                "entity": {"S": "t"},
                "GSI1PK": {"S": "all"},
                "GSI1SK": {"S": f"k{i:05d}"},
            },
        )


def _count(endpoint: str) -> int:
    return int(
        _client(endpoint).query(
            TableName="j",
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": "all"}},
            Select="COUNT",
        )["Count"]
    )


def test_acknowledged_writes_survive_sigkill_and_a_torn_tail_is_cut_off(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with emulator(data) as (endpoint, process):
        create_table(endpoint, "us-east-1", "j")
        _put(endpoint, 30)
        _client(endpoint, "sqs").create_queue(QueueName="pool-queue")
        process.kill()  # no clean stop: only what was acknowledged (fsynced) counts
        process.wait()
    (segment,) = sorted(data.glob("journal-*.log"))
    with open(segment, "ab") as handle:
        handle.write(b"\x40\x00\x00\x00garbage-of-a-write-cut-short")  # a record whose answer never left
    size_with_garbage = segment.stat().st_size
    with emulator(data) as (endpoint, _):
        assert _count(endpoint) == 30  # the index is rebuilt too: found through the GSI
        urls = _client(endpoint, "sqs").list_queues().get("QueueUrls", [])
        assert any(url.endswith("/pool-queue") for url in urls), urls
    assert segment.stat().st_size < size_with_garbage


def _compacted(data: Path) -> bool:
    """A snapshot is on disk and no journal segment older than the newest snapshot is left."""
    snapshots = sorted(data.glob("snapshot-*.log"))
    if not snapshots:
        return False
    newest = int(snapshots[-1].stem.split("-")[1])
    return all(int(p.stem.split("-")[1]) >= newest for p in data.glob("journal-*.log"))


def test_snapshots_compact_the_journal_and_replay_the_same_state(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with emulator(data, SERVERFLOW_SNAPSHOT_BYTES="2000", SERVERFLOW_SNAPSHOT_INTERVAL="0.2") as (endpoint, process):
        create_table(endpoint, "us-east-1", "j")
        _put(endpoint, 40)
        deadline = time.monotonic() + 30
        # The snapshot file appears before the emulator deletes the segments it replaces: wait for both.
        while not _compacted(data) and time.monotonic() < deadline:
            time.sleep(0.1)
        _client(endpoint).delete_item(TableName="j", Key={"PK": {"S": "k0"}, "SK": {"S": "#META"}})
        process.kill()
        process.wait()
    # Segments older than the newest snapshot were compacted away.
    assert _compacted(data), sorted(p.name for p in data.iterdir())
    with emulator(data) as (endpoint, _):
        assert _count(endpoint) == 39
        described = _client(endpoint).describe_table(TableName="j")["Table"]
        assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} >= {"GSI1"}


def test_one_emulator_per_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with emulator(data):
        port = free_port()
        second = subprocess.run(
            [sys.executable, "-m", "infra.local.emulator", "--port", str(port), "--data-dir", str(data)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert second.returncode != 0
        assert "in use by another Serverflow emulator" in second.stderr + second.stdout
