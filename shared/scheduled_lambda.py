"""Wire one scheduled (EventBridge) function: a tick wrapped in Powertools' Logger and Metrics.

The counterpart of shared/api/lambda_handler.py for functions with no HTTP route: each
`functions/<name>/handler.py` names its tick and which of the tick's counts are metrics. Idle ticks
publish no metric and log at DEBUG (shared.observability), so an idle stack costs nothing beyond the
invocations. No inject_lambda_context: the local stack invokes scheduled handlers with context=None.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from shared.observability import add_counts, log_tick

ScheduledHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _counts(result: Any) -> dict[str, Any]:
    if is_dataclass(result) and not isinstance(result, type):
        return asdict(result)
    return dict(result)


def build_scheduled_handler(
    name: str, tick: Callable[[], Any], metrics_of: Mapping[str, str] | None = None
) -> ScheduledHandler:
    """`tick()` returns a dataclass or a mapping of counts; `metrics_of` maps a count's field to the
    metric it is published as (when non-zero)."""
    service = f"serverflow-{name}"
    logger = Logger(service=service)
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service=service)

    @metrics.log_metrics
    @event_source(data_class=EventBridgeEvent)
    def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
        counts = _counts(tick())
        add_counts(metrics, {metric: int(counts.get(field) or 0) for field, metric in (metrics_of or {}).items()})
        log_tick(logger, f"{name} tick", counts, event_id=event.get_id, scheduled_time=event.time)
        return counts

    return handler
