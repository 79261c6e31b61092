"""Human decisions and re-scoring.

**Human decisions are never overwritten.** Resolutions are append-only rows; a page's *effective* reading is the
machine reading overlaid with its resolutions (latest wins), and every score is computed from that. Re-recording
and re-scoring only ever read them. Each decision writes an audit row with before/after; a judge's decision
re-scores the page with the key that scored it, ``rescore`` switches all pages to new keys.

**Concurrent writers** (several judges, one batch): a decision locks its page row, then its submission row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite takes its write lock at ``BEGIN IMMEDIATE``).

Resolution values: ``question`` → the marks that count (``"B"``, ``"AC"``, ``""`` for blank); ``participant`` and
``version`` → the whole field (``"012345"``, ``"102"``); ``page`` → a free note (no effect on scores; on a judge's
report, ``grading.db.reports``, it sends the essay back to judging; on a judge's "not a handwritten entry",
``grading.db.referrals``, the transcription back to the judges).

A discarded page (``grading.db.discards``) is left out of re-scoring, and its flags are not decided until it is
restored.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from omr.errors import BadArguments
from omr.records import Status

from ..keyparts import number_value
from ..keys import KeySet, split_labels
from ..score import ScoreStatus, SheetScore
from .engine import Database, chunks, utcnow
from .pages import PageState, ensure_keyset, keyset, load_states, score_page, update_page_status, \
    update_submission_status
from .referrals import NOT_HANDWRITTEN, close_referral
from .reports import JUDGE_REPORT, close_report
from .tables import DISCARDED, ESSAY, audit, flags, pages, resolutions, scores, submissions
from .tasks import sync_tasks


class AlreadyDecided(BadArguments):
    """``resolve_flag(only_open=True)`` on a flag someone has decided meanwhile: nothing was written."""

    def __init__(self, flag_id: int, who: str | None, at: datetime | None):
        super().__init__(f"flag {flag_id} was already decided by {who or '?'}; nothing was written")
        self.flag_id, self.who, self.at = flag_id, who, at


def resolve_flag(db: Database, flag_id: int, value: str, who: str, *, only_open: bool = False,
                 via: str | None = None) -> SheetScore | None:
    """Store a judge's decision for a flag, audit it (before/after) and re-score the page with the key
    that scored it. Returns the new score (``None`` when the page was never scored). A decided flag may be
    decided again (a correction, audited with the earlier decision as "before") unless ``only_open``: then
    a flag decided meanwhile raises ``AlreadyDecided`` — checked under the flag's row lock, so of judges
    deciding the same flag at once, in any number of processes, exactly one writes. ``via`` says how the
    decision was taken when that matters to an audit (the grid review: ``grid``, ``grid-machine``,
    ``grid-accept-all``); it is written in the audit row's "after"."""
    if not isinstance(who, str) or not who.strip():
        raise BadArguments("say who decides (a judge's name or login)")
    if not isinstance(value, str):
        raise BadArguments(f"a decision is text, got {type(value).__name__}")
    now = utcnow()
    with db.write_tx(f"resolve flag {flag_id}") as conn:
        page_id = conn.execute(sa.select(flags.c.page_id).where(flags.c.id == flag_id)).scalar()
        if page_id is None:
            raise BadArguments(f"there is no flag {flag_id}; list the open flags to see their ids")
        # lock order everywhere: page, then submission, then the flag
        sid, page_status = conn.execute(sa.select(pages.c.submission_id, pages.c.status).where(pages.c.id == page_id)
                                        .with_for_update()).one()
        if page_status == DISCARDED:
            raise BadArguments(f"flag {flag_id} is on page {page_id}, which is discarded; nothing was written. "
                               f"Bring the page back first (omr discard {page_id} --undo --who NAME)")
        conn.execute(sa.select(submissions.c.id).where(submissions.c.id == sid).with_for_update()).all()
        flag = conn.execute(sa.select(flags).where(flags.c.id == flag_id).with_for_update()).one()
        if only_open and flag.state != "open":
            raise AlreadyDecided(flag_id, flag.resolved_by, flag.resolved_at)
        old = conn.execute(sa.select(scores.c.status, scores.c.total, scores.c.key_digest)
                           .where(scores.c.page_id == page_id)).first()
        keys = keyset(db, conn, old.key_digest) if old is not None else None
        value = _check_value(flag.target, flag.key, value, keys)
        st = load_states(conn, [page_id])[page_id]
        before = {"flag": {"state": flag.state, "resolution": flag.resolution, "resolved_by": flag.resolved_by},
                  "value": _effective_value(st, flag.target, flag.key),
                  "score": None if old is None else {"status": old.status, "total": old.total}}
        conn.execute(sa.insert(resolutions).values(page_id=page_id, flag_id=flag_id, target=flag.target,
                                                   key=flag.key, value=value, who=who, at=now))
        conn.execute(sa.update(flags).where(flags.c.id == flag_id).values(
            state="resolved", resolution={"value": value}, resolved_by=who, resolved_at=now))
        st = load_states(conn, [page_id])[page_id]
        sc = None
        if keys is not None and not st.rejected:
            sc = score_page(db, conn, st, keys, old.key_digest, who, now)
        else:
            update_page_status(conn, st)
        update_submission_status(conn, [sid])
        if flag.target == "participant":
            sync_tasks(conn, now, submission_ids=[sid], who=who)
        if flag.reason == JUDGE_REPORT:
            close_report(conn, flag_id, page_id, value, now, who)
        elif flag.reason == NOT_HANDWRITTEN:
            close_referral(conn, flag_id, page_id, value, now, who)
        after = {"flag": {"state": "resolved", "resolution": {"value": value}, "resolved_by": who},
                 "value": value,
                 "score": None if sc is None else {"status": sc.status.value, "total": str(sc.total)}}
        if via:
            after["via"] = via
        target = f"flag:{flag_id} page:{page_id} {flag.target}" + (f":{flag.key}" if flag.key else "")
        conn.execute(sa.insert(audit).values(at=now, who=who, action="resolve_flag", target=target,
                                             before=before, after=after))
        return sc


