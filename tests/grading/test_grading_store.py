from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from fractions import Fraction

import pytest
import sqlalchemy as sa

from grading.essays import assign_essay_pages
from grading.keys import Cancelled, keys_from_dict
from grading.score import ScoreStatus
from grading.store import AlreadyDecided, SCHEMA_VERSION, DatabaseError, Store, default_url, metadata, normalise_url
from omr.errors import BadArguments, ExitCode
from omr.records import SheetReading

from grading_support import ROOT, failure, qflag, reading, sha

KEY_101 = "AAADEB"


@pytest.fixture(scope="module")
def keys(small_layout):
    return keys_from_dict({"penalty": "1/3",
                           "sections": [{"name": "Phần I", "questions": "1-3"},
                                        {"name": "Phần II", "questions": "4-6"}],
                           "versions": {"101": {"answers": KEY_101}, "102": {"answers": "BBBBBB"}}}, small_layout)


@pytest.fixture
def store(store_url):
    s = Store.open(store_url)
    yield s
    s.close()


def rows(store: Store, table: str, order: str = "id") -> list[dict]:
    """The table's rows through the store's own column types (JSON decoded on both backends)."""
    t = metadata.tables[table]
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(t.c[order]))]


def score_of(store: Store, page_id: int) -> dict:
    (row,) = [r for r in rows(store, "scores") if r["page_id"] == page_id]
    return row


def record_basic(store: Store, keys, name: str = "a.pdf"):
    """Page 1: all right (total 6). Page 2: B everywhere with question 2 flagged. Page 3: not a sheet."""
    return store.record_submission(name, sha(name), 1234, [
        reading(name, 1, "000001", "101", KEY_101),
        reading(name, 2, "000002", "101", "BBBBBB", flags=(qflag("2"),)),
        failure(name, 3),
    ], keys)


