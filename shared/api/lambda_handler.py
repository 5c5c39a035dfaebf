"""Wire one domain's router into a Lambda handler: Mangum + Powertools.

The Logger (with the API Gateway request id as correlation id) wraps the ASGI adapter, and the Tracer too
when tracing is on; the app is built once per container (cold start).

Nothing here is billed per request beyond the invocation itself: tracing is off by default (template
parameter `Tracing`; importing the X-Ray SDK alone costs ~100 ms of every cold start and traces are billed
per request), and there are no per-request custom metrics, since API Gateway already publishes request,
4xx and 5xx counts per route and Lambda its invocations and errors, free of charge.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from mangum import Mangum

from shared.api.app import create_app
from shared.config import get_settings
from shared.observability import tracing_enabled

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_lambda_handler(domain: str) -> LambdaHandler:
    service = f"serverflow-{domain}"
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", service)
    logger = Logger(service=service)
    adapter = Mangum(create_app([domain]), lifespan="off")

    # A named function, not the Mangum instance: the Tracer's decorator reads the handler's __name__.
    def asgi_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return adapter(event, context)

    handle: LambdaHandler = asgi_handler
    # At init, once per container: the API key comes from Secrets Manager (fails closed if unreadable).
    get_settings()
    if tracing_enabled():
        # Imported only when asked for: the X-Ray SDK is the largest single item of a cold start.
        from aws_lambda_powertools import Tracer

        handle = Tracer(service=service).capture_lambda_handler(capture_response=False)(handle)
    handler: LambdaHandler = logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
    )(handle)
    return handler
