"""Honest sample sets: real sheet PDFs rasterised by poppler, filled by hand-like marks, scanned or photographed.

This is the yardstick for every accuracy figure of the reader, so it never imports reader code
(``omr.align``, ``omr.marks``, ``omr.read``). It uses the renderer (``omr.sheet``) exactly as a contest would:
the generic sheet, or personalised sheets whose QR carries the participant id.

Output of ``generate_set(layout, out, profile=..., n=..., seed=...)``::

    out/sheets/00001.jpg …      one image per page (or, for fmt="pdf", out/sheets/set.pdf: one JPEG per page)
    out/truth.jsonl             one JSON object per output page, in page order
    out/roster.csv              participant_id,name,unit (UTF-8)

Truth of a sheet page (``"kind": "sheet"``, ``"expect": "read"``):

* ``answers``: per question id, the option letters a careful human reads, in layout order ("" = blank,
  "AC" = two clear fills). For a question listed in ``ambiguous`` the value is the participant's evident
  intent (the ticked / re-marked / faintly filled option; "" for an erasure alone); a reader should flag
  those questions for a human rather than be scored on them.
* ``participant`` / ``version``: what the digit bubbles say, one character per column, "?" for a column
  left blank or filled twice; ``participant_ambiguous`` / ``version_ambiguous`` are true when a "?" occurs.
  ``participant_intended`` is the roster id (what the participant meant); ``qr_participant`` the id in the
  QR of a personalised sheet (always the intended id) or null on a generic sheet. On personalised sheets
  the participant sometimes leaves the ID bubbles blank (the id is printed), or rarely bubbles a wrong digit.
* ``marks`` / ``cases``: details of every non-plain question or digit column (digit columns keyed
  ``participant:3``, ``version:1``), for debugging.
* ``degradation``: every sampled parameter, plus ``homography_mm_to_px``: the 3x3 matrix mapping a
  layout point (x_mm, y_mm, 1) to output-image pixel coordinates (pixel centres at integers), and
  ``image_size`` [width, height].

Non-sheet pages (``extras=True``) carry ``"expect": "rejected"`` and ``kind`` in
{"blank", "essay", "half_sheet", "not_a_sheet"}.

Every page i is drawn from a random generator seeded by (seed, i) alone: output does not depend on
``workers``. Run ``python -m samples.generator --help`` for the command-line entry (also builds the small
committed set).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from omr.errors import BadArguments, MissingDependency, OmrError, OutputError
from omr.external import ExternalError, ExternalTimeout
from omr.layout import GroupKind, Layout, load_layout
from omr.load import pdftoppm
from omr.sheet import FONT, Participant, register_fonts, render_sheets
from omr.workers import pool_context, start_worker

from . import degrade as dg
from . import marks as mk

PROFILES = ("clean", "scanner", "phone")
FORMATS = ("jpg", "png", "pdf")
CHUNK = 4                       # sheets per worker task (fixed: output must not depend on workers)
PDFTOPPM_TIMEOUT_S = 120
EXTRA_KINDS = ("blank", "essay", "half_sheet", "not_a_sheet")
ROSTER_STREAM = 2**31 - 1       # RNG stream id of the roster (sheet streams are 0 … n-1)
FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


class GenerationError(OmrError):
    """Rasterising or writing a sample failed."""


# ---------------------------------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------------------------------
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
           "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Mai", "Tạ", "Đoàn")
_MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Hoài", "Gia", "Bảo", "Xuân",
           "Phương", "Khánh", "Anh", "Thành", "Diệu", "Tuấn", "Mỹ")
_GIVEN = ("An", "Bình", "Châu", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương",
          "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Nhung", "Phong", "Phúc",
          "Phương", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trí", "Trung", "Tuấn", "Tú",
          "Uyên", "Việt", "Vy", "Xuân", "Yến", "Đức", "Ánh", "Ngân", "Lộc", "Huệ", "Khoa", "Thư", "Nhật")
_UNITS = ("Quận Ba Đình", "Quận Hoàn Kiếm", "Quận Đống Đa", "Quận Cầu Giấy", "Quận Hai Bà Trưng",
          "Quận Tây Hồ", "Huyện Sóc Sơn", "Huyện Gia Lâm", "Thị xã Sơn Tây", "Sở Giáo dục và Đào tạo",
          "Phòng Giáo dục và Đào tạo Quận Long Biên", "Trường THPT Chu Văn An", "Trường THCS Nguyễn Trãi",
          "Trường THPT Phan Đình Phùng", "Trường Tiểu học Đoàn Thị Điểm", "Ủy ban nhân dân Phường Láng Hạ",
          "Bệnh viện Đa khoa Đức Giang", "Công ty Điện lực Hà Nội")


def make_roster(n: int, seed: int, digits: int = 6) -> list[Participant]:
    """n participants with unique random ids of ``digits`` digits and Vietnamese names."""
    if n > 10 ** digits:
        raise BadArguments(f"cannot make {n} unique {digits}-digit ids; use fewer sheets")
    rng = np.random.default_rng([seed, ROSTER_STREAM])
    ids = rng.choice(10 ** digits, size=n, replace=False)
    out = []
    for pid in ids:
        name = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
        out.append(Participant(f"{int(pid):0{digits}d}", name, str(rng.choice(_UNITS))))
    return out


def write_roster(path: Path, roster: list[Participant]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["participant_id", "name", "unit"])
        for p in roster:
            w.writerow([p.id, p.name, p.unit])


# ---------------------------------------------------------------------------------------------------
# Rasterising (poppler)
# ---------------------------------------------------------------------------------------------------
def rasterise(pdf: Path, page: int, dpi: int) -> np.ndarray:
    """One PDF page as an 8-bit grey image, by ``pdftoppm`` (with a timeout)."""
    try:
        return pdftoppm(pdf, page, dpi, timeout=PDFTOPPM_TIMEOUT_S)
    except ExternalTimeout:
        raise GenerationError(f"pdftoppm took more than {PDFTOPPM_TIMEOUT_S} s on {pdf} page {page}") from None
    except ExternalError as exc:
        if exc.returncode is None:
            raise MissingDependency("pdftoppm (poppler) is not installed; apt-get install poppler-utils") from None
        if exc.returncode == 0:
            raise GenerationError(f"pdftoppm gave an unreadable image for {pdf} page {page}") from None
        raise GenerationError(f"pdftoppm failed on {pdf} page {page}", details=[exc.stderr[-500:]]) from None


# ---------------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Job:
    """Everything a worker needs; small and picklable."""

    layout: Layout
    profile: str
    profile_cfg: dict[str, Any]
    fmt: str
    seed: int
    out: str                    # the set's folder
    tmp: str                    # scratch folder (templates, chunk PDFs, JPEGs for the PDF)
    versions: tuple[str, ...] = ()   # the contest's test versions to draw from (none: any the grid can hold)
    marks: str = "typical"           # key of samples.marks.MARK_PROFILES: how people mark


@dataclass(frozen=True, slots=True)
class ChunkTask:
    job: Job
    indices: tuple[int, ...]
    participants: tuple[Participant, ...]


@dataclass(frozen=True, slots=True)
class ExtrasTask:
    job: Job
    first_index: int


@dataclass(frozen=True, slots=True)
class PageResult:
    index: int
    truth: dict[str, Any]
    image_path: str             # the written image (for pdf: a JPEG in the scratch folder)
    size: tuple[int, int]       # (width, height) px
    dpi: float
    colour: bool


def _rngs(seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    ss = np.random.SeedSequence([seed, index])
    a, b, c = (np.random.default_rng(s) for s in ss.spawn(3))
    return a, b, c


def _template_path(tmp: str, dpi: int) -> Path:
    return Path(tmp) / f"template-{dpi}.png"


def _file_name(index: int, fmt: str) -> str:
    return f"{index + 1:05d}.{'jpg' if fmt == 'pdf' else fmt}"


def _encode(img: np.ndarray, fmt: str, quality: int) -> bytes:
    if fmt == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    else:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise GenerationError("image encoding failed")
    return buf.tobytes()


def _write_page(job: Job, index: int, img: np.ndarray, quality: int) -> tuple[str, str]:
    """Write the image; returns (path on disk, path relative to the set folder for the truth)."""
    name = _file_name(index, job.fmt)
    path = (Path(job.tmp) if job.fmt == "pdf" else Path(job.out) / "sheets") / name
    try:
        path.write_bytes(_encode(img, job.fmt, quality))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc}") from None
    rel = "sheets/set.pdf" if job.fmt == "pdf" else f"sheets/{name}"
    return str(path), rel


def _mm_to_px_matrix(dpi: float) -> np.ndarray:
    k = dpi / 25.4
    return np.array([[k, 0, -0.5], [0, k, -0.5], [0, 0, 1]], dtype=np.float64)


def _handwriting(layout: Layout, participant: Participant, version: str, *, personalised: bool,
                 boxes: bool, name: bool) -> dict[str, tuple[float, float, str]]:
    """Where a participant writes by hand: the dotted lines (generic sheets) and the digit boxes."""
    texts: dict[str, tuple[float, float, str]] = {}
    if name and not personalised:
        register_fonts()
        for i, (label, value) in enumerate((("Họ và tên", participant.name), ("Đơn vị / Trường", participant.unit),
                                            ("Số báo danh", participant.id))):
            lx = 22.0 + stringWidth(f"{label}: ", FONT, 9.5) / mm
            texts[f"line{i}"] = (lx + 1.0, 30 + i * 7 - 0.3, value)
    if boxes:
        r = layout.bubble_r_mm
        for kind, value in ((GroupKind.PARTICIPANT, None if personalised else participant.id),
                            (GroupKind.VERSION, version)):
            groups = layout.digit_groups(kind)
            if not groups or value is None:
                continue
            top_box = layout.centres_mm[groups[0].first][0] - r - 7.0
            for k, g in enumerate(groups):
                if k < len(value):
                    x = layout.centres_mm[g.first][1]
                    texts[f"box-{kind.value}-{k}"] = (x - 1.3, top_box + 4.9, value[k])
    return texts


def _sheet_page(job: Job, index: int, participant: Participant, personalised: bool, page: np.ndarray,
                params: dict[str, Any], version: str, r_plan: np.random.Generator,
                r_draw: np.random.Generator, r_deg: np.random.Generator) -> PageResult:
    layout = job.layout
    dpi = params["dpi"]
    if params["colour"]:
        page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    plan = mk.plan_sheet(layout, r_plan, participant=participant.id, version=version, personalised=personalised,
                         qfreq=job.profile_cfg.get("question_freq"), dfreq=job.profile_cfg.get("digit_freq"))
    texts = _handwriting(layout, participant, version, personalised=personalised, boxes=plan.write_boxes,
                         name=plan.write_name)
    details = mk.draw_plan(page, layout, plan, dpi=dpi, rng=r_draw, texts=texts)
    img, A = dg.degrade(page, job.profile, params, r_deg)
    H = A @ _mm_to_px_matrix(dpi)
    path, rel = _write_page(job, index, img, params.get("jpeg_quality", 95))
    answers = {gp.key: gp.truth for gp in plan.groups if gp.kind is GroupKind.QUESTION}
    ambiguous = [gp.key for gp in plan.groups if gp.kind is GroupKind.QUESTION and gp.ambiguous]
    qplans = [gp for gp in plan.groups if gp.kind is GroupKind.QUESTION]
    deg = dict(params)
    deg.update(homography_mm_to_px=[[round(float(v), 6) for v in row] for row in H],
               image_size=[int(img.shape[1]), int(img.shape[0])],
               encoding="png" if job.fmt == "png" else "jpeg")
    if job.fmt == "png":
        deg.pop("jpeg_quality", None)
    truth = {
        "file": rel, "page": 1, "kind": "sheet", "expect": "read", "profile": job.profile, "seed": job.seed,
        "index": index, "layout": layout.id, "contest": layout.contest, "personalised": personalised,
        "participant": plan.participant, "participant_ambiguous": "?" in plan.participant,
        "version": plan.version, "version_ambiguous": "?" in plan.version,
        "qr_participant": participant.id if personalised else None,
        "participant_intended": participant.id, "version_intended": version,
        "answers": answers, "ambiguous": ambiguous,
        # what the demo contest's marking rules make of the unusual marks: the questions they leave to a judge
        # (answers still hold the intended answer), and the rule that decides each ruled question
        "marks_profile": job.marks,
        "expect_doubt": [gp.key for gp in qplans if gp.case in mk.DEMO_DOUBT_CASES],
        "by_rule": {gp.key: mk.RULE_OF_CASE[gp.case] for gp in qplans if gp.case in mk.RULE_OF_CASE},
        "marks": details,
        "cases": {k: v[0]["case"] for k, v in details.items()},
        "written": {k: v[2] for k, v in texts.items()},
        "style": {"tool": plan.style.tool, "darkness": round(plan.style.darkness, 3),
                  "stroke_mm": round(plan.style.stroke_mm, 3)},
        "stray_marks": plan.stray,
        "degradation": deg,
    }
    return PageResult(index, truth, path, (int(img.shape[1]), int(img.shape[0])),
                      float(dpi), img.ndim == 3)


def _version_for(layout: Layout, rng: np.random.Generator, versions: tuple[str, ...] = ()) -> str:
    vg = layout.digit_groups(GroupKind.VERSION)
    if versions and vg:
        return str(rng.choice(list(versions)))
    if len(vg) == 3:
        return str(rng.choice(["101", "102", "103", "104"]))
    if not vg:
        return ""
    return "".join(str(int(d)) for d in rng.integers(0, 10, len(vg)))


def _run_chunk(task: ChunkTask) -> list[PageResult]:
    job = task.job
    plans = []
    for index, participant in zip(task.indices, task.participants):
        r_plan, r_draw, r_deg = _rngs(job.seed, index)
        personalised = bool(r_plan.random() < 0.5)
        version = _version_for(job.layout, r_plan, job.versions)
        params = dg.sample_params(job.profile, r_plan, job.profile_cfg)
        plans.append((index, participant, personalised, version, params, r_plan, r_draw, r_deg))
    pers = [p for p in plans if p[2]]
    pdf = Path(job.tmp) / f"personal-{task.indices[0]:05d}.pdf"
    if pers:
        render_sheets(job.layout, pdf, participants=[p[1] for p in pers])
    results = []
    k = 0
    for index, participant, personalised, version, params, r_plan, r_draw, r_deg in plans:
        if personalised:
            k += 1
            page = rasterise(pdf, k, params["dpi"])
        else:
            page = cv2.imread(str(_template_path(job.tmp, params["dpi"])), cv2.IMREAD_GRAYSCALE)
        results.append(_sheet_page(job, index, participant, personalised, page, params, version,
                                   r_plan, r_draw, r_deg))
    if pers:
        pdf.unlink(missing_ok=True)
    return results


# ---------------------------------------------------------------------------------------------------
# Pages that are not answer sheets
# ---------------------------------------------------------------------------------------------------
_ESSAY = (
    "Trong cuộc sống hiện đại, việc đọc sách vẫn giữ một vai trò quan trọng đối với mỗi người. "
    "Sách không chỉ cung cấp tri thức mà còn bồi dưỡng tâm hồn, giúp chúng ta hiểu mình và hiểu người hơn. "
    "Tuy nhiên, nhiều bạn trẻ ngày nay dành phần lớn thời gian cho điện thoại và mạng xã hội, "
    "khiến thói quen đọc dần bị mai một. Theo em, mỗi học sinh nên tự đặt cho mình mục tiêu đọc ít nhất "
    "một cuốn sách mỗi tháng, ghi chép những điều tâm đắc và chia sẻ với bạn bè. Gia đình và nhà trường "
    "cũng cần tạo điều kiện, xây dựng tủ sách lớp học, tổ chức những buổi giao lưu đọc sách. "
    "Khi đọc trở thành niềm vui, tri thức sẽ đến một cách tự nhiên và bền vững. "
    "Tóm lại, đọc sách là con đường ngắn nhất để mở rộng hiểu biết, rèn luyện tư duy phản biện "
    "và nuôi dưỡng lòng nhân ái; đó là hành trang quý giá cho tương lai của mỗi chúng ta."
)


def _text_page(layout: Layout, dpi: int, rng: np.random.Generator) -> np.ndarray:
    """A typed Vietnamese essay page (DejaVu via PIL)."""
    w, h = (int(math.ceil(v * dpi / 25.4)) for v in (layout.width_mm, layout.height_mm))
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    pt = dpi / 72
    title = ImageFont.truetype(FONT_BOLD, int(14 * pt))
    body = ImageFont.truetype(FONT_REGULAR, int(11 * pt))
    margin = int(25 * dpi / 25.4)
    y = margin
    d.text((w // 2, y), "BÀI VIẾT NGHỊ LUẬN XÃ HỘI", font=title, fill=0, anchor="mt")
    y += int(14 * pt * 2.2)
    d.text((margin, y), "Họ và tên: Nguyễn Thị Thu Hà        Lớp: 11A3        Trường THPT Chu Văn An",
           font=body, fill=0)
    y += int(11 * pt * 2.6)
    paragraphs = [_ESSAY] * int(rng.integers(2, 4))
    for para in paragraphs:
        words = para.split()
        line = "    "
        for wd in words:
            trial = f"{line} {wd}" if line.strip() else f"{line}{wd}"
            if d.textlength(trial, font=body) > w - 2 * margin:
                d.text((margin, y), line, font=body, fill=0)
                y += int(11 * pt * 1.55)
                line = wd
            else:
                line = trial
        d.text((margin, y), line, font=body, fill=0)
        y += int(11 * pt * 2.3)
        if y > h - margin:
            break
    return np.asarray(img).copy()


def _shapes_page(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A photo-like picture of something else: coloured shapes over a gradient."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c1, c2 = rng.uniform(40, 230, 3), rng.uniform(40, 230, 3)
    t = (xx / w * rng.uniform(0.3, 1) + yy / h * rng.uniform(0.3, 1))
    t /= t.max()
    img = (c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]).astype(np.float32)
    for _ in range(int(rng.integers(12, 30))):
        col = tuple(float(v) for v in rng.uniform(0, 255, 3))
        kind = rng.integers(3)
        cx, cy = int(rng.integers(w)), int(rng.integers(h))
        s = int(rng.uniform(0.03, 0.25) * min(w, h))
        if kind == 0:
            cv2.circle(img, (cx, cy), s, col, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, (cx - s, cy - s // 2), (cx + s, cy + s // 2), col, -1, cv2.LINE_AA)
        else:
            pts = (np.array([cx, cy]) + rng.normal(0, s, (int(rng.integers(3, 7)), 2))).astype(np.int32)
            cv2.fillPoly(img, [pts.reshape(-1, 1, 2)], col, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    return np.clip(img, 0, 255).astype(np.uint8)


def _run_extras(task: ExtrasTask) -> list[PageResult]:
    job = task.job
    layout = job.layout
    results = []
    for k, kind in enumerate(EXTRA_KINDS):
        index = task.first_index + k
        r_plan, r_draw, r_deg = _rngs(job.seed, index)
        params = dg.sample_params(job.profile, r_plan, job.profile_cfg)
        dpi = params["dpi"]
        template = cv2.imread(str(_template_path(job.tmp, dpi)), cv2.IMREAD_GRAYSCALE)
        h, w = template.shape
        if kind == "blank":
            page = np.full((h, w), 255, np.uint8)
        elif kind == "essay":
            page = _text_page(layout, dpi, r_draw)
        elif kind == "half_sheet":
            page = template.copy()
            plan = mk.plan_sheet(layout, r_plan, participant="0" * len(layout.digit_groups(GroupKind.PARTICIPANT)),
                                 version=_version_for(layout, r_plan, job.versions), personalised=False)
            mk.draw_plan(page, layout, plan, dpi=dpi, rng=r_draw)
            page = page[: h // 2].copy()      # the bottom half was cut (or torn) off
        else:
            params["colour"] = True
            page = _shapes_page(w, h, r_draw)
        if params["colour"] and page.ndim == 2:
            page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
        img, _ = dg.degrade(page, job.profile, params, r_deg)
        path, rel = _write_page(job, index, img, params.get("jpeg_quality", 95))
        deg = dict(params, image_size=[int(img.shape[1]), int(img.shape[0])],
                   encoding="png" if job.fmt == "png" else "jpeg")
        truth = {"file": rel, "page": 1, "kind": kind, "expect": "rejected", "profile": job.profile,
                 "seed": job.seed, "index": index, "layout": layout.id, "contest": layout.contest,
                 "degradation": deg}
        results.append(PageResult(index, truth, path, (int(img.shape[1]), int(img.shape[0])), float(dpi),
                                  img.ndim == 3))
    return results


def _run(task: ChunkTask | ExtrasTask) -> list[PageResult]:
    return _run_chunk(task) if isinstance(task, ChunkTask) else _run_extras(task)


def _init_worker() -> None:
    start_worker()
    cv2.setNumThreads(1)


# ---------------------------------------------------------------------------------------------------
# A scanner-like PDF: one JPEG image per page, written as a stream (no whole set in memory)
# ---------------------------------------------------------------------------------------------------
def write_image_pdf(path: Path, pages: list[tuple[str, tuple[int, int], float, bool]]) -> None:
    """pages: (jpeg file, (width px, height px), dpi, colour). Each page shows exactly one image, full size."""
    n = len(pages)
    offsets: dict[int, int] = {}
    with path.open("wb") as fh:
        def obj(num: int, body: bytes, stream: bytes | None = None) -> None:
            offsets[num] = fh.tell()
            fh.write(f"{num} 0 obj\n".encode() + body)
            if stream is not None:
                fh.write(b"\nstream\n")
                fh.write(stream)
                fh.write(b"\nendstream")
            fh.write(b"\nendobj\n")

        fh.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        kids = " ".join(f"{3 + 3 * k} 0 R" for k in range(n))
        obj(2, f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
        for k, (jpeg, (w, h), dpi, colour) in enumerate(pages):
            pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
            page_no, content_no, image_no = 3 + 3 * k, 4 + 3 * k, 5 + 3 * k
            obj(page_no, (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.3f} {ph:.3f}] "
                          f"/Resources << /XObject << /Im0 {image_no} 0 R >> >> "
                          f"/Contents {content_no} 0 R >>").encode())
            content = f"q {pw:.3f} 0 0 {ph:.3f} 0 0 cm /Im0 Do Q".encode()
            obj(content_no, f"<< /Length {len(content)} >>".encode(), content)
            data = Path(jpeg).read_bytes()
            cs = "/DeviceRGB" if colour else "/DeviceGray"
            obj(image_no, (f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace {cs} "
                           f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(data)} >>").encode(), data)
        xref = fh.tell()
        total = 3 + 3 * n
        fh.write(f"xref\n0 {total}\n0000000000 65535 f \n".encode())
        for num in range(1, total):
            fh.write(f"{offsets[num]:010d} 00000 n \n".encode())
        fh.write(f"trailer\n<< /Size {total} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())


# ---------------------------------------------------------------------------------------------------
# The set
# ---------------------------------------------------------------------------------------------------
def _clear_old(sheets: Path) -> None:
    for f in sheets.iterdir():
        if f.is_file() and (f.name == "set.pdf" or (f.stem.isdigit() and f.suffix in (".jpg", ".png"))):
            f.unlink()


def generate_set(layout: Layout, out: Path, *, profile: str, n: int, seed: int, workers: int | None,
                 fmt: str = "jpg", extras: bool = False, versions: tuple[str, ...] = (),
                 marks: str = "typical", dpi: int | None = None) -> dict:
    """Write ``n`` filled, degraded sheets (plus, with ``extras``, pages to reject) and their ground truth.
    ``versions``: the test versions (a contest's keys) the sheets are filled with; ``marks``: how people mark
    ("typical": mostly clean fills; "harsh": circles, ticks, X's, heavy erasures, light and half fills);
    ``dpi``: every page at this resolution instead of the profile's mix."""
    return _generate(layout, Path(out), profile=profile, n=n, seed=seed, workers=workers, fmt=fmt, extras=extras,
                     versions=versions, marks=marks, overrides={"dpi": ((dpi,), (1.0,))} if dpi else None)


def _generate(layout: Layout, out: Path, *, profile: str, n: int, seed: int, workers: int | None, fmt: str,
              extras: bool, overrides: dict[str, Any] | None = None, min_n: int = 1,
              versions: tuple[str, ...] = (), marks: str = "typical") -> dict:
    if profile not in PROFILES:
        raise BadArguments(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    if marks not in mk.MARK_PROFILES:
        raise BadArguments(f"unknown marks profile {marks!r}; use one of {', '.join(mk.MARK_PROFILES)}")
    if marks != "typical":
        overrides = {"question_freq": mk.MARK_PROFILES[marks], **(overrides or {})}
    if fmt not in FORMATS:
        raise BadArguments(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if n < min_n:
        raise BadArguments(f"n must be at least {min_n}, got {n}")
    if seed < 0:
        raise BadArguments(f"seed must be 0 or more, got {seed}")
    workers = max(1, workers or os.cpu_count() or 1)
    cfg = dict(dg.PROFILES[profile], **(overrides or {}))
    t0 = time.perf_counter()
    sheets = out / "sheets"
    try:
        sheets.mkdir(parents=True, exist_ok=True)
        _clear_old(sheets)
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {exc}") from None

    pdigits = len(layout.digit_groups(GroupKind.PARTICIPANT)) or 6
    roster = make_roster(n, seed, pdigits)
    if n:
        write_roster(out / "roster.csv", roster)

    with tempfile.TemporaryDirectory(prefix=".gen-", dir=out) as tmp:
        generic = Path(tmp) / "generic.pdf"
        render_sheets(layout, generic)
        for dpi in cfg["dpi"][0]:
            cv2.imwrite(str(_template_path(tmp, dpi)), rasterise(generic, 1, int(dpi)))
        job = Job(layout=layout, profile=profile, profile_cfg=cfg, fmt=fmt, seed=seed, out=str(out), tmp=tmp,
                  versions=tuple(versions), marks=marks)
        tasks: list[ChunkTask | ExtrasTask] = [
            ChunkTask(job, tuple(range(i, min(n, i + CHUNK))), tuple(roster[i:min(n, i + CHUNK)]))
            for i in range(0, n, CHUNK)]
        if extras:
            tasks.append(ExtrasTask(job, n))
        results = _execute(tasks, workers)
        results.sort(key=lambda r: r.index)
        if fmt == "pdf":
            pdf = sheets / "set.pdf"
            try:
                write_image_pdf(pdf, [(r.image_path, r.size, r.dpi, r.colour) for r in results])
            except OSError as exc:
                raise OutputError(f"cannot write {pdf}: {exc}") from None
            for k, r in enumerate(results, start=1):
                r.truth["page"] = k
                r.truth["degradation"]["pdf_dpi"] = r.dpi

    with (out / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r.truth, ensure_ascii=False) + "\n")
    sheet_truths = [r.truth for r in results if r.truth["kind"] == "sheet"]
    return {
        "out": str(out), "profile": profile, "marks": marks, "format": fmt, "seed": seed,
        "sheets": len(sheet_truths),
        "extras": len(results) - len(sheet_truths), "pages": len(results),
        "personalised": sum(t["personalised"] for t in sheet_truths),
        "ambiguous_questions": sum(len(t["ambiguous"]) for t in sheet_truths),
        "blank_questions": sum(v == "" for t in sheet_truths for v in t["answers"].values()),
        "participant_ambiguous": sum(t["participant_ambiguous"] for t in sheet_truths),
        "truth": str(out / "truth.jsonl"), "roster": str(out / "roster.csv") if n else None,
        "workers": workers, "seconds": round(time.perf_counter() - t0, 1),
    }


def _execute(tasks: list[ChunkTask | ExtrasTask], workers: int) -> list[PageResult]:
    """Run the tasks in a process pool (or serially for one worker / few tasks)."""
    results: list[PageResult] = []
    total = len(tasks)
    show = sys.stderr.isatty()
    if workers == 1 or total <= 1:
        for k, t in enumerate(tasks, 1):
            results += _run(t)
            if show:
                print(f"\rsamples: {k}/{total} tasks", end="", file=sys.stderr)
    else:
        # never fork: the parent may already run OpenCV/OpenMP threads, and a forked child would inherit their
        # locks (a deadlock we have seen under pytest); workers die with this process (omr.workers)
        ex = ProcessPoolExecutor(max_workers=min(workers, total), initializer=_init_worker,
                                 mp_context=pool_context())
        try:
            futures = [ex.submit(_run, t) for t in tasks]
            for k, f in enumerate(futures, 1):
                results += f.result()
                if show:
                    print(f"\rsamples: {k}/{total} tasks", end="", file=sys.stderr)
        except BaseException:
            ex.shutdown(wait=True, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
    if show:
        print(file=sys.stderr)
    return results


# ---------------------------------------------------------------------------------------------------
# The small committed set
# ---------------------------------------------------------------------------------------------------
SMALL_SET = (
    # (folder, profile, n, seed, fmt, overrides)
    ("clean", "clean", 2, 101, "png", None),
    ("scanner", "scanner", 9, 202, "jpg", None),
    ("phone", "phone", 3, 303, "jpg", None),
)


def make_small_set(layout: Layout, root: Path, workers: int | None = None) -> dict:
    root = Path(root)
    summary = {}
    for folder, profile, n, seed, fmt, overrides in SMALL_SET:
        summary[folder] = _generate(layout, root / folder, profile=profile, n=n, seed=seed, workers=workers,
                                    fmt=fmt, extras=False, overrides=overrides)
    summary["extras"] = _generate(layout, root / "extras", profile="scanner", n=0, seed=404, workers=workers,
                                  fmt="jpg", extras=True, min_n=0)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.generator", description=__doc__.split("\n")[0])
    ap.add_argument("--layout", default=str(Path(__file__).resolve().parent.parent / "answer_keys" / "demo"))
    ap.add_argument("--out", "-o", required=True)
    ap.add_argument("--profile", choices=PROFILES, default="scanner")
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--format", choices=FORMATS, default="jpg")
    ap.add_argument("--marks", choices=tuple(mk.MARK_PROFILES), default="typical",
                    help="how people mark: typical (mostly clean fills) or harsh (circles, ticks, X's, heavy "
                         "erasures, light and half fills)")
    ap.add_argument("--extras", action="store_true")
    ap.add_argument("--small-set", action="store_true",
                    help="build the committed small set (clean/, scanner/, phone/, extras/) under --out")
    args = ap.parse_args(argv)
    try:
        layout = load_layout(args.layout)
        if args.small_set:
            summary = make_small_set(layout, Path(args.out), args.workers)
        else:
            summary = generate_set(layout, Path(args.out), profile=args.profile, n=args.n, seed=args.seed,
                                   workers=args.workers, fmt=args.format, extras=args.extras, marks=args.marks)
    except OmrError as exc:
        print(f"samples: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
