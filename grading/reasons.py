"""What each flag's reason code means, for people. The codes stay English and stable (scripts and the store use
them); pages and spreadsheets show the label in the contest's language."""
from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "ambiguous_mark": "Ô tô mờ hoặc chưa kín",
        "crossed_out": "Ô bị gạch chéo",
        "uneven_marks": "Hai ô tô đậm nhạt khác nhau",
        "circled": "Ô được khoanh tròn thay vì tô",
        "tick_or_x": "Ô được đánh ✓ hoặc ✗ thay vì tô",
        "unusual_mark": "Nét bút lạ trên hoặc quanh ô",
        "blurred_mark": "Ảnh nhoè do rung máy: dấu không rõ",
        "ambiguous_digit": "Chữ số tô chưa rõ",
        "blank_digit": "Chữ số bỏ trống",
        "multiple_marks_in_digit": "Một cột số tô nhiều ô",
        "participant_mismatch": "Số báo danh tô và mã QR khác nhau",
        "no_participant_id": "Không có số báo danh",
        "unreadable_participant": "Không đọc được số báo danh",
        "three_markers": "Chỉ thấy ba góc định vị",
        "flagged": "Máy đọc đánh dấu trang cần xem",
        "no_key": "Chưa có đáp án cho mã đề",
        "unreadable_answer": "Câu trả lời không khớp các lựa chọn",
        "unmatched_essay": "Bài tự luận chưa biết của ai",
        "late_essay_pages": "Trang tự luận đến sau khi đã chấm",
        "judge_report": "Giám khảo báo bài có vấn đề",
        "not_handwritten": "Giám khảo báo không phải bài viết tay",
        "discarded": "Trang đã bị loại bỏ",
        "not_on_roster": "Số báo danh không có trong danh sách",
        "multiple_marks_in_column": "Một cột của câu trả lời số tô nhiều ô",
        "gap_in_number": "Cột để trống giữa các cột của số",
        "not_a_number": "Các ô tô không tạo thành một số",
    },
    "en": {
        "ambiguous_mark": "Faint or half-filled mark", "crossed_out": "Crossed-out bubble",
        "uneven_marks": "Two marks of different darkness", "ambiguous_digit": "Unclear digit",
        "circled": "Bubble circled instead of filled", "tick_or_x": "Tick or X instead of a fill",
        "unusual_mark": "Unusual strokes on or around a bubble",
        "blurred_mark": "Photo smeared by a moving phone: the mark is unclear",
        "blank_digit": "Blank digit", "multiple_marks_in_digit": "Several marks in one digit column",
        "participant_mismatch": "Id bubbles and QR code differ", "no_participant_id": "No participant id",
        "unreadable_participant": "Participant id unreadable", "three_markers": "Only three corner markers found",
        "flagged": "Flagged by the reader", "no_key": "No answer key for the version",
        "unreadable_answer": "Answer does not match the options", "unmatched_essay": "Essay of an unknown participant",
        "late_essay_pages": "Essay pages after judging began",
        "judge_report": "A judge reported a problem with an essay", "discarded": "Page discarded",
        "not_handwritten": "A judge said the pages are no handwritten entry",
        "not_on_roster": "Participant id not on the roster",
        "multiple_marks_in_column": "Several marks in one column of a number",
        "gap_in_number": "A blank column inside a number", "not_a_number": "The marks make no number",
    },
}


def reason_label(code: str, language: str = "vi") -> str:
    """The label of a reason code in ``language`` (the code itself when it has none)."""
    return LABELS.get(language, LABELS["vi"]).get(code, code)
