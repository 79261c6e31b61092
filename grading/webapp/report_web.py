"""A judge's "Báo bài có vấn đề" on the blind essay page (the form in ``essay.html``, the route in ``essays_web``):
instead of forcing a score he says what is wrong — the wrong page, unreadable, not an essay, or something else in
his words. The report (``grading.db.reports``) flags the essay's pages for the organisers, releases his assignment
and holds the essay until they decide; he is taken straight to his next essay (``?reported=1`` shows him the report
was sent, without repeating anything from the address).

The judging functions used (``grading.essays``): ``assignment`` and ``take_next``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import judges as J
from .. import essays as S
from ..db.reports import MAX_TEXT, ReportKind, ReportRefused, report_problem
from .deps import Forbidden, round_judging, state

EssayPage = Callable[..., HTMLResponse]      # essays_web.essay_page(request, s, a, status, errors=…)


def report(request: Any, aid: int, s: J.Session, form: Any, page: EssayPage) -> Response:
    """The judge's report on his assignment ``aid``; 303 to his next essay (or to his list when none is left).
    403 for an assignment that is not his; the essay page again, with the reason, when the report is refused."""
    web = state(request)
    a = S.assignment(web.store, aid)
    if a is None or a["judge_id"] != s.judge.id:
        raise Forbidden("Bài này không được giao cho bạn.")
    try:
        kind: ReportKind | None = ReportKind(str(form.get("kind", "")))
    except ValueError:
        kind = None
    text = str(form.get("text", ""))[:4 * MAX_TEXT]
    if kind is None:
        return page(request, s, a, 400, errors={"report": "Hãy chọn vấn đề của bài."})
    if kind is ReportKind.OTHER and not text.strip():
        return page(request, s, a, 400, errors={"report": "Hãy ghi rõ vấn đề của bài (mục «Khác»)."})
    try:
        report_problem(web.store, aid, s.judge.id, kind, text)
    except ReportRefused as exc:
        return page(request, s, S.assignment(web.store, aid) or a, 409, errors={"report": exc.message})
    taken = S.take_next(web.store, s.judge.id, web.rubric, rounds=round_judging(request))
    if taken is None:
        return RedirectResponse("/essays?none=1&reported=1", status_code=303)
    return RedirectResponse(f"/essays/{taken.assignment_id}?reported=1", status_code=303)
