"""Typed entries: documents (DOCX, ODT, PDF with a text layer, plain text) → the entrant's identity, the
multiple-choice answers with their evidence, and the essay part, redacted.

The parts, each owning one thing:

* ``records``: the records (``Document``, ``EntryReading``, ``DocFlag`` …);
* ``container``: the format from the bytes, and the checks before any parser runs (limits, ZIP bombs, encryption);
* ``wordml`` / ``opendoc`` / ``pdftext`` / ``read``: the readers, and ``read_document`` that picks one;
* ``fold`` and ``lines``: text normalised for matching, the body as lines with where they are;
* ``questions``: ``questions.json`` (each question's text and options);
* ``answertext`` and ``answers``: what an answer says, and every question's answer with its evidence;
* ``identity``: the header block → ``name``, ``date_of_birth``, ``address``, ``unit``, ``class``, ``phone``,
  ``email``;
* ``essay``: the essay part and the test code;
* ``entry``: one document end to end (``read_entry``) and what it needs from the contest folder;
* ``render``: DOCX/ODT → PDF/PNG with LibreOffice, for judges.
"""
from __future__ import annotations

from .entry import EntryContest, load_entry_contest, read_entry
from .questions import Question, Questions, load_questions
from .read import read_document
from .records import DocumentOptions, DocumentRejected, EntryReading

__all__ = ["DocumentOptions", "DocumentRejected", "EntryContest", "EntryReading", "Question", "Questions",
           "load_entry_contest", "load_questions", "read_document", "read_entry"]
