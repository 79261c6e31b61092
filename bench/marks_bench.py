"""Marks as people make them: accuracy of ``omr read`` per kind of mark, on a generated set with ground truth.

    .venv/bin/python -m bench.marks_bench --marks harsh --profile scanner -n 500 --seed 4101 [--workers 2]

Generates the set once under bench/data/ (reused with the same marks, profile, n, seed), reads it with the
demo contest's layout (its marking rules), and prints per kind of mark (the generator's case) how many
questions were read as intended, flagged for a judge, or wrong without a flag (a silent error), plus the
flag reasons, the rules the reader applied, and ids/versions. ``--layout`` reads with another layout (e.g. one
without marking rules) to compare.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def per_case(rows: list[dict], truth: list[dict], root: Path) -> dict[str, Counter]:
    """Case → Counter(exact / flagged / silent_error) over the questions of the sheet pages."""
    from samples.evaluate import _key
    by_key = {_key(r["source"], r.get("page"), root): r for r in rows}
    out: dict[str, Counter] = defaultdict(Counter)
    for t in truth:
        if t.get("expect") == "rejected":
            continue
        r = by_key.get((Path(t["file"]).as_posix(), int(t.get("page", 1))))
        rejected = r is None or r["status"] == "rejected"
        flagged = set() if r is None else {f["question"] for f in r.get("flags", []) if "question" in f}
        for qid, want in t["answers"].items():
            case = t["cases"].get(qid, "single")
            if rejected or qid in flagged:
                out[case]["flagged"] += 1
            elif r["answers"].get(qid) == want:
                out[case]["exact"] += 1
            else:
                out[case]["silent_error"] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--marks", default="harsh", choices=("typical", "harsh"))
    ap.add_argument("--profile", default="scanner", choices=("clean", "scanner", "phone"))
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=4101)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--layout", default=str(ROOT / "answer_keys" / "demo" / "layout.json"))
    ap.add_argument("--data", default=str(ROOT / "bench" / "data"))
    ap.add_argument("--json", help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    from omr.layout import load_layout
    from omr.read import ReadOptions, read_inputs
    from samples.evaluate import evaluate, load_jsonl
    from samples.generator import generate_set

    layout = load_layout(args.layout)
    set_dir = Path(args.data) / f"marks-{args.marks}-{args.profile}-{args.n}-s{args.seed}"
    if not (set_dir / "truth.jsonl").exists():
        t = time.perf_counter()
        print(f"generating {args.n} {args.profile} sheets ({args.marks} marks) into {set_dir} …", file=sys.stderr)
        generate_set(layout, set_dir, profile=args.profile, n=args.n, seed=args.seed, workers=args.workers,
                     fmt="jpg", marks=args.marks)
        print(f"generated in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    truth = load_jsonl(set_dir / "truth.jsonl")
    out = set_dir / f"readings-{Path(args.layout).parent.name}.jsonl"
    t = time.perf_counter()
    summary = read_inputs([str(set_dir / "sheets")], layout, json_out=str(out),
                          options=ReadOptions(workers=args.workers), progress=False)
    wall = time.perf_counter() - t
    rows = load_jsonl(out)
    acc = evaluate(rows, truth, root=set_dir).as_json()
    cases = per_case(rows, truth, set_dir)
    rules = Counter(rule for r in rows for rule in (r.get("rules") or {}).values())
    mix = Counter(c for t in truth for c in t.get("cases", {}).values() if ":" not in c)
    report = {"command": "python -m bench.marks_bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
              "date": time.strftime("%Y-%m-%d %H:%M"), "set": str(set_dir), "layout": args.layout,
              "pages": summary.pages, "sheets_per_s": round(summary.pages / wall, 1), "accuracy": acc,
              "per_case": {k: dict(v) for k, v in sorted(cases.items())}, "rules_applied": dict(rules)}
    print(f"$ {report['command']}")
    print(f"{report['date']}  set {set_dir.name} ({summary.pages} pages, {report['sheets_per_s']} sheets/s, "
          f"{args.workers} worker(s)); layout {args.layout}")
    q = acc["questions"]
    print(f"  questions {q}: exact {acc['questions_exact_share']:.3%}, flagged {acc['questions_flagged_share']:.3%}, "
          f"silent errors {acc['questions_silent_errors']}")
    print(f"  participant ids: {acc['participant']}; versions: {acc['version']}")
    print(f"  flag reasons: {acc['flag_reasons']}")
    print(f"  rules applied: {dict(rules)}")
    print(f"  mix of unusual questions (generator cases, share of {q}): "
          + ", ".join(f"{k} {v / max(q, 1):.1%}" for k, v in mix.most_common()))
    print(f"  {'case':24s} {'n':>6s} {'exact':>8s} {'flagged':>8s} {'silent':>7s}")
    for case, c in sorted(cases.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(c.values())
        print(f"  {case:24s} {n:6d} {c['exact'] / n:8.1%} {c['flagged'] / n:8.1%} {c['silent_error']:7d}")
    for ex in acc["silent_error_examples"][:8]:
        print(f"    silent: {ex}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
