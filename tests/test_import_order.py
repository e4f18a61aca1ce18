"""The import-order contract: archcalc's packages form layers, and a lower one never imports a
higher one — at module level or inside a function. (Imports under `if TYPE_CHECKING:` are for
annotations only and never run, so they are not counted.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archcalc"

LEVELS = [
    {"errors", "limits", "sizes", "settings", "dependencies", "output", "reading", "version", "progress", "parallel",
     "layout", "yaml_text"},
    {"layers"},
    {"graph", "conventions", "receptive", "devices"},
    {"spec"},
    {"stats"},
    {"symbolic"},
    {"analysis"},
    {"calculator", "sweep", "torchmodel", "check", "memory", "peak", "roofline", "backward", "training"},
    {"validation", "importers", "measure_device"},
    {"render"},
    {"cli", "commands", "__main__", "__init__"},
]
"""Bottom first. A module may import its own level and the levels below it."""


def level_of(module: str) -> int:
    """The level of 'archcalc.x.y' (its first part after 'archcalc'; the package's own
    __init__ is the public API on top)."""
    part = module.split(".")[1] if "." in module else "__init__"
    for level, names in enumerate(LEVELS):
        if part in names:
            return level
    raise AssertionError(f"archcalc.{part} is in no level of the import-order contract: add it to LEVELS")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 2 else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every archcalc import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for guard in ast.walk(tree) if _type_checking(guard)
               for statement in guard.body for node in ast.walk(statement)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "archcalc":  # a submodule, or the API
            found += [(node.lineno, _submodule(alias.name)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name == "archcalc" or name.startswith("archcalc.")]


def _submodule(name: str) -> str:
    exists = (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()
    return f"archcalc.{name}" if exists else "archcalc"


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_level():
    for path in FILES:
        level_of(module_name(path)) if path.name != "__init__.py" or path.parent != PACKAGE else None


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_level(path):
    own = module_name(path)
    mine = level_of(own) if own != "archcalc" else len(LEVELS) - 1
    upward = [f"line {line}: {name}" for line, name in imports(path) if level_of(name) > mine]
    assert not upward, f"{own} (level {mine}) imports a higher level: {', '.join(upward)}"


def test_the_contract_catches_an_upward_import_in_a_function(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from archcalc.symbolic.printing import readable\n", encoding="utf-8")
    assert [level_of(name) > level_of("archcalc.layers.base") for _, name in imports(bad)] == [True]
    guarded = tmp_path / "guarded.py"
    guarded.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import archcalc.cli\n",
                       encoding="utf-8")
    assert imports(guarded) == []
