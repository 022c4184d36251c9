"""Reading a framework file: one row per recommendation, with its theme.

Every problem is collected rather than stopping at the first, so a dry run can list them all
with the row a person sees in their spreadsheet (the headings are row 1). Files are refused
before parsing when too large, and reading stops as soon as there are too many rows, so a
huge file is never read whole.
"""

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from plans.evidence import clean_file_name

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2_000
# What a workbook may unpack to: its parts are compressed, and a small file can hide a huge one.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Spreadsheets often carry formatted but empty rows after the data; this many in a row ends it.
BLANK_ROWS_END_DATA = 1_000
MAX_NUMBER = 9_999
MAX_THEME_TITLE = 200
MAX_TITLE = 300
MAX_TEXT = 20_000

XLSX_SIGNATURE = b"PK\x03\x04"


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
class Problem:
    """Something wrong with the file (``row`` None) or with one of its rows."""

    row: int | None
    message: str
    # The form field a problem belongs to, for one about the framework's details, not the file.
    field: str = ""

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}" if self.row else self.message


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
    result = FrameworkFile(name=name, size=size or 0)
    try:
        name = clean_file_name(name)
    except ValidationError as error:
        return result.refuse(" ".join(error.messages))
    extension = PurePosixPath(name).suffix.lower()
    if extension not in (".csv", ".xlsx"):
        if extension in (".xls", ".ods", ".numbers", ".xlsm"):
            return result.refuse(
                f"Files of type '{extension}' cannot be read: save the spreadsheet as an Excel "
                "workbook (.xlsx) or as CSV UTF-8 (.csv) and upload that."
            )
        return result.refuse(
            "Upload a CSV file (.csv) or an Excel workbook (.xlsx); "
            f"'{name}' is {'of type ' + repr(extension) if extension else 'of no known type'}."
        )
    if size is not None and size > MAX_BYTES:
        return result.refuse(_too_large(size))
    content = file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        return result.refuse(_too_large(None))
    if not content:
        return result.refuse("The file is empty.")
    result.size = len(content)
    result.sha256 = hashlib.sha256(content).hexdigest()
    if extension == ".xlsx":
        if not content.startswith(XLSX_SIGNATURE):
            return result.refuse(
                "The file is not a genuine Excel workbook (.xlsx): it may be damaged, or another "
                "kind of file renamed. Open it in your spreadsheet and save it as .xlsx again."
            )
        rows = _xlsx_rows(content, result)
    else:
        if content.startswith(XLSX_SIGNATURE):
            return result.refuse(
                "The file is a workbook, not CSV text: upload it with the .xlsx ending, or save "
                "it as CSV UTF-8 (.csv)."
            )
        rows = _csv_rows(content, result)
    if rows is not None:
        _read_rows(rows, result)
    return result


def _too_large(size: int | None) -> str:
    actual = f"The file is {filesizeformat(size)}" if size else "The file is too large"
    return f"{actual}; a framework file can be at most {filesizeformat(MAX_BYTES)}."


def _csv_rows(content: bytes, result: FrameworkFile) -> Iterator[list[Any]] | None:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.refuse(
            "The file is not UTF-8 text. In your spreadsheet, save it as 'CSV UTF-8 (comma "
            "delimited)' and upload that."
        )
        return None
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to some European locales separate with semicolons; take what the
    # headings use.
    delimiter = ","
    if "," not in first_line:
        delimiter = next((d for d in (";", "\t") if d in first_line), ",")
    return _csv_records(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), result)


def _csv_records(reader, result: FrameworkFile) -> Iterator[list[Any]]:
    try:
        yield from reader
    except csv.Error as error:
        result.problems.append(
            Problem(
                reader.line_num or None,
                f"The file cannot be read as CSV here ({error}). Check for a stray quote mark.",
            )
        )


def _xlsx_rows(content: bytes, result: FrameworkFile) -> Iterator[tuple[Any, ...]] | None:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        result.refuse(_damaged_workbook())
        return None
    if unpacked > MAX_UNPACKED_BYTES:
        result.refuse(
            f"The workbook unpacks to {filesizeformat(unpacked)}, more than a framework can "
            f"need ({filesizeformat(MAX_UNPACKED_BYTES)}). Remove other sheets, images or "
            "formatting, or save the recommendations as CSV."
        )
        return None
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        # openpyxl raises many kinds of error (zip, XML, key, type, value) on a damaged file.
        result.refuse(_damaged_workbook())
        return None
    return _xlsx_records(workbook, result)


def _xlsx_records(workbook, result: FrameworkFile) -> Iterator[tuple[Any, ...]]:
    try:
        if not workbook.worksheets:
            result.refuse("The workbook has no sheets.")
            return
        # A read-only sheet is read a row at a time as it is asked for.
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    except Exception:
        # A sheet's XML can be damaged part-way through; openpyxl raises various errors.
        result.refuse(_damaged_workbook())
    finally:
        workbook.close()


def _damaged_workbook() -> str:
    return (
        "The file cannot be read as an Excel workbook (.xlsx): it may be damaged, or another "
        "kind of file renamed. Open it in your spreadsheet and save it as .xlsx again, or as "
        "CSV UTF-8."
    )


def _heading_key(value: Any) -> str:
    return re.sub(r"[\s_\-]+", " ", _cell_text(value)).strip().lower()


HEADING_KEYS = {column.heading.lower(): column for column in COLUMNS}


def _read_headings(cells, result: FrameworkFile) -> dict[str, int] | None:
    """Map each column's key to its position, or refuse the file with every heading problem."""
    positions: dict[str, int] = {}
    problems = []
    for position, value in enumerate(cells):
        key = _heading_key(value)
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


def _read_rows(records, result: FrameworkFile) -> None:
    records = iter(records)
    try:
        _read_records(records, result)
    finally:
        # Stopping early must still close the workbook behind the rows.
        close = getattr(records, "close", None)
        if close is not None:
            close()
    if result.problems:
        result.rows = []


def _read_records(records: Iterator, result: FrameworkFile) -> None:
    headings = next(records, None)
    if headings is None:
        if not result.problems:
            result.refuse("The file is empty.")
        return
    positions = _read_headings(headings, result)
    if positions is None:
        return
    checker = RowChecker(result)
    blank_run = 0
    for row_number, cells in enumerate(records, start=2):
        cells = list(cells)
        if not any(_cell_text(cell).strip() for cell in cells):
            blank_run += 1
            if blank_run >= BLANK_ROWS_END_DATA:
                break
            continue
        blank_run = 0
        if checker.count >= MAX_ROWS:
            result.refuse(
                f"The file has more than {MAX_ROWS:,} rows; a framework can have at most "
                f"{MAX_ROWS:,} recommendations. Check that this is the right file."
            )
            return
        checker.check(row_number, cells, positions)
    if not checker.count and not result.problems:
        result.refuse("The file has no recommendations below its headings.")


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


def _column_name(position: int) -> str:
    name = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        name = chr(65 + remainder) + name
    return name


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _control_character(text: str, allowed: str = "") -> str | None:
    for character in text:
        if character not in allowed and unicodedata.category(character) in ("Cc", "Cs"):
            return f"U+{ord(character):04X}"
    return None


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
