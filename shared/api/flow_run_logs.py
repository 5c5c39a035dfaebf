"""`GET /flow_runs/{id}/logs/download` (Prefect 3.9.1), adopted by shared.api.flow_runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from urllib.parse import quote
from uuid import UUID

from fastapi import Path
from fastapi.responses import StreamingResponse

from shared.api.routing import ServerflowRouter
from shared.schemas.logs import Log
from shared.storage import flow_runs as flow_run_store
from shared.storage import logs as log_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/flow_runs", tags=["Flow Runs"])

CSV_HEADER = ["timestamp", "level", "flow_run_id", "task_run_id", "message"]


def _csv_rows(logs: Iterator[Log]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[object]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    yield line(CSV_HEADER)
    for log in logs:
        yield line([log.timestamp, log.level, log.flow_run_id, log.task_run_id, log.message])


@router.get(
    "/{id:uuid}/logs/download",
    response_class=StreamingResponse,
    description=(
        "Download all logs of a flow run as a CSV file (timestamp, level, flow_run_id, task_run_id, message), "
        "oldest first. On Lambda the response is buffered, so it is capped by Lambda's 6 MB response limit."
    ),
)
def download_logs(flow_run_id: UUID = Path(..., alias="id", description="The flow run id")) -> StreamingResponse:
    run = flow_run_store.read(flow_run_id)
    if run is None:
        raise ObjectNotFound("Flow run not found")
    filename = quote(f"{run.name}-logs.csv", safe="")
    return StreamingResponse(
        _csv_rows(log_store.stream_flow_run_logs(flow_run_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=\"flow-run-logs.csv\"; filename*=UTF-8''{filename}"},
    )
