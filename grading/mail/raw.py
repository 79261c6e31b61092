"""What a mail source hands over and what a receipt is: the interface between sources, parsing and sending."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message exactly as the receiving server stored it (RFC 5322 bytes), before any parsing."""
    data: bytes
    key: str                        # the source's own id: "imap:<uidvalidity>:<uid>", "maildir:<file name>",
                                    # "mbox:<n>", "eml:<path relative to the folder>"
    source: str                     # the mailbox as people name it (a URL without its password, a path)
    received_at: datetime | None    # the receiving server's time when the source knows it (IMAP INTERNALDATE, a
                                    # Maildir file's delivery time), timezone-aware; None: take the topmost
                                    # Received: header. Never the sender's Date:.


@dataclass(frozen=True, slots=True)
class Receipt:
    """One acknowledgement to send for one message (at most one per message, ever)."""
    message_hash: str               # the SHA-256 of the message's bytes: the receipt's identity
    to: str                         # the address to answer (Reply-To, else From)
    subject: str                    # "Re: <the message's subject>" in the contest's language
    body: str                       # plain text, UTF-8
    in_reply_to: str = ""           # the message's Message-ID, for threading
