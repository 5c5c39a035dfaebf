"""Lambda for Prefect's `flows` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("flows")
