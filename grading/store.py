"""The results store: submissions, pages, flags, human decisions, scores, audit — in SQLite or PostgreSQL.

One code path for both (SQLAlchemy 2 Core). ``Store.open(url)`` accepts ``sqlite:///path``, a plain file path
(taken as SQLite), ``postgresql://…`` / ``postgres://…`` (rewritten to the psycopg 3 driver) and
``postgresql+psycopg://…``. The schema is created on open; a database written by a newer version is refused.

Guarantees:

* **One transaction per submission.** A submission row, its pages, their flags and scores are written
  together or not at all (a ``kill -9`` leaves a whole submission or none). ``known_hashes`` is therefore
  exactly the set of fully recorded files; a resumed run skips them.
* **Idempotent.** Recording the same ``content_hash`` again changes nothing (``INSERT … ON CONFLICT DO
  NOTHING`` on the UNIQUE hash is the final guard) and says so in the returned ``RecordResult``.
* **Human decisions are never overwritten.** Resolutions are append-only rows; a page's *effective* reading is
  the machine reading overlaid with its resolutions (latest wins), and every score is computed from that.
  Re-recording and re-scoring only ever read them. Each decision writes an audit row with before/after.
* **Each page is scored with a stored key.** Every ``KeySet`` used is kept (by digest) in ``keysets``; a
  judge's decision re-scores the page with the key that scored it, ``rescore`` switches all pages to new keys.
* **Concurrent writers** (several judges, one batch): a decision locks its page row, then its submission row
  (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite takes its write lock at ``BEGIN IMMEDIATE``).

Flags the store adds itself (``origin = "grading"``): ``no_key`` (target ``version``) when a page's version
has no key, resolved by a judge entering the version; ``unreadable_answer`` (target ``question``) when an
answer does not parse into the question's options. A ``no_key`` flag is closed automatically when a later
``rescore`` brings a key for that version.

Resolution values: ``question`` → the marks that count (``"B"``, ``"AC"``, ``""`` for blank); ``participant``
and ``version`` → the whole field (``"012345"``, ``"102"``); ``page`` → a free note (no effect on scores).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from omr.errors import BadArguments, ExitCode, OmrError
from omr.records import SheetFailure, SheetReading, Status

from .keys import KeySet, split_labels
from .score import ScoreStatus, SheetScore, score_sheet

SCHEMA_VERSION = 1
SYSTEM = "system"           # ``who`` of machine actions
_CHUNK = 500                # ids per IN (...) list
_PG_LOCK_KEY = 0x6F6D7231   # advisory lock serialising schema creation ("omr1")


class DatabaseError(OmrError):
    """The results store cannot be opened, created or written."""

    exit_code = ExitCode.DATABASE


# ---------------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------------
metadata = sa.MetaData()
_JSON = sa.JSON(none_as_null=True).with_variant(pg_dialect.JSONB(none_as_null=True), "postgresql")
_TS = sa.DateTime(timezone=True)

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),   # always 1
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)
runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("finished_at", _TS),
    sa.Column("args", _JSON),
    sa.Column("counts", _JSON),
)
keysets = sa.Table(
    "keysets", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("contest", sa.Text, nullable=False),
    sa.Column("layout", sa.Text, nullable=False),
    sa.Column("data", _JSON, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)
submissions = sa.Table(
    "submissions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("n_pages", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),          # ok | flagged | rejected
    sa.Column("first_seen", _TS, nullable=False),
    sa.Column("last_run", sa.Integer, sa.ForeignKey("runs.id")),
)
pages = sa.Table(
    "pages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("page_no", sa.Integer, nullable=False),           # 1-based; 0 = the whole file failed
    sa.Column("status", sa.String(16), nullable=False),         # effective: ok | flagged | rejected
    sa.Column("reason_code", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("layout", sa.Text),
    sa.Column("participant", sa.String(64)),                    # effective (after resolutions)
    sa.Column("version", sa.String(16)),                        # effective (after resolutions)
    sa.Column("reading", _JSON, nullable=False),                # machine reading, never changed
    sa.Column("read_at", _TS, nullable=False),
    sa.UniqueConstraint("submission_id", "page_no", name="uq_pages_submission_page"),
    sa.Index("ix_pages_participant", "participant"),
)
flags = sa.Table(
    "flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target", sa.String(16), nullable=False),         # question | participant | version | page
    sa.Column("key", sa.String(32)),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("fills", _JSON),
    sa.Column("origin", sa.String(16), nullable=False),         # reader | grading
    sa.Column("state", sa.String(16), nullable=False),          # open | resolved
    sa.Column("resolution", _JSON),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolved_at", _TS),
    sa.Index("ix_flags_page_state", "page_id", "state"),
)
resolutions = sa.Table(
    "resolutions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("flag_id", sa.Integer, sa.ForeignKey("flags.id")),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("key", sa.String(32)),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Index("ix_resolutions_page", "page_id"),
)
scores = sa.Table(
    "scores", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False, unique=True),
    sa.Column("participant", sa.String(64)),
    sa.Column("version", sa.String(16)),
    sa.Column("status", sa.String(16), nullable=False),         # scored | no_key
    sa.Column("total", sa.Text, nullable=False),                # exact fraction "41/3"
    sa.Column("total_float", sa.Float, nullable=False),
    sa.Column("max_total", sa.Text, nullable=False),
    sa.Column("max_float", sa.Float, nullable=False),
    sa.Column("questions", _JSON, nullable=False),              # SheetScore.to_json()["questions"]
    sa.Column("sections", _JSON, nullable=False),
    sa.Column("needs_review", _JSON, nullable=False),
    sa.Column("key_digest", sa.String(64), sa.ForeignKey("keysets.digest"), nullable=False),
    sa.Column("computed_at", _TS, nullable=False),
)
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),         # resolve_flag | rescore
    sa.Column("target", sa.Text, nullable=False),               # "flag:12 page:3 question:17", "all pages"
    sa.Column("before", _JSON),
    sa.Column("after", _JSON),
)
TABLES = tuple(metadata.tables)


# ---------------------------------------------------------------------------------------------------
# Records returned by the store
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecordResult:
    submission_id: int
    created: bool            # False: this content was already recorded (nothing was changed)
    source: str              # the source path stored for it (the first one seen)


@dataclass(slots=True)
class _PageState:
    """A page's effective reading: machine reading overlaid with the human resolutions (latest wins)."""

    id: int
    submission_id: int
    rejected: bool
    answers: dict[str, str]
    participant: str | None
    version: str | None
    open_flags: list[Any] = field(default_factory=list)     # flag rows (id, target, key, reason)

    @property
    def open_questions(self) -> set[str]:
        return {f.key for f in self.open_flags if f.target == "question" and f.key is not None}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` → ``postgresql+psycopg://``; a plain path → ``sqlite:///path``."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if "://" not in url and url not in ("", "sqlite:"):
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def default_url(contest_dir: str | Path) -> str:
    """``sqlite:///<contest>/out/results.sqlite``."""
    return f"sqlite:///{Path(contest_dir) / 'out' / 'results.sqlite'}"


def _explain(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------------
class Store:
    """Open with ``Store.open(url)``; close with ``close()`` (or use as a context manager)."""

    def __init__(self, engine: Engine, shown_url: str):
        self.engine = engine
        self.url = shown_url                     # password hidden: safe for messages and logs
        self._keys_cache: dict[str, KeySet] = {}

    # -- opening --------------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """Connect, create the schema if needed, refuse a newer schema. Raises ``DatabaseError`` (exit 7)."""
        url = normalise_url(url)
        try:
            parsed = sa.engine.make_url(url)
        except ArgumentError:
            raise DatabaseError(f"{url!r} is not a database URL; use sqlite:///path/results.sqlite or "
                                "postgresql://user@host/dbname") from None
        shown = parsed.render_as_string(hide_password=True)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise DatabaseError(f"unsupported database {shown}; use sqlite:///path or postgresql://user@host/db")
        kwargs: dict[str, Any] = {}
        if backend == "sqlite":
            db = parsed.database or ""
            if db and db != ":memory:" and not db.startswith("file:"):
                try:
                    Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseError(f"cannot create the folder for {shown}: {exc}; choose a writable "
                                        "--db path") from None
            else:
                kwargs["poolclass"] = sa.pool.StaticPool
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        else:
            kwargs["connect_args"] = {"connect_timeout": 10, "application_name": "omr-grader"}
            kwargs["pool_pre_ping"] = True
        try:
            engine = sa.create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise DatabaseError(f"no driver for {shown}: {exc}; install it with pip install 'psycopg[binary]'") \
                from None
        if backend == "sqlite":
            _sqlite_transactions(engine)
        store = cls(engine, shown)
        try:
            store._ensure_schema()
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, action: str, *, read: bool = False) -> Iterator[Connection]:
        """One transaction; database failures become ``DatabaseError`` saying what failed and where."""
        try:
            with self.engine.connect() as conn:
                if read:
                    conn.execution_options(omr_read_only=True)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            hint = ("is the server running and the URL right?" if isinstance(exc, sa.exc.OperationalError)
                    else "the database may be damaged or changed by another program")
            raise DatabaseError(f"cannot {action} in {self.url}: {_explain(exc)}; {hint}") from exc

    @contextmanager
    def read_tx(self, action: str) -> Iterator[Connection]:
        """A read-only transaction for reports (status, export) that query the tables above directly;
        failures become ``DatabaseError`` like every other store call."""
        with self._tx(action, read=True) as conn:
            yield conn

    def _ensure_schema(self) -> None:
        with self._tx("create the results tables") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
            insp = sa.inspect(conn)
            found = None
            if insp.has_table("schema_version"):
                found = conn.execute(sa.select(schema_version.c.version)).scalar()
            else:
                ours = [t for t in TABLES if insp.has_table(t)]
                if ours:
                    raise DatabaseError(f"{self.url} has tables {', '.join(ours)} but no schema_version: it is "
                                        "not an omr results database; pass another --db")
            if found is not None and found > SCHEMA_VERSION:
                raise DatabaseError(
                    f"{self.url} was written by a newer omr-grader (schema version {found}; this program knows "
                    f"up to {SCHEMA_VERSION}); upgrade omr-grader (pip install -U omr-grader) or pass another --db")
            if found is not None and found < SCHEMA_VERSION:
                raise DatabaseError(f"{self.url} has schema version {found} and there is no migration to "
                                    f"{SCHEMA_VERSION}; re-run into a new --db")
            metadata.create_all(conn)
            if found is None:
                conn.execute(sa.insert(schema_version).values(id=1, version=SCHEMA_VERSION, updated_at=_now()))

    # -- runs -----------------------------------------------------------------------------------------
    def start_run(self, args: dict[str, Any]) -> int:
        with self._tx("start a run") as conn:
            return int(conn.execute(sa.insert(runs).values(started_at=_now(), args=args)
                                    .returning(runs.c.id)).scalar_one())

    def finish_run(self, run_id: int, counts: dict[str, Any] | None = None) -> None:
        counts = self.counts() if counts is None else counts
        with self._tx("finish a run") as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(finished_at=_now(), counts=counts))

    # -- recording ------------------------------------------------------------------------------------
    def known_hashes(self) -> set[str]:
        """Content hashes of submissions fully recorded (each is one transaction): a resumed run skips them."""
        with self._tx("list recorded files", read=True) as conn:
            return set(conn.execute(sa.select(submissions.c.content_hash)).scalars())

    def record_submission(self, source: str, content_hash: str, size: int,
                          results: Sequence[SheetReading | SheetFailure], keys: KeySet | None, *,
                          run_id: int | None = None) -> RecordResult:
        """Write a submission with its pages, flags and (when ``keys`` is given) scores, in ONE transaction.
        Recording a ``content_hash`` that is already there changes nothing."""
        if len(content_hash) != 64 or any(c not in "0123456789abcdef" for c in content_hash):
            raise ValueError(f"content_hash must be a lowercase sha256 hex digest, got {content_hash!r}")
        page_nos = [r.page or 0 for r in results]
        if len(set(page_nos)) != len(page_nos):
            raise ValueError(f"{source}: page numbers repeat in the results: {page_nos}")
        for r in results:
            if not isinstance(r, (SheetReading, SheetFailure)):
                raise TypeError(f"results hold SheetReading/SheetFailure records, got {type(r).__name__}")
        now = _now()
        with self._tx(f"record {source}") as conn:
            ins = _insert(conn, submissions).values(
                source=source, content_hash=content_hash, size=size, n_pages=len(results),
                status=Status.OK.value, first_seen=now, last_run=run_id,
            ).on_conflict_do_nothing(index_elements=["content_hash"]).returning(submissions.c.id)
            sid = conn.execute(ins).scalar()
            if sid is None:
                row = conn.execute(sa.select(submissions.c.id, submissions.c.source)
                                   .where(submissions.c.content_hash == content_hash)).one()
                return RecordResult(int(row.id), False, row.source)
            page_ids = []
            for r in results:
                page_ids.append(self._insert_page(conn, sid, r, now))
            if keys is not None:
                digest = self._ensure_keyset(conn, keys, now)
                states = _load_states(conn, page_ids)
                for pid in page_ids:
                    st = states[pid]
                    if not st.rejected:
                        self._score_page(conn, st, keys, digest, SYSTEM, now)
            else:
                for st in _load_states(conn, page_ids).values():
                    _update_page_status(conn, st)
            _update_submission_status(conn, [sid])
            return RecordResult(int(sid), True, source)

    @staticmethod
    def _insert_page(conn: Connection, sid: int, r: SheetReading | SheetFailure, now: datetime) -> int:
        if isinstance(r, SheetFailure):
            values = dict(status=Status.REJECTED.value, reason_code=r.reason_code.value, reason=r.reason,
                          layout=None, participant=None, version=None, reading=r.to_json(detail=True))
        else:
            values = dict(status=r.status.value, reason_code=None, reason=None, layout=r.layout,
                          participant=r.participant, version=r.version, reading=r.to_json(detail=True))
        pid = int(conn.execute(sa.insert(pages).values(submission_id=sid, page_no=r.page or 0, read_at=now,
                                                       **values).returning(pages.c.id)).scalar_one())
        if isinstance(r, SheetReading) and r.status is Status.FLAGGED and not r.flags:
            _add_flag(conn, pid, "page", None, "flagged", "the reader flagged this page without saying why; "
                      "look at the page", now)
        if isinstance(r, SheetReading) and r.flags:
            conn.execute(sa.insert(flags), [dict(
                page_id=pid, target=f.target, key=f.key, reason=f.reason, message=f.message,
                confidence=float(f.confidence), fills=list(f.values) if f.values else None, origin="reader",
                state="open", resolution=None, resolved_by=None, resolved_at=None) for f in r.flags])
        return pid

    def _ensure_keyset(self, conn: Connection, keys: KeySet, now: datetime) -> str:
        digest = keys.digest
        conn.execute(_insert(conn, keysets).values(digest=digest, contest=keys.contest, layout=keys.layout,
                                                   data=keys.to_json(), created_at=now)
                     .on_conflict_do_nothing(index_elements=["digest"]))
        self._keys_cache[digest] = keys
        return digest

    def _keyset(self, conn: Connection, digest: str) -> KeySet:
        if digest not in self._keys_cache:
            data = conn.execute(sa.select(keysets.c.data).where(keysets.c.digest == digest)).scalar_one()
            self._keys_cache[digest] = KeySet.from_json(data)
        return self._keys_cache[digest]

    def _score_page(self, conn: Connection, st: _PageState, keys: KeySet, digest: str, who: str,
                    now: datetime) -> SheetScore:
        """Score one page from its effective reading, keep the store's own flags in step, write the score."""
        sc = score_sheet(st.answers, st.version, keys, open_flags=st.open_questions)
        no_key = [f for f in st.open_flags if f.reason == ScoreStatus.NO_KEY.value]
        if sc.status is ScoreStatus.NO_KEY and not no_key:
            st.open_flags.append(_add_flag(conn, st.id, "version", None, ScoreStatus.NO_KEY.value, sc.message, now))
        elif sc.status is ScoreStatus.SCORED and no_key:
            conn.execute(sa.update(flags).where(flags.c.id.in_([f.id for f in no_key])).values(
                state="resolved", resolved_by=who, resolved_at=now,
                resolution={"auto": f"an answer key for version {sc.version} exists now"}))
            st.open_flags = [f for f in st.open_flags if f not in no_key]
        flagged_q = st.open_questions
        for q in sc.needs_review:
            if q not in flagged_q:
                marked = st.answers.get(q, "")
                st.open_flags.append(_add_flag(conn, st.id, "question", q, "unreadable_answer",
                                               f"the reading {marked!r} is not a valid answer to question {q}; "
                                               "enter the marks that count", now))
        js = sc.to_json()
        conn.execute(sa.delete(scores).where(scores.c.page_id == st.id))
        conn.execute(sa.insert(scores).values(
            page_id=st.id, participant=st.participant, version=st.version, status=sc.status.value,
            total=js["total"], total_float=float(sc.total), max_total=js["max_total"],
            max_float=float(sc.max_total), questions=js["questions"], sections=js["sections"],
            needs_review=js["needs_review"], key_digest=digest, computed_at=now))
        _update_page_status(conn, st)
        return sc

    # -- human decisions ------------------------------------------------------------------------------
    def resolve_flag(self, flag_id: int, value: str, who: str) -> SheetScore | None:
        """Store a judge's decision for a flag, audit it (before/after) and re-score the page with the key
        that scored it. Returns the new score (``None`` when the page was never scored)."""
        if not isinstance(who, str) or not who.strip():
            raise BadArguments("say who decides (a judge's name or login)")
        if not isinstance(value, str):
            raise BadArguments(f"a decision is text, got {type(value).__name__}")
        now = _now()
        with self._tx(f"resolve flag {flag_id}") as conn:
            page_id = conn.execute(sa.select(flags.c.page_id).where(flags.c.id == flag_id)).scalar()
            if page_id is None:
                raise BadArguments(f"there is no flag {flag_id}; list the open flags to see their ids")
            # lock order everywhere: page, then submission, then the flag
            sid = conn.execute(sa.select(pages.c.submission_id).where(pages.c.id == page_id)
                               .with_for_update()).scalar_one()
            conn.execute(sa.select(submissions.c.id).where(submissions.c.id == sid).with_for_update()).all()
            flag = conn.execute(sa.select(flags).where(flags.c.id == flag_id).with_for_update()).one()
            old = conn.execute(sa.select(scores.c.status, scores.c.total, scores.c.key_digest)
                               .where(scores.c.page_id == page_id)).first()
            keys = self._keyset(conn, old.key_digest) if old is not None else None
            value = _check_value(flag.target, flag.key, value, keys)
            st = _load_states(conn, [page_id])[page_id]
            before = {"flag": {"state": flag.state, "resolution": flag.resolution, "resolved_by": flag.resolved_by},
                      "value": _effective_value(st, flag.target, flag.key),
                      "score": None if old is None else {"status": old.status, "total": old.total}}
            conn.execute(sa.insert(resolutions).values(page_id=page_id, flag_id=flag_id, target=flag.target,
                                                       key=flag.key, value=value, who=who, at=now))
            conn.execute(sa.update(flags).where(flags.c.id == flag_id).values(
                state="resolved", resolution={"value": value}, resolved_by=who, resolved_at=now))
            st = _load_states(conn, [page_id])[page_id]
            sc = None
            if keys is not None and not st.rejected:
                sc = self._score_page(conn, st, keys, old.key_digest, who, now)
            else:
                _update_page_status(conn, st)
            _update_submission_status(conn, [sid])
            after = {"flag": {"state": "resolved", "resolution": {"value": value}, "resolved_by": who},
                     "value": value,
                     "score": None if sc is None else {"status": sc.status.value, "total": str(sc.total)}}
            target = f"flag:{flag_id} page:{page_id} {flag.target}" + (f":{flag.key}" if flag.key else "")
            conn.execute(sa.insert(audit).values(at=now, who=who, action="resolve_flag", target=target,
                                                 before=before, after=after))
            return sc

    # -- re-scoring -----------------------------------------------------------------------------------
    def rescore(self, keys: KeySet, who: str) -> int:
        """Recompute every page's score from its stored reading and human decisions with ``keys`` (one
        transaction); write one audit row listing the totals that changed. Returns the pages scored."""
        if not isinstance(who, str) or not who.strip():
            raise BadArguments("say who re-scores (a name or login)")
        now = _now()
        with self._tx("re-score") as conn:
            digest = self._ensure_keyset(conn, keys, now)
            page_ids = list(conn.execute(sa.select(pages.c.id).where(pages.c.status != Status.REJECTED.value)
                                         .order_by(pages.c.id).with_for_update()).scalars())
            sub_ids = sorted(set(conn.execute(sa.select(pages.c.submission_id)
                                              .where(pages.c.status != Status.REJECTED.value)).scalars()))
            for chunk in _chunks(sub_ids):
                conn.execute(sa.select(submissions.c.id).where(submissions.c.id.in_(chunk))
                             .order_by(submissions.c.id).with_for_update()).all()
            old = {r.page_id: (r.status, r.total, r.key_digest)
                   for r in conn.execute(sa.select(scores.c.page_id, scores.c.status, scores.c.total,
                                                   scores.c.key_digest))}
            before_changed: dict[str, str | None] = {}
            after_changed: dict[str, str] = {}
            states = _load_states(conn, page_ids)
            for pid in page_ids:
                sc = self._score_page(conn, states[pid], keys, digest, who, now)
                new = str(sc.total) if sc.status is ScoreStatus.SCORED else sc.status.value
                prev = old.get(pid)
                prev_text = None if prev is None else (prev[1] if prev[0] == ScoreStatus.SCORED.value else prev[0])
                if prev_text != new:
                    before_changed[str(pid)], after_changed[str(pid)] = prev_text, new
            _update_submission_status(conn, sub_ids)
            conn.execute(sa.insert(audit).values(
                at=now, who=who, action="rescore", target="all pages",
                before={"keys": sorted({v[2] for v in old.values()}), "totals": before_changed},
                after={"keys": [digest], "totals": after_changed, "pages": len(page_ids)}))
            return len(page_ids)

    # -- reading back ---------------------------------------------------------------------------------
    def list_flags(self, *, state: str | None = "open") -> list[dict[str, Any]]:
        """Flags (open ones by default) with their page and source, oldest first."""
        q = (sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason,
                       flags.c.message, flags.c.confidence, flags.c.origin, flags.c.state,
                       pages.c.page_no, pages.c.participant, submissions.c.source)
             .join(pages, pages.c.id == flags.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
             .order_by(flags.c.id))
        if state is not None:
            q = q.where(flags.c.state == state)
        with self._tx("list flags", read=True) as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        """Pages and submissions by status; ``pages_graded``: pages ok with a score."""
        with self._tx("count results", read=True) as conn:
            subs = Counter(dict(conn.execute(sa.select(submissions.c.status, sa.func.count())
                                             .group_by(submissions.c.status)).all()))
            pgs = Counter(dict(conn.execute(sa.select(pages.c.status, sa.func.count())
                                            .group_by(pages.c.status)).all()))
            fl = Counter(dict(conn.execute(sa.select(flags.c.state, sa.func.count())
                                           .group_by(flags.c.state)).all()))
            graded = conn.execute(sa.select(sa.func.count()).select_from(scores.join(pages))
                                  .where(pages.c.status == Status.OK.value,
                                         scores.c.status == ScoreStatus.SCORED.value)).scalar_one()
            no_key = conn.execute(sa.select(sa.func.count()).select_from(scores)
                                  .where(scores.c.status == ScoreStatus.NO_KEY.value)).scalar_one()
        out = {"submissions": sum(subs.values()), "pages": sum(pgs.values()), "pages_graded": int(graded),
               "pages_no_key": int(no_key), "flags_open": fl["open"], "flags_resolved": fl["resolved"]}
        for s in Status:
            out[f"submissions_{s.value}"] = subs[s.value]
            out[f"pages_{s.value}"] = pgs[s.value]
        return {k: int(v) for k, v in out.items()}

    def results_frame(self) -> Any:
        """One row per participant (pages without a participant: one row each, ``participant`` empty).

        ``status``: ok (final), flagged (open flags), no_key, unscored (no keys yet), duplicate (several answer
        pages for one participant: no total until a judge settles it). ``total`` is a float, ``total_exact``
        the exact fraction; section subtotals follow as ``section: <name>`` columns.
        """
        import pandas as pd

        q = (sa.select(pages.c.id, pages.c.status, pages.c.participant, pages.c.version, submissions.c.source,
                       scores.c.status.label("score_status"), scores.c.total, scores.c.max_total,
                       scores.c.sections)
             .join(submissions, submissions.c.id == pages.c.submission_id)
             .outerjoin(scores, scores.c.page_id == pages.c.id)
             .where(pages.c.status != Status.REJECTED.value).order_by(pages.c.id))
        with self._tx("read results", read=True) as conn:
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
        for key, rs in groups.items():
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


# ---------------------------------------------------------------------------------------------------
# Helpers that run inside a transaction
# ---------------------------------------------------------------------------------------------------
def _sqlite_transactions(engine: Engine) -> None:
    """SQLAlchemy emits BEGIN itself: IMMEDIATE for writes (take the write lock first, so two writers queue
    instead of failing with 'database is locked'), DEFERRED for reads. WAL lets readers run beside a writer."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read = conn.get_execution_options().get("omr_read_only", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (both support ``on_conflict_do_nothing`` and RETURNING)."""
    return (pg_dialect.insert(table) if conn.dialect.name == "postgresql" else sqlite_dialect.insert(table))


def _load_states(conn: Connection, page_ids: Sequence[int]) -> dict[int, _PageState]:
    out: dict[int, _PageState] = {}
    for chunk in _chunks(page_ids):
        for r in conn.execute(sa.select(pages.c.id, pages.c.submission_id, pages.c.reading)
                              .where(pages.c.id.in_(chunk))):
            reading = r.reading
            out[r.id] = _PageState(id=r.id, submission_id=r.submission_id,
                                   rejected=reading.get("status") == Status.REJECTED.value,
                                   answers=dict(reading.get("answers") or {}),
                                   participant=reading.get("participant"), version=reading.get("version"))
        for r in conn.execute(sa.select(resolutions.c.page_id, resolutions.c.target, resolutions.c.key,
                                        resolutions.c.value)
                              .where(resolutions.c.page_id.in_(chunk)).order_by(resolutions.c.id)):
            st = out[r.page_id]
            if r.target == "question" and r.key is not None:
                st.answers[r.key] = r.value
            elif r.target == "participant":
                st.participant = r.value
            elif r.target == "version":
                st.version = r.value
        for r in conn.execute(sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason)
                              .where(flags.c.page_id.in_(chunk), flags.c.state == "open").order_by(flags.c.id)):
            out[r.page_id].open_flags.append(r)
    return out


def _add_flag(conn: Connection, page_id: int, target: str, key: str | None, reason: str, message: str,
              now: datetime) -> Any:
    fid = conn.execute(sa.insert(flags).values(
        page_id=page_id, target=target, key=key, reason=reason, message=message, confidence=0.0, fills=None,
        origin="grading", state="open").returning(flags.c.id)).scalar_one()
    return conn.execute(sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason)
                        .where(flags.c.id == fid)).one()


def _update_page_status(conn: Connection, st: _PageState) -> None:
    status = (Status.REJECTED if st.rejected else Status.FLAGGED if st.open_flags else Status.OK).value
    conn.execute(sa.update(pages).where(pages.c.id == st.id).values(
        status=status, participant=st.participant, version=st.version))


def _update_submission_status(conn: Connection, sub_ids: Sequence[int]) -> None:
    """ok: every page ok; rejected: every page rejected; flagged: anything else (nothing is silent)."""
    for chunk in _chunks(sub_ids):
        by_sub: dict[int, set[str]] = defaultdict(set)
        for sid, status in conn.execute(sa.select(pages.c.submission_id, pages.c.status)
                                        .where(pages.c.submission_id.in_(chunk))):
            by_sub[sid].add(status)
        for sid in chunk:
            sts = by_sub.get(sid, set())
            if sts == {Status.OK.value} or not sts:
                status = Status.OK.value if sts else Status.REJECTED.value
            elif sts == {Status.REJECTED.value}:
                status = Status.REJECTED.value
            else:
                status = Status.FLAGGED.value
            conn.execute(sa.update(submissions).where(submissions.c.id == sid, submissions.c.status != status)
                         .values(status=status))


def _effective_value(st: _PageState, target: str, key: str | None) -> str | None:
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

