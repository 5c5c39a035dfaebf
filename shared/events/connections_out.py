"""Where the fan-out posts frames: API Gateway's `@connections` API, or the local hub.

Configuration decides, as everywhere else: with SERVERFLOW_EVENTS_SOCKET_MANAGEMENT_URL
(template.yaml sets it on AWS: https://<api>.execute-api.<region>.amazonaws.com/<stage>)
frames go through PostToConnection; without it (the local stack) to the in-process hub.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from botocore.exceptions import ClientError

from shared.config import get_settings
from shared.events import local_hub
from shared.events.subscriptions import ConnectionGone, Poster

MANAGEMENT_URL_ENV = "SERVERFLOW_EVENTS_SOCKET_MANAGEMENT_URL"


@functools.lru_cache(maxsize=8)
def management_api(endpoint_url: str) -> Any:
    """The `@connections` API client of a WebSocket API endpoint, built once per container: a boto3 client costs
    ~4 ms of CPU to build (warm; the first one also loads the service model), and the events socket posted
    through a new one for each auth reply, the fan-out for each stream batch. Clients are thread-safe."""
    # boto3 imported on first use: not at cold start.
    import boto3

    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, region_name=get_settings().region)


def apigw_poster(endpoint_url: str, client: Any = None) -> Poster:
    api = client or management_api(endpoint_url)

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
