"""Per-stage tests of the reader on small exact inputs, and the batch's accounting."""
import base64
import json
import os


import signal
import subprocess
import sys
import unicodedata

import cv2
import numpy as np
import pytest

from omr.align import align, find_fiducials
from omr.errors import AlignmentError, ExitCode
from omr.identify import decide_participant, digits_from_groups, QrResult
from omr.layout import GroupKind, layout_from_dict
from omr.marks import STATE_ORDER, Thresholds, classify, page_thresholds
from omr.qrpayload import QrPayload
from omr.read import read_page
from omr.records import Flag, GroupRead, MarkState, Page, Reject, SheetFailure, SheetReading, Status
from omr.sheet import render_sheets
from tests.conftest import DEMO_LAYOUT, ROOT, rasterise

from process_support import ProcessTree

DPI = 150
PPM = DPI / 25.4


@pytest.fixture(scope="module")
def blank_sheet(demo_sheet):
    return demo_sheet


def fill(img, layout, idx, grey=40, frac=0.85, dx=0.0):
    y, x = layout.centres_mm[idx]
    cv2.circle(img, (int(round((x + dx) * PPM)), int(round(y * PPM))), int(layout.bubble_r_mm * frac * PPM), grey, -1)


def marked_sheet(blank, layout, answers, participant=None, version="101", grey=40):
    img = blank.copy()
    for g in layout.question_groups:
        for lab in answers.get(g.key, ""):
            fill(img, layout, g.first + g.labels.index(lab), grey)
    for kind, value in ((GroupKind.PARTICIPANT, participant), (GroupKind.VERSION, version)):
        if value:
            for d, g in zip(value, layout.digit_groups(kind)):
                fill(img, layout, g.first + int(d), grey)
    return img


def rotation_matrix(shape, deg, pad=120):
    """Pad by ``pad`` then rotate about the centre into a canvas that holds the whole rotated page."""
    h, w = shape[0] + 2 * pad, shape[1] + 2 * pad
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return m, (nw, nh)


def rotate(img, deg, pad=120):
    m, size = rotation_matrix(img.shape, deg, pad)
    img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderValue=255)


# -- decisions on exact numbers -----------------------------------------------------------------------
def tiny_layout(n_questions=3, options=4):
    return layout_from_dict({
        "id": "t", "contest": "t", "paper": {"width_mm": 210, "height_mm": 297}, "qr": {"x_mm": 150, "y_mm": 30},
        "questions": {"options": list("ABCDEFGH"[:options]),
                      "blocks": [{"first": 1, "count": n_questions, "x_mm": 30, "y_mm": 30}]}})


def test_classify_marked_blank_ambiguous_erased():
    lay = tiny_layout()
    th = Thresholds(blank=0.1, mark=0.7, lo=0.1 + 0.28 * 0.6, hi=0.1 + 0.5 * 0.6)
    fills = np.array([0.75, 0.08, 0.10, 0.09,      # clear A
                      0.80, 0.30, 0.07, 0.09,      # clear A with a light erasure on B
                      0.32, 0.07, 0.09, 0.08])     # a lone light mark on A → doubt
    idx, state, conf = classify(fills, lay.question_groups, th)
    states = [STATE_ORDER[s] for s in state]
    assert states[:4] == [MarkState.MARKED, MarkState.BLANK, MarkState.BLANK, MarkState.BLANK]
    assert states[4:8] == [MarkState.MARKED, MarkState.ERASED, MarkState.BLANK, MarkState.BLANK]
    assert states[8] is MarkState.AMBIGUOUS
    assert conf[0] > 0.9 and conf[2] <= 0.5


def test_thresholds_adapt_to_light_pencil():
    lay = tiny_layout(n_questions=40)
    rng = np.random.default_rng(3)
    f = rng.normal(0.08, 0.02, 160)
    f[::4] = rng.normal(0.45, 0.04, 40)              # light pencil marks on option A
    th = page_thresholds(f, lay.question_groups)
    assert 0.40 < th.mark < 0.50 and 0.05 < th.blank < 0.11
    assert th.lo < th.hi < 0.35                       # a 0.45 pencil mark is clearly marked on this page


