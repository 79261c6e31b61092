"""The results store's tables: every ``Table`` on one ``metadata``, the schema version they make, and the
full-text search objects made beside them.

This is the *current* shape (``SCHEMA_VERSION``). A new store is made from it (``create_all``); an older store
reaches it through the Alembic revisions in ``grading/db/migrations/versions`` — one per schema version, each
with its own frozen copy of what it creates, so that a table added here never appears in an old revision.

Schema versions: 1 (submissions … audit); 2 adds ``essays``, ``essay_tasks``, ``duplicate_pairs`` and the search
index; 3 adds ``judges`` (accounts of the web app, scrypt password hashes) and ``web_sessions`` (only the hash of
a session token is stored); 4 adds ``submissions.unit``; 5 replaces the v2 ``essay_tasks`` (one row per essay,
never used) by judging tasks per participant and question, and adds ``essays.task_id``, ``essay_assignments`` and
``participants``; 6 adds ``submissions.source_raw``; 7 adds ``judges.full_name``, ``judges.disabled_at`` and
``judges.last_login_at``; 8 renames ``essay_tasks.rounds`` to ``judges_needed`` and ``essay_assignments.round`` to
``judge_slot`` (a contest round is something else), adds ``essay_tasks.contest_round`` / ``essays_of`` (a round's
own judging of a task's essays), the participants' ``date_of_birth``, ``school``, ``class_name``, ``category``, and
``contest_rounds``, ``round_entries``, ``committee_flags``, ``awards``; 9 adds mail
ingestion: ``messages`` (one row per message, its state and receipt), ``message_raw`` (each message's exact bytes,
content-addressed), ``entries``, ``entry_files`` and ``entrants``; 10 adds ``mail_cursors`` and
``messages.receipt_sending_at``; 11 adds the double-entry transcription of handwritten entries:
``transcriptions`` (one per handwritten submission) and ``transcription_entries`` (each judge's typed values); 12
adds ``transcription_notes`` (a judge's "not a handwritten entry": he saw the pages, so he never scores its essay).
"""
from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect

SCHEMA_VERSION = 12         # the number in the ``schema_version`` table; Alembic revision ``v<N>`` makes version N
ESSAY = "essay"             # the page status of an essay page (besides omr.records.Status' ok | flagged | rejected)
UNMATCHED_ESSAY = "unmatched_essay"
DISCARDED = "discarded"     # a page an organiser took out (grading.db.discards); also a submission all of whose
                            # pages are discarded
