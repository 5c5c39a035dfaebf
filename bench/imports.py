"""Cold import times, each in a fresh interpreter (min and median of a few runs).

Handlers are timed twice: in the server venv (what the local stack runs) and in a Lambda-like layout
(issue #13): requirements.txt installed with `pip install --target`, functions/ shared/ sdk/ beside it, all
compiled to bytecode as the shipped asset is (infra/lambda_bytecode.py), a `python -S` interpreter that sees
nothing else and writes no bytecode (/var/task is read-only: what is not shipped compiled is compiled at every
cold start), CPU time (process_time) measured next to wall time since the bench box is shared and wall time
mostly measures the neighbours.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.procs import REPO
from infra.lambda_bytecode import compile_command
from tests.server_env import server_python

SNIPPET = (
    "import time; t = time.perf_counter(); {stmt}; "
    "d = time.perf_counter() - t; import sys; print('BENCH_IMPORT', d, len(sys.modules))"
)

# What a Lambda cold start sees: dummy credentials, a region, the table name, Powertools quiet.
LAMBDA_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "SERVERFLOW_TABLE": "serverflow",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Serverflow",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}


def handler_modules(root: Path = REPO) -> list[str]:
    """`functions.<domain>.handler` for each functions/<domain>/handler.py."""
    return sorted(f"functions.{p.parent.name}.handler" for p in (root / "functions").glob("*/handler.py"))


def time_import(
    module: str,
    repeats: int = 3,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = 60.0,
    stmt: str | None = None,
    python: str = sys.executable,
) -> dict[str, Any]:
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
            p = subprocess.run(
                [python, "-c", SNIPPET.format(stmt=stmt)],
                cwd=str(REPO),
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return {"module": module, "error": f"timeout {timeout_s}s"}
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("BENCH_IMPORT ")), None)
        if line is None:
            return {"module": module, "error": (p.stderr.strip().splitlines() or ["?"])[-1][:300]}
        _, secs, n = line.split()
        times.append(float(secs))
        modules = int(n)
    return {
        "module": module,
        "stmt": stmt,
        "min_ms": round(min(times) * 1000, 1),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "modules_loaded": modules,
        "runs": len(times),
    }


# Issue #13: a domain handler's cold import must stay within this much CPU in the Lambda layout.
LAMBDA_IMPORT_TARGET_CPU_MS = 300.0
LAMBDA_LOCK = REPO / "requirements.txt"
# What sam build (CodeUri: .) puts in /var/task besides the dependencies; the worker's PYTHONPATH adds sdk/.
LAMBDA_CODE_DIRS = ("functions", "shared", "sdk")
# What every API handler must import whatever our code does (FastAPI builds pydantic.v1 in on its first route
# with a parameter; pynamodb brings botocore): timed alone beside the handlers, so the table shows how much
# of each handler is the floor and how much is ours, and how loaded the box was.
FLOOR_IMPORTS = "asyncio, fastapi, pydantic.v1, mangum, aws_lambda_powertools.logging, pynamodb.models"
LAYOUT_SNIPPET = (
    "import time; c = time.process_time(); w = time.perf_counter(); import {module}; "
    "c = time.process_time() - c; w = time.perf_counter() - w; import sys; "
    "print('BENCH_LAMBDA', c, w, len(sys.modules))"
)
# The floor imported piece by piece in one interpreter, in dependency order (each step's CPU is what it adds to
# the steps before it): which third-party import costs what.
FLOOR_PARTS = (
    ("interpreter: ssl + asyncio (anyio, starlette, mangum, urllib3 need them)", "import ssl, asyncio"),
    ("pydantic + pydantic-core", "import pydantic; from pydantic import BaseModel"),
    ("starlette", "import starlette.applications, starlette.routing"),
    ("fastapi: its own modules (openapi.models built at import), opentelemetry-api", "import fastapi"),
    ("pydantic.v1: FastAPI's v1 check on the first route field", "import pydantic.v1"),
    ("mangum", "import mangum"),
    ("aws_lambda_powertools.logging", "import aws_lambda_powertools.logging"),
    ("botocore (pynamodb's client: session, endpoints, urllib3)", "import botocore.session, botocore.client"),
    ("pynamodb", "import pynamodb.models, pynamodb.connection"),
)
FLOOR_PARTS_SNIPPET = (
    "import time, json\nout = []\nfor stmt in {stmts!r}:\n    c = time.process_time(); exec(stmt)\n"
    "    out.append(time.process_time() - c)\nprint('BENCH_FLOOR_PARTS', json.dumps(out))"
)
# Part of the layout's cache key: a layout built another way is another directory.
LAYOUT_BUILD = "pip-target+unchecked-hash-pyc"


def lambda_layout(python: str, install: bool = True, timeout_s: float = 900.0) -> Path | None:
    """A /var/task look-alike: the Lambda lock installed with `pip install --target` once per lock version
    (cached in the temp dir: the install is minutes, the copy of our code a fraction of a second), and this
    checkout's code copied beside it afresh each call. None when not cached and `install` is off."""
    digest = hashlib.sha256(LAMBDA_LOCK.read_bytes() + LAYOUT_BUILD.encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"serverflow-lambda-layout-{digest}"
    package = root / "package"
    done = root / ".installed"
    if not done.exists():
        if not install:
            return None
        shutil.rmtree(package, ignore_errors=True)
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(package),
                "-r",
                str(LAMBDA_LOCK),
            ],
            check=True,
            timeout=timeout_s,
            capture_output=True,
        )
        subprocess.run(compile_command(package, python), check=True, timeout=timeout_s, capture_output=True)
        done.touch()
    code = root / "task"
    shutil.rmtree(code, ignore_errors=True)
    for name in LAMBDA_CODE_DIRS:
        shutil.copytree(REPO / name, code / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run(compile_command(code, python), check=True, timeout=timeout_s, capture_output=True)
    return root


def _layout_line(snippet: str, marker: str, layout: Path, python: str, timeout_s: float) -> str:
    """The `marker` line printed by `snippet` in a fresh `python -S` interpreter that sees only the layout (no
    site-packages) and writes no bytecode (read-only /var/task), with the env a Lambda cold start has; raises
    RuntimeError with the interpreter's last error line when there is none."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **LAMBDA_ENV,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(str(p) for p in (layout / "task", layout / "task" / "sdk", layout / "package")),
    }
    try:
        p = subprocess.run(
            [python, "-S", "-c", snippet],
            cwd=str(layout),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"timeout {timeout_s}s") from exc
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith(marker + " ")), None)
    if line is None:
        raise RuntimeError((p.stderr.strip().splitlines() or ["?"])[-1][:300])
    return line.removeprefix(marker + " ")


def time_lambda_import(
    module: str, layout: Path, python: str, repeats: int = 3, timeout_s: float = 60.0
) -> dict[str, Any]:
    """CPU and wall time of `import module` in `repeats` fresh interpreters of the layout."""
    cpu: list[float] = []
    wall: list[float] = []
    modules = 0
    for _ in range(repeats):
        try:
            line = _layout_line(LAYOUT_SNIPPET.format(module=module), "BENCH_LAMBDA", layout, python, timeout_s)
        except RuntimeError as exc:
            return {"module": module, "error": str(exc)}
        c, w, n = line.split()
        cpu.append(float(c))
        wall.append(float(w))
        modules = int(n)
    min_cpu_ms = round(min(cpu) * 1000, 1)
    return {
        "module": module,
        "cpu_min_ms": min_cpu_ms,
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "wall_min_ms": round(min(wall) * 1000, 1),
        "modules_loaded": modules,
        "runs": len(cpu),
        "target_cpu_ms": LAMBDA_IMPORT_TARGET_CPU_MS,
        "meets_target": min_cpu_ms <= LAMBDA_IMPORT_TARGET_CPU_MS,
    }


def floor_parts(layout: Path, python: str, repeats: int = 3, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """FLOOR_PARTS' CPU, each the least it added over `repeats` fresh interpreters of the layout."""
    snippet = FLOOR_PARTS_SNIPPET.format(stmts=[stmt for _, stmt in FLOOR_PARTS])
    runs: list[list[float]] = []
    for _ in range(repeats):
        try:
            runs.append(json.loads(_layout_line(snippet, "BENCH_FLOOR_PARTS", layout, python, timeout_s)))
        except RuntimeError as exc:
            return [{"part": "floor", "error": str(exc)}]
    return [
        {"part": label, "stmt": stmt, "cpu_min_ms": round(min(run[i] for run in runs) * 1000, 1)}
        for i, (label, stmt) in enumerate(FLOOR_PARTS)
    ]


def lambda_layout_report(repeats: int = 3, handler_limit: int | None = None, install: bool = True) -> dict[str, Any]:
    """Each handler's cold import in the Lambda layout, against the 300 ms CPU target."""
    python = server_python()
    try:
        layout = lambda_layout(python, install)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        return {"error": f"pip install --target failed: {stderr.decode(errors='replace')[-300:] or exc}"}
    if layout is None:
        return {"error": "layout not built yet (a full bench run installs it once per lock)"}
    return {
        "layout": str(layout),
        "target_cpu_ms": LAMBDA_IMPORT_TARGET_CPU_MS,
        "floor": time_lambda_import(FLOOR_IMPORTS, layout, python, repeats),
        "floor_parts": floor_parts(layout, python, repeats),
        "handlers": [time_lambda_import(m, layout, python, repeats) for m in handler_modules()[:handler_limit]],
    }


def import_report(repeats: int = 3, handler_limit: int | None = None) -> dict[str, Any]:
    """Handlers (each alone, Lambda-like env; again in the Lambda layout) and `import serverflow` vs
    `import prefect`."""
    # Handlers in the server env (what the stack runs); the SDK beside prefect in the test env.
    handlers = [time_import(m, repeats, LAMBDA_ENV, python=server_python()) for m in handler_modules()[:handler_limit]]
    pairs = {}
    for label, stmt in (("import", "import {pkg}"), ("flow_task", "from {pkg} import flow, task")):
        sdk = time_import("serverflow", repeats, stmt=stmt.format(pkg="serverflow"))
        ref = time_import("prefect", repeats, stmt=stmt.format(pkg="prefect"))
        ratio = (
            round(sdk["min_ms"] / ref["min_ms"], 4) if "min_ms" in sdk and "min_ms" in ref and ref["min_ms"] else None
        )
        pairs[label] = {"serverflow": sdk, "prefect": ref, "serverflow_over_prefect": ratio}
    # The install takes minutes: smoke runs (handler_limit) use a cached layout only.
    return {
        "handlers": handlers,
        "lambda_layout": lambda_layout_report(repeats, handler_limit, install=handler_limit is None),
        "sdk_vs_prefect": pairs,
    }


if __name__ == "__main__":
    print(json.dumps(import_report(), indent=2))
