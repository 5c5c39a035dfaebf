"""Lambda for Prefect's `csrf_token` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("csrf_token")
