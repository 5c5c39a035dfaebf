"""Issue #14: with DynamoDB (the emulator) unreachable the API answers a retryable 503, never a 500,
and /ready and /health say it is not ready."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.stack_process import REPO_ROOT, StackProcess, free_port


def test_an_unreachable_store_is_503_with_retry_after_and_ready_false() -> None:
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "infra.local.emulator", "--port", str(port)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL
    )
    try:
        stack = StackProcess(extra_args=["--aws-endpoint-url", f"http://127.0.0.1:{port}", "--no-schedules"]).start()
        try:
            api = stack.api_url
            flow = httpx.post(f"{api}/flows/", json={"name": "before-the-outage"}).json()
            assert httpx.get(f"{api}/ready").json() == {"message": "OK"}
            emulator.terminate()
            emulator.wait(timeout=30)
            started = time.monotonic()
            for method, path, body in (
                ("GET", f"/flows/{flow['id']}", None),
                ("POST", "/flows/", {"name": "during-the-outage"}),
                ("POST", "/flow_runs/filter", {}),
            ):
                response = httpx.request(method, f"{api}{path}", json=body, timeout=120)
                assert response.status_code == 503, (path, response.status_code, response.text)
                assert int(response.headers["retry-after"]) > 0
            ready = httpx.get(f"{api}/ready", timeout=120)
            assert ready.status_code == 503 and ready.headers.get("retry-after"), ready.text
            health = httpx.get(f"{api}/health", timeout=120)
            assert health.status_code == 503 and health.json() is False
            print(f"outage answers took {time.monotonic() - started:.1f}s")
        finally:
            stack.stop()
        assert not any("Traceback" in line for line in stack.output), "\n".join(stack.output)
    finally:
        if emulator.poll() is None:
            emulator.terminate()
            emulator.wait(timeout=10)
