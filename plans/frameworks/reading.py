"""Reading a framework file: one row per recommendation, with its theme.

The file is opened and its rows read by ``plans.spreadsheets.reading``, within this import's
limits; every problem is collected rather than stopping at the first, so a dry run can list them
all with the row a person sees in their spreadsheet (the headings are row 1).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import IO, Any

from plans.spreadsheets.reading import (
    MAX_UNPACKED_BYTES,
    Limits,
    Problem,
    heading_key,
    open_table,
)
from plans.spreadsheets.reading import cell_text as _cell_text
from plans.spreadsheets.reading import column_name as _column_name
from plans.spreadsheets.reading import control_character as _control_character

__all__ = ["MAX_BYTES", "MAX_ROWS", "FrameworkFile", "Problem", "read_framework_file"]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2_000
MAX_NUMBER = 9_999
MAX_THEME_TITLE = 200
MAX_TITLE = 300
MAX_TEXT = 20_000


def _limits() -> Limits:
    # Read when a file is opened, so the limits can be changed in one place (and in tests).
    return Limits(
        max_bytes=MAX_BYTES,
        max_rows=MAX_ROWS,
        file_kind="a framework file",
        too_many_rows=(
            f"The file has more than {MAX_ROWS:,} rows; a framework can have at most "
            f"{MAX_ROWS:,} recommendations. Check that this is the right file."
        ),
        rows_kind="the recommendations",
        max_unpacked_bytes=MAX_UNPACKED_BYTES,
    )


@dataclass(frozen=True)
class Column:
    key: str
    heading: str


COLUMNS = (
    Column("theme_number", "Theme number"),
    Column("theme_title", "Theme title"),
    Column("number", "Recommendation number"),
    Column("title", "Recommendation title"),
    Column("text", "Full text"),
)
COLUMN_LIST = ", ".join(column.heading for column in COLUMNS)


@dataclass(frozen=True)
class RecommendationRow:
    row: int
    theme_number: int
    theme_title: str
    number: int
    title: str
    text: str


@dataclass(frozen=True)
class ThemeSummary:
    number: int
    title: str
    recommendations: int


@dataclass
class FrameworkFile:
    name: str
    size: int
    sha256: str = ""
    rows: list[RecommendationRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def themes(self) -> list[ThemeSummary]:
        titles: dict[int, str] = {}
        counts: dict[int, int] = {}
        for row in self.rows:
            titles.setdefault(row.theme_number, row.theme_title)
            counts[row.theme_number] = counts.get(row.theme_number, 0) + 1
        return [ThemeSummary(n, titles[n], counts[n]) for n in sorted(titles)]

    def refuse(self, message: str) -> "FrameworkFile":
        self.problems.append(Problem(None, message))
        self.rows = []
        return self


def read_framework_file(file: IO[bytes], *, name: str, size: int | None) -> FrameworkFile:
    """Read ``file`` (its name as the person gave it, its size in bytes if known)."""
    table = open_table(file, name=name, size=size, limits=_limits())
    result = FrameworkFile(name=name, size=table.size, sha256=table.sha256)
    if table.headings is not None:
        positions = _read_headings(table.headings, result)
        if positions is None:
            table.close()
        else:
            checker = RowChecker(result)
            for row_number, cells in table.rows():
                checker.check(row_number, cells, positions)
            if not checker.count and not result.problems and not table.problems:
                result.refuse("The file has no recommendations below its headings.")
    result.problems[:0] = table.problems
    if result.problems:
        result.rows = []
    return result


HEADING_KEYS = {column.heading.lower(): column for column in COLUMNS}


def _read_headings(cells, result: FrameworkFile) -> dict[str, int] | None:
    """Map each column's key to its position, or refuse the file with every heading problem."""
    positions: dict[str, int] = {}
    problems = []
    for position, value in enumerate(cells):
        key = heading_key(value)
        if not key:
            continue
        column = HEADING_KEYS.get(key)
        if column is None:
            problems.append(
                f"The column '{_cell_text(value).strip()[:60]}' is not one the import knows. "
                f"The columns are: {COLUMN_LIST}."
            )
        elif column.key in positions:
            problems.append(f"The column '{column.heading}' appears twice.")
        else:
            positions[column.key] = position
    if not positions and not problems:
        result.refuse(f"The first row must be the column headings: {COLUMN_LIST}.")
        return None
    for column in COLUMNS:
        if column.key not in positions:
            problems.append(f"The file has no '{column.heading}' column.")
    if problems:
        result.rows = []
        result.problems.extend(Problem(1, message) for message in problems)
        return None
    return positions


