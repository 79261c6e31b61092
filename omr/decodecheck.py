"""Is a decoded image whole? The JPEG's structure, and what the C decoders complain of, never shown raw.

libjpeg (inside OpenCV and Pillow), libpng and libtiff do not fail on most damage: they decode what they can,
fill the rest with grey or garbage, and print one line to the process's stderr (file descriptor 2) —
"Corrupt JPEG data: premature end of data segment", "Fax4Decode: Bad code word at line 125". Read as a sheet,
such a picture is "cut off or folded", which sends people looking for the wrong fault. So:

* ``jpeg_structure_problem`` checks the JPEG's image data before it is decoded, in one numpy pass over its
  0xFF bytes (a few per cent of the decode's cost): after the first SOS marker every 0xFF byte must be
  followed by 00 (a stuffed byte), another FF (fill), the next restart marker in sequence (RST0…RST7, RST0
  again after each SOS), or a marker that may stand between scans (DHT, DAC, DQT, DRI, DNL, SOS, APPn, COM),
  and the data must end with EOI. Noise written over the data almost always breaks this; a stretch lost or
  repeated breaks the restart sequence when the encoder wrote one (else the decoder notices, below).
* ``decoder_text`` runs a decode with fd 2 pointed at a temporary file and hands back what the decoder
  printed; nothing of it reaches the terminal. Text other threads wrote meanwhile (a progress bar, a web
  server's log) is written on to the real stderr; in a process with one thread everything captured is the
  decoder's. Only one decode at a time captures (a lock): fd 2 belongs to the whole process.
* ``jpeg_complaint`` / ``tiff_complaint`` judge that text. The rule for a JPEG: the image is damaged when
  libjpeg says its data ran out early, held an invalid code, or lost its restart markers; a few unused bytes
  just before the end marker (``HARMLESS_EXTRA_BYTES`` at most, after every block was decoded) are an
  encoder's padding and the image is read; more mean the decoder lost step with the data (a stretch repeated
  or garbled), and the image is damaged. libjpeg prints only the first warning of a decode, so a harmless
  first warning (an unknown JFIF version, a bad ICC profile) hides later ones: the structure check still runs.

What no check finds: bytes changed in place without breaking the structure (a stretch zeroed) can decode
silently to a garbled picture; JPEG carries no checksum. The sheet's alignment rejects such a page.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

__all__ = ["HARMLESS_EXTRA_BYTES", "decoder_text", "jpeg_complaint", "jpeg_structure_problem", "tiff_complaint"]

T = TypeVar("T")

HARMLESS_EXTRA_BYTES = 64
_BETWEEN_SCANS = frozenset({0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xDA, 0xFE, *range(0xE0, 0xF0)})


# ---------------------------------------------------------------------------------------- JPEG structure

class Truncated(Exception):
    """The JPEG's data ends before its end marker."""


def jpeg_structure_problem(data: bytes, sos: int) -> str | None:
    """What is wrong with the marker structure from the first SOS marker (at ``sos``) to EOI, or None.

    Raises ``Truncated`` when the data ends first. Bytes after EOI are not looked at (trailing data is legal).
    """
    buf = np.frombuffer(data, np.uint8)
    ff = np.flatnonzero(buf[sos:-1] == 0xFF) + sos
    codes = buf[ff + 1]
    keep = (codes != 0x00) & (codes != 0xFF)
    at, codes = ff[keep], codes[keep].astype(np.int32)       # every marker (FF xx), RSTs included
    is_rst = (codes >= 0xD0) & (codes <= 0xD7)
    pos, n = sos, len(data)
    while True:
        if pos + 1 >= n:
            raise Truncated
        code = data[pos + 1]
        if code == 0xD9:
            return None
        if code not in _BETWEEN_SCANS:
            return f"part of its data is garbled (an invalid marker 0x{code:02x})"
        if pos + 4 > n:
            raise Truncated
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if end > n:
            raise Truncated
        if code != 0xDA:
            pos = _skip_fill(data, end)
            if pos < n and data[pos] != 0xFF:
                return "part of its data is garbled (bytes out of place between its parts)"
            continue
        j = int(np.searchsorted(at, end))                  # entropy-coded data runs to the next non-RST marker
        stop = j + int(np.argmin(is_rst[j:])) if j < len(at) and not is_rst[j:].all() else len(at)
        rst = codes[j:stop] - 0xD0
        if not np.array_equal(rst, np.arange(len(rst)) % 8):
            return "part of its data is missing or repeated (restart markers out of order)"
        if stop == len(at):
            raise Truncated
        pos = int(at[stop])


