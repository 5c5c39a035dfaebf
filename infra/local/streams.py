"""Run the template's stream-fed functions locally, as Lambda's event source mappings do.

Each function declared with a `DynamoDB` event on the table's stream gets its own reader
(an event source mapping is independent per function): it long-polls the emulator's
DynamoDB Streams API from the event's StartingPosition, applies the event's FilterCriteria,
and invokes the handler with batches of up to BatchSize records, the same `{"Records": [...]}`
event Lambda delivers. With a MaximumBatchingWindowInSeconds, records are gathered until the batch
is full or the window since its first record is over, as Lambda does. A failing batch is retried (as Lambda does, bounded here), then skipped.

Each start of the stack creates its mappings anew, as a fresh deployment does. At start the
emulator has replayed its journal through the same API, so its stream holds the regenerated
records of the last writes (the newest STREAM_RECORDS_KEPT): a TRIM_HORIZON function (an
idempotent consumer: the task-run recorder) takes them all again, so whatever was acknowledged
but not yet processed when the stack died is processed now; a LATEST one (the automations
evaluator, the fan-out) sees only what is written after the start and never acts twice.
A graceful stop drains the TRIM_HORIZON functions and leaves a CAUGHT_UP marker in the data
directory: the next start (which removes it at once) then begins them at LATEST, so only a
crash costs a replay of the kept tail.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.local.schedules import LocalLambdaContext
from infra.template import resources
from shared.storage.errors import is_unavailable

logger = logging.getLogger("serverflow.local.streams")

# A reader with nothing new waits POLL_SECONDS, doubling while the stream stays idle up to IDLE_POLL_SECONDS:
# Lambda's event source mapping polls a shard about 4 times a second, so an idle stack costs what the same
# cadence would (it used to poll every 50 ms per function, ~20% of a core at rest), and a burst is read at once.
POLL_SECONDS = 0.05
IDLE_POLL_SECONDS = 0.25
RETRIES = 2
# In the data directory: every TRIM_HORIZON function had processed the whole stream when the stack stopped.
CAUGHT_UP_MARKER = "streams-caught-up"
DRAIN_SECONDS = 30.0


@dataclass(frozen=True)
class StreamFunction:
    logical_id: str
    handler: str
    batch_size: int
    filter_patterns: tuple[dict[str, Any], ...]
    starting_position: str = "LATEST"
    batching_window: float = 0.0


def stream_functions() -> list[StreamFunction]:
    found: list[StreamFunction] = []
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        for event in (props.get("Events") or {}).values():
            if event["Type"] != "DynamoDB":
                continue
            event_props = event["Properties"]
            filters = (event_props.get("FilterCriteria") or {}).get("Filters") or []
            patterns = tuple(json.loads(f["Pattern"]) for f in filters)
            found.append(
                StreamFunction(
                    logical_id,
                    props["Handler"],
                    int(event_props.get("BatchSize", 100)),
                    patterns,
                    str(event_props.get("StartingPosition", "LATEST")),
                    float(event_props.get("MaximumBatchingWindowInSeconds", 0)),
                )
            )
    return found


def _matches(pattern: Any, value: Any) -> bool:
    """The subset of Lambda's filter syntax the template uses: nested keys, value lists."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and _matches(p, value[k]) for k, p in pattern.items())
    if isinstance(pattern, list):
        return value in pattern
    return bool(pattern == value)


