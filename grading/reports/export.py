"""Exports: the results table (one row per participant), per-question statistics, the open issues and the essay
scores.

``export(store, contest, "results.xlsx")`` writes four sheets: ``results``, ``items``, ``issues``, ``essays`` — named,
with their headers, in the contest's language (``Kết quả``, ``Số báo danh``…: ``grading.reports.headers``) unless
``headers="codes"`` asks for the codes below.
``export(store, contest, "results.csv")`` writes the results table as UTF-8 with a BOM (so Excel on Windows
shows Vietnamese names correctly) and three siblings, ``results.items.csv``, ``results.issues.csv`` and
``results.essays.csv``.

Essays: the results table has, per essay question, ``essay: <question>`` (the final score, a decimal; empty until
final), then ``essay_total`` / ``essay_total_exact`` (the sum of the participant's final essay scores, only when
every essay task of his is final) and ``essay_status`` (``final``, ``in progress`` or empty: no essay). The
``essays`` sheet has one row per judging task: anonymous code, participant, question, unit, state, each judge's
name and total (rounds 1, 2 and the third judge's 3) and the final score with its rule; a contest round's own
tasks (``round``) count in that round only, never in ``essay_total``.

Contest rules (``rules.json``): the results table ends with ``combined_total`` / ``combined_total_exact`` (the
rules' weights over the multiple-choice total and the essay total; 1 and 1 without rules), ``combined_rank`` (the
rules' tie-breaks; ``rank`` keeps ranking the multiple-choice total alone), ``round_reached`` (the last contest
round the participant entered), ``round_score`` / ``round_score_exact`` / ``round_rank`` (his score and rank
there, once the round is closed) and ``award`` (his individual prize, as stored by ``omr prizes``).

The ``issues`` sheet lists every open flag, every rejected file or page and every discarded page (``omr discard``:
its message says "discarded: reason (who, when)"), each with its page id (``page_id``, what ``omr discard`` takes).
A discarded page is in no other table: it counts for nothing.

The frames are built by pure functions over what the store returns (``results_table``, ``item_table``,
``issues_table``); only ``export`` touches files. Totals are decimals for sorting and sums, and the exact
fraction is kept as text (``total_exact``, e.g. ``"37/5"``). Ranks are competition ranks over exact totals:
ties share a rank and the next rank skips (1, 2, 2, 4). A participant whose pages came from entries by e-mail that
are late, superseded or flagged (identity pending, under age, staff, possibly a same person…) has no rank;
``entry_flags`` says why (``grading.db.mail.unranked_pages``).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from datetime import timezone, tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Any

from omr.errors import BadArguments, OutputError

from ..contest import Contest, load_roster
from .cells import inert_frame, inert_sheet
from .headers import HEADERS, labelled, sheet_label
from ..db.discards import discarded
from ..db.exports import Collected, answer_pages, collected_by, rejections
from ..db.mail import unranked_pages
from ..db.rounds import results_extras
from ..essays import load_rubric, task_score_rows
from ..ranking import Entry, rank_entries
from ..rules import Rules, load_rules
from ..store import Store

# exact numbers we computed, kept as text ("-1/3"): the only text cells not neutralised as formula-like
EXACT_COLUMNS = ("total_exact", "essay_total_exact", "combined_total_exact", "round_score_exact", "total 1",
                 "total 2", "total 3", "final_exact")


def competition_ranks(totals: list[Fraction | None]) -> list[int | None]:
    """1 + the number of strictly greater totals; ``None`` stays unranked."""
    ranked = sorted((t for t in totals if t is not None), reverse=True)
    first: dict[Fraction, int] = {}
    for i, t in enumerate(ranked):
        first.setdefault(t, i + 1)
    return [None if t is None else first[t] for t in totals]


def _rank(rows: list[dict[str, Any]], unranked: dict[int, list[str]]) -> None:
    """Competition ranks over the rows whose pages no entry keeps out of rankings (late, superseded, flagged:
    ``entry_flags`` says why)."""
    for row in rows:
        row["entry_flags"] = "; ".join(sorted({w for p in row.pop("page_ids", []) for w in unranked.get(p, [])}))
    ranks = competition_ranks([Fraction(row["total_exact"]) if row["total_exact"] and not row["entry_flags"]
                               else None for row in rows])
    for row, rank in zip(rows, ranks):
        row["rank"] = rank


def _roster(contest: Contest) -> list[Any] | None:
    roster = load_roster(contest.folder, contest.layout)
    return list(roster.people) if roster else None


def results_table(store: Store, contest: Contest, only: Collected | None = None) -> Any:
    """One row per participant (roster participants without a sheet: status ``absent``); ``only``: the rows with
    a page some units collected (ranks stay the contest's)."""
    import pandas as pd

    frame = store.results_frame()
    page_info, open_by_page = answer_pages(store)
    questions = [g.key for g in contest.layout.question_groups] + list(contest.layout.numeric_ids)
    questions += [g.name for g in contest.keys.groups]          # a group scored by the number right (Phần II)
    section_cols = [c for c in frame.columns if c.startswith("section: ")]
    roster = _roster(contest)
    people = {p.id: p for p in roster} if roster else {}

    rows: list[dict[str, Any]] = []
    for r in frame.to_dict("records"):
        pid = r["participant"] if isinstance(r["participant"], str) else None
        page_ids = [int(x) for x in str(r["page_ids"]).split(";") if x]
        person = people.get(pid) if pid else None
        exact = r["total_exact"] if isinstance(r["total_exact"], str) else None
        row: dict[str, Any] = {
            "participant_id": pid, "name": person.name if person else None, "unit": person.unit if person else None,
            "version": r["version"] if isinstance(r["version"], str) else None, "status": r["status"],
            "total": float(Fraction(exact)) if exact is not None else math.nan, "total_exact": exact,
            "max_total": r["max_total"], "rank": None,
            "open_flags": sum(open_by_page.get(p, 0) for p in page_ids),
        }
        for c in section_cols:
            row[c] = r[c]
        one = page_info.get(page_ids[0]) if len(page_ids) == 1 else None
        for q in questions:
            if one is None:
                row[f"answer {q}"], row[f"points {q}"] = None, math.nan
            elif one.questions is not None and q in one.questions:
                row[f"answer {q}"] = one.questions[q]["marked"]
                row[f"points {q}"] = float(Fraction(one.questions[q]["points"]))
            else:
                row[f"answer {q}"], row[f"points {q}"] = one.answers.get(q, ""), math.nan
        row["pages"], row["sources"], row["page_ids"], row["_pages"] = r["pages"], r["sources"], page_ids, page_ids
        rows.append(row)
    seen = {row["participant_id"] for row in rows}
    for p in roster or []:
        if p.id not in seen:
            rows.append({"participant_id": p.id, "name": p.name, "unit": p.unit, "version": None,
                         "status": "absent", "total": math.nan, "total_exact": None, "max_total": math.nan,
                         "rank": None, "open_flags": 0, "pages": 0, "sources": ""})
    _rank(rows, unranked_pages(store))
    order = {p.id: i for i, p in enumerate(roster or [])}
    rows.sort(key=lambda row: (row["participant_id"] is None, order.get(row["participant_id"], len(order)),
                               row["participant_id"] or ""))
    essay_qs = _add_essays(store, contest, rows)
    cols = ["participant_id", "name", "unit", "version", "status", "total", "total_exact", "max_total", "rank",
            "entry_flags", "open_flags", *section_cols, *[f"essay: {q}" for q in essay_qs], "essay_total",
            "essay_total_exact", "essay_status", *[f"answer {q}" for q in questions],
            *[f"points {q}" for q in questions], "pages", "sources"]
    cols += _combined(store, contest, rows)
    if only is not None:           # after every rank: a unit's rows keep the contest's ranks
        rows = [row for row in rows if set(row.get("_pages", ())) & only.page_ids]
    df = pd.DataFrame(rows, columns=cols)
    df["rank"] = df["rank"].astype("Int64")
    df["combined_rank"] = df["combined_rank"].astype("Int64")
    df["round_rank"] = df["round_rank"].astype("Int64")
    df["open_flags"] = df["open_flags"].astype("int64")
    df["pages"] = df["pages"].astype("int64")
    return df


def _add_essays(store: Store, contest: Contest, rows: list[dict[str, Any]]) -> list[str]:
    """Each row's final essay scores and total; returns the essay questions (columns)."""
    essay_rows = task_score_rows(store)
    essay_qs = _essay_questions(contest, essay_rows)
    by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in essay_rows:
        if e["participant_id"] and e["round"] is None:       # a contest round's tasks count in that round only
            by_person[e["participant_id"]].append(e)
    for row in rows:
        mine = by_person.get(row["participant_id"] or "", [])
        finals: dict[str, Fraction] = {}
        for e in mine:
            if e["final_exact"] is not None:
                finals[e["question"]] = Fraction(e["final_exact"])
        for q in essay_qs:
            row[f"essay: {q}"] = float(finals[q]) if q in finals else math.nan
        done = bool(mine) and all(e["final_exact"] is not None for e in mine)
        total = sum(finals.values(), Fraction(0)) if done else None
        row["essay_total"] = float(total) if total is not None else math.nan
        row["essay_total_exact"] = str(total) if total is not None else None
        row["essay_status"] = "final" if done else "in progress" if mine else ""
    return essay_qs


def _combined(store: Store, contest: Contest, rows: list[dict[str, Any]]) -> list[str]:
    """Add to each row the combined total (the rules' weights: multiple-choice points and final essay score; none
    while an essay is not final), its rank (the rules' tie-breaks), the last contest round reached and the
    individual award; returns the column names."""
    rules = load_rules(contest.folder) or Rules()
    received, reached, won = results_extras(store)
    order = {r.name: i for i, r in enumerate(rules.rounds)}
    entries, at = [], {}
    for i, row in enumerate(rows):
        pid = row["participant_id"]
        row["combined_total"], row["combined_total_exact"], row["combined_rank"] = math.nan, None, None
        last = max(reached.get(pid or "", ()), key=lambda r: order.get(r.name, -1), default=None)
        row["round_reached"] = last.name if last is not None else None
        row["round_score"] = float(Fraction(last.score)) if last is not None and last.score else math.nan
        row["round_score_exact"] = last.score if last is not None else None
        row["round_rank"] = last.rank if last is not None else None
        award = won.get(pid or "")
        row["award"] = next((b.title for b in rules.individual if award is not None and b.band == award.band),
                            award.band if award is not None else None)
        if row["total_exact"] is None or row["essay_status"] == "in progress" or not pid or row["entry_flags"]:
            continue                   # an entry kept out of rankings (late, superseded, flagged) gets no rank
        essay = Fraction(row["essay_total_exact"]) if row["essay_total_exact"] else Fraction(0)
        entries.append(Entry(pid, "", Fraction(row["total_exact"]), essay, received.get(pid)))
        at[pid] = i
    for p in rank_entries(entries, rules):
        row = rows[at[p.entry.participant]]
        row.update(combined_total=float(p.score), combined_total_exact=str(p.score), combined_rank=p.rank)
    return ["combined_total", "combined_total_exact", "combined_rank", "round_reached", "round_score",
            "round_score_exact", "round_rank", "award"]


def _essay_questions(contest: Contest, essay_rows: list[dict[str, Any]]) -> list[str]:
    """The rubric's questions in its order, then any other question that has tasks."""
    rubric = load_rubric(contest.folder)
    out = list(rubric.question_ids) if rubric is not None else []
    for e in essay_rows:
        if e["question"] not in out:
            out.append(e["question"])
    return out


def essay_table(store: Store) -> Any:
    """One row per judging task: each judge's total (exact text), the final score and its rule."""
    import pandas as pd

    cols = ["essay", "participant_id", "question", "unit", "state", "round", "judge 1", "total 1", "judge 2", "total 2",
            "judge 3", "total 3", "final", "final_exact", "rule"]
    return pd.DataFrame(task_score_rows(store), columns=cols)


def item_table(store: Store, contest: Contest, only: Collected | None = None) -> Any:
    """Per question, over every scored page (``only``: of those some units collected): share correct / blank /
    multiple, and the share marking each option (a page marking two options counts for both)."""
    import pandas as pd

    page_info, _ = answer_pages(store)
    if only is not None:
        page_info = {k: v for k, v in page_info.items() if k in only.page_ids}
    scored = [p.questions for p in page_info.values() if p.questions is not None]
    options = list(dict.fromkeys(lab for g in contest.layout.question_groups for lab in g.labels))
    rows = []
    for g in contest.layout.question_groups:
        seen = [qs[g.key] for qs in scored if g.key in qs]
        n = len(seen)
        count = defaultdict(int)
        for s in seen:
            count["outcome:" + s["outcome"]] += 1
            for lab in g.labels:
                if lab in s["marked"]:
                    count[lab] += 1
        row: dict[str, Any] = {"question": g.key, "sheets": n}
        for what in ("correct", "wrong", "blank", "multiple", "cancelled", "unreadable"):
            row[f"share {what}"] = count["outcome:" + what] / n if n else math.nan
        for lab in options:
            row[f"share {lab}"] = count[lab] / n if n and lab in g.labels else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def issues_table(store: Store, tz: tzinfo = timezone.utc) -> Any:
    """Every open flag, every rejected file or page and every discarded page (times in ``tz``), with its reason
    and its page id."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for f in store.list_flags(state="open"):
        rows.append({"kind": "flag", "flag_id": f["id"], "source": f["source"], "page": f["page_no"],
                     "participant": f["participant"], "target": f["target"], "key": f["key"],
                     "reason": f["reason"], "message": f["message"], "page_id": f["page_id"]})
    for r in rejections(store):
        rows.append({"kind": "rejected", "flag_id": None, "source": r["source"], "page": r["page_no"] or None,
                     "participant": None, "target": "page" if r["page_no"] else "file", "key": None,
                     "reason": r["reason_code"], "message": r["reason"], "page_id": r["page_id"]})
    for d in discarded(store).pages:
        rows.append({"kind": "discarded", "flag_id": None, "source": d.source, "page": d.page_no or None,
                     "participant": d.participant, "target": "page" if d.page_no else "file", "key": None,
                     "reason": "discarded", "message": d.note(tz), "page_id": d.page_id})
    df = pd.DataFrame(rows, columns=["kind", "flag_id", "source", "page", "participant", "target", "key",
                                     "reason", "message", "page_id"])
    for col in ("flag_id", "page", "page_id"):
        df[col] = df[col].astype("Int64")
    return df


def export(store: Store, contest: Contest, out: str | Path, *, headers: str = "auto",
           within: Collection[str] | None = None) -> list[Path]:
    """Write the export; returns the files written. ``headers``: ``codes`` (column codes, English sheet names),
    ``labels`` (the contest's language), ``auto`` (labels in a workbook, codes in a CSV: see
    ``grading.reports.headers``). ``within``: only what these collecting units took in (a unit admin's export:
    results, question statistics, issues and essays of their files; ranks stay the contest's)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise BadArguments(f"cannot export to {out.name}: name the output results.xlsx or results.csv")
    if headers not in HEADERS:
        raise BadArguments(f"--headers {headers}: choose one of {', '.join(HEADERS)}")
    language = contest.settings.language if headers == "labels" or (headers == "auto" and suffix == ".xlsx") \
        else ""
    only = collected_by(store, within) if within is not None else None
    results, items = results_table(store, contest, only), item_table(store, contest, only)
    issues = issues_table(store, contest.settings.tz)
    essays = essay_table(store)
    if only is not None:
        issues = issues[issues["page_id"].isin(only.page_ids)].reset_index(drop=True)
        essays = essays[essays["essay"].isin(only.task_codes)].reset_index(drop=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".xlsx":
            import pandas as pd

            with pd.ExcelWriter(out, engine="openpyxl") as xw:
                for name, df in (("results", results), ("items", items), ("issues", issues), ("essays", essays)):
                    sheet = sheet_label(name, language)
                    labelled(df, language).to_excel(xw, sheet_name=sheet, index=False, freeze_panes=(1, 0))
                    inert_sheet(xw.sheets[sheet])
            return [out]
        items_path = out.with_name(out.stem + ".items.csv")
        issues_path = out.with_name(out.stem + ".issues.csv")
        essays_path = out.with_name(out.stem + ".essays.csv")
        for df, path in ((results, out), (items, items_path), (issues, issues_path), (essays, essays_path)):
            inert_frame(df, EXACT_COLUMNS).pipe(labelled, language).to_csv(path, index=False, encoding="utf-8-sig")
        return [out, items_path, issues_path, essays_path]
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}; choose a writable --out (and close the file if it is "
                          "open in Excel)") from None
