"""The house: every import of mnist_sweep and of its sweeper plugin points down (no cycle, imports
inside functions counted), mnist_sweep never imports hydra_plugins, and no module or function
outgrows its room (300 lines a file, 60 a function)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mnist_sweep import PROJECT_ROOT

PACKAGES = ("mnist_sweep", "hydra_plugins/mnist_sweep_sweeper")
MAX_FILE_LINES, MAX_FUNCTION_LINES = 300, 60


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name."""
    return {module_name(root, p): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The known modules that ``name`` imports anywhere in its file (inside functions too)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from ..a import b
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names]  # a name, else up to its module
        else:
            continue
        for t in targets:
            while t and t not in known:  # `from pkg import sub` is the submodule, else the package
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    mods = modules(root, packages)
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``g`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        state[n] = 2
        path.pop()
        return None

    for n in sorted(g):
        if n not in state and (cycle := visit(n)):
            return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(graph(PROJECT_ROOT))
    assert cycle is None, " -> ".join(cycle)


def test_mnist_sweep_never_imports_the_plugins():
    g = graph(PROJECT_ROOT, ("mnist_sweep",) + PACKAGES[1:])
    bad = sorted(f"{m} -> {t}" for m, ts in g.items() if m.startswith("mnist_sweep") for t in ts
                 if t.startswith("hydra_plugins"))
    assert not bad
    for path in (PROJECT_ROOT / "mnist_sweep").rglob("*.py"):  # not even the stock plugin
        assert "hydra_plugins" not in {a.split(".")[0] for a in _imported_names(path)}, path


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_ground_floor_imports_nothing_of_the_package():
    g = graph(PROJECT_ROOT)
    assert g["mnist_sweep.errors"] == set()
    assert g["mnist_sweep.target"] == set()
    assert g["mnist_sweep.yaml_tags"] == set()
    assert g["mnist_sweep.results"] <= {"mnist_sweep.errors", "mnist_sweep.target", "mnist_sweep.yaml_tags"}


def test_the_ground_floor_docs_list_imports_only_the_ground_floor():
    """docs/layout.md's ground floor said 'import nothing of the package' while cpus.py imported text and
    url_escapes.py errors: each module it lists imports only others it lists."""
    import re

    text = (PROJECT_ROOT / "docs" / "layout.md").read_text()
    ground = text.split("**Ground**", 1)[1].split("**Middle**", 1)[0]
    listed = {f"mnist_sweep.{m}" for m in re.findall(r"^    (\w+)\.py ", ground, re.M)}
    assert {"mnist_sweep.errors", "mnist_sweep.results"} <= listed
    g = graph(PROJECT_ROOT)
    assert {m: g[m] - listed for m in listed if g[m] - listed} == {}


def test_the_checker_finds_a_cycle_that_is_added(tmp_path):
    """The checks above can fail: a cycle through an import inside a function is found."""
    pkg = tmp_path / "mnist_sweep"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from mnist_sweep import high\n    return high\n")
    (pkg / "high.py").write_text("from mnist_sweep.low import f\n")
    (pkg / "apart.py").write_text("from . import low\n")
    g = graph(tmp_path, ("mnist_sweep",))
    assert g["mnist_sweep.apart"] == {"mnist_sweep.low"}
    assert find_cycle(g) in (["mnist_sweep.high", "mnist_sweep.low", "mnist_sweep.high"],
                             ["mnist_sweep.low", "mnist_sweep.high", "mnist_sweep.low"])
    (pkg / "low.py").write_text("def f():\n    return 1\n")
    assert find_cycle(graph(tmp_path, ("mnist_sweep",))) is None


@pytest.mark.parametrize("path", [p for pkg in PACKAGES for p in sorted((PROJECT_ROOT / pkg).rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_rooms_stay_small(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_FILE_LINES, f"{len(lines)} lines"
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{node.name}: {length} lines"
