"""Ship compiled bytecode in the Lambda code asset (issue #13: cold start).

/var/task is read-only: a module whose .pyc is missing or judged stale is compiled again at every cold
start, and nothing can cache the result. Two things make that the default:
- our code is copied without __pycache__ (the asset excludes it), so every cold start compiled all our modules
  (~80-100 ms of CPU for an API handler, measured in bench/imports.py's layout);
- pip writes timestamp-checked .pyc files for the dependencies, which stay valid only while each source file
  keeps the exact mtime it had when compiled; zipping the asset (2-second DOS times, or dates pinned for
  reproducible archives) does not keep it.
Compiling the whole asset with `unchecked-hash` .pyc files removes both: the interpreter loads them without
looking at the source's mtime, which is right for a package that never changes once deployed.

The bytecode is only valid for the interpreter version that wrote it: the compiler must be the functions'
runtime (python3.11, template.yaml Globals).
"""

from __future__ import annotations

import sys
from pathlib import Path

LAMBDA_PYTHON = "3.11"


def can_compile_for_lambda(python_version: tuple[int, int] = (sys.version_info[0], sys.version_info[1])) -> bool:
    """Whether this interpreter writes bytecode the Lambda runtime loads (the same minor version)."""
    return ".".join(map(str, python_version)) == LAMBDA_PYTHON


def compile_command(target: Path, python: str = sys.executable) -> list[str]:
    """Compile every module under target (dependencies included: -f rewrites pip's timestamp .pyc files)."""
    return [
        python,
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        str(target),
    ]
