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

Essays (schema v2): a page that is not an answer sheet is an *essay page* (page status ``essay``, never
``rejected``) of the participant of its submission's answer sheet; a submission with no answer sheet at all keeps
its pages as essay pages with no participant and an open ``unmatched_essay`` flag (target ``participant``: a
judge resolving it with a participant id assigns the pages). Each essay box of the layout on a sheet page is an
essay *region*. Every essay page or region is one ``essays`` row (OCR ``pending`` → ``done``/``failed``, with a
random anonymous code such as ``BT-7K3Q9``). An essay's ``participant`` follows the effective participant of the
page that owns it (a judge's decision included).

Judging tasks (schema v5): the judges score ONE ``essay_tasks`` row per participant and question, holding every
essay of it (``essays.task_id``): a multi-page essay is one task. The question is the layout's essay box id for a
region, ``"essay"`` (``PAGE_QUESTION``) for the free essay pages of a submission. Essays without a participant
(a submission with no answer sheet) are grouped per submission in a ``waiting`` task that no judge can take; when
a judge resolves the participant, the task follows (it is re-keyed to the participant, or its pages join the
participant's task). Tasks are kept in step by ``record_submission`` and ``resolve_flag`` (never touching scores
or assignments); assignments and scores (``essay_assignments``) belong to ``grading.scoring``. A task's ``unit``
is its participant's roster unit (``participants``, imported from ``roster.csv`` by ``grading.scoring``), else
the unit of the submission that brought it; ``unit_key`` is its normalised form (``unit_key()``), NULL when
unknown.
Full-text search: an FTS5 table ``essays_fts`` kept in sync by triggers (SQLite); a generated ``tsv`` tsvector
column with a GIN index (PostgreSQL). ``duplicate_pairs`` holds near-duplicate essays, once per pair.

Schema versions: 1 (submissions … audit); 2 adds ``essays``, ``essay_tasks``, ``duplicate_pairs`` and the search
index; 3 adds ``judges`` (accounts of the web app, scrypt password hashes) and ``web_sessions`` (only the hash of
a session token is stored); 4 adds ``submissions.unit``; 5 replaces the v2 ``essay_tasks`` (one row per essay,
never used: essay id, a copy of its code, its region id, state always ``open``) by judging tasks per participant
and question, and adds ``essays.task_id``, ``essay_assignments`` and ``participants``; 6 adds
``submissions.source_raw``. Opening an older database migrates it in place (new tables and nullable columns; the v2
``essay_tasks`` rows — all derivable — are dropped, counted in an audit row, and every essay is grouped into the
new tasks); every other row is kept.

File names (schema v6): ``submissions.source`` is always text, the path with its bytes that are not UTF-8 written
``\\xNN``; ``source_raw`` holds the path's exact bytes when (and only when) it is not valid UTF-8. Whatever opens a
stored file again takes its path from both (``omr.paths.path_from``); the rule is documented in ``omr.paths``.

Resolution values: ``question`` → the marks that count (``"B"``, ``"AC"``, ``""`` for blank); ``participant``
and ``version`` → the whole field (``"012345"``, ``"102"``); ``page`` → a free note (no effect on scores).
"""
from __future__ import annotations

import enum
import math
import secrets
import unicodedata
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
from omr.paths import display_source, path_from, source_bytes
from omr.records import SheetFailure, SheetReading, Status

from .keys import KeySet, split_labels
from .score import ScoreStatus, SheetScore, score_sheet

SCHEMA_VERSION = 6
ESSAY = "essay"             # the page status of an essay page (besides omr.records.Status' ok | flagged | rejected)
UNMATCHED_ESSAY = "unmatched_essay"
ANON_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"   # no 0/O, 1/I: read aloud and typed without mistakes
ANON_PREFIX = "BT-"
SYSTEM = "system"           # ``who`` of machine actions
PAGE_QUESTION = "essay"     # the question of the free essay pages of a submission (boxes: the box id)
_CHUNK = 500                # ids per IN (...) list
_PG_LOCK_KEY = 0x6F6D7231   # advisory lock serialising schema creation ("omr1")


class AlreadyDecided(BadArguments):
    """``resolve_flag(only_open=True)`` on a flag someone has decided meanwhile: nothing was written."""

    def __init__(self, flag_id: int, who: str | None, at: datetime | None):
        super().__init__(f"flag {flag_id} was already decided by {who or '?'}; nothing was written")
        self.flag_id, self.who, self.at = flag_id, who, at


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
    sa.Column("unit", sa.Text),                                  # the unit that collected it (grade --unit), v4
    sa.Column("source_raw", sa.LargeBinary),                     # v6: the path's bytes, when they are not UTF-8
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
    # covering: status counts and per-unit progress read this narrow index, not the rows' reading JSON
    sa.Index("ix_pages_progress", "submission_id", "status", "participant", "page_no"),
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
    sa.Index("ix_flags_state_id", "state", "id"),                  # the open-flag queue, in order, and its count
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
    sa.Index("ix_scores_page_status", "page_id", "status"),          # covering: graded counts join pages
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
    sa.Index("ix_audit_action_who", "action", "who", "at"),          # decisions per judge (admin page)
)
# -- schema v2: essays ------------------------------------------------------------------------------
essays = sa.Table(
    "essays", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),                 # page | region
    sa.Column("region_id", sa.Text),                                 # the layout's essay box id (kind region)
    sa.Column("owner_page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="SET NULL")),  # whose participant
    sa.Column("participant", sa.String(64)),                         # effective (follows the owner page)
    sa.Column("anon_code", sa.String(16), nullable=False, unique=True),   # random, never from the participant
    sa.Column("ocr_state", sa.String(8), nullable=False),            # pending | done | failed
    sa.Column("text", sa.Text),
    sa.Column("text_plain", sa.Text),                                # diacritics stripped (matching, --plain)
    sa.Column("mean_conf", sa.Float),
    sa.Column("reliable", sa.Boolean),
    sa.Column("engine", sa.Text),
    sa.Column("source", sa.String(16)),                              # ocr | text_layer
    sa.Column("warnings", _JSON),
    sa.Column("seconds", sa.Float),
    sa.Column("ocr_at", _TS),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("task_id", sa.Integer),                                # v5: its judging task (essay_tasks.id)
    sa.UniqueConstraint("page_id", "region_id", name="uq_essays_page_region"),
    sa.Index("ux_essays_whole_page", "page_id", unique=True, sqlite_where=sa.text("kind = 'page'"),
             postgresql_where=sa.text("kind = 'page'")),
    sa.Index("ix_essays_state", "ocr_state"),
    sa.Index("ix_essays_participant", "participant"),
    sa.Index("ix_essays_owner", "owner_page_id"),
    sa.Index("ix_essays_task", "task_id"),
)
duplicate_pairs = sa.Table(
    "duplicate_pairs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("essay_a", sa.Integer, sa.ForeignKey("essays.id", ondelete="CASCADE"), nullable=False),
    sa.Column("essay_b", sa.Integer, sa.ForeignKey("essays.id", ondelete="CASCADE"), nullable=False),  # a < b
    sa.Column("similarity", sa.Float, nullable=False),
    sa.Column("containment", sa.Float, nullable=False),
    sa.Column("passages", _JSON, nullable=False),
    sa.Column("found_at", _TS, nullable=False),
    sa.UniqueConstraint("essay_a", "essay_b", name="uq_duplicate_pairs"),
    sa.CheckConstraint("essay_a < essay_b", name="ck_duplicate_pairs_order"),
)
# -- schema v3: the judges' web app --------------------------------------------------------------------
judges = sa.Table(
    "judges", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),    # the login
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("role", sa.String(8), nullable=False),                  # judge | admin
    sa.Column("password_hash", sa.Text, nullable=False),              # "scrypt$n$r$p$salt$hash" (base64)
    sa.Column("must_change", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),         # sha256 of the cookie's token
    sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Index("ix_web_sessions_judge", "judge_id"),
)
# -- schema v5: essay judging ---------------------------------------------------------------------------
class TaskState(enum.Enum):
    WAITING = "waiting"      # no participant yet: no judge can take it
    OPEN = "open"            # needs its two scores
    DISPUTED = "disputed"    # the two totals differ by more than the tolerance: a third score is needed
    FINAL = "final"          # final_score is set
    VOID = "void"            # lost all its pages to another task (participant changed); kept for history


essay_tasks = sa.Table(
    "essay_tasks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("task_key", sa.Text, nullable=False, unique=True),    # "p:<participant>|<question>", "s:<sub>|<q>"
    sa.Column("question", sa.Text, nullable=False),                 # essay box id, or PAGE_QUESTION
    sa.Column("participant", sa.String(64)),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="SET NULL")),  # unmatched
    sa.Column("anon_code", sa.String(16), nullable=False, unique=True),   # what the judges see
    sa.Column("unit", sa.Text),                                     # roster unit, else the submission's unit
    sa.Column("unit_key", sa.Text),                                 # unit_key(unit); NULL: unknown (any judge)
    sa.Column("state", sa.String(16), nullable=False),              # TaskState
    sa.Column("rounds", sa.Integer, nullable=False),                # scores needed: 2, or 3 after a dispute
    sa.Column("final_score", sa.Text),                              # exact fraction "15/2"
    sa.Column("final_rule", sa.String(16)),                         # mean | closest_mean | third
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("decided_at", _TS),
    sa.CheckConstraint("rounds IN (2, 3)", name="ck_essay_tasks_rounds"),
    sa.Index("ix_essay_tasks_state", "state", "id"),
    sa.Index("ix_essay_tasks_participant", "participant"),
)
essay_assignments = sa.Table(
    "essay_assignments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("essay_tasks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),                 # 1, 2; 3 = the dispute's third judge
    sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),              # assigned | scored
    sa.Column("assigned_at", _TS, nullable=False),
    sa.Column("assigned_by", sa.Text, nullable=False),              # "pool" (taken), "system" (third), admin
    sa.Column("points", _JSON),                                     # {criterion id: "7/2"}
    sa.Column("total", sa.Text),                                    # exact fraction
    sa.Column("scored_at", _TS),
    sa.UniqueConstraint("task_id", "round", name="uq_essay_assignments_round"),
    sa.UniqueConstraint("task_id", "judge_id", name="uq_essay_assignments_judge"),
    sa.CheckConstraint("round BETWEEN 1 AND 3", name="ck_essay_assignments_round"),
    sa.Index("ix_essay_assignments_judge", "judge_id", "state"),
)
participants = sa.Table(
    "participants", metadata,                                       # the roster, for essay units
    sa.Column("participant", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("unit", sa.Text),
    sa.Column("updated_at", _TS, nullable=False),
)
TABLES = tuple(metadata.tables)
V2_TABLES = ("essays", "essay_tasks", "duplicate_pairs")
V3_TABLES = ("judges", "web_sessions")
V5_TABLES = ("essay_tasks", "essay_assignments", "participants")
# columns added to tables of earlier versions (nullable): v4 submissions.unit, v5 essays.task_id,
# v6 submissions.source_raw
ADDED_COLUMNS = ((submissions, "unit"), (essays, "task_id"), (submissions, "source_raw"))

_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS essays_fts USING fts5(text, text_plain, content='essays', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS essays_fts_ai AFTER INSERT ON essays BEGIN "
    "INSERT INTO essays_fts(rowid, text, text_plain) VALUES (new.id, new.text, new.text_plain); END",
    "CREATE TRIGGER IF NOT EXISTS essays_fts_ad AFTER DELETE ON essays BEGIN "
    "INSERT INTO essays_fts(essays_fts, rowid, text, text_plain) VALUES ('delete', old.id, old.text, old.text_plain);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS essays_fts_au AFTER UPDATE OF text, text_plain ON essays BEGIN "
    "INSERT INTO essays_fts(essays_fts, rowid, text, text_plain) VALUES ('delete', old.id, old.text, old.text_plain);"
    " INSERT INTO essays_fts(rowid, text, text_plain) VALUES (new.id, new.text, new.text_plain); END",
)
# weights: A = the text as read, B = without diacritics (an exact search asks for :A, a --plain one for :B)
_PG_SEARCH = (
    "ALTER TABLE essays ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(text, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(text_plain, '')), 'B')) STORED",
    "CREATE INDEX IF NOT EXISTS ix_essays_tsv ON essays USING GIN (tsv)",
)


# ---------------------------------------------------------------------------------------------------
# Records returned by the store
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecordResult:
    submission_id: int
    created: bool            # False: this content was already recorded (nothing was changed)
    source: str              # the path stored for it (the first one seen), openable (``omr.paths.path_from``)


@dataclass(frozen=True, slots=True)
class EssayPage:
    """A page of a submission that is not an answer sheet: recorded as an essay page (status ``essay``).

    ``owner_page``: the page number (in the same submission) whose participant this page takes — the answer
    sheet it belongs to, or for a submission without one the first essay page (``None`` on that first page:
    it gets the ``unmatched_essay`` flag and a judge assigns the participant)."""

    reading: SheetFailure            # what the reader said about the page (kept as its machine reading)
    owner_page: int | None

    @property
    def source(self) -> str:
        return self.reading.source

    @property
    def page(self) -> int | None:
        return self.reading.page

    @property
    def status(self) -> str:
        return ESSAY


@dataclass(frozen=True, slots=True)
class EssayCounts:
    pages: int               # essay pages
    no_participant: int      # essay pages without a participant (yet)
    regions: int             # essay regions of answer sheets
    pending: int
    done: int
    failed: int
    unreliable: int          # done, but the OCR's confidence is low (the text is kept for search)
    duplicate_pairs: int


@dataclass(frozen=True, slots=True)
class EssayToRead:
    """An essay waiting for OCR: where its page is, and what part of it (``region_id`` for an essay box)."""

    id: int
    source: str              # the path to open (``omr.paths.path_from``: exact bytes when not UTF-8)
    content_hash: str
    page_no: int
    kind: str                # page | region
    region_id: str | None


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
    essay: bool = False                                      # an essay page: never scored
    participant_decided: bool = False                        # a judge set the participant

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
        self._keysets_committed: set[str] = set()   # digests known to be in the keysets table

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
    def write_tx(self, action: str) -> Iterator[Connection]:
        """A read-write transaction for modules that own their tables (``grading.judges``: accounts, sessions)."""
        with self._tx(action) as conn:
            yield conn

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
            if found is not None and found < 1:
                raise DatabaseError(f"{self.url} has schema version {found} and there is no migration to "
                                    f"{SCHEMA_VERSION}; re-run into a new --db")
            # versions 1 → 2 → 3 add tables, 3 → 4 columns: create_all makes the missing tables, ADDED_COLUMNS the
            # missing columns (all nullable), and every row stays in place. 4 → 5: the v2 essay_tasks (one row per
            # essay, nothing in it that the essays do not say) gives way to the judging tasks.
            old_tasks = None
            if found is not None and found < 5 and insp.has_table("essay_tasks") and "essay_id" in {
                    c["name"] for c in insp.get_columns("essay_tasks")}:
                old_tasks = dict(conn.execute(sa.text("SELECT state, count(*) FROM essay_tasks GROUP BY state")).all())
                conn.exec_driver_sql("DROP TABLE essay_tasks")
            metadata.create_all(conn)
            insp = sa.inspect(conn)
            for table, column in ADDED_COLUMNS:
                if column not in {c["name"] for c in insp.get_columns(table.name)}:
                    col = table.c[column]
                    conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column} "
                                         f"{col.type.compile(dialect=conn.dialect)}")
            for table in metadata.sorted_tables:       # indexes added to tables an older version created
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
            for ddl in (_PG_SEARCH if conn.dialect.name == "postgresql" else _SQLITE_SEARCH):
                conn.exec_driver_sql(ddl)
            now = _now()
            if found is not None and found < 5:
                n = sync_tasks(conn, now)
                conn.execute(sa.insert(audit).values(
                    at=now, who=SYSTEM, action="migrate_v5", target="essay_tasks",
                    before={"schema": found, "essay_tasks_v2": {str(k): int(v) for k, v in (old_tasks or {}).items()}},
                    after={"schema": SCHEMA_VERSION, "essays_grouped": n}))
            if found is None:
                conn.execute(sa.insert(schema_version).values(id=1, version=SCHEMA_VERSION, updated_at=now))
            elif found < SCHEMA_VERSION:
                conn.execute(sa.update(schema_version).values(version=SCHEMA_VERSION, updated_at=now))

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
                          results: Sequence[SheetReading | SheetFailure | EssayPage], keys: KeySet | None, *,
                          run_id: int | None = None, essay_regions: Sequence[str] = (),
                          unit: str | None = None) -> RecordResult:
        """Write a submission with its pages, flags, (when ``keys`` is given) scores and essays (pending OCR,
        grouped into judging tasks) in ONE transaction. ``essay_regions``: the layout's essay box ids,
        one essay per box on every answer-sheet page read; ``unit``: the unit that collected the file. Recording a
        ``content_hash`` that is already there changes nothing. ``source`` is the path as ``os`` gives it: stored
        as text by the rule of ``omr.paths`` (escaped, and its exact bytes in ``source_raw`` when not UTF-8)."""
        shown = display_source(source)
        if len(content_hash) != 64 or any(c not in "0123456789abcdef" for c in content_hash):
            raise ValueError(f"content_hash must be a lowercase sha256 hex digest, got {content_hash!r}")
        page_nos = [r.page or 0 for r in results]
        if len(set(page_nos)) != len(page_nos):
            raise ValueError(f"{shown}: page numbers repeat in the results: {page_nos}")
        for r in results:
            if not isinstance(r, (SheetReading, SheetFailure, EssayPage)):
                raise TypeError(f"results hold SheetReading/SheetFailure/EssayPage records, got {type(r).__name__}")
            if isinstance(r, EssayPage) and r.owner_page is not None and r.owner_page not in page_nos:
                raise ValueError(f"{shown}: essay page {r.page} belongs to page {r.owner_page}, not in the results")
        now = _now()
        with self._tx(f"record {shown}") as conn:
            ins = _insert(conn, submissions).values(
                source=shown, source_raw=source_bytes(source), content_hash=content_hash, size=size,
                n_pages=len(results), status=Status.OK.value, first_seen=now, last_run=run_id, unit=unit,
            ).on_conflict_do_nothing(index_elements=["content_hash"]).returning(submissions.c.id)
            sid = conn.execute(ins).scalar()
            if sid is None:
                row = conn.execute(sa.select(submissions.c.id, submissions.c.source, submissions.c.source_raw)
                                   .where(submissions.c.content_hash == content_hash)).one()
                return RecordResult(int(row.id), False, path_from(row.source, row.source_raw))
            page_ids = []
            for r in results:
                page_ids.append(self._insert_page(conn, sid, r, now))
            _insert_essays(conn, results, page_ids, tuple(essay_regions), now)
            digest = self._ensure_keyset(conn, keys, now) if keys is not None else None
            states = _load_states(conn, page_ids)
            for pid in page_ids:
                st = states[pid]
                if keys is not None and digest is not None and not st.rejected and not st.essay:
                    self._score_page(conn, st, keys, digest, SYSTEM, now)
                else:
                    _update_page_status(conn, st)
            _update_submission_status(conn, [sid])
            sync_tasks(conn, now, submission_ids=[sid])
            return RecordResult(int(sid), True, source)

    @staticmethod
    def _insert_page(conn: Connection, sid: int, r: SheetReading | SheetFailure | EssayPage, now: datetime) -> int:
        if isinstance(r, EssayPage):
            reading = {**r.reading.to_json(detail=True), "status": ESSAY, "essay": {"owner_page": r.owner_page}}
            values = dict(status=ESSAY, reason_code=None, reason=None, layout=None, participant=None, version=None,
                          reading=reading)
        elif isinstance(r, SheetFailure):
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
        if digest in self._keysets_committed:       # written by an earlier, committed transaction: skip
            return digest
        conn.execute(_insert(conn, keysets).values(digest=digest, contest=keys.contest, layout=keys.layout,
                                                   data=keys.to_json(), created_at=now)
                     .on_conflict_do_nothing(index_elements=["digest"]))
        self._keys_cache[digest] = keys
        # remembered only once this transaction has committed (a rollback would take the row away again)
        sa.event.listen(conn, "commit", lambda _conn: self._keysets_committed.add(digest), once=True)
        return digest

    def keyset(self, conn: Connection, digest: str) -> KeySet:
        """The key set stored under ``digest``, parsed once per Store (content-addressed: never stale)."""
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
    def resolve_flag(self, flag_id: int, value: str, who: str, *, only_open: bool = False) -> SheetScore | None:
        """Store a judge's decision for a flag, audit it (before/after) and re-score the page with the key
        that scored it. Returns the new score (``None`` when the page was never scored). A decided flag may be
        decided again (a correction, audited with the earlier decision as "before") unless ``only_open``: then
        a flag decided meanwhile raises ``AlreadyDecided`` — checked under the flag's row lock, so of judges
        deciding the same flag at once, in any number of processes, exactly one writes."""
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
            if only_open and flag.state != "open":
                raise AlreadyDecided(flag_id, flag.resolved_by, flag.resolved_at)
            old = conn.execute(sa.select(scores.c.status, scores.c.total, scores.c.key_digest)
                               .where(scores.c.page_id == page_id)).first()
            keys = self.keyset(conn, old.key_digest) if old is not None else None
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
            if flag.target == "participant":
                sync_tasks(conn, now, submission_ids=[sid], who=who)
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
            scored = pages.c.status.notin_([Status.REJECTED.value, ESSAY])
            page_ids = list(conn.execute(sa.select(pages.c.id).where(scored)
                                         .order_by(pages.c.id).with_for_update()).scalars())
            sub_ids = sorted(set(conn.execute(sa.select(pages.c.submission_id).where(scored)).scalars()))
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

    # -- essays ---------------------------------------------------------------------------------------
    def essays_to_ocr(self, *, retry_failed: bool = False) -> list[EssayToRead]:
        """Essays whose OCR is pending (and failed ones with ``retry_failed``), by source and page."""
        states = ["pending", "failed"] if retry_failed else ["pending"]
        q = (sa.select(essays.c.id, essays.c.kind, essays.c.region_id, pages.c.page_no, submissions.c.source,
                       submissions.c.source_raw, submissions.c.content_hash)
             .join(pages, pages.c.id == essays.c.page_id).join(submissions, submissions.c.id == pages.c.submission_id)
             .where(essays.c.ocr_state.in_(states)).order_by(submissions.c.id, pages.c.page_no, essays.c.id))
        with self._tx("list the essays to read", read=True) as conn:
            return [EssayToRead(r.id, path_from(r.source, r.source_raw), r.content_hash, r.page_no, r.kind,
                                r.region_id)
                    for r in conn.execute(q)]

    def save_ocr(self, essay_id: int, result: Any) -> bool:
        """Store an OCR result (``omr.ocr.OcrResult``): text, its diacritic-free twin, confidence, engine.
        Only an essay not yet done is written (a re-run never writes twice); returns whether it was."""
        from .duplicates import strip_diacritics

        text = result.text or ""
        values = dict(ocr_state="done", text=text, text_plain=strip_diacritics(text),
                      mean_conf=float(result.mean_conf), reliable=bool(result.reliable), engine=result.engine,
                      source=result.source, warnings=list(result.warnings), seconds=float(result.seconds),
                      ocr_at=_now())
        with self._tx(f"store the text of essay {essay_id}") as conn:
            n = conn.execute(sa.update(essays).where(essays.c.id == essay_id, essays.c.ocr_state != "done")
                             .values(**values)).rowcount
        return n == 1

    def fail_ocr(self, essay_id: int, reason: str) -> bool:
        """Mark a pending essay's OCR failed, with the reason (kept in ``warnings``)."""
        with self._tx(f"mark essay {essay_id} failed") as conn:
            n = conn.execute(sa.update(essays).where(essays.c.id == essay_id, essays.c.ocr_state != "done")
                             .values(ocr_state="failed", warnings=[reason], ocr_at=_now())).rowcount
        return n == 1

    def essay_counts(self) -> EssayCounts:
        with self._tx("count essays", read=True) as conn:
            ep = conn.execute(sa.select(sa.func.count(), sa.func.count(pages.c.participant))
                              .where(pages.c.status == ESSAY)).one()
            by = Counter(dict(conn.execute(sa.select(essays.c.ocr_state, sa.func.count())
                                           .group_by(essays.c.ocr_state)).all()))
            regions = conn.execute(sa.select(sa.func.count()).select_from(essays)
                                   .where(essays.c.kind == "region")).scalar_one()
            unreliable = conn.execute(sa.select(sa.func.count()).select_from(essays).where(
                essays.c.ocr_state == "done", essays.c.reliable.is_(False))).scalar_one()
            dups = conn.execute(sa.select(sa.func.count()).select_from(duplicate_pairs)).scalar_one()
        return EssayCounts(pages=int(ep[0]), no_participant=int(ep[0] - ep[1]), regions=int(regions),
                           pending=int(by["pending"]), done=int(by["done"]), failed=int(by["failed"]),
                           unreliable=int(unreliable), duplicate_pairs=int(dups))

    def essay_texts(self) -> list[tuple[int, str, str]]:
        """(essay id, anon code, text) of every essay read, in id order."""
        with self._tx("read the essays' texts", read=True) as conn:
            return [(int(r.id), r.anon_code, r.text or "") for r in conn.execute(
                sa.select(essays.c.id, essays.c.anon_code, essays.c.text)
                .where(essays.c.ocr_state == "done").order_by(essays.c.id))]

    def record_duplicate_pairs(self, pairs: Sequence[tuple[int, int, float, float, list[dict[str, Any]]]]) -> int:
        """Store near-duplicate pairs ``(essay a, essay b, similarity, containment, passages)`` with a < b; a pair
        already stored keeps its row (and ``found_at``) with the new figures. Returns how many are new."""
        now = _now()
        new = 0
        with self._tx("store duplicate essays") as conn:
            for a, b, sim, cont, passages in pairs:
                if not a < b:
                    raise ValueError(f"duplicate pair ({a}, {b}): the first essay id must be the smaller")
                ins = _insert(conn, duplicate_pairs).values(essay_a=a, essay_b=b, similarity=float(sim),
                                                            containment=float(cont), passages=passages, found_at=now)
                ins = ins.on_conflict_do_nothing(index_elements=["essay_a", "essay_b"]).returning(duplicate_pairs.c.id)
                if conn.execute(ins).scalar() is not None:
                    new += 1
                else:
                    conn.execute(sa.update(duplicate_pairs).where(duplicate_pairs.c.essay_a == a,
                                                                  duplicate_pairs.c.essay_b == b)
                                 .values(similarity=float(sim), containment=float(cont), passages=passages))
        return new

    def search_essays(self, query: str, *, plain: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        """Essays whose text holds every word of ``query`` (full-text index; ``plain``: compared without
        diacritics). Best first; each row: id, anon_code, participant, text, ocr_state, reliable."""
        import re
        import unicodedata

        words = re.findall(r"\w+", unicodedata.normalize("NFC", query))
        if plain:
            from .duplicates import strip_diacritics

            words = [w for w in re.findall(r"\w+", strip_diacritics(" ".join(words)))]
        if not words:
            raise BadArguments(f"{query!r} has no word to search for")
        cols = (essays.c.id, essays.c.anon_code, essays.c.participant, essays.c.text, essays.c.ocr_state,
                essays.c.reliable)
        with self._tx("search the essays", read=True) as conn:
            if conn.dialect.name == "postgresql":
                tsq = " & ".join(f"'{w.lower()}':{'B' if plain else 'A'}" for w in words)
                q = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), tsq)
                tsv = sa.literal_column("essays.tsv")
                rows = conn.execute(sa.select(*cols).where(tsv.op("@@")(q))
                                    .order_by(sa.func.ts_rank(tsv, q).desc(), essays.c.id).limit(limit))
            else:
                match = "{%s} : (%s)" % ("text_plain" if plain else "text",
                                         " AND ".join(f'"{w}"' for w in words))
                fts = sa.table("essays_fts", sa.column("rowid"), sa.column("rank"))
                rows = conn.execute(sa.select(*cols).join(fts, fts.c.rowid == essays.c.id)
                                    .where(sa.text("essays_fts MATCH :m").bindparams(m=match))
                                    .order_by(fts.c.rank, essays.c.id).limit(limit))
            return [dict(r._mapping) for r in rows]

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
             .where(pages.c.status.notin_([Status.REJECTED.value, ESSAY])).order_by(pages.c.id))
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
                                   essay=reading.get("status") == ESSAY,
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
                st.participant_decided = True
            elif r.target == "version":
                st.version = r.value
        for r in conn.execute(sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason)
                              .where(flags.c.page_id.in_(chunk), flags.c.state == "open").order_by(flags.c.id)):
            out[r.page_id].open_flags.append(r)
    return out


