"""Run the template's scheduled functions locally, on their EventBridge rates.

Each function declared with a `Schedule`/`ScheduleV2` event in template.yaml is
invoked in-process with an EventBridge "Scheduled Event", through the very
handler Lambda would call.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.template import resources

logger = logging.getLogger("serverflow.local.schedules")

_RATE = re.compile(r"^rate\((\d+)\s+(second|seconds|minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduledFunction:
    logical_id: str
    handler: str
    every_seconds: float


def parse_rate(expression: str) -> float:
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"Only rate(...) expressions run locally, got {expression!r}")
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return float(amount * _UNIT_SECONDS[unit])


def scheduled_functions() -> list[ScheduledFunction]:
    found: list[ScheduledFunction] = []
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        for event in (props.get("Events") or {}).values():
            if event["Type"] in ("Schedule", "ScheduleV2"):
                expression = event["Properties"].get("Schedule") or event["Properties"]["ScheduleExpression"]
                found.append(ScheduledFunction(logical_id, props["Handler"], parse_rate(expression)))
    return found


def scheduled_event(function: ScheduledFunction) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{function.logical_id}"],
        "detail": {},
    }


@dataclass(frozen=True)
class LocalLambdaContext:
    """What Lambda passes as `context`; Powertools reads these attributes."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:local"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def invoke(function: ScheduledFunction) -> Any:
    module_name, attr = function.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attr)
    context = LocalLambdaContext(function_name=function.logical_id, aws_request_id=str(uuid.uuid4()))
    return handler(scheduled_event(function), context)


class Ticker:
    """One daemon thread per scheduled function; stops when `stop()` is called."""

    def __init__(self, functions: list[ScheduledFunction], speedup: float = 1.0) -> None:
        self.functions = functions
        self.speedup = speedup
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for function in self.functions:
            thread = threading.Thread(target=self._loop, args=(function,), name=function.logical_id, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self, function: ScheduledFunction) -> None:
        interval = max(function.every_seconds / self.speedup, 0.5)
        while not self._stop.wait(interval):
            started = time.monotonic()
            try:
                invoke(function)
            except Exception:  # a failing tick must not stop later ticks, as on EventBridge
                logger.exception("Scheduled function %s failed", function.logical_id)
            logger.debug("%s ran in %.3fs", function.logical_id, time.monotonic() - started)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
