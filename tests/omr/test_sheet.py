import subprocess
import sys

import numpy as np
import pikepdf
import pytest

from omr.align import align, find_fiducials
from omr.errors import ExitCode, InputError
from omr.identify import read_qr
from omr.qrpayload import QrPayload, decode_payload
from omr.sheet import Participant, read_roster, render_sheets
from tests.conftest import rasterise

PEOPLE = [Participant("012345", "Nguyễn Thị Hương Giang", "Quận Ba Đình"),
          Participant("998877", "Trần Đức Việt", "Sở Giáo dục và Đào tạo")]


@pytest.fixture(scope="module")
def roster_pdf(tmp_path_factory, demo_layout):
    out = tmp_path_factory.mktemp("sheet") / "roster.pdf"
    assert render_sheets(demo_layout, out, participants=PEOPLE) == 2
    return out


@pytest.mark.parametrize("dpi", [150, 300])
def test_rasterised_sheet_has_four_fiducials_where_the_layout_says(roster_pdf, demo_layout, dpi):
    img = rasterise(roster_pdf, dpi)
    assert abs(img.shape[0] - 297 / 25.4 * dpi) <= 1 and abs(img.shape[1] - 210 / 25.4 * dpi) <= 1
    found, search = find_fiducials(img, demo_layout)
    assert sorted(found) == [0, 1, 2, 3] and search == "corners"
    expected = demo_layout.fiducial_corners_mm() * dpi / 25.4 - 0.5    # pixel-centre convention
    for i in range(4):
        assert np.abs(found[i] - expected[i]).max() < 0.6, (i, found[i], expected[i])
    al = align(img, demo_layout)
    assert al.residual_mm < 0.1 and abs(al.rotation_deg) < 0.05
    assert abs(al.px_per_mm * 25.4 - dpi) < 0.5


def test_qr_decodes_to_what_was_asked(roster_pdf, demo_layout):
    for page, person in enumerate(PEOPLE, start=1):
        img = rasterise(roster_pdf, 200, page)
        qr = read_qr(img, align(img, demo_layout), demo_layout)
        assert qr.payload == QrPayload("demo", "demo-a4-100", 1, person.id)


def test_blank_sheets_have_no_participant_in_qr(tmp_path, demo_layout):
    out = tmp_path / "blank.pdf"
    assert render_sheets(demo_layout, out, copies=3) == 3
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
    img = rasterise(out, 150, 3)
    assert read_qr(img, align(img, demo_layout), demo_layout).payload == QrPayload("demo", "demo-a4-100", 1, None)


def test_vietnamese_text_is_real_text_in_an_embedded_truetype_font(roster_pdf):
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(roster_pdf), "-"], check=True,
                          capture_output=True, timeout=60).stdout.decode("utf-8")
    for s in ("PHIẾU TRẢ LỜI TRẮC NGHIỆM", "Nguyễn Thị Hương Giang", "Quận Ba Đình", "SỐ BÁO DANH", "MÃ ĐỀ",
              "Tô kín một ô tròn cho mỗi câu hỏi."):
        assert s in text, s
    fonts = subprocess.run(["pdffonts", str(roster_pdf)], check=True, capture_output=True, timeout=60).stdout.decode()
    rows = [r for r in fonts.splitlines()[2:] if r.strip()]
    assert rows and all(" yes " in r for r in rows), fonts          # every font embedded
    assert any("TrueType" in r for r in rows), fonts


def test_printed_sheet_is_white_where_bubbles_are_empty(roster_pdf, demo_layout):
    """Blank bubbles are light inside (letters in grey), so an empty sheet never reads as marked."""
    dpi = 200
    img = rasterise(roster_pdf, dpi).astype(float)
    ppm = dpi / 25.4
    for g in demo_layout.question_groups[:10]:
        for i in g.indices:
            y, x = demo_layout.centres_mm[i] * ppm
            r = int(demo_layout.bubble_r_mm * 0.6 * ppm)
            patch = img[int(y) - r:int(y) + r, int(x) - r:int(x) + r]
            assert patch.mean() > 200, (g.key, patch.mean())


def test_roster_problems_are_listed(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("participant_id,name\n1,An\n,Bình\n1,Chi\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_roster(bad)
    assert "line 3: needs participant_id and name" in str(ei.value)
    assert "line 4: participant_id 1 appears twice" in str(ei.value)
    good = tmp_path / "g.csv"
    good.write_text("\ufeffid,name,unit\n042,Lê Văn Ánh,Quận Hoàn Kiếm\n", encoding="utf-8")
    assert read_roster(good) == [Participant("042", "Lê Văn Ánh", "Quận Hoàn Kiếm")]


def test_cli_sheet_and_layout_exit_codes(tmp_path):
    from tests.conftest import DEMO_LAYOUT
    omr = [sys.executable, "-m", "omr.cli"]
    roster = tmp_path / "r.csv"
    roster.write_text("participant_id,name\n7,Phạm Thu Hà\n", encoding="utf-8")
    out = tmp_path / "o.pdf"
    r = subprocess.run(omr + ["sheet", str(DEMO_LAYOUT), "--roster", str(roster), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1
    bad = tmp_path / "layout.json"
    bad.write_text('{"id": "x"}', encoding="utf-8")
    r = subprocess.run(omr + ["layout", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == ExitCode.BAD_LAYOUT
    assert "contest: missing" in r.stderr and "paper: missing" in r.stderr
    r = subprocess.run(omr + ["sheet", str(DEMO_LAYOUT), "--roster", str(tmp_path / "none.csv"), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == ExitCode.INPUT and "cannot read roster" in r.stderr


def test_payload_roundtrip_escapes_separators():
    p = QrPayload("hà nội|2026", "a4", 2, "0|1")
    assert decode_payload(p.encode()) == p
