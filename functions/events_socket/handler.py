"""Lambda behind the API Gateway WebSocket API serving /api/events/in (the protocol lives in shared)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from shared.events.apigw_socket import handle

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "serverflow-events-socket")
logger = Logger(service="serverflow-events-socket")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(connection_id=event.get("requestContext", {}).get("connectionId"))
    return handle(event)
