"""The acknowledgement each new message gets (at most one, ever): entry codes, the files and pages received, or
what is wrong — in the contest's language. Built when the message is recorded and stored with it, so a crash
between recording and sending leaves it listed by ``omr ingest --resend-receipts``."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, tzinfo

from .parse import FilePart
from .reasons import Problem, describe



def pages_of(f: FilePart) -> int | None:
    """Pages in a file: 1 for a photo or a scan, a PDF's page count (None when it cannot be told)."""
    if f.kind in ("jpeg", "png"):
        return 1
    if f.kind == "pdf":
        n = f.data.count(b"/Type /Page") - f.data.count(b"/Type /Pages")
        if n > 0:
            return n
        try:
            import pikepdf

            with pikepdf.open(io.BytesIO(f.data)) as pdf:
                return len(pdf.pages)
        except Exception:              # a damaged PDF: the reader says why when it grades it
            return None
    if f.kind == "tiff":
        try:
            from PIL import Image

            with Image.open(io.BytesIO(f.data)) as im:
                return getattr(im, "n_frames", 1)
        except Exception:              # as above
            return None
    return None


@dataclass(frozen=True, slots=True)
class ReceiptEntry:
    code: str
    files: tuple[FilePart, ...]
    late: str = ""                      # the deadline it missed, as shown ("" when on time)


_WORDS = {
    "vi": {"hello": "Kính gửi {who},", "got": "Ban Tổ chức{contest} đã nhận được thư của bạn lúc {when}.",
           "entries": "Bài dự thi đã nhận:", "entry": "- Mã bài dự thi {code}: {n} tệp{pages}",
           "pages": ", {p} trang", "file": "    · {name}", "wrong": "Lưu ý:", "none": "Chưa nhận được bài dự thi nào "
           "từ thư này.", "keep": "Xin giữ mã bài dự thi để tra cứu khi cần.",
           "auto": "Thư này được gửi tự động; xin đừng trả lời thư này.", "re": "Xác nhận đã nhận thư: {subject}",
           "unknown": "(không rõ thời điểm)"},
    "en": {"hello": "Dear {who},", "got": "The organisers{contest} received your message at {when}.",
           "entries": "Entries received:", "entry": "- Entry {code}: {n} file(s){pages}", "pages": ", {p} page(s)",
           "file": "    · {name}", "wrong": "Please note:", "none": "No entry was taken from this message.",
           "keep": "Keep the entry code to ask about your entry.",
           "auto": "This message was sent automatically; please do not reply to it.",
           "re": "Receipt: {subject}", "unknown": "(time unknown)"},
}


def receipt_text(*, language: str, contest: str, who: str, received_at: datetime | None, tz: tzinfo,
                 entries: list[ReceiptEntry], problems: list[Problem], subject: str) -> tuple[str, str]:
    """(subject, body) of the acknowledgement."""
    w = _WORDS.get(language, _WORDS["vi"])
    when = received_at.astimezone(tz).strftime("%H:%M %d/%m/%Y") if received_at else w["unknown"]
    lines = [w["hello"].format(who=who), "",
             w["got"].format(contest=f' "{contest}"' if contest else "", when=when), ""]
    if entries:
        lines.append(w["entries"])
        for e in entries:
            counts = [pages_of(f) for f in e.files]
            pages = w["pages"].format(p=sum(c for c in counts if c)) if any(counts) else ""
            lines.append(w["entry"].format(code=e.code, n=len(e.files), pages=pages))
            lines += [w["file"].format(name=f.path) for f in e.files]
            if e.late:
                lines.append("    " + describe(Problem("late", "", e.late), language))
        lines.append("")
    else:
        lines += [w["none"], ""]
    if problems:
        lines.append(w["wrong"])
        lines += [f"- {describe(p, language)}" for p in problems]
        lines.append("")
    if entries:
        lines.append(w["keep"])
    lines.append(w["auto"])
    return w["re"].format(subject=subject or "…"), "\n".join(lines) + "\n"
