"""Text files that people write (layout, answer keys, rubric, roster): UTF-8 only, a leading BOM allowed.

Anything else is refused with what the bytes look like, so that the message can say how to save the file
again: UTF-16 or UTF-32 (Notepad's "Unicode", Excel's "Unicode Text"), Windows-1258 (Vietnamese Excel's
"CSV (Comma delimited)" and older Word), or just the first byte that is not UTF-8. Never a silent guess.
"""
from __future__ import annotations

import codecs

# UTF-32 first: its little-endian BOM starts with UTF-16's
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
         (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))
# letters and tone marks that only Vietnamese text has, as Windows-1258 writes them (tones as combining marks)
_VIETNAMESE = frozenset("ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323")


class NotUtf8(ValueError):
    """The bytes are not UTF-8 text; ``encoding`` is what they look like ("UTF-16", "UTF-32",
    "Windows-1258") or ``None``; ``str()`` says it in a few words."""

    def __init__(self, encoding: str | None, detail: str):
        super().__init__(detail)
        self.encoding = encoding


def utf8_text(data: bytes) -> str:
    """The text of a UTF-8 file (a UTF-8 BOM dropped); ``NotUtf8`` for anything else, NUL bytes included
    (a text file has none; UTF-16 without a BOM is mostly NULs and would otherwise pass as UTF-8)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise NotUtf8(name, f"it is {name} (it starts with a {name} byte-order mark)")
    nul = data.find(b"\x00")
    if nul >= 0:
        if _looks_utf16(data):
            raise NotUtf8("UTF-16", "it looks like UTF-16 (every other byte is 0)")
        raise NotUtf8(None, f"byte {nul} is 0: this is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = f"byte {exc.start} (0x{data[exc.start]:02X}) is not UTF-8"
        if _looks_windows_1258(data):
            raise NotUtf8("Windows-1258", f"it looks like Windows-1258, the Vietnamese code page: {bad}") from None
        raise NotUtf8(None, bad) from None


def _looks_utf16(data: bytes) -> bool:
    head = data[:400]
    even, odd = head[0::2], head[1::2]
    return len(head) >= 2 and (even.count(0) >= 0.4 * len(even) or odd.count(0) >= 0.4 * len(odd))


def _looks_windows_1258(data: bytes) -> bool:
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        return False
    return any(c in _VIETNAMESE for c in text)
