"""The import structure of shared/ (issue #13): imports point down, directly.

Read from the source with `ast` (nothing is imported), so it is fast and sees every import,
module-level or inside a function:
- no import hooks in shared/ or functions/: no `except ImportError`, no `__import__`, no `importlib` (a renamed module
  or function must fail loudly, not silently disable a cascade);
- no import cycle inside shared.storage (entity repositories below, the cross-entity filters,
  queries and cascades above them);
- the packages are layered and every import points down the layers;
- imports of shared modules sit at module level: a function-local one may only exist for a
  measured cold-start reason, and must say so in a comment on its line or the four above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Top to bottom; a module may import its own package, and any package of a lower layer.
LAYERS: list[set[str]] = [
    {"shared.automations"},  # drives the API in process (actions), above it
    {"shared.api"},
    {"shared.events", "shared.maintenance"},
    {"shared.dispatch"},
    {"shared.storage"},
    # Pure: no I/O. (shared.scheduling builds runs from schedules and never stores them.)
    {"shared.orchestration", "shared.scheduling", "shared.blocks"},
    {"shared.schemas"},
]
# shared.api.registry loads the one router a domain's Lambda serves, by name (its import is the cold start).
DYNAMIC_IMPORT_ALLOWED = {"shared.api.registry"}
COLD_START = "cold start"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    for alias in node.names:
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _imports(module: str) -> Iterator[tuple[str, int, bool]]:
    """(imported shared module, line, inside a function) for every import that runs."""
    tree = ast.parse(MODULES[module].read_text())

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # never runs
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(module, child):
                    if target in MODULES and target != module:
                        yield target, child.lineno, in_function
            yield from walk(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    yield from walk(tree, False)


GRAPH = {module: list(_imports(module)) for module in MODULES}


def test_no_import_hooks() -> None:
    handlers = {str(path.relative_to(ROOT)): path for path in sorted((ROOT / "functions").rglob("*.py"))}
    hooks = []
    for module, path in {**MODULES, **handlers}.items():
        tree = ast.parse(path.read_text())
        # Names bound to modules: `getattr(module, "name", None)` is a hook that a rename silences.
        module_names = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
            if isinstance(node, ast.Import) or f"{node.module}.{alias.name}" in MODULES
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in module_names
            ):
                hooks.append(f"{module}:{node.lineno} {node.func.id}({node.args[0].id}, ...)")
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = ast.unparse(node.type)
                if "ImportError" in caught or "ModuleNotFoundError" in caught:
                    hooks.append(f"{module}:{node.lineno} except {caught}")
            if isinstance(node, ast.Name) and node.id == "__import__":
                hooks.append(f"{module}:{node.lineno} __import__")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "import_module"
                and module not in DYNAMIC_IMPORT_ALLOWED
            ):
                hooks.append(f"{module}:{node.lineno} importlib.import_module")
    assert hooks == []


def _cycles(nodes: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted({t for t, _, _ in GRAPH[root] if t in nodes})))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            target = next(edges, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted({t for t, _, _ in GRAPH[target] if t in nodes}))))
            elif target in on_stack:
                low[node] = min(low[node], index[target])
    return found


def test_no_import_cycle_in_storage() -> None:
    storage = {module for module in MODULES if module.startswith("shared.storage.")}
    assert _cycles(storage) == []


def test_imports_point_down_the_layers() -> None:
    layer_of = {package: depth for depth, layer in enumerate(LAYERS) for package in layer}
    upward = [
        f"{module}:{line} imports {target}"
        for module, imports in GRAPH.items()
        for target, line, _ in imports
        if _package(module) in layer_of
        and _package(target) in layer_of
        and _package(target) != _package(module)
        and layer_of[_package(target)] < layer_of[_package(module)]
    ]
    assert upward == []


def test_function_local_imports_name_a_cold_start_reason() -> None:
    unexplained = []
    for module, imports in GRAPH.items():
        lines = MODULES[module].read_text().splitlines()
        for target, line, in_function in imports:
            if in_function and COLD_START not in " ".join(lines[max(line - 5, 0) : line]).lower():
                unexplained.append(f"{module}:{line} imports {target}")
    assert unexplained == []
