"""/logs routes (Prefect 3.9.1 `server/api/logs.py` compatible).

WS /logs/out streams live logs matching a LogFilter (no backfill, as the reference),
fanned out from the table's stream like /events/out.
"""

from __future__ import annotations

from fastapi import Body, WebSocket, status

from shared.api.dependencies import LimitBody
from shared.api.prefect_socket import serve_subscription
from shared.api.routing import ServerflowRouter
from shared.schemas.filters.logs import LogFilter
from shared.schemas.logs import Log, LogCreate
from shared.schemas.sorting import LogSort
from shared.storage import logs as log_store

router = ServerflowRouter(prefix="/logs", tags=["Logs"])


@router.post("/", status_code=status.HTTP_201_CREATED)
def create_logs(logs: list[LogCreate]) -> None:
    """Create new logs from the provided schema.

    For more information, see https://www.prefect.io/docs/v3/how-to-guides/workflows/add-logging.
    """
    log_store.create_many(logs)


@router.post("/filter")
def read_logs(
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    logs: LogFilter | None = None,
    sort: LogSort = Body(LogSort.TIMESTAMP_ASC),
) -> list[Log]:
    """Query for logs."""
    return log_store.read_logs(logs, offset=offset, limit=limit, sort=sort)


@router.websocket("/out")
async def stream_logs_out(websocket: WebSocket) -> None:
    """Serve a WebSocket to stream live logs: auth, a filter message, then matching logs."""
    await serve_subscription(websocket, "logs")
