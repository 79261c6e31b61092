"""A realistic mailbox of contest entries, with ground truth: what ``omr ingest`` should make of every message.

The mix a district's mailbox gets (``MIX``): entries with one to three attachments (scanned or photographed
sheets from the committed sample set ``samples/set-small``, PDFs of scans, typed DOCX in Times New Roman 14), a
class's ZIP with a folder per student, a school's forward of a student's mail (``message/rfc822``) arriving after
the entry deadline but before the forwarding one, a forward from someone who is not a unit (the outer time
counts: late), empty mails, late mails, the same person entering again, the same message delivered twice,
auto-replies and bounces, unsupported files. Subjects and file names are Vietnamese (RFC 2047 / RFC 2231); the
``Date:`` header is a day off the time received on purpose (the sender's clock is never trusted).

``write_mailbox(out, n=…, seed=…, fmt="maildir"|"mbox"|"eml")`` writes the mailbox, ``units.csv`` and
``truth.json``: per message its file (or mbox index), kind, expected state and expected entries with their
states after an ingest with ``--no-grade`` and ``keep_entry: last``.
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import mailbox
import os
import random
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

SET_SMALL = Path(__file__).resolve().parent / "set-small"
HANOI = timezone(timedelta(hours=7))
DEADLINE = datetime(2026, 9, 6, 17, 0, tzinfo=HANOI)
FORWARD_DEADLINE = datetime(2026, 9, 16, 17, 0, tzinfo=HANOI)
MAILBOX = "hoankiem@thi.hanoi.gov.vn"
SCHOOL = "thcs.trungvuong@thi.hanoi.gov.vn"
UNITS_CSV = ("code,name,kind,parent,mailbox\n"
             f"Q.HK,Quận Hoàn Kiếm,district,,{MAILBOX}\n"
             f"THCS.TV,Trường THCS Trưng Vương,school,Q.HK,{SCHOOL}\n"
             "SO.TTTT,Sở Thông tin và Truyền thông,department,,sotttt@thi.hanoi.gov.vn\n")
CONTEST_SETTINGS = {"name": "Tìm hiểu Dịch vụ công trực tuyến", "language": "vi", "time_zone": "Asia/Ho_Chi_Minh",
                    "entry_deadline": "2026-09-06T17:00", "forward_deadline": "2026-09-16T17:00",
                    "reference_date": "2026-09-06", "keep_entry": "last"}
MIX = (("entry", 50), ("docx", 8), ("zip", 6), ("forward_unit", 6), ("forward_other", 2), ("empty", 5),
       ("late", 5), ("resubmit", 6), ("exact_dup", 3), ("auto", 4), ("bounce", 2), ("unsupported", 3))
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
_MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Quốc", "Ngọc", "Đức", "Thanh")
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hương", "Khánh", "Lan", "Linh", "Nam", "Phương", "Quân",
          "Thảo", "Trang", "Tú", "Việt", "Yến")
_SUBJECTS = ("Bài dự thi Tìm hiểu Dịch vụ công trực tuyến", "Gửi bài dự thi cuộc thi DVC trực tuyến",
             "BÀI THI - {name}", "Nộp bài dự thi – {name} – lớp {klass}")


@dataclass
class _Pool:
    """Attachment bytes: the committed sample scans, PDFs made of them, typed DOCX."""
    rng: random.Random
    scans: list[bytes] = field(default_factory=list)
    pdfs: list[bytes] = field(default_factory=list)

    @classmethod
    def load(cls, rng: random.Random, small: bool = False) -> _Pool:
        scans, pdfs = _pool_bytes(small)
        return cls(rng, list(scans), list(pdfs))

    def unique(self, data: bytes, kind: str) -> bytes:
        """The same picture, different bytes (a JPEG comment; a PDF comment after %%EOF): each entry its own file."""
        tag = f"{self.rng.getrandbits(64):016x}".encode()
        if kind == "jpeg":
            return data[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + data[2:]
        return data + b"%" + tag + b"\n"

    def scan(self) -> tuple[str, bytes, str]:
        return "jpeg", self.unique(self.rng.choice(self.scans), "jpeg"), "image/jpeg"

    def pdf(self) -> tuple[str, bytes, str]:
        return "pdf", self.unique(self.rng.choice(self.pdfs), "pdf"), "application/pdf"


@functools.lru_cache(maxsize=2)
def _pool_bytes(small: bool) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The committed sample scans (made smaller for benchmarks of many messages) and PDFs of one to three."""
    from PIL import Image

    from samples.generator import write_image_pdf

    scans = []
    for p in sorted(SET_SMALL.glob("*/sheets/*.jpg")):
        data = p.read_bytes()
        if small:
            with Image.open(p) as im:
                im.thumbnail((600, 800))
                out = io.BytesIO()
                im.convert("L").save(out, "JPEG", quality=60)
                data = out.getvalue()
        scans.append(data)
    pdfs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(4):
            pages = []
            for j in range(1 + k % 3):
                jp = Path(tmp) / f"{k}-{j}.jpg"
                jp.write_bytes(scans[(k * 3 + j) % len(scans)])
                with Image.open(jp) as im:
                    pages.append((str(jp), im.size, 150.0, im.mode == "RGB"))
            pdf = Path(tmp) / f"{k}.pdf"
            write_image_pdf(pdf, pages)
            pdfs.append(pdf.read_bytes())
    return tuple(scans), tuple(pdfs)