def test_digits_and_participant_decisions():
    blank = (MarkState.BLANK,) * 10

    def col(key, digit=None, extra=None):
        st = list(blank)
        for d in (digit, extra):
            if d is not None:
                st[d] = MarkState.MARKED
        marked = "".join(str(i) for i, s in enumerate(st) if s is MarkState.MARKED)
        return GroupRead(key, marked, tuple(st), (0.0,) * 10, 0.9)

    value, text, flags = digits_from_groups((col("1", 4), col("2", 2)), "participant")
    assert (value, text, flags) == ("42", "42", [])
    value, text, flags = digits_from_groups((col("1", 4), col("2", 2, 7), col("3")), "participant")
    assert value is None and text == "4??"
    assert [(f.key, f.reason) for f in flags] == [("2", "multiple_marks_in_digit"), ("3", "blank_digit")]

    qr = QrResult(QrPayload("c", "l", 1, "123456"), None)
    assert decide_participant(qr, None, "??????", [Flag("participant", str(i), "blank_digit", "", 0.0)
                                                    for i in range(1, 7)]) == ("123456", [])
    assert decide_participant(qr, "123456", "123456", []) == ("123456", [])
    pid, flags = decide_participant(qr, "123457", "123457", [])
    assert pid == "123456" and flags[0].reason == "participant_mismatch"
    none = QrResult(None, "not_found")
    assert decide_participant(none, "654321", "654321", []) == ("654321", [])
    pid, flags = decide_participant(none, None, "65?321", [Flag("participant", "3", "blank_digit", "", 0.0)])
    assert pid is None and flags[0].reason == "blank_digit"


# -- alignment ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("deg", [0, 7.5, 90, 180, 270, -96])
def test_alignment_any_rotation(blank_sheet, demo_layout, deg):
    img = rotate(blank_sheet, deg)
    al = align(img, demo_layout)
    assert al.markers == 4 and al.residual_mm < 0.15
    assert abs(((al.rotation_deg - deg) + 180) % 360 - 180) < 0.3
    assert abs(al.px_per_mm - PPM) < 0.05
    # the bubble of question 1, option A lands where rotating its printed position says
    y, x = demo_layout.centres_mm[demo_layout.question_groups[0].first]
    expected = np.array([x * PPM - 0.5 + 120, y * PPM - 0.5 + 120, 1.0])
    m, _ = rotation_matrix(blank_sheet.shape, deg)
    got = al.map_mm(np.array([[x, y]]))[0]
    assert np.abs(got - m @ expected).max() < 1.0


def test_perspective_photo_aligns(blank_sheet, demo_layout):
    h, w = blank_sheet.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[180, 140], [w + 60, 60], [w + 10, h + 200], [120, h + 120]])
    big = cv2.warpPerspective(blank_sheet, cv2.getPerspectiveTransform(src, dst), (w + 300, h + 320),
                              borderValue=90)
    al = align(big, demo_layout)
    assert al.residual_mm < 0.3


def test_blank_page_and_half_sheet_are_rejected_with_reasons(blank_sheet, demo_layout):
    with pytest.raises(AlignmentError, match="no corner markers") as ei:
        align(np.full((1754, 1240), 235, np.uint8), demo_layout)
    assert ei.value.code == "not_a_sheet"
    half = blank_sheet[: blank_sheet.shape[0] // 2]
    with pytest.raises(AlignmentError, match="only 2 of 4 corner markers") as ei:
        align(half, demo_layout)
    assert ei.value.code == "partial_sheet"


# -- whole page -----------------------------------------------------------------------------------------
def test_read_page_reads_marks_ids_and_version_exactly(blank_sheet, demo_layout):
    rng = np.random.default_rng(7)
    answers = {g.key: g.labels[rng.integers(0, 4)] for g in demo_layout.question_groups}
    answers["5"] = ""            # skipped
    answers["6"] = "AC"          # two clear marks: read as both, not a doubt
    img = rotate(marked_sheet(blank_sheet, demo_layout, answers, participant="123456", version="103"), 183)
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])
    page = Page(cv2.imdecode(jpg, cv2.IMREAD_GRAYSCALE), "x.jpg", 1, None)
    r = read_page(page, demo_layout)
    assert r.status is Status.OK, [f.to_json() for f in r.flags]
    assert r.answers == answers
    assert (r.participant, r.version, r.participant_bubbles) == ("123456", "103", "123456")
    assert r.qr == {"contest": "demo", "layout": "demo-a4-100", "page": "1", "participant": "123456"}


