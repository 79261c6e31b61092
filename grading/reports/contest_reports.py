"""Reports for people on the contest's rounds (``omr report unit|city|education``), as XLSX (or PDF through
``grading.reports.pdf``): built from the stored rounds, entries and awards (never recomputed), in Vietnamese.

* ``unit``: one row per unit — the entries received by e-mail, of them late, ineligible (under age, staff) and
  superseded (``grading.db.mail``), files received, pages graded, flagged and rejected (``grading.db.progress``), the
  entries of each round and how many went on, the entries forwarded from its last unit round, its awards; and the
  distribution of the first round's scores per unit (bands of 10 % of the best score).
* ``city``: the same per unit plus the totals, the awards (individual and collective).
* ``education``: the students aged 12 or more on the reference date (a participant with a date of birth and a
  school or class), counted by district, by school, by age and by grade level (the class's leading number: "7A"
  → 7), and listed one by one with the last round reached and the award.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from omr.errors import BadArguments, OutputError

from ..db.mail import unit_entry_counts
from ..db.progress import unit_groups
from ..db.rounds import report_rows
from ..rounds import unit_of, unit_resolver
from ..rules import Level, Rules
from ..store import Store
from ..units import Units
from .cells import inert_sheet

MIN_AGE = 12
MAIL_COLUMNS = (("received", "Bài nhận qua thư"), ("late", "Nộp muộn"), ("ineligible", "Không đủ điều kiện"),
                ("superseded", "Bị thay thế"))
FILE_COLUMNS = ("Tệp nhận được", "Trang đã chấm", "Trang cần xem lại", "Trang không đọc được")
_GRADE = re.compile(r"\s*(?:lớp|lop|khối|khoi)?\s*(\d{1,2})", re.IGNORECASE)


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def grade_of(class_name: str | None) -> int | None:
    m = _GRADE.match(class_name or "")
    return int(m.group(1)) if m else None


def _names(units: Units | None) -> dict[str, str]:
    return {u.code: u.name for u in units.units} if units is not None else {}


def unit_table(store: Store, rules: Rules, units: Units | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(one row per unit, the first round's score distribution per unit)."""
    resolver, names = unit_resolver(units), _names(units)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int, dict.fromkeys(FILE_COLUMNS, 0)))
    mail: dict[str, Counter] = defaultdict(Counter)
    for unit, c in unit_entry_counts(store).items():
        code = unit_of(resolver, unit) if unit else ""
        mail[code].update(c)
        rows.setdefault(code, defaultdict(int, dict.fromkeys(FILE_COLUMNS, 0)))   # e-mail only: a row too
    for g in unit_groups(store):
        code = unit_of(resolver, g.unit) if g.unit else ""
        r = rows[code]
        r["Tệp nhận được"] += g.files
        r["Trang đã chấm"] += g.graded
        r["Trang cần xem lại"] += g.flagged
        r["Trang không đọc được"] += g.rejected
    _, got, won = report_rows(store)
    last_unit = max((i for i, r in enumerate(rules.rounds) if r.level is Level.UNIT), default=None)
    scores: dict[str, list[Fraction]] = defaultdict(list)
    for e in got:
        r = rows[e.unit]
        r[f"Vào vòng {e.round_name}"] += 1
        r[f"Đi tiếp từ vòng {e.round_name}"] += bool(e.advanced)
        if last_unit is not None and e.round_name == rules.rounds[last_unit].name and e.advanced:
            r["Gửi lên thành phố"] += 1
        if rules.rounds and e.round_name == rules.rounds[0].name and e.score is not None:
            scores[e.unit].append(Fraction(e.score))
    for a in won:
        rows[a.unit]["Giải cá nhân" if a.kind == "individual" else "Giải tập thể"] += 1
    out = [{"Mã đơn vị": code or "(không rõ)", "Đơn vị": names.get(code, code),
            **{label: mail[code][k] for k, label in MAIL_COLUMNS}, **dict(r)} for code, r in sorted(rows.items())]
    best = max((s for v in scores.values() for s in v), default=Fraction(0)) or Fraction(1)
    dist = []
    for code, v in sorted(scores.items()):
        bins = Counter(min(int(s / best * 10), 9) for s in v)
        dist.append({"Mã đơn vị": code, **{f"{k * 10}–{k * 10 + 10} %": bins.get(k, 0) for k in range(10)}})
    return out, dist


def education_tables(store: Store, units: Units | None, on: date) -> dict[str, list[dict[str, Any]]]:
    """The Education report's sheets (see the module's docstring)."""
    resolver, names = unit_resolver(units), _names(units)
    people, got, won = report_rows(store)
    reached: dict[str, str] = {}
    for e in got:
        reached[e.participant] = e.round_name
    award = {a.winner: a.band for a in won if a.kind == "individual"}
    listed = []
    for p in people:
        if p.date_of_birth is None or not (p.school or p.class_name):
            continue
        age = age_on(p.date_of_birth, on)
        if age < MIN_AGE:
            continue
        code = unit_of(resolver, p.unit)
        listed.append({"Số báo danh": p.participant, "Họ và tên": p.name, "Ngày sinh": p.date_of_birth.strftime(
            "%d/%m/%Y"), "Tuổi": age, "Trường": p.school or "", "Lớp": p.class_name or "",
            "Khối": grade_of(p.class_name), "Quận/huyện": names.get(code, code),
            "Vòng cao nhất": reached.get(p.participant, ""), "Giải": award.get(p.participant, "")})

    def count(key: str, label: str) -> list[dict[str, Any]]:
        c = Counter(r[key] for r in listed)
        return [{label: k, "Số học sinh": n} for k, n in sorted(c.items(), key=lambda kv: str(kv[0]))]
    return {"Theo quận huyện": count("Quận/huyện", "Quận/huyện"), "Theo trường": count("Trường", "Trường"),
            "Theo tuổi": count("Tuổi", "Tuổi"), "Theo khối lớp": count("Khối", "Khối"), "Danh sách": listed}


