"""Cold import times, each in a fresh interpreter (min and median of a few runs)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.procs import REPO
from tests.server_env import server_python

SNIPPET = ("import time; t = time.perf_counter(); {stmt}; "
           "d = time.perf_counter() - t; import sys; print('BENCH_IMPORT', d, len(sys.modules))")

# What a Lambda cold start sees: dummy credentials, a region, the table name, Powertools quiet.
LAMBDA_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
              "AWS_DEFAULT_REGION": "us-east-1", "SERVERFLOW_TABLE": "serverflow",
              "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Serverflow",
              "POWERTOOLS_SERVICE_NAME": "bench", "AWS_LAMBDA_FUNCTION_NAME": "bench"}


def handler_modules(root: Path = REPO) -> list[str]:
    """`functions.<domain>.handler` for each functions/<domain>/handler.py."""
    return sorted(f"functions.{p.parent.name}.handler" for p in (root / "functions").glob("*/handler.py"))


def time_import(module: str, repeats: int = 3, extra_env: dict[str, str] | None = None,
                timeout_s: float = 60.0, stmt: str | None = None, python: str = sys.executable) -> dict[str, Any]:
    """Time `import module` (or `stmt`) in `repeats` fresh interpreters of `python`."""
    stmt = stmt or f"import {module}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVERFLOW_"))}
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{REPO / 'sdk'}"
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    env.update(extra_env or {})
    times: list[float] = []
    modules = 0
    for _ in range(repeats):
        try:
            p = subprocess.run([python, "-c", SNIPPET.format(stmt=stmt)], cwd=str(REPO), env=env,
                               capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"module": module, "error": f"timeout {timeout_s}s"}
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("BENCH_IMPORT ")), None)
        if line is None:
            return {"module": module, "error": (p.stderr.strip().splitlines() or ["?"])[-1][:300]}
        _, secs, n = line.split()
        times.append(float(secs))
        modules = int(n)
    return {"module": module, "stmt": stmt, "min_ms": round(min(times) * 1000, 1),
            "median_ms": round(statistics.median(times) * 1000, 1), "modules_loaded": modules, "runs": len(times)}


def import_report(repeats: int = 3, handler_limit: int | None = None) -> dict[str, Any]:
    """Handlers (each alone, Lambda-like env) and `import serverflow` vs `import prefect`."""
    # Handlers in the server env (what Lambda ships); the SDK beside prefect in the test env.
    handlers = [time_import(m, repeats, LAMBDA_ENV, python=server_python()) for m in handler_modules()[:handler_limit]]
    pairs = {}
    for label, stmt in (("import", "import {pkg}"), ("flow_task", "from {pkg} import flow, task")):
        sdk = time_import("serverflow", repeats, stmt=stmt.format(pkg="serverflow"))
        ref = time_import("prefect", repeats, stmt=stmt.format(pkg="prefect"))
        ratio = (round(sdk["min_ms"] / ref["min_ms"], 4)
                 if "min_ms" in sdk and "min_ms" in ref and ref["min_ms"] else None)
        pairs[label] = {"serverflow": sdk, "prefect": ref, "serverflow_over_prefect": ratio}
    return {"handlers": handlers, "sdk_vs_prefect": pairs}


if __name__ == "__main__":
    print(json.dumps(import_report(), indent=2))