def test_light_smudge_beside_a_mark_is_not_an_answer_but_alone_it_is_a_doubt(blank_sheet, demo_layout):
    answers = {g.key: "B" for g in demo_layout.question_groups}
    answers["2"] = ""
    img = marked_sheet(blank_sheet, demo_layout, answers, participant="123456")
    g1, g2 = demo_layout.question_groups[0], demo_layout.question_groups[1]
    fill(img, demo_layout, g1.first + 0, grey=215)          # erased A beside the clear B of question 1
    fill(img, demo_layout, g2.first + 3, grey=160, frac=0.7)  # a faint lone mark on question 2
    r = read_page(Page(img, "x.png", 1, DPI), demo_layout)
    assert r.answers["1"] == "B"
    assert "1" not in {f.key for f in r.flags}
    assert [f.key for f in r.flags if f.target == "question"] == ["2"]
    assert r.status is Status.FLAGGED
    flag = next(f for f in r.flags if f.key == "2")
    assert flag.reason == "ambiguous_mark" and len(flag.values) == 4 and flag.confidence <= 0.5


def test_participant_mismatch_between_qr_and_bubbles_is_flagged(blank_sheet, demo_layout):
    img = marked_sheet(blank_sheet, demo_layout, {"1": "A"}, participant="123465")
    r = read_page(Page(img, "x.png", 1, DPI), demo_layout)
    assert r.participant == "123456"
    assert any(f.reason == "participant_mismatch" for f in r.flags) and r.status is Status.FLAGGED


def test_sheet_of_another_layout_is_rejected(tmp_path, demo_layout):
    raw = json.loads(DEMO_LAYOUT.read_text(encoding="utf-8"))
    raw["id"] = "other-layout"
    other = layout_from_dict(raw)
    render_sheets(other, tmp_path / "o.pdf", copies=1)
    r = read_page(Page(rasterise(tmp_path / "o.pdf"), "o", 1, DPI), demo_layout)
    assert r.reason_code is Reject.WRONG_LAYOUT and "other-layout" in r.reason


def test_omr_read_accounts_for_every_file(tmp_path, blank_sheet, demo_layout):
    inp = tmp_path / "in"
    (inp / "sub").mkdir(parents=True)
    img = marked_sheet(blank_sheet, demo_layout, {g.key: "D" for g in demo_layout.question_groups},
                       participant="123456", version="102")
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    (inp / "good.jpg").write_bytes(jpg.tobytes())
    (inp / "sub" / "cut.jpg").write_bytes(jpg.tobytes()[:5000])
    (inp / "sub" / "blank.png").write_bytes(cv2.imencode(".png", np.full((1754, 1240), 240, np.uint8))[1].tobytes())
    (inp / "readme.txt").write_text("không phải bài thi", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    for workers in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "omr.cli", "read", str(inp), str(tmp_path / "missing.jpg"),
                            "--layout", str(DEMO_LAYOUT), "--json-out", str(out), "--workers", workers],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == ExitCode.FINISHED_WITH_REJECTS, p.stderr
        rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        by = {(r["source"].rsplit("/", 1)[-1]): r for r in rows}
        assert len(rows) == 5
        assert by["good.jpg"]["status"] == "ok" and by["good.jpg"]["answers"]["100"] == "D"
        assert by["good.jpg"]["participant"] == "123456" and by["good.jpg"]["version"] == "102"
        assert by["cut.jpg"]["reason_code"] == "truncated"
        assert by["blank.png"]["reason_code"] == "not_a_sheet" and by["blank.png"]["page"] == 1
        assert by["readme.txt"]["reason_code"] == "unsupported_type"
        assert by["missing.jpg"]["reason_code"] == "not_found"
        assert "ok 1 · flagged 0 · rejected 4" in p.stderr