def _new_anon_codes(conn: Connection, n: int, avoid: set[str]) -> list[str]:
    """``n`` random codes like ``BT-7K3Q9`` not yet used and containing none of ``avoid`` (participant ids)."""
    out: list[str] = []
    while len(out) < n:
        cand = {ANON_PREFIX + "".join(secrets.choice(ANON_ALPHABET) for _ in range(5)) for _ in range(n - len(out))}
        cand -= set(out)
        cand = {c for c in cand if not any(p and p.upper() in c for p in avoid)}
        taken = set(conn.execute(sa.select(essays.c.anon_code).where(essays.c.anon_code.in_(cand))).scalars())
        taken |= set(conn.execute(sa.select(essay_tasks.c.anon_code).where(essay_tasks.c.anon_code.in_(cand)))
                     .scalars())
        fresh = list(cand - taken)
        secrets.SystemRandom().shuffle(fresh)
        out.extend(fresh)
    return out


def _insert_essays(conn: Connection, results: Sequence[SheetReading | SheetFailure | EssayPage],
                   page_ids: Sequence[int], regions: tuple[str, ...], now: datetime) -> None:
    """One essay (pending OCR) per essay page and per essay box of every sheet page (their judging tasks are
    made by ``sync_tasks``); the ``unmatched_essay`` flag on the first page of a submission with no answer sheet."""
    pid_by_no = {(r.page or 0): pid for r, pid in zip(results, page_ids)}
    n_essay_pages = sum(1 for r in results if isinstance(r, EssayPage))
    rows: list[dict[str, Any]] = []
    for r, pid in zip(results, page_ids):
        if isinstance(r, EssayPage):
            rows.append(dict(page_id=pid, kind="page", region_id=None,
                             owner_page_id=None if r.owner_page is None else pid_by_no[r.owner_page]))
            if r.owner_page is None:
                _add_flag(conn, pid, "participant", None, UNMATCHED_ESSAY,
                          f"no answer sheet in this submission: its {n_essay_pages} page(s) are essays without a "
                          "participant; assign one (resolve this flag with the participant id)", now)
        elif isinstance(r, SheetReading):
            rows.extend(dict(page_id=pid, kind="region", region_id=region, owner_page_id=pid) for region in regions)
    if not rows:
        return
    avoid = {r.participant for r in results if isinstance(r, SheetReading) and r.participant}
    for row, code in zip(rows, _new_anon_codes(conn, len(rows), avoid)):
        conn.execute(sa.insert(essays).values(**row, participant=None, anon_code=code, ocr_state="pending",
                                              created_at=now))


