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


def test_cdk_app_uploads_the_extracted_ui_into_the_templates_ui_bucket(tmp_path: Path) -> None:
    from infra import ui_assets
    from infra.cdk.app import build_app

    build_app(str(tmp_path), bundle=False).synth()  # the code asset is the Lambda package: test_lambda_package.py
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
