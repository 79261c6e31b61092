"""Rendering for judges with the real LibreOffice: a DOCX as it looks (PDF and PNG), the essay alone without
the entrant's name, and a clear error when LibreOffice is missing."""
from __future__ import annotations

import subprocess

import pytest

from documents_support import write_docx
from omr.documents import render
from omr.errors import ExitCode, MissingDependency


@pytest.mark.slow
def test_a_docx_renders_to_pdf_and_png_pages_and_the_essay_alone_carries_no_name(tmp_path):
    path = write_docx(tmp_path / "bai.docx", "Họ và tên: Lê Thu Trang", "Câu 1: B", "PHẦN II. TỰ LUẬN",
                      "Dịch vụ công trực tuyến giúp tiết kiệm thời gian.", header="Lê Thu Trang")
    pngs = render.render_png(path, tmp_path / "out", dpi=40)
    assert [p.name for p in pngs][:1] == ["bai-1.png"] and all(p.stat().st_size > 1000 for p in pngs)
    text = subprocess.run(["pdftotext", str(tmp_path / "out" / "bai.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Họ và tên: Lê Thu Trang" in text and "Câu 1: B" in text
    essay = render.render_essay("PHẦN II. TỰ LUẬN\nDịch vụ công trực tuyến giúp tiết kiệm thời gian.",
                                tmp_path / "judge")
    shown = subprocess.run(["pdftotext", str(essay), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(essay)], capture_output=True, text=True, check=True).stdout
    assert "tiết kiệm thời gian" in shown and "Trang" not in shown and "Trang" not in info


def test_missing_libreoffice_is_exit_6_with_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))                  # a machine without LibreOffice
    with pytest.raises(MissingDependency, match="libreoffice-writer-nogui") as e:
        render.render_pdf("x.docx", "out")
    assert e.value.exit_code == ExitCode.MISSING_DEPENDENCY
