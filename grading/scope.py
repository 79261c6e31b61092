"""Whose data an admin account sees and acts on: the whole contest (the city admin) or one unit and the units
under it in ``units.csv``'s parent tree (a unit admin), on one city server.

The rule, from the account's ``unit`` (``omr judges add NAME --unit UNIT --role admin``):

* ``city`` (any case; also ``thành phố`` / ``thanh pho``): the city admin — everything;
* no units file in the contest folder: the city admin as well (one installation, one scope);
* a code or a name of ``units.csv``: a unit admin of that unit — the entries, messages, files and flags whose
  **collecting unit** is that unit or one below it;
* anything else while a units file exists: no scope at all (``ScopeError``) — an account whose unit nobody can
  place sees nothing rather than everything.
"""
from __future__ import annotations

from dataclasses import dataclass

from omr.errors import InputError
from omr.table import fold_header

from .units import CITY_MARKERS, Unit, Units



class ScopeError(Exception):
    """The account's unit cannot be placed (Vietnamese message for the page)."""


@dataclass(frozen=True, slots=True)
class Scope:
    unit: Unit | None                 # None: the city admin
    names: frozenset[str] = frozenset()   # every code and name of the unit and those below it, as stored

    @property
    def city(self) -> bool:
        return self.unit is None

    def units(self) -> frozenset[str] | None:
        """The collecting units this scope covers, for the store's queries (``None``: every unit)."""
        return None if self.unit is None else self.names

    def allows(self, collecting_unit: str | None) -> bool:
        """Whether data collected by ``collecting_unit`` is in this scope (an unknown unit: the city's only)."""
        return self.unit is None or (collecting_unit or "").strip() in self.names


CITY = Scope(None)


def admin_scope(account_unit: str, units: Units | None) -> Scope:
    """The scope of an admin account whose unit is ``account_unit`` (see the module's docstring)."""
    if fold_header(account_unit) in CITY_MARKERS or units is None:
        return CITY
    try:
        unit = units.find(account_unit)
    except InputError:
        raise ScopeError(f"Đơn vị «{account_unit}» của tài khoản này không có trong danh sách đơn vị (units.csv) "
                         "và không phải «city»: tài khoản chưa được xem dữ liệu nào. Hãy báo ban tổ chức sửa "
                         "đơn vị của tài khoản.") from None
    below = units.below(unit.code)
    return Scope(unit, frozenset({u.code for u in below} | {u.name for u in below}))
