"""Lambda for Prefect's `observed-states` route."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("observed_states")
