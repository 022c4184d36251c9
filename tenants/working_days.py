"""Working days: Monday to Friday, less the bank holidays of a tenant's nation.

Escalations are counted in working days because that is how councils count deadlines. The
nations differ: Scotland has St Andrew's Day and 2 January, Northern Ireland St Patrick's Day and
the Battle of the Boyne, and England and Wales share a calendar. The ``holidays`` package keeps the
dates, including substitute days when a holiday falls at a weekend.

A count "between" two dates is the number of working days after the first, up to and including
the second, so a count only ever grows on a working day: an action due on a Friday is one working
day overdue on the Monday, not on the Saturday.
"""

import datetime
from functools import lru_cache

import holidays

from tenants.models import Tenant

SUBDIVISION = {
    Tenant.Nation.ENGLAND: "ENG",
    Tenant.Nation.WALES: "WLS",
    Tenant.Nation.SCOTLAND: "SCT",
    Tenant.Nation.NORTHERN_IRELAND: "NIR",
}

ONE_DAY = datetime.timedelta(days=1)


@lru_cache(maxsize=64)
def _bank_holidays(nation: str, year: int) -> frozenset[datetime.date]:
    try:
        subdivision = SUBDIVISION[nation]
    except KeyError:
        raise ValueError(f"No bank holiday calendar for the nation '{nation}'.") from None
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year))


def bank_holidays(nation: str, year: int) -> frozenset[datetime.date]:
    return _bank_holidays(str(nation), year)


def is_working_day(nation: str, day: datetime.date) -> bool:
    holidays_that_year = bank_holidays(nation, day.year)  # refuses an unknown nation first
    return day.weekday() < 5 and day not in holidays_that_year


def working_days_between(nation: str, start: datetime.date, end: datetime.date) -> int:
    """Working days after ``start`` up to and including ``end``; negative if ``end`` is earlier."""
    bank_holidays(nation, start.year)  # refuses an unknown nation even for an empty range
    if end < start:
        return -working_days_between(nation, end, start)
    count, day = 0, start + ONE_DAY
    while day <= end:
        if is_working_day(nation, day):
            count += 1
        day += ONE_DAY
    return count


def nth_working_day_on_or_before(nation: str, day: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day counting back from ``day``, with ``day`` itself first if it is
    a working day (``n`` >= 1)."""
    if n < 1:
        raise ValueError("n must be at least 1.")
    while True:
        if is_working_day(nation, day):
            n -= 1
            if n == 0:
                return day
        day -= ONE_DAY


def nth_working_day_after(nation: str, day: datetime.date, n: int) -> datetime.date:
    """The ``n``-th working day strictly after ``day`` (``n`` >= 1)."""
    if n < 1:
        raise ValueError("n must be at least 1.")
    while True:
        day += ONE_DAY
        if is_working_day(nation, day):
            n -= 1
            if n == 0:
                return day


def latest_date_at_least_n_working_days_before(
    nation: str, today: datetime.date, n: int
) -> datetime.date:
    """The latest date ``d`` with ``working_days_between(d, today) >= n``.

    A due date on or before this is at least ``n`` working days overdue today; the sweep turns
    each escalation threshold into such a cut-off so the database can compare plain dates.
    """
    return nth_working_day_on_or_before(nation, today, n) - ONE_DAY


def latest_date_at_most_n_working_days_after(
    nation: str, today: datetime.date, n: int
) -> datetime.date:
    """The latest date ``d`` with ``working_days_between(today, d) <= n``."""
    return nth_working_day_after(nation, today, n + 1) - ONE_DAY
