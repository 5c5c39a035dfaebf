"""Background tasks with the real prefect client on the local stack: `task.delay()` ×20 from
one process, two `Task.serve()` task workers in others; each task run executes once, and
/task_workers/filter lists the subscribed workers."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.prefect_env import SCRIPTS, prefect_env

RUNS = 20


def test_delay_twenty_runs_each_once_across_two_task_workers(api_url: str, client: httpx.Client) -> None:
    with tempfile.TemporaryDirectory(prefix="bg-tasks-") as shared:
        record_file = Path(shared) / "record.txt"
        record_file.touch()
        # Parameters of delayed runs go to result storage: the workers must read the same one.
        env = {
            **prefect_env(api_url, shared),
            "RECORD_FILE": str(record_file),
            "PREFECT_LOCAL_STORAGE_PATH": str(Path(shared) / "storage"),
        }
        before = {w["identifier"] for w in client.post("/task_workers/filter").json()}
        workers = [
            subprocess.Popen(
                [sys.executable, str(SCRIPTS / "background_tasks.py"), "serve"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 90
            listed: set[str] = set()
            while time.monotonic() < deadline:
                listed = {w["identifier"] for w in client.post("/task_workers/filter").json()} - before
                if len(listed) >= 2:
                    break
                time.sleep(0.3)
            assert len(listed) >= 2, "both task workers subscribed"
            delayed = subprocess.run(
                [sys.executable, str(SCRIPTS / "background_tasks.py"), "delay", str(RUNS)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert delayed.returncode == 0, delayed.stdout[-2000:] + delayed.stderr[-3000:]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(record_file.read_text().splitlines()) < RUNS:
                time.sleep(0.3)
            time.sleep(3)  # any duplicate delivery would have run by now
            lines = record_file.read_text().splitlines()
            assert sorted(int(line.split()[0]) for line in lines) == list(range(RUNS)), lines
            ids = [line for line in delayed.stdout.splitlines() if line.startswith("{")][-1]
            import json

            for task_run_id in json.loads(ids)["task_run_ids"]:
                deadline = time.monotonic() + 30
                state = None
                while time.monotonic() < deadline:
                    state = client.get(f"/task_runs/{task_run_id}").json()["state_type"]
                    if state == "COMPLETED":
                        break
                    time.sleep(0.2)
                assert state == "COMPLETED", task_run_id
            print(
                f"\nruns per worker process: { {pid: sum(1 for line in lines if line.endswith(pid)) for pid in {line.split()[1] for line in lines}} }"
            )
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
