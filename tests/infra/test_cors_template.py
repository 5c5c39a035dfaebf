"""CORS settings reach AWS from one place: template parameters -> functions' env and the HTTP API."""

from __future__ import annotations

from infra.template import load_template

SETTINGS = {"Origins": "ORIGINS", "Methods": "METHODS", "Headers": "HEADERS"}


def test_cors_parameters_default_to_any_as_the_reference() -> None:
    parameters = load_template()["Parameters"]
    for kind in SETTINGS:
        assert parameters[f"CorsAllowed{kind}"]["Default"] == "*"


def test_cors_parameters_reach_every_function_and_the_http_api() -> None:
    template = load_template()
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    for kind, suffix in SETTINGS.items():
        assert env[f"SERVERFLOW_CORS_ALLOWED_{suffix}"] == {"Ref": f"CorsAllowed{kind}"}
        assert cors[f"Allow{kind}"] == {"Fn::Split": [",", {"Ref": f"CorsAllowed{kind}"}]}
    assert cors["MaxAge"] == 600
