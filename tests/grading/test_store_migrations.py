"""The store's schema versions: every older store (v1 … v6, as those versions made them: tests/grading/data/
schema_v<N>_<backend>.sql) is upgraded in place by the Alembic revisions with every row kept, on SQLite and
PostgreSQL; replaying the revisions on an empty database makes exactly the current tables; stores opened at once
upgrade once; an unknown revision is refused; the revisions ship with the package."""
from __future__ import annotations

import fnmatch
import json
import threading
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from grading.db.schema import HEAD, REVISIONS, alembic_config
from grading.essays import assign_essay_pages
from grading.judges import AccountState, authenticate, hash_password, list_judges
from grading.store import SCHEMA_VERSION, DatabaseError, Store, metadata, normalise_url
from omr.errors import ExitCode
from omr.ocr import OcrResult

from grading_support import ROOT, failure, sha

DATA = Path(__file__).parent / "data"
AT = datetime(2026, 1, 1, 8, 30, tzinfo=timezone.utc)
OLD_PASSWORD = "mật khẩu của gk1"
OLD_HASH = hash_password(OLD_PASSWORD)          # a judge of an older store logs in with it after the upgrade
V2_TASKS = sa.table("essay_tasks", sa.column("essay_id"), sa.column("anon_code"), sa.column("question"),
                    sa.column("state"), sa.column("created_at", sa.DateTime(timezone=True)))
KEYS = {"keysets": "digest", "participants": "participant", "web_sessions": "token_hash",
        "message_raw": "hash", "entrants": "id", "mail_cursors": "mailbox"}
RENAMED = {("essay_tasks", "rounds"): "judges_needed", ("essay_assignments", "round"): "judge_slot"}   # v8


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(normalise_url(url))


def build_old_store(url: str, version: int) -> tuple[sa.Engine, dict[str, int]]:
    """A store as version ``version`` made it (its frozen DDL), filled with a row or two in every table."""
    engine = _engine(url)
    backend = engine.dialect.name
    ddl = (DATA / f"schema_v{version}_{backend}.sql").read_text(encoding="utf-8")
    with engine.begin() as conn:
        for stmt in ddl.split(";\n"):
            body = "\n".join(ln for ln in stmt.splitlines() if not ln.startswith("--")).strip()
            if body:
                conn.exec_driver_sql(body)
        ids = _fill(conn, version)
    return engine, ids


