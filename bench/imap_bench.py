"""IMAP intake rate on loopback: a throwaway Dovecot holding N realistic messages, read into RawMessages.

    .venv/bin/python -m bench.imap_bench [-n 1000] [--seed 7] [--batch 50] [--starttls]

Makes N multipart messages (a Vietnamese text body and 1–3 attachments of incompressible bytes, JPEG/PDF/DOCX
by name and type, base64 as mail clients send them; 0.2–3 MB a message), delivers them straight into the
server's Maildir (a file per message, its mtime the INTERNALDATE), lets Dovecot index them once, then times
``ImapMailbox.scan`` + ``messages`` over IMAPS (or IMAP + STARTTLS) on 127.0.0.1, hashing each message as the
ingest does. Reports messages/s, MB/s and the peak RSS of this process (the fetch batches bound it).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import resource
import shlex
import sys
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP

from bench.read_bench import ROOT, commit, machine

HANOI = timezone(timedelta(hours=7))
KINDS = [("image", "jpeg", "anh_bai_thi_{}.jpg"), ("application", "pdf", "bai_du_thi_{}.pdf"),
         ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "Bài dự thi {}.docx")]


def make_message(rng: random.Random, n: int) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Trường THCS số {n % 40} <school{n % 40}@example.edu.vn>"
    msg["To"] = "cuocthi.quan1@example.gov.vn"
    msg["Subject"] = f"Bài dự thi tìm hiểu pháp luật — học sinh {n}"
    msg["Date"] = "Fri, 04 Sep 2026 09:00:00 +0700"
    msg["Message-ID"] = f"<bench-{n}@example.edu.vn>"
    msg.set_content(f"Kính gửi Ban Tổ chức,\nEm gửi bài dự thi số {n}.\nTrân trọng.\n", charset="utf-8")
    budget = rng.uniform(0.2, 3.0) * 1024 * 1024 * 3 / 4      # base64 makes 4 bytes of 3
    parts = rng.randint(1, 3)
    for i in range(parts):
        main, sub, name = rng.choice(KINDS)
        msg.add_attachment(rng.randbytes(int(budget / parts)), maintype=main, subtype=sub,
                           filename=name.format(i + 1))
    return msg.as_bytes()


def fill_maildir(server, user: str, n: int, seed: int) -> int:  # noqa: ANN001 (tests' DovecotServer)
    """N messages delivered as Maildir files into the user's INBOX; returns the bytes written."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=HANOI)
    total = 0
    for i in range(n):
        data = make_message(rng, i)
        server.deliver(user, data, when=start + timedelta(minutes=i))
        total += len(data)
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=50, help="messages per UID FETCH")
    ap.add_argument("--starttls", action="store_true", help="imap:// with STARTTLS instead of imaps://")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "grading"))
    from mail_servers import DovecotServer, client_context

    from grading.mail.imap import ImapMailbox, ImapUrl

    server = DovecotServer()
    try:
        server.start()
        user, password = server.add_user("bench@example.gov.vn")
        t0 = time.perf_counter()
        size = fill_maildir(server, user, args.n, args.seed)
        made = time.perf_counter() - t0
        url = ImapUrl.parse(server.url(user, implicit_tls=not args.starttls))
        ctx = client_context(server.ca_file)
        t0 = time.perf_counter()
        with ImapMailbox(url, password, ssl_context=ctx) as box:       # Dovecot indexes the new files here
            box.scan(None)
        indexed = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        hashes, got_bytes, dated = set(), 0, 0
        with ImapMailbox(url, password, ssl_context=ctx, batch_messages=args.batch) as box:
            scan = box.scan(None)
            for m in box.messages(scan):
                hashes.add(hashlib.sha256(m.data).hexdigest())
                got_bytes += len(m.data)
                dated += m.received_at is not None
            box.confirm([])
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        server.remove()
    mb = got_bytes / 1e6
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"command: python -m bench.imap_bench {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {machine()}; commit {commit()}; Dovecot on 127.0.0.1, {url}")
    print(f"made {args.n} messages, {size / 1e6:.0f} MB ({size / args.n / 1e6:.2f} MB each) in {made:.1f} s; "
          f"Dovecot indexed them in {indexed:.1f} s")
    print(f"fetched {len(scan.uids)} messages ({len(hashes)} distinct, {dated} with INTERNALDATE), {mb:.0f} MB "
          f"in {took:.1f} s: {len(scan.uids) / took:.1f} messages/s, {mb / took:.1f} MB/s; batch {args.batch}; "
          f"this process {cpu:.1f} CPU s (TLS, imaplib, SHA-256; the rest is Dovecot); peak RSS {rss:.0f} MB")
    return 0 if len(hashes) == args.n == dated and got_bytes == size else 1


if __name__ == "__main__":
    raise SystemExit(main())
