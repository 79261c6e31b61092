"""A judge's "not a handwritten entry" on a transcription he was given: a blank page, an essay page that belongs to
an answer sheet, pages nobody can read, or something else in his own words — instead of typing made-up values.

The judge's entry is released (its slot is free again; his note, ``transcription_notes``, keeps him from typing it
again and from scoring its essay: he saw the pages) and the transcription is *referred* to the organisers
(``TranscriptionState.REFERRED``): no judge is given it while one of its flags is open. A flag per page of the
submission still in play (reason ``not_handwritten``, origin ``judge``, target ``page``, the judge's words in the
message) lands in the organisers' flag queue; judges never see flags of origin ``judge``.

The organisers decide in one of two ways, as for a judge's report on an essay (``grading.db.reports``): resolve a
flag with a note — "it is a handwritten entry, type it": the flags on its other pages close with it and the
transcription goes back to the judges (``open``, or ``disputed`` when it was waiting for a third judge) — or
discard the pages (``grading.db.discards``: their flags close; a transcription with no page left is given to
nobody). ``settle_referrals`` keeps the state in step with the open flags, whichever way they closed or reopened.
Audited: ``transcription_declined``, ``transcription_referred``, ``transcription_resumed``.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from omr.errors import BadArguments

from .engine import Database, utcnow
from .reports import JUDGE, MAX_TEXT, refresh_pages
from .tables import (ESSAY, TranscriptionState, audit, flags, judges, pages, submissions, transcription_entries,
                     transcription_notes, transcriptions)

NOT_HANDWRITTEN = "not_handwritten"       # the flags' reason


class DeclineKind(enum.Enum):
    BLANK = "blank"
    SHEET_ESSAY = "sheet_essay"
    UNREADABLE = "unreadable"
    OTHER = "other"


KIND_LABELS = {DeclineKind.BLANK: "Trang trắng", DeclineKind.SHEET_ESSAY: "Trang tự luận của một phiếu trả lời",
               DeclineKind.UNREADABLE: "Không đọc được", DeclineKind.OTHER: "Khác"}


class DeclineRefused(BadArguments):
    """A "not a handwritten entry" the rules refuse; the message is Vietnamese, shown as is to the judge."""


def decline_entry(db: Database, entry_id: int, judge_id: int, kind: DeclineKind, text: str = "") -> tuple[int, ...]:
    """The judge says his entry's pages are no handwritten entry: his entry released, a flag per page for the
    organisers, the transcription referred. Returns the flags' ids. ``DeclineRefused`` when the entry is not his,
    is sent already, or "Khác" has no words."""
    words = " ".join(str(text or "").split())[:MAX_TEXT]
    if kind is DeclineKind.OTHER and not words:
        raise DeclineRefused("Hãy ghi rõ vì sao đây không phải bài viết tay (mục «Khác»).")
    now = utcnow()
    with db.write_tx(f"decline transcription entry {entry_id}") as conn:
        tid = conn.execute(sa.select(transcription_entries.c.transcription_id)
                           .where(transcription_entries.c.id == entry_id)).scalar()
        if tid is None:
            raise DeclineRefused("Bài này không còn được giao cho bạn.")
        sid = conn.execute(sa.select(transcriptions.c.submission_id).where(transcriptions.c.id == tid)).scalar_one()
        # lock order as a flag's decision: pages, then submissions, then the transcription
        page_ids = list(conn.execute(sa.select(pages.c.id).where(pages.c.submission_id == sid, pages.c.status == ESSAY)
                                     .order_by(pages.c.page_no).with_for_update()).scalars())
        conn.execute(sa.select(submissions.c.id).where(submissions.c.id == sid).with_for_update()).all()
        t = conn.execute(sa.select(transcriptions).where(transcriptions.c.id == tid).with_for_update()).one()
        e = conn.execute(sa.select(transcription_entries, judges.c.name)
                         .join(judges, judges.c.id == transcription_entries.c.judge_id)
                         .where(transcription_entries.c.id == entry_id)).one()
        if e.judge_id != judge_id:
            raise DeclineRefused("Bài này không được giao cho bạn.")
        if e.state != "assigned":
            raise DeclineRefused("Bạn đã gửi bài này; giá trị đã ghi không sửa được.")
        said = KIND_LABELS[kind] + (f" — «{words}»" if words else "")
        flag_ids = tuple(int(conn.execute(sa.insert(flags).values(
            page_id=pid, target="page", key=None, reason=NOT_HANDWRITTEN, confidence=0.0, fills=None, origin=JUDGE,
            state="open", message=f"Giám khảo {e.name} báo bài viết tay số {tid} (trang {i} trên {len(page_ids)}) "
                                  f"không phải bài viết tay: {said}. Bài tạm dừng nhập: loại bỏ trang nếu nó không "
                                  "thuộc bài thi, hoặc ghi quyết định vào cờ này để trả bài về nhập.")
            .returning(flags.c.id)).scalar_one()) for i, pid in enumerate(page_ids, 1))
        conn.execute(sa.delete(transcription_entries).where(transcription_entries.c.id == entry_id))
        conn.execute(sa.insert(transcription_notes).values(transcription_id=tid, judge_id=judge_id, kind=kind.value,
                                                           text=words or None, flags=list(flag_ids), at=now))
        conn.execute(sa.insert(audit).values(
            at=now, who=e.name, action="transcription_declined", target=f"transcription:{tid} entry:{entry_id}",
            before={"entry": {"judge": e.name, "slot": e.slot, "state": e.state}, "state": t.state},
            after={"kind": kind.value, "text": words, "flags": list(flag_ids), "pages": page_ids}))
        refresh_pages(conn, page_ids, [sid])
        settle_referrals(conn, [sid], now, e.name)
        return flag_ids


def _resumed(t: Any) -> TranscriptionState:
    """Where a referred transcription goes back to: the third judge when its two entries differed, else typing."""
    return TranscriptionState.DISPUTED if t.differences else TranscriptionState.OPEN


def settle_referrals(conn: Connection, submission_ids: Iterable[int], now: datetime, who: str) -> None:
    """Refer each transcription (not taken) of these submissions with an open ``not_handwritten`` flag on one of
    its pages to the organisers; give back to the judges each referred one without."""
    sids = sorted(set(submission_ids))
    if not sids:
        return
    for t in conn.execute(sa.select(transcriptions.c.id, transcriptions.c.submission_id, transcriptions.c.state,
                                    transcriptions.c.differences)
                          .where(transcriptions.c.submission_id.in_(sids),
                                 transcriptions.c.state != TranscriptionState.TAKEN.value)).all():
        flagged = conn.execute(sa.select(flags.c.id).join(pages, pages.c.id == flags.c.page_id).where(
            pages.c.submission_id == t.submission_id, flags.c.state == "open", flags.c.reason == NOT_HANDWRITTEN)
            .limit(1)).first() is not None
        referred = t.state == TranscriptionState.REFERRED.value
        if flagged == referred:
            continue
        new = TranscriptionState.REFERRED if flagged else _resumed(t)
        conn.execute(sa.update(transcriptions).where(transcriptions.c.id == t.id).values(state=new.value))
        conn.execute(sa.insert(audit).values(
            at=now, who=who, action="transcription_referred" if flagged else "transcription_resumed",
            target=f"transcription:{t.id}", before={"state": t.state}, after={"state": new.value}))


def close_referral(conn: Connection, flag_id: int, page_id: int, value: str, now: datetime, who: str) -> list[int]:
    """After the organisers decided the ``not_handwritten`` flag ``flag_id`` (on ``page_id``): close the flags of
    the same referral on the submission's other pages with that decision, and give the transcription back to the
    judges. Returns the flags closed with it."""
    sid = conn.execute(sa.select(pages.c.submission_id).where(pages.c.id == page_id)).scalar_one()
    others = list(conn.execute(
        sa.select(flags.c.id, flags.c.page_id).join(pages, pages.c.id == flags.c.page_id)
        .where(pages.c.submission_id == sid, flags.c.state == "open", flags.c.reason == NOT_HANDWRITTEN,
               flags.c.id != flag_id).order_by(flags.c.id)))
    if others:
        conn.execute(sa.update(flags).where(flags.c.id.in_([f.id for f in others])).values(
            state="resolved", resolution={"value": value, "with_flag": flag_id}, resolved_by=who, resolved_at=now))
        refresh_pages(conn, [f.page_id for f in others], [sid])
    settle_referrals(conn, [sid], now, who)
    return [f.id for f in others]