SYSTEM = "system"           # ``who`` of machine actions
PAGE_QUESTION = "essay"     # the question of the free essay pages of a submission (boxes: the box id)

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
    sa.Column("status", sa.String(16), nullable=False),          # ok | flagged | rejected | discarded
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
    sa.Column("status", sa.String(16), nullable=False),         # effective: ok | flagged | rejected | essay
                                                                # | discarded
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
    sa.Column("origin", sa.String(16), nullable=False),         # reader | grading | judge (a judge's report)
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
    sa.Column("target", sa.String(16), nullable=False),         # a flag's target, or discard | restore (page)
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
TYPED_ENGINE = "document"     # essays.engine of a typed entry's essay part: its text was typed, not read by OCR
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
    sa.Column("full_name", sa.Text),                                  # v7: shown instead of the login when set
    sa.Column("disabled_at", _TS),                                    # v7: set while the account is disabled
    sa.Column("last_login_at", _TS),                                  # v7: the latest successful login
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
    VOID = "void"            # lost all its pages (participant changed, pages discarded); kept for history
    HELD = "held"            # a judge reported a problem with it: no judge can take it until an admin decides


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
    sa.Column("judges_needed", sa.Integer, nullable=False),         # scores needed: 2, or 3 after a dispute
    sa.Column("final_score", sa.Text),                              # exact fraction "15/2"
    sa.Column("final_rule", sa.String(16)),                         # mean | closest_mean | third
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("decided_at", _TS),
    sa.Column("contest_round", sa.Text),                            # v8: the round it judges (NULL: no rounds)
    sa.Column("essays_of", sa.Integer),                             # v8: a round's task judges this task's essays
    sa.CheckConstraint("judges_needed IN (2, 3)", name="ck_essay_tasks_rounds"),
    sa.Index("ix_essay_tasks_state", "state", "id"),
    sa.Index("ix_essay_tasks_participant", "participant"),
    sa.Index("ix_essay_tasks_essays_of", "essays_of"),
)
essay_assignments = sa.Table(
    "essay_assignments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("essay_tasks.id", ondelete="CASCADE"), nullable=False),
    sa.Column("judge_slot", sa.Integer, nullable=False),            # 1, 2; 3 = the dispute's third judge
    sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),              # assigned | scored
    sa.Column("assigned_at", _TS, nullable=False),
    sa.Column("assigned_by", sa.Text, nullable=False),              # "pool" (taken), "system" (third), admin
    sa.Column("points", _JSON),                                     # {criterion id: "7/2"}
    sa.Column("total", sa.Text),                                    # exact fraction
    sa.Column("scored_at", _TS),
    sa.UniqueConstraint("task_id", "judge_slot", name="uq_essay_assignments_round"),
    sa.UniqueConstraint("task_id", "judge_id", name="uq_essay_assignments_judge"),
    sa.CheckConstraint("judge_slot BETWEEN 1 AND 3", name="ck_essay_assignments_round"),
    sa.Index("ix_essay_assignments_judge", "judge_id", "state"),
)
participants = sa.Table(
    "participants", metadata,                                       # the roster, for essay units
    sa.Column("participant", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("unit", sa.Text),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("date_of_birth", sa.Date),                            # v8: for the Education report (aged 12+)
    sa.Column("school", sa.Text),                                   # v8
    sa.Column("class_name", sa.Text),                               # v8: "7A", "Lớp 9"
    sa.Column("category", sa.Text),                                 # v8: student | worker | … (free text)
)
# -- schema v8: contest rounds, the committee's decisions, awards ------------------------------------------
contest_rounds = sa.Table(
    "contest_rounds", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),                     # rules.json's round name
    sa.Column("unit", sa.Text, nullable=False),                     # the unit's code; "" for a city round
    sa.Column("state", sa.String(8), nullable=False),               # open | closed
    sa.Column("opened_at", _TS, nullable=False),
    sa.Column("opened_by", sa.Text, nullable=False),
    sa.Column("closed_at", _TS),
    sa.Column("closed_by", sa.Text),
    sa.Column("entries_declared", sa.Integer),                      # a received bundle: entries the unit received
    sa.UniqueConstraint("name", "unit", name="uq_contest_rounds_name_unit"),
)
round_entries = sa.Table(
    "round_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("contest_rounds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("participant", sa.String(64), nullable=False),
    sa.Column("unit", sa.Text, nullable=False),                     # the entry's unit (code; "" unknown)
    sa.Column("mc_points", sa.Text, nullable=False),                # exact fraction, carried over
    sa.Column("essay_score", sa.Text),                              # this round's, exact; set at closing
    sa.Column("score", sa.Text),                                    # weighted total, exact; set at closing
    sa.Column("score_float", sa.Float),
    sa.Column("rank", sa.Integer),                                  # competition rank in the round's scope
    sa.Column("advanced", sa.Boolean),                              # NULL: open, or tied at the cut (a flag)
    sa.UniqueConstraint("round_id", "participant", name="uq_round_entries"),
    sa.Index("ix_round_entries_participant", "participant"),
)
committee_flags = sa.Table(
    "committee_flags", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),               # round_cut | prize_band
    sa.Column("subject", sa.Text, nullable=False),                  # "round:<id>", "individual:<band>", …
    sa.Column("members", _JSON, nullable=False),                    # the tied participants (or units), sorted
    sa.Column("places", sa.Integer, nullable=False),                # how many of them the upper side has room for
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),               # open | decided
    sa.Column("decision", _JSON),                                   # {"chosen": [...]}
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", _TS),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("kind", "subject", name="uq_committee_flags_subject"),
)
awards = sa.Table(
    "awards", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),               # individual | collective
    sa.Column("band", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),              # 1-based order within the kind
    sa.Column("rank", sa.Integer, nullable=False),                  # competition rank on the final score
    sa.Column("winner", sa.Text, nullable=False),                   # participant id, or unit code
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("total", sa.Text, nullable=False),                    # exact
    sa.Column("awarded_at", _TS, nullable=False),
    sa.UniqueConstraint("kind", "winner", name="uq_awards_winner"),
)
# -- schema v9: entries by e-mail --------------------------------------------------------------------------
messages = sa.Table(
    "messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),   # sha256 of the raw bytes (message_raw)
    sa.Column("source", sa.Text, nullable=False),                    # the mailbox, as people name it
    sa.Column("source_key", sa.Text, nullable=False),                # the source's own id of the message
    sa.Column("received_at", _TS),                                   # the receiving server's time (NULL: unknown)
    sa.Column("state", sa.String(16), nullable=False),               # taken | no_entry | rejected | ignored
    sa.Column("reason_code", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("problems", _JSON),                                    # [{code, name, detail}] of parts not taken
    sa.Column("unit", sa.Text),                                      # the collecting unit (its mailbox got it)
    sa.Column("subject", sa.Text),
    sa.Column("sender", sa.Text),
    sa.Column("message_id", sa.Text),
    sa.Column("body", sa.Text),                                      # the plain text body (answers pasted in)
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("receipt_due", sa.Boolean, nullable=False),
    sa.Column("receipt_to", sa.Text),
    sa.Column("receipt_subject", sa.Text),
    sa.Column("receipt_body", sa.Text),
    sa.Column("receipt_sent_at", _TS),
    sa.Column("ingested_at", _TS, nullable=False),
    sa.Column("receipt_sending_at", _TS),     # v10: set before the receipt goes out; with no sent_at: uncertain
    sa.Index("ix_messages_unit_state", "unit", "state"),
)
message_raw = sa.Table(
    "message_raw", metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
entrants = sa.Table(
    "entrants", metadata,
    sa.Column("id", sa.String(16), primary_key=True),                # stable: derived from person_key
    sa.Column("person_key", sa.Text, nullable=False, unique=True),   # folded name|dob, else phone, else e-mail
    sa.Column("name", sa.Text),
    sa.Column("date_of_birth", sa.String(10)),                       # ISO
    sa.Column("phone", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("unit", sa.Text),                                      # the entrant's own unit
    sa.Column("category", sa.String(16)),                            # student | other
    sa.Column("school", sa.Text),
    sa.Column("class_name", sa.Text),
    sa.Column("created_at", _TS, nullable=False),
)
entries = sa.Table(
    "entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),   # what people quote: "BD-7K2M9QXA"
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),                    # 0: the message's own files; 1…: forwards
    sa.Column("entrant_id", sa.String(16), sa.ForeignKey("entrants.id")),
    sa.Column("person_key", sa.Text),
    sa.Column("unit", sa.Text),                                      # the collecting unit
    sa.Column("entrant_unit", sa.Text),                              # the entrant's own unit
    sa.Column("state", sa.String(16), nullable=False),               # pending | graded | late | superseded
    sa.Column("flags", _JSON, nullable=False),                       # [{code, detail}]: identity_pending …
    sa.Column("identity", _JSON),                                    # the identity read from the entry
    sa.Column("received_at", _TS),                                   # the time that counts for the deadline
    sa.Column("graded_at", _TS),                                     # its files went through grading
    sa.Column("accepted_by", sa.Text),
    sa.Column("accepted_at", _TS),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("message_id", "seq", name="uq_entries_message_seq"),
    sa.Index("ix_entries_person", "person_key"),
    sa.Index("ix_entries_unit_state", "unit", "state"),
)
entry_files = sa.Table(
    "entry_files", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),                      # its path in the message ("a.zip/b/c.pdf")
    sa.Column("kind", sa.String(8), nullable=False),                 # pdf | jpeg | png | tiff | docx | odt
    sa.Column("content_hash", sa.String(64), nullable=False),        # = submissions.content_hash once graded
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("entry_id", "seq", name="uq_entry_files_seq"),
    sa.Index("ix_entry_files_hash", "content_hash"),
)
# -- schema v10: reading IMAP mailboxes incrementally -------------------------------------------------------
mail_cursors = sa.Table(
    "mail_cursors", metadata,
    sa.Column("mailbox", sa.Text, primary_key=True),                 # imaps://user@host:port/MAILBOX
    sa.Column("uidvalidity", sa.BigInteger, nullable=False),
    sa.Column("last_uid", sa.BigInteger, nullable=False),            # every UID up to it is stored
    sa.Column("updated_at", _TS, nullable=False),
)
# -- schema v11: handwritten entries typed in by two judges (double entry), a third deciding differences --------
class TranscriptionState(enum.Enum):
    OPEN = "open"            # needs its two independent entries
    DISPUTED = "disputed"    # the two entries differ: a third judge decides the differing fields
    TAKEN = "taken"          # the final values are the submission's answers page and participant
    REFERRED = "referred"    # a judge said it is no handwritten entry: the organisers decide (``db.referrals``)


transcriptions = sa.Table(
    "transcriptions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False,
              unique=True),
    sa.Column("state", sa.String(16), nullable=False),              # TranscriptionState
    sa.Column("unit", sa.Text),                                     # the collecting unit (judges of it excluded)
    sa.Column("unit_key", sa.Text),                                 # unit_key(unit); NULL: unknown (any judge)
    sa.Column("differences", _JSON),                                # the fields the two entries disagree on
    sa.Column("final", _JSON),                                      # {identity, version, answers} once taken
    sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="SET NULL")),   # the answers page made
    sa.Column("participant", sa.String(64)),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("decided_at", _TS),
    sa.Index("ix_transcriptions_state", "state", "id"),
)
transcription_entries = sa.Table(
    "transcription_entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("transcription_id", sa.Integer, sa.ForeignKey("transcriptions.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("slot", sa.Integer, nullable=False),                  # 1, 2: the two entries; 3: the decider
    sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),              # assigned | submitted
    sa.Column("entered", _JSON),                                    # what the judge typed (slot 3: the decisions)
    sa.Column("assigned_at", _TS, nullable=False),
    sa.Column("submitted_at", _TS),
    sa.UniqueConstraint("transcription_id", "slot", name="uq_transcription_entries_slot"),
    sa.UniqueConstraint("transcription_id", "judge_id", name="uq_transcription_entries_judge"),
    sa.CheckConstraint("slot BETWEEN 1 AND 3", name="ck_transcription_entries_slot"),
    sa.Index("ix_transcription_entries_judge", "judge_id", "state"),
)
transcription_notes = sa.Table(
    "transcription_notes", metadata,                                # a judge's "not a handwritten entry"
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("transcription_id", sa.Integer, sa.ForeignKey("transcriptions.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),   # he saw the pages
    sa.Column("kind", sa.String(16), nullable=False),               # grading.db.referrals.DeclineKind
    sa.Column("text", sa.Text),                                     # his own words
    sa.Column("flags", _JSON),                                      # the flags it made for the organisers
    sa.Column("at", _TS, nullable=False),
    sa.Index("ix_transcription_notes_judge", "judge_id", "transcription_id"),
)
TABLES = tuple(metadata.tables)

# full-text search, made beside the tables (create_all does not know FTS5 tables or generated columns)
SQLITE_SEARCH = (
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
PG_SEARCH = (
    "ALTER TABLE essays ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(text, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(text_plain, '')), 'B')) STORED",
    "CREATE INDEX IF NOT EXISTS ix_essays_tsv ON essays USING GIN (tsv)",
)


# ---------------------------------------------------------------------------------------------------
# Records returned by the store
