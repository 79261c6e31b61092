"""The sample generator: deterministic, truthful to what it drew, complete, and in the promised formats.

Everything here measures the generated images from the layout geometry and the truth's own homography,
independently of the reader (no omr.align / omr.marks / omr.read).
"""
from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
import zxingcpp

from omr.errors import BadArguments
from omr.layout import GroupKind, load_layout
from omr.qrpayload import decode_payload
from samples import marks as mk
from samples.generator import EXTRA_KINDS, generate_set

from process_support import ProcessTree

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = load_layout(ROOT / "answer_keys" / "demo" / "layout.json")


def _truth(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def clean_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    summary = generate_set(LAYOUT, out, profile="clean", n=4, seed=5, workers=2, fmt="png", extras=True)
    assert summary["sheets"] == 4 and summary["extras"] == len(EXTRA_KINDS)
    return out


@pytest.fixture(scope="module")
def scanner_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    a = tmp_path_factory.mktemp("scan-a")
    b = tmp_path_factory.mktemp("scan-b")
    c = tmp_path_factory.mktemp("scan-c")
    generate_set(LAYOUT, a, profile="scanner", n=3, seed=9, workers=1)
    generate_set(LAYOUT, b, profile="scanner", n=3, seed=9, workers=2)
    generate_set(LAYOUT, c, profile="scanner", n=3, seed=10, workers=2)
    return a, b, c


# ---------------------------------------------------------------------------------------------------
# geometry helpers (independent of the reader)
# ---------------------------------------------------------------------------------------------------
def _to_px(H: np.ndarray, x_mm: float, y_mm: float) -> tuple[float, float]:
    p = H @ np.array([x_mm, y_mm, 1.0])
    return p[0] / p[2], p[1] / p[2]


def _bubble_darkness(img: np.ndarray, H: np.ndarray, paper: float) -> np.ndarray:
    """Mean darkness (0 white … 1 black) inside 0.8 of every bubble's radius, located via the truth's matrix."""
    out = np.empty(len(LAYOUT.centres_mm))
    for i, (y, x) in enumerate(LAYOUT.centres_mm):
        cx, cy = _to_px(H, x, y)
        qx, qy = _to_px(H, x + 0.1, y)
        r = LAYOUT.bubble_r_mm * np.hypot(qx - cx, qy - cy) / 0.1 * 0.8
        x0, y0 = int(cx - r - 2), int(cy - r - 2)
        win = img[y0:int(cy + r + 3), x0:int(cx + r + 3)].astype(np.float64)
        yy, xx = np.mgrid[y0:y0 + win.shape[0], x0:x0 + win.shape[1]]
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        out[i] = np.clip((paper - win[inside]) / paper, 0, 1).mean()
    return out


def _split(t: dict, dark: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Darkness of truth-marked, truth-blank and erased bubbles of the unambiguous questions."""
    marked, blank, erased = [], [], []
    for g in LAYOUT.question_groups:
        if g.key in t["ambiguous"]:
            continue
        ans = t["answers"][g.key]
        er = {m["option"] for m in t["marks"].get(g.key, []) if m.get("kind") == "erasure"}
        for lab, i in zip(g.labels, g.indices):
            (marked if lab in ans else erased if lab in er else blank).append(dark[i])
    return marked, blank, erased


# ---------------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_files_whatever_the_workers(scanner_sets):
    a, b, _ = scanner_sets
    names = sorted(p.name for p in (a / "sheets").iterdir())
    assert names == ["00001.jpg", "00002.jpg", "00003.jpg"]
    assert names == sorted(p.name for p in (b / "sheets").iterdir())
    for name in names:
        assert (a / "sheets" / name).read_bytes() == (b / "sheets" / name).read_bytes(), name
    assert (a / "truth.jsonl").read_bytes() == (b / "truth.jsonl").read_bytes()
    assert (a / "roster.csv").read_bytes() == (b / "roster.csv").read_bytes()


def test_different_seed_gives_different_sheets(scanner_sets):
    a, _, c = scanner_sets
    ta, tc = _truth(a), _truth(c)
    assert [t["answers"] for t in ta] != [t["answers"] for t in tc]
    assert [t["participant_intended"] for t in ta] != [t["participant_intended"] for t in tc]
    for name in ("00001.jpg", "00002.jpg"):
        assert (a / "sheets" / name).read_bytes() != (c / "sheets" / name).read_bytes()


# ---------------------------------------------------------------------------------------------------
# truth is complete and consistent
# ---------------------------------------------------------------------------------------------------
def test_truth_is_complete(clean_set):
    truths = [t for t in _truth(clean_set) if t["kind"] == "sheet"]
    assert len(truths) == 4
    qids = list(LAYOUT.question_ids)
    for k, t in enumerate(truths):
        assert t["file"] == f"sheets/{k + 1:05d}.png" and (clean_set / t["file"]).is_file()
        assert t["expect"] == "read" and t["index"] == k and t["page"] == 1
        assert list(t["answers"]) == qids
        assert set(t["ambiguous"]) <= set(qids)
        for q, v in t["answers"].items():
            assert v == "".join(sorted(v)) and set(v) <= set("ABCD"), (q, v)
        assert len(t["participant"]) == 6 and len(t["version"]) == 3
        assert t["participant_ambiguous"] == ("?" in t["participant"])
        assert t["version_intended"] in {"101", "102", "103", "104"}
        assert t["qr_participant"] == (t["participant_intended"] if t["personalised"] else None)
        assert t["degradation"]["dpi"] == 300 and abs(t["degradation"]["rotation_deg"]) <= 0.5


def test_roster_ids_unique_with_vietnamese_names(tmp_path):
    generate_set(LAYOUT, tmp_path, profile="clean", n=12, seed=3, workers=2, fmt="jpg")
    with (tmp_path / "roster.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    ids = [r["participant_id"] for r in rows]
    assert len(set(ids)) == 12 and all(len(i) == 6 and i.isdigit() for i in ids)
    assert any(not r["name"].isascii() for r in rows)
    truths = _truth(tmp_path)
    assert [t["participant_intended"] for t in truths] == ids
    # roughly half personalised (binomial, 12 draws: 1..11 is all but certain)
    assert 1 <= sum(t["personalised"] for t in truths) <= 11


def test_plan_truth_for_each_case():
    rng = np.random.default_rng(0)
    g = LAYOUT.question_groups[0]
    expect = {"single": False, "blank": False, "double": False, "erased_then_marked": False, "tick": True,
              "cross": True, "crossed_out_remarked": True, "erased_alone": True, "faint": True}
    for case, ambiguous in expect.items():
        freq = {} if case == "single" else {case: 1.0}
        gp = mk._plan_question(g, rng, freq)
        assert gp.case == case and gp.ambiguous is ambiguous
        n_letters = {"blank": 0, "erased_alone": 0, "double": 2}.get(case, 1)
        assert len(gp.truth) == n_letters, (case, gp.truth)
        fills = [op for op in gp.ops if op.kind == "fill"]
        if case == "erased_then_marked":   # the clear fill is the answer, the erasure is elsewhere
            assert g.labels[fills[0].bubble - g.first] == gp.truth
            assert [op.kind for op in gp.ops] == ["erasure", "fill"]
        if case == "crossed_out_remarked":
            xout = [op for op in gp.ops if op.kind == "xout"][0]
            assert g.labels[xout.bubble - g.first] != gp.truth


# ---------------------------------------------------------------------------------------------------
# truth matches the pixels
# ---------------------------------------------------------------------------------------------------
def test_clean_marked_bubbles_are_dark_and_blank_ones_are_not(clean_set):
    for t in _truth(clean_set):
        if t["kind"] != "sheet":
            continue
        img = cv2.imread(str(clean_set / t["file"]), cv2.IMREAD_GRAYSCALE)
        dark = _bubble_darkness(img, np.asarray(t["degradation"]["homography_mm_to_px"]), 255.0)
        marked, blank, erased = _split(t, dark)
        assert len(marked) > 80
        # every clear mark is darker than every unmarked bubble, with room to spare
        assert min(marked) > 0.25, (t["file"], min(marked))
        assert max(blank) < 0.08, (t["file"], max(blank))
        assert all(0.02 < e < min(marked) for e in erased), (t["file"], erased)
        # digit columns: the bubbled digit is the dark one
        for g in LAYOUT.digit_groups(GroupKind.PARTICIPANT) + LAYOUT.digit_groups(GroupKind.VERSION):
            value = t["participant" if g.kind is GroupKind.PARTICIPANT else "version"][int(g.key) - 1]
            col = dark[list(g.indices)]
            if value != "?":
                assert int(np.argmax(col)) == int(value) and col[int(value)] > 0.25


@pytest.mark.parametrize("profile", ["scanner", "phone"])
def test_degraded_truth_geometry_lands_on_marks_and_fiducials(tmp_path, profile):
    generate_set(LAYOUT, tmp_path, profile=profile, n=2, seed=21, workers=2)
    for t in _truth(tmp_path):
        img = cv2.imread(str(tmp_path / t["file"]), cv2.IMREAD_GRAYSCALE)
        d = t["degradation"]
        assert [img.shape[1], img.shape[0]] == d["image_size"]
        H = np.asarray(d["homography_mm_to_px"])
        # the black border of each ArUco marker (0.5 mm inside its outer corner) is dark, as the truth says
        paper = float(np.percentile(img, 90))
        for rect in LAYOUT.fiducial_rects():
            for fx, fy in ((0.5, 0.5), (rect.w_mm - 0.5, 0.5), (0.5, rect.h_mm - 0.5)):
                x, y = _to_px(H, rect.x_mm + fx, rect.y_mm + fy)
                assert img[int(round(y)), int(round(x))] < 0.55 * paper, (t["file"], rect, fx, fy)
        marked, blank, _ = _split(t, _bubble_darkness(img, H, paper))
        assert np.median(marked) > np.median(blank) + 0.2, t["file"]
        assert np.percentile(marked, 5) > np.percentile(blank, 95), t["file"]


def test_personalised_qr_decodes_to_truth(clean_set):
    seen = {True: 0, False: 0}
    for t in _truth(clean_set):
        if t["kind"] != "sheet":
            continue
        img = cv2.imread(str(clean_set / t["file"]), cv2.IMREAD_GRAYSCALE)
        x, y = _to_px(np.asarray(t["degradation"]["homography_mm_to_px"]), LAYOUT.qr.x_mm, LAYOUT.qr.y_mm)
        size = LAYOUT.qr.w_mm * 300 / 25.4
        crop = img[max(0, int(y - 40)):int(y + size + 40), max(0, int(x - 40)):int(x + size + 40)]
        codes = zxingcpp.read_barcodes(crop)
        assert len(codes) == 1, t["file"]
        payload = decode_payload(codes[0].text)
        assert (payload.contest, payload.layout) == (LAYOUT.contest, LAYOUT.id)
        assert payload.participant == t["qr_participant"]
        seen[t["personalised"]] += 1
    assert seen[True] >= 1 and seen[False] >= 1, seen


def test_extras_exist_and_expect_rejection(clean_set):
    extras = [t for t in _truth(clean_set) if t["kind"] != "sheet"]
    assert [t["kind"] for t in extras] == list(EXTRA_KINDS)
    for t in extras:
        assert t["expect"] == "rejected"
        img = cv2.imread(str(clean_set / t["file"]), cv2.IMREAD_UNCHANGED)
        assert img is not None and min(img.shape[:2]) > 500
    # the essay page carries text, the blank page does not
    essay = cv2.imread(str(clean_set / extras[1]["file"]), cv2.IMREAD_GRAYSCALE)
    blank = cv2.imread(str(clean_set / extras[0]["file"]), cv2.IMREAD_GRAYSCALE)
    assert (essay < 128).mean() > 0.01 and (blank < 128).mean() < 0.001


# ---------------------------------------------------------------------------------------------------
# formats and arguments
# ---------------------------------------------------------------------------------------------------
def test_pdf_format_is_one_jpeg_per_page(tmp_path):
    generate_set(LAYOUT, tmp_path, profile="scanner", n=3, seed=4, workers=2, fmt="pdf")
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == ["set.pdf"]
    truths = _truth(tmp_path)
    assert [(t["file"], t["page"]) for t in truths] == [("sheets/set.pdf", k) for k in (1, 2, 3)]
    with pikepdf.open(tmp_path / "sheets" / "set.pdf") as pdf:
        assert len(pdf.pages) == 3
        for page, t in zip(pdf.pages, truths):
            found = page.get_images()
            images = list(found.values()) if hasattr(found, "values") else list(found)
            assert len(images) == 1
            img = images[0]
            assert img.Filter == pikepdf.Name.DCTDecode
            assert [int(img.Width), int(img.Height)] == t["degradation"]["image_size"]
            jpeg = cv2.imdecode(np.frombuffer(img.read_raw_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
            assert jpeg.shape[1] == t["degradation"]["image_size"][0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"profile": "fax"}, "unknown profile"),
    ({"fmt": "tiff"}, "unknown format"),
    ({"n": 0}, "at least 1"),
    ({"seed": -1}, "seed"),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    args = {"profile": "clean", "n": 1, "seed": 1, "workers": 1, "fmt": "jpg"} | kwargs
    with pytest.raises(BadArguments, match=message):
        generate_set(LAYOUT, tmp_path, **args)


def test_kill_9_of_omr_samples_leaves_no_worker_process(tmp_path):
    """SIGKILL of `omr samples --workers 2` while its workers draw: every process it started ends with it."""
    cmd = [sys.executable, "-m", "grading.cli", "samples", "-n", "40", "--out", str(tmp_path / "set"), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    tree = ProcessTree(proc)
    try:
        tree.wait_for_workers(2)
        tree.snapshot()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert tree.survivors(within=20) == []
    finally:
        tree.kill_all()