# -- opening --------------------------------------------------------------------------------------------
def test_urls_are_normalised():
    assert normalise_url("postgresql://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("/tmp/x/results.sqlite") == "sqlite:////tmp/x/results.sqlite"
    assert default_url("contests/demo") == "sqlite:///contests/demo/out/results.sqlite"


def test_open_creates_folder_and_schema(sqlite_url):
    with Store.open(sqlite_url) as s:
        assert rows(s, "schema_version")[0]["version"] == SCHEMA_VERSION
        assert s.counts()["submissions"] == 0 and s.known_hashes() == set()


@pytest.mark.parametrize("url, match", [("mysql://u@h/db", "unsupported database"),
                                        ("postgresql://u:secret@127.0.0.1:1/db", "cannot create the results")])
def test_open_errors_are_database_errors_without_passwords(url, match):
    with pytest.raises(DatabaseError, match=match) as exc:
        Store.open(url)
    assert exc.value.exit_code is ExitCode.DATABASE == 7
    assert "secret" not in str(exc.value)


def test_a_newer_schema_is_refused(store_url):
    with Store.open(store_url) as s, s.engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(DatabaseError, match="newer omr-grader .*upgrade omr-grader") as exc:
        Store.open(store_url)
    assert exc.value.exit_code is ExitCode.DATABASE


def test_a_foreign_database_is_refused(sqlite_url):
    engine = sa.create_engine(sqlite_url.replace("results.sqlite", "other.sqlite"))
    with Store.open(sqlite_url.replace("results.sqlite", "x.sqlite")):
        pass
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE pages (id INTEGER)"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="not an omr results database"):
        Store.open(sqlite_url.replace("results.sqlite", "other.sqlite"))


def _raw(store: Store, table: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]


def test_a_v5_store_gains_the_names_exact_bytes_and_keeps_every_row(store_url, keys):
    """v5 → v6 adds submissions.source_raw (empty for the rows already there, whose names were all UTF-8); every
    row stays; a name that is not UTF-8 is then stored escaped with its bytes, and opens again from them."""
    odd = os.fsdecode(b"scans/\xff\xfe.jpg")
    with Store.open(store_url) as store:
        record_basic(store, keys)
        with store.write_tx("make it v5") as conn:
            conn.execute(sa.text("ALTER TABLE submissions DROP COLUMN source_raw"))
            conn.execute(sa.text("UPDATE schema_version SET version = 5"))
        before = {t: _raw(store, t) for t in ("submissions", "pages", "flags", "scores")}
    with Store.open(store_url) as store:
        assert rows(store, "schema_version")[0]["version"] == SCHEMA_VERSION
        after = {t: _raw(store, t) for t in before}
        assert after == {**before, "submissions": [(*r, None) for r in before["submissions"]]}
        res = store.record_submission(odd, sha("odd"), 10, [reading(odd, 1, "000003", "101", KEY_101)], keys)
        (old, new) = rows(store, "submissions")
        assert (old["source"], old["source_raw"]) == ("a.pdf", None)
        assert (new["source"], bytes(new["source_raw"])) == ("scans/\\xff\\xfe.jpg", b"scans/\xff\xfe.jpg")
        page = rows(store, "pages")[-1]["reading"]
        assert (page["source"], page["source_bytes"]) == ("scans/\\xff\\xfe.jpg", "c2NhbnMv//4uanBn")
        again = store.record_submission(odd, sha("odd"), 10, [], keys)
        assert res.created and not again.created and again.source == odd
        store.record_submission(odd + ".pdf", sha("essay"), 10, assign_essay_pages([failure(odd + ".pdf", 1)]), None)
        assert [e.source for e in store.essays_to_ocr()] == [odd + ".pdf"]
    with Store.open(store_url) as store:                                # opening again changes nothing
        assert len(rows(store, "submissions")) == 3 and rows(store, "schema_version")[0]["version"] == SCHEMA_VERSION


# -- recording ------------------------------------------------------------------------------------------
def test_record_writes_pages_flags_scores_and_counts(store, keys):
    res = record_basic(store, keys)
    assert res.created and res.source == "a.pdf"
    subs = rows(store, "submissions")
    assert [(s["source"], s["size"], s["n_pages"], s["status"]) for s in subs] == [("a.pdf", 1234, 3, "flagged")]
    pages = rows(store, "pages")
    assert [(p["page_no"], p["status"], p["participant"], p["reason_code"]) for p in pages] == [
        (1, "ok", "000001", None), (2, "flagged", "000002", None), (3, "rejected", None, "not_a_sheet")]
    assert pages[1]["reading"]["answers"]["2"] == "B" and "fills" in pages[1]["reading"]
    (flag,) = rows(store, "flags")
    assert (flag["target"], flag["key"], flag["state"], flag["origin"]) == ("question", "2", "open", "reader")
    assert flag["fills"] == [0.1, 0.45, 0.1, 0.1, 0.1]
    s1, s2 = score_of(store, pages[0]["id"]), score_of(store, pages[1]["id"])
    assert (s1["total"], s1["max_total"], s1["total_float"]) == ("6", "6", 6.0)
    # page 2: q2 unreadable (flagged), q6 right, four wrong at 1/3
    assert s2["total"] == "-1/3" and s2["needs_review"] == ["2"]
    assert s2["questions"]["2"]["outcome"] == "unreadable"
    assert store.counts() == {
        "submissions": 1, "submissions_ok": 0, "submissions_flagged": 1, "submissions_rejected": 0,
        "pages": 3, "pages_ok": 1, "pages_flagged": 1, "pages_rejected": 1, "pages_graded": 1, "pages_no_key": 0,
        "flags_open": 1, "flags_resolved": 0}
    assert store.known_hashes() == {sha("a.pdf")}


def test_recording_the_same_content_again_changes_nothing(store, keys):
    record_basic(store, keys)
    before = {t: rows(store, t) for t in ("submissions", "pages", "flags", "scores")}
    again = store.record_submission("copy/of/a.pdf", sha("a.pdf"), 1234, [reading("x", 1, "9", "101", "EEEEEE")],
                                    keys)
    assert not again.created and again.source == "a.pdf"
    assert {t: rows(store, t) for t in before} == before
    assert len(before["submissions"]) == 1 and len(before["pages"]) == 3


def test_whole_file_failure_is_page_zero_and_rejected(store, keys):
    store.record_submission("bad.pdf", sha("bad"), 5, [failure("bad.pdf", None)], keys)
    (p,) = rows(store, "pages")
    assert (p["page_no"], p["status"]) == (0, "rejected")
    assert rows(store, "submissions")[0]["status"] == "rejected"
    assert rows(store, "scores") == []


def test_without_keys_pages_are_stored_unscored_then_rescored(store, keys):
    store.record_submission("a.pdf", sha("a"), 1, [reading("a.pdf", 1, "000001", "101", KEY_101)], None)
    assert rows(store, "scores") == []
    assert store.results_frame().loc[0, "status"] == "unscored"
    assert store.rescore(keys, "admin") == 1
    assert store.results_frame().loc[0, "total_exact"] == "6"


class ExplodingReading(SheetReading):
    """Fault injection: serialising this page fails (or kills the whole process) mid-transaction."""

    __slots__ = ()

    def to_json(self, *, detail: bool = False):
        if self.source == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("disk on fire")


def test_a_failure_mid_submission_leaves_nothing(store, keys):
    good = reading("a.pdf", 1, "000001", "101", KEY_101)
    bad = ExplodingReading(**{f: getattr(reading("a.pdf", 2, "2", "101", KEY_101), f)
                              for f in SheetReading.__dataclass_fields__})
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record_submission("a.pdf", sha("a"), 1, [good, bad], keys)
    assert store.known_hashes() == set()
    assert rows(store, "pages") == [] and rows(store, "submissions") == []


KILL_SCRIPT = r"""
import sys
sys.path[:0] = [{root!r}, {here!r}]
from omr.layout import layout_from_dict
from grading.keys import keys_from_dict
from grading.store import Store
from grading_support import reading, sha, small_layout_dict
from test_grading_store import ExplodingReading, KEY_101
from omr.records import SheetReading
keys = keys_from_dict({{"versions": {{"101": {{"answers": KEY_101}}}}}}, layout_from_dict(small_layout_dict()))
store = Store.open({url!r})
store.record_submission("first.pdf", sha("first"), 1, [reading("first.pdf", 1, "1", "101", KEY_101)], keys)
r = reading("kill", 2, "2", "101", KEY_101)
bad = ExplodingReading(**{{f: getattr(r, f) for f in SheetReading.__dataclass_fields__}})
store.record_submission("kill.pdf", sha("kill"), 1, [reading("kill.pdf", 1, "3", "101", KEY_101), bad], keys)
print("not killed")
"""


def test_kill_9_mid_submission_leaves_whole_submissions_only(store_url):
    here = os.path.dirname(__file__)
    script = KILL_SCRIPT.format(root=str(ROOT), here=here, url=store_url)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert res.returncode == -signal.SIGKILL, res.stderr
    with Store.open(store_url) as s:
        assert s.known_hashes() == {sha("first")}
        assert [(p["page_no"], p["participant"]) for p in rows(s, "pages")] == [(1, "1")]
        assert s.counts()["pages_graded"] == 1


# -- human decisions ------------------------------------------------------------------------------------
def test_resolution_rescoring_audit_and_survival(store, keys):
    record_basic(store, keys)
    (flag,) = store.list_flags()
    sc = store.resolve_flag(flag["id"], "a", "judge.lan")       # case-insensitive, normalised to "A"
    assert sc.status is ScoreStatus.SCORED and sc.total == Fraction(2, 3)   # -1/3 + 1 (q2 now right)
    (res,) = rows(store, "resolutions")
    assert (res["target"], res["key"], res["value"], res["who"], res["flag_id"]) == (
        "question", "2", "A", "judge.lan", flag["id"])
    (f,) = rows(store, "flags")
    assert (f["state"], f["resolved_by"], f["resolution"]) == ("resolved", "judge.lan", {"value": "A"})
    (a,) = rows(store, "audit")
    assert (a["who"], a["action"]) == ("judge.lan", "resolve_flag")
    assert a["target"] == f"flag:{flag['id']} page:{flag['page_id']} question:2"
    assert a["before"] == {"flag": {"state": "open", "resolution": None, "resolved_by": None}, "value": "B",
                           "score": {"status": "scored", "total": "-1/3"}}
    assert a["after"] == {"flag": {"state": "resolved", "resolution": {"value": "A"}, "resolved_by": "judge.lan"},
                          "value": "A", "score": {"status": "scored", "total": "2/3"}}
    assert store.counts()["pages_flagged"] == 0 and store.counts()["submissions_flagged"] == 1  # page 3 rejected

    # the machine re-records the same file and re-scores everything: the decision stands
    assert not record_basic(store, keys).created
    assert store.rescore(keys, "admin") == 2
    assert rows(store, "resolutions") == [res]
    assert rows(store, "flags")[0]["state"] == "resolved"
    assert score_of(store, flag["page_id"])["total"] == "2/3"
    frame = store.results_frame().set_index("participant")
    assert frame.loc["000002", "total_exact"] == "2/3" and frame.loc["000002", "status"] == "ok"


def test_bad_decisions_are_refused_and_change_nothing(store, keys):
    record_basic(store, keys)
    (flag,) = store.list_flags()
    with pytest.raises(BadArguments, match="not an answer to question 2: give the marks"):
        store.resolve_flag(flag["id"], "Q", "judge")
    with pytest.raises(BadArguments, match="say who decides"):
        store.resolve_flag(flag["id"], "A", " ")
    with pytest.raises(BadArguments, match="there is no flag 999"):
        store.resolve_flag(999, "A", "judge")
    assert rows(store, "resolutions") == [] and rows(store, "audit") == []
    assert store.list_flags()[0]["state"] == "open"


def test_no_key_is_flagged_and_a_judge_enters_the_version(store, keys):
    store.record_submission("v.pdf", sha("v"), 1, [reading("v.pdf", 1, "000007", "999", "BBBBBB")], keys)
    (flag,) = store.list_flags()
    assert (flag["target"], flag["reason"], flag["origin"]) == ("version", "no_key", "grading")
    assert score_of(store, flag["page_id"])["status"] == "no_key"
    assert store.counts()["pages_no_key"] == 1 and store.results_frame().loc[0, "status"] == "no_key"
    with pytest.raises(BadArguments, match="no answer key for version '998'"):
        store.resolve_flag(flag["id"], "998", "judge")
    sc = store.resolve_flag(flag["id"], "102", "judge")
    assert sc.version == "102" and sc.total == 6
    assert rows(store, "pages")[0]["version"] == "102"            # effective version
    assert rows(store, "pages")[0]["reading"]["version"] == "999"  # the machine reading is kept as read
    assert store.list_flags() == []


def test_rescore_with_a_key_for_the_version_closes_no_key(store, keys, small_layout):
    store.record_submission("v.pdf", sha("v"), 1, [reading("v.pdf", 1, "000007", "999", "BBBBBB")], keys)
    more = keys_from_dict({"versions": {"101": {"answers": KEY_101}, "999": {"answers": "BBBBBA"}}}, small_layout)
    store.rescore(more, "admin")
    (f,) = rows(store, "flags")
    assert f["state"] == "resolved" and f["resolved_by"] == "admin" and "999" in f["resolution"]["auto"]
    assert score_of(store, f["page_id"])["total"] == "5"
    audit = rows(store, "audit")[-1]
    assert audit["action"] == "rescore"
    assert audit["before"]["totals"] == {str(f["page_id"]): "no_key"}
    assert audit["after"]["totals"] == {str(f["page_id"]): "5"} and audit["after"]["keys"] == [more.digest]


def test_rescore_after_cancelling_a_question_changes_totals_exactly(store, keys):
    record_basic(store, keys)
    pid1, pid2 = (p["id"] for p in rows(store, "pages")[:2])
    # page 2 marked B on question 4 (key D): wrong, -1/3. Cancel with award: +1 +1/3 = 4/3 more.
    store.rescore(keys.cancel("101", "4", Cancelled.AWARD), "chief.judge")
    assert score_of(store, pid2)["total"] == "1"            # -1/3 + 4/3
    assert score_of(store, pid1)["total"] == "6"            # already right: unchanged
    audit = rows(store, "audit")[-1]
    assert audit["who"] == "chief.judge"
    assert audit["before"]["totals"] == {str(pid2): "-1/3"} and audit["after"]["totals"] == {str(pid2): "1"}
    # drop it instead: page 1 loses the point and the maximum shrinks
    store.rescore(keys.cancel("101", "4", Cancelled.DROP), "chief.judge")
    s1, s2 = score_of(store, pid1), score_of(store, pid2)
    assert (s1["total"], s1["max_total"]) == ("5", "5")
    assert (s2["total"], s2["max_total"]) == ("0", "5")
    frame = store.results_frame().set_index("participant")
    assert frame.loc["000001", "section: Phần II"] == 2.0 and frame.loc["000001", "max_total"] == 5.0


def test_results_frame_rows_per_participant(store, keys):
    record_basic(store, keys)
    store.record_submission("b.pdf", sha("b"), 1, [
        reading("b.pdf", 1, "000001", "102", "BBBBBB"),        # a second sheet for 000001
        reading("b.pdf", 2, None, "101", KEY_101, flags=(qflag("1", "participant_unreadable"),)),
    ], keys)
    f = store.results_frame()
    assert list(f.columns[:6]) == ["participant", "version", "status", "total", "total_exact", "max_total"]
    by = {(r.participant if isinstance(r.participant, str) else None): r for r in f.itertuples()}
    assert by["000001"].status == "duplicate" and by["000001"].pages == 2 and by["000001"].version == "101;102"
    assert by["000002"].status == "flagged"
    assert by[None].status == "flagged" and by[None].sources == "b.pdf"
    assert len(f) == 3


# -- both backends agree --------------------------------------------------------------------------------
def test_sqlite_and_postgresql_give_the_same_scores(sqlite_url, pg_url, keys):
    outs = []
    for url in (sqlite_url, pg_url):
        with Store.open(url) as s:
            record_basic(s, keys)
            s.record_submission("c.pdf", sha("c"), 9, [reading("c.pdf", 1, "000003", "102", "BACB-E"),
                                                       reading("c.pdf", 2, "000004", "555", "AAAAAA")], keys)
            s.resolve_flag(s.list_flags()[0]["id"], "C", "judge")
            s.rescore(keys.cancel("101", "3", Cancelled.DROP), "admin")
            outs.append(([{k: r[k] for k in ("page_id", "status", "total", "max_total", "questions", "sections",
                                             "needs_review", "key_digest")} for r in rows(s, "scores", "page_id")],
                         s.results_frame(), s.counts()))
    assert outs[0][0] == outs[1][0]
    assert outs[0][1].equals(outs[1][1])
    assert outs[0][2] == outs[1][2]


# -- concurrent judges ----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_concurrent_judges_lose_nothing(request, backend, keys):
    """20 threads, each with its own Store (own engine and connection), resolve 20 different flags: two per
    page, two pages per submission, so the page and submission locks are contended."""
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    with Store.open(url) as s:
        for n in range(5):
            name = f"s{n}.pdf"
            s.record_submission(name, sha(name), 1, [
                reading(name, p, f"{n}{p}", "101", "BBBBBB", flags=(qflag("1"), qflag("4"))) for p in (1, 2)], keys)
        todo = [(f["id"], {"1": "A", "4": "D"}[f["key"]]) for f in s.list_flags()]
    assert len(todo) == 20
    barrier, errors = threading.Barrier(len(todo)), []

    def judge(i: int, flag_id: int, value: str) -> None:
        try:
            st = Store.open(url)
            try:
                barrier.wait(timeout=30)
                st.resolve_flag(flag_id, value, f"judge{i}")
            finally:
                st.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=judge, args=(i, fid, v)) for i, (fid, v) in enumerate(todo)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with Store.open(url) as s:
        assert len(rows(s, "resolutions")) == 20 and len(rows(s, "audit")) == 20
        assert {a["who"] for a in rows(s, "audit")} == {f"judge{i}" for i in range(20)}
        assert s.list_flags() == []
        # B everywhere = q6 right (1) and three wrong (-1) ... plus q1 and q4 now right: 3 - 3*(1/3) = 2
        assert {r["total"] for r in rows(s, "scores")} == {"2"}
        c = s.counts()
        assert (c["pages_ok"], c["submissions_ok"], c["flags_resolved"]) == (10, 5, 20)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_judges_racing_on_one_flag_write_it_once(request, backend, keys):
    """8 threads, each with its own Store (as 8 server processes would), decide the SAME flag with
    only_open=True: exactly one decision is written; the others get AlreadyDecided naming the winner."""
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    with Store.open(url) as s:
        s.record_submission("race.pdf", sha("race.pdf"), 1,
                            [reading("race.pdf", 1, "000777", "101", "BBBBBB", flags=(qflag("1"),))], keys)
        (flag,) = s.list_flags()
    n = 8
    barrier, won, lost, errors = threading.Barrier(n), [], [], []

    def judge(i: int) -> None:
        try:
            st = Store.open(url)
            try:
                barrier.wait(timeout=30)
                st.resolve_flag(flag["id"], "ABCD"[i % 4], f"judge{i}", only_open=True)
                won.append(f"judge{i}")
            except AlreadyDecided as exc:
                lost.append(exc.who)
            finally:
                st.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=judge, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(won) == 1 and len(lost) == n - 1
    assert set(lost) == set(won)                       # every loser is told who decided
    with Store.open(url) as s:
        assert [(r["who"], r["flag_id"]) for r in rows(s, "resolutions")] == [(won[0], flag["id"])]
        assert [a["who"] for a in rows(s, "audit")] == won
        # without only_open a decided flag can still be corrected (the CLI's `omr resolve`), audited as such
        s.resolve_flag(flag["id"], "A", "chief")
        (_, second) = rows(s, "audit")
        assert second["before"]["flag"]["resolved_by"] == won[0] and second["who"] == "chief"


def test_runs_are_recorded_with_their_counts(store, keys):
    run_id = store.start_run({"inputs": ["scans/"], "workers": 2})
    store.record_submission("a.pdf", sha("a"), 1, [reading("a.pdf", 1, "000001", "101", KEY_101)], keys,
                            run_id=run_id)
    store.finish_run(run_id)
    (run,) = rows(store, "runs")
    assert run["args"] == {"inputs": ["scans/"], "workers": 2} and run["finished_at"] is not None
    assert run["counts"]["pages_graded"] == 1
    assert rows(store, "submissions")[0]["last_run"] == run_id
