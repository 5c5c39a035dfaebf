"""The CDK app synthesizes offline by including template.yaml (nothing re-declared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.template import function_domains, resources

pytest.importorskip("aws_cdk", reason="aws-cdk-lib is part of the test extra")


def test_cdk_app_includes_the_sam_template_with_code_assets(tmp_path: Path) -> None:
    from infra.cdk.app import build_app

    build_app(str(tmp_path)).synth()
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