def test_omr_read_records_a_file_name_that_is_not_utf8_with_its_exact_bytes(tmp_path, blank_sheet, demo_layout):
    """Four scans, one named by bytes that are not UTF-8 (as a Windows share or an old archive leaves them), one
    with a decomposed (NFD) Vietnamese name: all four are read and written; the odd name as an escaped string
    plus its exact bytes (base64), from which the file opens again; the NFD name exactly as given."""
    inp = tmp_path / "scans"
    inp.mkdir()
    odd = os.path.join(str(inp), os.fsdecode(b"\xff\xfe.jpg"))
    nfd = os.path.join(str(inp), unicodedata.normalize("NFD", "bài thi.jpg"))
    data = {}
    for path, answer in ((str(inp / "1.jpg"), "A"), (odd, "B"), (nfd, "C"), (str(inp / "4.jpg"), "D")):
        img = marked_sheet(blank_sheet, demo_layout, {g.key: answer for g in demo_layout.question_groups},
                           participant="123456", version="102")
        data[path] = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
        with open(path, "wb") as f:
            f.write(data[path])
    out = tmp_path / "r.jsonl"
    for workers in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "omr.cli", "read", str(inp), "--layout", str(DEMO_LAYOUT),
                            "--json-out", str(out), "--workers", workers], capture_output=True, text=True, timeout=300)
        assert p.returncode == ExitCode.OK, p.stderr
        assert "read 4 file(s), 4 page(s)" in p.stderr and "ok 4 · flagged 0 · rejected 0" in p.stderr
        rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == 4
        by = {r["answers"]["1"]: r for r in rows}
        assert by["B"]["source"] == str(inp) + "/\\xff\\xfe.jpg"
        raw = base64.b64decode(by["B"]["source_bytes"])
        assert raw == os.fsencode(odd)
        with open(raw, "rb") as f:
            assert f.read() == data[odd]
        assert by["C"]["source"] == nfd and by["C"]["source"] != unicodedata.normalize("NFC", nfd)
        with open(by["C"]["source"], "rb") as f:
            assert f.read() == data[nfd]
        assert [k for k, r in sorted(by.items()) if "source_bytes" in r] == ["B"]
        assert all(r["status"] == "ok" and r["participant"] == "123456" for r in rows)


def _over_marker(img, layout, k, margin_mm, paint):
    """Paint over corner marker ``k`` and ``margin_mm`` round it."""
    r = layout.fiducial_rects()[k]
    y0, x0 = int((r.y_mm - margin_mm) * PPM), int((r.x_mm - margin_mm) * PPM)
    y1, x1 = int((r.y_mm + r.h_mm + margin_mm) * PPM), int((r.x_mm + r.w_mm + margin_mm) * PPM)
    img[y0:y1, x0:x1] = paint(img[y0:y1, x0:x1])


def test_a_page_aligned_on_three_markers_is_flagged_for_review(blank_sheet, demo_layout):
    img = marked_sheet(blank_sheet, demo_layout, {g.key: "C" for g in demo_layout.question_groups},
                       participant="123456")
    _over_marker(img, demo_layout, 2, 1, lambda a: np.full_like(a, 250))   # cover the bottom-right marker
    r = read_page(Page(img, "x.png", 1, DPI), demo_layout)
    assert r.alignment["markers"] == 3
    assert r.status is Status.FLAGGED and [f.reason for f in r.flags if f.target == "page"] == ["three_markers"]
    assert r.answers["100"] == "C"


