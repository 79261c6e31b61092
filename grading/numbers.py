"""Numbers and times as people write them. Times: stored in UTC, shown in the contest's time zone as
``06/09/2026 17:00``. Numbers: marks are exact Fractions in the store and in audit columns, and shown with a
decimal comma — ``15/2`` → ``7,5``, ``13/4`` → ``3,25`` — never as a fraction. A mark that is no decimal of at
most three places (``22/3``) is shown rounded to two (``7,33``); its exact value stays in the store."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

EXACT_PLACES = 3
ROUNDED_PLACES = 2


def show_points(value: Fraction | str | int | None) -> str:
    """``value`` (a Fraction, ``"15/2"``, an int) for people: ``"7,5"``; ``""`` for ``None``."""
    if value is None:
        return ""
    f = Fraction(value)
    places = next((k for k in range(EXACT_PLACES + 1) if (10 ** k) % f.denominator == 0), None)
    if places is None:
        places = ROUNDED_PLACES
    d = (Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    d = d.normalize() if d.is_zero() else d             # "0", never "0,00" or "-0"
    return f"{d.copy_abs() if d.is_zero() else d:f}".replace(".", ",")


def local_time(at: datetime, tz: tzinfo) -> str:
    """A stored time (UTC; a naive one is UTC) as people read it in the contest's time zone: ``06/09/2026 17:00``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
