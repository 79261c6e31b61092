"""Rounds and prizes at the Hanoi contest's size: N participants (default 50,000) across 30 districts, each with
an answer sheet scored and one essay; the demo's rules (answer_keys/demo/rules.json): a qualifying and a district
round per district (top 100 each), a city round (top 200), the final, then the prizes.

    .venv/bin/python -m bench.prizes_bench [-n 50000] [--units 30] [--db URL]

The store is filled directly (bulk inserts: submissions, pages, scores, essays, their judging tasks, the roster);
the judges are simulated by setting every task of a round final (a score from its id) between opening and closing.
Prints the wall time of each step (and the CPU time of this process: SQLite runs in it, so on a machine shared
with other work that is the one-core figure); the target is closing the rounds + ranking + prizes ≤ 10 s.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from bench.read_bench import ROOT, commit, machine

DEMO = ROOT / "answer_keys" / "demo"
AT = datetime(2026, 9, 6, 8, 0, tzinfo=timezone.utc)


def _units_csv(folder: Path, n_units: int, n: int) -> None:
    rows = ["code,name,kind,size"] + [f"U{u:02d},Quận {u:02d},quận,{(n // n_units) * 20 + u * 97}"
                                      for u in range(1, n_units + 1)]
    (folder / "units.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def fill(url: str, n: int, n_units: int) -> None:
    """N scored answer pages, one essay each (with its judging task), and the roster."""
    from grading.store import (Store, essay_tasks, essays, keysets, pages, participants, runs, scores,
                               submissions)

    with Store.open(url) as store, store.write_tx("bench fill") as conn:
        run = conn.execute(sa.insert(runs).values(started_at=AT).returning(runs.c.id)).scalar_one()
        conn.execute(sa.insert(keysets).values(digest="d" * 64, contest="demo", layout="demo", data={},
                                               created_at=AT))
        step = 10_000
        for lo in range(0, n, step):
            ids = range(lo, min(n, lo + step))
            conn.execute(sa.insert(submissions), [dict(
                id=i + 1, source=f"bai-{i:06d}.pdf", content_hash=f"{i:064x}", size=1000, n_pages=2, status="ok",
                first_seen=AT + timedelta(seconds=i), last_run=run, unit=f"Quận {i % n_units + 1:02d}") for i in ids])
            conn.execute(sa.insert(pages), [dict(
                id=2 * i + 1, submission_id=i + 1, page_no=1, status="ok", layout="demo", participant=f"{i:06d}",
                version="101", reading={}, read_at=AT) for i in ids])
            conn.execute(sa.insert(pages), [dict(
                id=2 * i + 2, submission_id=i + 1, page_no=2, status="essay", reading={}, read_at=AT) for i in ids])
            conn.execute(sa.insert(scores), [dict(
                page_id=2 * i + 1, participant=f"{i:06d}", version="101", status="scored", total=str(i * 7 % 41),
                total_float=float(i * 7 % 41), max_total="40", max_float=40.0, questions={}, sections=[],
                needs_review=[], key_digest="d" * 64, computed_at=AT) for i in ids])
            conn.execute(sa.insert(essay_tasks), [dict(
                id=i + 1, task_key=f"p:{i:06d}|essay", question="essay", participant=f"{i:06d}",
                anon_code=f"BT-{i:06d}", unit=f"Quận {i % n_units + 1:02d}", unit_key=f"quận {i % n_units + 1:02d}",
                state="open", judges_needed=2, created_at=AT) for i in ids])
            conn.execute(sa.insert(essays), [dict(
                page_id=2 * i + 2, kind="page", owner_page_id=2 * i + 1, participant=f"{i:06d}",
                anon_code=f"BE-{i:06d}", ocr_state="done", created_at=AT, task_id=i + 1) for i in ids])
            conn.execute(sa.insert(participants), [dict(
                participant=f"{i:06d}", name=f"Thí sinh {i}", unit=f"Quận {i % n_units + 1:02d}", updated_at=AT)
                for i in ids])


def judge(url: str, round_name: str) -> None:
    """Every task of the round final, with a score from its id (0–10)."""
    from grading.store import Store, essay_tasks

    with Store.open(url) as store, store.write_tx("bench judges") as conn:
        conn.execute(sa.update(essay_tasks).where(essay_tasks.c.contest_round == round_name).values(
            state="final", final_score=sa.cast(essay_tasks.c.id % 11, sa.Text), final_rule="mean"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=50_000)
    ap.add_argument("--units", type=int, default=30)
    ap.add_argument("--db", default=None, help="an empty store URL (default: a fresh SQLite file)")
    args = ap.parse_args(argv)

    from grading.prizes import award_prizes
    from grading.reports.contest_reports import write_report
    from grading.rounds import close_round, open_round
    from grading.rules import Level, load_rules
    from grading.store import Store
    from grading.units import load_units

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "rules.json").write_bytes((DEMO / "rules.json").read_bytes())
        _units_csv(folder, args.units, args.n)
        rules, units = load_rules(folder), load_units(folder)
        url = args.db or f"sqlite:///{folder / 'results.sqlite'}"
        t = time.perf_counter()
        fill(url, args.n, args.units)
        print(f"fill {args.n} participants, {args.units} units: {time.perf_counter() - t:.1f} s")
        codes = [u.code for u in units.units]
        timed = {"open": 0.0, "close": 0.0, "close_cpu": 0.0}
        for rnd in rules.rounds:
            scopes = codes if rnd.level is Level.UNIT else [None]
            t = time.perf_counter()
            with Store.open(url) as store:
                entered = sum(open_round(store, rules, units, rnd.name, u, who="bench").entries_added for u in scopes)
            t_open = time.perf_counter() - t
            judge(url, rnd.name)
            t, cpu = time.perf_counter(), time.process_time()
            with Store.open(url) as store:
                closed = [close_round(store, rules, units, rnd.name, u, who="bench") for u in scopes]
            t_close, c_close = time.perf_counter() - t, time.process_time() - cpu
            timed["close_cpu"] += c_close
            timed["open"] += t_open
            timed["close"] += t_close
            print(f"round {rnd.name:14s} {len(scopes):2d} scope(s): {entered:6d} entries; open {t_open:5.2f} s, "
                  f"close {t_close:5.2f} s (CPU {c_close:5.2f} s); {sum(c.advanced for c in closed)} go on, "
                  f"{sum(len(c.ties) for c in closed)} tie flag(s)")
        t, cpu = time.perf_counter(), time.process_time()
        with Store.open(url) as store:
            run = award_prizes(store, rules, units, who="bench")
        t_prizes, c_prizes = time.perf_counter() - t, time.process_time() - cpu
        print(f"prizes: {run.added} awards, {len(run.flags)} tie flag(s): {t_prizes:.2f} s (CPU {c_prizes:.2f} s)")
        print(f"closing every round + ranking + prizes: {timed['close'] + t_prizes:.2f} s wall, "
              f"{timed['close_cpu'] + c_prizes:.2f} s CPU of this process (target ≤ 10 s on one core); "
              f"opening every round: {timed['open']:.2f} s; load average {os.getloadavg()[0]:.1f}")
        t = time.perf_counter()
        with Store.open(url) as store:
            for kind in ("prizes", "unit", "city", "education"):
                for ext in ("xlsx", "pdf"):
                    write_report(kind, store, folder, rules, units, folder / f"{kind}.{ext}", on=AT.date())
        print(f"reports (prizes, unit, city, education; XLSX and PDF): {time.perf_counter() - t:.2f} s "
              "(target ≤ 60 s)")
        print(f"machine: {machine()}; commit {commit()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
