"""Lambda for Prefect's `saved_searches` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("saved_searches")
