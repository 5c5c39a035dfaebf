"""`POST /templates/validate` (Prefect 3.9.1 `server/api/templates.py`; the deprecated
`/automations/templates/validate` alias belongs with the automations routes)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Body, Response
from jinja2 import TemplateSyntaxError

from shared.schemas.templates import TemplateSecurityError, validate_user_template

router = APIRouter(tags=["Automations"])


@router.post(
    "/templates/validate",
    response_class=Response,
    description=(
        "Check a Jinja template (the JSON body is the template string): 204 when it can be saved, else 422 "
        "with {\"error\": {\"line\", \"message\", \"source\"}} (syntax errors, more than 10 loops, loops nested "
        "more than 2 deep)."
    ),
)
def validate_template(template: str = Body(default="")) -> Response:
    try:
        validate_user_template(template)
    except (TemplateSyntaxError, TemplateSecurityError) as exc:
        error = {"error": {"line": exc.lineno, "message": exc.message, "source": template}}
        return Response(status_code=422, media_type="application/json", content=json.dumps(error))
    return Response(status_code=204)