def rescore(db: Database, keys: KeySet, who: str) -> int:
    """Recompute every page's score from its stored reading and human decisions with ``keys`` (one
    transaction); write one audit row listing the totals that changed. Returns the pages scored."""
    if not isinstance(who, str) or not who.strip():
        raise BadArguments("say who re-scores (a name or login)")
    now = utcnow()
    with db.write_tx("re-score") as conn:
        digest = ensure_keyset(db, conn, keys, now)
        scored = pages.c.status.notin_([Status.REJECTED.value, ESSAY, DISCARDED])
        page_ids = list(conn.execute(sa.select(pages.c.id).where(scored)
                                     .order_by(pages.c.id).with_for_update()).scalars())
        sub_ids = sorted(set(conn.execute(sa.select(pages.c.submission_id).where(scored)).scalars()))
        for chunk in chunks(sub_ids):
            conn.execute(sa.select(submissions.c.id).where(submissions.c.id.in_(chunk))
                         .order_by(submissions.c.id).with_for_update()).all()
        old = {r.page_id: (r.status, r.total, r.key_digest)
               for r in conn.execute(sa.select(scores.c.page_id, scores.c.status, scores.c.total,
                                               scores.c.key_digest))}
        before_changed: dict[str, str | None] = {}
        after_changed: dict[str, str] = {}
        states = load_states(conn, page_ids)
        for pid in page_ids:
            sc = score_page(db, conn, states[pid], keys, digest, who, now)
            new = str(sc.total) if sc.status is ScoreStatus.SCORED else sc.status.value
            prev = old.get(pid)
            prev_text = None if prev is None else (prev[1] if prev[0] == ScoreStatus.SCORED.value else prev[0])
            if prev_text != new:
                before_changed[str(pid)], after_changed[str(pid)] = prev_text, new
        update_submission_status(conn, sub_ids)
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="rescore", target="all pages",
            before={"keys": sorted({v[2] for v in old.values()}), "totals": before_changed},
            after={"keys": [digest], "totals": after_changed, "pages": len(page_ids)}))
        return len(page_ids)


def _effective_value(st: PageState, target: str, key: str | None) -> str | None:
    if target == "question":
        return st.answers.get(key or "", "")
    if target == "participant":
        return st.participant
    if target == "version":
        return st.version
    return None


def _check_value(target: str, key: str | None, value: str, keys: KeySet | None) -> str:
    """Normalise and check a judge's value for the flag's target; ``BadArguments`` says what is expected."""
    value = value.strip()
    if target == "question":
        options: tuple[str, ...] | None = None
        if keys is not None:
            for k in keys.keys:
                item = k.item(key or "")
                if item is not None:
                    options = item.options
                    break
        if options == ():                  # a numeric answer: the number as written, or "" for blank
            if value and number_value(value) is None:
                raise BadArguments(f"{value!r} is not a number for question {key}: write it as on the sheet "
                                   "(\"-1,5\"), or \"\" for blank")
            return value
        if options is None:
            if any(c.isspace() or c == "?" for c in value):
                raise BadArguments(f"{value!r} is not a set of marks for question {key}")
            return value
        labels = split_labels(value, options) if value else frozenset()
        if labels is None and value.upper() != value:
            labels = split_labels(value.upper(), options)
        if labels is None:
            raise BadArguments(f"{value!r} is not an answer to question {key}: give the marks that count using "
                               f"{', '.join(options)} (several like {options[0] + options[1]!r}), or \"\" for blank")
        return "".join(o for o in options if o in labels)
    if target in ("participant", "version"):
        if not value or any(c.isspace() or c == "?" for c in value):
            raise BadArguments(f"give the complete {target} as read on the sheet, got {value!r}")
        if target == "version" and keys is not None:
            if keys.get(value) is None:
                raise BadArguments(f"there is no answer key for version {value!r} (keys exist for "
                                   f"{', '.join(keys.versions)}); check the sheet or add the key and re-score")
        return value
    if not value:
        raise BadArguments("write a short note for a page decision")
    return value
