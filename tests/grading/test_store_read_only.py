"""Commands that only read (status, flags, export, search, essays status, annotate) open the store read-only: they
never create a store where --db points at nothing, they work on a store in a folder or file nobody may write, and
they never upgrade an older store (they say which command does)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from grading.cli import main
from grading.essays import assign_essay_pages
from grading.store import SCHEMA_VERSION, DatabaseError, Store
from omr.errors import ExitCode
from omr.ocr import OcrResult

from grading_support import DEMO, ROOT, failure, sha

NEEDS_UPGRADE = ("this store needs an upgrade: run a write command such as `omr grade` or `omr rescore` with write "
                 "access")


@pytest.fixture
def contest(tmp_path: Path) -> Path:
    folder = tmp_path / "contest"
    folder.mkdir()
    for name in ("layout.json", "keys.json"):
        shutil.copy(DEMO / name, folder / name)
    return folder


def read_commands(contest: Path, db: str, out: Path) -> dict[str, list[str]]:
    c_ = ["--contest", str(contest), "--db", db]
    return {"status": ["status", *c_], "flags": ["flags", *c_, "--json"], "search": ["search", "mùa thu", *c_],
            "essays status": ["essays", "status", *c_], "export": ["export", *c_, "--out", str(out / "results.csv")],
            "annotate": ["annotate", *c_, "--out", str(out / "pages")], "judges list": ["judges", "list", *c_]}


def fill(url: str) -> None:
    """One essay-only submission (an open unmatched_essay flag) whose text has been read."""
    with Store.open(url) as store:
        store.record_submission("bài.pdf", sha("essay"), 10, assign_essay_pages([failure("bài.pdf", 1)]), None)
        (e,) = store.essays_to_ocr()
        store.save_ocr(e.id, OcrResult(text="Mùa thu Hà Nội", mean_conf=93.0, words=4, reliable=True, engine="t",
                                       source="ocr", seconds=0.1))


@pytest.mark.parametrize("command", ["status", "flags", "search", "essays status", "export", "annotate",
                                     "judges list"])
def test_a_read_command_never_creates_a_store(tmp_path, contest, capsys, command):
    missing = tmp_path / "nowhere" / "results.sqlite"
    argv = read_commands(contest, f"sqlite:///{missing}", tmp_path)[command]
    assert main(argv) == ExitCode.DATABASE == 7
    assert f"no results store at {missing}; check --db (or grade first)" in capsys.readouterr().err
    assert not missing.parent.exists()


def _without_root_privileges() -> list[str]:
    """A command prefix under which file permissions hold: root (as tests often run in containers) keeps every
    file writable unless its DAC capabilities are dropped."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("tests run as root: setpriv (util-linux) is needed to drop the power to write read-only files",
                    pytrace=False)
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]


RUN_COMMANDS = """
import contextlib, io, json, sys
from grading.cli import main
out = {}
for name, argv in json.loads(sys.argv[1]).items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        out[name] = [main(argv), err.getvalue()[-400:]]
print(json.dumps(out))
"""


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_commands_work_on_a_store_nobody_may_write(tmp_path, contest, what):
    store_dir = tmp_path / "store"
    db = store_dir / "results.sqlite"
    url = f"sqlite:///{db}"
    fill(url)
    assert sorted(p.name for p in store_dir.iterdir()) == ["results.sqlite"]
    before = db.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    db.chmod(0o444)
    if what == "folder":
        store_dir.chmod(0o555)
    try:
        probe = subprocess.run([*_without_root_privileges(), sys.executable, "-c",
                                f"open({str(db)!r}, 'ab')"], capture_output=True, text=True)
        assert probe.returncode != 0 and "Permission denied" in probe.stderr       # really read-only
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([*_without_root_privileges(), sys.executable, "-c", RUN_COMMANDS,
                            json.dumps(read_commands(contest, url, out))],
                           capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    finally:
        store_dir.chmod(0o755)
        db.chmod(0o644)
    assert p.returncode == 0, p.stderr
    results = json.loads(p.stdout)
    assert {name: code for name, (code, _) in results.items()} == {name: ExitCode.OK for name in results}, results
    assert (out / "results.csv").is_file()
    assert db.read_bytes() == before
    if what == "folder":
        assert sorted(p.name for p in store_dir.iterdir()) == ["results.sqlite"]


def _make_v5(url: str) -> None:
    with Store.open(url) as store, store.write_tx("make it v5") as conn:
        conn.execute(sa.text("ALTER TABLE submissions DROP COLUMN source_raw"))
        conn.execute(sa.text("UPDATE schema_version SET version = 5"))


def _state(url: str) -> tuple:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        state = (conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one(),
                 list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()),
                 [c["name"] for c in sa.inspect(conn).get_columns("submissions")])
    engine.dispose()
    return state


def test_a_read_command_does_not_upgrade_an_older_store(store_url, contest, tmp_path, capsys):
    fill(store_url)
    _make_v5(store_url)
    before = _state(store_url)
    assert before[0] == 5 and "source_raw" not in before[2]
    for name, argv in read_commands(contest, store_url, tmp_path).items():
        assert main(argv) == ExitCode.DATABASE, name
        err = capsys.readouterr().err
        assert f"has schema version 5 (this program uses {SCHEMA_VERSION}); {NEEDS_UPGRADE}" in err, name
        assert _state(store_url) == before
    assert main(["rescore", "--contest", str(contest), "--db", store_url, "--who", "quantri"]) == ExitCode.OK
    assert _state(store_url)[:2] == (SCHEMA_VERSION, [f"v{SCHEMA_VERSION}"])
    assert main(read_commands(contest, store_url, tmp_path)["search"]) == ExitCode.OK


def test_a_read_only_store_reads_and_refuses_to_write(store_url):
    fill(store_url)
    with Store.open(store_url) as store, store.write_tx("forget the revision") as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))         # as a store written before Alembic
    with Store.open(store_url, read_only=True) as store:
        assert store.read_only and store.counts()["flags_open"] == 1
        assert [r["text"] for r in store.search_essays("Hà Nội")] == ["Mùa thu Hà Nội"]
        with pytest.raises(DatabaseError, match="cannot start a run in .*(read-?only|readonly)") as exc:
            store.start_run({"command": "test"})
        assert exc.value.exit_code is ExitCode.DATABASE
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:                                  # nothing written, not even a stamp
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 0
        assert not sa.inspect(conn).has_table("alembic_version")
    engine.dispose()


def test_read_only_needs_the_file(tmp_path):
    with pytest.raises(DatabaseError, match=r"no results store at .*nothing\.sqlite; check --db \(or grade first\)"):
        Store.open(str(tmp_path / "nothing.sqlite"), read_only=True)
    assert not (tmp_path / "nothing.sqlite").exists()