def write_sheets(sheets: dict[str, Sequence[dict[str, Any]]], out: str | Path) -> Path:
    """Each sheet as an XLSX worksheet (numbers as numbers, text inert)."""
    import pandas as pd

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise BadArguments(f"cannot write {out.name}: name the report FILE.xlsx or FILE.pdf")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            for name, rows in sheets.items():
                pd.DataFrame(list(rows)).to_excel(xw, sheet_name=name[:31], index=False, freeze_panes=(1, 0))
                inert_sheet(xw.sheets[name[:31]])
        return out
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}; choose a writable --out") from None


CHARTS = {"Theo đơn vị": ("Mã đơn vị", "Tệp nhận được", "Bài dự thi nhận được theo đơn vị"),
          "Theo quận huyện": ("Quận/huyện", "Số học sinh", "Học sinh từ 12 tuổi theo quận, huyện"),
          "Theo tuổi": ("Tuổi", "Số học sinh", "Học sinh theo tuổi"),
          "Theo khối lớp": ("Khối", "Số học sinh", "Học sinh theo khối lớp")}
TITLES = {"prizes": "Danh sách giải thưởng", "unit": "Báo cáo theo đơn vị", "city": "Báo cáo tổng hợp cấp thành phố",
          "education": "Báo cáo học sinh từ 12 tuổi dự thi"}


def entrant_unit_rows(store: Store, units: Units | None, only: Collection[str] | None = None
                      ) -> list[dict[str, Any]]:
    """Entries by e-mail per collecting unit AND per the entrant's own unit (the school, ward or department the
    entrant names): the two units of an entry, never confused."""
    resolver, names = unit_resolver(units), _names(units)
    rows = []
    for (unit, own), c in sorted(unit_entry_counts(store, by_entrant=True).items(),
                                 key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
        code = unit_of(resolver, unit) if unit else ""
        if only is not None and code not in only:
            continue
        rows.append({"Mã đơn vị thu nhận": code or "(không rõ)", "Đơn vị thu nhận": names.get(code, code),
                     "Đơn vị của người dự thi": own or "(chưa rõ)",
                     **{label: c[k] for k, label in MAIL_COLUMNS}})
    return rows


def report_sheets(kind: str, store: Store, folder: str | Path, rules: Rules, units: Units | None, *,
                  on: date, only: Collection[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The sheets of the report ``kind`` (prizes, unit, city, education); ``only``: the unit report's rows of
    these unit codes alone (a unit admin's download; the other reports are the city's)."""
    from ..contest import load_settings
    from ..prizes import prize_rows

    if kind == "education":
        return education_tables(store, units, on)
    if kind == "prizes":
        rows = prize_rows(store, rules, units)
        return {"Giải cá nhân": [r for r in rows if r["Loại giải"] == "Cá nhân"],
                "Giải tập thể": [r for r in rows if r["Loại giải"] == "Tập thể"]}
    per_unit, dist = unit_table(store, rules, units)
    if only is not None:
        if kind != "unit":
            raise BadArguments(f"the {kind} report covers the whole contest: it has no version for some units")
        per_unit = [r for r in per_unit if r["Mã đơn vị"] in only]
        dist = [r for r in dist if r["Mã đơn vị"] in only]
    own = entrant_unit_rows(store, units, only)
    sheets: dict[str, list[dict[str, Any]]] = {"Theo đơn vị": per_unit, "Phân bố điểm": dist,
                                               "Theo đơn vị người dự thi": own}
    if kind == "city":
        sheets = {"Tổng hợp": [{"Cuộc thi": load_settings(folder).name, "Số đơn vị": len(per_unit),
                                "Tệp nhận được": sum(r.get("Tệp nhận được", 0) for r in per_unit)}],
                  **sheets, "Giải thưởng": prize_rows(store, rules, units)}
    return sheets


def write_report(kind: str, store: Store, folder: str | Path, rules: Rules, units: Units | None,
                 out: str | Path, *, on: date, only: Collection[str] | None = None) -> Path:
    """The report ``kind`` as XLSX or PDF (by ``out``'s suffix)."""
    from ..contest import load_settings
    from .pdf import sections_of, write_pdf

    sheets = report_sheets(kind, store, folder, rules, units, on=on, only=only)
    if not str(out).lower().endswith(".pdf"):
        return write_sheets(sheets, out)
    name = load_settings(folder).name
    return write_pdf(f"{TITLES[kind]}{' — ' + name if name else ''}", sections_of(sheets, CHARTS), out)
