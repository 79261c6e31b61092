"""Why a message, or a part of it, was not taken: stable codes for scripts and the store, sentences for people
(the receipt sent back, ``omr status``) in the contest's language."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a message or one of its parts. ``name``: the part's file name ("" for the message);
    ``detail``: what was found, in English, for organisers (numbers, the archive's own words)."""
    code: str
    name: str = ""
    detail: str = ""


TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "too_large": "Thư quá lớn ({detail}); xin gửi lại, chia thành nhiều thư nhỏ hơn 50 MB.",
        "too_many_parts": "Thư có quá nhiều tệp đính kèm ({detail}); xin gửi lại, mỗi thư tối đa 1.000 tệp.",
        "malformed_mime": "Thư bị hỏng, không tách được các tệp đính kèm ({detail}); xin gửi lại.",
        "header_not_utf8": "Tiêu đề thư không theo bảng mã UTF-8; đã đọc theo bảng mã Windows-1258.",
        "no_attachment": "Thư không có tệp bài dự thi đính kèm (PDF, ảnh JPEG/PNG/TIFF, DOCX, ODT hoặc ZIP).",
        "unsupported_type": "Tệp {name} không phải là bài dự thi đọc được ({detail}); xin gửi bản PDF, ảnh "
                            "JPEG/PNG hoặc tệp DOCX.",
        "heic_photo": "Ảnh {name} ở định dạng HEIC của iPhone; xin chuyển sang JPEG (hoặc chọn 'Tương thích nhất' "
                      "trong Cài đặt > Camera > Định dạng) rồi gửi lại.",
        "empty_file": "Tệp {name} rỗng (0 byte); xin gửi lại tệp.",
        "zip_unreadable": "Tệp nén {name} không mở được ({detail}); xin nén lại rồi gửi.",
        "zip_too_many": "Tệp nén {name} có quá nhiều tệp ({detail}).",
        "zip_bomb": "Tệp nén {name} bị từ chối: giải nén ra dung lượng quá lớn ({detail}).",
        "zip_unsafe_path": "Tệp nén {name} bị từ chối: có tệp nằm ngoài thư mục của nó ({detail}).",
        "zip_encrypted": "Tệp nén {name} có mật khẩu; xin gửi lại tệp nén không đặt mật khẩu.",
        "nested_too_deep": "{name} lồng quá nhiều lớp (thư chuyển tiếp hoặc tệp nén lồng nhau); xin gửi trực tiếp.",
        "late": "Bài dự thi đến sau hạn chót ({detail}); bài được lưu lại, Ban Tổ chức sẽ xem xét.",
        "unreadable": "Không đọc được thư ({detail}).",
        "vanished": "Thư không còn trong hộp thư khi đọc ({detail}).",
        "auto_reply": "Thư trả lời tự động hoặc thư báo lỗi gửi ({detail}); không phải bài dự thi.",
        "own_mail": "Thư do chính hộp thư cuộc thi gửi ({detail}).",
    },
    "en": {
        "too_large": "The message is too large ({detail}); send it again split into messages under 50 MB.",
        "too_many_parts": "The message has too many attachments ({detail}); at most 1,000 per message.",
        "malformed_mime": "The message is damaged: its attachments cannot be separated ({detail}); send it again.",
        "header_not_utf8": "The subject is not in UTF-8; it was read as Windows-1258.",
        "no_attachment": "The message has no entry attached (PDF, JPEG/PNG/TIFF photo, DOCX, ODT or ZIP).",
        "unsupported_type": "{name} is not an entry that can be read ({detail}); send a PDF, a JPEG/PNG photo or a "
                            "DOCX file.",
        "heic_photo": "{name} is an iPhone HEIC photo; convert it to JPEG (or set the camera to 'Most Compatible') "
                      "and send it again.",
        "empty_file": "{name} is empty (0 bytes); attach the file again.",
        "zip_unreadable": "The ZIP {name} cannot be opened ({detail}); compress it again.",
        "zip_too_many": "The ZIP {name} holds too many files ({detail}).",
        "zip_bomb": "The ZIP {name} is refused: it unpacks to too much ({detail}).",
        "zip_unsafe_path": "The ZIP {name} is refused: it holds a file outside its own folder ({detail}).",
        "zip_encrypted": "The ZIP {name} is protected by a password; send it without one.",
        "nested_too_deep": "{name} is nested too deep (forwards or archives inside each other); send it directly.",
        "late": "The entry arrived after the deadline ({detail}); it is kept for the organisers to decide.",
        "unreadable": "The message cannot be read ({detail}).",
        "vanished": "The message was gone from the mailbox when it was read ({detail}).",
        "auto_reply": "An auto-reply or a bounce ({detail}); not an entry.",
        "own_mail": "Mail sent by the contest's own mailbox ({detail}).",
    },
}


def describe(problem: Problem, language: str = "vi") -> str:
    """The sentence for people, in ``language`` (the code and detail when the code has no sentence)."""
    texts = TEXTS.get(language, TEXTS["vi"])
    template = texts.get(problem.code)
    if template is None:
        return f"{problem.code}: {problem.name} {problem.detail}".strip()
    return template.format(name=problem.name or "?", detail=problem.detail or "?")
