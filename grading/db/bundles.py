"""The statements of forwarding between levels (``grading.bundles``): what a unit's closed round sends up — its
selected entries with their participants, submissions, pages (readings), scores, essays and the audit rows about
them — as one JSON-able payload, and its import at the city, idempotent (a submission already there is kept).

Ids are the sending store's own and never cross: pages and essays are matched by (content hash, page number) and
(page, region); essays get new anonymous codes at the city; the judging tasks are made by ``sync_tasks``.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import Database, chunks
from .essays import new_anon_codes
from .rounds import CLOSED, add_audit, entries, round_row
from .tables import (audit, contest_rounds, essays, keysets, pages, participants, round_entries, scores,
                     submissions)
from .tasks import refresh_task_units, sync_tasks

PERSON = ("name", "unit", "date_of_birth", "school", "class_name", "category")
PAGE = ("page_no", "status", "reason_code", "reason", "layout", "participant", "version", "reading", "read_at")
SCORE = ("participant", "version", "status", "total", "total_float", "max_total", "max_float", "questions",
         "sections", "needs_review", "key_digest", "computed_at")
ESSAY = ("kind", "region_id", "participant", "ocr_state", "text", "text_plain", "mean_conf", "reliable", "engine",
         "source", "warnings", "seconds", "ocr_at", "created_at")
SUBMISSION = ("source", "content_hash", "size", "n_pages", "status", "first_seen", "unit")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def _row(r: Any, cols: tuple[str, ...]) -> dict[str, Any]:
    return {c: _json(getattr(r, c)) for c in cols}


def _pages_of(conn: Connection, people: list[str]) -> list[Any]:
    """The pages read for the participants: their answer pages and the pages of their essays."""
    ids: set[int] = set()
    for chunk in chunks(people):
        ids.update(conn.execute(sa.select(pages.c.id).where(pages.c.participant.in_(chunk))).scalars())
        ids.update(conn.execute(sa.select(essays.c.page_id).where(essays.c.participant.in_(chunk))).scalars())
    out: list[Any] = []
    for chunk in chunks(sorted(ids)):
        out.extend(conn.execute(sa.select(pages, submissions.c.content_hash)
                                .join(submissions, submissions.c.id == pages.c.submission_id)
                                .where(pages.c.id.in_(chunk))))
    return out


def forward_payload(db: Database, name: str, unit: str, first: str) -> dict[str, Any]:
    """What the unit's closed round ``name`` sends up (see the module's docstring), with how many entries the unit
    had in the contest's first round ``first``; raises ``LookupError`` (not closed) or ``ValueError`` (ties the
    committee has not decided)."""
    with db.read_tx("read a round to forward") as conn:
        rnd = round_row(conn, name, unit)
        if rnd is None or rnd.state != CLOSED:
            raise LookupError(name)
        got = entries(conn, [rnd.id])
        if any(e.advanced is None for e in got):
            raise ValueError(sorted(e.participant for e in got if e.advanced is None))
        chosen = [e for e in got if e.advanced]
        opening = round_row(conn, first, unit)
        received = len(entries(conn, [opening.id])) if opening is not None else len(got)
        people = [e.participant for e in chosen]
        page_rows = _pages_of(conn, people)
        page_ids = [p.id for p in page_rows]
        subs = {s.id: s for chunk in chunks(sorted({p.submission_id for p in page_rows}))
                for s in conn.execute(sa.select(submissions).where(submissions.c.id.in_(chunk)))}
        score_by, essays_by = {}, defaultdict(list)
        for chunk in chunks(page_ids):
            score_by.update({s.page_id: s for s in conn.execute(sa.select(scores).where(scores.c.page_id.in_(chunk)))})
            owner = pages.alias("owner")
            for e in conn.execute(sa.select(essays, owner.c.page_no.label("owner_page_no"))
                                  .outerjoin(owner, owner.c.id == essays.c.owner_page_id)
                                  .where(essays.c.page_id.in_(chunk)).order_by(essays.c.id)):
                essays_by[e.page_id].append(dict(_row(e, ESSAY), owner_page_no=e.owner_page_no))
        digests = sorted({s.key_digest for s in score_by.values()})
        keys = [_row(k, ("digest", "contest", "layout", "data", "created_at")) for k in conn.execute(
            sa.select(keysets).where(keysets.c.digest.in_(digests)))] if digests else []
        persons = {p.participant: _row(p, PERSON) for chunk in chunks(people)
                   for p in conn.execute(sa.select(participants).where(participants.c.participant.in_(chunk)))}
        targets = [f"round:{rnd.id}"] + [f"page:{i}" for i in page_ids]
        trail = [_row(a, ("at", "who", "action", "target", "before", "after")) for a in conn.execute(
            sa.select(audit).order_by(audit.c.id)) if any(t in a.target.split() or a.target == t for t in targets)]
    by_sub: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in sorted(page_rows, key=lambda p: (p.submission_id, p.page_no)):
        page = _row(p, PAGE)
        page["score"] = _row(score_by[p.id], SCORE) if p.id in score_by else None
        page["essays"] = essays_by.get(p.id, [])
        by_sub[p.submission_id].append(page)
    return {"round": name, "unit": unit, "closed_at": _json(rnd.closed_at), "closed_by": rnd.closed_by,
            "unit_entries": received,
            "entries": [dict(_row(e, ("participant", "unit", "mc_points", "essay_score", "score", "score_float",
                                      "rank", "advanced")), person=persons.get(e.participant)) for e in chosen],
            "submissions": [dict(_row(subs[sid], SUBMISSION), pages=ps) for sid, ps in sorted(by_sub.items())],
            "keysets": keys, "audit": trail}


def _when(text: Any) -> Any:
    return datetime.fromisoformat(text) if isinstance(text, str) else text


def _import_people(conn: Connection, payload: dict[str, Any], now: datetime) -> None:
    have = set(conn.execute(sa.select(participants.c.participant)).scalars())
    for e in payload["entries"]:
        p = e.get("person")
        if p is None or e["participant"] in have:
            continue
        dob = p.get("date_of_birth")
        conn.execute(sa.insert(participants).values(
            participant=e["participant"], name=p["name"], unit=p.get("unit"),
            date_of_birth=date.fromisoformat(dob) if dob else None, school=p.get("school"),
            class_name=p.get("class_name"), category=p.get("category"), updated_at=now))


def _import_submission(conn: Connection, s: dict[str, Any], source: str) -> tuple[int, int]:
    """The submission (kept when its content is there already) and its pages, scores, essays; (id, pages added)."""
    sid = conn.execute(sa.select(submissions.c.id).where(submissions.c.content_hash == s["content_hash"])).scalar()
    if sid is None:
        sid = conn.execute(sa.insert(submissions).values(
            source=source, content_hash=s["content_hash"], size=s["size"], n_pages=s["n_pages"], status=s["status"],
            first_seen=_when(s["first_seen"]), unit=s["unit"]).returning(submissions.c.id)).scalar_one()
    have = set(conn.execute(sa.select(pages.c.page_no).where(pages.c.submission_id == sid)).scalars())
    new = [p for p in s["pages"] if p["page_no"] not in have]
    ids: dict[int, int] = {}
    for p in new:
        values = dict({k: p[k] for k in PAGE}, read_at=_when(p["read_at"]))
        ids[p["page_no"]] = conn.execute(sa.insert(pages).values(submission_id=sid, **values)
                                         .returning(pages.c.id)).scalar_one()
        if p["score"] is not None:
            conn.execute(sa.insert(scores).values(page_id=ids[p["page_no"]],
                                                  **dict(p["score"], computed_at=_when(p["score"]["computed_at"]))))
    ids.update(conn.execute(sa.select(pages.c.page_no, pages.c.id).where(pages.c.submission_id == sid)).all())
    for p in new:
        people = {e["participant"] for e in p["essays"] if e["participant"]}
        for e, code in zip(p["essays"], new_anon_codes(conn, len(p["essays"]), people)):
            conn.execute(sa.insert(essays).values(
                page_id=ids[p["page_no"]], owner_page_id=ids.get(e["owner_page_no"]), anon_code=code,
                **{k: (_when(e[k]) if k in ("ocr_at", "created_at") else e[k]) for k in ESSAY}))
    return int(sid), len(new)


def import_payload(conn: Connection, payload: dict[str, Any], *, bundle: str, source_of: dict[str, str],
                   now: datetime) -> dict[str, int]:
    """Bring a verified bundle's payload into the store as the unit's closed round (see the module's docstring);
    the counts of what was added. The round must not be there yet (the caller checks)."""
    for k in payload["keysets"]:
        if conn.execute(sa.select(keysets.c.digest).where(keysets.c.digest == k["digest"])).first() is None:
            conn.execute(sa.insert(keysets).values(**dict(k, created_at=_when(k["created_at"]))))
    _import_people(conn, payload, now)
    sub_ids, n_pages = [], 0
    for s in payload["submissions"]:
        sid, added = _import_submission(conn, s, source_of.get(s["content_hash"], s["source"]))
        sub_ids.append(sid)
        n_pages += added
    sync_tasks(conn, now, submission_ids=sub_ids, who=f"bundle {bundle[:12]}")
    refresh_task_units(conn)
    closed_at = _when(payload["closed_at"])
    rid = conn.execute(sa.insert(contest_rounds).values(
        name=payload["round"], unit=payload["unit"], state=CLOSED, opened_at=closed_at,
        opened_by=f"bundle {bundle[:12]}", closed_at=closed_at, entries_declared=payload.get("unit_entries"),
        closed_by=f"{payload['closed_by']} (bundle {bundle[:12]})").returning(contest_rounds.c.id)).scalar_one()
    if payload["entries"]:
        conn.execute(sa.insert(round_entries), [
            dict(round_id=rid, **{k: e[k] for k in ("participant", "unit", "mc_points", "essay_score", "score",
                                                    "score_float", "rank", "advanced")})
            for e in payload["entries"]])
    unit = payload["unit"]
    for a in payload["audit"]:
        add_audit(conn, _when(a["at"]), f"{a['who']} ({unit})", a["action"], f"{unit}: {a['target']}", a["before"],
                  a["after"])
    counts = {"entries": len(payload["entries"]), "submissions": len(sub_ids), "pages": n_pages}
    add_audit(conn, now, f"bundle {bundle[:12]}", "bundle_receive", f"round:{rid}", None,
              dict(counts, sha256=bundle, unit=unit, round=payload["round"]))
    return counts
