"""How fast ``omr ingest --no-grade`` takes in a Maildir of the generator's realistic mix (samples/mail.py), on one
core, and whether every message is accounted for (the per-state counts add up to the messages in the source).

    PYTHONPATH=$PWD python bench/ingest_bench.py -n 10000 --small        # 10,000 messages, scans made smaller
    PYTHONPATH=$PWD python bench/ingest_bench.py -n 2000                 # the committed scans at full size

The mailbox is generated once into ``--work`` (kept between runs: generating is slower than ingesting); the store
and the entry files are made anew each run. The command runs pinned to one core (``taskset -c 0``) when
``taskset`` exists; besides the wall-clock rate it reports the rate per CPU second of the command (what the
rate is on a core of its own when the machine is shared). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mailbox(work: Path, n: int, seed: int, small: bool) -> tuple[Path, dict]:
    sys.path.insert(0, str(ROOT))
    from samples.mail import write_mailbox

    box = work / f"mail-{n}-{seed}-{'small' if small else 'full'}"
    truth_path = box / "truth.json"
    if not truth_path.exists():
        t0 = time.perf_counter()
        write_mailbox(box, n=n, seed=seed, fmt="maildir", small=small)
        print(f"generated {n} messages in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return box, json.loads(truth_path.read_text(encoding="utf-8"))


def _contest(work: Path, box: Path) -> Path:
    from answer_keys import demo_contest
    from samples.mail import CONTEST_SETTINGS

    contest = work / "contest"
    shutil.rmtree(contest, ignore_errors=True)
    shutil.copytree(demo_contest(), contest)
    shutil.copy(box / "units.csv", contest / "units.csv")
    (contest / "contest.json").write_text(json.dumps(CONTEST_SETTINGS, ensure_ascii=False), encoding="utf-8")
    return contest


def _counts(url: str) -> tuple[dict[str, int], dict[str, int], int]:
    from grading.db.mail import mail_counts
    from grading.store import Store

    with Store.open(url, read_only=True) as store:
        messages, entries = mail_counts(store)
    m: dict[str, int] = {}
    e: dict[str, int] = {}
    for (_, state), k in messages.items():
        m[state] = m.get(state, 0) + k
    for (_, state), k in entries.items():
        e[state] = e.get(state, 0) + k
    return m, e, sum(m.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--small", action="store_true", help="scans made smaller (many messages on a small disk)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/omr-ingest-bench"))
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    box, truth = _mailbox(args.work, args.n, args.seed, args.small)
    contest = _contest(args.work, box)
    store = contest / "out" / "results.sqlite"
    url = f"sqlite:///{store}"
    size = sum(p.stat().st_size for p in (box / "mailbox" / "new").iterdir())
    cmd = [sys.executable, "-m", "grading.cli", "ingest", str(box / "mailbox"), "--contest", str(contest),
           "--db", url, "--unit", "Q.HK", "--no-grade"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 4):
        print(done.stdout, done.stderr, file=sys.stderr)
        return done.returncode
    states, entry_states, recorded = _counts(url)
    duplicates = sum(1 for m in truth["messages"] if m.get("duplicate"))
    result = {
        "command": " ".join(cmd[cmd.index(sys.executable):]).replace(sys.executable, "python"),
        "messages": args.n, "mailbox_mb": round(size / 2**20, 1), "seconds": round(seconds, 1),
        "messages_per_s": round(args.n / seconds, 1), "mb_per_s": round(size / 2**20 / seconds, 1),
        "cpu_seconds": round(cpu, 1), "messages_per_cpu_s": round(args.n / cpu, 1),
        "load_average": os.getloadavg()[0],
        "states": states, "entries": entry_states, "exact_duplicates": duplicates,
        "accounted": recorded + duplicates == args.n, "exit": done.returncode,
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if result["accounted"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
