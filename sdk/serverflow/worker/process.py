"""The flow-run subprocess: started in its own session (so cancellation can kill the whole process
group) and, on Linux, killed by the kernel if the worker dies (a killed worker's runs must not keep
running unsupervised; heartbeat expiry then marks them Crashed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any
from uuid import UUID

PR_SET_PDEATHSIG = 1


def command(run_id: UUID | str) -> list[str]:
    return [sys.executable, "-m", "serverflow.worker.run_flow_run", str(run_id)]


def environment(run_id: UUID | str, deployment: dict[str, Any], api_url: str, api_key: str | None) -> dict[str, str]:
    job_env = (deployment.get("job_variables") or {}).get("env") or {}
    env = {**os.environ, **{str(k): str(v) for k, v in job_env.items() if v is not None}}
    env.update(SERVERFLOW__FLOW_RUN_ID=str(run_id), SERVERFLOW_API_URL=api_url, PYTHONUNBUFFERED="1")
    # The worker already read the deployment: spare the subprocess two requests (run_flow_run falls back to the API).
    env["SERVERFLOW__DEPLOYMENT"] = json.dumps(
        {k: deployment.get(k) for k in ("id", "entrypoint", "path", "pull_steps")}, separators=(",", ":")
    )
    if api_key:
        env["SERVERFLOW_API_KEY"] = api_key
    return env


def _load_prctl() -> Any:
    # Resolved in the parent: the child of a multi-threaded process must not dlopen between fork and exec.
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(run_id: UUID | str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command(run_id),
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if _PRCTL is not None else None,
    )


def kill_group(proc: subprocess.Popen[bytes], grace_seconds: float) -> int:
    """SIGTERM the run's process group, SIGKILL it after the grace period; returns the exit code."""
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()
