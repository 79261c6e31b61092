"""A ZIP attached to a mail, unpacked with limits: what it holds as files, or why it was refused.

Refused whole, with a reason people can act on: more than ``max_members`` members, more than ``max_total`` bytes
unpacked, a member packed more than ``max_ratio`` times (a zip bomb), a member named with an absolute path, a
drive letter or ``..``, an encrypted member, a ZIP that cannot be read. A member's declared size is never
trusted: each is read with a cap one byte above what is left of the budget. Folders inside are kept in the
member's path; a ZIP inside a ZIP is handed back as a file for the caller to unpack (the caller limits depth).
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

MAX_MEMBERS = 1000
MAX_TOTAL = 200 * 2**20          # bytes unpacked from one ZIP
MAX_RATIO = 100                  # unpacked / packed, for members over RATIO_FLOOR
RATIO_FLOOR = 2**20


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_members: int = MAX_MEMBERS
    max_total: int = MAX_TOTAL
    max_ratio: int = MAX_RATIO


@dataclass(frozen=True, slots=True)
class Member:
    path: str            # the member's path inside the ZIP (folders kept, "/" separated)
    data: bytes


class ZipRefused(Exception):
    """The whole ZIP is refused; ``code`` for scripts, the message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author typed it: ZIPs made on Windows without the UTF-8 flag hold the bytes of
    the local code page, which zipfile decodes as CP437; UTF-8 bytes are tried back first."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _check_name(name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ZipRefused("zip_unsafe_path", f"it holds a file named {name!r}, outside its own folder (an "
                                             "absolute path or '..'); such an archive is refused whole")


def unpack(data: bytes, limits: ZipLimits = ZipLimits()) -> list[Member]:
    """The files of a ZIP (folders skipped), in the archive's order; ``ZipRefused`` when it is refused."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ZipRefused("zip_unreadable", f"the ZIP cannot be read ({exc}); compress it again") from None
    files = [i for i in infos if not i.is_dir()]
    if len(files) > limits.max_members:
        raise ZipRefused("zip_too_many", f"it holds {len(files):,} files (at most {limits.max_members:,} are taken)")
    for info in files:
        _check_name(_member_name(info))
        if info.flag_bits & 0x1:
            raise ZipRefused("zip_encrypted", f"{_member_name(info)!r} inside it is protected by a password; "
                                              "send the ZIP without a password")
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ZipRefused("zip_bomb", f"{_member_name(info)!r} inside it unpacks to {info.file_size:,} bytes "
                                         f"from {info.compress_size:,} (a zip bomb?); it is refused")
    out: list[Member] = []
    budget = limits.max_total
    for info in files:
        name = _member_name(info)
        try:
            with z.open(info) as f:
                blob = f.read(budget + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ZipRefused("zip_unreadable", f"{name!r} inside it cannot be unpacked ({exc})") from None
        budget -= len(blob)
        if budget < 0:
            raise ZipRefused("zip_bomb", f"it unpacks to more than {limits.max_total:,} bytes (a zip bomb?); "
                                         "it is refused")
        if info.file_size > RATIO_FLOOR or len(blob) > RATIO_FLOOR:
            if len(blob) > limits.max_ratio * max(info.compress_size, 1):
                raise ZipRefused("zip_bomb", f"{name!r} inside it unpacks {len(blob) // max(info.compress_size, 1)}"
                                             " times its packed size (a zip bomb?); it is refused")
        out.append(Member(name.replace("\\", "/"), blob))
    return out
