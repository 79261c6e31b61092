"""The house rules of the code base, measured from the source (no import of the project itself).

- the import graph between the project's modules, imports inside functions included: no cycle; ``omr`` never
  imports ``grading`` or ``samples``;
- SQL only under ``grading/db/``: no ``sqlalchemy`` import and no SQL text elsewhere;
- sizes: no module over ``MAX_MODULE_LINES`` lines, no function over ``MAX_FUNCTION_LINES`` lines.

``python tests/architecture.py`` prints the module tree with line counts and every finding (the closing-note
report); ``tests/test_architecture.py`` asserts the rules (no exception left).
"""
from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("omr", "grading", "samples", "answer_keys")
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 80
SQL_HOME = "grading.db"
SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|UNIQUE)"
                      r"|ALTER\s+TABLE|DROP\s+(TABLE|INDEX)|PRAGMA)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Module:
    name: str             # dotted: grading.webapp.app
    path: Path
    is_package: bool      # an __init__.py
    tree: ast.Module
    lines: int


def modules(root: Path = ROOT) -> dict[str, Module]:
    """Every module of the project's packages, by dotted name."""
    out: dict[str, Module] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            text = path.read_text(encoding="utf-8")
            name = ".".join(parts)
            out[name] = Module(name, path, rel.name == "__init__", ast.parse(text, str(path)),
                               text.count("\n") + (0 if text.endswith("\n") or not text else 1))
    return out


def _base(mod: Module, level: int) -> list[str]:
    parts = mod.name.split(".")
    if not mod.is_package:
        parts = parts[:-1]
    return parts[:len(parts) - (level - 1)] if level > 1 else parts


def imports(mod: Module, known: dict[str, Module]) -> set[str]:
    """The project modules that ``mod`` imports, anywhere in it (functions included), by dotted name."""
    found: set[str] = set()

    def add(name: str) -> None:
        while name and name not in known:          # ``from x import y`` where y is a name inside x
            name = name.rpartition(".")[0]
        if name and name != mod.name:
            found.add(name)

    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES:
                    add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = (".".join(_base(mod, node.level)) if node.level else "")
            target = ".".join(p for p in (base, node.module or "") if p)
            if target.split(".")[0] not in PACKAGES:
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                add(sub if sub in known else target)
    return found


def graph(known: dict[str, Module]) -> dict[str, set[str]]:
    return {name: imports(m, known) for name, m in known.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted; sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def upward_imports(g: dict[str, set[str]]) -> list[tuple[str, str]]:
    """``omr`` modules importing ``grading`` or ``samples``."""
    return sorted((a, b) for a, targets in g.items() if a.split(".")[0] == "omr"
                  for b in targets if b.split(".")[0] in ("grading", "samples"))


def sql_outside_home(known: dict[str, Module]) -> list[tuple[str, int, str]]:
    """(module, line, what) for every sqlalchemy import and SQL text outside ``grading.db``."""
    out = []
    for name, m in known.items():
        if name == SQL_HOME or name.startswith(SQL_HOME + "."):
            continue
        for node in ast.walk(m.tree):
            if isinstance(node, ast.Import):
                out += [(name, node.lineno, f"import {a.name}") for a in node.names
                        if a.name.split(".")[0] == "sqlalchemy"]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
                out.append((name, node.lineno, f"from {node.module} import …"))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
                out.append((name, node.lineno, "SQL text"))
    return sorted(out)


def long_functions(known: dict[str, Module], limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, str, int]]:
    """(module, function, lines) for every function longer than ``limit`` lines (nested ones counted too)."""
    out = []
    for name, m in known.items():
        for node in ast.walk(m.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                n = node.end_lineno - first + 1
                if n > limit:
                    out.append((name, node.name, n))
    return sorted(out)


def long_modules(known: dict[str, Module], limit: int = MAX_MODULE_LINES) -> list[tuple[str, int]]:
    return sorted((name, m.lines) for name, m in known.items() if m.lines > limit)


def report(root: Path = ROOT) -> str:
    known = modules(root)
    g = graph(known)
    lines = ["modules (lines):"]
    lines += [f"  {m.path.relative_to(root)}  {m.lines}" for m in sorted(known.values(), key=lambda m: str(m.path))]
    lines.append(f"import cycles: {len(cycles(g))}")
    lines += ["  " + " ↔ ".join(c) for c in cycles(g)]
    lines.append(f"omr importing grading/samples: {upward_imports(g) or 'none'}")
    sql = sql_outside_home(known)
    lines.append(f"SQL outside {SQL_HOME}: {len(sql)} place(s) in {len({s[0] for s in sql})} module(s)")
    lines += [f"  {m}:{ln} {what}" for m, ln, what in sql]
    lines.append(f"modules over {MAX_MODULE_LINES} lines: {long_modules(known) or 'none'}")
    lines.append(f"functions over {MAX_FUNCTION_LINES} lines:")
    lines += [f"  {m}.{f} {n}" for m, f, n in long_functions(known)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
