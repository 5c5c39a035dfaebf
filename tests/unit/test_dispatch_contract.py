"""The SQS contract between the server's dispatcher and the SDK worker, which never imports shared/:
a message the server builds is read by the worker's parser, and both name a pool's queue alike."""

from __future__ import annotations

import datetime
import uuid

import pytest
from serverflow.worker import queue as worker_queue
from serverflow.worker import record

from shared.dispatch import messages, sqs
from shared.schemas.flow_runs import FlowRun
from shared.schemas.work_pools import WorkPool, WorkQueue

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_a_server_message_is_read_by_the_worker() -> None:
    pool = WorkPool(name="pool-a", type="process")
    queue = WorkQueue(name="high", work_pool_id=pool.id, priority=1)
    run = FlowRun(flow_id=uuid.uuid4(), work_queue_id=queue.id, work_queue_name=queue.name)
    request = messages.send_message_request(run, pool, queue, NOW)
    hint = record.parse_hint(request["MessageBody"])
    assert (hint.flow_run_id, hint.work_pool_name, hint.work_queue_name) == (str(run.id), "pool-a", "high")
    assert request["MessageAttributes"]["type"]["StringValue"] == record.MESSAGE_TYPE


def test_the_worker_refuses_what_the_server_never_sends() -> None:
    with pytest.raises(record.BadHint):
        record.parse_hint('{"type": "something.else", "flow_run_id": "%s"}' % uuid.uuid4())


@pytest.mark.parametrize("prefix", ["serverflow-test", "a-very-long-stack-name-" * 4])
def test_server_and_worker_name_a_pool_queue_alike(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sqs.PREFIX_ENV, prefix)
    pool_id = uuid.uuid4()
    assert sqs.queue_name_for(pool_id) == worker_queue.queue_name_for(pool_id)
    assert len(sqs.queue_name_for(pool_id)) <= 80
