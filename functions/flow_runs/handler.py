"""Lambda for Prefect's `flow_runs` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("flow_runs")
