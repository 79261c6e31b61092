"""File names at the edges (omr.paths): an escaped string, the exact bytes when not UTF-8, and the way back."""
import base64
import io
import json
import os
import unicodedata

import pytest

from omr.load import plan_pages, LoadOptions
from omr.paths import (display_source, display_text, for_library, path_from, path_from_json, source_bytes,
                       source_fields)
from omr.records import Reject, SheetFailure

ODD = os.fsdecode(b"scans/\xff\xfe.jpg")                       # what os.walk gives for these bytes
NFD = unicodedata.normalize("NFD", "scans/bài thi.jpg")


def test_a_name_that_is_not_utf8_is_escaped_and_its_bytes_kept():
    assert display_source(ODD) == "scans/\\xff\\xfe.jpg"
    assert source_bytes(ODD) == b"scans/\xff\xfe.jpg"
    assert path_from(display_source(ODD), source_bytes(ODD)) == ODD
    fields = source_fields(ODD)
    assert fields == {"source": "scans/\\xff\\xfe.jpg",
                      "source_bytes": base64.b64encode(b"scans/\xff\xfe.jpg").decode()}
    assert path_from_json(json.loads(json.dumps(fields))) == ODD
    mixed = os.fsdecode("thư mục/".encode() + b"\xc3(.jpg")         # valid Vietnamese, then a broken sequence
    assert display_source(mixed) == "thư mục/\\xc3(.jpg"
    assert source_bytes(mixed) == "thư mục/".encode() + b"\xc3(.jpg"


@pytest.mark.parametrize("name", [NFD, unicodedata.normalize("NFC", NFD), "a\\xff.jpg", "plain.jpg"])
def test_a_valid_utf8_name_is_left_exactly_as_given(name):
    assert display_source(name) == name and source_bytes(name) is None
    assert source_fields(name) == {"source": name}
    assert path_from(name, None) == name == path_from_json({"source": name})


def test_the_literal_text_of_an_escape_and_the_bytes_it_stands_for_stay_apart():
    literal = "scans/\\xff\\xfe.jpg"                             # a valid name holding backslashes
    assert display_source(literal) == display_source(ODD)        # same text for people …
    assert path_from(display_source(literal), source_bytes(literal)) == literal   # … told apart by the bytes
    assert path_from(display_source(ODD), source_bytes(ODD)) == ODD


def test_messages_for_people_show_names_escaped():
    assert display_text(f"{ODD} is empty (0 bytes)") == "scans/\\xff\\xfe.jpg is empty (0 bytes)"
    assert display_text("Câu 3: tô mờ") == "Câu 3: tô mờ"
    assert display_text("lone \ud800") == "lone \\ud800"          # no file system makes it: still never a crash


def test_a_rejected_file_with_such_a_name_gives_a_reason_json_can_carry(tmp_path):
    cut = os.path.join(str(tmp_path), os.fsdecode(b"c\xe1t.jpg"))
    with open(cut, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + b"\0" * 600)
    failure = plan_pages(cut, LoadOptions())
    assert isinstance(failure, SheetFailure) and failure.source == cut
    assert "c\\xe1t.jpg" in failure.reason
    row = json.loads(json.dumps(failure.to_json(), ensure_ascii=False).encode("utf-8"))
    assert row["source"] == display_source(cut) and path_from_json(row) == cut
    direct = SheetFailure(ODD, None, Reject.EMPTY_FILE, f"{ODD} is empty")
    assert direct.reason == "scans/\\xff\\xfe.jpg is empty" and direct.source == ODD


def test_a_library_opens_the_exact_name_and_reads_the_escaped_one(tmp_path):
    import pikepdf

    assert for_library("plain.pdf") == "plain.pdf" and for_library(NFD) == NFD
    wrapped = for_library(ODD)
    assert os.fspath(wrapped) == ODD and str(wrapped) == "scans/\\xff\\xfe.jpg"
    pdf_path = os.path.join(str(tmp_path), os.fsdecode(b"b\xe0i.pdf"))
    buf = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(buf)
    with open(pdf_path, "wb") as f:
        f.write(buf.getvalue())
    with pikepdf.open(for_library(pdf_path)) as pdf:
        assert len(pdf.pages) == 1
