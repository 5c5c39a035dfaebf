from __future__ import annotations

import os
from functools import lru_cache
from typing import Any


def env(*names: str) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


def env_flow_run_id() -> str | None:
    return env("SERVERFLOW__FLOW_RUN_ID", "PREFECT__FLOW_RUN_ID")


@lru_cache(maxsize=8)
def fetch_flow_run(flow_run_id: str) -> Any:
    from ..client import SyncClient

    with SyncClient() as client:
        return client.read_flow_run(flow_run_id)


@lru_cache(maxsize=8)
def fetch_deployment(deployment_id: str) -> Any:
    from ..client import SyncClient

    with SyncClient() as client:
        return client.read_deployment(deployment_id)
