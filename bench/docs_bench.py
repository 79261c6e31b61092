"""Typed entries: reading speed (entries/s per core, DOCX without rendering; text PDFs apart), LibreOffice's
rendering cost, and accuracy against the generator's ground truth.

    .venv/bin/python -m bench.docs_bench -n 500 [--seed 1] [--pdf-every 10] [--render 10]

Generates the set once under bench/data/ (``samples.entries``; reused on later runs with the same n, seed and
PDF share), reads every entry in this one process, and prints:

* entries/s per core: entries divided by this process's CPU seconds (``pdftotext`` runs as a child process for
  a PDF: its time is counted in the wall-clock figure);
* answers: exact / flagged / silent errors (read differently from the truth — a blank read for an answered
  question included — and not flagged). A blank question of an entry flagged ``unread_answers`` counts as
  flagged: a person reads that document;
* identity: entries whose seven fields are all exactly the truth, with no identity flag (DOCX and PDF apart);
* rendering: seconds per DOCX rendered to PDF by LibreOffice headless, one process per document.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.read_bench import commit, machine  # noqa: E402
from omr.documents import load_entry_contest, read_entry  # noqa: E402
from omr.documents.render import render_pdf  # noqa: E402
from samples.entries import generate  # noqa: E402


def _dataset(n: int, seed: int, pdf_every: int, contest: Path) -> Path:
    out = ROOT / "bench" / "data" / f"entries-n{n}-s{seed}-pdf{pdf_every}"
    done = out / ".complete"
    if not done.exists():
        print(f"generating {n} entries in {out} …", file=sys.stderr)
        generate(out, contest, n=n, seed=seed, pdf_every=pdf_every)
        done.write_text("ok\n")
    return out


def _score(rec: dict, truth: dict, tally: Counter) -> None:
    flagged = {f["question"] for f in rec["flags"] if "question" in f}
    unread = any(f.get("reason") == "unread_answers" for f in rec["flags"])
    for q, want in truth["answers"].items():
        got = rec["answers"].get(q, "")
        if q in flagged or (unread and got == "" and want != ""):
            tally["flagged"] += 1
        elif got == want:
            tally["exact"] += 1
        else:
            tally["silent_error"] += 1
            print(f"silent error: {truth['file']} question {q}: truth {want!r}, read {got!r} "
                  f"({rec['evidence'].get(q, '')})", file=sys.stderr)
    for q in truth["expect_flags"]:
        tally["expected_flags"] += 1
        tally["expected_flags_raised"] += q in flagged


def run(n: int, seed: int, pdf_every: int, render_n: int, contest: Path) -> dict:
    data = _dataset(n, seed, pdf_every, contest)
    entry_contest = load_entry_contest(contest)
    tally: Counter = Counter()
    ident: Counter = Counter()
    cpu = {"docx": 0.0, "pdf": 0.0}
    wall = {"docx": 0.0, "pdf": 0.0}
    count = Counter()
    for truth_path in sorted(data.glob("*.truth.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        kind = "pdf" if truth["file"].endswith(".pdf") else "docx"
        c0, w0 = time.process_time(), time.perf_counter()
        rec = read_entry(str(data / truth["file"]), entry_contest).to_json()
        cpu[kind] += time.process_time() - c0
        wall[kind] += time.perf_counter() - w0
        count[kind] += 1
        _score(rec, truth, tally)
        id_flags = [f for f in rec["flags"] if "identity" in f]
        ident[f"{kind}_exact"] += rec["identity"] == truth["identity"] and not id_flags
    docx_files = sorted(data.glob("*.docx"))[:render_n]
    render_s = []
    with tempfile.TemporaryDirectory(prefix="docs-bench-render-") as tmp:
        for f in docx_files:
            t0 = time.perf_counter()
            render_pdf(f, tmp)
            render_s.append(time.perf_counter() - t0)
    answers = sum(tally[k] for k in ("exact", "flagged", "silent_error"))
    return {
        "entries": dict(count), "answers": answers, **{k: tally[k] for k in ("exact", "flagged", "silent_error")},
        "flagged_pct": round(100 * tally["flagged"] / max(answers, 1), 2),
        "expected_flags_raised": f"{tally['expected_flags_raised']}/{tally['expected_flags']}",
        "identity_exact_pct_docx": round(100 * ident["docx_exact"] / max(count["docx"], 1), 2),
        "identity_exact_pct_pdf": round(100 * ident["pdf_exact"] / max(count["pdf"], 1), 2),
        "docx_per_cpu_s": round(count["docx"] / max(cpu["docx"], 1e-9), 1),
        "docx_per_wall_s": round(count["docx"] / max(wall["docx"], 1e-9), 1),
        "pdf_per_wall_s": round(count["pdf"] / max(wall["pdf"], 1e-9), 1),
        "render_s_per_docx": round(sum(render_s) / max(len(render_s), 1), 2),
        "rendered": len(render_s),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.docs_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pdf-every", type=int, default=10)
    p.add_argument("--render", type=int, default=10, help="DOCX files to render with LibreOffice (0: none)")
    p.add_argument("--contest", default=str(ROOT / "answer_keys" / "demo"))
    args = p.parse_args(argv)
    result = run(args.n, args.seed, args.pdf_every, args.render, Path(args.contest))
    result.update(machine=machine(), commit=commit(),
                  command="python -m bench.docs_bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if result["silent_error"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
