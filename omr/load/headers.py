"""JPEG, PNG and TIFF headers read without decoding anything: size, resolution, where the data is, and whether the
file is cut off."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

from ..records import Reject
from .records import _Rejected


ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True, slots=True)
class _Header:
    width: int
    height: int
    dpi: float | None
    data_start: int = 0        # JPEG: offset of the first SOS marker


def _file_reader(f) -> ReadAt:
    def read_at(offset: int, n: int) -> bytes:
        f.seek(offset)
        return f.read(n)
    return read_at


def _bytes_reader(data: bytes) -> ReadAt:
    def read_at(offset: int, n: int) -> bytes:
        return data[offset:offset + n]
    return read_at


_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _density_dpi(units: int, x: int, y: int) -> float | None:
    if x <= 0 or y <= 0:
        return None
    if units == 1:
        return (x + y) / 2
    if units == 2:                       # dots per cm
        return (x + y) / 2 * 2.54
    return None                          # 0: aspect ratio only


def _jpeg_header(read_at: ReadAt, size: int, name: str) -> _Header:
    """Frame size, JFIF density and where the image data starts, from the markers (nothing is decoded)."""
    pos, width, height, dpi = 2, None, None, None
    for _ in range(20000):
        hdr = read_at(pos, 4)
        if len(hdr) < 4:
            raise _truncated_jpeg(name)
        if hdr[0] != 0xFF:
            raise _Rejected(Reject.CORRUPT, f"{name} is a damaged JPEG (invalid marker in its header); "
                                            "scan or export it again")
        marker = hdr[1]
        if marker == 0xFF:               # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            break
        seglen = int.from_bytes(hdr[2:4], "big")
        if seglen < 2:
            break
        if marker == 0xDA:
            if width is None:
                break
            if height == 0:
                raise _Rejected(Reject.UNSUPPORTED_TYPE, f"{name} is a JPEG variant that is not read (height "
                                                         "given after the image data); save it again as JPEG")
            return _Header(width, height, dpi, pos)
        if marker in _SOF:
            seg = read_at(pos + 4, 6)
            if len(seg) < 6:
                raise _truncated_jpeg(name)
            height, width = struct.unpack(">HH", seg[1:5])
        elif marker == 0xE0 and dpi is None:
            seg = read_at(pos + 4, 12)
            if len(seg) == 12 and seg[:5] == b"JFIF\x00":
                dpi = _density_dpi(seg[7], *struct.unpack(">HH", seg[8:12]))
        pos += 2 + seglen
        if pos >= size:
            raise _truncated_jpeg(name)
    raise _Rejected(Reject.CORRUPT, f"{name} is a damaged JPEG (no image data after its header); scan or "
                                    "export it again")


def _truncated_jpeg(name: str) -> _Rejected:
    return _Rejected(Reject.TRUNCATED, f"{name} is cut off: the JPEG ends before its end marker (the copy, "
                                       "upload or scan did not finish); copy or scan it again")


def _check_jpeg_end(read_at: ReadAt, size: int, header: _Header, name: str) -> None:
    """A complete JPEG has an EOI marker (FF D9) after its image data (OpenCV returns grey for the rest)."""
    # FF D9 cannot occur inside entropy-coded data, so any FF D9 after the first SOS is the end of the image;
    # look in the tail first (cheap), then everywhere after SOS (trailing data after EOI, e.g. MPF images).
    tail_start = max(header.data_start, size - 65536)
    if read_at(tail_start, size - tail_start).rfind(b"\xff\xd9") >= 0:
        return
    if tail_start > header.data_start and read_at(header.data_start, size).rfind(b"\xff\xd9") >= 0:
        return
    raise _truncated_jpeg(name)


def _png_header(read_at: ReadAt, size: int, name: str) -> tuple[_Header, int, int]:
    head = read_at(0, 33)
    if len(head) < 33:
        raise _truncated_png(name)
    if head[12:16] != b"IHDR":
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PNG (no IHDR header); save or scan it again")
    width, height = struct.unpack(">II", head[16:24])
    bit_depth, colour_type = head[24], head[25]
    dpi, pos = None, 8
    for _ in range(10000):
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            raise _truncated_png(name)
        length, ctype = struct.unpack(">I4s", chunk)
        if ctype == b"pHYs":
            body = read_at(pos + 8, 9)
            if len(body) == 9:
                x, y, unit = struct.unpack(">IIB", body)
                if unit == 1:
                    dpi = _density_dpi(1, round(x * 0.0254), round(y * 0.0254))
        if ctype in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    if width == 0 or height == 0:
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PNG (zero size); save or scan it again")
    tail = read_at(max(0, size - 1024), 1024)
    if b"IEND" not in tail:
        raise _truncated_png(name)
    return _Header(width, height, dpi), bit_depth, colour_type


def _truncated_png(name: str) -> _Rejected:
    return _Rejected(Reject.TRUNCATED, f"{name} is cut off: the PNG ends before its end chunk (the copy, "
                                       "upload or save did not finish); copy or save it again")


@dataclass(frozen=True, slots=True)
class _TiffPage:
    width: int
    height: int
    dpi: float | None
    data_end: int              # end of the last strip/tile of this page


_TIFF_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def _tiff_pages(read_at: ReadAt, size: int, name: str, *, stop_after: int | None = None,
                max_pages: int = 1 << 20) -> list[_TiffPage]:
    """Walk the IFD chain of a classic TIFF: size, resolution and data extent of each page (nothing decoded)."""
    head = read_at(0, 8)
    if len(head) < 8:
        raise _truncated_tiff(name)
    e = "<" if head[:2] == b"II" else ">"
    offset = struct.unpack(e + "I", head[4:8])[0]
    pages: list[_TiffPage] = []
    visited: set[int] = set()
    while offset:
        if offset in visited:
            raise _Rejected(Reject.CORRUPT, f"{name} is a damaged TIFF (its page list loops); save or scan "
                                             "it again")
        visited.add(offset)
        if offset + 2 > size:
            raise _truncated_tiff(name)
        count = struct.unpack(e + "H", read_at(offset, 2))[0]
        table = read_at(offset + 2, count * 12 + 4)
        if len(table) < count * 12 + 4:
            raise _truncated_tiff(name)
        tags: dict[int, tuple[int, ...]] = {}
        for i in range(count):
            tag, typ, n = struct.unpack(e + "HHI", table[i * 12:i * 12 + 8])
            if tag not in (256, 257, 273, 279, 282, 283, 296, 324, 325):
                continue
            item = _TIFF_TYPE_SIZE.get(typ)
            if item is None or n > 10_000_000:
                continue
            raw = table[i * 12 + 8:i * 12 + 12]
            if item * n > 4:
                ptr = struct.unpack(e + "I", raw)[0]
                raw = read_at(ptr, item * n)
                if len(raw) < item * n:
                    raise _truncated_tiff(name)
            tags[tag] = _tiff_values(e, typ, n, raw)
        width, height = (tags.get(256) or (0,))[0], (tags.get(257) or (0,))[0]
        offs, counts = tags.get(273) or tags.get(324) or (), tags.get(279) or tags.get(325) or ()
        data_end = max((o + c for o, c in zip(offs, counts)), default=0)
        dpi = None
        if 282 in tags and 283 in tags:
            unit = (tags.get(296) or (2,))[0]
            x, y = float(tags[282][0]), float(tags[283][0])
            if x > 0 and y > 0 and unit in (2, 3):          # 2: per inch, 3: per cm (1: no unit)
                dpi = (x + y) / 2 * (2.54 if unit == 3 else 1.0)
        pages.append(_TiffPage(int(width), int(height), dpi, int(data_end)))
        if len(pages) > max_pages or (stop_after is not None and len(pages) > stop_after):
            break
        offset = struct.unpack(e + "I", table[count * 12:count * 12 + 4])[0]
    return pages


def _tiff_values(e: str, typ: int, n: int, raw: bytes) -> tuple:
    if typ == 3:
        return struct.unpack(e + "H" * n, raw[:2 * n])
    if typ == 4 or typ == 13:
        return struct.unpack(e + "I" * n, raw[:4 * n])
    if typ == 5:
        v = struct.unpack(e + "I" * (2 * n), raw[:8 * n])
        return tuple(v[i] / v[i + 1] if v[i + 1] else 0.0 for i in range(0, 2 * n, 2))
    if typ in (1, 7):
        return tuple(raw[:n])
    return (0,) * n


def _truncated_tiff(name: str) -> _Rejected:
    return _Rejected(Reject.TRUNCATED, f"{name} is cut off: the TIFF's pages point past the end of the file "
                                       "(the copy, upload or scan did not finish); copy or scan it again")
