"""Lambda for Prefect's `automations` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("automations")
