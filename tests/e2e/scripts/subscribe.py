"""Subscribe with the real prefect client: print each received event (or log) as a JSON line.

Usage: subscribe.py events|logs COUNT [event-name-prefix | flow-run-id]
Prints {"ready": true} once subscribed (after the auth + filter handshake), then one
{"event": ...} / {"log": ...} line per item, then exits after COUNT items.
"""

from __future__ import annotations

import asyncio
import json
import sys
from uuid import UUID

from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.events.clients import PrefectEventSubscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.logging.clients import PrefectLogsSubscriber


async def main(channel: str, count: int, narrowing: str | None) -> None:
    received = 0
    if channel == "events":
        event_filter = EventFilter(event=EventNameFilter(prefix=[narrowing])) if narrowing else EventFilter()
        async with PrefectEventSubscriber(filter=event_filter) as subscriber:
            print(json.dumps({"ready": True}), flush=True)
            async for event in subscriber:
                print(
                    json.dumps({"event": event.event, "id": str(event.id), "resource": event.resource.id}), flush=True
                )
                received += 1
                if received >= count:
                    return
    else:
        log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(narrowing)])) if narrowing else LogFilter()
        async with PrefectLogsSubscriber(filter=log_filter) as logs:
            print(json.dumps({"ready": True}), flush=True)
            async for log in logs:
                print(json.dumps({"log": log.message, "flow_run_id": str(log.flow_run_id)}), flush=True)
                received += 1
                if received >= count:
                    return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