class RowChecker:
    """Checks each row on its own and against the rows before it."""

    def __init__(self, result: FrameworkFile):
        self.result = result
        self.count = 0
        self.numbers: dict[int, int] = {}  # recommendation number -> first row
        self.themes: dict[int, tuple[str, int]] = {}  # theme number -> (title, first row)
        self.theme_titles: dict[str, tuple[int, int]] = {}  # title -> (number, first row)

    def check(self, row: int, cells: list[Any], positions: dict[str, int]) -> None:
        self.count += 1
        problems: list[str] = []
        used = set(positions.values())
        extra = [
            position
            for position, cell in enumerate(cells)
            if position not in used and _cell_text(cell).strip()
        ]
        if extra:
            problems.append(
                f"There is a value in column {_column_name(extra[0])}, which has no heading. "
                "If a title contains a comma, put the title in double quotes."
            )

        def cell(key: str) -> Any:
            position = positions[key]
            return cells[position] if position < len(cells) else None

        theme_number = _number(cell("theme_number"), "theme number", problems)
        theme_title = _title(cell("theme_title"), "theme title", MAX_THEME_TITLE, problems)
        number = _number(cell("number"), "recommendation number", problems)
        title = _title(cell("title"), "recommendation title", MAX_TITLE, problems)
        text = _text(cell("text"), problems)

        if number is not None:
            if number in self.numbers:
                problems.append(f"Recommendation {number} is also on row {self.numbers[number]}.")
            else:
                self.numbers[number] = row
        if theme_number is not None and theme_title:
            known = self.themes.get(theme_number)
            if known is None:
                same_title = self.theme_titles.get(theme_title.casefold())
                if same_title is not None:
                    problems.append(
                        f"The theme title '{theme_title}' is theme {same_title[0]} on row "
                        f"{same_title[1]}, but theme {theme_number} here."
                    )
                else:
                    self.themes[theme_number] = (theme_title, row)
                    self.theme_titles[theme_title.casefold()] = (theme_number, row)
            elif known[0] != theme_title:
                problems.append(
                    f"Theme {theme_number} is called '{known[0]}' on row {known[1]} but "
                    f"'{theme_title}' here; a theme number must have one title."
                )
        if problems:
            self.result.rows = []
            self.result.problems.extend(Problem(row, message) for message in problems)
        elif not self.result.problems:
            self.result.rows.append(
                RecommendationRow(row, theme_number, theme_title, number, title, text)
            )


def _number(value: Any, what: str, problems: list[str]) -> int | None:
    text = _cell_text(value).strip()
    if not text:
        problems.append(f"The {what} is missing.")
        return None
    if not re.fullmatch(r"[0-9]+", text):
        problems.append(f"The {what} '{text[:20]}' is not a whole number.")
        return None
    number = int(text)
    if not 1 <= number <= MAX_NUMBER:
        problems.append(f"The {what} {number} is not between 1 and {MAX_NUMBER:,}.")
        return None
    return number


def _title(value: Any, what: str, limit: int, problems: list[str]) -> str:
    raw = unicodedata.normalize("NFC", _cell_text(value))
    control = _control_character(raw, allowed="\t\n\r")
    if control:
        problems.append(f"The {what} contains a control character ({control}); remove it.")
        return ""
    # A line break typed inside a spreadsheet cell is a space in a title.
    title = " ".join(raw.split())
    if not title:
        problems.append(f"The {what} is empty.")
    elif len(title) > limit:
        problems.append(f"The {what} is {len(title):,} characters long; keep it to {limit:,}.")
    return title


def _text(value: Any, problems: list[str]) -> str:
    raw = unicodedata.normalize("NFC", _cell_text(value))
    control = _control_character(raw, allowed="\t\n\r")
    if control:
        problems.append(f"The full text contains a control character ({control}); remove it.")
        return ""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_TEXT:
        problems.append(f"The full text is {len(text):,} characters long; keep it to {MAX_TEXT:,}.")
    return text
