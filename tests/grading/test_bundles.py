"""Signed bundles from a district's own installation to the city (grading.bundles): forwarded, verified,
imported once — equivalent to the district closing its round on the city server; and every tampering refused:
one byte changed in any member, a member added or removed, a cut-short file, a wrong key, an unknown unit."""
from __future__ import annotations

import io
import json
import shutil
import stat
import zipfile

import pytest
import sqlalchemy as sa

from grading.bundles import BundleRefused, verify
from grading.essays import assign_essay_pages, assignment, import_roster, rubric_from_dict, take_next
from grading.keys import keys_from_dict
from grading.rounds import close_round, open_round
from grading.rules import rules_from_dict
from grading.store import Store, judges
from grading.units import load_units
from omr.errors import ExitCode
from omr.layout import layout_from_dict
from omr.sheet import Participant

from grading_support import failure, reading, sha, small_layout_dict
from test_rounds_prizes import PEOPLE, RUBRIC, RULES, UNITS, _judge_round, _run


def _folder(path):
    path.mkdir()
    (path / "rules.json").write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")
    (path / "units.csv").write_text(UNITS, encoding="utf-8")
    return path


def _district(store: Store, scans) -> list[int]:
    """Q1's entries (with their scanned files) judged through both district rounds; the judges' ids."""
    layout = layout_from_dict(small_layout_dict())
    keys = keys_from_dict({"versions": {"101": {"answers": "AAAAAA"}}}, layout)
    scans.mkdir()
    q1 = {p: v for p, v in PEOPLE.items() if p[4] == "1"}
    for pid, (right, _) in q1.items():
        src = scans / f"bai-{pid}.pdf"
        src.write_bytes(b"%PDF-1.4 " + pid.encode())
        recs = [reading(str(src), 1, pid, "101", "A" * right + "B" * (6 - right)), failure(str(src), 2)]
        store.record_submission(str(src), sha(str(src)), 10, assign_essay_pages(recs), keys, unit="Quận 1")
    import_roster(store, [Participant(pid, f"Thí sinh {pid}", "Quận 1") for pid in q1])
    with store.write_tx("judges") as conn:
        return [conn.execute(sa.insert(judges).values(name=f"gk{u}", unit=f"Quận {u}", role="judge",
                                                      password_hash="x", must_change=False, created_at=sa.func.now())
                             .returning(judges.c.id)).scalar_one() for u in (2, 3)]