def _add_flag(conn: Connection, page_id: int, target: str, key: str | None, reason: str, message: str,
              now: datetime) -> Any:
    fid = conn.execute(sa.insert(flags).values(
        page_id=page_id, target=target, key=key, reason=reason, message=message, confidence=0.0, fills=None,
        origin="grading", state="open").returning(flags.c.id)).scalar_one()
    return conn.execute(sa.select(flags.c.id, flags.c.page_id, flags.c.target, flags.c.key, flags.c.reason)
                        .where(flags.c.id == fid)).one()


def _update_page_status(conn: Connection, st: _PageState) -> None:
    """Write the page's effective status and participant, and carry the participant to its essays and to the
    essay pages it owns (except those a judge assigned to someone himself)."""
    if st.essay:
        status = ESSAY
        if not st.participant_decided:
            owner = conn.execute(sa.select(pages.c.participant)
                                 .select_from(essays.join(pages, pages.c.id == essays.c.owner_page_id))
                                 .where(essays.c.page_id == st.id, essays.c.kind == "page")).first()
            if owner is not None:
                st.participant = owner.participant
    else:
        status = (Status.REJECTED if st.rejected else Status.FLAGGED if st.open_flags else Status.OK).value
    conn.execute(sa.update(pages).where(pages.c.id == st.id).values(
        status=status, participant=st.participant, version=st.version))
    conn.execute(sa.update(essays).where(essays.c.page_id == st.id, essays.c.participant.is_distinct_from(
        st.participant)).values(participant=st.participant))
    owned = list(conn.execute(sa.select(essays.c.page_id).where(
        essays.c.owner_page_id == st.id, essays.c.kind == "page", essays.c.page_id != st.id)).scalars())
    if owned:
        decided = set(conn.execute(sa.select(resolutions.c.page_id).where(
            resolutions.c.page_id.in_(owned), resolutions.c.target == "participant")).scalars())
        follow = [i for i in owned if i not in decided]
        if follow:
            conn.execute(sa.update(pages).where(pages.c.id.in_(follow)).values(participant=st.participant))
            conn.execute(sa.update(essays).where(essays.c.page_id.in_(follow)).values(participant=st.participant))


