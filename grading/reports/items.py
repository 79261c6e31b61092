"""The item-analysis report (``omr report items``): one row per version and question — difficulty,
discrimination, the share marking each option overall / in the top 27 % / in the bottom 27 %, and the alert —
and one row per version with its KR-20; XLSX (two sheets: ``Câu hỏi``, ``Đề``), CSV (and ``.versions.csv``) or PDF
(the alerts, KR-20, a chart of each version's difficulty per question, the table)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from omr.errors import BadArguments, OutputError

from ..items import VersionStats
from .cells import inert_frame, inert_sheet

QUESTION_SHEET, VERSION_SHEET = "Câu hỏi", "Đề"


def item_frames(stats: list[VersionStats]) -> tuple[Any, Any]:
    import pandas as pd

    options = list(dict.fromkeys(o for v in stats for it in v.items for o, *_ in it.options))
    rows = []
    for v in stats:
        for it in v.items:
            row: dict[str, Any] = {"Mã đề": v.version, "Câu": it.question, "Đáp án": it.key, "Số bài": it.n,
                                   "Độ khó (tỉ lệ đúng)": it.difficulty, "Độ phân biệt": it.discrimination}
            by = {o: (a, t, b) for o, a, t, b in it.options}
            for o in options:
                a, t, b = by.get(o, (None, None, None))
                row[f"Chọn {o}"], row[f"Chọn {o} (27 % cao)"], row[f"Chọn {o} (27 % thấp)"] = a, t, b
            row["Cảnh báo"] = it.alert or ""
            rows.append(row)
    versions = pd.DataFrame([{"Mã đề": v.version, "Số bài": v.sheets, "KR-20": v.kr20} for v in stats],
                            columns=["Mã đề", "Số bài", "KR-20"])
    return pd.DataFrame(rows), versions


def _pdf(stats: list[VersionStats], questions: Any, versions: Any, out: Path) -> Path:
    """The report as PDF: per version a chart of each question's difficulty, then the tables."""
    from .pdf import Chart, Section, write_pdf

    def records(df: Any) -> tuple[dict[str, Any], ...]:
        return tuple({k: (None if v != v else v) if isinstance(v, float) else v for k, v in r.items()}
                     for r in df.to_dict("records"))
    charts = [Section(f"Đề {v.version}: độ khó từng câu (tỉ lệ đúng)", (), Chart(
        "Tỉ lệ trả lời đúng", tuple(f"Câu {it.question}" for it in v.items),
        tuple(it.difficulty for it in v.items))) for v in stats]
    alerts = questions[questions["Cảnh báo"] != ""][["Mã đề", "Câu", "Đáp án", "Cảnh báo"]] if len(questions) else \
        questions
    return write_pdf("Phân tích câu hỏi trắc nghiệm", [Section("Cảnh báo đáp án", records(alerts)),
                                                         Section("Độ tin cậy (KR-20)", records(versions)), *charts,
                                                         Section("Từng câu", records(questions))], out)


def write_items(stats: list[VersionStats], out: str | Path) -> list[Path]:
    import pandas as pd

    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".csv", ".pdf"):
        raise BadArguments(f"cannot write {out.name}: name the report items.xlsx, items.csv or items.pdf")
    questions, versions = item_frames(stats)
    if out.suffix.lower() == ".pdf":
        return [_pdf(stats, questions, versions, out)]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            other = out.with_name(out.stem + ".versions.csv")
            inert_frame(questions).to_csv(out, index=False, encoding="utf-8-sig")
            inert_frame(versions).to_csv(other, index=False, encoding="utf-8-sig")
            return [out, other]
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            for name, df in ((QUESTION_SHEET, questions), (VERSION_SHEET, versions)):
                df.to_excel(xw, sheet_name=name, index=False, freeze_panes=(1, 0))
                inert_sheet(xw.sheets[name])
        return [out]
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}; choose a writable --out") from None
