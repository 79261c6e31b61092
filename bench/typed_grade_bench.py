"""Typed entries through ``omr grade``: N generated DOCX entries graded into a fresh SQLite store, then what the
store holds compared with the generator's ground truth.

    .venv/bin/python -m bench.typed_grade_bench -n 200 [--seed 7]

Prints entries/s (wall clock, and per CPU second of this process: documents are read in the parent process),
answers exact / flagged / silent errors (stored differently from the truth and not flagged), the deliberately
ambiguous answers flagged, versions, and stored totals that differ from the truth's expected points (entries
without a deliberate problem).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answer_keys import demo_contest  # noqa: E402
from grading.cli import main as omr  # noqa: E402
from grading.contest import load_contest  # noqa: E402
from grading.db.pictures import graded_pages  # noqa: E402
from grading.score import score_sheet  # noqa: E402
from grading.store import Store  # noqa: E402
from samples.entries import generate  # noqa: E402


def run(n: int, seed: int) -> dict:
    contest = demo_contest()
    keys = load_contest(contest).keys
    with tempfile.TemporaryDirectory(prefix="typed-bench-") as tmp:
        truth_dir, docs_dir = Path(tmp) / "truth", Path(tmp) / "docs"
        docs_dir.mkdir()
        for doc in generate(truth_dir, contest, n=n, seed=seed, pdf_every=0):
            doc.rename(docs_dir / doc.name)
        url = f"sqlite:///{Path(tmp) / 'r.sqlite'}"
        w0, c0 = time.perf_counter(), time.process_time()
        code = omr(["grade", str(docs_dir), "--contest", str(contest), "--db", url, "--workers", "1"])
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        tally: Counter = Counter()
        with Store.open(url) as store:
            for p in graded_pages(store):
                truth = json.loads((truth_dir / f"{Path(p.source).stem}.truth.json").read_text(encoding="utf-8"))
                flagged = {k for t, k in p.open_flags if t == "question"}
                tally["version_ok" if p.version == truth["version"] else "version_wrong"] += 1
                for q, want in truth["answers"].items():
                    got = p.questions.get(q, {}).get("marked", "")
                    tally["flagged" if q in flagged else "exact" if got == want else "silent_error"] += 1
                for q in truth["expect_flags"]:
                    tally["expected_flags"] += 1
                    tally["expected_flags_raised"] += q in flagged
                if not truth["expect_flags"] and not flagged:
                    want_total = score_sheet(truth["answers"], truth["version"], keys).to_json()["total"]
                    got_total = str(sum((Fraction(v["points"]) for v in p.questions.values()), Fraction(0)))
                    tally["total_ok" if got_total == want_total else "total_wrong"] += 1
    return {"entries": n, "exit_code": code, "wall_s": round(wall, 2), "entries_per_s": round(n / wall, 1),
            "entries_per_cpu_s": round(n / cpu, 1), **dict(tally)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.typed_grade_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    print(json.dumps(run(args.n, args.seed), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