def _photographed(img):
    """The sheet photographed at a slant (a perspective the markers must follow), and the mapping used."""
    h, w = img.shape
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]),
                                    np.float32([[180, 140], [w + 60, 60], [w + 10, h + 260], [120, h + 120]]))
    return cv2.warpPerspective(img, m, (w + 300, h + 380), borderValue=90), m


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_a_marker_too_blurred_to_decode_is_found_as_the_dark_square_where_the_other_three_put_it(
        blank_sheet, demo_layout, k):
    """A marker whose bits a blur has merged is no ArUco marker to the detector, but still a dark square of the
    right size where the other three say: found there, checked against the printed pattern, it gives the fourth
    corner a three-marker fit lacks."""
    img = marked_sheet(blank_sheet, demo_layout, {g.key: "B" for g in demo_layout.question_groups},
                       participant="123456")
    _over_marker(img, demo_layout, k, 3, lambda a: cv2.GaussianBlur(a, (0, 0), 6.0))
    photo, m = _photographed(img)
    assert len(find_fiducials(photo, demo_layout)[0]) == 3          # the detector alone: three
    al = align(photo, demo_layout)
    assert al.markers == 4 and al.search.endswith("+square") and al.residual_mm < 0.5
    mm = np.asarray(demo_layout.centres_mm)[:, ::-1]                # every bubble lands where it was printed
    truth = cv2.perspectiveTransform((mm * PPM - 0.5).reshape(-1, 1, 2), m).reshape(-1, 2)
    assert np.abs(al.map_mm(mm) - truth).max() < 0.25 * PPM
    r = read_page(Page(photo, "photo.png", 1, None), demo_layout)
    assert r.alignment["markers"] == 4 and not [f for f in r.flags if f.target == "page"]
    assert set(r.answers.values()) == {"B"}


def test_a_dark_square_that_is_not_the_marker_is_not_taken_for_it(blank_sheet, demo_layout):
    """A marker blacked out (ink spilt, a sticker) is a dark square of the right size, but not the marker's
    pattern: the sheet stays on three markers, flagged for review."""
    img = blank_sheet.copy()
    _over_marker(img, demo_layout, 2, 0, lambda a: np.full_like(a, 30))
    photo, _ = _photographed(img)
    al = align(photo, demo_layout)
    assert al.markers == 3 and "+square" not in al.search


def test_a_small_sheet_in_a_big_photo_gets_a_full_resolution_second_look(tmp_path, blank_sheet, demo_layout):
    from omr.load import LoadOptions, plan_pages
    from omr.read import read_ref

    sheet = marked_sheet(blank_sheet, demo_layout, {g.key: "A" for g in demo_layout.question_groups},
                         participant="123456")
    small = cv2.resize(sheet, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)   # ~112 dpi
    photo = np.full((3600, 2700), 120, np.uint8)                # a desk around a sheet covering ~1/4 of it
    photo[900:900 + small.shape[0], 700:700 + small.shape[1]] = small
    path = tmp_path / "photo.jpg"
    path.write_bytes(cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
    ref = plan_pages(str(path), LoadOptions())[0]
    rec = read_ref(ref, demo_layout, LoadOptions())
    assert rec.alignment["decode_scale"] == 1.0                 # the first look was at ½ scale (≈56 dpi)
    assert 100 < rec.alignment["dpi"] < 125
    assert rec.answers["1"] == "A" and rec.participant == "123456"


def crash_on_bad(refs):
    """A worker function that kills its own process on a page named 'bad' (as a segfault would)."""
    import os as _os

    from omr.read import _work
    if any("bad" in r.path for r in refs):
        _os._exit(139)
    return _work(refs)


def test_a_worker_that_dies_does_not_kill_the_batch(tmp_path, blank_sheet, demo_layout):
    from omr.load import LoadOptions, plan_pages
    from omr.read import ReadOptions, run_pages

    img = marked_sheet(blank_sheet, demo_layout, {g.key: "B" for g in demo_layout.question_groups},
                       participant="123456")
    jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
    names = [f"s{i:02d}.jpg" for i in range(12)]
    names[5] = "bad.jpg"
    refs = []
    for n in names:
        (tmp_path / n).write_bytes(jpg)
        refs += plan_pages(str(tmp_path / n), LoadOptions())
    recs = list(run_pages(refs, demo_layout, ReadOptions(workers=2, chunk_pages=2), work=crash_on_bad))
    assert [r.source.rsplit("/", 1)[-1] for r in recs] == names          # every page once, in order
    bad = recs[5]
    assert bad.status is Status.REJECTED and bad.reason_code is Reject.INTERNAL and "crashed" in bad.reason
    assert all(r.status is Status.OK and r.answers["7"] == "B" for i, r in enumerate(recs) if i != 5)


def test_sigterm_of_omr_read_stops_like_ctrl_c_with_exit_143(tmp_path, blank_sheet, demo_layout):
    """SIGTERM while two workers read: exit 143, "run the same command again" on stderr, no process left."""
    img = marked_sheet(blank_sheet, demo_layout, {g.key: "A" for g in demo_layout.question_groups},
                       participant="123456")
    jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
    for i in range(200):
        (tmp_path / f"s{i:03d}.jpg").write_bytes(jpg)
    cmd = [sys.executable, "-m", "omr.cli", "read", str(tmp_path), "--layout", str(DEMO_LAYOUT),
           "--json-out", str(tmp_path / "out" / "r.jsonl"), "--workers", "2"]
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    tree = ProcessTree(proc)
    try:
        tree.wait_for_workers(2)
        tree.snapshot()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 143
        assert "omr read: stopped by SIGTERM: run the same command again" in \
            (tmp_path / "stderr.txt").read_text(encoding="utf-8")
        assert tree.survivors(within=20) == []
    finally:
        tree.kill_all()


def _omr_read(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "omr.cli", "read", *map(str, args), "--layout", str(DEMO_LAYOUT)],
                          capture_output=True, text=True, timeout=timeout)


