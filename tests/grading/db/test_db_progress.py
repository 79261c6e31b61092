"""grading.db.progress: pages counted per unit (per participant for files without a unit), decisions per person."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from grading.db import audit
from grading.db.progress import UnitGroup, decisions_per_person, unit_groups
from grading.essays import assign_essay_pages
from grading.keys import keys_from_dict
from grading.store import Store
from omr.records import Reject

from grading_support import failure, qflag, reading, sha

T0 = datetime(2030, 5, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(store_url):
    s = Store.open(store_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def keys(small_layout):
    return keys_from_dict({"versions": {"101": {"answers": "AAADEB"}}}, small_layout)


def test_pages_are_counted_per_unit_and_per_participant_without_one(store, keys):
    # unit U1: two participants, one page scored, one flagged, an essay page with its sheet
    store.record_submission("a.pdf", sha("a"), 1, assign_essay_pages([
        reading("a.pdf", 1, "000001", "101", "AAADEB"),
        reading("a.pdf", 2, "000002", "101", "BBBBBB", flags=(qflag("2"),)), failure("a.pdf", 3)]), keys, unit="U1")
    # unit U2: one essay page without a sheet (its open flag counts, the page does not)
    store.record_submission("e.pdf", sha("e"), 1, assign_essay_pages([failure("e.pdf", 1)]), keys, unit="U2")
    # no unit: a scored page of 000003, a rejected page, and a file that failed as a whole (page 0)
    store.record_submission("b.pdf", sha("b"), 1, [reading("b.pdf", 1, "000003", "101", "AAADEB"),
                                                   failure("b.pdf", 2, Reject.TRUNCATED)], keys)
    store.record_submission("c.pdf", sha("c"), 1, [failure("c.pdf", None, Reject.UNREADABLE)], keys)
    got = sorted(unit_groups(store), key=lambda g: (g.unit or "", g.participant or ""))
    assert got == [
        UnitGroup(None, None, files=1, pages=2, graded=0, flagged=0, rejected=2, open_flags=0),
        UnitGroup(None, "000003", files=1, pages=1, graded=1, flagged=0, rejected=0, open_flags=0),
        UnitGroup("U1", None, files=1, pages=2, graded=1, flagged=1, rejected=0, open_flags=1),
        UnitGroup("U2", None, files=1, pages=0, graded=0, flagged=0, rejected=0, open_flags=1),
    ]


def test_no_pages_no_groups(store):
    assert unit_groups(store) == []
    assert decisions_per_person(store) == []


def test_decisions_are_the_resolve_flag_rows_of_the_audit_log(store):
    for who, action, minutes in (("j1", "resolve_flag", 0), ("j1", "resolve_flag", 30), ("j2", "resolve_flag", 5),
                                 ("j1", "add_judge", 90), ("j3", "rescore", 10)):
        audit.record(store, who=who, action=action, target="flag:1", at=T0 + timedelta(minutes=minutes))

    def utc(t):
        t = datetime.fromisoformat(t) if isinstance(t, str) else t
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)

    got = sorted((who, n, utc(last)) for who, n, last in decisions_per_person(store))
    assert got == [("j1", 2, T0 + timedelta(minutes=30)), ("j2", 1, T0 + timedelta(minutes=5))]
