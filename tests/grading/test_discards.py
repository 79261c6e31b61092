"""Discarding a page (``grading.db.discards``) and a judge's report on an essay (``grading.db.reports``), at store
level on SQLite and PostgreSQL: a discarded page leaves the counts, the results, the item statistics, re-scoring,
OCR and its essay task, and comes back whole; a report holds the essay's task until the organisers decide."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from grading import essays as S
from grading.db import discards as D
from grading.db import reports as R
from grading.db.engine import utcnow
from grading.db.exports import answer_pages
from grading.db.pictures import graded_pages
from grading.db.progress import unit_groups
from grading.db.tasks import sync_tasks
from grading.essays import assign_essay_pages
from grading.judges import add_judge
from grading.keys import keys_from_dict
from grading.store import Store, metadata
from omr.errors import BadArguments
from omr.ocr import OcrResult

from grading_support import DEMO, failure, qflag, reading, sha

KEY_101 = "AAADEB"


@pytest.fixture(scope="module")
def keys(small_layout):
    return keys_from_dict({"versions": {"101": {"answers": KEY_101}}}, small_layout)


@pytest.fixture
def store(store_url):
    s = Store.open(store_url)
    yield s
    s.close()


def rows(store: Store, table: str, **where) -> list[dict]:
    t = metadata.tables[table]
    q = sa.select(t).order_by(t.c.id)
    for k, v in where.items():
        q = q.where(t.c[k] == v)
    with store.read_tx("test rows") as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def page_id(store: Store, source: str, page_no: int) -> int:
    with store.read_tx("test page id") as conn:
        return conn.execute(sa.text("SELECT p.id FROM pages p JOIN submissions s ON s.id = p.submission_id "
                                    "WHERE s.source = :s AND p.page_no = :n"), {"s": source, "n": page_no}).scalar_one()


def record_two(store: Store, keys) -> tuple[int, int]:
    """a.pdf: 000001, all right. b.pdf: 000002, question 2 flagged (a faint mark). Returns their page ids."""
    store.record_submission("a.pdf", sha("a"), 10, [reading("a.pdf", 1, "000001", "101", KEY_101)], keys)
    store.record_submission("b.pdf", sha("b"), 10, [reading("b.pdf", 1, "000002", "101", "A-ADEB",
                                                            flags=(qflag("2"),))], keys)
    return page_id(store, "a.pdf", 1), page_id(store, "b.pdf", 1)


def test_a_discarded_page_leaves_every_count_and_comes_back_whole(store, keys):
    a, b = record_two(store, keys)
    before_counts = store.counts()
    ch = D.discard_page(store, b, "  ảnh chụp   nhầm ", "trưởng ban")
    assert (ch.page_id, ch.source, ch.page_no, ch.status, len(ch.flags)) == (b, "b.pdf", 1, "discarded", 1)
    assert [r["status"] for r in rows(store, "pages")] == ["ok", "discarded"]
    assert [r["status"] for r in rows(store, "submissions")] == ["ok", "discarded"]
    (flag,) = rows(store, "flags")
    assert (flag["state"], flag["resolution"], flag["resolved_by"]) == (
        "resolved", {"value": "discarded", "reason": "ảnh chụp nhầm"}, "trưởng ban")
    assert list(store.results_frame()["participant"]) == ["000001"]
    assert set(answer_pages(store)[0]) == {a} and [p.page_id for p in graded_pages(store)] == [a]
    assert sum(g.pages for g in unit_groups(store)) == 1
    c = store.counts()
    assert (c["pages"], c["pages_ok"], c["pages_flagged"], c["flags_open"], c["submissions_flagged"]) == (2, 1, 0, 0, 0)
    assert (before_counts["pages_flagged"], before_counts["flags_open"]) == (1, 1)
    d = D.discarded(store)
    assert d.files == 1 and [(p.page_id, p.reason, p.who) for p in d.pages] == [(b, "ảnh chụp nhầm", "trưởng ban")]
    assert d.pages[0].note().startswith("discarded: ảnh chụp nhầm (trưởng ban, ")
    (audit,) = rows(store, "audit", action="discard_page")
    assert audit["target"] == f"page:{b}" and audit["before"]["status"] == "flagged"
    assert audit["after"] == {"status": "discarded", "reason": "ảnh chụp nhầm", "flags_closed": [flag["id"]],
                              "essays_out": []}
    # re-scoring passes it over: no score change, no new flag, still discarded
    assert store.rescore(keys, "trưởng ban") == 1
    assert [r["status"] for r in rows(store, "pages")] == ["ok", "discarded"] and len(rows(store, "flags")) == 1
    with pytest.raises(BadArguments, match="is discarded"):
        store.resolve_flag(flag["id"], "B", "giám khảo", only_open=False)
    with pytest.raises(BadArguments, match="already discarded"):
        D.discard_page(store, b, "lần nữa", "trưởng ban")
    back = D.restore_page(store, b, "phó ban")
    assert (back.status, back.flags) == ("flagged", (flag["id"],))
    assert rows(store, "flags")[0]["state"] == "open" and rows(store, "flags")[0]["resolution"] is None
    assert [r["status"] for r in rows(store, "submissions")] == ["ok", "flagged"]
    assert store.counts() == before_counts and D.discarded(store).pages == ()
    assert [r["target"] for r in rows(store, "resolutions")] == ["discard", "restore"]
    (restored,) = rows(store, "audit", action="restore_page")
    assert restored["who"] == "phó ban" and restored["after"]["flags_reopened"] == [flag["id"]]
    with pytest.raises(BadArguments, match="is not discarded"):
        D.restore_page(store, b, "phó ban")
    with pytest.raises(BadArguments, match="there is no page 987654"):
        D.discard_page(store, 987654, "trang trắng", "trưởng ban")
    with pytest.raises(BadArguments, match="say why"):
        D.discard_page(store, a, "   ", "trưởng ban")


def essay_site(store: Store) -> dict:
    """Two participants with an answer sheet and essay pages (000301: two pages, 000302: one); judges gk1-gk3."""
    for pid, n in (("000301", 2), ("000302", 1)):
        src = f"/scans/{pid}.pdf"
        recs = [reading(src, 1, pid, "101", KEY_101)] + [failure(src, k) for k in range(2, 2 + n)]
        store.record_submission(src, sha(pid), 10, assign_essay_pages(recs), None)
    add_judge(store, "gk1", unit="Quận Tây Hồ")
    add_judge(store, "gk2", unit="Quận Cầu Giấy")
    add_judge(store, "gk3", unit="Quận Đống Đa")
    judges = {r["name"]: r["id"] for r in rows(store, "judges")}
    tasks = {r["participant"]: r["id"] for r in rows(store, "essay_tasks")}
    return {"judges": judges, "tasks": tasks}


def task_state(store: Store, tid: int) -> str:
    return rows(store, "essay_tasks", id=tid)[0]["state"]


def test_a_judges_report_holds_the_task_until_the_organisers_send_it_back(store):
    site = essay_site(store)
    gk1, gk2, t301 = site["judges"]["gk1"], site["judges"]["gk2"], site["tasks"]["000301"]
    rubric = S.load_rubric(DEMO)
    taken = S.take_next(store, gk1, rubric)
    assert S.assignment(store, taken.assignment_id)["task_id"] == t301
    with pytest.raises(R.ReportRefused, match="Khác"):
        R.report_problem(store, taken.assignment_id, gk1, R.ReportKind.OTHER, "   ")
    with pytest.raises(R.ReportRefused, match="không còn được giao"):
        R.report_problem(store, taken.assignment_id, gk2, R.ReportKind.WRONG_PAGE)
    rep = R.report_problem(store, taken.assignment_id, gk1, R.ReportKind.WRONG_PAGE, "trang 2 là  bài khác")
    flags = rows(store, "flags", reason="judge_report")
    assert [f["id"] for f in flags] == list(rep.flag_ids) and len(flags) == 2          # one per page of the essay
    assert {(f["origin"], f["target"], f["state"]) for f in flags} == {("judge", "page", "open")}
    assert all("Sai trang — «trang 2 là bài khác»" in f["message"] and "gk1" in f["message"] for f in flags)
    assert rows(store, "essay_assignments") == [] and task_state(store, t301) == "held"
    assert [r["action"] for r in rows(store, "audit") if r["action"].startswith(("judge", "essay_task_h"))] == [
        "judge_report", "essay_task_hold"]
    # no judge is given the held essay
    other = S.take_next(store, gk2, rubric)
    assert S.assignment(store, other.assignment_id)["task_id"] != t301
    assert S.take_next(store, gk1, rubric).assignment_id != taken.assignment_id
    # the organisers send it back: both of the report's flags close, the task is open again
    store.resolve_flag(flags[0]["id"], "đã kiểm tra: đúng bài", "quantri", only_open=True)
    assert {f["state"] for f in rows(store, "flags", reason="judge_report")} == {"resolved"}
    assert rows(store, "flags", id=flags[1]["id"])[0]["resolution"] == {"value": "đã kiểm tra: đúng bài",
                                                                         "with_flag": flags[0]["id"]}
    assert task_state(store, t301) == "open"


def test_discarding_an_essay_page_takes_it_out_of_judging_and_restoring_brings_it_back(store):
    site = essay_site(store)
    t302 = site["tasks"]["000302"]
    rubric = S.load_rubric(DEMO)
    essay_page = page_id(store, "/scans/000302.pdf", 2)
    assert len(store.essays_to_ocr()) == 3
    for name in ("gk1", "gk2"):                               # both rounds of 000301's task
        S.take_next(store, site["judges"][name], rubric)
    gk3 = site["judges"]["gk3"]
    taken = S.take_next(store, gk3, rubric)
    assert S.assignment(store, taken.assignment_id)["task_id"] == t302
    R.report_problem(store, taken.assignment_id, gk3, R.ReportKind.NOT_AN_ESSAY)
    assert task_state(store, t302) == "held"
    ch = D.discard_page(store, essay_page, "không phải bài tự luận", "quantri")
    assert len(ch.essays) == 1 and len(ch.flags) == 1
    (report_flag,) = rows(store, "flags", reason="judge_report")
    assert report_flag["state"] == "resolved" and report_flag["resolution"]["value"] == "discarded"
    assert task_state(store, t302) == "void"                 # its only essay left it
    assert [e["task_id"] for e in rows(store, "essays", page_id=essay_page)] == [None]
    assert [e.page_no for e in store.essays_to_ocr()] == [2, 3]          # 000301's pages only
    assert store.essay_counts().pending == 2
    read = OcrResult(text="Bài làm.", mean_conf=90.0, words=2, reliable=True, engine="test", source="ocr", seconds=0.1)
    for e in rows(store, "essays"):
        store.save_ocr(e["id"], read)
    assert [t[0] for t in store.essay_texts()] == [e["id"] for e in rows(store, "essays") if e["page_id"] != essay_page]
    # recording or deciding again never puts it back in a task (sync_tasks passes discarded pages over)
    with store.write_tx("sync") as conn:
        sync_tasks(conn, utcnow())
    assert [e["task_id"] for e in rows(store, "essays", page_id=essay_page)] == [None]
    back = D.restore_page(store, essay_page, "quantri")
    assert back.essays == ch.essays and [e["task_id"] for e in rows(store, "essays", page_id=essay_page)] == [t302]
    assert task_state(store, t302) == "held"                 # the judge's report is open again
    assert rows(store, "flags", reason="judge_report")[0]["state"] == "open"


def test_a_page_restored_after_a_rescore_is_scored_with_the_keys_of_that_rescore(store, keys, small_layout):
    a, b = record_two(store, keys)
    D.discard_page(store, b, "trang quét trùng", "trưởng ban")
    corrected = keys_from_dict({"versions": {"101": {"answers": "BBBBBB"}}}, small_layout)
    assert store.rescore(corrected, "trưởng ban") == 1                       # page a only
    D.restore_page(store, b, "trưởng ban")
    assert {r["page_id"]: r["key_digest"] for r in rows(store, "scores")} == {a: corrected.digest,
                                                                               b: corrected.digest}


def test_a_discarded_page_without_a_key_is_no_longer_counted_as_one(store, keys):
    store.record_submission("x.pdf", sha("x"), 10, [reading("x.pdf", 1, "000009", "999", KEY_101)], keys)
    assert (store.counts()["pages_no_key"], store.counts()["flags_open"]) == (1, 1)
    D.discard_page(store, page_id(store, "x.pdf", 1), "trang quét trùng", "trưởng ban")
    assert (store.counts()["pages_no_key"], store.counts()["flags_open"]) == (0, 0)
