"""Who wrote the sheet and which test version: the QR code (decoded from its expected crop) and the digit
bubbles, cross-checked. Disagreement, an unreadable digit or two marks in one column is a flag, never a
silent default.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from .align import Alignment
from .layout import Layout
from .qrpayload import QrFormatError, QrPayload, decode_payload
from .records import Flag, GroupRead, MarkState

QR_CROP_PX = 240          # the QR area is warped upright to this size (≈ 7 px per module for version 3)


@dataclass(frozen=True, slots=True)
class QrResult:
    payload: QrPayload | None
    error: str | None      # why there is no payload: "not_found", "not_ours: ...", "no_qr" (the layout has none)


NO_QR = QrResult(None, "no_qr")


def read_qr(image: np.ndarray, alignment: Alignment, layout: Layout) -> QrResult:
    """Warp the layout's QR square (plus a margin) upright and decode it there — never a whole-page search."""
    q = layout.qr
    if q is None:
        return NO_QR
    m = q.w_mm * 0.12
    src_mm = np.array([[q.x_mm - m, q.y_mm - m], [q.x_mm + q.w_mm + m, q.y_mm - m],
                       [q.x_mm + q.w_mm + m, q.y_mm + q.h_mm + m], [q.x_mm - m, q.y_mm + q.h_mm + m]])
    src_px = alignment.map_mm(src_mm).astype(np.float32)
    size = QR_CROP_PX
    dst = np.array([[0, 0], [size - 1, 0], [size - 1, size - 1], [0, size - 1]], dtype=np.float32)
    M = cv2.getPerspectiveTransform(src_px, dst)
    crop = cv2.warpPerspective(image, M, (size, size), flags=cv2.INTER_LINEAR, borderValue=255)
    texts = _decode(crop)
    if not texts:
        # second try: a binarised crop helps with low contrast and JPEG noise
        _, binar = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        texts = _decode(binar)
    if not texts:
        return QrResult(None, "not_found")
    errors = []
    for t in texts:
        try:
            return QrResult(decode_payload(t), None)
        except QrFormatError as exc:
            errors.append(str(exc))
    return QrResult(None, "not_ours: " + "; ".join(errors))


def _decode(crop: np.ndarray) -> list[str]:
    try:
        results = zxingcpp.read_barcodes(crop, formats=zxingcpp.BarcodeFormat.QRCode)
    except (ValueError, RuntimeError):
        return []
    return [r.text for r in results if r.valid and r.text]


def digits_from_groups(reads: tuple[GroupRead, ...], field: str) -> tuple[str | None, str, list[Flag]]:
    """(value or None, what the bubbles say with '?' for unreadable columns, flags) for an id/version grid."""
    chars: list[str] = []
    flags: list[Flag] = []
    for g in reads:
        n_marked = sum(s is MarkState.MARKED for s in g.states)
        if any(s is MarkState.AMBIGUOUS for s in g.states):
            chars.append("?")
            flags.append(Flag(field, g.key, "ambiguous_digit",
                              f"{_field_vi(field)}: cột {g.key} có ô tô mờ, không chắc chắn", g.confidence, g.fills))
        elif n_marked == 1:
            chars.append(g.marked)
        elif n_marked == 0:
            chars.append("?")
            flags.append(Flag(field, g.key, "blank_digit", f"{_field_vi(field)}: cột {g.key} chưa tô",
                              g.confidence, g.fills))
        else:
            chars.append("?")
            flags.append(Flag(field, g.key, "multiple_marks_in_digit",
                              f"{_field_vi(field)}: cột {g.key} tô nhiều hơn một ô", g.confidence, g.fills))
    text = "".join(chars)
    return (text if "?" not in text and text else None), text, flags


def _field_vi(field: str) -> str:
    return {"participant": "Số báo danh", "version": "Mã đề"}.get(field, field)


def decide_participant(qr: QrResult, bubbles_value: str | None, bubbles_text: str,
                       bubble_flags: list[Flag]) -> tuple[str | None, list[Flag]]:
    """Combine the QR (personalised sheets) and the ID bubbles. Returns (participant, flags)."""
    qr_id = qr.payload.participant if qr.payload else None
    all_blank = bool(bubbles_text) and set(bubbles_text) == {"?"} and all(
        f.reason == "blank_digit" for f in bubble_flags)
    if qr_id is not None:
        if bubbles_value is None and (all_blank or not bubbles_text):
            return qr_id, []                               # personalised sheet, bubbles left empty: fine
        if bubbles_value == qr_id:
            return qr_id, []
        if bubbles_value is None:
            # partly filled bubbles that do not contradict the QR on the readable digits are fine
            if len(bubbles_text) == len(qr_id) and all(b in ("?", q) for b, q in zip(bubbles_text, qr_id)):
                return qr_id, []
        return qr_id, [Flag("participant", None, "participant_mismatch",
                            f"Số báo danh trên mã QR ({qr_id}) khác với các ô đã tô ({bubbles_text})", 0.3)]
    if bubbles_value is not None:
        return bubbles_value, []
    if not bubbles_text:
        return None, [Flag("participant", None, "no_participant_id",
                           "Không đọc được số báo danh: mã QR không có và phiếu không có ô số báo danh", 0.0)]
    return None, bubble_flags or [Flag("participant", None, "unreadable_participant",
                                       f"Không đọc được số báo danh ({bubbles_text})", 0.0)]
