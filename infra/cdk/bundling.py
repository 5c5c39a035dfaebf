"""The Lambda code asset: the project's code plus requirements.txt (the Lambda lock) installed for the
functions' runtime, python3.11 on arm64 (template.yaml Globals), as `sam build` does from the same file.

Bundled locally with pip's cross-platform wheel selection (no Docker needed); where local bundling is
not possible CDK falls back to the SAM build image doing the same steps. Both compile the asset to bytecode
(infra/lambda_bytecode.py: /var/task is read-only, so what is not shipped compiled is compiled at every cold
start); only an interpreter of the runtime's version can, so another one leaves the bundling to the image.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

from infra.lambda_bytecode import LAMBDA_PYTHON, can_compile_for_lambda, compile_command

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_LOCK = "requirements.txt"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.11"

# Everything the Lambdas do not need stays out of the asset (names, at any depth).
# sdk/ stays: the Lambda worker (functions/worker) runs flows with it.
ASSET_EXCLUDES = [
    ".git",
    ".venv",
    ".venv-test",
    ".ci",
    "tests",
    "bench",
    "cdk.out",
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


def bundle(output_dir: Path) -> None:
    """Write the asset's content into output_dir: locked dependencies, then the code, then their bytecode."""
    subprocess.run(pip_install_command(output_dir), cwd=REPO_ROOT, check=True)
    shutil.copytree(REPO_ROOT, output_dir, ignore=shutil.ignore_patterns(*ASSET_EXCLUDES), dirs_exist_ok=True)
    subprocess.run(compile_command(output_dir), cwd=REPO_ROOT, check=True)


@jsii.implements(cdk.ILocalBundling)
class LocalPipBundling:
    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        # jsii calls ILocalBundling.try_bundle(output_dir, options) positionally.
        if not can_compile_for_lambda():
            return False  # bytecode of another Python version would be ignored: the build image compiles
        bundle(Path(output_dir))
        return True


def bundling_options() -> cdk.BundlingOptions:
    return cdk.BundlingOptions(
        image=cdk.DockerImage.from_registry(BUILD_IMAGE),
        platform="linux/arm64",
        command=[
            "bash",
            "-c",
            f"pip install --no-deps -r {LAMBDA_LOCK} -t /asset-output && cp -r . /asset-output/"
            f" && {shlex.join(compile_command(Path('/asset-output'), 'python'))}",
        ],
        local=LocalPipBundling(),
    )
