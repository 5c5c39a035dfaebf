"""The Lambda package both deploy paths ship (infra/lambda_package.py): `sam build` through the Makefile, and
the CDK app's code asset."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

from packaging.utils import canonicalize_name

from infra import lambda_package
from infra.template import resources
from tests.server_env import LAMBDA_LOCK
from tests.support.locks import locked

REPO = Path(__file__).resolve().parents[2]


def test_the_package_is_the_lambda_lock_for_arm64_and_our_code_compiled_built_once(tmp_path: Path) -> None:
    """What CDK and `sam build` deploy: the code plus requirements.txt installed as wheels for python3.11 on
    arm64, all of it compiled; `sam build` builds every function on its own, from one package per digest."""
    cache, first, second = tmp_path / "cache", tmp_path / "AdminFunction", tmp_path / "FlowsFunction"
    lambda_package.main(["--cache", str(cache), str(first)])
    shipped = {}
    for dist_info in first.glob("*.dist-info"):
        metadata = dict(
            line.split(": ", 1) for line in (dist_info / "METADATA").read_text().splitlines() if ": " in line
        )
        shipped[canonicalize_name(metadata["Name"])] = metadata["Version"]
    assert shipped == locked(LAMBDA_LOCK)
    assert list(first.glob("pydantic_core/*aarch64*.so")), "compiled wheels are the Lambda platform's"
    assert (first / "functions" / "flows" / "handler.py").exists() and (first / "shared" / "api" / "app.py").exists()
    for left_out in ("tests", "bench", ".venv", ".git", "build", ".aws-sam"):
        assert not (first / left_out).exists(), left_out
    # Bytecode the read-only /var/task loads without checking mtimes (zipping does not keep them), ours and the
    # dependencies': pyc flags 0b01 = hash-based, source not checked.
    for module in ("shared/api/app.py", "fastapi/applications.py", "botocore/session.py"):
        source = first / module
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 1, module

    # The next function's package is the same files, linked: no second pip install and compile.
    lambda_package.main(["--cache", str(cache), str(second)])
    app_pyc = Path("shared/api/__pycache__/app.cpython-311.pyc")
    assert os.stat(first / app_pyc).st_ino == os.stat(second / app_pyc).st_ino
    assert [entry.name for entry in cache.iterdir()] == [lambda_package.source_digest()]


def test_the_digest_follows_what_the_package_copies(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "a.py").write_text("A = 1\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text("T = 1\n")
    before = lambda_package.source_digest(tmp_path)
    (tmp_path / "tests" / "t.py").write_text("T = 2\n")  # not shipped: the same package
    assert lambda_package.source_digest(tmp_path) == before
    (tmp_path / "shared" / "a.py").write_text("A = 2\n")
    assert lambda_package.source_digest(tmp_path) != before


def test_sam_build_makes_every_function_with_the_makefile_in_source() -> None:
    functions = resources("AWS::Serverless::Function")
    assert functions and all(f.get("Metadata", {}).get("BuildMethod") == "makefile" for f in functions.values())
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    assert config["default"]["build"]["parameters"]["build_in_source"] is True
    # What SAM's makefile builder runs for a function: `make --makefile Makefile build-<id>` with ARTIFACTS_DIR.
    planned = subprocess.run(
        ["make", "-n", "--makefile", "Makefile", "build-FlowsFunction"],
        cwd=REPO,
        env={**os.environ, "ARTIFACTS_DIR": "/artifacts/FlowsFunction"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert planned == [
        "python3.11",
        "-m",
        "infra.lambda_package",
        "--cache",
        ".aws-sam/lambda-package",
        '"/artifacts/FlowsFunction"',
    ]
