"""Grading end to end into SQLite vs reading alone, on the same sample set and the same cores.

    .venv/bin/python -m bench.grade_bench -n 1000 [--workers 2] [--db URL]

Runs the real commands as a user would (``omr read`` then ``omr grade`` into a fresh SQLite file, each a new
process) and prints wall times, sheets/s, the ratio, and what the store holds afterwards; then a re-run of
``omr grade`` over the same folder (everything already recorded: it must skip every file).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.read_bench import ROOT, commit, machine


def run(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - t, p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file in a temp folder)")
    ap.add_argument("--data", default=str(ROOT / "bench" / "data"))
    args = ap.parse_args(argv)

    from omr.layout import load_layout
    from samples.generator import generate_set

    contest = ROOT / "answer_keys" / "demo"
    set_dir = Path(args.data) / f"scanner-{args.n}-s{args.seed}-jpg"
    if not (set_dir / "truth.jsonl").exists():
        print(f"generating {args.n} scanner sheets into {set_dir} …", file=sys.stderr)
        generate_set(load_layout(contest / "layout.json"), set_dir, profile="scanner", n=args.n, seed=args.seed,
                     workers=None, fmt="jpg", extras=False)
    omr = [sys.executable, "-m", "grading.cli"]
    sheets = str(set_dir / "sheets")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'results.sqlite'}"
        t_read, p = run(omr + ["read", sheets, "--layout", str(contest), "--json-out", str(Path(tmp) / "r.jsonl"),
                               "--workers", str(args.workers)])
        assert p.returncode in (0, 3, 4), p.stderr
        t_grade, p = run(omr + ["grade", sheets, "--contest", str(contest), "--db", db,
                                "--workers", str(args.workers)])
        assert p.returncode in (0, 3, 4), p.stderr
        t_again, p2 = run(omr + ["grade", sheets, "--contest", str(contest), "--db", db,
                                 "--workers", str(args.workers)])
        counts = ""
        if db.startswith("sqlite:///"):
            con = sqlite3.connect(db[len("sqlite:///"):])
            n_sub = con.execute("select count(*) from submissions").fetchone()[0]
            n_pages = con.execute("select count(*) from pages").fetchone()[0]
            n_scores = con.execute("select count(*) from scores").fetchone()[0]
            by = dict(con.execute("select status, count(*) from pages group by status").fetchall())
            con.close()
            counts = f"store: {n_sub} submissions, {n_pages} pages {by}, {n_scores} scores"
    cmd = "python -m bench.grade_bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    print(f"$ {cmd}")
    print(f"{time.strftime('%Y-%m-%d')} commit {commit()} on {machine()}")
    print(f"set: {set_dir.relative_to(ROOT) if set_dir.is_relative_to(ROOT) else set_dir} ({args.n} scanner sheets)")
    print(f"  omr read  --workers {args.workers}: {t_read:.1f} s wall, {args.n / t_read:.1f} sheets/s "
          "(new process, imports included)")
    print(f"  omr grade --workers {args.workers}: {t_grade:.1f} s wall, {args.n / t_grade:.1f} sheets/s → "
          f"{(t_grade / t_read - 1) * 100:+.0f} % vs read alone")
    print(f"  re-run of omr grade (all recorded, all skipped): {t_again:.1f} s, exit {p2.returncode}")
    if counts:
        print(f"  {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
