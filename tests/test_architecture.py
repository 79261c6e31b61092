"""The house rules hold (tests/architecture.py measures them): no import cycle, ``omr`` never imports upward,
SQL only under ``grading/db/``, no module over 700 lines, no function over 80 lines. Each test names what breaks
a rule, so that a change that adds a breach says where.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import architecture as arch

KNOWN = arch.modules()
GRAPH = arch.graph(KNOWN)


def test_no_import_cycle():
    assert arch.cycles(GRAPH) == []


def test_omr_never_imports_grading_or_samples():
    assert arch.upward_imports(GRAPH) == []


def test_sql_only_under_grading_db():
    assert arch.sql_outside_home(KNOWN) == []


def test_module_and_function_sizes():
    assert arch.long_modules(KNOWN) == [], f"modules over {arch.MAX_MODULE_LINES} lines"
    assert arch.long_functions(KNOWN) == [], f"functions over {arch.MAX_FUNCTION_LINES} lines"


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
