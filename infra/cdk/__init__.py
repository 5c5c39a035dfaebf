"""CDK app that deploys template.yaml as is (CfnInclude keeps the SAM transform)."""