def docx_entry(identity: dict[str, str], answer: str) -> bytes:
    """A typed entry: the identity block, then the answer, in Times New Roman 14."""
    import docx
    from docx.shared import Pt

    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(14)
    doc.add_heading("BÀI DỰ THI TÌM HIỂU DỊCH VỤ CÔNG TRỰC TUYẾN", level=1)
    for label, key in (("Họ và tên", "name"), ("Ngày sinh", "dob_text"), ("Đơn vị", "unit"), ("Lớp", "class"),
                       ("Điện thoại", "phone"), ("Email", "email")):
        if identity.get(key):
            doc.add_paragraph(f"{label}: {identity[key]}")
    doc.add_paragraph(answer)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def message(*, sender: str, subject: str, body: str, received: datetime, to: str = MAILBOX,
            attachments: list[tuple[str, bytes, str]] = (), forwards: list[bytes] = (),
            headers: dict[str, str] | None = None, sender_name: str = "") -> bytes:
    """One message as our server stores it: the topmost ``Received:`` is the time received."""
    m = EmailMessage()
    m["From"] = f"{sender_name} <{sender}>" if sender_name else sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(received - timedelta(days=1))          # the sender's clock: never used
    m["Message-ID"] = make_msgid(domain=sender.split("@")[-1] or "example.vn")
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for inner in forwards:
        from email import message_from_bytes, policy

        m.add_attachment(message_from_bytes(inner, policy=policy.default))
    received_line = (f"Received: from mail.example.vn by mx.thi.hanoi.gov.vn with ESMTPS; "
                     f"{format_datetime(received)}\r\n").encode()
    return received_line + m.as_bytes()


def _person(rng: random.Random, n: int) -> dict[str, str]:
    name = f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
    born = datetime(rng.randint(1960, 2013), rng.randint(1, 12), rng.randint(1, 28))
    dob_text = rng.choice((f"{born.day}/{born.month}/{born.year}", f"{born.day:02d}-{born.month:02d}-{born.year}",
                           f"ngày {born.day} tháng {born.month} năm {born.year}"))
    student = born.year >= 2008
    return {"name": name, "dob": born.date().isoformat(), "dob_text": dob_text,
            "phone": f"09{rng.randint(10_000_000, 99_999_999)}", "email": f"thisinh{n}@example.vn",
            "unit": "Trường THCS Trưng Vương" if student else "Phường Hàng Bạc", "class": "9A" if student else ""}


