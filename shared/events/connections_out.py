"""Where the fan-out posts frames: API Gateway's `@connections` API, or the local hub.

Configuration decides, as everywhere else: with SERVERFLOW_EVENTS_SOCKET_MANAGEMENT_URL
(template.yaml sets it on AWS: https://<api>.execute-api.<region>.amazonaws.com/<stage>)
frames go through PostToConnection; without it (the local stack) to the in-process hub.
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import ClientError

from shared.config import get_settings
from shared.events import local_hub
from shared.events.subscriptions import ConnectionGone, Poster

MANAGEMENT_URL_ENV = "SERVERFLOW_EVENTS_SOCKET_MANAGEMENT_URL"


def apigw_poster(endpoint_url: str, client: Any = None) -> Poster:
    # boto3 imported when a poster is made, as in apigw_socket.management_client: not at cold start.
    import boto3

    api = client or boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint_url, region_name=get_settings().region
    )

    def post(connection_id: str, message: dict[str, Any]) -> None:
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("GoneException", "410"):
                raise ConnectionGone(connection_id) from exc
            raise

    return post


def configured_poster() -> Poster:
    endpoint = os.environ.get(MANAGEMENT_URL_ENV)
    if endpoint:
        return apigw_poster(endpoint)
    return local_hub.post
