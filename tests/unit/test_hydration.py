"""Placeholder hydration (`__prefect_kind`) against the reference's own hydrate()."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.utilities.schema_tools import hydration as reference

from shared.schemas.hydration import HydrationError, hydrate

VARIABLES: dict[str, Any] = {"greeting": "hi", "limits": {"n": 3}}

CASES: list[dict[str, Any]] = [
    {"plain": 1, "nested": {"list": [1, {"a": None}]}},
    {"a": {"__prefect_kind": "none", "value": {"__prefect_kind": "json", "value": "[1, 2]"}}},
    {"a": {"__prefect_kind": "json", "value": '{"x": 1}'}, "b": {"__prefect_kind": "json", "value": 5}},
    {"a": {"__prefect_kind": "json"}, "b": [{"__prefect_kind": "workspace_variable"}, 2]},
    {"a": {"__prefect_kind": "workspace_variable", "variable_name": "limits"}},
    {"a": {"__prefect_kind": "jinja", "template": "{{ 1 + 2 }} and {{ missing.attr }}"}},
    {"a": {"__prefect_kind": "jinja", "template": "no template here"}},
    {"a": {"__prefect_kind": "something_else", "value": "kept"}},
    {"__prefect_kind": "json"},
]

ERRORS: list[dict[str, Any]] = [
    {"a": {"__prefect_kind": "json", "value": "{nope"}},
    {"a": {"__prefect_kind": "workspace_variable", "variable_name": "missing"}},
    {"a": {"__prefect_kind": "jinja"}},
    {"a": {"__prefect_kind": "none"}},
    {"a": {"__prefect_kind": "jinja", "template": "{{ unclosed"}},
]


def _reference(value: dict[str, Any]) -> Any:
    ctx = reference.HydrationContext(
        workspace_variables=VARIABLES, render_workspace_variables=True, render_jinja=True, raise_on_error=True
    )
    return reference.hydrate(value, ctx)


def _lookup(name: str) -> tuple[bool, Any]:
    return (name in VARIABLES, VARIABLES.get(name))


@pytest.mark.parametrize("value", CASES)
def test_hydrates_like_the_reference(value: dict[str, Any]) -> None:
    assert hydrate(value, _lookup) == _reference(value)


@pytest.mark.parametrize("value", ERRORS)
def test_errors_read_like_the_reference(value: dict[str, Any]) -> None:
    with pytest.raises(reference.HydrationError) as expected:
        _reference(value)
    with pytest.raises(HydrationError) as ours:
        hydrate(value, _lookup)
    assert str(ours.value) == str(expected.value)
