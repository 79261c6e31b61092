"""PDF reports (grading.reports.pdf): a chart of many units fits on its page, wide tables go landscape, text from
outside is escaped, numbers are written as people write them."""
from __future__ import annotations

import subprocess

from grading.reports.pdf import Chart, Section, _cell, write_pdf


def test_a_tall_chart_and_a_wide_table_fit_and_markup_is_text(tmp_path):
    units = [f"Quận {i:02d}" for i in range(40)]
    rows = tuple({"Đơn vị": u, **{f"Cột {k}": k for k in range(12)}} for u in units)
    rows = ({"Đơn vị": "<b>Trường & Lớp</b>", **{f"Cột {k}": 7.5 for k in range(12)}},) + rows
    out = write_pdf("Báo cáo thử", [Section("Theo đơn vị", rows, Chart("Bài theo đơn vị", tuple(units),
                                                                         tuple(float(i) for i in range(40))))],
                    tmp_path / "r.pdf")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "<b>Trường & Lớp</b>" in " ".join(text.split()) and "7,5" in text
    size = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "841.89 x 595.276 pts (A4)" in size                  # landscape: 12+ columns
    assert [_cell(v) for v in (None, float("nan"), 16.0, 2.25, "a<b")] == ["", "", "16", "2,25", "a&lt;b"]
