"""Wire one domain's router into a Lambda handler: Mangum + Powertools.

Logger (with the API Gateway request id as correlation id), Tracer and Metrics
wrap the ASGI adapter; the app is built once per container (cold start).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from shared.api.app import create_app
from shared.config import get_settings

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_lambda_handler(domain: str) -> LambdaHandler:
    service = f"serverflow-{domain}"
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", service)
    logger = Logger(service=service)
    tracer = Tracer(service=service)
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Serverflow"), service=service)
    asgi = Mangum(create_app([domain]), lifespan="off")
    # At init, once per container: the API key comes from Secrets Manager (fails closed if unreadable).
    get_settings()

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = asgi(event, context)
        status = int(response.get("statusCode", 500))
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if status >= 500:
            metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        elif status >= 400:
            metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return response

    return handler
