"""Real prefect client: serve two deployments of one flow with concurrency_limit=1 (one
ENQUEUE, one CANCEL_NEW) and run what comes. Runs until killed.

argv: <flow name> <deployment name prefix>
"""

from __future__ import annotations

import sys
import time

from prefect import flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy


@flow(name=sys.argv[1] if len(sys.argv) > 1 else "limited-deployment")
def slow() -> str:
    time.sleep(4)
    return "done"


if __name__ == "__main__":
    prefix = sys.argv[2]
    serve(
        slow.to_deployment(
            name=f"{prefix}-enqueue",
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
        ),
        slow.to_deployment(
            name=f"{prefix}-cancel-new",
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        ),
    )
