"""What the local stack runs on, printed at start: the interpreter's environment and the versions of the
libraries that shape the API's behaviour. `python3 dev start` makes that environment from
requirements/server.lock; the tests check the running stack against the lock through this line."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

# The web and validation stack: a different version of any of these changes what the API answers.
REPORTED = ("fastapi", "starlette", "pydantic", "pydantic-core", "mangum", "pynamodb", "boto3", "uvicorn", "moto")


def runtime_line() -> str:
    """`Runtime: python 3.11.7 fastapi==0.165.0 starlette==... (prefix <sys.prefix>)`, one line."""
    pins = []
    for name in REPORTED:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(f"{name}==absent")
    python = ".".join(map(str, sys.version_info[:3]))
    return f"Runtime: python {python} {' '.join(pins)} (prefix {sys.prefix})"
