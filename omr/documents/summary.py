"""``omr entry`` without ``--json``: what the engine read from one document, in Vietnamese, for an organiser
checking a disputed entry."""
from __future__ import annotations

from typing import Any

from ..paths import display_source
from ..records import SheetFailure
from .records import EntryKind, EntryReading

_FIELDS_VI = (("name", "Họ và tên"), ("date_of_birth", "Ngày sinh"), ("address", "Địa chỉ"),
              ("unit", "Đơn vị / Trường"), ("class", "Lớp"), ("phone", "Số điện thoại"), ("email", "E-mail"))
_ESSAY_SHOWN = 600


def entry_json(rec: EntryReading | SheetFailure) -> dict[str, Any]:
    """``omr entry --json``'s object: a rejected document has the same fields, empty."""
    if isinstance(rec, SheetFailure):
        return {**rec.to_json(), "identity": {}, "evidence": {}, "essay": ""}
    return rec.to_json()


def entry_text(rec: EntryReading | SheetFailure) -> str:
    name = display_source(rec.source)
    if isinstance(rec, SheetFailure):
        return f"{name}: KHÔNG ĐỌC ĐƯỢC ({rec.reason_code.value}) — {rec.reason}"
    kind = "bài đánh máy có phần trắc nghiệm" if rec.kind is EntryKind.TYPED else "bài chỉ có phần tự luận"
    pages = f"{rec.pages} trang" if rec.pages else "số trang chưa rõ"
    out = [f"{name}: {kind} ({rec.format.value}, {pages}, {rec.images} hình ảnh)",
           "Thông tin người dự thi:"]
    out += [f"  {label}: {rec.identity.get(key) or '(không có)'}" for key, label in _FIELDS_VI]
    if rec.kind is EntryKind.TYPED:
        answered = [a for a in rec.answers if a.letters]
        out.append(f"Mã đề: {rec.version or '(chưa xác định)'}")
        out.append(f"Trắc nghiệm: trả lời {len(answered)}/{len(rec.answers)} câu")
        cells = [f"{a.question}{a.letters or '-'}" for a in rec.answers]
        out += ["  " + " ".join(cells[i:i + 10]) for i in range(0, len(cells), 10)]
    if rec.flags:
        out.append(f"Cần người kiểm tra ({len(rec.flags)}):")
        for f in rec.flags:
            out.append(f"  - [{f.reason}] {f.message}" + (f" — {f.evidence}" if f.evidence else ""))
    else:
        out.append("Không có điểm nào cần kiểm tra.")
    essay = rec.essay if len(rec.essay) <= _ESSAY_SHOWN else rec.essay[:_ESSAY_SHOWN] + "…"
    out.append(f"Phần tự luận ({len(rec.essay)} ký tự, đã che thông tin cá nhân):")
    out += [f"  {x}" for x in essay.splitlines()] or ["  (không có)"]
    return "\n".join(out)
