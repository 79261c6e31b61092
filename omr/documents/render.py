"""What judges see: a DOCX/ODT rendered as it looks, by LibreOffice headless (``soffice --convert-to pdf``), and
PNG pages of it by poppler; and the essay part alone, redacted, as its own document — never page 1 as it is,
which carries the entrant's name.

Every LibreOffice run has a private profile (parallel runs would otherwise share and lock one), a mandatory
timeout (``omr.external``), and dies with its parent."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .. import external
from ..errors import InputError, MissingDependency

INSTALL_ADVICE = ("install LibreOffice Writer (Debian/Ubuntu: apt-get install libreoffice-writer-nogui; "
                  "`make` installs it when it is missing)")


def soffice() -> str:
    """The LibreOffice program, or ``MissingDependency`` (exit 6) saying how to install it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise MissingDependency(f"LibreOffice (soffice) is not installed, so documents cannot be rendered for "
                                f"judges; {INSTALL_ADVICE}")
    return found


def render_pdf(path: str | Path, out_dir: str | Path, *, timeout_s: float = 120.0) -> Path:
    """``out_dir/<name>.pdf`` rendered from a DOCX/ODT (``InputError`` when LibreOffice cannot, or times out)."""
    program = soffice()
    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="omr-lo-profile-") as profile:
        try:
            external.run([program, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                          "--nolockcheck", "--convert-to", "pdf", "--outdir", str(out_dir), str(path)],
                         timeout=timeout_s)
        except external.ExternalTimeout:
            raise InputError(f"{path.name}: LibreOffice did not finish rendering within {timeout_s:g} s and was "
                             "stopped; open the document and export it to PDF by hand") from None
        except external.ExternalError as exc:
            raise InputError(f"{path.name}: LibreOffice could not render it ({exc})") from None
    pdf = out_dir / f"{path.stem}.pdf"
    if not pdf.is_file():
        raise InputError(f"{path.name}: LibreOffice wrote no PDF (the document may be damaged); export it by hand")
    return pdf


def render_png(path: str | Path, out_dir: str | Path, *, dpi: int = 100, timeout_s: float = 120.0) -> list[Path]:
    """PNG pages (``<name>-1.png`` …) of a DOCX/ODT, through its PDF."""
    out_dir = Path(out_dir)
    pdf = render_pdf(path, out_dir, timeout_s=timeout_s)
    external.require_program("pdftoppm", advice="install poppler-utils (Debian: apt-get install poppler-utils)")
    external.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / pdf.stem)], timeout=timeout_s)
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def essay_docx(text: str, path: str | Path) -> Path:
    """The redacted essay as a DOCX of its own (Times New Roman 14, no author, no header or footer), so that a
    judge sees it laid out as the contest asks without anything that names the entrant."""
    import docx
    from docx.shared import Pt

    d = docx.Document()
    style = d.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(14)
    cp = d.core_properties
    cp.author = cp.last_modified_by = cp.comments = cp.title = cp.subject = cp.keywords = ""
    for para in text.split("\n"):
        d.add_paragraph(para)
    d.save(str(path))
    return Path(path)


def render_essay(text: str, out_dir: str | Path, *, name: str = "essay", timeout_s: float = 120.0) -> Path:
    """The redacted essay rendered to ``out_dir/<name>.pdf``."""
    with tempfile.TemporaryDirectory(prefix="omr-essay-") as tmp:
        source = essay_docx(text, Path(tmp) / f"{name}.docx")
        return render_pdf(source, out_dir, timeout_s=timeout_s)
