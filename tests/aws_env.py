"""Run Lambda code in the test process against the local stack's emulated AWS.

Handlers invoked directly (scheduled functions, the Lambda path, SQS workers) need the
same configuration the stack's functions get: only the endpoint and credentials differ
from AWS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

AWS_ENV = {
    "SERVERFLOW_TABLE": "serverflow",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Serverflow",
}


@contextmanager
def stack_aws_env(aws_endpoint_url: str, **extra: str) -> Iterator[None]:
    """Point this process's storage and boto3 clients at the stack's emulator, then restore."""
    from shared.config import reset_settings_cache
    from shared.storage.table import configure_table

    saved = dict(os.environ)
    try:
        os.environ.update(AWS_ENV, SERVERFLOW_AWS_ENDPOINT_URL=aws_endpoint_url, **extra)
        reset_settings_cache()
        configure_table()  # may raise (e.g. an unreadable API key): the environment is restored anyway
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings_cache()
        configure_table()


def emulator_client(service: str, aws_endpoint_url: str) -> Any:
    """A boto3 client of the stack's emulator (its fixed test credentials and region)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=aws_endpoint_url,
        region_name=AWS_ENV["AWS_REGION"],
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
