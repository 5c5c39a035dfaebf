"""`POST /templates/validate` (Prefect 3.9.1 `server/api/templates.py`; the deprecated
`/automations/templates/validate` alias belongs with the automations routes)."""

from __future__ import annotations

from fastapi import Response

from shared.api.routing import ServerflowRouter
from shared.api.template_validation import DESCRIPTION, validate_template

router = ServerflowRouter(tags=["Automations"])
router.add_api_route(
    "/templates/validate", validate_template, methods=["POST"], response_class=Response, description=DESCRIPTION
)
