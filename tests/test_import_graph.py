"""The import graph of the project's own modules: no cycles, and no hidden imports.

Walks every module of every project package with ``ast`` (nothing is imported), collects
each import of another project module — at module level or inside a function, but not under
``if TYPE_CHECKING:`` — and fails on:

* a cycle (the message lists it, module by module);
* an import inside a function that is not annotated as deferring something heavy: a comment
  containing "heavy" or "lazy" on the import's line or the comment lines right above it. The
  dependency graph must be readable from the file headers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Top-level package name -> its directory.
PACKAGES = {
    "tokenkit": ROOT / "tokenkit",
    "gptcore": ROOT / "gptcore",
    "gptcore_llama": ROOT / "plugins" / "gptcore-llama" / "src" / "gptcore_llama",
    "gptcore_qwen2": ROOT / "plugins" / "gptcore-qwen2" / "src" / "gptcore_qwen2",
}
MARKERS = ("heavy", "lazy")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    line: int
    in_function: bool
    annotated: bool


def module_name(package: str, directory: Path, path: Path) -> str:
    parts = [package, *path.relative_to(directory).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package, directory in PACKAGES.items():
        for path in sorted(directory.rglob("*.py")):
            found[module_name(package, directory, path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _annotated(lines: list[str], node: ast.stmt) -> bool:
    end = getattr(node, "end_lineno", node.lineno)
    text = [lines[i - 1] for i in range(node.lineno, end + 1)]
    i = node.lineno - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        text.append(lines[i])
        i -= 1
    comments = " ".join(t.split("#", 1)[1] for t in text if "#" in t).lower()
    return any(m in comments for m in MARKERS)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    out: list[Import] = []

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            found = []
            for alias in node.names:
                parts = alias.name.split(".")
                for n in range(len(parts), 0, -1):
                    if ".".join(parts[:n]) in modules:
                        found.append(".".join(parts[:n]))
                        break
            return found
        module = resolve(node)
        found = []
        for alias in node.names:
            if f"{module}.{alias.name}" in modules:
                found.append(f"{module}.{alias.name}")
            elif module in modules:
                found.append(module)
        return found

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit_stmt(stmt, in_function)
                continue
            visit_stmt(child, in_function)

    def visit_stmt(child: ast.AST, in_function: bool) -> None:
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            for target in dict.fromkeys(targets(child)):
                if target != name:
                    out.append(Import(name, target, child.lineno, in_function,
                                      _annotated(lines, child)))
            return
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.Lambda))
        visit(child, inner)

    visit(ast.parse(source, filename=str(path)), False)
    return out


def import_graph() -> tuple[dict[str, set[str]], list[Import]]:
    modules = project_modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    imports = []
    for name, path in modules.items():
        for imp in imports_of(name, path, modules):
            edges[name].add(imp.target)
            imports.append(imp)
    return edges, imports


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a module path) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return [_cycle_in(component, edges) for component in components]


def _cycle_in(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    start = min(component)
    path, seen = [start], {start}
    while True:
        nxt = min(w for w in edges[path[-1]] if w in component)
        if nxt in seen:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)
        seen.add(nxt)


def _package(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", list(PACKAGES))
def test_no_import_cycles(package: str) -> None:
    edges, _ = import_graph()
    found = [c for c in cycles(edges) if any(_package(m) == package for m in c)]
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("package", list(PACKAGES))
def test_function_level_imports_say_why(package: str) -> None:
    _, imports = import_graph()
    hidden = [i for i in imports if _package(i.source) == package and i.in_function
              and not i.annotated]
    assert not hidden, (
        "imports of project modules inside functions, without a comment saying what heavy "
        "dependency they defer ('heavy' or 'lazy'):\n"
        + "\n".join(f"{modules_path(i.source)}:{i.line}: {i.source} -> {i.target}" for i in hidden))


def modules_path(module: str) -> str:
    return str(project_modules()[module].relative_to(ROOT))


# -- the checker checks: it finds what it must find --------------------------------------------
def test_checker_finds_a_cycle_and_a_hidden_import(tmp_path: Path) -> None:
    pkg = tmp_path / "demo_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from demo_pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from demo_pkg.c import x\n")
    (pkg / "c.py").write_text("from .a import thing\n"
                              "from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from demo_pkg import b\n"
                              "def g():\n    # lazy: defers nothing heavy, but says so\n"
                              "    import demo_pkg.b\n")
    modules = {module_name("demo_pkg", pkg, p): p for p in pkg.rglob("*.py")}
    edges = {m: set() for m in modules}
    found = []
    for name, path in modules.items():
        for imp in imports_of(name, path, modules):
            edges[name].add(imp.target)
            found.append(imp)
    assert cycles(edges) == [["demo_pkg.a", "demo_pkg.b", "demo_pkg.c", "demo_pkg.a"]]
    hidden = [(i.source, i.target) for i in found if i.in_function and not i.annotated]
    assert hidden == [("demo_pkg.b", "demo_pkg.c")]
    assert ("demo_pkg.c", "demo_pkg.b") in {(i.source, i.target) for i in found if i.annotated}


@pytest.mark.parametrize("low, high", [
    ("tokenkit.vocabulary", "tokenkit.specs"),          # the interface knows no loader
    ("tokenkit.vocabulary", "tokenkit.fastpath"),
    ("tokenkit.backends.hf", "tokenkit.fastpath"),      # the loader applies the fast path
    ("tokenkit.specs", "tokenkit.cli"),
    ("gptcore.models.gpt2.model", "gptcore.models.gpt2.hf"),
    ("gptcore_llama.model", "gptcore_llama.hf"),
    ("gptcore_qwen2.model", "gptcore_qwen2.hf"),
    ("gptcore.models.blocks", "gptcore.plugin"),
    ("gptcore.platform.interfaces", "gptcore.platform.registry"),
    ("gptcore.platform.registry", "gptcore.cli"),
])
def test_lower_layers_do_not_import_higher_ones(low: str, high: str) -> None:
    edges, _ = import_graph()
    assert low in edges, f"{low} is not a project module (renamed? update this test)"
    assert not any(t == high or t.startswith(high + ".") for t in edges[low]), (low, high)


def test_tokenkit_never_imports_gptcore() -> None:
    """The flow points one way: not at module level, not inside a function, not lazily."""
    _, imports = import_graph()
    upward = [f"{modules_path(i.source)}:{i.line}: {i.source} -> {i.target}" for i in imports
              if _package(i.source) == "tokenkit" and _package(i.target) != "tokenkit"]
    assert not upward, "tokenkit imports gptcore:\n" + "\n".join(upward)


#: gptcore's stages and the platform beside them, lowest first. A module may import its own
#: stage and any stage of a lower rank, never one of the same or a higher rank.
GPTCORE_RANKS: dict[str, float] = {
    "errors": 0, "_lazy": 0, "_moved": 0,
    "ownership": 0.5,                          # what an output option may replace (--force)
    "platform": 1, "data": 1,                  # the plugin contract; text -> token shards
    "models": 2, "generation": 2, "runs": 2,   # blocks and families; weights -> text; run dirs
    "eval": 2,                                 # bits per byte
    "plugin": 3,                               # the authors' front door (re-exports the blocks)
    "loaders": 3, "training": 3, "export": 3,  # the loop; foreign formats
    "sweep": 4, "kit": 4, "serve": 4,          # what composes the stages
    "cli": 5, "__main__": 6,
}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "gptcore" and len(parts) > 1 else None


def test_every_gptcore_stage_has_a_rank_and_a_docstring() -> None:
    stages = {_stage(m) for m in project_modules() if _stage(m)}
    assert stages == set(GPTCORE_RANKS), stages ^ set(GPTCORE_RANKS)
    for package in (ROOT / "gptcore").iterdir():
        if (package / "__init__.py").is_file():
            tree = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
            doc = ast.get_docstring(tree)
            assert doc and doc.strip(), f"gptcore/{package.name}/__init__.py needs a one-line docstring"


def test_gptcore_stages_import_only_lower_stages() -> None:
    _, imports = import_graph()
    wrong = []
    for i in imports:
        src, dst = _stage(i.source), _stage(i.target)
        if src is None or dst is None or src == dst:
            continue
        if GPTCORE_RANKS[dst] >= GPTCORE_RANKS[src]:
            wrong.append(f"{modules_path(i.source)}:{i.line}: {i.source} ({src}, rank "
                         f"{GPTCORE_RANKS[src]}) -> {i.target} ({dst}, rank {GPTCORE_RANKS[dst]})")
    assert not wrong, "gptcore stage imports that point up or sideways:\n" + "\n".join(wrong)


def test_no_gptcore_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "gptcore").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert not long, f"modules holding more than one idea (split them): {long}"


@pytest.mark.parametrize("caller", ["tokenkit.bench", "tokenkit.sweep"])
def test_plots_do_not_know_their_callers(caller: str) -> None:
    """Result types live in tokenkit.results, below plots and the modules that call plots
    (checked with type-only imports included: they are still knowledge of the caller)."""
    tree = ast.parse((ROOT / "tokenkit" / "plots.py").read_text(encoding="utf-8"))
    named = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    named |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert caller not in named and "tokenkit.results" in named
