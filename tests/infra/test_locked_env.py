"""One locked dependency set: the stack under test runs exactly requirements/server.lock.

`python3 dev test` runs pytest from the test tools' env (prefect==3.9.1 pins fastapi<0.151 there) and
the stack from the server env. The running stack reports its interpreter and web-stack versions at start
(infra/local/runtime.py); its environment must hold the lock's versions and nothing else.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.server_env import LAMBDA_LOCK, REPO_ROOT, SERVER_LOCK, server_python
from tests.stack_process import StackProcess
from tests.support.locks import locked

RUNTIME_LINE = re.compile(r"^Runtime: python (?P<python>\S+) (?P<pins>.*) \(prefix (?P<prefix>.+)\)$")
# Installed by the venv itself or by `pip install --no-deps -e .`, not dependencies of the server.
NOT_DEPENDENCIES = {"pip", "setuptools", "serverflow"}


def installed(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    return {canonicalize_name(name): version for name, version in json.loads(out).items()}


def pyproject_requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_the_running_stack_reports_the_server_env_and_the_locks_versions(stack: StackProcess) -> None:
    lines = [match for line in stack.startup if (match := RUNTIME_LINE.match(line))]
    assert lines, "the stack prints its runtime at start:\n" + "\n".join(stack.startup)
    runtime = lines[0]
    assert Path(runtime["prefix"]).resolve() == Path(server_python()).parent.parent.resolve()
    assert Path(runtime["prefix"]).resolve() != Path(sys.prefix).resolve(), "the stack must not run in the test env"
    pins = locked(SERVER_LOCK)
    reported = dict(pin.split("==") for pin in runtime["pins"].split())
    assert reported, runtime.group(0)
    for name, version in reported.items():
        assert version == pins[canonicalize_name(name)], (
            f"the stack runs {name} {version}, the lock says {pins[canonicalize_name(name)]}"
        )


def test_the_server_env_holds_exactly_the_lock() -> None:
    pins = locked(SERVER_LOCK)
    present = {name: version for name, version in installed(server_python()).items() if name not in NOT_DEPENDENCIES}
    assert present == pins, {
        "not as locked": {
            name: (present.get(name), pins.get(name))
            for name in present.keys() | pins.keys()
            if present.get(name) != pins.get(name)
        },
    }


def test_the_server_lock_satisfies_pyproject() -> None:
    """A dependency added to pyproject.toml without `python3 dev lock` fails here, not in a user's env."""
    pins = locked(SERVER_LOCK)
    for requirement in pyproject_requirements("local"):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {SERVER_LOCK.name}: run `python3 dev lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{requirement} vs locked {pins[name]}"


def test_the_lambda_lock_is_the_runtime_part_of_the_server_lock() -> None:
    """requirements.txt (what `sam build` and the CDK asset install) pins the server lock's versions and
    covers pyproject's runtime dependencies; the local-only extras stay out of Lambda."""
    server, lambda_pins = locked(SERVER_LOCK), locked(LAMBDA_LOCK)
    assert {name: server.get(name) for name in lambda_pins} == lambda_pins
    for requirement in pyproject_requirements():
        assert canonicalize_name(requirement.name) in lambda_pins, f"{requirement} missing from {LAMBDA_LOCK.name}"
    for local_only in ("moto", "uvicorn", "cfn-lint"):
        assert local_only not in lambda_pins
