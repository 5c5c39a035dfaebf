"""The Lambda package: what every function's code is, however it is deployed.

The project's code plus requirements.txt (the Lambda lock) installed for the functions' runtime, python3.11
on arm64 (template.yaml Globals), then compiled to bytecode (infra/lambda_bytecode.py: /var/task is
read-only, so what is not shipped compiled is compiled again at every cold start). Both deploy paths
build it here:
- `sam build`: every function's Metadata says `BuildMethod: makefile`, and the Makefile's `build-%`
  target runs `python3.11 -m infra.lambda_package --cache .aws-sam/lambda-package "$ARTIFACTS_DIR"` (SAM's
  own Python builder ships no bytecode at all, so each cold start compiled every module, the dependencies'
  too);
- the CDK app's code asset (infra/cdk/bundling.py).
Wheels are chosen by pip's cross-platform selection (no Docker needed). Only an interpreter of the
runtime's version writes bytecode the runtime loads, so another one refuses to build.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.lambda_bytecode import LAMBDA_PYTHON, can_compile_for_lambda, compile_command

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_LOCK = "requirements.txt"
LAMBDA_PLATFORM = "manylinux2014_aarch64"

# Everything the Lambdas do not need stays out of the package (names, at any depth).
# sdk/ stays: the Lambda worker (functions/worker) runs flows with it.
PACKAGE_EXCLUDES = [
    ".git",
    ".venv",
    ".venv-test",
    ".ci",
    ".aws-sam",
    "tests",
    "bench",
    "cdk.out",
    "build",  # the extracted UI and the wheels it came from (infra/ui_assets.py): served from S3, not Lambda
    "__pycache__",
    "*.egg-info",
    ".serverflow",
]


def pip_install_command(target: Path) -> list[str]:
    """Install exactly the Lambda lock, binary wheels for the Lambda platform only."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "-r",
        str(REPO_ROOT / LAMBDA_LOCK),
        "--target",
        str(target),
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary=:all:",
    ]


def build(output_dir: Path) -> None:
    """Write the package into output_dir: locked dependencies, then the code, then their bytecode."""
    if not can_compile_for_lambda():
        raise SystemExit(
            f"The Lambda package must be built by python{LAMBDA_PYTHON} (its bytecode is the runtime's): "
            f"this is python{sys.version_info[0]}.{sys.version_info[1]}"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(pip_install_command(output_dir), cwd=REPO_ROOT, check=True)
    shutil.copytree(REPO_ROOT, output_dir, ignore=shutil.ignore_patterns(*PACKAGE_EXCLUDES), dirs_exist_ok=True)
    subprocess.run(compile_command(output_dir), cwd=REPO_ROOT, check=True)


def _included(root: Path) -> list[Path]:
    """The project files the package copies, in a stable order."""
    ignore = shutil.ignore_patterns(*PACKAGE_EXCLUDES)
    found: list[Path] = []
    for directory, dirs, files in os.walk(root):
        ignored = ignore(directory, [*dirs, *files])
        dirs[:] = sorted(d for d in dirs if d not in ignored)
        found += [Path(directory, name) for name in sorted(files) if name not in ignored]
    return found


def source_digest(root: Path = REPO_ROOT) -> str:
    """What the package is made from: the lock, the runtime's version and every file it copies."""
    digest = hashlib.sha256(f"{LAMBDA_PYTHON} {LAMBDA_PLATFORM}\n".encode())
    for path in _included(root):
        digest.update(f"{path.relative_to(root)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _link_or_copy(source: str, target: str) -> object:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


def build_once(output_dir: Path, cache_dir: Path) -> None:
    """`build` into output_dir, from a package built once per source digest under cache_dir.

    `sam build` builds every makefile function on its own (37 here): the same package each time. The first
    build keeps it under cache_dir/<digest>; the others link its files (one package on disk, seconds per
    function instead of a pip install and a compile each). Another digest replaces the cached package."""
    cached = cache_dir / source_digest()
    if not cached.is_dir():
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
        build(staging)
        for stale in cache_dir.iterdir():
            if stale != staging and not stale.name.startswith(".building-"):
                shutil.rmtree(stale, ignore_errors=True)
        try:
            staging.rename(cached)
        except OSError:  # a parallel build kept the same package first
            shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(cached, output_dir, copy_function=_link_or_copy, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("output_dir", type=Path, help="where to write the package (sam build: $ARTIFACTS_DIR)")
    parser.add_argument("--cache", type=Path, help="build once per source digest here, then link (sam build)")
    args = parser.parse_args(argv)
    if args.cache is None:
        build(args.output_dir.resolve())
    else:
        build_once(args.output_dir.resolve(), args.cache.resolve())


if __name__ == "__main__":
    main()
