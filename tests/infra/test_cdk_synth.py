"""The CDK app synthesizes offline by including template.yaml (nothing re-declared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.template import function_domains, resources

pytest.importorskip("aws_cdk", reason="aws-cdk-lib is part of the test extra")


def test_cdk_app_includes_the_sam_template_with_code_assets(tmp_path: Path) -> None:
    from infra.cdk.app import build_app

    build_app(str(tmp_path), bundle=False).synth()
    synthesized = json.loads(next(tmp_path.glob("*.template.json")).read_text())
    assert synthesized["Transform"] == "AWS::Serverless-2016-10-31"
    declared = resources()
    # Every template resource is carried over unchanged in kind.
    for logical_id, resource in declared.items():
        assert synthesized["Resources"][logical_id]["Type"] == resource["Type"]
    for logical_id in function_domains():
        code_uri = synthesized["Resources"][logical_id]["Properties"]["CodeUri"]
        assert set(code_uri) == {"Bucket", "Key"} and code_uri["Key"].endswith(".zip")
    assets = json.loads(next(tmp_path.glob("*.assets.json")).read_text())
    assert assets["files"], "the project's code is packaged as an asset"


def test_the_lambda_asset_bundles_the_lambda_lock_for_arm64(tmp_path: Path) -> None:
    """What CDK deploys: the code plus requirements.txt installed as wheels for python3.11 on arm64."""
    from packaging.utils import canonicalize_name

    from infra.cdk.bundling import bundle
    from tests.server_env import LAMBDA_LOCK
    from tests.support.locks import locked

    bundle(tmp_path)
    shipped = {}
    for dist_info in tmp_path.glob("*.dist-info"):
        metadata = dict(
            line.split(": ", 1) for line in (dist_info / "METADATA").read_text().splitlines() if ": " in line
        )
        shipped[canonicalize_name(metadata["Name"])] = metadata["Version"]
    assert shipped == locked(LAMBDA_LOCK)
    assert list(tmp_path.glob("pydantic_core/*aarch64*.so")), "compiled wheels are the Lambda platform's"
    assert (tmp_path / "functions" / "flows" / "handler.py").exists() and (
        tmp_path / "shared" / "api" / "app.py"
    ).exists()
    assert not (tmp_path / "tests").exists() and not (tmp_path / ".venv").exists()
    # Bytecode the read-only /var/task loads without checking mtimes (zipping does not keep them), ours and the
    # dependencies': pyc flags 0b01 = hash-based, source not checked.
    for module in ("shared/api/app.py", "fastapi/applications.py", "botocore/session.py"):
        source = tmp_path / module
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 1, module


def test_cdk_app_uploads_the_extracted_ui_into_the_templates_ui_bucket(tmp_path: Path) -> None:
    from infra import ui_assets
    from infra.cdk.app import build_app

    build_app(str(tmp_path), bundle=False).synth()  # the code asset's bundling is the test above's
    synthesized = json.loads(next(tmp_path.glob("*.template.json")).read_text())
    uploads = [r for r in synthesized["Resources"].values() if r["Type"] == "Custom::CDKBucketDeployment"]
    assert len(uploads) == 1
    assert uploads[0]["Properties"]["DestinationBucketName"] == {"Ref": "UiBucket"}
    assert uploads[0]["Properties"]["DistributionId"] == {"Ref": "Distribution"}
    # The uploaded asset is build/ui: both bundles, base URLs filled in.
    assets = json.loads(next(tmp_path.glob("*.assets.json")).read_text())
    staged = [tmp_path / f["source"]["path"] for f in assets["files"].values()]
    ui_dirs = [d for d in staged if (d / "v2" / "index.html").exists()]
    assert ui_dirs, "the UI folder is a CDK asset"
    index = (ui_dirs[0] / "v2" / "index.html").read_text()
    assert ui_assets.BASE_URL_PLACEHOLDER not in index and 'src="/v2/assets/' in index
