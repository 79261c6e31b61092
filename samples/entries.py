"""Realistic typed entries with ground truth: DOCX files as entrants write them (Times New Roman 14), some
exported to PDF by LibreOffice, each with ``NAME.truth.json`` beside it.

The yardstick for the document reader, so it never imports reader code (``omr.documents``): the contest's
``questions.json`` and ``keys.json`` are read as plain JSON.

What varies, entry by entry (every choice drawn from a generator seeded by (seed, index) alone):

* the identity block: label variants and typos, colon or not, one field per line, two on a line, or a table;
  dates as "5/9/2007", "05-09-2007", "ngày 5 tháng 9 năm 2007"; phones with spaces, dots or +84;
* the test code ("Mã đề: 102") or none (the contest's default then applies);
* the answers: "Câu 1: B", "1 – b", "Câu1:B", "Câu 1. Đáp án: B. <option text>", "đáp án đúng là B", full-width
  letters, "1B 2C 3A" rows, the option written out, the question copied with "Đáp án: B" below it, tables
  (question | answer, options as columns marked "x", questions in a row above the answers), the options copied
  with the chosen one in bold, red, highlighted or underlined; lower-case letters,
  a changed answer ("B → C"), a few questions left blank;
* on purpose, rarely: a question answered twice differently, an option written out that matches nothing — the
  truth lists these under ``expect_flags``;
* the essay part (heading variants; sometimes before the answers), sometimes with an illustration.

Truth: ``identity`` (the values as the reader should give them), ``version``, ``answers`` {id: letters, "" blank},
``expect_flags`` {id: reason}, ``style``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import entry_words as W

ANSWER_STYLES = ("colon", "dash", "tight", "dap_an_text", "dap_an_dung", "fullwidth", "rows", "written",
                 "copied", "table", "table3", "table_marks", "table_across", "emphasis")
EMPHASIS = ("bold_red", "highlight", "underline", "bold")
IDENTITY_STYLES = ("lines", "pairs", "table", "nocolon")
_FW = {c: chr(ord(c) + 0xFEE0) for c in "ABCDEFGH"}


@dataclass
class Entry:
    """What one entrant wrote: blocks (str paragraphs, ("table", rows), ("image",)), and the truth."""

    blocks: list[Any] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)


def load_contest(folder: str | Path) -> tuple[list[dict], list[str], str | None]:
    folder = Path(folder)
    questions = json.loads((folder / "questions.json").read_text(encoding="utf-8"))["questions"]
    versions = list(json.loads((folder / "keys.json").read_text(encoding="utf-8"))["versions"])
    settings = folder / "contest.json"
    default = json.loads(settings.read_text(encoding="utf-8")).get("default_version") if settings.exists() else None
    return questions, versions, default


def _person(rng: random.Random) -> dict[str, Any]:
    pupil = rng.random() < 0.6
    born = dt.date(rng.randint(2008, 2015), 1, 1) if pupil else dt.date(rng.randint(1955, 2000), 1, 1)
    born += dt.timedelta(days=rng.randint(0, 364))
    name = f"{rng.choice(W.FAMILY)} {rng.choice(W.MIDDLE)} {rng.choice(W.GIVEN)}"
    if rng.random() < 0.1:
        name = name.upper()
    ward, district = rng.choice(W.WARDS)
    address = f"Số {rng.randint(1, 200)} {rng.choice(W.STREETS)}, phường {ward}, quận {district}, Hà Nội"
    digits = "09" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    ascii_name = "".join(ch for ch in _ascii(name.split()[-1] + name.split()[0]).lower() if ch.isalnum())
    return {"name": name, "born": born, "address": address,
            "unit": rng.choice(W.SCHOOLS) if pupil else rng.choice(W.WORKPLACES),
            "class": rng.choice(W.CLASSES) if pupil else "", "phone": digits,
            "email": f"{ascii_name}{rng.randint(1, 999)}@{rng.choice(['gmail.com', 'yahoo.com', 'hanoi.edu.vn'])}"}


def _ascii(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D").replace("Ð", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _date_text(rng: random.Random, d: dt.date) -> str:
    return rng.choice([f"{d.day}/{d.month}/{d.year}", f"{d.day:02d}/{d.month:02d}/{d.year}",
                       f"{d.day:02d}-{d.month:02d}-{d.year}", f"{d.day:02d}.{d.month:02d}.{d.year}",
                       f"ngày {d.day} tháng {d.month} năm {d.year}",
                       f"Ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"])


def _phone_text(rng: random.Random, p: str) -> str:
    return rng.choice([p, f"{p[:4]} {p[4:7]} {p[7:]}", f"{p[:4]}.{p[4:7]}.{p[7:]}", f"+84 {p[1:4]} {p[4:7]} {p[7:]}",
                       f"{p[:3]} {p[3:6]} {p[6:]}"])


def identity_blocks(rng: random.Random, person: dict[str, Any], style: str) -> tuple[list[Any], dict[str, str]]:
    written = {"name": person["name"], "date_of_birth": _date_text(rng, person["born"]),
               "address": person["address"], "unit": person["unit"], "class": person["class"],
               "phone": _phone_text(rng, person["phone"]), "email": person["email"]}
    truth = {"name": person["name"], "date_of_birth": person["born"].isoformat(), "address": person["address"],
             "unit": person["unit"], "class": person["class"], "phone": person["phone"], "email": person["email"]}
    fields = [f for f in ("name", "date_of_birth", "address", "unit", "class", "phone", "email") if written[f]]
    if rng.random() < 0.3:                           # some put the school before the address, or the e-mail first
        i, j = rng.sample(range(1, len(fields)), 2)
        fields[i], fields[j] = fields[j], fields[i]
    labels = {f: rng.choice(W.LABELS[f]) for f in fields}
    if style == "table":
        return [("table", [[labels[f], written[f]] for f in fields])], truth
    sep = rng.choice([": ", ": ", " : ", ":", ": "])
    if style == "nocolon":
        sep = " "
    out: list[Any] = []
    if style == "pairs":
        i = 0
        while i < len(fields):
            if i + 1 < len(fields) and len(written[fields[i]]) < 40 and len(written[fields[i + 1]]) < 40:
                out.append(f"{labels[fields[i]]}: {written[fields[i]]}{rng.choice(['    ', chr(9), ' - ', '; '])}"
                           f"{labels[fields[i + 1]]}: {written[fields[i + 1]]}")
                i += 2
            else:
                out.append(f"{labels[fields[i]]}{sep}{written[fields[i]]}")
                i += 1
        return out, truth
    return [f"{labels[f]}{sep}{written[f]}" for f in fields], truth


def _letter(rng: random.Random, letter: str, lower_p: float = 0.0) -> str:
    return letter.lower() if rng.random() < lower_p else letter


def _marker(rng: random.Random, n: str, typo_p: float) -> str:
    if rng.random() < typo_p:
        return rng.choice([f"Câu{n}", f"câu {n}", f"Cau {n}", f"CÂU {n}", f"Câu  {n}", f"Câu hỏi {n}"])
    return f"Câu {n}"


def _answer_line(rng: random.Random, style: str, q: dict, letters: str, typo_p: float) -> str:
    n, letter = q["id"], letters
    text = q["options"].get(letter, "")
    if style == "colon":
        return f"{_marker(rng, n, typo_p)}{rng.choice([': ', ':', ' : ', '. ', ' - '])}{_letter(rng, letter, typo_p)}"
    if style == "dash":
        return f"{n}{rng.choice([' – ', ' - ', '-', '. ', ') ', ' — '])}{_letter(rng, letter, 0.5)}"
    if style == "tight":
        return f"{_marker(rng, n, 0)}:{_letter(rng, letter, typo_p)}".replace("Câu ", "Câu")
    if style == "dap_an_text":
        return f"{_marker(rng, n, typo_p)}. Đáp án: {letter}. {text}"
    if style == "dap_an_dung":
        said = rng.choice(["đáp án đúng là", "Đáp án đúng là", "chọn", "Trả lời:"])
        return f"{_marker(rng, n, typo_p)}: {said} {letter}"
    if style == "fullwidth":
        return f"{_marker(rng, n, typo_p)}: {_FW[letter]}"
    if style == "written":
        shown = text if rng.random() < 0.7 else rng.choice([text.lower(), text.rstrip(".") + ".", text.upper()])
        return f"{_marker(rng, n, typo_p)}: {shown}"
    raise ValueError(style)


def _changed(rng: random.Random, q: dict, final: str) -> str:
    first = rng.choice([x for x in q["options"] if x != final])
    arrow = rng.choice([" → ", " -> ", "->", " => ", " sửa thành "])
    return f"Câu {q['id']}: {first}{arrow}{final}"


def answer_blocks(rng: random.Random, questions: list[dict], chosen: dict[str, str], style: str,
                  expect: dict[str, str]) -> list[Any]:
    """The multiple-choice part in ``style``; ``chosen`` holds "" for a question left blank."""
    typo_p = rng.choice([0.0, 0.05, 0.15])
    qs = [q for q in questions if chosen[q["id"]]]
    if style == "rows":
        per = rng.choice([5, 10])
        fmt = rng.choice(["{n}{l}", "{n}-{l}", "{n}.{l}", "{n} {l}", "Câu {n}: {l}"])
        joiner = rng.choice([" ", "  ", ", ", "; ", "\t"])
        return [joiner.join(fmt.format(n=q["id"], l=_letter(rng, chosen[q["id"]], typo_p)) for q in qs[i:i + per])
                for i in range(0, len(qs), per)]
    if style == "copied":
        out: list[Any] = []
        for q in qs:
            out.append(f"Câu {q['id']}. {q['text']}")
            out.append(rng.choice(["Đáp án: ", "Trả lời: ", "=> ", "Đáp án đúng là ", "Chọn "]) + chosen[q["id"]])
        return out
    if style.startswith("table"):
        return [("table", _answer_table(rng, qs, chosen, style))]
    if style == "emphasis":                # the options copied, the chosen one formatted (bold, red, highlighted)
        how = rng.choice(EMPHASIS)
        out = []
        for q in qs:
            out.append(f"Câu {q['id']}. {q['text']}")
            out += [("fmt", f"{x}. ", text, how if x == chosen[q["id"]] else "") for x, text in q["options"].items()]
        return out
    out = []
    for q in qs:
        if rng.random() < 0.01 and style not in ("written",):
            out.append(_changed(rng, q, chosen[q["id"]]))
        else:
            out.append(_answer_line(rng, style, q, chosen[q["id"]], typo_p))
    return out


def _answer_table(rng: random.Random, qs: list[dict], chosen: dict[str, str], style: str) -> list[list[str]]:
    if style == "table":
        head = rng.choice([["Câu", "Đáp án"], ["Câu hỏi", "Trả lời"], ["STT", "Đáp án"]])
        return [head] + [[rng.choice([q["id"], f"Câu {q['id']}"]), _letter(rng, chosen[q["id"]], 0.2)] for q in qs]
    if style == "table3":
        return [["Câu", "Nội dung câu hỏi", "Đáp án"]] + [[q["id"], q["text"], chosen[q["id"]]] for q in qs]
    if style == "table_marks":
        letters = list(qs[0]["options"]) if qs else ["A", "B", "C", "D"]
        mark = rng.choice(["x", "X", "✓"])
        return [["Câu", *letters]] + [[q["id"], *[mark if x == chosen[q["id"]] else "" for x in letters]] for q in qs]
    rows: list[list[str]] = []
    for i in range(0, len(qs), 10):
        part = qs[i:i + 10]
        rows.append(["Câu", *[q["id"] for q in part]])
        rows.append(["Đáp án", *[chosen[q["id"]] for q in part]])
    return rows


def _problems(rng: random.Random, questions: list[dict], chosen: dict[str, str],
              expect: dict[str, str]) -> list[str]:
    """Rarely, on purpose: a question answered again differently, or one answered only by a text that matches no
    option (its letter left out of the answers). Lines to add after the answers; ``expect`` gets the flags."""
    extra: list[str] = []
    answered = [q for q in questions if chosen[q["id"]]]
    if len(answered) > 2 and rng.random() < 0.05:
        q = rng.choice(answered)
        other = rng.choice([x for x in q["options"] if x != chosen[q["id"]]])
        extra.append(f"Câu {q['id']}: {other}")
        expect[q["id"]] = "contradictory_answers"
    if len(answered) > 2 and rng.random() < 0.03:
        q = rng.choice([x for x in answered if x["id"] not in expect])
        chosen[q["id"]] = ""
        extra.append(f"Câu {q['id']}: em không chắc, có lẽ là hỏi cán bộ phường")
        expect[q["id"]] = "option_text_unmatched"
    return extra


def _essay(rng: random.Random, person: dict[str, Any]) -> list[Any]:
    out: list[Any] = [rng.choice(W.ESSAY_HEADINGS)]
    for _ in range(rng.randint(2, 5)):
        out.append(" ".join(rng.sample(W.ESSAY_SENTENCES, rng.randint(2, 4))))
    if rng.random() < 0.3:
        out.append(f"Người viết: {person['name']}")
    return out


def make_entry(questions: list[dict], versions: list[str], default: str | None, *, seed: int, index: int) -> Entry:
    rng = random.Random(f"{seed}:{index}")
    person = _person(rng)
    id_style = rng.choice(IDENTITY_STYLES)
    id_blocks, identity = identity_blocks(rng, person, id_style)
    stated = rng.choice(versions) if rng.random() < 0.6 or default is None else None
    version = stated or default
    chosen = {q["id"]: rng.choice(list(q["options"])) for q in questions}
    for q in rng.sample(questions, rng.choice([0, 0, 0, 1, 3])):
        chosen[q["id"]] = ""
    expect: dict[str, str] = {}
    extra = _problems(rng, questions, chosen, expect)
    truth_answers = dict(chosen)
    style = rng.choice(ANSWER_STYLES)
    blocks: list[Any] = [rng.choice(W.TITLES), *id_blocks]
    if stated:
        blocks.append(rng.choice(["Mã đề: ", "Mã đề thi: ", "Mã đề ", "MÃ ĐỀ: "]) + stated)
    mc = [rng.choice(W.MC_HEADINGS), *answer_blocks(rng, questions, chosen, style, expect), *extra]
    essay = _essay(rng, person)
    if rng.random() < 0.25:
        essay.insert(rng.randint(2, len(essay)), ("image",))
    blocks += (essay + mc) if rng.random() < 0.15 else (mc + essay)
    for qid in expect:
        if expect[qid] == "option_text_unmatched":
            truth_answers[qid] = ""
    truth = {"identity": identity, "version": version, "answers": truth_answers, "expect_flags": expect,
             "style": {"answers": style, "identity": id_style, "stated_version": stated is not None}}
    return Entry(blocks, truth)


def _illustration(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (480, 320), (245, 245, 240))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randint(0, 440), rng.randint(0, 280)
        d.rectangle([x, y, x + rng.randint(20, 120), y + rng.randint(20, 80)],
                    fill=tuple(rng.randint(40, 220) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _formatted(paragraph, text: str, how: str) -> None:
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import RGBColor

    run = paragraph.add_run(text)
    if how in ("bold", "bold_red"):
        run.bold = True
    if how == "bold_red":
        run.font.color.rgb = RGBColor(0xC0, 0, 0)
    if how == "highlight":
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    if how == "underline":
        run.underline = True


def write_docx(entry: Entry, path: str | Path, *, seed: int = 0) -> None:
    """The entry as Word writes it: Times New Roman 14, the author in the core properties."""
    import docx
    from docx.shared import Cm, Pt

    rng = random.Random(f"img:{seed}:{path}")
    d = docx.Document()
    style = d.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(14)
    d.core_properties.author = entry.truth["identity"]["name"]
    d.core_properties.comments = ""
    for b in entry.blocks:
        if isinstance(b, str):
            d.add_paragraph(b)
        elif b[0] == "image":
            d.add_picture(io.BytesIO(_illustration(rng)), width=Cm(9))
        elif b[0] == "fmt":
            _formatted(d.add_paragraph(b[1]), b[2], b[3])
        else:
            rows = b[1]
            t = d.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            t.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, text in enumerate(row):
                    t.cell(r, c).text = text
    d.sections[0].footer.paragraphs[0].text = entry.truth["identity"]["name"]
    d.save(str(path))


def to_pdf(docx_files: list[Path], out_dir: Path, *, timeout: float = 300) -> None:
    """LibreOffice headless, with a private profile so that parallel runs do not collide."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(out_dir), *map(str, docx_files)],
                       check=True, capture_output=True, timeout=timeout)


