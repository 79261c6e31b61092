"""The audit log: who did what, when, with the value before and after."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .engine import Database as Store
from .tables import audit


def record(store: Store, *, who: str, action: str, target: str, before: Any = None, after: Any = None,
           at: datetime | None = None) -> None:
    """Write one audit row in its own transaction (``at``: now, UTC, unless given)."""
    with store.write_tx(f"audit {action}") as conn:
        conn.execute(audit.insert().values(at=at or datetime.now(timezone.utc), who=who, action=action, target=target,
                                           before=before, after=after))
