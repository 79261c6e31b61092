"""The reads behind the export, the pictures and the run's accounting (grading.db.exports, grading.db.pictures,
grading.db.queries.problems_by_reason, grading.db.submissions.sources_by_hash)."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from grading.db.exports import answer_pages, rejections
from grading.db.pictures import ScanPage, essay_page_scan, essay_scan, graded_pages
from grading.db.queries import problems_by_reason
from grading.db.submissions import sources_by_hash
from grading.essays import assign_essay_pages
from grading.keys import keys_from_dict
from grading.store import Store, essays, pages, submissions
from omr.records import Reject

from grading_support import failure, qflag, reading, sha


@pytest.fixture
def store(store_url):
    s = Store.open(store_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def keys(small_layout):
    return keys_from_dict({"versions": {"101": {"answers": "AAADEB"}}}, small_layout)


def _contest(store, keys):
    """a.pdf: 000001 scored, 000002 with two open flags, an essay page and a rejected page; b.pdf (no key):
    000001 again; c.pdf: failed as a whole; d.pdf: 000004 of a version without a key. Returns the page ids by
    (file, page)."""
    store.record_submission("a.pdf", sha("a"), 1, assign_essay_pages([
        reading("a.pdf", 1, "000001", "101", "AAADEB"),
        reading("a.pdf", 2, "000002", "101", "BBBBBB", flags=(qflag("2"), qflag("5", reason="faint_mark"))),
        failure("a.pdf", 3), failure("a.pdf", 4, Reject.TRUNCATED)]), keys, essay_regions=("E1",))
    store.record_submission("b.pdf", sha("b"), 1, [reading("b.pdf", 1, "000001", "101", "AB-CEB")], None)
    store.record_submission("c.pdf", sha("c"), 1, [failure("c.pdf", None, Reject.UNREADABLE)], keys)
    store.record_submission("d.pdf", sha("d"), 1, [reading("d.pdf", 1, "000004", "102", "AAADEB")], keys)
    with store.read_tx("test") as conn:
        rows = conn.execute(sa.select(submissions.c.source, pages.c.page_no, pages.c.id)
                            .join(submissions, submissions.c.id == pages.c.submission_id)).all()
    return {(s, n): i for s, n, i in rows}


def test_answer_pages_leave_out_rejected_pages_and_give_questions_only_when_scored(store, keys):
    ids = _contest(store, keys)
    got, open_flags = answer_pages(store)
    assert set(got) == {ids["a.pdf", 1], ids["a.pdf", 2], ids["a.pdf", 3], ids["b.pdf", 1], ids["d.pdf", 1]}
    scored = got[ids["a.pdf", 1]]
    assert scored.questions["1"]["marked"] == "A" and scored.questions["1"]["outcome"] == "correct"
    assert got[ids["a.pdf", 2]].questions["2"]["outcome"] == "unreadable"
    unscored = got[ids["b.pdf", 1]]                          # recorded without keys: no score at all
    assert unscored.questions is None and unscored.answers["2"] == "B" and unscored.answers["3"] == ""
    no_key = got[ids["d.pdf", 1]]                            # a score row, but not "scored"
    assert no_key.questions is None and no_key.answers["1"] == "A"
    assert open_flags == {ids["a.pdf", 2]: 2, ids["d.pdf", 1]: 1}       # d.pdf: the store's no_key flag


def test_resolved_flags_are_not_open_flags(store, keys):
    ids = _contest(store, keys)
    first = min(f["id"] for f in store.list_flags() if f["page_id"] == ids["a.pdf", 2])
    store.resolve_flag(first, "B", "j1")
    assert answer_pages(store)[1] == {ids["a.pdf", 2]: 1, ids["d.pdf", 1]: 1}
    assert problems_by_reason(store)[1] == {"faint_mark": 1, "no_key": 1}


def test_rejections_are_the_rejected_pages_by_file_then_page(store, keys):
    _contest(store, keys)
    got = [(r["source"], r["page_no"], r["reason_code"]) for r in rejections(store)]
    assert got == [("a.pdf", 4, "truncated"), ("c.pdf", 0, "unreadable")]


def test_problems_by_reason_count_rejected_pages_and_open_flags(store, keys):
    _contest(store, keys)
    rejected, open_flags = problems_by_reason(store)
    assert rejected == {"truncated": 1, "unreadable": 1}
    assert open_flags == {"ambiguous_mark": 1, "faint_mark": 1, "no_key": 1}


def test_graded_pages_are_the_answer_pages_with_score_key_and_open_flags(store, keys):
    ids = _contest(store, keys)
    got = graded_pages(store)
    assert [(p.source, p.page_no) for p in got] == [("a.pdf", 1), ("b.pdf", 1), ("a.pdf", 2), ("d.pdf", 1)]
    a1, b1, a2, d1 = got
    assert a1.keys is not None and a1.keys.get("101") is not None and a1.questions["6"]["marked"] == "B"
    assert b1.keys is None and b1.questions == {}
    assert d1.keys is not None and d1.keys.get("102") is None
    assert sorted(a2.open_flags) == [("question", "2"), ("question", "5")]
    assert a1.open_flags == () and a1.page_id == ids["a.pdf", 1] and d1.open_flags == (("version", None),)


def test_graded_pages_of_one_participant_or_one_page(store, keys):
    ids = _contest(store, keys)
    assert [(p.source, p.participant) for p in graded_pages(store, participant="000001")] == [
        ("a.pdf", "000001"), ("b.pdf", "000001")]
    (one,) = graded_pages(store, page_id=ids["a.pdf", 2])
    assert sorted(one.open_flags) == [("question", "2"), ("question", "5")]
    assert graded_pages(store, page_id=ids["a.pdf", 3]) == []          # an essay page
    assert graded_pages(store, page_id=ids["c.pdf", 0]) == []          # a file that failed as a whole


def test_essay_scans_are_found_only_for_essays(store, keys):
    ids = _contest(store, keys)
    assert essay_page_scan(store, ids["a.pdf", 3]) == ScanPage("a.pdf", 3)
    assert essay_page_scan(store, ids["a.pdf", 1]) is None
    with store.read_tx("test") as conn:
        found = {(p, k): i for i, p, k in conn.execute(sa.select(essays.c.id, essays.c.page_id, essays.c.kind))}
    region = essay_scan(store, found[ids["a.pdf", 2], "region"])     # box E1 of every answer page read
    assert (region.kind, region.region_id, region.scan) == ("region", "E1", ScanPage("a.pdf", 2))
    page = essay_scan(store, found[ids["a.pdf", 3], "page"])
    assert (page.kind, page.region_id, page.scan) == ("page", None, ScanPage("a.pdf", 3))
    assert essay_scan(store, max(found.values()) + 1) is None


def test_sources_by_hash_give_paths_back_as_os_gives_them(store, keys):
    odd = os.fsdecode(b"/scans/l\xe0m.pdf")          # Latin-1 bytes: not UTF-8
    store.record_submission(odd, sha("odd"), 1, [failure(odd, None)], None)
    store.record_submission("/scans/b.pdf", sha("b"), 1, [failure("/scans/b.pdf", None)], None)
    assert sources_by_hash(store) == {sha("odd"): odd, sha("b"): "/scans/b.pdf"}
