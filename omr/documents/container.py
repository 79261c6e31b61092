"""Which reader a document needs, from its bytes (never its name), and the checks made before any parser sees
it: the file limits of ``omr.load``, a ZIP's declared sizes (a renamed ZIP bomb is refused before a byte is
unpacked), an encrypted Office file (an OLE container holding ``EncryptedPackage``), an old binary ``.doc``."""
from __future__ import annotations

import os
import zipfile

from ..load.limits import stat_checks
from ..load.records import LoadOptions, _Rejected
from ..load.sniff import sniff_head
from ..records import Reject
from .records import DocumentOptions, DocumentRejected, Format

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_ODT_MIME = b"application/vnd.oasis.opendocument.text"
_XML_SUFFIXES = (".xml", ".rels")


def sniff_document(path: str, options: DocumentOptions) -> Format:
    """The document's format, or ``DocumentRejected`` with the reason and what the entrant should do."""
    name = os.path.basename(path)
    try:
        stat_checks(path, LoadOptions(max_file_bytes=options.max_file_bytes))
    except _Rejected as exc:
        raise DocumentRejected(exc.code, exc.message) from None
    with open(path, "rb") as f:
        head = f.read(4096)
    kind = sniff_head(head)
    if kind == "pdf":
        return Format.PDF
    if kind == "zip":
        return _zip_format(path, name, options)
    if kind == "text file":
        return Format.TEXT
    if kind in ("jpeg", "png", "tiff"):
        if options.ocr:
            return Format.IMAGE
        raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} là ảnh (bản quét hoặc ảnh chụp): lượt đọc này "
                               "không đọc bài đánh máy từ ảnh (OCR không được bật) — phiếu trắc nghiệm đọc bằng "
                               "`omr read`, ảnh chụp bài đánh máy bằng `omr entry`, bài viết tay cần người nhập")
    if head.startswith(_OLE):
        with open(path, "rb") as f:
            data = f.read()
        if _ENCRYPTED_STREAM in data:
            raise DocumentRejected(Reject.ENCRYPTED, f"{name} có đặt mật khẩu (tài liệu Office được mã hoá): "
                                   "hãy gỡ mật khẩu rồi gửi lại")
        raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} là tài liệu Word 97-2003 (.doc): hãy mở và lưu "
                               "lại dưới dạng .docx hoặc xuất ra PDF")
    raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} không phải DOCX, ODT, PDF hay văn bản thuần "
                           f"(nội dung là: {kind}); hãy lưu bài dự thi dưới dạng .docx hoặc .pdf")


def checked_zip(path: str, options: DocumentOptions) -> list[zipfile.ZipInfo]:
    """The members of a DOCX/ODT after their declared sizes are checked (``zipfile`` never unpacks more than a
    member declares, so the declared sizes bound what is read)."""
    name = os.path.basename(path)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentRejected(Reject.CORRUPT, f"{name} bị hỏng, không mở được ({exc}); hãy lưu hoặc gửi "
                               "lại tệp") from None
    if len(infos) > options.max_parts:
        raise DocumentRejected(Reject.TOO_LARGE, f"{name} chứa {len(infos)} tệp con, quá giới hạn "
                               f"{options.max_parts}: đây không phải một bài dự thi bình thường")
    total = sum(i.file_size for i in infos)
    if total > options.max_unpacked_bytes:
        raise DocumentRejected(Reject.TOO_LARGE, f"{name} khi giải nén là {total / 2**20:.0f} MB, quá giới hạn "
                               f"{options.max_unpacked_bytes / 2**20:.0f} MB (có thể là 'bom nén'); không đọc")
    for i in infos:
        if i.filename.endswith(_XML_SUFFIXES) and i.file_size > options.max_part_bytes:
            raise DocumentRejected(Reject.TOO_LARGE, f"{name}: phần {i.filename} là {i.file_size / 2**20:.0f} MB, "
                                   f"quá giới hạn {options.max_part_bytes / 2**20:.0f} MB; không đọc")
        if i.flag_bits & 0x1:
            raise DocumentRejected(Reject.ENCRYPTED, f"{name} có đặt mật khẩu: hãy gỡ mật khẩu rồi gửi lại")
    return infos


def _zip_format(path: str, name: str, options: DocumentOptions) -> Format:
    infos = checked_zip(path, options)
    names = {i.filename for i in infos}
    if "word/document.xml" in names:
        return Format.DOCX
    if "mimetype" in names and "content.xml" in names:
        with zipfile.ZipFile(path) as z:
            mime = z.read("mimetype")[:200].strip()
        if mime == _ODT_MIME:
            return Format.ODT
        raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} là tài liệu OpenDocument nhưng không phải văn "
                               f"bản ({mime.decode('ascii', 'replace')}); hãy gửi bài dưới dạng .odt, .docx hoặc .pdf")
    if any(n.startswith(("xl/", "ppt/")) for n in names):
        raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} là bảng tính hoặc trình chiếu, không phải văn bản; "
                               "hãy gửi bài dưới dạng .docx hoặc .pdf")
    raise DocumentRejected(Reject.UNSUPPORTED_TYPE, f"{name} là tệp nén ZIP, không phải văn bản (một DOCX bị đổi "
                           "tên?); hãy giải nén và gửi từng bài")


def check_pages(n: int, name: str, options: DocumentOptions, *, estimated: bool = False) -> None:
    if n > options.max_pages:
        how = "khoảng " if estimated else ""
        raise DocumentRejected(Reject.TOO_MANY_PAGES, f"{name} dài {how}{n} trang, quá giới hạn {options.max_pages} "
                               "trang của một bài dự thi; không đọc")
