"""The text inside a sheet's QR code: contest, layout, page and (on personalised sheets) participant.

Format: ``OMR1|<contest>|<layout>|<page>|<participant>`` with each field percent-encoded, so ``|`` can never
appear inside a field. Short on purpose: a small QR (version 3–4) prints at 20 mm and decodes from a 150-dpi
scan.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

MAGIC = "OMR1"


@dataclass(frozen=True, slots=True)
class QrPayload:
    contest: str
    layout: str
    page: int
    participant: str | None = None

    def encode(self) -> str:
        parts = [MAGIC, self.contest, self.layout, str(self.page), self.participant or ""]
        return "|".join(quote(p, safe="") for p in parts)

    def as_dict(self) -> dict[str, str]:
        d = {"contest": self.contest, "layout": self.layout, "page": str(self.page)}
        if self.participant:
            d["participant"] = self.participant
        return d


class QrFormatError(ValueError):
    pass


def decode_payload(text: str) -> QrPayload:
    parts = text.split("|")
    if len(parts) != 5 or parts[0] != MAGIC:
        raise QrFormatError(f"not a sheet QR code of this system: {text[:60]!r}")
    contest, layout, page, participant = (unquote(p) for p in parts[1:])
    if not page.isdigit():
        raise QrFormatError(f"QR page field is not a number: {page!r}")
    return QrPayload(contest, layout, int(page), participant or None)
