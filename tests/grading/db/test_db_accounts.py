"""grading.db.accounts: accounts and sessions stored and found by what grading.judges hands over (hashes only)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from grading.db import accounts as A
from grading.store import Store

NOW = datetime(2030, 5, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(store_url):
    s = Store.open(store_url)
    yield s
    s.close()


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def test_an_account_is_added_once_per_name_and_found_by_name(store):
    assert A.add_account(store, name="j1", unit="Hà Nội", role="judge", password_hash="h1", now=NOW) is True
    assert A.add_account(store, name="j1", unit="Huế", role="admin", password_hash="h2", now=NOW) is False
    assert A.add_account(store, name="J1", unit="Huế", role="admin", password_hash="h3", now=NOW) is True
    j1 = A.account_named(store, "j1")
    assert (j1.name, j1.unit, j1.role, j1.must_change, j1.password_hash) == ("j1", "Hà Nội", "judge", True, "h1")
    assert A.account_named(store, "nobody") is None
    assert [a.name for a in A.accounts(store)] == ["J1", "j1"]


def test_a_new_password_hash_ends_the_required_change(store):
    A.add_account(store, name="j1", unit="U", role="judge", password_hash="old", now=NOW)
    j1 = A.account_named(store, "j1")
    A.set_password_hash(store, j1.id, "new")
    again = A.account_named(store, "j1")
    assert (again.password_hash, again.must_change) == ("new", False)


def test_sessions_are_found_by_token_hash_and_expired_ones_go_when_one_opens(store):
    A.add_account(store, name="j1", unit="U", role="judge", password_hash="h", now=NOW)
    jid = A.account_named(store, "j1").id
    A.add_session(store, token_hash="old", judge_id=jid, csrf_token="c0", now=NOW - timedelta(days=2),
                  expires_at=NOW - timedelta(days=1))
    A.add_session(store, token_hash="live", judge_id=jid, csrf_token="c1", now=NOW - timedelta(hours=1),
                  expires_at=NOW + timedelta(hours=1))
    assert A.session_by_token_hash(store, "old") is None          # dropped when "live" was opened
    s = A.session_by_token_hash(store, "live")
    assert (s.account.name, s.csrf_token, _utc(s.expires_at)) == ("j1", "c1", NOW + timedelta(hours=1))
    assert A.session_by_token_hash(store, "nothing") is None
    A.delete_session(store, "live")
    assert A.session_by_token_hash(store, "live") is None


def test_a_judges_other_sessions_end_and_other_judges_keep_theirs(store):
    for name in ("j1", "j2"):
        A.add_account(store, name=name, unit="U", role="judge", password_hash="h", now=NOW)
    j1, j2 = A.account_named(store, "j1").id, A.account_named(store, "j2").id
    for token, jid in (("a", j1), ("b", j1), ("c", j1), ("d", j2)):
        A.add_session(store, token_hash=token, judge_id=jid, csrf_token="x", now=NOW, expires_at=NOW + timedelta(1))
    assert A.delete_sessions(store, j1, keep_token_hash="b") == 2
    assert [t for t in "abcd" if A.session_by_token_hash(store, t)] == ["b", "d"]
    assert A.delete_sessions(store, j1) == 1
    assert [t for t in "abcd" if A.session_by_token_hash(store, t)] == ["d"]


def test_a_full_name_is_stored_and_a_login_is_noted(store):
    A.add_account(store, name="j1", unit="U", role="judge", password_hash="h", now=NOW, full_name="Trần Thị Bình")
    A.add_account(store, name="j2", unit="U", role="judge", password_hash="h", now=NOW)
    j1, j2 = A.accounts(store)
    assert (j1.full_name, j1.disabled_at, j1.last_login_at, j2.full_name) == ("Trần Thị Bình", None, None, None)
    A.add_session(store, token_hash="t", judge_id=j1.id, csrf_token="c", now=NOW, expires_at=NOW + timedelta(1))
    assert _utc(A.account_named(store, "j1").last_login_at) == NOW
    assert A.account_named(store, "j2").last_login_at is None


def test_a_reset_hash_must_be_changed_and_ends_every_session_of_the_account(store):
    for name in ("j1", "j2"):
        A.add_account(store, name=name, unit="U", role="judge", password_hash="h", now=NOW)
    j1, j2 = A.account_named(store, "j1").id, A.account_named(store, "j2").id
    A.set_password_hash(store, j1, "chosen")
    for token, jid in (("a", j1), ("b", j1), ("d", j2)):
        A.add_session(store, token_hash=token, judge_id=jid, csrf_token="x", now=NOW, expires_at=NOW + timedelta(1))
    assert A.reset_password_hash(store, j1, "one-time") == 2
    again = A.account_named(store, "j1")
    assert (again.password_hash, again.must_change) == ("one-time", True)
    assert [t for t in "abd" if A.session_by_token_hash(store, t)] == ["d"]


def test_disabling_keeps_its_first_time_and_ends_the_sessions_enabling_clears_it(store):
    for name in ("j1", "j2"):
        A.add_account(store, name=name, unit="U", role="judge", password_hash="h", now=NOW)
    j1, j2 = A.account_named(store, "j1").id, A.account_named(store, "j2").id
    for token, jid in (("a", j1), ("d", j2)):
        A.add_session(store, token_hash=token, judge_id=jid, csrf_token="x", now=NOW, expires_at=NOW + timedelta(1))
    assert A.set_disabled(store, j1, NOW) == 1
    assert A.set_disabled(store, j1, NOW + timedelta(hours=1)) == 0
    assert _utc(A.account_named(store, "j1").disabled_at) == NOW and A.account_named(store, "j2").disabled_at is None
    assert [t for t in "ad" if A.session_by_token_hash(store, t)] == ["d"]
    assert A.set_disabled(store, j1, None) == 0
    assert A.account_named(store, "j1").disabled_at is None
