"""Runtime configuration read from the environment.

The only difference between AWS and the local stack is here: an endpoint URL and
credentials. Everything else (table layout, queues, routes) comes from template.yaml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    region: str
    # None on AWS (boto3 resolves the regional endpoint); the emulator's URL locally.
    aws_endpoint_url: str | None
    # Bearer API key; None disables auth (local default).
    api_key: str | None
    # Largest request body accepted; DynamoDB items are capped at 400 KB.
    max_body_bytes: int
    # Batch endpoints (logs, events) store one item per element, so a batch may be far
    # larger than one item; Lambda's synchronous payload limit is 6 MB.
    max_batch_body_bytes: int
    # Seconds a CANCELLING run may stay so before the cleanup function cancels it.
    cancelling_timeout_seconds: int
    # Server version reported to clients; the prefect client requires major version 3.
    server_version: str
    # Cross-origin requests, as the reference's PREFECT_SERVER_CORS_ALLOWED_ORIGINS / _METHODS / _HEADERS:
    # comma-separated lists, "*" (the default) allows any.
    cors_allowed_origins: tuple[str, ...]
    cors_allowed_methods: tuple[str, ...]
    cors_allowed_headers: tuple[str, ...]


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("SERVERFLOW_TABLE", "serverflow"),
        region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_endpoint_url=env.get("SERVERFLOW_AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or None,
        api_key=_api_key(env),
        max_body_bytes=int(env.get("SERVERFLOW_MAX_BODY_BYTES", str(350 * 1024))),
        max_batch_body_bytes=int(env.get("SERVERFLOW_MAX_BATCH_BODY_BYTES", str(6 * 1000 * 1000))),
        cancelling_timeout_seconds=int(env.get("SERVERFLOW_CANCELLING_TIMEOUT_SECONDS", "300")),
        server_version=env.get("SERVERFLOW_PREFECT_VERSION", "3.9.1"),
        cors_allowed_origins=_comma_list(env.get("SERVERFLOW_CORS_ALLOWED_ORIGINS", "*")),
        cors_allowed_methods=_comma_list(env.get("SERVERFLOW_CORS_ALLOWED_METHODS", "*")),
        cors_allowed_headers=_comma_list(env.get("SERVERFLOW_CORS_ALLOWED_HEADERS", "*")),
    )


class AuthNotConfigured(RuntimeError):
    """AuthMode ApiKey without a readable key: refuse to start rather than serve an open API."""


def _api_key(env: os._Environ[str] | dict[str, str]) -> str | None:
    """The bearer key: a local/test override, else the stack's Secrets Manager secret (read once, at init).

    On AWS the template sets SERVERFLOW_AUTH_MODE and the secret's ARN, never the key itself: a key in a
    plain environment variable is visible to anyone who can read the function's configuration."""
    if env.get("SERVERFLOW_API_KEY"):
        return env["SERVERFLOW_API_KEY"]
    arn = env.get("SERVERFLOW_API_KEY_SECRET_ARN")
    if arn:
        # Imported only when a secret is configured: Powertools' parameters package imports boto3 and
        # s3transfer (~20-30 ms of every cold start, issue #13), and a stack without auth never reads one.
        from aws_lambda_powertools.utilities import parameters

        key = str(parameters.get_secret(arn, max_age=3600) or "").strip()
        if key:
            return key
    if env.get("SERVERFLOW_AUTH_MODE", "").lower() == "apikey":
        # Fail closed: an unreadable key must never turn into an open API.
        raise AuthNotConfigured("SERVERFLOW_AUTH_MODE is ApiKey but no API key could be read")
    return None


def reset_settings_cache() -> None:
    """Tests and the local stack change the environment after import."""
    get_settings.cache_clear()
