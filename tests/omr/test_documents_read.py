"""Document readers: DOCX, ODT, PDF with a text layer and plain text in reading order, with tables, pictures and
metadata apart; bad documents rejected with a reason (never a crash)."""
from __future__ import annotations

import io
import struct
import zipfile


from documents_support import DEMO, tiny_png, write_docx
from omr.documents import DocumentOptions, read_document
from omr.documents.entry import load_entry_contest, read_entry
from omr.documents.records import Format, Paragraph
from omr.records import Reject, SheetFailure


def _texts(doc):
    out = []
    for b in doc.blocks:
        out.append(b.text if isinstance(b, Paragraph) else [list(r) for r in b.rows])
    return out


def test_docx_text_and_tables_in_document_order_with_images_header_and_metadata_apart(tmp_path):
    path = write_docx(tmp_path / "a.docx", "Họ và tên: Lê An", [["Câu", "Đáp án"], ["1", "B"]], "Câu 2: C",
                      header="Lê An — THCS Dịch Vọng", company="Công ty ABC", image=True)
    doc = read_document(str(path))
    assert doc.format is Format.DOCX
    assert _texts(doc)[:3] == ["Họ và tên: Lê An", [["Câu", "Đáp án"], ["1", "B"]], "Câu 2: C"]
    assert doc.images == 1
    assert doc.headers == ("Lê An — THCS Dịch Vọng",)
    assert doc.metadata["author"] == "Nguyễn Văn An" and doc.metadata["company"] == "Công ty ABC"
    assert all("THCS Dịch Vọng" not in (b.text if isinstance(b, Paragraph) else "") for b in doc.blocks)


def test_docx_line_breaks_text_boxes_and_deleted_text(tmp_path):
    import docx
    from docx.oxml import parse_xml
    d = docx.Document()
    p = d.add_paragraph("Câu 1: B")
    p.add_run().add_break()
    p.add_run("Câu 2: C")
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    d.element.body.insert(1, parse_xml(f'<w:p {w}><w:del w:id="1" w:author="x"><w:r><w:delText>Câu 3: A</w:delText>'
                                       '</w:r></w:del><w:r><w:t>Câu 3: D</w:t></w:r></w:p>'))
    d.save(str(tmp_path / "b.docx"))
    texts = [b.text for b in read_document(str(tmp_path / "b.docx")).blocks]
    assert "Câu 1: B" in texts and "Câu 2: C" in texts and "Câu 3: D" in texts and "Câu 3: A" not in texts


def test_odt_paragraphs_tables_images_and_metadata(tmp_path):
    from odf.draw import Frame, Image
    from odf.opendocument import OpenDocumentText
    from odf.table import Table as OTable, TableCell, TableColumn, TableRow
    from odf.text import H, P
    from odf import dc, meta

    doc = OpenDocumentText()
    doc.meta.addElement(meta.InitialCreator(text="Trần Bình"))
    doc.meta.addElement(dc.Creator(text="Trần Bình"))
    doc.text.addElement(H(outlinelevel=1, text="BÀI DỰ THI"))
    doc.text.addElement(P(text="Họ và tên: Trần Bình"))
    t = OTable(name="T")
    t.addElement(TableColumn(numbercolumnsrepeated=2))
    for a, b in [("Câu", "Đáp án"), ("1", "A")]:
        tr = TableRow()
        for v in (a, b):
            tc = TableCell()
            tc.addElement(P(text=v))
            tr.addElement(tc)
        t.addElement(tr)
    doc.text.addElement(t)
    href = doc.addPicture("Pictures/x.png", "image/png", tiny_png())
    frame = Frame(width="2cm", height="1.5cm", anchortype="paragraph")
    frame.addElement(Image(href=href))
    para = P(text="Câu 2: C")
    para.addElement(frame)
    doc.text.addElement(para)
    doc.save(str(tmp_path / "c.odt"))
    got = read_document(str(tmp_path / "c.odt"))
    assert got.format is Format.ODT
    assert _texts(got) == ["BÀI DỰ THI", "Họ và tên: Trần Bình", [["Câu", "Đáp án"], ["1", "A"]], "Câu 2: C"]
    assert got.images == 1 and got.metadata["author"] == "Trần Bình"


