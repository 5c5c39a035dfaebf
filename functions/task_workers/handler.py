"""Lambda for Prefect's `task_workers` routes."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("task_workers")