def generate(out: str | Path, contest: str | Path, *, n: int, seed: int = 1, pdf_every: int = 10) -> list[Path]:
    """``n`` entries in ``out``: ``entry-00001.docx`` (every ``pdf_every``-th as ``.pdf`` instead) and
    ``entry-00001.truth.json``. Returns the documents' paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    questions, versions, default = load_contest(contest)
    paths, to_convert = [], []
    for i in range(1, n + 1):
        entry = make_entry(questions, versions, default, seed=seed, index=i)
        stem = f"entry-{i:05d}"
        path = out / f"{stem}.docx"
        write_docx(entry, path, seed=seed)
        pdf = pdf_every > 0 and i % pdf_every == 0
        entry.truth["file"] = f"{stem}.pdf" if pdf else path.name
        (out / f"{stem}.truth.json").write_text(json.dumps(entry.truth, ensure_ascii=False, indent=1), encoding="utf-8")
        if pdf:
            to_convert.append(path)
        paths.append(out / entry.truth["file"])
    if to_convert:
        with tempfile.TemporaryDirectory(prefix="entries-docx-") as tmp:
            moved = [Path(shutil.move(str(p), Path(tmp) / p.name)) for p in to_convert]
            to_pdf(moved, out)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m samples.entries", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="folder to write the entries and their truth files into")
    p.add_argument("--contest", default="answer_keys/demo", help="contest folder (questions.json, keys.json)")
    p.add_argument("-n", type=int, default=20, help="how many entries")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pdf-every", type=int, default=10, help="export every N-th entry to PDF (0: none)")
    args = p.parse_args(argv)
    paths = generate(args.out, args.contest, n=args.n, seed=args.seed, pdf_every=args.pdf_every)
    print(f"wrote {len(paths)} entries to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
