"""IMAP intake rate on loopback: a throwaway Dovecot holding N realistic messages, read into RawMessages.

    .venv/bin/python -m bench.imap_bench [-n 1000] [--seed 7] [--batch 50] [--starttls]

Makes N multipart messages (a Vietnamese text body and 1–3 attachments of incompressible bytes, JPEG/PDF/DOCX
by name and type, base64 as mail clients send them; 0.2–3 MB a message), delivers them straight into the
server's Maildir (a file per message, its mtime the INTERNALDATE), lets Dovecot index them once, then times
``ImapMailbox.scan`` + ``messages`` over IMAPS (or IMAP + STARTTLS) on 127.0.0.1, hashing each message as the
ingest does. Reports messages/s, MB/s and the peak RSS of this process (the fetch batches bound it).

    .venv/bin/python -m bench.imap_bench --ingest -n 1000 [--small]

instead delivers the generator's realistic mix (``samples/mail.py``, the Maildir ``bench/ingest_bench.py`` makes
and keeps under /tmp/omr-ingest-bench) to the Dovecot and times the whole ``omr ingest imaps://… --no-grade``
(a subprocess, into a new SQLite store): the end-to-end rate, and every message accounted for.
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
    ap.add_argument("--ingest", action="store_true",
                    help="time `omr ingest imaps://… --no-grade` over the generator's realistic mix instead")
    ap.add_argument("--small", action="store_true", help="with --ingest: the generator's smaller scans")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "grading"))
    if args.ingest:
        return ingest_run(args, argv)
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


def ingest_run(args: argparse.Namespace, argv: list[str] | None) -> int:
    """``omr ingest`` over IMAP, end to end: the per-state counts must add up to the messages delivered."""
    import json
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    from mail_servers import DovecotServer

    from bench.ingest_bench import _contest, _counts, _mailbox

    work = Path("/tmp/omr-ingest-bench")
    work.mkdir(parents=True, exist_ok=True)
    box, truth = _mailbox(work, args.n, args.seed, args.small)
    files = sorted((box / "mailbox" / "new").iterdir())
    server = DovecotServer()
    try:
        server.start()
        user, password = server.add_user("hoankiem@thi.hanoi.gov.vn")
        size = 0
        for f in files:
            data = f.read_bytes()
            size += len(data)
            server.deliver(user, data, when=datetime.fromtimestamp(f.stat().st_mtime, timezone.utc))
        with tempfile.TemporaryDirectory(prefix="omr-imap-ingest-") as tmp:
            contest = _contest(Path(tmp), box)
            url = f"sqlite:///{contest / 'out' / 'results.sqlite'}"
            cmd = [sys.executable, "-m", "grading.cli", "ingest", server.url(user), "--contest", str(contest),
                   "--db", url, "--unit", "Q.HK", "--no-grade"]
            env = {**os.environ, "PYTHONPATH": str(ROOT), "OMR_IMAP_PASSWORD": password,
                   "OMR_MAIL_CA_FILE": str(server.ca_file)}
            t0 = time.perf_counter()
            res = subprocess.run(cmd, env=env, capture_output=True, text=True)
            took = time.perf_counter() - t0
            ru = resource.getrusage(resource.RUSAGE_CHILDREN)
            messages, entries, stored = _counts(url)
    finally:
        server.remove()
    unique = sum(not m.get("duplicate") for m in truth["messages"])
    print(f"command: python -m bench.imap_bench {shlex.join(argv if argv is not None else sys.argv[1:])}")
    print(f"machine: {machine()}; commit {commit()}; Dovecot on 127.0.0.1 (IMAPS)")
    print(f"omr ingest imaps://… --no-grade: exit {res.returncode}; {len(files)} messages, {size / 1e6:.0f} MB in "
          f"{took:.1f} s: {len(files) / took:.1f} messages/s, {size / 1e6 / took:.1f} MB/s; the command "
          f"{ru.ru_utime + ru.ru_stime:.1f} CPU s")
    print(json.dumps({"messages": messages, "entries": entries, "stored": stored, "unique_in_source": unique},
                     ensure_ascii=False))
    return 0 if res.returncode == 0 and stored == unique else 1


if __name__ == "__main__":
    raise SystemExit(main())
