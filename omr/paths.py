"""File names at the edges: always a string for people and formats, the exact bytes kept when they are not UTF-8.

A file system allows any bytes in a name (except ``/`` and NUL). Inside the program a path is the ``str`` the
``os`` functions give: bytes that are not valid UTF-8 are held as lone surrogates (U+DC80–U+DCFF, Python's
``surrogateescape``), and every ``os`` function opens that ``str`` again. Such a ``str`` cannot be written as
UTF-8, so JSON files, databases, spreadsheets, web pages and terminals refuse it. The rule, everywhere a name
leaves the program:

* ``source`` is a string: the name with each byte that is not part of valid UTF-8 written as ``\\xNN`` (a
  backslash, ``x``, two lowercase hex digits), e.g. ``scans/\\xff\\xfe.jpg`` — ``display_source``. A valid UTF-8
  name is left exactly as it is (NFC or NFD alike: names are never normalised).
* the exact bytes go next to it, only when the name is not valid UTF-8 — ``source_bytes``: ``omr read`` writes
  them base64-encoded (RFC 4648, with padding) in the JSON field ``source_bytes``; the results store keeps them in
  ``submissions.source_raw``.
* ``path_from(source, raw)`` gives back the path to open: from the bytes when there are, else the string itself.
  The escape alone is not reversible (a valid name may really contain the four characters ``\\xff``); with the
  bytes it always is.
"""
from __future__ import annotations

import base64
import os
from typing import Any, Mapping

__all__ = ["SOURCE_BYTES", "display_source", "display_text", "source_bytes", "path_from", "source_fields",
           "path_from_json", "for_library"]

SOURCE_BYTES = "source_bytes"     # the JSON field holding the exact bytes of a name that is not UTF-8 (base64)


def display_source(path: str) -> str:
    """The name as text for people and formats: bytes that are not UTF-8 written ``\\xNN``."""
    try:
        raw = os.fsencode(path)
    except UnicodeEncodeError:            # a lone surrogate no file system produced: shown as Python writes it
        return path.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def display_text(text: str) -> str:
    """Any text for people (a message naming a file) with the undecodable bytes of names in it written ``\\xNN``;
    text without them is returned unchanged."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return display_source(text)


def source_bytes(path: str) -> bytes | None:
    """The exact bytes of the name when they are not valid UTF-8; ``None`` for a valid UTF-8 name."""
    try:
        path.encode("utf-8")
        return None
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(path)
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogatepass")


def path_from(source: str, raw: bytes | None) -> str:
    """The path to open again: decoded from the exact bytes when they were kept, else ``source`` itself."""
    return os.fsdecode(bytes(raw)) if raw is not None else source


def source_fields(path: str) -> dict[str, str]:
    """``{"source": <escaped>}``, plus ``{"source_bytes": <base64>}`` when the name is not valid UTF-8."""
    out = {"source": display_source(path)}
    raw = source_bytes(path)
    if raw is not None:
        out[SOURCE_BYTES] = base64.b64encode(raw).decode("ascii")
    return out


def path_from_json(record: Mapping[str, Any]) -> str:
    """The path to open from an ``omr read`` JSON record (``source``, and ``source_bytes`` when present)."""
    b64 = record.get(SOURCE_BYTES)
    return path_from(record["source"], base64.b64decode(b64, validate=True) if b64 is not None else None)


class _EscapedName(os.PathLike):
    """Opens as the exact name (``os.fspath``); reads as the escaped one (``str``)."""

    __slots__ = ("_path",)

    def __init__(self, path: str):
        self._path = path

    def __fspath__(self) -> str:
        return self._path

    def __str__(self) -> str:
        return display_source(self._path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({display_source(self._path)!r})"


def for_library(path: str) -> str | os.PathLike[str]:
    """``path`` for a library that opens the file by ``os.fspath`` but also writes ``str(path)`` as UTF-8 (pikepdf
    names the file in its messages so): a valid UTF-8 name as it is, another one wrapped so that its ``str`` is
    the escaped name."""
    return path if source_bytes(path) is None else _EscapedName(path)
