"""The export's sheet and column names as people read them.

A CSV is for scripts: its header row holds the column codes (``participant_id``, ``total_exact``, ``answer 17``…),
stable across versions and languages. A workbook is for people: its sheets and headers are labels in the
contest's language (``Số báo danh``, ``Tổng điểm (phân số)``, ``Câu 17: trả lời``…) unless a script asks for the
codes (``omr export --headers codes``). Columns that carry a question, a section or a judge's number keep it in
their label. A language without labels (or a column without one) shows the code.
"""
from __future__ import annotations

import re
from typing import Any

SHEETS = {"vi": {"results": "Kết quả", "items": "Thống kê câu hỏi", "issues": "Cần xử lý", "essays": "Tự luận"}}
COLUMNS = {"vi": {
    "participant_id": "Số báo danh", "name": "Họ và tên", "unit": "Đơn vị", "version": "Mã đề",
    "status": "Trạng thái", "total": "Tổng điểm", "total_exact": "Tổng điểm (phân số)", "max_total": "Điểm tối đa",
    "rank": "Xếp hạng", "open_flags": "Cờ chưa xử lý", "essay_total": "Điểm tự luận",
    "essay_total_exact": "Điểm tự luận (phân số)", "essay_status": "Tình trạng chấm tự luận", "pages": "Số trang",
    "sources": "Tệp", "question": "Câu", "sheets": "Số bài", "kind": "Loại", "flag_id": "Mã cờ", "source": "Tệp",
    "page": "Trang", "participant": "Số báo danh", "target": "Đối tượng", "key": "Vị trí", "reason": "Lý do",
    "message": "Nội dung", "page_id": "Mã trang", "essay": "Mã bài", "state": "Tình trạng", "final": "Điểm cuối",
    "final_exact": "Điểm cuối (phân số)", "rule": "Cách tính", "entry_flags": "Lý do chưa xếp hạng",
    "combined_total": "Tổng điểm chung", "combined_total_exact": "Tổng điểm chung (phân số)",
    "combined_rank": "Xếp hạng chung", "round_reached": "Vòng đã vào", "round_score": "Điểm vòng",
    "round_score_exact": "Điểm vòng (phân số)", "round_rank": "Xếp hạng vòng", "award": "Giải",
}}
_SHARES = {"vi": {"correct": "đúng", "wrong": "sai", "blank": "bỏ trống", "multiple": "nhiều lựa chọn",
                  "cancelled": "câu huỷ", "unreadable": "không đọc được"}}
_PATTERNS = {"vi": (
    (re.compile(r"answer (.+)"), "Câu {}: trả lời"),
    (re.compile(r"points (.+)"), "Câu {}: điểm"),
    (re.compile(r"section: (.+)"), "Điểm {}"),
    (re.compile(r"essay: (.+)"), "Tự luận {}"),
    (re.compile(r"judge (\d)"), "Giám khảo {}"),
    (re.compile(r"total (\d)"), "Điểm giám khảo {}"),
)}
HEADERS = ("auto", "labels", "codes")


def column_label(code: str, language: str) -> str:
    """The label of a column code in ``language`` (the code when there is none)."""
    if code in COLUMNS.get(language, {}):
        return COLUMNS[language][code]
    share = re.fullmatch(r"share (.+)", code)
    if share and language in _SHARES:
        what = share.group(1)
        return f"Tỉ lệ {_SHARES[language].get(what, 'chọn ' + what)}"
    for pattern, label in _PATTERNS.get(language, ()):
        m = pattern.fullmatch(code)
        if m:
            return label.format(m.group(1))
    return code


def sheet_label(name: str, language: str) -> str:
    return SHEETS.get(language, {}).get(name, name)


def labelled(df: Any, language: str) -> Any:
    """A copy of the frame with its columns renamed to their labels (two codes never share a label: the
    ``participant`` column of the issues sheet and ``participant_id`` live in different sheets)."""
    return df.rename(columns={c: column_label(c, language) for c in df.columns})