def _fill(conn: sa.Connection, version: int) -> dict[str, int]:
    t = metadata.tables

    def ins(table_name: str, /, **values) -> int:
        table = t[table_name]
        if any((table_name, k) in RENAMED for k in values):           # a column under its older name
            table = sa.table(table_name, *(sa.column(k) for k in values), sa.column("id"))
            return conn.execute(sa.insert(table).values(**values).returning(table.c.id)).scalar_one()
        return conn.execute(sa.insert(table).values(**values).returning(*table.primary_key.columns)).scalar_one()

    ids: dict[str, int] = {}
    conn.execute(sa.insert(t["schema_version"]).values(id=1, version=version, updated_at=AT))
    run = ins("runs", started_at=AT, finished_at=AT, args={"inputs": ["a.pdf"]}, counts={"pages": 3})
    ins("keysets", digest="d" * 64, contest="demo", layout="small-6", data={"versions": {}}, created_at=AT)
    unit = {"unit": "Quận Ba Đình"} if version >= 4 else {}
    s1 = ins("submissions", source="a.pdf", content_hash=sha("a"), size=10, n_pages=2, status="flagged",
             first_seen=AT, last_run=run, **unit)
    ids["s2"] = s2 = ins("submissions", source="bài.pdf", content_hash=sha("e"), size=5, n_pages=1, status="flagged",
                         first_seen=AT, last_run=run)
    p1 = ins("pages", submission_id=s1, page_no=1, status="ok", layout="small-6", participant="000001",
             version="101", reading={"status": "flagged", "participant": "000001", "answers": {"1": "A"}}, read_at=AT)
    ins("pages", submission_id=s1, page_no=2, status="rejected", reason_code="not_a_sheet", reason="no fiducials",
        reading={"status": "rejected"}, read_at=AT)
    p3 = ins("pages", submission_id=s2, page_no=1, status="essay", reading={"status": "essay"}, read_at=AT)
    f1 = ins("flags", page_id=p1, target="question", key="2", reason="ambiguous_mark", message="câu 2",
             confidence=0.4, fills=[0.1, 0.5], origin="reader", state="resolved", resolution={"value": "B"},
             resolved_by="gk1", resolved_at=AT)
    ins("flags", page_id=p3, target="participant", reason="unmatched_essay", message="no answer sheet",
        confidence=0.0, origin="grading", state="open")
    ins("resolutions", page_id=p1, flag_id=f1, target="question", key="2", value="B", who="gk1", at=AT)
    ins("scores", page_id=p1, participant="000001", version="101", status="scored", total="7/3", total_float=7 / 3,
        max_total="6", max_float=6.0, questions={}, sections=[], needs_review=[], key_digest="d" * 64,
        computed_at=AT)
    ins("audit", at=AT, who="gk1", action="resolve_flag", target=f"flag:{f1}", before={"value": "AB"},
        after={"value": "B"})
    if version >= 2:
        ids["e1"] = ins("essays", page_id=p1, kind="region", region_id="tl1", owner_page_id=p1, participant="000001",
                        anon_code="BT-AAAAA", ocr_state="done", text="Quê hương em có dòng sông",
                        text_plain="Que huong em co dong song", mean_conf=90.0, reliable=True, engine="t",
                        source="ocr", warnings=[], seconds=0.1, ocr_at=AT, created_at=AT)
        ids["e2"] = ins("essays", page_id=p3, kind="page", participant=None, anon_code="BT-BBBBB",
                        ocr_state="pending", created_at=AT)
        ins("duplicate_pairs", essay_a=ids["e1"], essay_b=ids["e2"], similarity=0.9, containment=0.8,
            passages=[{"text": "x"}], found_at=AT)
    if 2 <= version < 5:
        for e, code, q in ((ids["e1"], "BT-AAAAA", "tl1"), (ids["e2"], "BT-BBBBB", None)):
            conn.execute(V2_TASKS.insert().values(essay_id=e, anon_code=code, question=q, state="open", created_at=AT))
    if version >= 3:
        j = ins("judges", name="gk1", unit="THPT", role="judge", password_hash=OLD_HASH, must_change=False,
                created_at=AT)
        ins("web_sessions", token_hash="h" * 64, judge_id=j, csrf_token="c" * 64, created_at=AT, expires_at=AT)
    if version >= 5:
        task = ins("essay_tasks", task_key="p:000001|tl1", question="tl1", participant="000001", anon_code="BT-AAAAA",
                   unit="Quận Ba Đình", unit_key="quận ba đình", state="open", rounds=2, created_at=AT)
        waiting = ins("essay_tasks", task_key=f"s:{s2}|essay", question="essay", submission_id=s2,
                      anon_code="BT-BBBBB", state="waiting", rounds=2, created_at=AT)
        for e, task_id in ((ids["e1"], task), (ids["e2"], waiting)):
            conn.execute(sa.update(t["essays"]).where(t["essays"].c.id == e).values(task_id=task_id))
        ins("essay_assignments", task_id=task, round=1, judge_id=j, state="assigned", assigned_at=AT,
            assigned_by="pool")
        ins("participants", participant="000001", name="Lê Thu Hà", unit="Quận Ba Đình", updated_at=AT)
    return ids


def _tables(engine: sa.Engine) -> list[str]:
    return sorted(n for n in sa.inspect(engine).get_table_names() if not n.startswith(("essays_fts", "alembic")))


def _columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def _dump(engine: sa.Engine, table: str, columns: list[str] | None = None) -> list[tuple]:
    what = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT {what} FROM {table} ORDER BY {KEYS.get(table, 'id')}"))]


def _version(engine: sa.Engine) -> tuple[int, list[str]]:
    with engine.connect() as conn:
        return (conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one(),
                list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()))


