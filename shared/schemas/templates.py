"""Checks on user-supplied Jinja templates (automation notification bodies): they must parse,
and loops are bounded as the reference bounds them, so rendering cannot be made to run away."""

from __future__ import annotations

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_LOOP_COUNT = 10
MAX_NESTED_LOOP_DEPTH = 2

_environment = ImmutableSandboxedEnvironment()


class TemplateSecurityError(Exception):
    """A template that parses but breaks the loop limits."""

    def __init__(self, message: str, lineno: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.lineno = lineno


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    if isinstance(node, nodes.For):
        depth += 1
    return max((_loop_depth(child, depth) for child in node.iter_child_nodes()), default=depth)


def validate_user_template(template: str) -> None:
    """Raise jinja2.TemplateSyntaxError or TemplateSecurityError for a template users may not save."""
    root = _environment.parse(template)
    loops = list(root.find_all(nodes.For))
    if not loops:
        return
    if len(loops) > MAX_LOOP_COUNT:
        raise TemplateSecurityError(
            f"Contains {len(loops)} for loops. Templates can contain no more than {MAX_LOOP_COUNT} for loops."
        )
    deepest = max(_loop_depth(loop) for loop in loops)
    if deepest > MAX_NESTED_LOOP_DEPTH:
        raise TemplateSecurityError(
            f"Contains nested for loops at a depth of {deepest}. "
            f"Templates can nest for loops no more than {MAX_NESTED_LOOP_DEPTH} loops deep."
        )


__all__ = ["TemplateSecurityError", "validate_user_template"]
