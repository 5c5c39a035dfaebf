"""The handler of `POST /templates/validate`, shared by the templates router and the automations router's
deprecated alias (`/automations/templates/validate`), so neither Lambda loads the other's router."""

from __future__ import annotations

import json

from fastapi import Body, Response

DESCRIPTION = (
    "Check a Jinja template (the JSON body is the template string): 204 when it can be saved, else 422 "
    'with {"error": {"line", "message", "source"}} (syntax errors, more than 10 loops, loops nested '
    "more than 2 deep)."
)


def validate_template(template: str = Body(default="")) -> Response:
    # jinja2 is imported on the first validation: the automations Lambda serves this route only as a
    # deprecated alias, and jinja2 was ~20 ms of its cold start (issue #13).
    from jinja2 import TemplateSyntaxError

    from shared.schemas.templates import TemplateSecurityError, validate_user_template

    try:
        validate_user_template(template)
    except (TemplateSyntaxError, TemplateSecurityError) as exc:
        error = {"error": {"line": exc.lineno, "message": exc.message, "source": template}}
        return Response(status_code=422, media_type="application/json", content=json.dumps(error))
    return Response(status_code=204)
