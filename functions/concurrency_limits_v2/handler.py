"""Lambda for Prefect's `concurrency_limits_v2` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("concurrency_limits_v2")
