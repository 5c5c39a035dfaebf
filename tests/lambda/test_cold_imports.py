"""What each Lambda handler pulls in at cold start (issue #13), checked structurally in a fresh interpreter.

Timing belongs in bench/imports.py; here only which modules a cold import loads: the X-Ray SDK (~100 ms of
every cold start) only when tracing is on, and an API Lambda loads its own domain's router module only (the
other domains' routers, schemas and routes are not built).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from shared.api.registry import DOMAIN_ROUTERS
from tests.server_env import REPO_ROOT, server_python

HANDLERS = sorted(p.parent.name for p in (REPO_ROOT / "functions").glob("*/handler.py"))
# API domains build their app through shared.api.lambda_handler, the one place that decides on tracing.
API_DOMAIN = "artifacts"

PROBE = (
    "import json, sys; import functions.{domain}.handler; "
    "print('PROBE', json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {watched!r})))"
)
WATCHED = ("aws_xray_sdk", "shared")


def loaded_modules(domain: str, tracing: bool) -> set[str]:
    """The watched top-level packages' modules that `import functions.<domain>.handler` loads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVERFLOW_", "POWERTOOLS_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SERVERFLOW_TABLE": "serverflow",
            "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
            "PYTHONPATH": os.pathsep.join(str(p) for p in (REPO_ROOT, REPO_ROOT / "sdk")),
        }
    )
    p = subprocess.run(
        [server_python(), "-c", PROBE.format(domain=domain, watched=set(WATCHED))],
        cwd=str(Path(REPO_ROOT)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("PROBE ")), None)
    assert line is not None, p.stderr[-2000:]
    return set(json.loads(line.removeprefix("PROBE ")))


@pytest.mark.parametrize("domain", HANDLERS)
def test_handler_cold_import_skips_xray_when_tracing_is_off(domain: str) -> None:
    loaded = loaded_modules(domain, tracing=False)
    assert not {m for m in loaded if m.startswith("aws_xray_sdk")}
    if domain in DOMAIN_ROUTERS:
        assert DOMAIN_ROUTERS[domain] in loaded  # the probe sees router modules
        assert loaded & {m for d, m in DOMAIN_ROUTERS.items() if d != domain} == set()


def test_tracing_on_does_load_xray() -> None:
    """The probe sees the SDK when it is really imported (so the checks above can fail)."""
    assert "aws_xray_sdk" in loaded_modules(API_DOMAIN, tracing=True)


# Schema models are built on first use (shared.schemas.base: defer_build); one built at import builds the whole
# tree it embeds (a pagination response: every FlowRun field) in every Lambda that imports its module. The
# compound/sequence triggers are rebuilt explicitly for their recursive `Trigger` union.
EAGER_PROBE = """
import importlib, json, pkgutil
import shared.schemas as schemas
from pydantic import BaseModel
for info in pkgutil.walk_packages(schemas.__path__, "shared.schemas."):
    importlib.import_module(info.name)

def models(cls):
    seen = set(cls.__subclasses__())
    for sub in list(seen):
        seen |= models(sub)
    return seen

def schema_classes(node):
    if isinstance(node, dict):
        if isinstance(node.get("cls"), type):
            yield node["cls"]
        for value in node.values():
            yield from schema_classes(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_classes(value)

def embeds_a_model(cls):
    return any(
        c is not cls and issubclass(c, BaseModel) for c in schema_classes(cls.__pydantic_core_schema__)
    )

built = sorted(
    f"{cls.__module__}.{cls.__qualname__}"
    for cls in models(BaseModel)
    if cls.__module__.startswith("shared.schemas.") and cls.__pydantic_complete__ and embeds_a_model(cls)
)
print("PROBE", json.dumps(built))
"""
REBUILT_AT_IMPORT = {"shared.schemas.automations.CompoundTrigger", "shared.schemas.automations.SequenceTrigger"}


def test_schema_models_that_embed_models_are_not_built_at_import() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SERVERFLOW_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (REPO_ROOT, REPO_ROOT / "sdk"))
    p = subprocess.run(
        [server_python(), "-c", EAGER_PROBE], cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=120
    )
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("PROBE ")), None)
    assert line is not None, p.stderr[-2000:]
    assert set(json.loads(line.removeprefix("PROBE "))) == REBUILT_AT_IMPORT
