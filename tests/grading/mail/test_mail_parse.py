"""A message taken apart (grading.mail.parse): headers as people wrote them, the server's time, files by their
bytes, ZIPs and forwards unpacked, and every refusal a reason on that message."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from grading.mail.parse import MAX_MESSAGE_BYTES, MAX_PARTS, parse_message
from grading.mail.raw import RawMessage
from grading.mail.unzip import ZipLimits, ZipRefused, unpack
from samples.mail import message

HANOI = timezone(timedelta(hours=7))
WHEN = datetime(2026, 9, 5, 9, 30, tzinfo=HANOI)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 60
PDF = b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n" + b"x" * 2000 + b"%%EOF\n"


def raw(data: bytes, received_at: datetime | None = None) -> RawMessage:
    return RawMessage(data, "eml:t.eml", "t", received_at)


def test_vietnamese_subject_and_file_names_and_the_server_time_not_date():
    data = message(sender="an@example.vn", subject="Bài dự thi – Nguyễn Văn An", body="Họ và tên: Nguyễn Văn An",
                   received=WHEN, attachments=[("Bài làm trang 1.jpg", JPEG, "image/jpeg")], sender_name="Nguyễn An")
    assert b"=?utf-8?" in data.lower() and b"filename*=" in data        # RFC 2047 subject, RFC 2231 file name
    p = parse_message(raw(data))
    assert p.subject == "Bài dự thi – Nguyễn Văn An" and p.sender == "an@example.vn"
    assert p.sender_name == "Nguyễn An" and "Nguyễn Văn An" in p.body
    assert p.received_at == WHEN                     # the Received: header; Date: is a day earlier
    (f,) = p.files
    assert (f.name, f.kind, f.data) == ("Bài làm trang 1.jpg", "jpeg", JPEG)
    assert p.auto == "" and p.fatal is None and p.problems == ()


def test_the_topmost_received_header_counts_and_the_source_time_wins():
    data = message(sender="an@example.vn", subject="x", body="", received=WHEN)
    older = b"Received: from relay by mx.other; Mon, 1 Sep 2026 08:00:00 +0700\r\n"
    lines = data.split(b"\r\n", 1)
    p = parse_message(raw(lines[0] + b"\r\n" + older + lines[1]))
    assert p.received_at == WHEN
    maildir_time = datetime(2026, 9, 5, 3, 0, tzinfo=timezone.utc)
    assert parse_message(raw(data, maildir_time)).received_at == maildir_time
    no_received = data.split(b"\r\n", 1)[1]
    assert parse_message(raw(no_received)).received_at is None          # never the Date: header


def test_windows_1258_subject_encoded_word_and_raw_8bit_header():
    subj = "Bài thi".encode("cp1258")
    word = b"=?windows-1258?B?" + __import__("base64").b64encode(subj) + b"?="
    base = b"From: a@example.vn\r\nTo: b@example.vn\r\nSubject: %s\r\n\r\nbody\r\n"
    assert parse_message(raw(base % word)).subject == "Bài thi"
    p = parse_message(raw(base % subj))                   # raw 8-bit bytes, not UTF-8
    assert p.subject == "Bài thi"
    assert [q.code for q in p.problems] == ["header_not_utf8"]


@pytest.mark.parametrize("headers, sender, why", [
    ({"Auto-Submitted": "auto-replied"}, "an@example.vn", "Auto-Submitted"),
    ({"Return-Path": "<>"}, "an@example.vn", "null sender"),
    ({}, "MAILER-DAEMON@mx.example.vn", "mailer-daemon"),
    ({"X-Autoreply": "yes"}, "an@example.vn", "X-Autoreply"),
    ({"Precedence": "bulk"}, "an@example.vn", "Precedence: bulk"),
])
def test_auto_replies_and_bounces(headers, sender, why):
    p = parse_message(raw(message(sender=sender, subject="Trả lời tự động", body="", received=WHEN,
                                  headers=headers)))
    assert why in p.auto


def test_a_person_is_not_an_auto_reply():
    p = parse_message(raw(message(sender="an@example.vn", subject="x", body="", received=WHEN,
                                  headers={"Auto-Submitted": "no"})))
    assert p.auto == ""


def test_our_own_receipt_is_recognised_even_without_auto_submitted(tmp_path):
    """A receipt the contest sent, come back (a relay dropped Auto-Submitted, the person forwarded it with its
    headers): never an entry, never answered, even when it carries a file."""
    from grading.ingest import IngestOptions, message_row

    data = message(sender="hoankiem@thi.hanoi.gov.vn", subject="Xác nhận đã nhận thư: Bài dự thi", body="Kính gửi",
                   received=WHEN, headers={"X-OMR-Receipt": "ab" * 32}, attachments=[("a.pdf", PDF, "application/pdf")])
    p = parse_message(raw(data))
    assert p.ours and p.auto == "" and len(p.files) == 1
    m, files = message_row(raw(data), "cd" * 32, p, IngestOptions(unit="Q.HK", files_dir=tmp_path))
    assert (m.state, m.reason_code, m.receipt_to, m.entries, files) == ("ignored", "own_mail", None, (), [])
    person = parse_message(raw(message(sender="an@example.vn", subject="x", body="", received=WHEN)))
    assert not person.ours


def test_the_type_comes_from_the_bytes_not_the_declared_mime_type():
    p = parse_message(raw(message(sender="a@example.vn", subject="x", body="", received=WHEN, attachments=[
        ("scan.pdf", JPEG, "application/pdf"),                    # a photo sent as a PDF: taken, as a JPEG
        ("anh.jpg", b"MZ\x90\x00 not a picture at all", "image/jpeg"),   # a program sent as a photo: refused
        ("photo.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "image/heic"),
        ("trong.pdf", b"", "application/pdf")])))
    assert [(f.name, f.kind) for f in p.files] == [("scan.pdf", "jpeg")]
    assert [(q.code, q.name) for q in p.problems] == [("unsupported_type", "anh.jpg"), ("heic_photo", "photo.heic"),
                                                      ("empty_file", "trong.pdf")]
    assert "sent as image/jpeg" in p.problems[0].detail


def _zip(members: dict[str, bytes], **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data, **kw)
    return buf.getvalue()


def test_a_zip_with_folders_and_a_nested_zip_and_a_docx_inside():
    from samples.mail import docx_entry

    docx = docx_entry({"name": "Lê Chi"}, "Trả lời")
    inner = _zip({"c.pdf": PDF})
    data = _zip({"Lớp 9A/An/trang1.jpg": JPEG, "Lớp 9A/Chi/bai.docx": docx, "Lớp 9A/them.zip": inner,
                 "Lớp 9A/ghichu.txt": b"ghi chu"})
    p = parse_message(raw(message(sender="a@example.vn", subject="x", body="", received=WHEN,
                                  attachments=[("lop 9A.zip", data, "application/zip")])))
    assert [(f.path, f.kind) for f in p.files] == [("lop 9A.zip/Lớp 9A/An/trang1.jpg", "jpeg"),
                                                   ("lop 9A.zip/Lớp 9A/Chi/bai.docx", "docx"),
                                                   ("lop 9A.zip/Lớp 9A/them.zip/c.pdf", "pdf")]
    assert [(q.code, q.name) for q in p.problems] == [("unsupported_type", "ghichu.txt")]


def test_zip_bomb_unsafe_paths_and_encryption_are_refused_whole():
    bomb = _zip({"a.jpg": b"\x00" * (30 * 2**20)})
    with pytest.raises(ZipRefused) as exc:
        unpack(bomb)
    assert exc.value.code == "zip_bomb"
    with pytest.raises(ZipRefused) as exc:
        unpack(_zip({"x.pdf": PDF * 100}), ZipLimits(max_total=10_000))
    assert exc.value.code == "zip_bomb"
    for evil in ("../../etc/passwd", "/etc/passwd", "C:/Windows/x.jpg"):
        with pytest.raises(ZipRefused) as exc:
            unpack(_zip({"ok.jpg": JPEG, evil: b"root:x:0:0"}))
        assert exc.value.code == "zip_unsafe_path", evil
    enc = bytearray(_zip({"a.jpg": JPEG}))
    enc[6] |= 1                                       # the local header's "encrypted" bit
    cd = enc.rfind(b"PK\x01\x02")
    enc[cd + 8] |= 1                                  # and the central directory's
    with pytest.raises(ZipRefused) as exc:
        unpack(bytes(enc))
    assert exc.value.code == "zip_encrypted"
    p = parse_message(raw(message(sender="a@example.vn", subject="x", body="", received=WHEN, attachments=[
        ("bom.zip", bomb, "application/zip"), ("evil.zip", _zip({"../../etc/passwd": b"x"}), "application/zip"),
        ("ok.jpg", JPEG, "image/jpeg")])))
    assert [f.name for f in p.files] == ["ok.jpg"]
    assert [(q.code, q.name) for q in p.problems] == [("zip_bomb", "bom.zip"), ("zip_unsafe_path", "evil.zip")]


def test_forwarded_messages_are_unpacked_recursively_with_their_own_times():
    t1, t2 = WHEN - timedelta(days=2), WHEN - timedelta(days=1)
    student = message(sender="hs@example.vn", subject="Bài thi", body="Họ và tên: Lê Chi", received=t1,
                      to="truong@example.vn", attachments=[("bai.jpg", JPEG, "image/jpeg")])
    school = message(sender="truong@example.vn", subject="Fwd: Bài thi", body="", received=t2, forwards=[student])
    district = message(sender="quan@example.vn", subject="Fwd: Fwd: Bài thi", body="", received=WHEN,
                       forwards=[school])
    p = parse_message(raw(district))
    assert p.files == () and p.received_at == WHEN
    (fw,) = p.forwards
    assert (fw.sender, fw.received_at, fw.files) == ("truong@example.vn", t2, ())
    (inner,) = fw.forwards
    assert (inner.sender, inner.received_at, inner.body) == ("hs@example.vn", t1, "Họ và tên: Lê Chi")
    assert [f.name for f in inner.files] == ["bai.jpg"] and [f.name for f in p.all_files()] == ["bai.jpg"]


def test_forwards_nested_too_deep_are_a_reason():
    data = message(sender="a@example.vn", subject="x", body="", received=WHEN,
                   attachments=[("a.jpg", JPEG, "image/jpeg")])
    for _ in range(6):
        data = message(sender="a@example.vn", subject="Fwd", body="", received=WHEN, forwards=[data])
    p = parse_message(raw(data))
    codes = []
    while p.forwards:
        codes += [q.code for q in p.problems]
        p = p.forwards[0]
    assert "nested_too_deep" in codes + [q.code for q in p.problems]


def test_inline_images_are_files_but_tiny_logos_are_not():
    from email.message import EmailMessage

    m = EmailMessage()
    m["From"], m["Subject"] = "a@example.vn", "x"
    m.set_content("xem ảnh")
    m.add_alternative("<p>xem ảnh <img src='cid:a'></p>", subtype="html")
    html = m.get_payload()[1]
    html.add_related(JPEG, "image", "jpeg", cid="<a>")
    html.add_related(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image", "png", cid="<logo>")
    p = parse_message(raw(m.as_bytes()))
    assert [(f.kind, f.inline) for f in p.files] == [("jpeg", True)] and p.body == "xem ảnh"


def test_a_message_over_the_size_limit_is_rejected_with_its_headers_read():
    data = message(sender="a@example.vn", subject="Bài rất lớn", body="", received=WHEN,
                   attachments=[("big.pdf", PDF + b"x" * (MAX_MESSAGE_BYTES * 3 // 4), "application/pdf")])
    assert len(data) > MAX_MESSAGE_BYTES
    p = parse_message(raw(data))
    assert p.fatal is not None and p.fatal.code == "too_large" and p.files == ()
    assert (p.subject, p.sender, p.received_at) == ("Bài rất lớn", "a@example.vn", WHEN)


def test_more_attachments_than_the_limit_is_a_reason():
    atts = [(f"{i}.jpg", JPEG[:64], "image/jpeg") for i in range(MAX_PARTS + 1)]
    p = parse_message(raw(message(sender="a@example.vn", subject="x", body="", received=WHEN, attachments=atts)))
    assert p.fatal is not None and p.fatal.code == "too_many_parts" and "1,002 parts" in p.fatal.detail
    ok = parse_message(raw(message(sender="a@example.vn", subject="x", body="", received=WHEN,
                                   attachments=atts[:MAX_PARTS - 1])))
    assert ok.fatal is None and len(ok.files) == MAX_PARTS - 1


@pytest.mark.parametrize("body", [
    b"--zzz\r\nContent-Type: image/jpeg\r\n\r\nxx\r\n--zzz--\r\n",        # boundary declared "b1", never used
    b"",
])
def test_a_malformed_mime_tree_is_rejected_with_a_reason(body):
    data = (b"From: a@example.vn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" + body)
    p = parse_message(raw(data))
    assert p.fatal is not None and p.fatal.code == "malformed_mime"
    assert "StartBoundaryNotFoundDefect" in p.fatal.detail
    nob = parse_message(raw(b"From: a@example.vn\r\nContent-Type: multipart/mixed\r\n\r\nhello\r\n"))
    assert nob.fatal is not None and "NoBoundaryInMultipartDefect" in nob.fatal.detail


def test_an_unclosed_multipart_keeps_its_files_and_notes_nothing_fatal():
    data = message(sender="a@example.vn", subject="x", body="", received=WHEN,
                   attachments=[("a.jpg", JPEG, "image/jpeg")])
    cut = data[:data.rfind(b"--")]                          # the closing delimiter lost
    p = parse_message(raw(cut))
    assert p.fatal is None and [f.name for f in p.files] == ["a.jpg"]