def _body(p: dict[str, str]) -> str:
    lines = ["Kính gửi Ban Tổ chức,", "Em xin gửi bài dự thi.", f"Họ và tên: {p['name']}",
             f"Ngày sinh: {p['dob_text']}", f"Đơn vị: {p['unit']}", f"Điện thoại: {p['phone']}"]
    return "\n".join(lines + ([f"Lớp: {p['class']}"] if p["class"] else []) + ["Trân trọng."])


def _on_time(rng: random.Random) -> datetime:
    return DEADLINE - timedelta(days=5) + timedelta(seconds=rng.randint(0, 5 * 86400 - 3600))


def _attachments(rng: random.Random, pool: _Pool, p: dict[str, str]) -> list[tuple[str, bytes, str]]:
    out = []
    for k in range(rng.choice((1, 1, 2, 3))):
        kind, data, ctype = rng.choice((pool.scan, pool.scan, pool.pdf))()
        ext = "jpg" if kind == "jpeg" else "pdf"
        out.append((f"Bài thi {p['name']} trang {k + 1}.{ext}", data, ctype))
    return out


def _one(kind: str, n: int, rng: random.Random, pool: _Pool, people: list[dict[str, str]]) -> tuple[bytes, dict]:
    """One message of ``kind`` and its truth (entries: the persons and whether late)."""
    p = _person(rng, n)
    subject = rng.choice(_SUBJECTS).format(name=p["name"], klass=p["class"] or "-")
    when = _on_time(rng)
    if kind == "resubmit" and people:
        p = rng.choice(people)
        when = DEADLINE - timedelta(hours=rng.randint(1, 20))
    truth: dict = {"kind": kind, "state": "taken", "entries": [{"person": p["dob"] + p["name"], "late": False}]}
    sender, atts, fwd = p["email"], _attachments(rng, pool, p), []
    headers: dict[str, str] = {}
    if kind == "docx":
        atts = [(f"{p['name']}.docx", docx_entry(p, "Dịch vụ công trực tuyến giúp người dân…"),
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]
    elif kind == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for k in range(rng.randint(2, 4)):
                z.writestr(f"Lớp 9A/Học sinh {k + 1}/trang1.jpg", pool.scan()[1])
        atts = [("Bài thi lớp 9A.zip", buf.getvalue(), "application/zip")]
    elif kind in ("forward_unit", "forward_other"):
        inner = message(sender=p["email"], subject=subject, body=_body(p), received=when, to=SCHOOL,
                        attachments=atts, sender_name=p["name"])
        fwd, atts = [inner], []
        sender = SCHOOL if kind == "forward_unit" else f"nguoiquen{n}@example.vn"
        when = DEADLINE + timedelta(days=4)
        truth["entries"][0]["late"] = kind == "forward_other"
        subject = f"Fwd: {subject}"
    elif kind == "empty":
        atts, truth = [], {"kind": kind, "state": "no_entry", "entries": []}
    elif kind == "late":
        when = DEADLINE + timedelta(hours=rng.randint(1, 48))
        truth["entries"][0]["late"] = True
    elif kind in ("auto", "bounce"):
        headers = {"Auto-Submitted": "auto-replied"} if kind == "auto" else {"Return-Path": "<>"}
        sender = p["email"] if kind == "auto" else "mailer-daemon@example.vn"
        subject = "Trả lời tự động: Tôi đang nghỉ phép" if kind == "auto" else "Undelivered Mail Returned to Sender"
        atts, truth = [], {"kind": kind, "state": "ignored", "entries": []}
    elif kind == "unsupported":
        atts = [("bai thi.txt", "Câu 1: A\nCâu 2: B\n".encode(), "text/plain"),
                ("anh.jpg", b"MZ\x90\x00 this is not a picture", "image/jpeg")]
        truth = {"kind": kind, "state": "no_entry", "entries": []}
    if truth["entries"] and kind not in ("forward_unit", "forward_other"):
        people.append(p)
    data = message(sender=sender, subject=subject, body=_body(p) if kind not in ("auto", "bounce") else "Xin cảm ơn.",
                   received=when, attachments=atts, forwards=fwd, headers=headers, sender_name=p["name"])
    truth["received"] = when.isoformat()
    return data, truth


def generate(n: int, seed: int, *, small: bool = False) -> list[tuple[bytes, dict]]:
    """``n`` messages of the realistic mix, with their truth (exact duplicates repeat an earlier message)."""
    rng = random.Random(seed)
    pool = _Pool.load(rng, small=small)
    kinds = [k for k, w in MIX for _ in range(w)]
    rng.shuffle(kinds)
    kinds = [k for k, _ in MIX] + kinds          # every kind at least once, even in a small set
    out: list[tuple[bytes, dict]] = []
    people: list[dict[str, str]] = []
    for i in range(n):
        kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
        if kind == "exact_dup" and out:
            data, truth = rng.choice(out)
            out.append((data, {**truth, "kind": "exact_dup", "duplicate": True}))
            continue
        out.append(_one("entry" if kind == "exact_dup" else kind, i, rng, pool, people))
    _final_states(out)
    return out


def _final_states(msgs: list[tuple[bytes, dict]]) -> None:
    """Each entry's state after ``--no-grade`` with keep_entry "last": late, superseded or pending."""
    last: dict[str, tuple[str, int, int]] = {}
    for i, (_, t) in enumerate(msgs):
        if t.get("duplicate"):
            continue
        for j, e in enumerate(t["entries"]):
            e["state"] = "late" if e["late"] else "pending"
            if not e["late"] and (e["person"] not in last or last[e["person"]][0] <= t["received"]):
                last[e["person"]] = (t["received"], i, j)
    for i, (_, t) in enumerate(msgs):
        for j, e in enumerate(t["entries"]):
            if not t.get("duplicate") and e["state"] == "pending" and last[e["person"]][1:] != (i, j):
                e["state"] = "superseded"


def write_mailbox(out: Path, *, n: int, seed: int, fmt: str = "maildir", small: bool = False) -> dict:
    """The mailbox under ``out/mailbox`` (a Maildir, ``out/mailbox.mbox`` or a folder of .eml), ``out/units.csv``
    and ``out/truth.json``; returns the truth."""
    msgs = generate(n, seed, small=small)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    if fmt == "mbox":
        box = mailbox.mbox(str(out / "mailbox.mbox"))
        for i, (data, t) in enumerate(msgs, start=1):
            box.add(data)
            records.append({**t, "key": f"mbox:{i}"})
        box.flush()
        box.close()
    else:
        root = out / "mailbox"
        for sub in (("cur", "new", "tmp") if fmt == "maildir" else ("",)):
            (root / sub).mkdir(parents=True, exist_ok=True)
        for i, (data, t) in enumerate(msgs, start=1):
            name = f"{1788000000 + i}.M{i}P1.mx" if fmt == "maildir" else f"{i:05d}.eml"
            path = root / ("new" if fmt == "maildir" else "") / name
            path.write_bytes(data)
            when = datetime.fromisoformat(t["received"]).timestamp()
            os.utime(path, (when, when))
            records.append({**t, "key": f"maildir:{name}" if fmt == "maildir" else f"eml:{name}"})
    (out / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    truth = {"mailbox": MAILBOX, "unit": "Q.HK", "messages": records}
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("-n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--format", choices=("maildir", "mbox", "eml"), default="maildir")
    ap.add_argument("--small", action="store_true", help="small scans (benchmarks of many messages)")
    args = ap.parse_args(argv)
    truth = write_mailbox(args.out, n=args.n, seed=args.seed, fmt=args.format, small=args.small)
    print(f"{len(truth['messages'])} message(s) in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