def test_an_empty_folder_says_so_with_its_own_exit_code(tmp_path):
    (tmp_path / "empty" / ".thumbs").mkdir(parents=True)
    (tmp_path / "empty" / ".hidden.jpg").write_bytes(b"x")
    p = _omr_read(tmp_path / "empty", "--json-out", tmp_path / "r.jsonl")
    assert p.returncode == ExitCode.NO_INPUT == 11
    assert f"no file to read in {tmp_path / 'empty'}" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_results_that_cannot_be_written_are_exit_8_not_a_traceback(tmp_path):
    scans = ROOT / "samples" / "set-small" / "clean" / "sheets"
    p = _omr_read(scans, "--json-out", "/dev/full")
    assert p.returncode == ExitCode.OUTPUT, p.stderr
    assert "cannot write /dev/full: No space left on device" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("quarter", [0, 1, 2, 3])
@pytest.mark.parametrize("skew", [0.0, 2.5, -4.0])
def test_scanned_page_aligns_in_its_corner_windows_at_every_rotation(blank_sheet, demo_layout, quarter, skew):
    """A scan (the page nearly fills the image, markers near its corners) fed any way round and a little skewed
    is found by the corner-window search alone, and maps the bubbles where the rotation puts them."""
    pad = int(0.05 * max(blank_sheet.shape))
    img = np.rot90(cv2.copyMakeBorder(blank_sheet, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255), quarter)
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), skew, 1.0)
    img = cv2.warpAffine(np.ascontiguousarray(img), m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    al = align(img, demo_layout)
    assert al.search == "corners" and al.markers == 4 and al.residual_mm < 0.15
    assert abs(((al.rotation_deg - (90 * quarter + skew)) + 180) % 360 - 180) < 0.3
    y, x = demo_layout.centres_mm[demo_layout.question_groups[0].first]
    p = np.array([x * PPM - 0.5 + pad, y * PPM - 0.5 + pad])
    size = np.array(blank_sheet.shape[::-1]) + 2 * pad          # (width, height) before turning
    for _ in range(quarter):                                     # np.rot90: (x, y) → (y, width - 1 - x)
        p = np.array([p[1], size[0] - 1 - p[0]])
        size = size[::-1]
    expected = m @ np.array([p[0], p[1], 1.0])
    assert np.abs(al.map_mm(np.array([[x, y]]))[0] - expected).max() < 1.0


def test_second_look_at_full_resolution_keeps_the_better_reading():
    from omr.read import _worse
    four = SheetReading("a.jpg", 1, "t", Status.OK, None, None, {}, (), alignment={"markers": 4.0})
    three = SheetReading("a.jpg", 1, "t", Status.FLAGGED, None, None, {}, (), alignment={"markers": 3.0})
    failed = SheetFailure("a.jpg", 1, Reject.PARTIAL_SHEET, "cut off")
    assert _worse(three, four) and _worse(failed, four)
    assert not _worse(four, three) and not _worse(four, four) and not _worse(three, failed)
    assert not _worse(failed, failed)
