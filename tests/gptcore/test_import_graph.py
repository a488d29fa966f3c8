"""gptcore's imports point one way: no cycle between its modules (or the Llama plugin's), and no
import of the project's own modules inside a function unless a comment says it defers a heavy
or optional dependency ("heavy" / "lazy")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"gptcore": ROOT / "gptcore", "gptcore_llama": ROOT / "plugins/gptcore-llama/src/gptcore_llama"}
OWN = ("gptcore", "gptcore_llama", "tokenkit")


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """Project modules an import statement loads (``from pkg import sub`` counts as pkg.sub)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:  # relative import
        package = module.split(".")[: len(module.split(".")) - node.level + (module in _packages())]
        base = ".".join(package + ([base] if base else []))
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _packages() -> set[str]:
    return {name for name, path in MODULES.items() if path.name == "__init__.py"}


def _type_checking_only(tree: ast.Module) -> set[int]:
    lines = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines |= {n.lineno for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def _walk(tree: ast.AST, in_function: bool = False):
    for child in ast.iter_child_nodes(tree):
        inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        yield from _walk(child, inside)


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    hidden = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        typing_only = _type_checking_only(tree)
        for node, in_function in _walk(tree):
            targets = [t for t in _targets(node, module) if t.split(".")[0] in OWN]
            if not targets:
                continue
            if in_function:
                note = " ".join(lines[max(0, node.lineno - 2):node.end_lineno]).lower()
                if "heavy" not in note and "lazy" not in note:
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {', '.join(targets)}")
            elif node.lineno not in typing_only:
                edges[module] |= {t for t in targets if t in MODULES and t != module}
    return edges, hidden


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read_from_real_imports():
    edges, _ = _graph()
    assert "gptcore.models.gpt2.model" in edges["gptcore.models.gpt2.hf"]
    assert "gptcore.registry" in edges["gptcore.cli.plugins"]
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_no_import_cycles():
    edges, _ = _graph()
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])


def test_no_hidden_imports_inside_functions():
    _, hidden = _graph()
    assert not hidden, "imports of project modules inside functions (say 'heavy'/'lazy' if deferred):\n" + \
        "\n".join(hidden)


@pytest.mark.parametrize("low, high", [("gptcore.models.gpt2.model", "gptcore.models.gpt2.hf"),
                                       ("gptcore_llama.model", "gptcore_llama.hf"),
                                       ("gptcore.interfaces", "gptcore.registry"),
                                       ("gptcore.registry", "gptcore.cli")])
def test_lower_layers_do_not_import_higher_ones(low, high):
    edges, _ = _graph()
    assert not any(t == high or t.startswith(high + ".") for t in edges[low])
