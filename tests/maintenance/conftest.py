"""Maintenance functions run in the test process, through their Lambda handlers, against
the local stack's AWS emulator (the same table the stack's API serves)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.schedules import ScheduledFunction, scheduled_event


@pytest.fixture(scope="module")
def aws_env(aws_endpoint_url: str) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(
        SERVERFLOW_AWS_ENDPOINT_URL=aws_endpoint_url,
        SERVERFLOW_TABLE="serverflow",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="Serverflow",
    )
    from shared.config import reset_settings_cache
    from shared.storage.table import configure_table

    reset_settings_cache()
    configure_table()
    yield
    os.environ.clear()
    os.environ.update(saved)
    reset_settings_cache()
    configure_table()


@pytest.fixture
def invoke(aws_env: None) -> Callable[[str], Any]:
    """invoke("scheduler") runs functions/scheduler/handler.py with an EventBridge Scheduled Event."""

    def run(name: str) -> Any:
        handler_path = f"functions.{name}.handler.handler"
        handler = importlib.import_module(f"functions.{name}.handler").handler
        event = scheduled_event(ScheduledFunction(name, handler_path, 60.0))
        return handler(event, None)

    return run
