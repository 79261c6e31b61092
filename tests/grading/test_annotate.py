"""Annotated sheets: the right colours in the right places, and the command end to end."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from grading.reports.annotate import BLUE, GREEN, ORANGE, PX_PER_MM, RED, PageToAnnotate, overlay
from grading.keys import load_keys

ROOT = Path(__file__).resolve().parents[2]
CONTEST = ROOT / "answer_keys" / "demo"


def colour_near(img, layout, idx, colour, px_per_mm=PX_PER_MM):
    """Pixels of exactly ``colour`` on the ring drawn around bubble ``idx``."""
    y, x = layout.centres_mm[idx] * px_per_mm
    r = int(round((layout.bubble_r_mm + 0.6) * px_per_mm))
    patch = img[int(y) - r - 3:int(y) + r + 4, int(x) - r - 3:int(x) + r + 4]
    return int(np.all(patch == np.array(colour, np.uint8), axis=-1).sum())


def test_overlay_marks_correct_wrong_missing_answer_and_doubts(demo_layout):
    keys = load_keys(CONTEST, demo_layout)
    key = keys.get("101")
    q = {g.key: g for g in demo_layout.question_groups}
    right1 = sorted(set().union(*key.item("1").accept))[0]
    wrong2 = next(lab for lab in "ABCD" if lab not in set().union(*key.item("2").accept))
    page = PageToAnnotate(1, "x.jpg", 1, "123456", "101",
                          {"1": {"outcome": "correct", "marked": right1},
                           "2": {"outcome": "wrong", "marked": wrong2},
                           "3": {"outcome": "unreadable", "marked": ""}},
                          key, (("question", "3"),))
    h, w = int(297 * PX_PER_MM), int(210 * PX_PER_MM)
    img = overlay(np.full((h, w, 3), 255, np.uint8), demo_layout, page)
    assert img.shape[0] > h                                   # the legend strip is added below
    g1, g2, g3 = q["1"], q["2"], q["3"]
    assert colour_near(img, demo_layout, g1.first + g1.labels.index(right1), GREEN) > 20
    assert colour_near(img, demo_layout, g2.first + g2.labels.index(wrong2), RED) > 20
    right2 = sorted(set().union(*key.item("2").accept))[0]
    assert colour_near(img, demo_layout, g2.first + g2.labels.index(right2), BLUE) > 20
    assert colour_near(img, demo_layout, g3.first, ORANGE) > 10     # the box around a question under review
    assert colour_near(img, demo_layout, g1.first + g1.labels.index(right1), RED) == 0


def test_omr_annotate_writes_one_image_per_graded_page(tmp_path):
    scans = ROOT / "samples" / "set-small" / "scanner" / "sheets"
    files = sorted(scans.glob("*.jpg"))[:2]
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    omr = [sys.executable, "-m", "grading.cli"]
    g = subprocess.run(omr + ["grade", *map(str, files), "--contest", str(CONTEST), "--db", db, "--workers", "1"],
                       capture_output=True, text=True, timeout=300)
    assert g.returncode in (0, 3), g.stderr
    out = tmp_path / "annotated"
    a = subprocess.run(omr + ["annotate", "--contest", str(CONTEST), "--db", db, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert a.returncode == 0, a.stderr
    images = sorted(out.glob("*.jpg"))
    assert len(images) == 2 and "wrote 2 annotated page(s)" in a.stdout
    img = cv2.imread(str(images[0]))
    assert img.shape[1] == int(round(210 * PX_PER_MM))
    # a moved scan is reported, not fatal, and the exit code says something was left out
    moved = tmp_path / "moved"
    db2 = f"sqlite:///{tmp_path / 'r2.sqlite'}"
    copy = tmp_path / "one.jpg"
    copy.write_bytes(files[0].read_bytes())
    subprocess.run(omr + ["grade", str(copy), "--contest", str(CONTEST), "--db", db2, "--workers", "1"],
                   capture_output=True, text=True, timeout=300)
    copy.unlink()
    a = subprocess.run(omr + ["annotate", "--contest", str(CONTEST), "--db", db2, "--out", str(moved)],
                       capture_output=True, text=True, timeout=300)
    assert a.returncode == 4 and "cannot be opened any more" in a.stderr


def test_judges_view_hides_right_and_wrong(demo_layout):
    from grading.reports.annotate import NEUTRAL, READ_ONLY

    keys = load_keys(CONTEST, demo_layout)
    key = keys.get("101")
    right1 = sorted(set().union(*key.item("1").accept))[0]
    page = PageToAnnotate(1, "x.jpg", 1, "123456", "101", {"1": {"outcome": READ_ONLY, "marked": right1}}, None, ())
    img = overlay(np.full((int(297 * PX_PER_MM), int(210 * PX_PER_MM), 3), 255, np.uint8), demo_layout, page)
    g1 = demo_layout.question_groups[0]
    i = g1.first + g1.labels.index(right1)
    assert colour_near(img, demo_layout, i, NEUTRAL) > 20
    assert colour_near(img, demo_layout, i, GREEN) == 0 and colour_near(img, demo_layout, i, RED) == 0


def test_a_judges_question_picture_is_the_same_pixels_as_a_cut_from_the_whole_page(tmp_path, demo_layout):
    """The crop a judge waits for straightens only the question's window; it must show exactly what cutting the
    whole straightened, overlaid page would show (same warp, same rings, same box)."""
    from grading.store import Store
    from grading.reports.annotate import pages_to_annotate
    from grading.webapp.images import page_canvas, question_picture

    scan = sorted((ROOT / "samples" / "set-small" / "scanner" / "sheets").glob("*.jpg"))[0]
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    g = subprocess.run([sys.executable, "-m", "grading.cli", "grade", str(scan), "--contest", str(CONTEST),
                        "--db", db, "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert g.returncode in (0, 3), g.stderr
    with Store.open(db) as store:
        page_id = next(pages_to_annotate(store)).page_id
        canvas = page_canvas(store, demo_layout, page_id)
        checked = 0
        for q in ("1", "37", "100"):
            grp = next(g for g in demo_layout.question_groups if g.key == q)
            fills = [0.1 * k for k in range(grp.size)]
            pic = question_picture(store, demo_layout, page_id, q, fills, scale=1.0)
            s = PX_PER_MM
            ys = [demo_layout.centres_mm[i][0] for i in grp.indices]
            xs = [demo_layout.centres_mm[i][1] for i in grp.indices]
            top, left = int((min(ys) - 9.0) * s), max(0, int((min(xs) - 18.0) * s))
            body = pic[:-34]                                           # the fills band is under the picture
            cut = canvas.image[top:top + body.shape[0], left:left + body.shape[1]]
            assert body.shape == cut.shape and body.shape[0] > 50
            # inside a 2-px border (where anti-aliased strokes of shapes outside the window bleed in on the page)
            assert np.abs(body.astype(int) - cut.astype(int))[2:-2, 2:-2].max() <= 2, q
            assert (body[2:-2, 2:-2] < 128).sum() > 500                 # printed bubbles and marks are there
            assert (pic[-34:] != 255).any()                              # the measured fills are written
            checked += 1
    assert checked == 3