def _update_submission_status(conn: Connection, sub_ids: Sequence[int]) -> None:
    """ok: every page ok; rejected: every page rejected; flagged: anything else (nothing is silent).
    Essay pages are neutral unless they carry an open flag (then the submission is flagged)."""
    for chunk in _chunks(sub_ids):
        by_sub: dict[int, set[str]] = defaultdict(set)
        has_pages: set[int] = set()
        n_open = (sa.select(sa.func.count()).where(flags.c.page_id == pages.c.id, flags.c.state == "open")
                  .scalar_subquery())
        for sid, status, n in conn.execute(sa.select(pages.c.submission_id, pages.c.status, n_open)
                                           .where(pages.c.submission_id.in_(chunk))):
            has_pages.add(sid)
            if status == ESSAY:          # essay pages count only through their open flags (unmatched_essay …)
                if n:
                    by_sub[sid].add(Status.FLAGGED.value)
                continue
            by_sub[sid].add(status)
        for sid in chunk:
            sts = by_sub.get(sid, set())
            if sts == {Status.OK.value} or not sts:
                status = Status.OK.value if sts or sid in has_pages else Status.REJECTED.value
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



# ---------------------------------------------------------------------------------------------------
# Judging tasks (schema v5): one per participant and question
# ---------------------------------------------------------------------------------------------------
def unit_key(unit: str | None) -> str | None:
    """A unit's name compared across files and accounts: Unicode NFKC, case-folded, runs of spaces as one
    (``"Quận  Ba Đình"`` = ``"quận ba đình"``); ``None`` for an empty or missing unit."""
    if unit is None:
        return None
    text = " ".join(unicodedata.normalize("NFKC", unit).casefold().split())
    return text or None