def _skip_fill(data: bytes, pos: int) -> int:
    while pos + 1 < len(data) and data[pos] == 0xFF and data[pos + 1] == 0xFF:
        pos += 1
    return pos


# ------------------------------------------------------------------------------------ decoder complaints

_EXTRA = re.compile(r"Corrupt JPEG data: (\d+) extraneous bytes before marker 0x([0-9a-fA-F]{2})")
_JPEG_DAMAGE = (
    ("premature end of data segment", "its data breaks off before the last row"),
    ("Premature end of JPEG file", "its data breaks off before the end"),
    ("bad Huffman code", "part of its data is garbled"),
    ("bad arithmetic code", "part of its data is garbled"),
    ("instead of RST", "part of its data is missing or garbled"),
    ("Inconsistent progression sequence", "part of its data is garbled"),
)


def jpeg_complaint(text: str) -> str | None:
    """The damage libjpeg's ``text`` reports, in words for people; None when the image is whole."""
    extra = _EXTRA.search(text)
    if extra is not None:
        if extra.group(2).lower() == "d9" and int(extra.group(1)) <= HARMLESS_EXTRA_BYTES:
            return None
        return "part of its data is repeated or garbled"
    for needle, words in _JPEG_DAMAGE:
        if needle in text:
            return words
    return None


_TIFF_LINE = re.compile(r"(?m)^[^\s:\x1b]+: (?!Warning, )[^\n\x1b\r]*\.$")


def tiff_complaint(text: str) -> str | None:
    """libtiff prints errors as "Module: text." and warnings as "Module: Warning, text.": any error means the
    picture it decoded is not whole."""
    return "its image data has errors" if _TIFF_LINE.search(text) else None


# ------------------------------------------------------------------------------------ capturing fd 2

class _Sink:
    """A per-process temporary file that fd 2 points at while a decoder runs, and the lock that guards it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fd: int | None = None

    def file(self) -> int:
        if self.fd is None:
            handle, path = tempfile.mkstemp(prefix="omr-decoder-")
            os.unlink(path)
            self.fd = handle
        return self.fd

    def after_fork(self) -> None:
        # the parent's lock may have been held by one of its threads, and its file's offset is shared: new ones
        self.lock = threading.Lock()
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = None


_SINK = _Sink()
os.register_at_fork(after_in_child=_SINK.after_fork)
_KNOWN = re.compile(rb"Corrupt JPEG data[^\n]*\n|Premature end of JPEG file\n|Warning: [^\n]*\n|"
                    rb"Invalid SOS parameters[^\n]*\n|Inconsistent progression[^\n]*\n|Unknown Adobe[^\n]*\n|"
                    rb"libpng (?:warning|error): [^\n]*\n|(?m:^[^\s:\x1b]+: [^\n\x1b\r]*\.\n)")


def decoder_text(decode: Callable[[], T]) -> tuple[T, str]:
    """Run ``decode()`` with fd 2 captured: its result and what the C decoders printed (never shown)."""
    with _SINK.lock:
        try:
            sink = _SINK.file()
            if sys.stderr is not None:
                sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):           # no stderr at all (a daemon): nothing can be printed either
            return decode(), ""
        os.dup2(sink, 2)
        try:
            result = decode()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            raw = _drain(sink)
    return result, raw.decode("utf-8", "replace")


def _drain(sink: int) -> bytes:
    """What the sink holds, which is then emptied; text of other threads in it is written on to fd 2."""
    size = os.fstat(sink).st_size
    if size == 0:
        return b""
    raw = os.pread(sink, size, 0)
    os.ftruncate(sink, 0)
    os.lseek(sink, 0, os.SEEK_SET)
    if threading.active_count() > 1:
        foreign = _KNOWN.sub(b"", raw)
        while foreign:
            foreign = foreign[os.write(2, foreign):]
    return raw
