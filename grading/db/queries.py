"""Reading results back: flags, counts, the results table per participant."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from omr.records import Status

from ..score import ScoreStatus
from .engine import Database
from .tables import DISCARDED, ESSAY, flags, pages, scores, submissions


def list_flags(db: Database, *, state: str | None = "open") -> list[dict[str, Any]]:
    """Flags (open ones by default) with their page and source, oldest first."""
    q = (sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason,
                   flags.c.message, flags.c.confidence, flags.c.origin, flags.c.state,
                   pages.c.page_no, pages.c.participant, submissions.c.source)
         .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
         .order_by(flags.c.id))
    if state is not None:
        q = q.where(flags.c.state == state)
    with db.read_tx("list flags") as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def counts(db: Database) -> dict[str, int]:
    """Pages and submissions by status; ``pages_graded``: pages ok with a score; ``pages_no_key``: pages scored
    without a key (discarded pages left out). Discarded pages and files count in ``pages`` and ``submissions`` only
    (``grading.db.discards`` lists them)."""
    with db.read_tx("count results") as conn:
        subs = Counter(dict(conn.execute(sa.select(submissions.c.status, sa.func.count())
                                         .group_by(submissions.c.status)).all()))
        pgs = Counter(dict(conn.execute(sa.select(pages.c.status, sa.func.count())
                                        .group_by(pages.c.status)).all()))
        fl = Counter(dict(conn.execute(sa.select(flags.c.state, sa.func.count())
                                       .group_by(flags.c.state)).all()))
        graded = conn.execute(sa.select(sa.func.count()).select_from(scores.join(pages))
                              .where(pages.c.status == Status.OK.value,
                                     scores.c.status == ScoreStatus.SCORED.value)).scalar_one()
        no_key = conn.execute(sa.select(sa.func.count()).select_from(scores.join(pages))
                              .where(scores.c.status == ScoreStatus.NO_KEY.value,
                                     pages.c.status != DISCARDED)).scalar_one()
    out = {"submissions": sum(subs.values()), "pages": sum(pgs.values()), "pages_graded": int(graded),
           "pages_no_key": int(no_key), "flags_open": fl["open"], "flags_resolved": fl["resolved"]}
    for s in Status:
        out[f"submissions_{s.value}"] = subs[s.value]
        out[f"pages_{s.value}"] = pgs[s.value]
    return {k: int(v) for k, v in out.items()}


def problems_by_reason(db: Database) -> tuple[dict[str, int], dict[str, int]]:
    """Rejected pages by reason code (``unknown`` without one) and open flags by reason, in one transaction."""
    with db.read_tx("count rejections and flags") as conn:
        rejected = dict(conn.execute(
            sa.select(sa.func.coalesce(pages.c.reason_code, "unknown"), sa.func.count())
            .where(pages.c.status == Status.REJECTED.value).group_by(pages.c.reason_code)).all())
        open_flags = dict(conn.execute(
            sa.select(flags.c.reason, sa.func.count()).where(flags.c.state == "open")
            .group_by(flags.c.reason)).all())
    return {str(k): int(v) for k, v in rejected.items()}, {str(k): int(v) for k, v in open_flags.items()}


def results_frame(db: Database) -> Any:
    """One row per participant (pages without a participant: one row each, ``participant`` empty).

    ``status``: ok (final), flagged (open flags), no_key, unscored (no keys yet), duplicate (several answer
    pages for one participant: no total until a judge settles it). ``total`` is a float, ``total_exact``
    the exact fraction; section subtotals follow as ``section: <name>`` columns. Rejected, essay and discarded
    pages are left out.
    """
    import pandas as pd

    q = (sa.select(pages.c.id, pages.c.status, pages.c.participant, pages.c.version, submissions.c.source,
                   scores.c.status.label("score_status"), scores.c.total, scores.c.max_total,
                   scores.c.sections)
         .join(submissions, submissions.c.id == pages.c.submission_id)
         .outerjoin(scores, scores.c.page_id == pages.c.id)
         .where(pages.c.status.notin_([Status.REJECTED.value, ESSAY, DISCARDED])).order_by(pages.c.id))
    with db.read_tx("read results") as conn:
        rows = conn.execute(q).all()
    groups: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        groups[r.participant if r.participant is not None else ("page", r.id)].append(r)
    section_names: list[str] = []
    for r in rows:
        for s in r.sections or []:
            if s["name"] not in section_names:
                section_names.append(s["name"])
    out = []
    for rs in groups.values():
        r = rs[0]
        rec: dict[str, Any] = {
            "participant": r.participant, "version": r.version, "status": "", "total": math.nan,
            "total_exact": None, "max_total": math.nan, "pages": len(rs),
            "page_ids": ";".join(str(x.id) for x in rs), "sources": ";".join(sorted({x.source for x in rs})),
        }
        for name in section_names:
            rec[f"section: {name}"] = math.nan
        if len(rs) > 1:
            rec["status"] = "duplicate"
            rec["version"] = ";".join(sorted({x.version or "" for x in rs}))
        elif r.score_status is None:
            rec["status"] = "unscored" if r.status == Status.OK.value else r.status
        elif r.score_status == ScoreStatus.NO_KEY.value:
            rec["status"] = ScoreStatus.NO_KEY.value
        else:
            rec["status"] = r.status
            rec.update(total=float(Fraction(r.total)), total_exact=r.total,
                       max_total=float(Fraction(r.max_total)))
            for s in r.sections or []:
                rec[f"section: {s['name']}"] = float(Fraction(s["points"]))
        out.append(rec)
    cols = ["participant", "version", "status", "total", "total_exact", "max_total",
            *[f"section: {n}" for n in section_names], "pages", "page_ids", "sources"]
    return pd.DataFrame(out, columns=cols)
