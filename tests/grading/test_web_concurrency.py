"""Twenty judges at once, through the web app, against PostgreSQL.

A live ``omr review --db postgresql://…`` serves a store of demo sheets read with faint marks (synthetic readings
recorded through ``Store.record_submission``): each judge owns one sheet with three flagged questions, and five more
sheets have one flagged question each that four judges decide at the same moment (threads released by a barrier),
each racer with a different answer. Nothing may be lost or written twice: every flag is resolved exactly once, with
one ``resolutions`` and one ``audit`` row by the judge who won, the others get a 409 page saying who was first (never
a 500) and write nothing, and every page is re-scored from the decision that won.
"""
from __future__ import annotations

import threading
from collections import Counter
from fractions import Fraction

import httpx
import pytest

from grading.judges import add_judge
from grading.store import Store
from web_support import (csrf, demo_answers, demo_contest, live_server, login_and_change_password, record_faint_sheets,
                         rows)

JUDGES = 20
OWN = ("2", "57", "88")          # the questions flagged on each judge's own sheet
RACED = 5                        # sheets with question 2 flagged, each decided by JUDGES // RACED judges at once


@pytest.fixture
def pg_site(tmp_path, pg_url):
    contest = demo_contest(tmp_path / "contest")
    with Store.open(pg_url) as store:
        own = record_faint_sheets(store, contest, JUDGES, OWN)                   # participants 000001 … 000020
        raced = record_faint_sheets(store, contest, RACED, ("2",), start=100)    # 000101 … 000105
        passwords = {f"gk{j:02d}": add_judge(store, f"gk{j:02d}", unit=f"Quận {j}") for j in range(JUDGES)}
    assert len(own) == JUDGES * len(OWN) and len(raced) == RACED
    with live_server(contest, tmp_path / "server.log", "--db", pg_url) as base:
        clients = {}
        try:
            for name, pw in passwords.items():
                c = httpx.Client(base_url=base, follow_redirects=False, timeout=120)
                clients[name] = c
                login_and_change_password(c, name, pw)
            yield {"url": pg_url, "own": own, "raced": raced, "clients": clients}
        finally:
            for c in clients.values():
                c.close()


@pytest.mark.slow
def test_twenty_judges_decide_at_once_and_nothing_is_lost_or_written_twice(pg_site):
    url, clients = pg_site["url"], pg_site["clients"]
    names = sorted(clients)
    right = demo_answers()
    own = {name: pg_site["own"][i * len(OWN):(i + 1) * len(OWN)] for i, name in enumerate(names)}
    race_of = {name: pg_site["raced"][i % RACED] for i, name in enumerate(names)}
    # racers on one flag answer differently (A, B, C, D): the score shows whose decision counted
    racers = {fid: [n for n in names if race_of[n] == fid] for fid in pg_site["raced"]}
    answer_of = {n: "ABCD"[racers[race_of[n]].index(n)] for n in names}
    tokens = {n: csrf(clients[n].get(f"/flags/{race_of[n]}").text) for n in names}
    for n in names:                                   # each judge has its own sheet's flags open too
        assert clients[n].get(f"/flags/{own[n][0]}").status_code == 200

    barrier = threading.Barrier(len(names), timeout=60)
    results: dict[str, list[tuple[int, str, httpx.Response]]] = {n: [] for n in names}
    errors: list[BaseException] = []

    def judge(n: str) -> None:
        try:
            c = clients[n]
            barrier.wait()                            # round 1: the races, all at once
            fid = race_of[n]
            results[n].append((fid, answer_of[n], c.post(f"/flags/{fid}/resolve",
                                                         data={"csrf": tokens[n], "value": answer_of[n]})))
            for fid, q in zip(own[n], OWN):           # rounds 2–4: each judge's own flags, all at once
                barrier.wait()
                results[n].append((fid, right[q], c.post(f"/flags/{fid}/resolve",
                                                         data={"csrf": tokens[n], "value": right[q]})))
        except BaseException as exc:                  # noqa: BLE001 — reported below, with the judge
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=judge, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert all(len(r) == 1 + len(OWN) for r in results.values())

    # what each judge was told
    codes = Counter(resp.status_code for r in results.values() for _, _, resp in r)
    assert set(codes) <= {303, 409}, codes
    winners: dict[int, tuple[str, str]] = {}
    for n, r in results.items():
        for fid, value, resp in r:
            if resp.status_code == 303:
                assert fid not in winners, f"flag {fid} decided twice"
                winners[fid] = (n, value)
                assert resp.headers["location"].endswith(f"done={fid}")
            else:
                assert fid in pg_site["raced"], f"{n} lost its own flag {fid}: {resp.text[:300]}"
                assert "trước bạn; quyết định của bạn không được ghi" in resp.text
    all_flags = set(pg_site["raced"]) | {f for fs in own.values() for f in fs}
    assert set(winners) == all_flags                                     # every flag decided once
    assert codes[409] == len(names) - RACED                             # every racer but one per flag lost
    assert all(winners[f][0] == n for n in names for f in own[n])      # own flags: no one else touched them

    # the store: one resolution and one audit row per decision, by the winner, with the winner's value
    res = rows(url, "SELECT flag_id, who, value FROM resolutions ORDER BY flag_id")
    assert [(f, w, v) for f, w, v in res] == [(f, *winners[f]) for f in sorted(all_flags)]
    fl = rows(url, "SELECT id, state, resolved_by, resolution FROM flags ORDER BY id")
    assert [(i, s, b, r["value"]) for i, s, b, r in fl] == [(f, "resolved", *winners[f]) for f in sorted(all_flags)]
    aud = rows(url, "SELECT who, target FROM audit WHERE action = 'resolve_flag' ORDER BY id")
    assert len(aud) == len(all_flags)
    assert sorted((int(t.split()[0].split(":")[1]), w) for w, t in aud) == sorted(
        (f, winners[f][0]) for f in all_flags)
    assert rows(url, "SELECT count(*) FROM audit WHERE action <> 'resolve_flag'") == [(0,)]

    # every page re-scored from the decision that counted: own sheets all right (20); a raced sheet loses
    # question 2's 1/5 unless the winning answer was the right one
    scores = dict(rows(url, "SELECT p.participant, s.total FROM scores s JOIN pages p ON p.id = s.page_id"))
    assert all(scores[f"{i:06d}"] == "20" for i in range(1, JUDGES + 1))
    raced_page = dict(rows(url, "SELECT f.id, p.participant FROM flags f JOIN pages p ON p.id = f.page_id"))
    for fid in pg_site["raced"]:
        want = Fraction(20) if winners[fid][1] == right["2"] else Fraction(99, 5)
        assert Fraction(scores[raced_page[fid]]) == want, (fid, winners[fid])
    assert rows(url, "SELECT status, count(*) FROM pages GROUP BY status") == [("ok", JUDGES + RACED)]
    assert rows(url, "SELECT status, count(*) FROM submissions GROUP BY status") == [("ok", JUDGES + RACED)]
