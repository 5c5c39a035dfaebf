"""Read template.yaml, the single declaration of Serverflow's infrastructure.

The local emulator creates the table and queues from it, the route-consistency test
checks the routers against it, and the CDK app includes it. CloudFormation's short
tags (!Ref, !Sub, !GetAtt ...) are read as their long forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]  # a CloudFormation tag on a mapping node
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)
        return template


def resources(of_type: str | None = None, path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    found = load_template(path)["Resources"]
    return {k: v for k, v in found.items() if of_type is None or v["Type"] == of_type}


def table_definition(logical_id: str = "Table", path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The table's CloudFormation properties as DynamoDB CreateTable arguments."""
    props = resources(path=path)[logical_id]["Properties"]
    args: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return args


def table_ttl_attribute(logical_id: str = "Table", path: Path = TEMPLATE_PATH) -> str | None:
    spec = resources(path=path)[logical_id]["Properties"].get("TimeToLiveSpecification")
    return spec["AttributeName"] if spec and spec.get("Enabled") else None


@dataclass(frozen=True)
class HttpRoute:
    function: str  # logical id
    domain: str  # functions/<domain>/handler.py
    path: str
    method: str

    def matches(self, path: str) -> bool:
        """API Gateway HTTP API matching: exact path, path parameters, or greedy {proxy+}."""
        pattern = re.escape(self.path.rstrip("/"))
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", r".+", pattern)
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", pattern)
        return re.fullmatch(pattern + "/?", path) is not None


def _domain_of(handler: str) -> str:
    # Handler "functions.<domain>.handler.handler"
    parts = handler.split(".")
    if len(parts) != 4 or parts[0] != "functions":
        raise ValueError(f"Unexpected handler {handler!r}")
    return parts[1]


def function_domains(path: Path = TEMPLATE_PATH) -> dict[str, str]:
    """Logical id -> domain for every function declared in the template."""
    return {
        logical_id: _domain_of(resource["Properties"]["Handler"])
        for logical_id, resource in resources("AWS::Serverless::Function", path).items()
    }


def http_routes(path: Path = TEMPLATE_PATH) -> list[HttpRoute]:
    routes: list[HttpRoute] = []
    for logical_id, resource in resources("AWS::Serverless::Function", path).items():
        domain = _domain_of(resource["Properties"]["Handler"])
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                routes.append(HttpRoute(logical_id, domain, event["Properties"]["Path"], event["Properties"]["Method"]))
    return routes


def http_domains(path: Path = TEMPLATE_PATH) -> list[str]:
    """Domains served over the HTTP API, in template order (the local stack serves these)."""
    return list(dict.fromkeys(route.domain for route in http_routes(path)))
