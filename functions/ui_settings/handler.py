"""Lambda for `GET /ui-settings` (Prefect's UI reads it at the root, beside its static files)."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("ui_settings")