def ocr(text: str) -> OcrResult:
    return OcrResult(text=text, mean_conf=93.0, words=len(text.split()), reliable=True, engine="t", source="ocr",
                     seconds=0.1)


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_every_older_store_is_upgraded_in_place_keeping_every_row(store_url, version):
    engine, ids = build_old_store(store_url, version)
    old = {t: _columns(engine, t) for t in _tables(engine)}
    before = {t: _dump(engine, t, cols) for t, cols in old.items()}
    engine.dispose()

    with Store.open(store_url) as store:
        assert _version(store.engine) == (SCHEMA_VERSION, [HEAD]) and HEAD == "v12"
        # the current shape: every table, column and index of this program's tables
        assert _tables(store.engine) == sorted(metadata.tables)
        insp = sa.inspect(store.engine)
        for table in metadata.sorted_tables:
            assert set(_columns(store.engine, table.name)) - {"tsv"} == set(table.c.keys()), table.name
            assert {ix.name for ix in table.indexes} <= {ix["name"] for ix in insp.get_indexes(table.name)}
        # every row of every older table is kept, column for column (new columns appended, empty)
        dropped = {"schema_version"} | ({"essay_tasks"} if version < 5 else set())
        for t, cols in old.items():
            if t in dropped:
                continue
            now = [RENAMED.get((t, c), c) for c in cols]
            after = _dump(store.engine, t, now)
            assert (after[:len(before[t])] if t == "audit" else after) == before[t], t
            assert _columns(store.engine, t)[:len(cols)] == now, t
        assert _dump(store.engine, "submissions", ["source_raw"]) == [(None,), (None,)]
        _check_tasks(store, version, ids)
        _check_judges(store, version)
        # the upgraded store works: search (its index made by the old version), a new essay, its text
        if version >= 2:
            assert [r["id"] for r in store.search_essays("dòng sông")] == [ids["e1"]]
        store.record_submission("mới.pdf", sha("new"), 1, assign_essay_pages([failure("mới.pdf", 1)]), None)
        (e,) = [e for e in store.essays_to_ocr() if e.source == "mới.pdf"]
        assert store.save_ocr(e.id, ocr("Mùa thu Hà Nội"))
        assert [r["id"] for r in store.search_essays("mua thu", plain=True)] == [e.id]
        snapshot = {t: _dump(store.engine, t) for t in metadata.tables}
    with Store.open(store_url) as store:                  # opening again: nothing to upgrade, nothing changes
        assert {t: _dump(store.engine, t) for t in metadata.tables} == snapshot


def _check_tasks(store: Store, version: int, ids: dict[str, int]) -> None:
    """Below v5 the v2 tasks give way to one task per participant and question, with one migrate_v5 audit row."""
    migrated = _dump(store.engine, "audit", ["who", "target", "before", "after"])[1:]
    if version >= 5:
        assert migrated == []
        return
    (who, target, before, after), = [row for row in migrated if row[1] == "essay_tasks"]
    before, after = (v if isinstance(v, dict) else json.loads(v) for v in (before, after))
    assert who == "system"
    assert before == {"schema": version, "essay_tasks_v2": {"open": 2} if version >= 2 else {}}
    assert after == {"schema": SCHEMA_VERSION, "essays_grouped": 2 if version >= 2 else 0}
    tasks = _dump(store.engine, "essay_tasks", ["task_key", "state", "anon_code", "unit"])
    if version == 1:
        assert tasks == []
        return
    unit = "Quận Ba Đình" if version == 4 else None        # the submission's unit (v4), no roster yet
    assert tasks == [("p:000001|tl1", "open", "BT-AAAAA", unit), (f"s:{ids['s2']}|essay", "waiting", "BT-BBBBB", None)]
    assert _dump(store.engine, "essays", ["task_id"]) == [(1,), (2,)]


def _check_judges(store: Store, version: int) -> None:
    """The judges of an older store keep their logins and passwords; they have no full name, are not disabled
    and have not logged in since (v7)."""
    judges = list_judges(store)
    if version < 3:
        assert judges == []
        return
    (j,) = judges
    assert (j.name, j.unit, j.full_name, j.disabled_at, j.last_login_at, j.state) == (
        "gk1", "THPT", None, None, None, AccountState.ACTIVE)
    assert authenticate(store, "gk1", OLD_PASSWORD) == j and authenticate(store, "gk1", "sai") is None


def _search_objects(obj, name, type_, reflected, compare_to) -> bool:
    """Full-text search lives beside the tables (FTS5 tables, a generated tsvector column and its index)."""
    return not (str(name).startswith("essays_fts") or name in ("tsv", "ix_essays_tsv"))


