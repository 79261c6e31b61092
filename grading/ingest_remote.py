"""``omr ingest`` with mail servers: an IMAP mailbox read incrementally into the store, receipts sent over SMTP.

IMAP (``ImapIntake``): the mailbox's cursor (UIDVALIDITY, the last UID stored) is kept in the store; a run fetches
only the UIDs after it. Each message is confirmed (marked ``\\Seen`` only with ``--mark-seen``) after its
transaction committed, never before; the cursor is saved every ``CURSOR_EVERY`` messages and when the run ends or
the server goes away. A crash in between fetches a few messages again, which their content hash recognises; a
changed UIDVALIDITY reads the mailbox from its first message, recognised the same way.

Receipts (``ReceiptRun``), at most one per message even across ``kill -9``: the attempt is recorded (committed)
BEFORE the receipt goes out and the sending after it. A receipt attempted and never recorded sent is *uncertain*
(it may have gone out): ``--resend-receipts`` lists it and sends it again only with ``--force``; those never
attempted are sent. A receipt the server refused, or that found no server to connect to, certainly did not go
out: it is due again. Once the SMTP server is found gone, the run sends no more and its receipts stay due.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .db import mail as db
from .mail.imap import ImapCursor, ImapMailbox
from .mail.raw import RawMessage, Receipt
from .mail.remote import ConnectionLost, MailServerError, ServerUnreachable
from .mail.smtp import ReceiptRefused, ReceiptSender

CURSOR_EVERY = 50          # messages confirmed between two saves of the cursor


class ImapIntake:
    """The messages after the stored cursor of ``box`` (connected), and what to do once each is stored."""

    def __init__(self, box: ImapMailbox, store: Any, *, say: Any = print):
        self.box, self.store, self.say = box, store, say
        self.mailbox = str(box.url)
        self.cursor: ImapCursor | None = None
        self._unsaved = 0

    def items(self) -> Iterator[RawMessage]:
        saved = db.mail_cursor(self.store, self.mailbox)
        scan = self.box.scan(ImapCursor(*saved) if saved else None)
        if scan.restarted:
            self.say(scan.note)
        if saved is None or scan.restarted:
            self.cursor = ImapCursor(scan.uidvalidity, 0)
            self._unsaved = 1
        yield from self.box.messages(scan)

    def stored(self, message: RawMessage, _row: object = None) -> None:
        """``message`` is in the store (recorded now or before): confirm it, save the cursor now and then."""
        self.cursor = self.box.confirm([message])
        self._unsaved += 1
        if self._unsaved >= CURSOR_EVERY:
            self.save()

    def save(self) -> None:
        if self.cursor is not None and self._unsaved:
            db.save_mail_cursor(self.store, self.mailbox, self.cursor.uidvalidity, self.cursor.last_uid)
            self._unsaved = 0


@dataclass
class ReceiptTally:
    sent: int = 0
    refused: list[str] = field(default_factory=list)     # why, one per receipt the server would not take
    left: int = 0                                         # due and not sent: the server was gone
    uncertain: int = 0                                    # attempted, not confirmed (the connection broke)
    skipped: int = 0                                      # uncertain from an earlier run, not sent (no --force)
    server_error: MailServerError | None = None

    @property
    def unsent(self) -> int:
        return len(self.refused) + self.left + self.uncertain


class ReceiptRun:
    """Sends receipts through ``sender``, each recorded as attempted before and as sent after."""

    def __init__(self, store: Any, sender: ReceiptSender, tally: ReceiptTally | None = None):
        self.store, self.sender = store, sender
        self.tally = tally or ReceiptTally()

    def after_message(self, _message: RawMessage, row: db.MessageRow | None) -> None:
        """An ``ingest`` hook: the receipt of a message recorded now, when one is due."""
        if row is not None and row.receipt_to is not None:
            self.send(Receipt(row.hash, row.receipt_to, row.receipt_subject, row.receipt_body, row.message_id))

    def send(self, receipt: Receipt, *, force: bool = False) -> bool:
        """Send one receipt unless the server is gone or it was attempted before (without ``force``)."""
        t = self.tally
        if t.server_error is not None:
            t.left += 1
            return False
        if not db.mark_receipt_sending(self.store, receipt.message_hash, force=force):
            t.skipped += 1
            return False
        connected = self.sender.connected
        try:
            self.sender.send(receipt)
        except ReceiptRefused as exc:
            db.clear_receipt_sending(self.store, receipt.message_hash)
            t.refused.append(str(exc))
            return False
        except MailServerError as exc:        # gone, unreachable, a login refused: no more receipts this run
            t.server_error = exc
            if isinstance(exc, ConnectionLost) or (connected and isinstance(exc, ServerUnreachable)):
                t.uncertain += 1                  # it may have reached the server before the connection broke
            else:
                db.clear_receipt_sending(self.store, receipt.message_hash)
                t.left += 1
            return False
        db.mark_receipt_sent(self.store, receipt.message_hash)
        t.sent += 1
        return True


def due_receipt(r: db.DueReceipt) -> Receipt:
    return Receipt(r.message_hash, r.to, r.subject, r.body, r.in_reply_to)


_TEXTS = {
    "vi": {"sent": "Thư xác nhận: đã gửi {sent}", "refused": " · máy chủ từ chối {n}", "left": " · chưa gửi {n}",
           "uncertain": " · không chắc đã gửi {n}", "why": "  {why}",
           "later": "  Thư chưa gửi: xem bằng `omr ingest … --resend-receipts`, gửi lại bằng `--resend-receipts "
                    "--smtp URL` (thư không chắc đã gửi chỉ gửi lại khi thêm --force)."},
    "en": {"sent": "receipts: {sent} sent", "refused": " · {n} refused by the server", "left": " · {n} not sent",
           "uncertain": " · {n} uncertain", "why": "  {why}",
           "later": "  unsent receipts: list them with `omr ingest … --resend-receipts`, send them with "
                    "`--resend-receipts --smtp URL` (the uncertain ones only with --force)."},
}


def receipts_text(t: ReceiptTally, language: str) -> str:
    w = _TEXTS.get(language, _TEXTS["vi"])
    line = w["sent"].format(sent=t.sent)
    for key, n in (("refused", len(t.refused)), ("left", t.left), ("uncertain", t.uncertain)):
        if n:
            line += w[key].format(n=n)
    lines = [line, *(w["why"].format(why=why) for why in t.refused)]
    if t.unsent:
        lines.append(w["later"])
    return "\n".join(lines)
