"""/logs routes (Prefect 3.9.1 `server/api/logs.py` compatible).

The `/logs/out` websocket (live log streaming) is not served: the 3.9.1 client and
CLI never open it (see the client contract).
"""

from __future__ import annotations

from fastapi import Body, status

from shared.api.dependencies import LimitBody
from shared.api.routing import ServerflowRouter
from shared.schemas.filters.logs import LogFilter
from shared.schemas.logs import Log, LogCreate
from shared.schemas.sorting import LogSort
from shared.storage import logs as log_store

router = ServerflowRouter(prefix="/logs", tags=["Logs"])


@router.post("/", status_code=status.HTTP_201_CREATED)
def create_logs(logs: list[LogCreate]) -> None:
    log_store.create_many(logs)


@router.post("/filter")
def read_logs(
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    logs: LogFilter | None = None,
    sort: LogSort = Body(LogSort.TIMESTAMP_ASC),
) -> list[Log]:
    return log_store.read_logs(logs, offset=offset, limit=limit, sort=sort)