def test_replaying_every_revision_on_an_empty_database_makes_the_current_tables(store_url):
    engine = _engine(store_url)
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        script = ScriptDirectory.from_config(cfg)
        assert [s.revision for s in script.walk_revisions("base", "heads")] == [
            f"v{n}" for n in range(SCHEMA_VERSION, 0, -1)]
        assert set(REVISIONS) == {f"v{n}" for n in range(1, SCHEMA_VERSION + 1)} and script.get_current_head() == HEAD
        command.upgrade(cfg, "head")
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _search_objects})
        assert compare_metadata(context, metadata) == []
    engine.dispose()
    with Store.open(store_url) as store:
        assert _version(store.engine) == (SCHEMA_VERSION, [HEAD])
        store.record_submission("x.pdf", sha("x"), 1, assign_essay_pages([failure("x.pdf", 1)]), None)
        (e,) = store.essays_to_ocr()
        store.save_ocr(e.id, ocr("Hồ Gươm xanh"))
        assert [r["id"] for r in store.search_essays("Hồ Gươm")] == [e.id]


def test_a_new_store_is_made_at_the_head_revision(store_url):
    with Store.open(store_url) as store:
        assert _version(store.engine) == (SCHEMA_VERSION, [HEAD])


def test_a_store_at_an_unknown_revision_is_refused(store_url):
    with Store.open(store_url) as store, store.write_tx("t") as conn:
        conn.execute(sa.text(f"UPDATE alembic_version SET version_num = 'v{SCHEMA_VERSION + 1}'"))
    with pytest.raises(DatabaseError, match=rf"newer omr-grader \(schema version {SCHEMA_VERSION}, revision "
                                            rf"v{SCHEMA_VERSION + 1}; .*upgrade omr-grader") as exc:
        Store.open(store_url)
    assert exc.value.exit_code is ExitCode.DATABASE


def test_stores_opened_at_once_are_upgraded_once(store_url):
    """Four processes' worth of stores open the same v4 store at the same moment: one upgrades, the others find it
    done (PostgreSQL: the advisory lock; SQLite: BEGIN IMMEDIATE)."""
    engine, _ = build_old_store(store_url, 4)
    engine.dispose()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            barrier.wait()
            Store.open(store_url).close()
        except BaseException as exc:          # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it, daemon=True) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads) and errors == []
    with Store.open(store_url) as store:
        assert _version(store.engine) == (SCHEMA_VERSION, [HEAD])
        assert [a for a, in _dump(store.engine, "audit", ["action"])] == ["resolve_flag", "migrate_v5"]
        assert len(_dump(store.engine, "essay_tasks")) == 2


def test_the_migrations_ship_with_the_package():
    """An installed (not editable) package has env.py, the revisions and the template: the folders are packages
    (their .py files are installed as modules) and everything else is listed in setup.cfg's package_data."""
    from setuptools.config.setupcfg import read_configuration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        patterns = read_configuration(ROOT / "setup.cfg")["options"]["package_data"]["grading"]
    folder = ROOT / "grading" / "db" / "migrations"
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert {p.name for p in files} >= {"env.py", "script.py.mako", "v1_results.py", "v7_judge_accounts.py"}
    for p in files:
        rel = p.relative_to(ROOT / "grading").as_posix()
        if p.suffix == ".py":
            assert (p.parent / "__init__.py").is_file(), rel
        else:
            assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel


def test_different_stores_upgraded_at_once_in_one_process(tmp_path):
    """Alembic's op/context are process-wide: two threads upgrading two stores take turns, each on its own store."""
    urls = [f"sqlite:///{tmp_path / f'{i}' / 'results.sqlite'}" for i in range(4)]
    for url in urls:
        build_old_store(url, 2)[0].dispose()
    barrier = threading.Barrier(len(urls))
    errors: list[BaseException] = []

    def open_it(url: str) -> None:
        try:
            barrier.wait()
            Store.open(url).close()
        except BaseException as exc:          # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it, args=(url,), daemon=True) for url in urls]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads) and errors == []
    for url in urls:
        with Store.open(url) as store:
            assert _version(store.engine) == (SCHEMA_VERSION, [HEAD])
            assert [a for a, in _dump(store.engine, "audit", ["action"])] == ["resolve_flag", "migrate_v5"]
