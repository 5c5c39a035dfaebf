"""Observability that costs nothing while nothing happens.

CloudWatch bills a custom metric for every hour in which it is published and X-Ray for every trace, so a
scheduled function ticking every minute on an idle stack must publish neither: counts are added only when
non-zero, and tracing is off unless the stack turns it on (template parameter `Tracing`, which sets
POWERTOOLS_TRACE_DISABLED for every function).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() not in ("1", "true", "yes")


def add_counts(metrics: Metrics, counts: dict[str, int]) -> None:
    """Publish the non-zero counts only (an idle tick publishes no metric at all)."""
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def log_tick(logger: Any, message: str, counts: dict[str, Any], **extra: Any) -> None:
    """A tick that changed something is INFO; an idle one is DEBUG (not ingested at the default level)."""
    level = logging.INFO if any(v for v in counts.values() if isinstance(v, (int, float))) else logging.DEBUG
    logger.log(level, message, extra={**extra, **counts})
