"""Issue #14, secure by default on AWS: the template's default is an API key generated into Secrets
Manager and read at init by the functions (never a plain environment variable); an unreadable key
refuses to serve instead of serving an open API; bodies must be JSON (no CSRF through simple requests)."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator

import pytest

from infra.template import load_template
from shared.config import AuthNotConfigured
from tests.aws_env import emulator_client, stack_aws_env
from tests.lambda_support import LambdaContext, decode_body, http_api_event


@pytest.fixture
def secret_arn(aws_endpoint_url: str) -> str:
    client = emulator_client("secretsmanager", aws_endpoint_url)
    return str(
        client.create_secret(Name=f"sf-key-{uuid.uuid4().hex[:8]}", SecretString="k3y-from-secrets-manager")["ARN"]
    )


@pytest.fixture
def keyed_env(aws_endpoint_url: str, secret_arn: str) -> Iterator[None]:
    with stack_aws_env(
        aws_endpoint_url,
        SERVERFLOW_AUTH_MODE="ApiKey",
        SERVERFLOW_API_KEY_SECRET_ARN=secret_arn,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=aws_endpoint_url,
    ):
        yield


def _handler() -> object:
    import functions.flows.handler as module

    return importlib.reload(module).handler


def test_the_key_is_read_from_secrets_manager_at_init_and_required(keyed_env: None) -> None:
    handler = _handler()
    anonymous = handler(http_api_event("POST", "/api/flows/filter", {}), LambdaContext())
    assert anonymous["statusCode"] == 401
    keyed = handler(
        http_api_event("POST", "/api/flows/filter", {}, headers={"authorization": "Bearer k3y-from-secrets-manager"}),
        LambdaContext(),
    )
    assert keyed["statusCode"] == 200, decode_body(keyed)


def test_an_unreadable_key_fails_closed(aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings are read at init: a key that cannot be read stops the container, never serves open."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    from shared.config import get_settings, reset_settings_cache

    monkeypatch.delenv("SERVERFLOW_API_KEY", raising=False)
    monkeypatch.setenv("SERVERFLOW_AUTH_MODE", "ApiKey")
    monkeypatch.setenv(
        "SERVERFLOW_API_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws_endpoint_url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reset_settings_cache()
    try:
        with pytest.raises(GetParameterError, match="can't find the specified secret"):
            get_settings()
        monkeypatch.delenv("SERVERFLOW_API_KEY_SECRET_ARN")
        reset_settings_cache()
        with pytest.raises(AuthNotConfigured):
            get_settings()
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_a_text_plain_bulk_delete_is_refused_on_the_lambda_path(keyed_env: None) -> None:
    handler = _handler()
    event = http_api_event(
        "POST",
        "/api/flows/bulk_delete",
        b"{}",
        headers={"content-type": "text/plain", "authorization": "Bearer k3y-from-secrets-manager"},
    )
    assert handler(event, LambdaContext())["statusCode"] == 415


def test_the_template_is_secure_by_default() -> None:
    template = load_template()
    params = template["Parameters"]
    assert params["AuthMode"]["Default"] == "ApiKey" and "Open" in params["AuthMode"]["AllowedValues"]
    assert "ApiKey" not in params, "no plain-text key parameter"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert "SERVERFLOW_API_KEY" not in variables, "the key must not sit in plain environment variables"
    throttling = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert throttling["ThrottlingRateLimit"] and throttling["ThrottlingBurstLimit"]
    assert "ReservedConcurrentExecutions" in template["Globals"]["Function"]
    resources = template["Resources"]
    secret_readers = set()
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        policies = resource["Properties"].get("Policies") or []
        if any("AWSSecretsManagerGetSecretValuePolicy" in p for p in policies if isinstance(p, dict)):
            secret_readers.add(name)
        # The over-grants are gone: neither function touches the table.
        if name in ("CsrfTokenFunction", "CollectionsFunction"):
            assert all("DynamoDB" not in str(p) for p in policies), name
    # Every function serving (or calling) the API may read the key.
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        events = (resource["Properties"].get("Events") or {}).values()
        if any(e.get("Type") == "HttpApi" for e in events) or name in ("WorkerFunction", "EventsSocketFunction"):
            assert name in secret_readers, name
