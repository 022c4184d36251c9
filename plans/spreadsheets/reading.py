"""Opening a CSV file or an Excel workbook within limits, and reading its rows.

A file is refused before parsing when it is of the wrong type or too large, and a workbook
before it is unpacked when its parts would unpack to too much (a small file can hide a huge
one). Rows are read one at a time, so reading stops as soon as there are too many and a huge
file is never held whole. Every problem is a ``Problem`` with the row a person sees in their
spreadsheet (the headings are row 1), so a dry run can list them all.
"""

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from plans.evidence import clean_file_name

# What a workbook may unpack to: its parts are compressed, and a small file can hide a huge one.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Spreadsheets often carry formatted but empty rows after the data; this many in a row ends it.
BLANK_ROWS_END_DATA = 1_000

XLSX_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file (``row`` None) or with one of its rows."""

    row: int | None
    message: str
    # The form field a problem belongs to, for one about the choices made with the file.
    field: str = ""

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}" if self.row else self.message


@dataclass(frozen=True)
class Limits:
    """What one kind of import accepts, and how its refusals name it."""

    max_bytes: int
    max_rows: int
    # The file as a refusal names it: "a framework file".
    file_kind: str
    # The refusal when the file has more rows than ``max_rows``.
    too_many_rows: str
    # What the rows are, for advice: "the recommendations".
    rows_kind: str
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES


@dataclass
class Table:
    """An opened file: its name, size and hash, the problems found so far, and its rows."""

    name: str
    size: int
    limits: Limits
    sha256: str = ""
    problems: list[Problem] = field(default_factory=list)
    records: Iterator | None = None
    headings: list[Any] | None = None
    # The workbook's sheet read, for a workbook.
    sheet: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def refuse(self, message: str) -> "Table":
        self.problems.append(Problem(None, message))
        self.close()
        return self

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """The rows below the headings that hold anything, with their row numbers; blank rows
        are skipped, a long run of them ends the data, and one row too many refuses the file
        and ends reading."""
        if self.records is None:
            return
        count = 0
        blank_run = 0
        try:
            for row_number, cells in enumerate(self.records, start=2):
                cells = list(cells)
                if not any(cell_text(cell).strip() for cell in cells):
                    blank_run += 1
                    if blank_run >= BLANK_ROWS_END_DATA:
                        break
                    continue
                blank_run = 0
                if count >= self.limits.max_rows:
                    self.refuse(self.limits.too_many_rows)
                    return
                count += 1
                yield row_number, cells
        finally:
            self.close()

    def close(self) -> None:
        # Stopping early must still close the workbook behind the rows.
        records, self.records = self.records, None
        close = getattr(records, "close", None)
        if close is not None:
            close()


def open_table(
    file: IO[bytes],
    *,
    name: str,
    size: int | None,
    limits: Limits,
    sheet_fits: Callable[[list[Any]], bool] | None = None,
) -> Table:
    """Open ``file`` (its name as the person gave it, its size in bytes if known) and read its
    headings. On any problem with the file as a whole, ``problems`` says what and there are no
    rows to read.

    A workbook's first sheet is read, or, given ``sheet_fits`` (a test of a sheet's first row),
    the one sheet whose headings fit: a workbook may open with a summary before its data.
    """
    table = Table(name=name, size=size or 0, limits=limits)
    try:
        name = clean_file_name(name)
    except ValidationError as error:
        return table.refuse(" ".join(error.messages))
    extension = PurePosixPath(name).suffix.lower()
    if extension not in (".csv", ".xlsx"):
        if extension in (".xls", ".ods", ".numbers", ".xlsm"):
            return table.refuse(
                f"Files of type '{extension}' cannot be read: save the spreadsheet as an Excel "
                "workbook (.xlsx) or as CSV UTF-8 (.csv) and upload that."
            )
        return table.refuse(
            "Upload a CSV file (.csv) or an Excel workbook (.xlsx); "
            f"'{name}' is {'of type ' + repr(extension) if extension else 'of no known type'}."
        )
    if size is not None and size > limits.max_bytes:
        return table.refuse(_too_large(size, limits))
    content = file.read(limits.max_bytes + 1)
    if len(content) > limits.max_bytes:
        return table.refuse(_too_large(None, limits))
    if not content:
        return table.refuse("The file is empty.")
    table.size = len(content)
    table.sha256 = hashlib.sha256(content).hexdigest()
    if extension == ".xlsx":
        if not content.startswith(XLSX_SIGNATURE):
            return table.refuse(
                "The file is not a genuine Excel workbook (.xlsx): it may be damaged, or another "
                "kind of file renamed. Open it in your spreadsheet and save it as .xlsx again."
            )
        table.records = _xlsx_rows(content, table, sheet_fits)
    else:
        if content.startswith(XLSX_SIGNATURE):
            return table.refuse(
                "The file is a workbook, not CSV text: upload it with the .xlsx ending, or save "
                "it as CSV UTF-8 (.csv)."
            )
        table.records = _csv_rows(content, table)
    if table.records is not None:
        table.headings = next(table.records, None)
        if table.headings is None:
            if not table.problems:
                table.refuse("The file is empty.")
            table.close()
        else:
            table.headings = list(table.headings)
    return table


def _too_large(size: int | None, limits: Limits) -> str:
    actual = f"The file is {filesizeformat(size)}" if size else "The file is too large"
    return f"{actual}; {limits.file_kind} can be at most {filesizeformat(limits.max_bytes)}."


def _csv_rows(content: bytes, table: Table) -> Iterator[list[Any]] | None:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        table.refuse(
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
    return _csv_records(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), table)


def _csv_records(reader, table: Table) -> Iterator[list[Any]]:
    try:
        yield from reader
    except csv.Error as error:
        table.problems.append(
            Problem(
                reader.line_num or None,
                f"The file cannot be read as CSV here ({error}). Check for a stray quote mark.",
            )
        )


def _xlsx_rows(
    content: bytes, table: Table, sheet_fits: Callable[[list[Any]], bool] | None
) -> Iterator[tuple[Any, ...]] | None:
    from openpyxl import load_workbook

    limits = table.limits
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        table.refuse(_damaged_workbook())
        return None
    if unpacked > limits.max_unpacked_bytes:
        table.refuse(
            f"The workbook unpacks to {filesizeformat(unpacked)}, more than {limits.file_kind} "
            f"can need ({filesizeformat(limits.max_unpacked_bytes)}). Remove other sheets, "
            f"images or formatting, or save {limits.rows_kind} as CSV."
        )
        return None
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        # openpyxl raises many kinds of error (zip, XML, key, type, value) on a damaged file.
        table.refuse(_damaged_workbook())
        return None
    return _xlsx_records(workbook, table, sheet_fits)


def _xlsx_records(
    workbook, table: Table, sheet_fits: Callable[[list[Any]], bool] | None
) -> Iterator[tuple[Any, ...]]:
    try:
        sheets = workbook.worksheets
        if not sheets:
            table.problems.append(Problem(None, "The workbook has no sheets."))
            return
        sheet = sheets[0]
        if sheet_fits is not None and len(sheets) > 1:
            fitting = [
                each
                for each in sheets
                if sheet_fits(list(next(each.iter_rows(max_row=1, values_only=True), ())))
            ]
            if len(fitting) > 1:
                names = ", ".join(f"'{each.title}'" for each in fitting)
                table.problems.append(
                    Problem(
                        None,
                        f"The workbook has {len(fitting)} sheets that could be imported "
                        f"({names}): delete the others, or save the one to import as CSV.",
                    )
                )
                return
            sheet = fitting[0] if fitting else sheet
        table.sheet = sheet.title
        # A read-only sheet is read a row at a time as it is asked for.
        yield from sheet.iter_rows(values_only=True)
    except Exception:
        # A sheet's XML can be damaged part-way through; openpyxl raises various errors.
        table.problems.append(Problem(None, _damaged_workbook()))
    finally:
        workbook.close()


def _damaged_workbook() -> str:
    return (
        "The file cannot be read as an Excel workbook (.xlsx): it may be damaged, or another "
        "kind of file renamed. Open it in your spreadsheet and save it as .xlsx again, or as "
        "CSV UTF-8."
    )


# -- cells ------------------------------------------------------------------------------------


def heading_key(value: Any) -> str:
    """A heading as it is compared: any case, spaces, hyphens and underscores alike."""
    return re.sub(r"[\s_\-]+", " ", cell_text(value)).strip().lower()


def column_name(position: int) -> str:
    """The spreadsheet's name of the column at ``position`` (0: A, 26: AA)."""
    name = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        name = chr(65 + remainder) + name
    return name


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character in ``text`` not in ``allowed``, as U+XXXX, or None."""
    for character in text:
        if character not in allowed and unicodedata.category(character) in ("Cc", "Cs"):
            return f"U+{ord(character):04X}"
    return None
