"""CDK app: include template.yaml (the one source), package the code as an asset, upload the UI.

    cd infra/cdk && npx cdk deploy --app "python -m infra.cdk.app"   (from the repo root: see README)

Nothing is re-declared here: the table, functions, routes, queues and schedules come
from the SAM template; CDK only swaps each function's `CodeUri: .` for an asset of
the project's code with requirements.txt (the Lambda lock) installed (infra/cdk/bundling.py), and
uploads Prefect's built UI (build/ui, from the prefect wheel) into the template's UiBucket.
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from aws_cdk import cloudformation_include as cfn_inc
from constructs import Construct

from infra import ui_assets
from infra.cdk.bundling import bundling_options
from infra.lambda_package import PACKAGE_EXCLUDES, REPO_ROOT
from infra.template import TEMPLATE_PATH, function_domains


class ServerflowStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        template = cfn_inc.CfnInclude(self, "Template", template_file=str(TEMPLATE_PATH))
        self.asset = cdk.aws_s3_assets.Asset(
            self, "CodeAsset", path=str(REPO_ROOT), exclude=PACKAGE_EXCLUDES, bundling=bundling_options()
        )
        for logical_id in function_domains():
            function = template.get_resource(logical_id)
            function.add_property_override(
                "CodeUri", {"Bucket": self.asset.s3_bucket_name, "Key": self.asset.s3_object_key}
            )
        self.ui_deployment = self._deploy_ui(template)

    def _deploy_ui(self, template: cfn_inc.CfnInclude) -> cdk.aws_s3_deployment.BucketDeployment:
        """Prefect's built UI (infra/ui_assets.py: base URLs already filled in) into the template's UiBucket."""
        site = ui_assets.ensure_ui()
        bucket = cdk.aws_s3.Bucket.from_bucket_name(self, "UiBucketRef", template.get_resource("UiBucket").ref)
        distribution = template.get_resource("Distribution")
        return cdk.aws_s3_deployment.BucketDeployment(
            self,
            "UiDeployment",
            sources=[cdk.aws_s3_deployment.Source.asset(str(site))],
            destination_bucket=bucket,
            # New bundles have new asset names; only the entry points need a fresh copy at the edge.
            distribution=cdk.aws_cloudfront.Distribution.from_distribution_attributes(
                self,
                "DistributionRef",
                distribution_id=distribution.ref,
                domain_name=cdk.Fn.get_att(distribution.logical_id, "DomainName").to_string(),
            ),
            distribution_paths=["/", "/index.html", "/v2", "/v2/", "/v2/index.html"],
            prune=True,
        )


def build_app(outdir: str | None = None, bundle: bool = True) -> cdk.App:
    # Without bundling (synth-only checks) no stack's asset is built: CDK's "bundling-stacks" context.
    app = cdk.App(outdir=outdir, context=None if bundle else {"aws:cdk:bundling-stacks": []})
    ServerflowStack(
        app,
        os.environ.get("SERVERFLOW_STACK_NAME", "Serverflow"),
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    return app


if __name__ == "__main__":
    build_app().synth()
