"""``python -m serverflow.worker.run_flow_run <flow_run_id>``: what a worker's subprocess executes.

Loads the deployment's flow from its entrypoint (``path/to/file.py:flow_func`` relative to the
deployment's working directory, or ``package.module:flow_func``) and runs it with the SDK engine
against the existing flow run (``Flow.run_existing``). Exit code 0 means the run reported its own
final state; anything else lets the worker report Crashed.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from ..client import SyncClient
from ..entrypoints import confine, split
from ..flows import Flow

FLOW_OPTIONS = ("name", "retries", "retry_delay_seconds", "timeout_seconds", "persist_result", "log_prints", "tags")


def working_directory(deployment: dict[str, Any]) -> Path:
    """The deployment's ``path``, else a ``set_working_directory`` pull step, else the current directory."""
    if deployment.get("path"):
        return Path(deployment["path"]).expanduser()
    for step in deployment.get("pull_steps") or []:
        for key, value in (step or {}).items():
            if key.endswith("set_working_directory") and isinstance(value, dict) and value.get("directory"):
                return Path(value["directory"]).expanduser()
    return Path.cwd()


def _import_target(target: str, workdir: Path) -> Any:
    if target.endswith(".py") or "/" in target or os.sep in target:
        file = confine(target, workdir)  # never run a file from outside the deployment's source root
        if not file.exists():
            raise FileNotFoundError(f"entrypoint file {file} does not exist")
        sys.path.insert(0, str(file.parent))
        spec = importlib.util.spec_from_file_location(f"__serverflow_entrypoint__{file.stem}", file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def load_flow(entrypoint: str, workdir: Path) -> Flow[..., Any]:
    target, attribute = split(entrypoint)
    sys.path.insert(0, str(workdir))
    obj: Any = _import_target(target, workdir)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, Flow):
        return obj
    if callable(getattr(obj, "fn", None)):
        # A flow written with another Prefect-compatible decorator: run its function with our engine.
        options = {k: getattr(obj, k) for k in FLOW_OPTIONS if getattr(obj, k, None) is not None}
        return Flow(obj.fn, **options)
    raise TypeError(f"{entrypoint} is not a flow (got {type(obj).__name__})")


def _deployment_from_env() -> dict[str, Any] | None:
    raw = os.environ.get("SERVERFLOW__DEPLOYMENT")
    try:
        return dict(json.loads(raw)) if raw else None
    except ValueError:
        return None


def _deployment_from_api(client: SyncClient, run_id: str) -> dict[str, Any]:
    run = client.read_flow_run(run_id)
    return dict(client.request("GET", f"/deployments/{run.deployment_id}")) if run.deployment_id else {}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m serverflow.worker.run_flow_run <flow_run_id>", file=sys.stderr)
        return 2
    run_id = args[0]
    with SyncClient() as client:
        deployment = _deployment_from_env() or _deployment_from_api(client, run_id)
        try:
            workdir = working_directory(deployment)
            os.chdir(workdir)
            flow = load_flow(deployment.get("entrypoint") or "", workdir)
        except Exception as exc:  # noqa: BLE001 - reported on the run, as the reference does
            traceback.print_exc()
            message = f"Flow could not be retrieved from deployment: {type(exc).__name__}: {exc}"
            client.set_flow_run_state(run_id, {"type": "FAILED", "name": "Failed", "message": message})
            return 1
    flow.run_existing(run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