def passes(function: StreamFunction, record: dict[str, Any]) -> bool:
    return not function.filter_patterns or any(_matches(p, record) for p in function.filter_patterns)


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    # boto3 parses ApproximateCreationDateTime into a datetime; Lambda delivers epoch seconds.
    dynamodb = dict(record.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSource": "aws:dynamodb"}


class StreamReader:
    """One thread per stream-fed function."""

    def __init__(
        self,
        functions: list[StreamFunction],
        endpoint_url: str,
        region: str,
        table_name: str,
        state_dir: Path | None = None,
    ) -> None:
        self.functions = functions
        self.endpoint_url = endpoint_url
        self.region = region
        self.table_name = table_name
        # The embedded emulator's data directory (None: nothing survives a stop, so nothing to resume).
        self.state_dir = state_dir
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Per function: the iterator after the last batch taken, and whether a batch was given up on.
        self._iterators: dict[str, str] = {}
        self._skipped: set[str] = set()

    def start(self) -> None:
        caught_up = self.state_dir is not None and (self.state_dir / CAUGHT_UP_MARKER).exists()
        if caught_up:
            assert self.state_dir is not None
            # Removed before anything is processed: a crash from here on must replay again.
            (self.state_dir / CAUGHT_UP_MARKER).unlink()
        for function in self.functions:
            position = "LATEST" if caught_up else function.starting_position
            iterator = self._iterator(position)
            thread = threading.Thread(
                target=self._loop, args=(function, iterator), name=f"stream-{function.logical_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _client(self) -> Any:
        return boto3.client("dynamodbstreams", endpoint_url=self.endpoint_url, region_name=self.region)

    def _iterator(self, position: str) -> str:
        """A shard iterator at LATEST or TRIM_HORIZON (the oldest record the emulator keeps)."""
        dynamodb = boto3.client("dynamodb", endpoint_url=self.endpoint_url, region_name=self.region)
        arn = dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        streams = self._client()
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        return str(
            streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=position)["ShardIterator"]
        )

    def _loop(self, function: StreamFunction, iterator: str) -> None:
        streams = self._client()
        module_name, attr = function.handler.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), attr)
        idle_wait = POLL_SECONDS
        # Records gathered for the next batch (a batching window), and when the window closes.
        pending: list[dict[str, Any]] = []
        window_ends = 0.0
        while not self._stop.is_set():
            try:
                answer = streams.get_records(ShardIterator=iterator, Limit=function.batch_size - len(pending))
            except Exception as exc:
                if is_unavailable(exc):
                    # The emulator is down or restarting: say so once a second, without a traceback.
                    logger.warning(
                        "Table stream for %s unreachable (%s); retrying", function.logical_id, type(exc).__name__
                    )
                elif isinstance(exc, ClientError):
                    # The iterator fell behind the emulator's bounded stream (as a trimmed/expired iterator on
                    # DynamoDB Streams): resume from the function's starting position (an idempotent
                    # TRIM_HORIZON consumer re-reads what is kept; a LATEST one skips to the newest record,
                    # what fell off is documented as lost).
                    code = exc.response.get("Error", {}).get("Code") or exc.response.get("ResponseMetadata", {}).get(
                        "HTTPStatusCode"
                    )
                    logger.warning(
                        "Table stream iterator for %s lost (%s); resuming from %s",
                        function.logical_id,
                        code,
                        function.starting_position,
                    )
                    try:
                        iterator = self._iterator(function.starting_position)
                    except Exception:  # noqa: BLE001 - retried on the next round
                        logger.warning("Could not reopen the table stream for %s; retrying", function.logical_id)
                else:
                    logger.exception("Reading the table stream for %s failed", function.logical_id)
                self._stop.wait(1)
                continue
            iterator = answer.get("NextShardIterator") or iterator
            records = [_jsonable(r) for r in answer.get("Records", []) if passes(function, r)]
            if records and not pending:
                window_ends = time.monotonic() + function.batching_window
            pending.extend(records)
            if pending and (len(pending) >= function.batch_size or time.monotonic() >= window_ends):
                if not self._invoke(function, handler, pending):
                    self._skipped.add(function.logical_id)
                pending = []
            if not pending:
                # Only what was handed to the function counts as taken (the drain at stop resumes here).
                self._iterators[function.logical_id] = iterator
            if answer.get("Records"):
                idle_wait = POLL_SECONDS
            else:
                self._stop.wait(idle_wait)
                idle_wait = min(idle_wait * 2, IDLE_POLL_SECONDS)

    def _invoke(self, function: StreamFunction, handler: Any, records: list[dict[str, Any]]) -> bool:
        """Run the batch, retried; False if it was given up on (skipped, as Lambda does after its retries)."""
        for attempt in range(RETRIES + 1):
            context = LocalLambdaContext(function_name=function.logical_id, aws_request_id=str(uuid.uuid4()))
            try:
                handler({"Records": records}, context)
                return True
            except Exception as exc:
                if is_unavailable(exc):
                    logger.warning(
                        "Stream function %s: store unreachable (attempt %d)", function.logical_id, attempt + 1
                    )
                else:
                    logger.exception("Stream function %s failed (attempt %d)", function.logical_id, attempt + 1)
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the readers; with a data directory, drain the TRIM_HORIZON functions and mark them caught up."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.state_dir is None or any(thread.is_alive() for thread in self._threads):
            return
        try:
            drained = all(self._drain(f) for f in self.functions if f.starting_position == "TRIM_HORIZON")
        except Exception:  # not drained: the next start replays, which is always safe
            logger.warning("Could not drain the table stream at stop; the next start replays it", exc_info=True)
            return
        if drained:
            (self.state_dir / CAUGHT_UP_MARKER).touch()

    def _drain(self, function: StreamFunction) -> bool:
        """Process what is left on the stream for `function` (the API has stopped writing); True when done."""
        iterator = self._iterators.get(function.logical_id)
        if iterator is None or function.logical_id in self._skipped:
            return False
        streams = self._client()
        module_name, attr = function.handler.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), attr)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            answer = streams.get_records(ShardIterator=iterator, Limit=function.batch_size)
            if not answer.get("Records"):
                return True
            iterator = answer.get("NextShardIterator") or iterator
            records = [_jsonable(r) for r in answer["Records"] if passes(function, r)]
            if records and not self._invoke(function, handler, records):
                return False
        return False
