"""The house rules hold (tests/architecture.py measures them): no import cycle, ``omr`` never imports upward,
SQL only under ``grading/db/``, no module over 700 lines, no function over 80 lines.

The ``STILL_*`` sets list the places that break a rule today, while the rooms are rebuilt; each must only
shrink: a new breach fails, and so does an entry that no longer breaks the rule (take it off the list).
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import architecture as arch

STILL_IN_CYCLES: set[frozenset[str]] = set()
STILL_UPWARD: set[tuple[str, str]] = set()
STILL_SPEAKING_SQL: set[str] = set()
STILL_LONG_MODULES: set[str] = set()
STILL_LONG_FUNCTIONS: set[tuple[str, str]] = set()

KNOWN = arch.modules()
GRAPH = arch.graph(KNOWN)


def _same(found: set, allowed: set, what: str) -> None:
    new, fixed = found - allowed, allowed - found
    assert not new, f"new {what}: {sorted(map(str, new))}"
    assert not fixed, f"no longer {what} (take them off the list in this test): {sorted(map(str, fixed))}"


def test_no_import_cycle_beyond_the_known_ones():
    _same({frozenset(c) for c in arch.cycles(GRAPH)}, STILL_IN_CYCLES, "import cycles")


def test_omr_never_imports_grading_or_samples():
    _same(set(arch.upward_imports(GRAPH)), STILL_UPWARD, "upward imports from omr")


def test_sql_only_under_grading_db():
    _same({m for m, _, _ in arch.sql_outside_home(KNOWN)}, STILL_SPEAKING_SQL,
          "modules speaking SQL outside grading/db")


def test_module_and_function_sizes():
    _same({m for m, _ in arch.long_modules(KNOWN)}, STILL_LONG_MODULES, f"modules over {arch.MAX_MODULE_LINES} lines")
    _same({(m, f) for m, f, _ in arch.long_functions(KNOWN)}, STILL_LONG_FUNCTIONS,
          f"functions over {arch.MAX_FUNCTION_LINES} lines")


def _fake(tmp_path: Path, files: dict[str, str]) -> dict[str, arch.Module]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return arch.modules(tmp_path)


def test_the_checker_sees_cycles_through_function_level_and_relative_imports(tmp_path):
    known = _fake(tmp_path, {
        "omr/__init__.py": "", "samples/__init__.py": "",
        "grading/__init__.py": "", "grading/a.py": "from .b import thing\n",
        "grading/b.py": "def f():\n    from . import a\n    return a\n",
        "grading/c.py": "import grading.a\n",
    })
    assert arch.cycles(arch.graph(known)) == [["grading.a", "grading.b"]]


def test_the_checker_sees_upward_imports_sql_and_long_functions(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(arch.MAX_FUNCTION_LINES))
    known = _fake(tmp_path, {
        "omr/__init__.py": "", "samples/__init__.py": "", "grading/__init__.py": "",
        "omr/x.py": "def f():\n    from grading import y\n" + body + "\n",
        "grading/y.py": "Q = 'select id from pages'\n",
        "grading/db/__init__.py": "import sqlalchemy\nQ = 'SELECT 1'\n",
        "grading/z.py": "from sqlalchemy import select\n",
    })
    g = arch.graph(known)
    assert arch.upward_imports(g) == [("omr.x", "grading.y")]
    assert [(m, what) for m, _, what in arch.sql_outside_home(known)] == [
        ("grading.y", "SQL text"), ("grading.z", "from sqlalchemy import …")]
    assert arch.long_functions(known) == [("omr.x", "f", arch.MAX_FUNCTION_LINES + 2)]
    assert isinstance(known["grading.db"].tree, ast.Module)
