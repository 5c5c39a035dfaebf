"""The CDK app's code asset: the Lambda package (infra/lambda_package.py), as `sam build` builds it.

Bundled locally (no Docker needed); where local bundling is not possible (an interpreter of another
version than the runtime's cannot write its bytecode) CDK falls back to the SAM build image doing the
same steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

from infra.lambda_bytecode import can_compile_for_lambda
from infra.lambda_package import build

BUILD_IMAGE = "public.ecr.aws/sam/build-python3.11"


@jsii.implements(cdk.ILocalBundling)
class LocalPipBundling:
    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        # jsii calls ILocalBundling.try_bundle(output_dir, options) positionally.
        if not can_compile_for_lambda():
            return False  # bytecode of another Python version would be ignored: the build image compiles
        build(Path(output_dir))
        return True


def bundling_options() -> cdk.BundlingOptions:
    return cdk.BundlingOptions(
        image=cdk.DockerImage.from_registry(BUILD_IMAGE),
        platform="linux/arm64",
        # The image's python is the runtime's; the asset's source is its working directory.
        command=["python", "-m", "infra.lambda_package", "/asset-output"],
        local=LocalPipBundling(),
    )