def task_question(kind: str, region_id: str | None) -> str:
    """An essay box answers the box's question; a free essay page answers ``PAGE_QUESTION``."""
    return region_id if kind == "region" and region_id else PAGE_QUESTION


def task_key(participant: str | None, submission_id: int, question: str) -> str:
    return f"p:{participant}|{question}" if participant else f"s:{submission_id}|{question}"


def _task_state_for(participant: str | None, state: str) -> str:
    if participant is None:
        return TaskState.WAITING.value if state in (TaskState.WAITING.value, TaskState.OPEN.value) else state
    return TaskState.OPEN.value if state == TaskState.WAITING.value else state


LATE_ESSAY = "late_essay_pages"


def _hold_late_essays(conn: Connection, now: datetime, rows: list[Any], *, busy_task: int, who: str) -> set[int]:
    """Essays whose participant's task already has judges: kept in a ``waiting`` task of their own submission
    (never handed out) and flagged once per page for the organisers. Returns the tasks touched."""
    touched: set[int] = set()
    for r in rows:
        q = task_question(r.kind, r.region_id)
        k = f"s:{r.submission_id}|{q}"
        row = conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.task_key == k)).first()
        if row is None:
            code = r.anon_code
            if conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.anon_code == code)).first() is not None:
                code = _new_anon_codes(conn, 1, set())[0]
            tid = int(conn.execute(sa.insert(essay_tasks).values(
                task_key=k, question=q, participant=None, submission_id=r.submission_id, anon_code=code,
                state=TaskState.WAITING.value, rounds=2, created_at=now).returning(essay_tasks.c.id)).scalar_one())
        else:
            tid = int(row.id)
        if r.task_id != tid:
            conn.execute(sa.update(essays).where(essays.c.id == r.id).values(task_id=tid))
            touched.update(t for t in (r.task_id, tid) if t is not None)
        page_id = conn.execute(sa.select(essays.c.page_id).where(essays.c.id == r.id)).scalar_one()
        if conn.execute(sa.select(flags.c.id).where(flags.c.page_id == page_id, flags.c.reason == LATE_ESSAY)
                        .limit(1)).first() is None:
            _add_flag(conn, page_id, "page", None, LATE_ESSAY,
                      f"Bài tự luận của thí sinh {r.participant} đã có giám khảo chấm (nhiệm vụ {busy_task}); trang "
                      "này đến sau nên không được ghép vào bài đang chấm. Ban tổ chức quyết định (bài nộp lại, "
                      "bài nộp trùng…); ghi quyết định vào cờ này.", now)
            conn.execute(sa.insert(audit).values(
                at=now, who=who, action="essay_held", target=f"essay:{r.id} page:{page_id}",
                before={"task": r.task_id}, after={"task": tid, "busy_task": busy_task}))
    return touched


