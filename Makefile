# `sam build` runs `make build-<function's logical id>` with ARTIFACTS_DIR set, for every function of
# template.yaml (each one's Metadata: BuildMethod: makefile). They all ship the same package, built as the
# CDK asset is (infra/lambda_package.py): the Lambda lock installed for python3.11 on arm64, the code, and
# the bytecode of both, which /var/task being read-only would otherwise make every cold start compile.
# SAM builds each makefile function on its own: the package is built once per source digest under
# .aws-sam/lambda-package and linked into each function's artifacts.
# Run `sam build --build-in-source` (samconfig.toml sets it): building in a copy would copy the venvs too.
build-%:
	python3.11 -m infra.lambda_package --cache .aws-sam/lambda-package "$(ARTIFACTS_DIR)"
