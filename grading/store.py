"""The results store: submissions, pages, flags, human decisions, scores, essays, audit — in SQLite or PostgreSQL.

``Store.open(url)`` connects, then creates the schema, upgrades an older store in place or refuses one written by a
newer program (``grading.db.schema``); ``Store.open(url, read_only=True)`` only reads a store that exists and is
current, and never writes to it. A ``Store`` is the database's transactions (``grading.db.engine.Database``) with
the repositories of ``grading.db`` as its methods; every query lives in ``grading.db``:

* ``grading.db.tables``       the tables, ``SCHEMA_VERSION``, the full-text search objects;
* ``grading.db.engine``       URLs, engines, transactions, ``DatabaseError`` (exit 7);
* ``grading.db.schema``       creating and upgrading the schema (Alembic revisions in ``grading/db/migrations``);
* ``grading.db.submissions``  recording runs and submissions (pages, flags, scores, essays) — one transaction each;
* ``grading.db.pages``        a page's effective reading, its status, the store's own flags, its score;
* ``grading.db.decisions``    judges' decisions and re-scoring (never overwritten, always audited);
* ``grading.db.essays``       essays, OCR results, search, near-duplicate pairs;
* ``grading.db.tasks``        essay judging tasks per participant and question;
* ``grading.db.queries``      flags, counts and the results table, read back.

This module keeps the names the rest of the program imports from it.
"""
from __future__ import annotations

from typing import Self

from .db import decisions as _decisions
from .db import essays as _essays
from .db import queries as _queries
from .db import submissions as _submissions
from .db.decisions import AlreadyDecided
from .db.engine import Database, DatabaseError, chunks, default_url, normalise_url
from .db.essays import ANON_ALPHABET, ANON_PREFIX, EssayCounts, EssayPage, EssayToRead
from .db.pages import keyset as _keyset
from .db.schema import open_database
from .db.submissions import RecordResult
from .db.tables import (ESSAY, PAGE_QUESTION, SCHEMA_VERSION, SYSTEM, TABLES, UNMATCHED_ESSAY, TaskState, audit,
                        duplicate_pairs, essay_assignments, essay_tasks, essays, flags, judges, keysets, metadata,
                        pages, participants, resolutions, runs, schema_version, scores, submissions, web_sessions)
from .db.tasks import LATE_ESSAY, refresh_task_units, sync_tasks, task_key, task_question, unit_key

_chunks = chunks

__all__ = [
    "ANON_ALPHABET", "ANON_PREFIX", "AlreadyDecided", "DatabaseError", "ESSAY", "EssayCounts", "EssayPage",
    "EssayToRead", "LATE_ESSAY", "PAGE_QUESTION", "RecordResult", "SCHEMA_VERSION", "SYSTEM", "Store", "TABLES",
    "TaskState", "UNMATCHED_ESSAY", "audit", "default_url", "duplicate_pairs", "essay_assignments", "essay_tasks",
    "essays", "flags", "judges", "keysets", "metadata", "normalise_url", "pages", "participants",
    "refresh_task_units", "resolutions", "runs", "schema_version", "scores", "submissions", "sync_tasks",
    "task_key", "task_question", "unit_key", "web_sessions",
]


class Store(Database):
    """Open with ``Store.open(url)``; close with ``close()`` (or use as a context manager)."""

    @classmethod
    def open(cls, url: str, *, read_only: bool = False) -> Self:
        """Connect; create the schema if needed, upgrade an older one, refuse a newer one. ``read_only``: the
        store must exist at the current version and is opened read-only (commands that only read). Raises
        ``DatabaseError`` (exit 7)."""
        return open_database(cls, url, read_only=read_only)

    # runs and recording
    start_run = _submissions.start_run
    finish_run = _submissions.finish_run
    known_hashes = _submissions.known_hashes
    record_submission = _submissions.record_submission
    keyset = _keyset
    # human decisions and re-scoring
    resolve_flag = _decisions.resolve_flag
    rescore = _decisions.rescore
    # essays
    essays_to_ocr = _essays.essays_to_ocr
    save_ocr = _essays.save_ocr
    fail_ocr = _essays.fail_ocr
    essay_counts = _essays.essay_counts
    essay_texts = _essays.essay_texts
    record_duplicate_pairs = _essays.record_duplicate_pairs
    search_essays = _essays.search_essays
    # reading back
    list_flags = _queries.list_flags
    counts = _queries.counts
    results_frame = _queries.results_frame
