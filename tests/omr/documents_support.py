"""Small typed entries for the document tests: a ``Document`` from lines and tables (no file), and the demo
contest's questions."""
from __future__ import annotations

from pathlib import Path

from omr.documents.lines import document_lines
from omr.documents.records import Document, Format, Paragraph, Table

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "answer_keys" / "demo"


def doc(*blocks) -> Document:
    """Strings are paragraphs; lists of rows are tables."""
    out, n_p, n_t = [], 0, 0
    for b in blocks:
        if isinstance(b, str):
            n_p += 1
            out.append(Paragraph(b, f"đoạn {n_p}"))
        else:
            n_t += 1
            out.append(Table(tuple(tuple(r) for r in b), f"bảng {n_t}"))
    return Document("mem.docx", Format.DOCX, tuple(out), 1, 0)


def lines(*blocks):
    return document_lines(doc(*blocks))


def tiny_png() -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def write_docx(path, *blocks, author="Nguyễn Văn An", company=None, header=None, image=False, page_breaks=0):
    """A DOCX by python-docx: strings are paragraphs, lists of rows tables; ``company`` patched into app.xml."""
    import io
    import zipfile

    import docx
    d = docx.Document()
    d.core_properties.author = author
    for b in blocks:
        if isinstance(b, str):
            d.add_paragraph(b)
        else:
            t = d.add_table(rows=len(b), cols=len(b[0]))
            for r, row in enumerate(b):
                for c, text in enumerate(row):
                    t.cell(r, c).text = text
    if image:
        d.add_picture(io.BytesIO(tiny_png()))
    for _ in range(page_breaks):
        d.add_page_break()
    if header:
        d.sections[0].header.paragraphs[0].text = header
    d.save(str(path))
    if company:
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        app = parts["docProps/app.xml"].decode()
        parts["docProps/app.xml"] = app.replace("</Properties>", f"<Company>{company}</Company></Properties>").encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, data)
    return path
