"""The Lambda path reads explicit null body parameters as defaults too, on the test env's FastAPI.

The stack (tests/api/test_null_means_default.py) runs the locked FastAPI; handlers invoked here run on
whatever FastAPI prefect's pins chose for the test env, so the mechanism is checked on both versions.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import fastapi
import httpx
import pytest

from tests.aws_env import stack_aws_env
from tests.lambda_support import LambdaContext, decode_body, http_api_event


@pytest.fixture(scope="module")
def lambda_env(aws_endpoint_url: str) -> Iterator[None]:
    with stack_aws_env(aws_endpoint_url):
        yield


def invoke(domain: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    handler = importlib.import_module(f"functions.{domain}.handler").handler
    response = handler(http_api_event(method, path, body), LambdaContext())
    return response["statusCode"], decode_body(response)


def test_null_sort_offset_and_limit_are_the_defaults_in_a_lambda(lambda_env: None, client: httpx.Client) -> None:
    flow_id = client.post("/flows/", json={"name": "lambda-null-defaults"}).json()["id"]
    scope = {"flows": {"id": {"any_": [flow_id]}}}
    status, with_nulls = invoke(
        "flows", "POST", "/api/flows/filter", {**scope, "sort": None, "offset": None, "limit": None}
    )
    assert status == 200, (fastapi.__version__, with_nulls)
    assert with_nulls == invoke("flows", "POST", "/api/flows/filter", scope)[1]
    assert [flow["id"] for flow in with_nulls] == [flow_id]


def test_a_required_null_is_still_missing_in_a_lambda(lambda_env: None) -> None:
    status, body = invoke(
        "flow_runs", "POST", "/api/flow_runs/00000000-0000-0000-0000-000000000000/set_state", {"state": None}
    )
    assert status == 422, body
    assert [(error["type"], error["loc"]) for error in body["exception_detail"]] == [("missing", ["body", "state"])]
