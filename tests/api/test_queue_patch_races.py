"""Issue #14: PATCH /work_queues/{id} re-applies an update that lost a race with a worker's poll
(the poll stamps last_polled), as the pool PATCH does, instead of answering 503."""

from __future__ import annotations

import threading
import uuid

import httpx

UPDATES = 40


def test_queue_patch_while_two_workers_poll_never_503s(api_url: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        pool = f"race-{uuid.uuid4().hex[:8]}"
        assert client.post("/work_pools/", json={"name": pool, "type": "process"}).status_code == 201
        queue = client.post(f"/work_pools/{pool}/queues", json={"name": "q"}).json()
        stop = threading.Event()
        polls: list[int] = []

        def poll() -> None:
            with httpx.Client(base_url=api_url, timeout=30) as worker:
                while not stop.is_set():
                    polls.append(worker.post(f"/work_pools/{pool}/get_scheduled_flow_runs", json={}).status_code)

        workers = [threading.Thread(target=poll) for _ in range(2)]
        for worker in workers:
            worker.start()
        try:
            statuses = [
                client.patch(
                    f"/work_queues/{queue['id']}", json={"description": f"v{i}", "concurrency_limit": i + 1}
                ).status_code
                for i in range(UPDATES)
            ]
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=30)
        assert statuses == [204] * UPDATES, statuses
        assert polls and set(polls) == {200}, set(polls)
        final = client.get(f"/work_queues/{queue['id']}").json()
        assert final["description"] == f"v{UPDATES - 1}" and final["concurrency_limit"] == UPDATES
