"""Reading the dates in an imported plan, and refusing those that could be read two ways.

Accepted: real spreadsheet dates (cells formatted as dates), ISO dates (2010-03-31), UK
day/month/year with slashes, hyphens or dots (31/03/2010, 31-03-2010) and day, month name and
year (31 March 2010, 31 Mar 2010). Refused, with the reason, never guessed at: a two-digit year,
month-first dates (03/31/2010, March 31, 2010), a plain number, and day/month/year dates in a
file whose other dates make their order doubtful: where some dates are month-first, or where
day/month/year text is mixed with spreadsheet or ISO dates (a spreadsheet set to another
country's dates turns some typed dates into dates the wrong way round and leaves the rest as
text).
"""

import datetime
import re
from dataclasses import dataclass
from typing import Any

# How a date was written.
CELL = "cell"
ISO = "iso"
DAY_MONTH_YEAR = "day_month_year"
NAMED = "named"
ONE_WRITTEN = {
    CELL: "a spreadsheet date",
    ISO: "written year first",
    DAY_MONTH_YEAR: "written day/month/year",
}
MANY_WRITTEN = {**ONE_WRITTEN, CELL: "spreadsheet dates"}

FORMS_ADVICE = "write dates like 31/03/2010, 31 March 2010 or 2010-03-31"
EARLIEST_YEAR, LATEST_YEAR = 1950, 2100

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}

_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NUMERIC = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})")
_NAMED = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})")
_MONTH_FIRST = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


@dataclass(frozen=True)
class DateCell:
    """One date as read from a cell: the date, or the problem with it, and how it was written.
    A problem starts with the text as written, to follow the date's name ("The due date ...")."""

    text: str
    date: datetime.date | None = None
    form: str = ""
    problem: str = ""
    # For a day/month/year date: its first two numbers, to judge the file's order.
    first: int = 0
    second: int = 0

    @property
    def empty(self) -> bool:
        return not self.text and self.date is None and not self.problem

    @property
    def month_first(self) -> bool:
        """Written with numbers in an order only month/day/year explains."""
        return self.form == DAY_MONTH_YEAR and self.second > 12 and self.first <= 12

    @property
    def either_way(self) -> bool:
        """Day/month/year whose day and month could be swapped and still be a date."""
        return (
            self.form == DAY_MONTH_YEAR
            and self.first <= 12
            and self.second <= 12
            and self.first != self.second
        )


def read_date(value: Any) -> DateCell:
    """The date in a cell: a spreadsheet's date or datetime, or text in an accepted form."""
    if value is None:
        return DateCell("")
    if isinstance(value, datetime.datetime):
        return _checked(DateCell(value.date().isoformat(), value.date(), CELL))
    if isinstance(value, datetime.date):
        return _checked(DateCell(value.isoformat(), value, CELL))
    if isinstance(value, bool):
        return DateCell(str(value), problem=f"'{value}' is not a date; {FORMS_ADVICE}.")
    if isinstance(value, int | float):
        shown = str(int(value)) if float(value).is_integer() else str(value)
        return DateCell(
            shown,
            problem=(
                f"'{shown}' is a number, not a date: format the column as dates in your "
                f"spreadsheet, or {FORMS_ADVICE}."
            ),
        )
    text = " ".join(str(value).split())
    if not text:
        return DateCell("")
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        return _made(text, year, month, day, ISO)
    if match := _NUMERIC.fullmatch(text):
        first, _separator, second, year = match.groups()
        if len(year) == 2:
            return DateCell(
                text, problem=f"'{text}' has a two-digit year; write the year in full, as 2010."
            )
        first, second = int(first), int(second)
        if second > 12 and first <= 12:
            return DateCell(
                text,
                form=DAY_MONTH_YEAR,
                first=first,
                second=second,
                problem=(
                    f"'{text}' looks like month/day/year, a US date; write the day first "
                    f"({second:02d}/{first:02d}/{year}) or as {year}-{first:02d}-{second:02d}."
                ),
            )
        cell = _made(text, int(year), second, first, DAY_MONTH_YEAR)
        return DateCell(cell.text, cell.date, cell.form, cell.problem, first, second)
    if match := _NAMED.fullmatch(text):
        day, month_name, year = match.groups()
        month = MONTHS.get(month_name.lower())
        if month is not None:
            return _made(text, int(year), month, int(day), NAMED)
    if (match := _MONTH_FIRST.fullmatch(text)) and match[1].lower() in MONTHS:
        month, day, year = MONTHS[match[1].lower()], int(match[2]), match[3]
        return DateCell(
            text,
            problem=(
                f"'{text}' puts the month first, as US dates do; write it day first, as "
                f"{day} {_month_name(month)} {year}."
            ),
        )
    return DateCell(text, problem=f"'{text[:40]}' is not a date; {FORMS_ADVICE}.")


def _month_name(month: int) -> str:
    return datetime.date(2000, month, 1).strftime("%B")


def _made(text: str, year: int, month: int, day: int, form: str) -> DateCell:
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return DateCell(text, form=form, problem=f"'{text}' is not a real date.")
    return _checked(DateCell(text, date, form))


def _checked(cell: DateCell) -> DateCell:
    if not EARLIEST_YEAR <= cell.date.year <= LATEST_YEAR:
        return DateCell(
            cell.text,
            form=cell.form,
            problem=(
                f"'{cell.text}' is in the year {cell.date.year}; dates must be between "
                f"{EARLIEST_YEAR} and {LATEST_YEAR}."
            ),
        )
    return cell


@dataclass(frozen=True)
class SeenDate:
    row: int
    label: str
    cell: DateCell


def doubtful_dates(seen: list[SeenDate]) -> dict[int, list[str]]:
    """Problems with day/month/year dates that the rest of the file makes doubtful, by row.

    Where any date is month-first, every day/month/year date that could be read either way is
    doubtful. Where day/month/year text is mixed with spreadsheet or ISO dates, the less common
    of the two is listed, every cell of it, since either could be the one read wrongly.
    """
    problems: dict[int, list[str]] = {}
    month_first = next((s for s in seen if s.cell.month_first), None)
    if month_first is not None:
        for s in seen:
            if s.cell.either_way and not s.cell.problem:
                problems.setdefault(s.row, []).append(
                    f"The {s.label} '{s.cell.text}' could be day/month or month/day: other "
                    f"dates in this file are month/day/year (row {month_first.row}, "
                    f"'{month_first.cell.text}'). Write every date day first, or year first "
                    "(2010-03-31)."
                )
    day_month = [s for s in seen if s.cell.form == DAY_MONTH_YEAR and not s.cell.problem]
    numeric = [s for s in seen if s.cell.form in (CELL, ISO) and not s.cell.problem]
    if day_month and numeric:
        if len(numeric) < len(day_month):
            blamed, other = numeric, day_month
        else:
            blamed, other = day_month, numeric
        first = other[0]
        for s in blamed:
            problems.setdefault(s.row, []).append(
                f"Mixed date formats: the {s.label} '{s.cell.text}' is "
                f"{ONE_WRITTEN[s.cell.form]}, but {len(other)} other "
                f"{'date' if len(other) == 1 else 'dates'} in this file "
                f"{'is' if len(other) == 1 else 'are'} {MANY_WRITTEN[first.cell.form]}, the first "
                f"on row {first.row} ('{first.cell.text}'). A spreadsheet set to another "
                "country's dates may have read some of them the wrong way round: write every "
                "date the same way."
            )
    return problems