def _text_pdf(path, pages):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(TTFont("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    c = canvas.Canvas(str(path))
    for lines in pages:
        c.setFont("DejaVu", 13)
        for i, line in enumerate(lines):
            c.drawString(60, 780 - 20 * i, line)
        c.showPage()
    c.save()
    return path


def test_pdf_text_layer_page_by_page_and_a_page_without_text_is_listed(tmp_path):
    path = _text_pdf(tmp_path / "d.pdf", [["Họ và tên: Phạm Chi", "Câu 1: D", "Câu 2: A"], []])
    doc = read_document(str(path))
    assert doc.format is Format.PDF and doc.pages == 2
    assert [b.text for b in doc.blocks] == ["Họ và tên: Phạm Chi", "Câu 1: D", "Câu 2: A"]
    assert doc.blocks[1].where == "trang 1, dòng 2"
    assert doc.textless_pages == (2,)
    rec = read_entry(str(path), load_entry_contest(DEMO))
    assert rec.to_json()["answers"]["1"] == "D"
    assert [(f.target, f.key, f.reason) for f in rec.flags if f.target == "page"] == [("page", "2", "no_text_layer")]


def test_plain_text(tmp_path):
    (tmp_path / "e.txt").write_text("Câu 1: B\nCâu 2: C\n", encoding="utf-8")
    doc = read_document(str(tmp_path / "e.txt"))
    assert doc.format is Format.TEXT and [b.text for b in doc.blocks] == ["Câu 1: B", "Câu 2: C"]


# -- bad documents ------------------------------------------------------------------------------------------------
def _rejected(path, options=DocumentOptions()):
    rec = read_entry(str(path), load_entry_contest(DEMO), options)
    assert isinstance(rec, SheetFailure)
    return rec.reason_code, rec.reason


def test_a_corrupt_docx_is_rejected(tmp_path):
    good = write_docx(tmp_path / "g.docx", "Câu 1: B").read_bytes()
    (tmp_path / "cut.docx").write_bytes(good[: len(good) // 2])
    assert _rejected(tmp_path / "cut.docx")[0] is Reject.CORRUPT
    broken = tmp_path / "broken.docx"
    src = zipfile.ZipFile(io.BytesIO(good))
    with zipfile.ZipFile(broken, "w") as z:
        for name in src.namelist():
            z.writestr(name, b"<w:document><unclosed" if name == "word/document.xml" else src.read(name))
    code, reason = _rejected(broken)
    assert code is Reject.CORRUPT and "broken.docx" in reason


def test_a_renamed_zip_bomb_is_refused_from_its_declared_sizes(tmp_path):
    bomb = tmp_path / "bai_du_thi.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (4 << 20)
            for _ in range(60):                    # 240 MB of zeros: 240 kB on disk
                f.write(chunk)
    assert bomb.stat().st_size < 2 << 20
    code, reason = _rejected(bomb)
    assert code is Reject.TOO_LARGE and "MB" in reason


def test_a_lying_zip_header_cannot_unpack_more_than_it_declares(tmp_path):
    path = write_docx(tmp_path / "h.docx", "Câu 1: B")
    code, _ = _rejected(path, DocumentOptions(max_part_bytes=100))
    assert code is Reject.TOO_LARGE


def _cfb_with(stream_name: str) -> bytes:
    """An OLE compound file header and one directory entry named ``stream_name`` (how Office stores a
    password-protected DOCX: EncryptionInfo + EncryptedPackage streams)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHH", 0x3E, 3, 0xFFFE, 9)
    header = header.ljust(512, b"\0")
    name = stream_name.encode("utf-16-le") + b"\0\0"
    entry = name.ljust(64, b"\0") + struct.pack("<H", len(name)) + b"\x02\x01"
    return header + entry.ljust(128, b"\0") * 4


def test_a_password_protected_docx_and_an_old_doc_are_refused_with_what_to_do(tmp_path):
    (tmp_path / "secret.docx").write_bytes(_cfb_with("EncryptedPackage"))
    code, reason = _rejected(tmp_path / "secret.docx")
    assert code is Reject.ENCRYPTED and "mật khẩu" in reason
    (tmp_path / "old.doc").write_bytes(_cfb_with("WordDocument"))
    code, reason = _rejected(tmp_path / "old.doc")
    assert code is Reject.UNSUPPORTED_TYPE and ".docx" in reason


def test_a_500_page_document_is_refused_past_the_limit(tmp_path):
    path = write_docx(tmp_path / "long.docx", "Câu 1: B", page_breaks=499)
    code, reason = _rejected(path)
    assert code is Reject.TOO_MANY_PAGES and "500" in reason
    assert read_document(str(path), DocumentOptions(max_pages=600)).pages == 500


def test_other_files_are_refused_by_their_bytes_not_their_name(tmp_path):
    (tmp_path / "empty.docx").write_bytes(b"")
    assert _rejected(tmp_path / "empty.docx")[0] is Reject.EMPTY_FILE
    (tmp_path / "photo.docx").write_bytes(tiny_png())
    code, reason = _rejected(tmp_path / "photo.docx")
    assert code is Reject.UNSUPPORTED_TYPE and "OCR không được bật" in reason
    with zipfile.ZipFile(tmp_path / "book.docx", "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    code, reason = _rejected(tmp_path / "book.docx")
    assert code is Reject.UNSUPPORTED_TYPE and "bảng tính" in reason
    (tmp_path / "cp1258.txt").write_bytes("Câu 1: B".encode("utf-16"))
    assert _rejected(tmp_path / "cp1258.txt")[0] is Reject.UNSUPPORTED_TYPE


def test_a_copied_option_marked_by_its_formatting_is_the_answer(tmp_path):
    import docx
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import RGBColor

    d = docx.Document()
    d.add_paragraph("Câu 1. Cơ quan nào cấp tài khoản định danh điện tử cho công dân?")
    for letter, text, how in [("A", "Bộ Công an", "bold"), ("B", "Bộ Tư pháp", ""), ("C", "Ngân hàng", ""),
                              ("D", "Bộ Tài chính", "")]:
        p = d.add_paragraph(f"{letter}. ")
        run = p.add_run(text)
        if how:
            run.bold = True
            run.font.color.rgb = RGBColor(0xFF, 0, 0)
    d.add_paragraph("Câu 2. Dịch vụ công trực tuyến toàn trình là gì?")
    for letter in "ABCD":
        run = d.add_paragraph().add_run(f"{letter}. phương án số {letter} của câu hai")
        run.bold = True                                  # every option bold: nothing told apart
        if letter == "C":
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    d.add_paragraph("Câu 3. Tổng đài hỗ trợ là số nào?")
    for letter in "ABCD":
        d.add_paragraph(f"{letter}. số {letter} của câu ba")
    d.save(str(tmp_path / "f.docx"))
    rec = read_entry(str(tmp_path / "f.docx"), load_entry_contest(DEMO)).to_json()
    assert rec["answers"]["1"] == "A" and rec["answers"]["2"] == "C" and rec["answers"]["3"] == ""
    assert "in đậm" in rec["evidence"]["1"] and "tô nền" in rec["evidence"]["2"]
    assert [(f["question"], f["reason"]) for f in rec["flags"] if "question" in f] == [("3", "options_listed_unmarked")]


def test_word_automatic_numbering_is_read_as_the_reader_sees_it(tmp_path):
    import docx
    from docx.oxml import parse_xml
    d = docx.Document()
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    numbering = d.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {w} w:abstractNumId="7"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        '<w:lvlText w:val="Câu %1:"/></w:lvl><w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="upperLetter"/>'
        '<w:lvlText w:val="%2."/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="9"><w:abstractNumId w:val="7"/></w:num>'))

    def numbered(text, level):
        p = d.add_paragraph(text)
        p._p.get_or_add_pPr().append(parse_xml(f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="9"/>'
                                               '</w:numPr>'))
    numbered("B", 0)
    numbered("D", 0)
    numbered("Ứng dụng định danh điện tử quốc gia có tên là gì?", 0)
    for option in ("VNeID", "Zalo"):
        numbered(option, 1)
    d.add_paragraph("Đáp án: A")
    d.save(str(tmp_path / "n.docx"))
    texts = [b.text for b in read_document(str(tmp_path / "n.docx")).blocks]
    assert texts[:5] == ["Câu 1: B", "Câu 2: D", "Câu 3: Ứng dụng định danh điện tử quốc gia có tên là gì?",
                         "A. VNeID", "B. Zalo"]
    rec = read_entry(str(tmp_path / "n.docx"), load_entry_contest(DEMO)).to_json()
    assert (rec["answers"]["1"], rec["answers"]["2"], rec["answers"]["3"]) == ("B", "D", "A")


def test_a_struck_through_answer_is_taken_back(tmp_path):
    import docx
    d = docx.Document()
    p = d.add_paragraph("Câu 1: ")
    p.add_run("B").font.strike = True
    p.add_run(" C")
    d.save(str(tmp_path / "s.docx"))
    assert read_document(str(tmp_path / "s.docx")).blocks[0].text.split() == ["Câu", "1:", "C"]
    rec = read_entry(str(tmp_path / "s.docx"), load_entry_contest(DEMO)).to_json()
    assert rec["answers"]["1"] == "C"


def test_a_pdf_s_running_header_and_footer_stay_out_of_the_text(tmp_path):
    path = _text_pdf(tmp_path / "hf.pdf", [["Nguyễn Văn An - THCS Cầu Giấy", "Câu 1: D", "Trang 1"],
                                          ["Nguyễn Văn An - THCS Cầu Giấy", "Câu 2: A", "Trang 2"]])
    doc = read_document(str(path))
    assert [b.text.strip() for b in doc.blocks] == ["Câu 1: D", "Câu 2: A"]
    assert doc.headers == ("Nguyễn Văn An - THCS Cầu Giấy", "Trang 1", "Trang 2")
    path = _text_pdf(tmp_path / "answers_first.pdf", [["Câu 1: D", "Câu 2: A"], ["Câu 3: B", "- 2 -"]])
    assert [b.text.strip() for b in read_document(str(path)).blocks] == ["Câu 1: D", "Câu 2: A", "Câu 3: B"]


def test_broken_odt_and_a_docx_without_its_package_parts_are_rejected(tmp_path):
    for name, parts in [("a.odt", {"mimetype": "application/vnd.oasis.opendocument.text",
                                   "content.xml": "<office:document-content><unclosed"}),
                        ("b.odt", {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<a/>"}),
                        ("c.docx", {"word/document.xml": "<w:document/>"})]:
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for part, data in parts.items():
                z.writestr(part, data)
        code, reason = _rejected(tmp_path / name)
        assert code is Reject.CORRUPT and name in reason
