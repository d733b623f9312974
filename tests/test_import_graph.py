"""The runtime package's import graph, read from the source (ast), not by importing it: every
import statement counts, at module level or inside a function. The image holds
ghaction_metrics/ alone, so it may not import the development package, the tests or the
benchmarks; and its modules import each other without a cycle, so the layers stay layers."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ghaction_metrics"


def _module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted name → file, for every module of the package under root."""
    names = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(tree: ast.Module, module: str, is_package: bool) -> list[str]:
    """Every dotted name an import statement anywhere in the module names, relative ones
    resolved; for ``from X import y`` both X and X.y (y may be a submodule)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between the package's own modules, every top-level name each module imports)."""
    modules = _module_names(root, package)
    edges: dict[str, set[str]] = {}
    tops: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = _imported(tree, name, path.name == "__init__.py")
        tops[name] = {target.split(".")[0] for target in imported if target}
        edges[name] = {target for target in imported if target in modules and target != name}
    return edges, tops


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle (its modules in order, the first repeated at the end), or []."""
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        return cycle
    return []


def _forbidden() -> set[str]:
    """Top-level names that exist only outside the image: the development package, and the
    tests' and benchmarks' own modules (importable by name when they are on sys.path)."""
    names = {"ghaction_metrics_dev", "tests", "benchmarks"}
    for folder in ("tests", "benchmarks"):
        names.update(path.stem for path in (ROOT / folder).glob("*.py"))
    return names


def test_the_runtime_package_imports_nothing_outside_the_image() -> None:
    _, tops = import_graph(ROOT, PACKAGE)
    forbidden = _forbidden()
    assert "ghaction_metrics.action" in tops
    offending = {module: sorted(names & forbidden) for module, names in tops.items()}
    assert {module: names for module, names in offending.items() if names} == {}


def test_the_runtime_import_graph_has_no_cycle() -> None:
    edges, _ = import_graph(ROOT, PACKAGE)
    # A graph this test could not see into would pass vacuously.
    assert "ghaction_metrics.collect.parallel" in edges["ghaction_metrics.action"]
    assert sum(len(targets) for targets in edges.values()) > len(edges)
    assert find_cycle(edges) == []


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        (
            {
                "a.py": "from pkg import b\n",
                "b.py": "def f() -> None:\n    from pkg.c import g\n",
                "c.py": "import pkg.a\n",
            },
            True,
        ),
        (
            {
                "a.py": "from . import b\n",
                "b.py": "from .c import g\n",
                "c.py": "from .a import x\n",
            },
            True,
        ),
        (
            {"a.py": "from pkg import b\n", "b.py": "from pkg.c import g\n", "c.py": "import os\n"},
            False,
        ),
    ],
)
def test_the_checker_sees_function_level_and_relative_imports(
    tmp_path: Path, files: dict[str, str], cycle: bool
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    for name, text in files.items():
        (tmp_path / "pkg" / name).write_text(text, encoding="utf-8")
    edges, _ = import_graph(tmp_path, "pkg")
    assert bool(find_cycle(edges)) is cycle