def sync_tasks(conn: Connection, now: datetime, *, submission_ids: Sequence[int] | None = None,
               who: str = SYSTEM) -> int:
    """Put every essay of the submissions (all essays when ``None``) in the task of its participant and
    question; returns how many essays changed task. Never touches assignments or scores, except that a task
    left without pages becomes ``void`` and its unscored assignments are released (audited).

    A task whose pages all want one other key that no task has yet is re-keyed in place (a ``waiting`` task of
    an unmatched submission becomes its participant's, assignments and all); otherwise the pages that changed
    move to the task of their new key (created when missing)."""
    q = (sa.select(essays.c.id, essays.c.kind, essays.c.region_id, essays.c.participant, essays.c.anon_code,
                   essays.c.task_id, pages.c.submission_id)
         .join(pages, pages.c.id == essays.c.page_id).order_by(essays.c.id))
    rows: list[Any] = []
    if submission_ids is None:
        rows = list(conn.execute(q))
    else:
        for chunk in _chunks(sorted(set(submission_ids))):
            rows.extend(conn.execute(q.where(pages.c.submission_id.in_(chunk))))
    if not rows:
        return 0
    want = {r.id: task_key(r.participant, r.submission_id, task_question(r.kind, r.region_id)) for r in rows}
    info = {r.id: r for r in rows}
    current = sorted({r.task_id for r in rows if r.task_id is not None})
    tasks_by_id: dict[int, Any] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(current):
        # locked (FOR NO KEY UPDATE on PostgreSQL) so that a score deciding the task meanwhile is not overwritten
        for t in conn.execute(sa.select(essay_tasks).where(essay_tasks.c.id.in_(chunk))
                              .order_by(essay_tasks.c.id).with_for_update(key_share=True)):
            tasks_by_id[t.id] = t
        for eid, tid in conn.execute(sa.select(essays.c.id, essays.c.task_id).where(essays.c.task_id.in_(chunk))):
            members[tid].append(eid)
    moves: dict[int, str] = {}
    touched: set[int] = set()
    for tid, t in tasks_by_id.items():
        desired = {want.get(e, t.task_key) for e in members[tid]}
        if desired == {t.task_key}:
            continue
        if len(desired) == 1:
            (k,) = desired
            exists = conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.task_key == k)).first()
            if exists is None:
                first = info.get(min(members[tid]))
                participant = first.participant if first is not None else t.participant
                values = dict(task_key=k, participant=participant,
                              submission_id=None if participant else t.submission_id,
                              state=_task_state_for(participant, t.state))
                conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(**values))
                conn.execute(sa.insert(audit).values(
                    at=now, who=who, action="essay_task_rekey", target=f"task:{tid}",
                    before={"task_key": t.task_key, "state": t.state},
                    after={"task_key": k, "state": values["state"]}))
                touched.add(tid)
                continue
        for e in members[tid]:
            if want.get(e, t.task_key) != t.task_key:
                moves[e] = want[e]
    for r in rows:
        if r.task_id is None:
            moves[r.id] = want[r.id]
    by_key: dict[str, list[int]] = defaultdict(list)
    for eid, k in moves.items():
        by_key[k].append(eid)
    for k, eids in sorted(by_key.items(), key=lambda kv: min(kv[1])):
        eids.sort()
        row = conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.task_key == k)).first()
        if row is not None and conn.execute(sa.select(essay_assignments.c.id)
                                            .where(essay_assignments.c.task_id == row.id).limit(1)).first():
            # the participant's essay is already being judged (or judged): pages added now were not seen by its
            # judges, so they are not slipped in — they wait apart, with a flag for the organisers to decide
            held = _hold_late_essays(conn, now, [info[e] for e in eids], busy_task=int(row.id), who=who)
            touched.update(held)
            continue
        if row is None:
            first = info[eids[0]]
            code = first.anon_code
            if conn.execute(sa.select(essay_tasks.c.id).where(essay_tasks.c.anon_code == code)).first() is not None:
                code = _new_anon_codes(conn, 1, {first.participant} if first.participant else set())[0]
            tid = int(conn.execute(sa.insert(essay_tasks).values(
                task_key=k, question=task_question(first.kind, first.region_id), participant=first.participant,
                submission_id=None if first.participant else first.submission_id, anon_code=code,
                state=TaskState.OPEN.value if first.participant else TaskState.WAITING.value, rounds=2,
                created_at=now).returning(essay_tasks.c.id)).scalar_one())
        else:
            tid = int(row.id)
        moved_from = sorted({info[e].task_id for e in eids if info[e].task_id is not None})
        for chunk in _chunks(eids):
            conn.execute(sa.update(essays).where(essays.c.id.in_(chunk)).values(task_id=tid))
        if moved_from:
            conn.execute(sa.insert(audit).values(
                at=now, who=who, action="essay_task_move", target=f"task:{tid}",
                before={"essays": eids, "tasks": moved_from}, after={"task": tid}))
        touched.add(tid)
        touched.update(moved_from)
    for tid in sorted(touched):
        left = conn.execute(sa.select(sa.func.count()).select_from(essays).where(essays.c.task_id == tid)).scalar_one()
        if left:
            continue
        released = [dict(id=a.id, round=a.round, judge_id=a.judge_id) for a in conn.execute(
            sa.select(essay_assignments).where(essay_assignments.c.task_id == tid,
                                               essay_assignments.c.state == "assigned"))]
        conn.execute(sa.delete(essay_assignments).where(essay_assignments.c.task_id == tid,
                                                        essay_assignments.c.state == "assigned"))
        old = conn.execute(sa.select(essay_tasks.c.state).where(essay_tasks.c.id == tid)).scalar_one()
        conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == tid).values(state=TaskState.VOID.value))
        conn.execute(sa.insert(audit).values(at=now, who=who, action="essay_task_void", target=f"task:{tid}",
                                             before={"state": old, "assignments": released},
                                             after={"state": TaskState.VOID.value}))
    refresh_task_units(conn, sorted(touched))
    return len(moves)


