"""Maintenance functions run in the test process, through their Lambda handlers, against
the local stack's AWS emulator (the same table the stack's API serves)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.schedules import ScheduledFunction, scheduled_event
from tests.aws_env import stack_aws_env


@pytest.fixture(scope="module")
def aws_env(aws_endpoint_url: str) -> Iterator[None]:
    with stack_aws_env(aws_endpoint_url):
        yield


@pytest.fixture
def invoke(aws_env: None) -> Callable[[str], Any]:
    """invoke("scheduler") runs functions/scheduler/handler.py with an EventBridge Scheduled Event."""

    def run(name: str) -> Any:
        handler_path = f"functions.{name}.handler.handler"
        handler = importlib.import_module(f"functions.{name}.handler").handler
        event = scheduled_event(ScheduledFunction(name, handler_path, 60.0))
        return handler(event, None)

    return run
