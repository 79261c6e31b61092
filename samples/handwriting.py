"""Handwriting-like pages of an entry, with ground truth, for the transcription flow (``grading.transcribe``).

A handwritten entry is a scan of paper the entrant wrote on: the identity block ("Họ và tên: …"), the test code,
the multiple-choice answers as "Câu 1: B" in columns, and a paragraph of essay. No handwriting font is installed
here, so each letter of an installed font with every Vietnamese letter (DejaVu or Liberation, ``omr.sheet``) is
drawn on its own with jitter — size, rotation, baseline, stroke weight — then the page is slanted, blurred and
noised like a pen on a scanner. What matters for the flow is that a machine does not read it and a person does.

``handwritten_entry(out, seed=…)`` writes ``page-1.png``, ``page-2.png``, the two as one scanned ``entry.pdf``
(one entry is one file) and ``truth.json`` ({identity, version, answers: {question id: letter or ""}, essay}),
and returns the paths (PNG pages, then the PDF) and the truth.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omr.sheet import font_files

PAGE_W, PAGE_H = 1240, 1754           # A4 at 150 dpi
MARGIN = 90
INK = 45                              # gray level of the pen
ESSAY = ("Theo em, chuyển đổi số giúp người dân làm thủ tục hành chính nhanh hơn: nộp hồ sơ trực tuyến trên "
         "Cổng Dịch vụ công, theo dõi kết quả qua điện thoại, không phải đi lại nhiều lần. Ở phường em, các bác "
         "lớn tuổi được đoàn viên thanh niên hướng dẫn cài đặt ứng dụng VNeID và thanh toán không dùng tiền mặt.")


@dataclass(frozen=True)
class Truth:
    identity: dict[str, str]
    version: str
    answers: dict[str, str]                    # question id → letter, "" when left blank
    essay: str = ESSAY
    labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))

    def to_json(self) -> dict[str, Any]:
        return {"identity": self.identity, "version": self.version, "answers": self.answers, "essay": self.essay}


LABELS = {"name": "Họ và tên", "date_of_birth": "Ngày sinh", "address": "Địa chỉ", "unit": "Đơn vị / Trường",
          "class": "Lớp", "phone": "Số điện thoại", "email": "Email"}
NAMES = ("Nguyễn Thị Hồng Nhung", "Trần Đức Việt", "Lê Thị Thuỳ Dương", "Phạm Quốc Huy", "Vũ Ngọc Ánh")


def sample_truth(rng: np.random.Generator, questions: list[str], *, version: str = "101",
                 letters: str = "ABCD", blank_rate: float = 0.05) -> Truth:
    """An entrant's identity and answers drawn at random (some answers left blank)."""
    name = NAMES[int(rng.integers(len(NAMES)))]
    day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1975, 2012))
    identity = {"name": name, "date_of_birth": f"{day:02d}/{month:02d}/{year}",
                "address": f"số {int(rng.integers(1, 200))} phố Đội Cấn, Ba Đình, Hà Nội",
                "unit": "Trường THCS Giảng Võ", "class": f"{int(rng.integers(6, 10))}A{int(rng.integers(1, 6))}",
                "phone": "09" + "".join(str(int(d)) for d in rng.integers(0, 10, 8)),
                "email": f"hs{int(rng.integers(100, 999))}@example.vn"}
    answers = {q: "" if rng.random() < blank_rate else letters[int(rng.integers(len(letters)))] for q in questions}
    return Truth(identity, version, answers)


