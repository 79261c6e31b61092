"""A folder of bad inputs beside good scans, built at test time, read by ``omr read`` and graded by ``omr grade``.

Every file is accounted for with the exact reason code expected for it; the good scans (among them a file named
in NFD Vietnamese, one whose name is not UTF-8, and a JPEG whose only fault is a few unused bytes before its
end marker) are read and graded right; nothing prints a traceback or a decoder's raw warning; a second
``omr grade`` records nothing new. Nothing binary is committed: every file is made here from the demo sheet.
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image

from grading.keys import load_keys
from omr.errors import ExitCode
from omr.records import Reject
from omr.sheet import Participant, render_sheets
from tests.conftest import DEMO_LAYOUT, ROOT, rasterise
from tests.omr.test_read import marked_sheet

pytestmark = pytest.mark.slow

DEMO = ROOT / "answer_keys" / "demo"
A4_PT = (595.0, 842.0)
NFD_NAME = unicodedata.normalize("NFD", "bài thi Đỗ Châu.jpg")
ODD_NAME = os.fsdecode(b"\xff\xfe.jpg")            # not UTF-8: kept as surrogates by the os functions
# good scans: file name → (participant, version); each answers its version's key exactly (20 points)
GOOD = {"good-1.jpg": ("000101", "101"), "good-2.pdf": ("000102", "102"), NFD_NAME: ("000103", "103"),
        ODD_NAME: ("000104", "104"), "padded.jpg": ("000105", "101")}
# bad inputs: path inside the folder → (page of the record, reason code, words its reason must hold)
BAD = {
    "empty.jpg": (None, Reject.EMPTY_FILE, "empty (0 bytes)"),
    "cut.jpg": (None, Reject.TRUNCATED, "cut off"),                      # the first half of a JPEG
    "cut.png": (None, Reject.TRUNCATED, "cut off"),
    "cut.tif": (None, Reject.TRUNCATED, "cut off"),
    "cut.pdf": (None, Reject.TRUNCATED, "cut off"),
    "random.pdf": (None, Reject.UNSUPPORTED_TYPE, "named .pdf"),         # random bytes
    "random.jpg": (None, Reject.UNSUPPORTED_TYPE, "named .jpg"),
    "notes.jpg": (None, Reject.UNSUPPORTED_TYPE, "text file"),           # text named .jpg
    "essay.pdf": (None, Reject.UNSUPPORTED_TYPE, "Word document"),       # a DOCX named .pdf
    "locked.pdf": (None, Reject.ENCRYPTED, "password"),
    "bomb.png": (None, Reject.TOO_LARGE, "100000×100000 px"),            # its header says so
    "bomb.pdf": (1, Reject.TOO_LARGE, "100000×100000 px"),               # a small PDF, a 10-gigapixel image
    "bomb-masked.pdf": (1, Reject.TOO_LARGE, "100000×100000 px"),        # the same with a soft mask (rasterised)
    "many-pages.pdf": (None, Reject.TOO_MANY_PAGES, "more than 2000 pages"),     # 5,000 blank pages
    "sub/up": (None, Reject.UNREADABLE, "(a loop)"),                    # a link to the folder holding it
    "self.jpg": (None, Reject.UNREADABLE, "leads back to itself"),       # a link to itself
    "dangling.jpg": (None, Reject.NOT_FOUND, "broken link"),
    "pipe.jpg": (None, Reject.UNSUPPORTED_TYPE, "not a regular file"),   # a named pipe: opening it would hang
    "damaged-image.pdf": (1, Reject.CORRUPT, "the image inside damaged-image.pdf (page 1) is damaged"),
    "damaged.jpg": (1, Reject.CORRUPT, "the image inside damaged.jpg is damaged"),
    "damaged.png": (1, Reject.CORRUPT, "damaged PNG"),
    "damaged-fax.tif": (1, Reject.CORRUPT, "the image inside damaged-fax.tif (page 1) is damaged"),
    "damaged-flate.pdf": (1, Reject.CORRUPT, "the image inside damaged-flate.pdf (page 1) is damaged"),
    # a Flate stream that inflates to the right size, its checksum alone telling of the damage
    "bad-checksum-flate.pdf": (1, Reject.CORRUPT, "the image inside bad-checksum-flate.pdf (page 1) is damaged"),
}
# what ``omr grade`` makes of the files the sheet reader refuses but the document reader takes (typed entries): the
# DOCX named .pdf is opened as a Word document, which is damaged (no package parts); the text file is a typed entry
# without answers, so an essay page of nobody yet (flagged ``unmatched_essay`` for the organisers)
GRADE_BAD = {**BAD, "essay.pdf": (None, Reject.CORRUPT, "tệp Word bị hỏng")}
GRADE_ESSAYS = {"notes.jpg"}
# files the store cannot hold (no content to identify them by): reported by the run, not stored
NOT_STORED = {"sub/up", "dangling.jpg", "pipe.jpg", "self.jpg"}


# -- building the folder ------------------------------------------------------------------------------------
def _jpeg(img: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _image_pdf(jpeg: bytes, shape: tuple[int, int], *, encryption=None) -> bytes:
    """A scanner's PDF: one page showing one grayscale JPEG over the whole A4 page."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=A4_PT)
    im = pikepdf.Stream(pdf, jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=shape[1],
                        Height=shape[0], ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                        Filter=pikepdf.Name.DCTDecode)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im))
    page.Contents = pikepdf.Stream(pdf, f"q {A4_PT[0]} 0 0 {A4_PT[1]} 0 0 cm /Im0 Do Q".encode())
    buf = io.BytesIO()
    pdf.save(buf, encryption=encryption)
    return buf.getvalue()


