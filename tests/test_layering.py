"""The shape of the code, read from its source: no import cycles among mmcli's modules,
the REPL and the commands never importing each other, no SDK imported outside
providers/, and no provider named outside providers/ (DESIGN.md, "Architecture").

The import graph is built with ``ast`` from every ``import`` statement, including
the ones inside functions (mmcli imports lazily, so those are most of them).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.in_process

PACKAGE = Path(__file__).resolve().parent.parent / "mmcli"
SDKS = ("openai", "anthropic", "google.genai", "google.auth", "google.oauth2")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, modules: set[str]) -> tuple[set[str], set[str]]:
    """The mmcli modules ``name`` imports (anywhere in its source, TYPE_CHECKING blocks
    excepted: they never run), and the outside modules it imports."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    inside: set[str] = set()
    outside: set[str] = set()

    def add(target: str) -> None:
        if target.split(".")[0] != "mmcli":
            outside.add(target)
            return
        while target and target not in modules:  # a name imported from a module: the module
            target = target.rpartition(".")[0]
        if target and target != name:
            inside.add(target)

    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                full = f"{prefix}.{alias.name}"
                add(full if full in modules else prefix)
    return inside, outside


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    sources = _sources()
    modules = set(sources)
    inside: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for name, path in sources.items():
        inside[name], outside[name] = _imports(name, path, modules)
    return inside, outside


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Modules folded into their package (mmcli.commands.chat -> mmcli.commands), top-level modules as they are."""

    def unit(name: str) -> str:
        parts = name.split(".")
        return ".".join(parts[:2])

    folded: dict[str, set[str]] = {}
    for source, targets in graph.items():
        edges = folded.setdefault(unit(source), set())
        edges |= {unit(t) for t in targets if unit(t) != unit(source)}
    return folded


def test_the_graph_sees_function_level_imports() -> None:
    # A guard on the test itself: chat's REPL is imported inside a function, and must be seen.
    inside, _ = _graph()
    assert "mmcli.engine" in inside["mmcli.commands.chat"]
    assert "mmcli.providers.registry" in inside["mmcli.engine"]


def test_no_import_cycles_among_modules() -> None:
    # Where two modules need one piece, the piece moves below both (media.describe, media.limits,
    # app_dirs, catalogue); media is handed a provider's limits rather than looking the provider up.
    inside, _ = _graph()
    assert _cycles(inside) == []


def test_no_import_cycles_among_packages() -> None:
    # A package (live/, providers/, media/ ...) is one layer: its modules may use a lower
    # package's, never the other way round too (live uses providers; providers never live).
    inside, _ = _graph()
    assert _cycles(_package_graph(inside)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_commands_and_the_repl_never_import_each_other() -> None:
    # Both sit on the lower layers (options, engine, render, store); neither on the other.
    inside, _ = _graph()
    repl = {name for name in inside if name.startswith("mmcli.repl")}
    commands = {name for name in inside if name.startswith("mmcli.commands")}
    assert {(name, target) for name in repl for target in inside[name] if target in commands} == set()
    assert [cycle for cycle in _cycles(_package_graph(inside)) if set(cycle) & {"mmcli.commands", "mmcli.repl"}] == []


def test_nothing_outside_providers_imports_an_sdk() -> None:
    _, outside = _graph()
    offenders = {
        name: sorted(target for target in targets if target.startswith(SDKS))
        for name, targets in outside.items()
        if not name.startswith("mmcli.providers")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


# Provider names that must stay outside providers/, each with its reason.
ALLOWED_PROVIDER_NAMES = {
    # "ollama" here is a placeholder key value local servers' docs suggest, not the provider.
    ("mmcli/errors.py", "ollama"),
    # The SDK packages the worker fingerprints (module and distribution names), not providers.
    ("mmcli/worker/fingerprint.py", "openai"),
    ("mmcli/worker/fingerprint.py", "anthropic"),
}
PROVIDER_NAME = re.compile(r"""["'](openai|anthropic|gemini|vertex|perplexity|ollama|compat)["']""")


def test_provider_names_live_in_providers() -> None:
    root = PACKAGE.parent
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("mmcli/providers/"):
            continue
        for match in PROVIDER_NAME.finditer(path.read_text()):
            found.add((relative, match.group(1)))
    assert found - ALLOWED_PROVIDER_NAMES == set()
