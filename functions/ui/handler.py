"""Lambda for the `/ui/*` routes Prefect's UI reads."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("ui")
