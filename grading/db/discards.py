"""Discarding a page: an organiser takes out a page that is neither an answer sheet nor an essay (a blank page, a
photo of something else, a page scanned twice), and can bring it back.

What a discarded page is:

* **out of every count, score, essay task and export**, as if it were not there: it is no answer page of the
  results, the item statistics, the per-unit progress or the pictures; its score row is kept but read by nothing;
  re-scoring passes it over; its open flags are closed (resolution ``{"value": "discarded", "reason": …}``); its
  essays leave their judging tasks (a task left with no essay becomes ``void`` and its unscored assignments are
  released), are not read by OCR and are not compared for near-duplicates; a judge's report on it is thereby
  decided (``grading.db.reports``), and so is a judge's "not a handwritten entry" (``grading.db.referrals``). A
  file all of whose pages are discarded is ``discarded`` too.
* **never lost, never silent**: the rows stay; the page's status is ``discarded`` and ``omr status``, the exports'
  issues list and /admin show it as "discarded: reason (who, when)".
* **a human decision**: stored like every other one, as an append-only ``resolutions`` row (target ``discard``;
  ``restore`` undoes it, latest wins), so recording the file again (``omr grade`` re-runs skip recorded content)
  or re-scoring never brings the page back. Audited: ``discard_page`` / ``restore_page``, before and after.

Restoring reopens the flags the discard closed, puts the essays back in their tasks (a void task is judged again),
and re-scores the page with the keys it would have now: those of the latest ``omr rescore`` when that came after
its score, else the ones it was scored with.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.errors import BadArguments

from ..numbers import local_time
from .engine import Database, utcnow
from .pages import DISCARD, RESTORE, PageState, keyset, load_states, score_page, update_page_status, \
    update_submission_status
from .referrals import settle_referrals
from .reports import resumed_state, settle_held_tasks
from .tables import DISCARDED, TaskState, audit, essay_tasks, essays, flags, pages, resolutions, scores, submissions
from .tasks import sync_tasks, void_empty_tasks

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class DiscardedPage:
    page_id: int
    source: str
    page_no: int               # 0: the whole file failed
    participant: str | None
    reason: str
    who: str
    at: datetime               # UTC

    def note(self, tz: tzinfo = timezone.utc) -> str:
        """``discarded: trang trắng (ban tổ chức, 06/09/2026 17:00)``, the time in ``tz``."""
        return f"discarded: {self.reason} ({self.who}, {local_time(self.at, tz)})"


@dataclass(frozen=True, slots=True)
class Discards:
    pages: tuple[DiscardedPage, ...]     # by file, then page
    files: int                           # files all of whose pages are discarded


@dataclass(frozen=True, slots=True)
class PageChange:
    """What a discard or a restore did."""
    page_id: int
    source: str
    page_no: int
    status: str                          # the page's status now
    flags: tuple[int, ...]               # flags closed (discard) or reopened (restore)
    essays: tuple[int, ...]              # essays taken out of judging (discard) or put back (restore)


def _text(value: str | None, what: str) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise BadArguments(what)
    return text


def _lock_page(conn: Connection, page_id: int) -> tuple[Any, PageState]:
    """The page (its submission, number and file), locked with its submission, and its effective state."""
    page = conn.execute(sa.select(pages.c.submission_id, pages.c.page_no).where(pages.c.id == page_id)
                        .with_for_update()).first()
    if page is None:
        raise BadArguments(f"there is no page {page_id}; the page ids are in `omr flags --json` (page_id) and in "
                           "the issues list of `omr export`")
    source = conn.execute(sa.select(submissions.c.source).where(submissions.c.id == page.submission_id)
                          .with_for_update()).scalar_one()
    return (page.submission_id, page.page_no, source), load_states(conn, [page_id])[page_id]


def _last_discard(conn: Connection, page_id: int) -> Any:
    return conn.execute(sa.select(resolutions.c.value, resolutions.c.who, resolutions.c.at).where(
        resolutions.c.page_id == page_id, resolutions.c.target == DISCARD).order_by(resolutions.c.id.desc())
        .limit(1)).first()


def discard_page(db: Database, page_id: int, reason: str, who: str) -> PageChange:
    """Take the page out (see the module's docstring), in one transaction. ``BadArguments`` (exit 2) for a page
    that does not exist or is discarded already, or without a reason or a name."""
    who = _text(who, "say who discards the page (--who NAME)")
    reason = _text(reason, 'say why the page is discarded (--reason "trang trắng")')[:MAX_REASON]
    now = utcnow()
    with db.write_tx(f"discard page {page_id}") as conn:
        (sid, page_no, source), st = _lock_page(conn, page_id)
        if st.discarded:
            last = _last_discard(conn, page_id)
            raise BadArguments(f"page {page_id} is already discarded ({last.who}, {local_time(last.at, timezone.utc)}"
                               f" UTC: {last.value}); nothing was written. To bring it back: omr discard {page_id} "
                               "--undo --who NAME")
        status = conn.execute(sa.select(pages.c.status).where(pages.c.id == page_id)).scalar_one()
        closed = [f.id for f in st.open_flags]
        tasks = {int(e.id): e.task_id for e in conn.execute(sa.select(essays.c.id, essays.c.task_id)
                                                             .where(essays.c.page_id == page_id))}
        conn.execute(sa.insert(resolutions).values(page_id=page_id, flag_id=None, target=DISCARD, key=None,
                                                   value=reason, who=who, at=now))
        if closed:
            conn.execute(sa.update(flags).where(flags.c.id.in_(closed)).values(
                state="resolved", resolution={"value": DISCARDED, "reason": reason}, resolved_by=who,
                resolved_at=now))
        if tasks:
            conn.execute(sa.update(essays).where(essays.c.page_id == page_id).values(task_id=None))
        touched = {t for t in tasks.values() if t is not None}
        void_empty_tasks(conn, now, who, touched)
        settle_held_tasks(conn, touched, now, who)
        settle_referrals(conn, [sid], now, who)
        st = load_states(conn, [page_id])[page_id]
        update_page_status(conn, st)
        update_submission_status(conn, [sid])
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="discard_page", target=f"page:{page_id}",
            before={"status": status, "open_flags": closed, "essays": {str(k): v for k, v in tasks.items()}},
            after={"status": DISCARDED, "reason": reason, "flags_closed": closed, "essays_out": sorted(tasks)}))
    return PageChange(page_id, source, page_no, DISCARDED, tuple(closed), tuple(sorted(tasks)))


def restore_page(db: Database, page_id: int, who: str, note: str = "") -> PageChange:
    """Bring a discarded page back (see the module's docstring), in one transaction. ``BadArguments`` (exit 2)
    for a page that does not exist or is not discarded."""
    who = _text(who, "say who brings the page back (--who NAME)")
    note = " ".join(str(note or "").split())[:MAX_REASON]
    now = utcnow()
    with db.write_tx(f"restore page {page_id}") as conn:
        (sid, page_no, source), st = _lock_page(conn, page_id)
        if not st.discarded:
            raise BadArguments(f"page {page_id} is not discarded; nothing was written (discard it with "
                               f'omr discard {page_id} --reason "…" --who NAME)')
        last = _last_discard(conn, page_id)
        conn.execute(sa.insert(resolutions).values(page_id=page_id, flag_id=None, target=RESTORE, key=None,
                                                   value=note, who=who, at=now))
        reopened = [int(f.id) for f in conn.execute(sa.select(flags.c.id, flags.c.resolution).where(
            flags.c.page_id == page_id, flags.c.state == "resolved").order_by(flags.c.id))
            if isinstance(f.resolution, dict) and f.resolution.get("value") == DISCARDED]
        if reopened:
            conn.execute(sa.update(flags).where(flags.c.id.in_(reopened)).values(
                state="open", resolution=None, resolved_by=None, resolved_at=None))
        st = load_states(conn, [page_id])[page_id]
        digest = _restore_keys(conn, page_id)
        if digest is not None and not st.rejected and not st.essay:
            score_page(db, conn, st, keyset(db, conn, digest), digest, who, now)
        else:
            update_page_status(conn, st)
        update_submission_status(conn, [sid])
        back = _essays_back(conn, page_id, now, who)
        sync_tasks(conn, now, submission_ids=[sid], who=who)
        settle_held_tasks(conn, _tasks_of(conn, [page_id]), now, who)
        settle_referrals(conn, [sid], now, who)
        status = conn.execute(sa.select(pages.c.status).where(pages.c.id == page_id)).scalar_one()
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="restore_page", target=f"page:{page_id}",
            before={"status": DISCARDED, "reason": last.value if last else None},
            after={"status": status, "note": note, "flags_reopened": reopened, "essays_back": back}))
    return PageChange(page_id, source, page_no, status, tuple(reopened), tuple(back))


def _restore_keys(conn: Connection, page_id: int) -> str | None:
    """The key set a restored page is scored with: the latest ``rescore``'s when it came after the page's score
    (the page missed it while discarded), else the one it was scored with; ``None`` when it has no score."""
    old = conn.execute(sa.select(scores.c.key_digest, scores.c.computed_at).where(scores.c.page_id == page_id)).first()
    if old is None:
        return None
    last = conn.execute(sa.select(audit.c.at, audit.c.after).where(audit.c.action == "rescore")
                        .order_by(audit.c.id.desc()).limit(1)).first()
    keys = (last.after or {}).get("keys") if last is not None and last.at >= old.computed_at else None
    return str(keys[0]) if keys else old.key_digest


def _essays_back(conn: Connection, page_id: int, now: datetime, who: str) -> list[int]:
    """Put the page's essays back in the tasks the discard took them from (``sync_tasks`` then moves any whose
    participant has changed since); a void task is judged again. Returns the essays put back."""
    before = conn.execute(sa.select(audit.c.before).where(audit.c.action == "discard_page",
                                                          audit.c.target == f"page:{page_id}")
                          .order_by(audit.c.id.desc()).limit(1)).scalar()
    previous = (before or {}).get("essays") or {}
    back: list[int] = []
    for eid in conn.execute(sa.select(essays.c.id).where(essays.c.page_id == page_id, essays.c.task_id.is_(None))
                            .order_by(essays.c.id)).scalars():
        tid = previous.get(str(eid))
        task = conn.execute(sa.select(essay_tasks).where(essay_tasks.c.id == tid)).first() if tid else None
        if task is None:
            continue
        conn.execute(sa.update(essays).where(essays.c.id == eid).values(task_id=task.id))
        back.append(int(eid))
        if task.state == TaskState.VOID.value:
            state = resumed_state(task).value
            conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == task.id).values(state=state))
            conn.execute(sa.insert(audit).values(at=now, who=who, action="essay_task_resume", target=f"task:{task.id}",
                                                 before={"state": task.state}, after={"state": state}))
    return back


def _tasks_of(conn: Connection, page_ids: Iterable[int]) -> list[int]:
    return sorted(set(conn.execute(sa.select(essays.c.task_id).where(essays.c.page_id.in_(list(page_ids)),
                                                                     essays.c.task_id.is_not(None))).scalars()))


def discarded(db: Database) -> Discards:
    """Every discarded page with its latest discard (reason, who, when), and the files all of whose pages are
    discarded."""
    latest = (sa.select(resolutions.c.page_id, sa.func.max(resolutions.c.id).label("rid"))
              .where(resolutions.c.target == DISCARD).group_by(resolutions.c.page_id).subquery())
    q = (sa.select(pages.c.id, submissions.c.source, pages.c.page_no, pages.c.participant, resolutions.c.value,
                   resolutions.c.who, resolutions.c.at)
         .select_from(pages.join(submissions, submissions.c.id == pages.c.submission_id)
                      .join(latest, latest.c.page_id == pages.c.id).join(resolutions, resolutions.c.id == latest.c.rid))
         .where(pages.c.status == DISCARDED).order_by(submissions.c.id, pages.c.page_no))
    with db.read_tx("list the discarded pages") as conn:
        rows = conn.execute(q).all()
        files = conn.execute(sa.select(sa.func.count()).select_from(submissions)
                             .where(submissions.c.status == DISCARDED)).scalar_one()
    return Discards(tuple(DiscardedPage(r.id, r.source, r.page_no, r.participant, r.value, r.who, r.at) for r in rows),
                    int(files))


def page_view(db: Database, page_id: int) -> dict[str, Any] | None:
    """One page for the organisers: its file, number, status, participant and version, the reader's reason, its
    open flags (id, reason) and, when discarded, the discard (reason, who, at); ``None`` when there is no such
    page."""
    with db.read_tx("read a page") as conn:
        row = conn.execute(sa.select(pages.c.id, pages.c.page_no, pages.c.status, pages.c.participant, pages.c.version,
                                     pages.c.reason_code, pages.c.reason, submissions.c.source)
                           .join(submissions, submissions.c.id == pages.c.submission_id)
                           .where(pages.c.id == page_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["open_flags"] = [dict(f._mapping) for f in conn.execute(
            sa.select(flags.c.id, flags.c.reason).where(flags.c.page_id == page_id, flags.c.state == "open")
            .order_by(flags.c.id))]
        last = _last_discard(conn, page_id) if row.status == DISCARDED else None
    out["discard"] = None if last is None else {"reason": last.value, "who": last.who, "at": last.at}
    return out
