"""Layers that hold: the package's import graph (imports inside functions counted), module sizes, and
package docstrings that name modules which exist."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "nidataset"

#: Top-level parts that must import nothing of these (besides each other's cycles, checked for all).
FORBIDDEN = {
    "batch": {"slices", "manifest", "viewing", "annotations", "training", "reassembly", "cli", "options"},
    "geometry": {
        "io",
        "batch",
        "slices",
        "annotations",
        "training",
        "viewing",
        "reassembly",
        "cli",
        "options",
    },
    "values": {"io", "batch", "slices", "annotations", "training", "viewing", "reassembly", "cli", "options"},
    "io": {"batch", "slices", "annotations", "training", "viewing", "reassembly", "cli", "options"},
}
#: The value stage lives in values/, not in slices/.
VALUE_MODULES = ("pixels", "windows", "dtypes")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every nidataset module ``name`` imports, at its top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("nidataset"))
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else node.module or ""
            )
            if not base.startswith("nidataset"):
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from . import facade``
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[tuple[str, str], list[str]]:
    """(importing part, imported part) -> the imports that make the edge."""
    modules = _modules()
    edges: dict[tuple[str, str], list[str]] = {}
    for name, path in modules.items():
        for target in _imports(name, path):
            source, imported = _part(name), _part(target)
            if not source or not imported or source == imported:
                continue
            edges.setdefault((source, imported), []).append(f"{name} -> {target}")
    return edges


def test_no_two_parts_import_each_other():
    edges = _graph()
    cycles = [
        f"{a} <-> {b}: {edges[a, b][0]}; {edges[b, a][0]}" for (a, b) in edges if (b, a) in edges and a < b
    ]
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_lower_layers_import_no_upper_code(part):
    edges = _graph()
    wrong = [line for (a, b), lines in edges.items() if a == part and b in FORBIDDEN[part] for line in lines]
    assert not wrong, "\n".join(wrong)


def test_the_value_stage_has_its_own_package():
    for name in VALUE_MODULES:
        assert (PACKAGE / "values" / f"{name}.py").is_file()
        assert not (PACKAGE / "slices" / f"{name}.py").exists()


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(SRC)): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long


def test_package_docstrings_list_their_modules_correctly_or_not_at_all():
    """Every ``:mod:`` reference resolves; a package that lists some of its own modules lists them all."""
    modules = _modules()
    for name, path in modules.items():
        if path.name != "__init__.py":
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        named = set()
        for reference in re.findall(r":mod:`~?([\w.]+)`", docstring):
            if reference.startswith("."):  # relative to the package, as Sphinx reads it
                reference = name + reference
            assert reference in modules, f"{path.relative_to(SRC)} names {reference}, which does not exist"
            named.add(reference)
        own = {module for module in modules if module.rpartition(".")[0] == name}
        if named & own:
            assert not own - named, f"{path.relative_to(SRC)} does not list {sorted(own - named)}"