def _rewrite(src, dst, *, change=None, drop=None, add=None):
    with zipfile.ZipFile(src) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    if change:
        b = bytearray(members[change])
        b[len(b) // 2] ^= 0x01
        members[change] = bytes(b)
    if drop:
        del members[drop]
    if add:
        members[add] = b"extra"
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    return dst


def _count(store: Store, table: str) -> int:
    with store.read_tx("t") as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_district_forwards_its_selection_and_the_city_receives_it_once(store_url, tmp_path, capsys):
    rules, rubric = rules_from_dict(RULES, source="r"), rubric_from_dict(RUBRIC)
    district, city = _folder(tmp_path / "quan1"), _folder(tmp_path / "thanhpho")
    units = load_units(district)
    d_url = f"sqlite:///{tmp_path / 'quan1.sqlite'}"
    with Store.open(d_url) as store:
        jids = _district(store, tmp_path / "scans")
        for name in ("loai", "huyen"):
            open_round(store, rules, units, name, "Q1", who="btc Q1")
            _judge_round(store, rubric, jids, name)
            close_round(store, rules, units, name, "Q1", who="btc Q1")
    code, out = _run(capsys, "keys", "new", "--unit", "Quận 1", "--contest", str(district))
    assert code == ExitCode.OK and stat.S_IMODE((district / "keys" / "Q1.key").stat().st_mode) == 0o600
    assert _run(capsys, "keys", "new", "--unit", "Q1", "--contest", str(district))[0] == ExitCode.BAD_ARGS
    bundle = tmp_path / "Q1-huyen.zip"
    code, out = _run(capsys, "forward", "--unit", "Q1", "--round", "huyen", "--out", str(bundle),
                     "--contest", str(district), "--db", d_url)
    assert (code, out) == (ExitCode.OK, f"{bundle}: 2 bài dự thi đi tiếp, đã ký\n")
    with zipfile.ZipFile(bundle) as z:
        names = sorted(z.namelist())
    scans = [f"files/{sha(str(tmp_path / 'scans' / f'bai-{p}.pdf'))}.pdf" for p in ("000011", "000012")]
    assert names == sorted(["entries.json", "manifest.json", "manifest.sig", *scans])

    db = ["--contest", str(city), "--db", store_url]
    assert _run(capsys, "receive", str(bundle), *db)[0] == ExitCode.INPUT              # Q1 is not registered yet
    (city / "keys").mkdir()
    shutil.copy(district / "keys" / "Q1.pub", city / "keys" / "Q1.pub")
    code, out = _run(capsys, "receive", str(bundle), *db)
    assert (code, out) == (ExitCode.OK, "đã nhận gói của Q1, vòng huyen: 2 bài dự thi, 2 tệp, 4 trang\n")
    with Store.open(store_url) as store:
        before = {t: _count(store, t) for t in ("submissions", "pages", "essays", "essay_tasks", "round_entries",
                                                "contest_rounds", "participants")}
        assert before == {"submissions": 2, "pages": 4, "essays": 2, "essay_tasks": 2, "round_entries": 2,
                          "contest_rounds": 1, "participants": 2}
    assert _run(capsys, "receive", str(bundle), *db)[1] == "gói của Q1, vòng huyen đã nhận trước đó: không thêm gì\n"
    with Store.open(store_url) as store:
        assert {t: _count(store, t) for t in before} == before
        # the city round starts from what Q1 sent, its essays judged afresh by judges who see the essays
        opened = open_round(store, rules, units, "tp", None, who="btc")
        assert (opened.entries_added, opened.tasks_added, opened.units_not_closed) == (2, 2, ())
        with store.write_tx("judge") as conn:
            jid = conn.execute(sa.insert(judges).values(name="gk-tp", unit="Sở", role="judge", password_hash="x",
                                                        must_change=False, created_at=sa.func.now())
                               .returning(judges.c.id)).scalar_one()
        view = assignment(store, take_next(store, jid, rubric).assignment_id)
        assert len(view["essays"]) == 1 and "total 1" not in view
        with store.read_tx("t") as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM audit WHERE action = 'bundle_receive'")).scalar_one() == 1


def test_every_tampered_bundle_is_refused(tmp_path, capsys):
    rules = rules_from_dict(RULES, source="r")
    district, city = _folder(tmp_path / "quan1"), _folder(tmp_path / "thanhpho")
    units = load_units(district)
    d_url = f"sqlite:///{tmp_path / 'quan1.sqlite'}"
    with Store.open(d_url) as store:
        _district(store, tmp_path / "scans")
        open_round(store, rules, units, "loai", "Q1", who="btc Q1")
        with store.write_tx("no essays to judge here") as conn:
            conn.execute(sa.text("UPDATE essay_tasks SET state = 'final', final_score = '5'"))
        close_round(store, rules, units, "loai", "Q1", who="btc Q1")
    for u in ("Q1", "Q2"):
        assert _run(capsys, "keys", "new", "--unit", u, "--contest", str(district))[0] == ExitCode.OK
    (city / "keys").mkdir()
    shutil.copy(district / "keys" / "Q1.pub", city / "keys" / "Q1.pub")
    good = tmp_path / "good.zip"
    assert _run(capsys, "forward", "--unit", "Q1", "--round", "loai", "--out", str(good), "--contest",
                str(district), "--db", d_url)[0] == ExitCode.OK
    assert verify(good, city, units).unit == "Q1"
    with zipfile.ZipFile(good) as z:
        names = z.namelist()
    assert len(names) == 2 + 1 + 6                                # manifest, signature, entries, 6 scans
    reasons = {}
    for n in names:
        reasons[n] = _refused(_rewrite(good, tmp_path / "t.zip", change=n), city, units)
    assert reasons["manifest.json"].startswith("bundle") and "signature does not match" in reasons["manifest.json"]
    assert "signature does not match" in reasons["manifest.sig"]
    assert all("contents changed since it was signed" in reasons[n] for n in names if n not in (
        "manifest.json", "manifest.sig"))
    assert "not in the manifest: files/x.pdf" in _refused(_rewrite(good, tmp_path / "t.zip", add="files/x.pdf"),
                                                           city, units)
    gone = next(n for n in names if n.startswith("files/"))
    assert f"missing: {gone}" in _refused(_rewrite(good, tmp_path / "t.zip", drop=gone), city, units)
    no_signature = _rewrite(good, tmp_path / "t.zip", drop="manifest.sig")
    assert "or manifest.sig: not a bundle" in _refused(no_signature, city, units)
    data = good.read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    assert "damaged or cut short" in _refused(tmp_path / "cut.zip", city, units)
    with zipfile.ZipFile(good) as z:                        # a byte in the middle of entries.json's stored data
        info = z.getinfo("entries.json")
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    flipped = bytearray(data)
    flipped[at] ^= 0xFF
    (tmp_path / "flip.zip").write_bytes(bytes(flipped))
    assert _refused(tmp_path / "flip.zip", city, units)
    # signed with Q2's key, or from a unit the city does not know
    assert "signature does not match unit Q1" in _refused(_resign(good, tmp_path / "w.zip", district / "keys" /
                                                                  "Q2.key"), city, units)
    assert "public key is not registered" in _refused(_resign(good, tmp_path / "u.zip", district / "keys" / "Q2.key",
                                                              unit="Q2"), city, units)
    assert "not in the contest's units file" in _refused(_resign(good, tmp_path / "u.zip", district / "keys" /
                                                                 "Q2.key", unit="Q9"), city, units)
    # through the command: exit 9, nothing imported
    c_url = f"sqlite:///{tmp_path / 'city.sqlite'}"
    code, _ = _run(capsys, "receive", str(tmp_path / "flip.zip"), "--contest", str(city), "--db", c_url)
    assert code == ExitCode.INPUT
    with Store.open(c_url) as store:
        assert _count(store, "contest_rounds") == 0 and _count(store, "submissions") == 0


def _refused(path, city, units) -> str:
    with pytest.raises(BundleRefused) as exc:
        verify(path, city, units)
    assert exc.value.exit_code == ExitCode.INPUT
    return str(exc.value)


def _resign(src, dst, key_path, *, unit=None):
    """The bundle with its manifest re-signed by another key (and, with ``unit``, claiming another unit)."""
    from cryptography.hazmat.primitives import serialization

    with zipfile.ZipFile(src) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    if unit:
        manifest = json.loads(members["manifest.json"])
        manifest["unit"] = unit
        members["manifest.json"] = json.dumps(manifest).encode()
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    members["manifest.sig"] = key.sign(members["manifest.json"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    dst.write_bytes(buf.getvalue())
    return dst
