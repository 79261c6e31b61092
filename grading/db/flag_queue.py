"""The queries behind the judges' flag queue: open flags page by page, the next one, one flag with its page and
score. Flags on essay pages are the organisers' (admins see them; judges never do, so essay judging stays blind)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .engine import Database as Store
from .tables import ESSAY, flags, pages, scores, submissions


def _visible(q: Any, admin: bool) -> Any:
    return q if admin else q.where(pages.c.status != ESSAY)


def open_flags(store: Store, offset: int, limit: int, *, admin: bool) -> tuple[list[dict[str, Any]], int]:
    """One page of the open flags the viewer may see, oldest first, and how many there are in all."""
    q = (sa.select(flags.c.id, flags.c.target, flags.c.key, flags.c.reason, flags.c.confidence,
                   pages.c.id.label("page_id"), pages.c.page_no, pages.c.participant, pages.c.version,
                   submissions.c.source)
         .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
         .where(flags.c.state == "open").order_by(flags.c.id))
    n = sa.select(sa.func.count()).select_from(flags.join(pages, pages.c.id == flags.c.page_id)) \
        .where(flags.c.state == "open")
    with store.read_tx("list open flags") as conn:
        total = conn.execute(_visible(n, admin)).scalar()
        rows = [dict(r._mapping) for r in conn.execute(_visible(q, admin).offset(offset).limit(limit))]
    return rows, int(total or 0)


def next_open_flag(store: Store, after: int, *, admin: bool) -> int | None:
    """The first open flag the viewer may see after ``after``, else the first one at all."""
    q = sa.select(sa.func.min(flags.c.id)).select_from(flags.join(pages, pages.c.id == flags.c.page_id)) \
        .where(flags.c.state == "open")
    with store.read_tx("find the next flag") as conn:
        nxt = conn.execute(_visible(q, admin).where(flags.c.id > after)).scalar()
        if nxt is None:
            nxt = conn.execute(_visible(q, admin)).scalar()
    return nxt


def next_open_flags(store: Store, after: int, n: int) -> list[dict[str, Any]]:
    """The next ``n`` open flags after ``after`` (for drawing their pictures ahead)."""
    q = (sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.fills)
         .where(flags.c.state == "open", flags.c.id > after).order_by(flags.c.id).limit(n))
    with store.read_tx("find the next flags") as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def flag_detail(store: Store, flag_id: int) -> dict[str, Any] | None:
    """A flag with its page, file and score, or ``None``."""
    q = (sa.select(flags, pages.c.page_no, pages.c.participant, pages.c.version, pages.c.status.label("page_status"),
                   submissions.c.source, scores.c.total, scores.c.max_total, scores.c.status.label("score_status"))
         .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
         .outerjoin(scores, scores.c.page_id == pages.c.id).where(flags.c.id == flag_id))
    with store.read_tx("read a flag") as conn:
        row = conn.execute(q).first()
    return None if row is None else dict(row._mapping)


def has_open_sheet_flag(store: Store, page_id: int) -> bool:
    """Whether an answer-sheet page (not an essay page) has an open flag."""
    with store.read_tx("check a page has an open flag") as conn:
        return conn.execute(sa.select(flags.c.id).join(pages, pages.c.id == flags.c.page_id).where(
            flags.c.page_id == page_id, flags.c.state == "open", pages.c.status != ESSAY).limit(1)).first() is not None
