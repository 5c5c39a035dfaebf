"""Lambda for Prefect's `work_queues` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("work_queues")