class _Pen:
    """Draws text letter by letter with jitter on a grayscale page (PIL)."""

    def __init__(self, rng: np.random.Generator, size: int = 30):
        from PIL import Image, ImageDraw, ImageFont

        self.rng, self.size = rng, size
        self.Image, self.ImageDraw = Image, ImageDraw
        self.font = ImageFont.truetype(font_files()[0], size)
        self.page = Image.new("L", (PAGE_W, PAGE_H), 250)

    def write(self, x: float, y: float, text: str) -> float:
        """Write ``text`` from (x, baseline-ish y); returns the x after it."""
        for ch in unicodedata.normalize("NFC", text):
            if ch == " ":
                x += self.size * (0.28 + 0.1 * self.rng.random())
                continue
            glyph = self._glyph(ch)
            dy = self.rng.normal(0, 1.6)
            self.page.paste(INK, (int(x), int(y + dy - glyph.size[1] * 0.55)), glyph)
            x += glyph.size[0] - 1 + self.rng.normal(0, 1.0)          # the ink box, with an uneven gap
        return x

    def _glyph(self, ch: str) -> Any:
        size = int(self.size * 2)
        img = self.Image.new("L", (size, size), 0)
        d = self.ImageDraw.Draw(img)
        d.text((size * 0.2, size * 0.2), ch, fill=255, font=self.font,
               stroke_width=int(self.rng.random() < 0.35), stroke_fill=255)
        img = img.rotate(self.rng.normal(0, 4.0), resample=self.Image.BILINEAR)
        box = img.getbbox() or (0, 0, 1, 1)
        return img.crop((box[0], 0, box[2] + 2, size))

    def finish(self) -> np.ndarray:
        """Slant the page, soften and noise it like a pen on a scanner: uint8 grayscale."""
        slant = 0.12 + 0.08 * self.rng.random()
        img = self.page.transform(self.page.size, self.Image.AFFINE, (1, slant, -slant * PAGE_H / 2, 0, 1, 0),
                                  resample=self.Image.BILINEAR, fillcolor=250)
        arr = np.asarray(img, dtype=np.float32)
        import cv2

        arr = cv2.GaussianBlur(arr, (3, 3), 0.8) + self.rng.normal(0, 6, arr.shape)
        return np.clip(arr, 0, 255).astype(np.uint8)


def draw_pages(truth: Truth, rng: np.random.Generator) -> list[np.ndarray]:
    """Page 1: identity, test code, answers in four columns; page 2: the essay paragraph."""
    pen = _Pen(rng)
    y = MARGIN + 20
    pen.write(PAGE_W / 2 - 160, y, "BÀI DỰ THI")
    y += 70
    for key, lab in truth.labels.items():
        pen.write(MARGIN + rng.normal(0, 4), y, f"{lab}: {truth.identity.get(key, '')}")
        y += 52
    pen.write(MARGIN, y, f"Mã đề: {truth.version}")
    y += 70
    qs = list(truth.answers)
    per_col = -(-len(qs) // 4)
    col_w = (PAGE_W - 2 * MARGIN) / 4
    for i, q in enumerate(qs):
        col, row = divmod(i, per_col)
        pen.write(MARGIN + col * col_w + rng.normal(0, 3), y + row * 44, f"Câu {q}: {truth.answers[q] or ''}")
    first = pen.finish()
    pen = _Pen(rng)
    x, y = MARGIN, MARGIN + 40
    pen.write(MARGIN, y, "Phần tự luận")
    y += 70
    for word in truth.essay.split():
        if x + len(word) * pen.size * 0.55 > PAGE_W - MARGIN:
            x, y = MARGIN + rng.normal(0, 4), y + 50
        x = pen.write(x, y, word + " ")
    return [first, pen.finish()]


def handwritten_entry(out: str | Path, *, seed: int, questions: list[str], version: str = "101",
                      truth: Truth | None = None) -> tuple[list[Path], Truth]:
    """Write the pages (PNG, and together as ``entry.pdf``) and ``truth.json`` of one handwritten entry."""
    import cv2
    from PIL import Image

    rng = np.random.default_rng(seed)
    truth = truth or sample_truth(rng, questions, version=version)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    drawn = draw_pages(truth, rng)
    for n, page in enumerate(drawn, start=1):
        path = out / f"page-{n}.png"
        cv2.imwrite(str(path), page)
        paths.append(path)
    images = [Image.fromarray(p) for p in drawn]
    images[0].save(out / "entry.pdf", save_all=True, append_images=images[1:], resolution=150.0)
    paths.append(out / "entry.pdf")
    (out / "truth.json").write_text(json.dumps(truth.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return paths, truth
