"""The server's environment, as opposed to the test tools' one that pytest runs in.

`python3 dev test` makes `.venv` exactly from requirements/server.lock and runs pytest from `.venv-test`
(prefect==3.9.1 and its pins live there only). Everything that runs the stack or Lambda code as a
subprocess starts it with SERVER_PYTHON, so the tests exercise the versions users and Lambda run.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_LOCK = REPO_ROOT / "requirements" / "server.lock"
LAMBDA_LOCK = REPO_ROOT / "requirements.txt"


def server_python() -> str:
    """The server env's interpreter: $SERVERFLOW_SERVER_PYTHON (set by `dev test`), else ./.venv's."""
    path = Path(os.environ.get("SERVERFLOW_SERVER_PYTHON") or REPO_ROOT / ".venv" / "bin" / "python")
    if not path.exists():
        raise RuntimeError(f"No server environment at {path}: run `python3 dev test` (it creates .venv from the lock)")
    return str(path)