def _flate_image_pdf(data: bytes, shape: tuple[int, int], *, masked: bool = False) -> bytes:
    """One page showing one Flate-compressed grayscale image (with a soft mask: the page is rasterised)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=A4_PT)
    im = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=shape[1],
                        Height=shape[0], ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                        Filter=pikepdf.Name.FlateDecode)
    if masked:
        im.SMask = pikepdf.Stream(pdf, zlib.compress(bytes(100)), Type=pikepdf.Name.XObject,
                                  Subtype=pikepdf.Name.Image, Width=10, Height=10, BitsPerComponent=8,
                                  ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.FlateDecode)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=im))
    page.Contents = pikepdf.Stream(pdf, f"q {A4_PT[0]} 0 0 {A4_PT[1]} 0 0 cm /Im0 Do Q".encode())
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _many_pages_pdf(n: int) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=A4_PT)
    pdf.pages.extend([pdf.pages[0]] * (n - 1))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _damaged_in_the_middle(data: bytes, seed: int = 7, start: int = 0) -> bytes:
    """``data`` with 2,000 bytes in the middle (after ``start``) replaced by noise (a bad sector, a bad copy)."""
    mid = start + (len(data) - start) // 2
    noise = np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    return data[:mid] + noise + data[mid + 2000:]


def _bad_checksum(stream: bytes) -> bytes:
    """A zlib stream whose data is intact but whose Adler-32 checksum (its last 4 bytes) is wrong."""
    return stream[:-4] + bytes(b ^ 0xFF for b in stream[-4:])


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>Bài làm</w:document>")
    return buf.getvalue()


def _png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def _tiff(img: np.ndarray, compression: str = "tiff_lzw") -> bytes:
    bio = io.BytesIO()
    Image.fromarray(img).save(bio, format="TIFF", compression=compression, dpi=(150, 150))
    return bio.getvalue()


def _png_bomb() -> bytes:
    png = bytearray(_png(np.zeros((10, 10), np.uint8)))
    png[16:24] = struct.pack(">II", 100000, 100000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def key_answers(layout, version: str) -> dict[str, str]:
    key = load_keys(DEMO, layout).get(version)
    return {it.question: it.accept_text()[0] for it in key.items}


@dataclass(frozen=True)
class Corpus:
    folder: Path
    expected_answers: dict[str, dict[str, str]]     # good file name → answers


def build_corpus(folder: Path, layout) -> Corpus:
    rng = np.random.default_rng(2026)
    people = [Participant(pid, f"Thí sinh {pid}") for pid, _ in GOOD.values()]
    render_sheets(layout, folder.parent / "roster.pdf", participants=people)
    answers, sheets = {}, {}
    for i, (name, (pid, version)) in enumerate(GOOD.items()):
        answers[name] = key_answers(layout, version)
        sheets[name] = marked_sheet(rasterise(folder.parent / "roster.pdf", page=i + 1), layout, answers[name],
                                    participant=pid, version=version)
    (folder / "sub").mkdir(parents=True)
    files: dict[str, bytes] = {}
    for name, img in sheets.items():
        files[name] = _jpeg(img)
    files["good-2.pdf"] = _image_pdf(files["good-2.pdf"], sheets["good-2.pdf"].shape)
    files["padded.jpg"] = files["padded.jpg"][:-2] + b"\x00" * 10 + b"\xff\xd9"   # harmless: unused bytes at the end
    one = sheets["good-1.jpg"]
    jpg = _jpeg(one, quality=70)
    pdf = _image_pdf(jpg, one.shape)
    files.update({
        "empty.jpg": b"",
        "cut.jpg": jpg[:len(jpg) // 2],
        "cut.png": _png(one)[:100_000],
        "cut.tif": _tiff(one)[:50_000],
        "cut.pdf": pdf[:len(pdf) // 2],
        "random.pdf": b"\x01" + rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "random.jpg": b"\x01" + rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes(),
        "locked.pdf": _image_pdf(jpg, one.shape, encryption=pikepdf.Encryption(owner="chủ", user="thí sinh")),
        "bomb.png": _png_bomb(),
        "bomb.pdf": _flate_image_pdf(zlib.compress(bytes(1 << 20), 9), (100000, 100000)),
        "bomb-masked.pdf": _flate_image_pdf(zlib.compress(bytes(1 << 20), 9), (100000, 100000), masked=True),
        "many-pages.pdf": _many_pages_pdf(5000),
        "notes.jpg": "đây không phải bài thi, chỉ là ghi chú\n".encode() * 20,
        "essay.pdf": _docx(),
        "damaged-image.pdf": _image_pdf(_damaged_in_the_middle(jpg, start=jpg.index(b"\xff\xda")), one.shape),
        "damaged.jpg": _damaged_in_the_middle(jpg, seed=8, start=jpg.index(b"\xff\xda")),
        "damaged.png": _damaged_in_the_middle(_png(one), seed=9),
        "damaged-fax.tif": _damaged_in_the_middle(_tiff(one > 128, "group4"), seed=10, start=1000),
        "damaged-flate.pdf": _flate_image_pdf(_damaged_in_the_middle(zlib.compress(one.tobytes()), seed=11),
                                              one.shape),
        "bad-checksum-flate.pdf": _flate_image_pdf(_bad_checksum(zlib.compress(one.tobytes())), one.shape),
    })
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    os.symlink("..", folder / "sub" / "up")                        # a loop: the link holds the folder holding it
    os.symlink(folder / "nowhere.jpg", folder / "dangling.jpg")    # a broken link
    os.symlink("self.jpg", folder / "self.jpg")                     # a link to itself
    os.mkfifo(folder / "pipe.jpg")                                  # opening it would wait for a writer forever
    return Corpus(folder, answers)


# -- running the commands -----------------------------------------------------------------------------------
def _run(module: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def _rel(folder: Path, source: str) -> str:
    return os.path.relpath(source, folder)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, demo_layout) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus") / "scans", demo_layout)


@pytest.fixture(scope="module")
def read_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("read") / "r.jsonl"
    p = _run("omr.cli", "read", corpus.folder, "--layout", DEMO_LAYOUT, "--json-out", out, "--workers", "2")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by: dict[str, list[dict]] = {}
    for r in rows:
        source = os.fsdecode(base64.b64decode(r["source_bytes"])) if "source_bytes" in r else r["source"]
        by.setdefault(_rel(corpus.folder, source), []).append(r)
    return p, rows, by


@pytest.fixture(scope="module")
def grade_runs(corpus, tmp_path_factory):
    contest = tmp_path_factory.mktemp("grade") / "contest"
    shutil.copytree(DEMO, contest)
    db = contest / "out" / "results.sqlite"
    runs, counts = [], []
    for _ in range(2):
        runs.append(_run("grading.cli", "grade", corpus.folder, "--contest", contest, "--workers", "2"))
        with sqlite3.connect(db) as conn:
            counts.append([conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                           for t in ("submissions", "pages", "scores", "flags")])
    with sqlite3.connect(db) as conn:
        subs = conn.execute("SELECT id, source, source_raw, status FROM submissions").fetchall()
        page_rows = conn.execute("SELECT submission_id, page_no, status, reason_code, reason, participant, version "
                                 "FROM pages").fetchall()
        totals = dict(conn.execute("SELECT p.participant, s.total FROM scores s JOIN pages p ON p.id = s.page_id"))
    by: dict[str, list[tuple]] = {}
    for sid, source, raw, _status in subs:
        name = _rel(corpus.folder, os.fsdecode(raw) if raw is not None else source)
        by[name] = [r for r in page_rows if r[0] == sid]
    return runs, by, totals, counts


# -- the tests ----------------------------------------------------------------------------------------------
def _no_noise(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    for raw in ("Corrupt JPEG data", "Premature end of JPEG", "libpng", "extraneous bytes", "Warning:", "Decode:"):
        assert raw not in stderr, stderr


def test_omr_read_finishes_and_accounts_for_every_file(read_run, corpus):
    p, rows, by = read_run
    assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
    _no_noise(p.stderr)
    assert sorted(by) == sorted([*GOOD, *BAD])
    assert all(len(v) == 1 for v in by.values()), {k: len(v) for k, v in by.items() if len(v) != 1}
    assert len(rows) == len(GOOD) + len(BAD)
    assert f"ok {len(GOOD)} · flagged 0 · rejected {len(BAD)}" in p.stderr


@pytest.mark.parametrize("name", sorted(BAD))
def test_omr_read_rejects_each_bad_input_with_its_reason(read_run, name):
    (row,) = read_run[2][name]
    page, code, says = BAD[name]
    assert (row["status"], row["reason_code"], row["page"]) == ("rejected", code.value, page), row
    assert says in row["reason"], row["reason"]
    assert "Traceback" not in row["reason"] and "internal" not in row["reason_code"]


@pytest.mark.parametrize("name", sorted(GOOD))
def test_omr_read_reads_each_good_scan_right(read_run, corpus, name):
    (row,) = read_run[2][name]
    pid, version = GOOD[name]
    assert (row["status"], row["participant"], row["version"]) == ("ok", pid, version), row
    assert row["answers"] == corpus.expected_answers[name]


def test_omr_grade_records_every_file_once_and_a_second_run_nothing(grade_runs):
    runs, by, totals, counts = grade_runs
    for p in runs:
        assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
        _no_noise(p.stderr + p.stdout)
    stored = len(GOOD) + len(BAD) - len(NOT_STORED)
    assert sorted(by) == sorted(set(GOOD) | (set(BAD) - NOT_STORED))
    assert counts[0] == counts[1] == [stored, stored, len(GOOD), len(GRADE_ESSAYS)]
    assert f"ghi mới {stored} · 0 đã có từ trước" in runs[0].stdout
    assert f"ghi mới 0 · {stored} đã có từ trước" in runs[1].stdout
    for name in NOT_STORED:
        _, code, says = BAD[name]
        assert any(f"không ghi được ({code.value})" in line and says in line for line in runs[1].stdout.splitlines())
    assert totals == {pid: "20" for pid, _ in GOOD.values()}


@pytest.mark.parametrize("name", sorted(set(GRADE_BAD) - NOT_STORED - GRADE_ESSAYS))
def test_omr_grade_stores_each_bad_input_with_its_reason(grade_runs, name):
    (row,) = grade_runs[1][name]
    page, code, says = GRADE_BAD[name]
    assert row[1:4] == (page or 0, "rejected", code.value), row
    assert says in row[4], row[4]


@pytest.mark.parametrize("name", sorted(GRADE_ESSAYS))
def test_omr_grade_keeps_a_text_without_answers_as_an_essay_of_nobody_yet(grade_runs, name):
    (row,) = grade_runs[1][name]
    assert row[1:4] == (1, "essay", None) and row[5] is None, row


@pytest.mark.parametrize("name", sorted(GOOD))
def test_omr_grade_grades_each_good_scan(grade_runs, name):
    (row,) = grade_runs[1][name]
    assert row[1:4] == (1, "ok", None) and row[5:] == GOOD[name], row
