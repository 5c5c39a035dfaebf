"""Fixtures shared by the task-run tests over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.aws_env import stack_aws_env
from tests.support.events import running_flow_run


@pytest.fixture
def flow_run(client: httpx.Client) -> dict[str, Any]:
    """A flow run in RUNNING, as the prefect client's flow engine leaves it while its tasks run."""
    return running_flow_run(client)


@pytest.fixture
def aws(aws_endpoint_url: str) -> Iterator[None]:
    """Storage in this process on the stack's table: the recorder run here as a second (or a crashing) one."""
    with stack_aws_env(aws_endpoint_url):
        yield
