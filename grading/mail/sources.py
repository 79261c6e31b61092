"""Mailboxes on disk, each message handed over as a ``RawMessage``: a Maildir (``cur``/``new``/``tmp``), an mbox
file, or a folder of ``.eml`` files (searched recursively).

A Maildir message's time received is its delivery file's modification time (the delivery agent wrote it; later
readers rename it, never rewrite it). A message that goes away between the listing and the read (another mail
client moved or deleted it) is a ``Vanished`` record, not an exception: the run goes on and says which.
IMAP mailboxes (``imap://``, ``imaps://``) are read by ``grading.mail.imap``.
"""
from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from omr.errors import InputError

from .raw import RawMessage


@dataclass(frozen=True, slots=True)
class Vanished:
    """A message listed but gone when it was read: nothing to store, reported by the run."""
    key: str
    source: str
    error: str


Item = RawMessage | Vanished


def is_imap(source: str) -> bool:
    return source.lower().startswith(("imap://", "imaps://"))


def _maildir_unique(name: str) -> str:
    """A Maildir file's unique part (what stays when a reader adds ``:2,S`` flags)."""
    return name.split(":", 1)[0].split("!", 1)[0]


def maildir_messages(folder: Path) -> Iterator[Item]:
    """``new/`` then ``cur/``, each in name order (delivery order for the usual time-based names)."""
    names = [(sub, n) for sub in ("new", "cur") if (folder / sub).is_dir()
             for n in sorted(os.listdir(folder / sub)) if not n.startswith(".")]
    for sub, name in names:
        unique = _maildir_unique(name)
        key, path = f"maildir:{unique}", folder / sub / name
        try:
            yield _maildir_read(path, key, str(folder))
        except FileNotFoundError:
            moved = _find_moved(folder, unique)
            if moved is None:
                yield Vanished(key, str(folder), f"{sub}/{name} was removed from the mailbox during the run")
                continue
            try:
                yield _maildir_read(moved, key, str(folder))
            except OSError as exc:
                yield Vanished(key, str(folder), f"{sub}/{name}: {exc.strerror or exc}")
        except OSError as exc:
            yield Vanished(key, str(folder), f"{sub}/{name}: {exc.strerror or exc}")


def _maildir_read(path: Path, key: str, source: str) -> RawMessage:
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        data = f.read()
    return RawMessage(data, key, source, datetime.fromtimestamp(st.st_mtime, timezone.utc))


def _find_moved(folder: Path, unique: str) -> Path | None:
    """The same message under another name (a reader moved it from ``new/`` to ``cur/`` and added flags)."""
    for sub in ("cur", "new"):
        try:
            for n in os.listdir(folder / sub):
                if _maildir_unique(n) == unique:
                    return folder / sub / n
        except OSError:
            continue
    return None


def mbox_messages(path: Path) -> Iterator[Item]:
    box = mailbox.mbox(str(path), create=False)
    try:
        for n, key in enumerate(box.iterkeys(), start=1):
            yield RawMessage(box.get_bytes(key), f"mbox:{n}", str(path), None)
    finally:
        box.close()


def eml_messages(folder: Path) -> Iterator[Item]:
    for p in sorted(folder.rglob("*.eml")):
        rel = p.relative_to(folder).as_posix()
        try:
            yield RawMessage(p.read_bytes(), f"eml:{rel}", str(folder), None)
        except OSError as exc:
            yield Vanished(f"eml:{rel}", str(folder), f"{rel}: {exc.strerror or exc}")


def open_source(source: str) -> Iterator[Item]:
    """The messages of ``source`` (a Maildir, an mbox file, a folder of ``.eml``); ``InputError`` (exit 9) for
    anything else, an IMAP URL included (``grading.mail.imap.open_mailbox`` reads those)."""
    if is_imap(source):
        raise InputError(f"{source.split('@')[-1]} is an IMAP mailbox, not a local one: it is read by "
                         "grading.mail.imap.open_mailbox (as `omr ingest imaps://…` does)")
    path = Path(source)
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return maildir_messages(path)
        if next(path.rglob("*.eml"), None) is not None:
            return eml_messages(path)
        raise InputError(f"{source} is neither a Maildir (no cur/ or new/ folder) nor a folder of .eml files")
    if path.is_file():
        with open(path, "rb") as f:
            head = f.read(5)
        if head == b"From ":
            return mbox_messages(path)
        raise InputError(f"{source} is a file but not an mbox (it does not start with 'From ')")
    raise InputError(f"mailbox {source} does not exist: give a Maildir, an mbox file or a folder of .eml files")