def refresh_task_units(conn: Connection, task_ids: Sequence[int] | None = None) -> int:
    """Set each task's ``unit``: its participant's roster unit, else the unit of the first submission that
    brought its pages (``None``: unknown). Returns how many tasks changed."""
    q = (sa.select(essay_tasks.c.id, essay_tasks.c.participant, essay_tasks.c.unit,
                   sa.func.min(pages.c.submission_id).label("sub"))
         .select_from(essay_tasks.join(essays, essays.c.task_id == essay_tasks.c.id)
                      .join(pages, pages.c.id == essays.c.page_id))
         .group_by(essay_tasks.c.id, essay_tasks.c.participant, essay_tasks.c.unit))
    rows: list[Any] = []
    if task_ids is None:
        rows = list(conn.execute(q))
    else:
        for chunk in _chunks(task_ids):
            rows.extend(conn.execute(q.where(essay_tasks.c.id.in_(chunk))))
    if not rows:
        return 0
    people = {r.participant for r in rows if r.participant}
    roster: dict[str, str | None] = {}
    for chunk in _chunks(sorted(people)):          # _chunks works on any sequence
        roster.update(conn.execute(sa.select(participants.c.participant, participants.c.unit)
                                   .where(participants.c.participant.in_(chunk))).all())
    subs = sorted({r.sub for r in rows})
    sub_unit: dict[int, str | None] = {}
    for chunk in _chunks(subs):
        sub_unit.update(conn.execute(sa.select(submissions.c.id, submissions.c.unit)
                                     .where(submissions.c.id.in_(chunk))).all())
    changed = 0
    for r in rows:
        unit = roster.get(r.participant) if r.participant else None
        if not unit_key(unit):
            unit = sub_unit.get(r.sub)
        unit = unit.strip() if unit and unit_key(unit) else None
        if unit != r.unit:
            conn.execute(sa.update(essay_tasks).where(essay_tasks.c.id == r.id)
                         .values(unit=unit, unit_key=unit_key(unit)))
            changed += 1
    return changed
