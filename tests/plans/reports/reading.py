"""Report files read back the way their readers' programs open them: XLSX with openpyxl, DOCX
with python-docx, PDF with pypdf and CSV with the csv module. Used wherever a test holds a
file made for download or publishing and must show it opens and carries the right actions."""

import csv
import datetime
import io
import itertools

import docx
import openpyxl
from pypdf import PdfReader

from plans.reports.report import APPENDIX_COLUMNS, COLUMNS, date_label

TABULAR = ("xlsx", "csv", "docx")


def _text(value) -> str:
    """A cell's value as the documents print it, whichever format it came from."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return date_label(value)
    if value is None:
        return ""
    text = str(value)
    try:  # CSV writes dates as ISO text
        return date_label(datetime.date.fromisoformat(text))
    except ValueError:
        return text


def _xlsx_rows(content: bytes) -> list[dict[str, str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    rows = []
    for sheet in workbook.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        if not values or list(values[0][: len(COLUMNS)]) != COLUMNS:
            continue  # the summary sheet
        rows += [dict(zip(COLUMNS, map(_text, row), strict=False)) for row in values[1:]]
    return rows


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    header = next(reader)
    assert header == COLUMNS, header
    # A published copy ends, after a blank row, with its history chain's head.
    rows = list(itertools.takewhile(bool, reader))
    return [dict(zip(COLUMNS, map(_text, row), strict=True)) for row in rows]


def _docx_rows(content: bytes) -> list[dict[str, str]]:
    document = docx.Document(io.BytesIO(content))
    rows = []
    for table in document.tables:
        if [cell.text for cell in table.rows[0].cells] != APPENDIX_COLUMNS:
            continue
        for row in table.rows[1:]:
            if len({id(cell._tc) for cell in row.cells}) == 1:
                continue  # a recommendation's heading, merged across the table
            rows.append(dict(zip(APPENDIX_COLUMNS, (cell.text for cell in row.cells), strict=True)))
    return rows


def report_rows(fmt: str, content: bytes) -> dict[str, dict[str, str]]:
    """The actions in a XLSX, CSV or DOCX report by reference: each column's text, dates as
    the documents print them ("1 Oct 2009")."""
    read = {"xlsx": _xlsx_rows, "csv": _csv_rows, "docx": _docx_rows}[fmt]
    rows = read(content)
    by_reference = {row["Reference"]: row for row in rows}
    assert len(by_reference) == len(rows), "an action is in the file twice"
    return by_reference


def report_words(fmt: str, content: bytes) -> str:
    """Every word of a report file, one space between each; for a PDF, its text as pypdf
    extracts it."""
    if fmt == "pdf":
        reader = PdfReader(io.BytesIO(content))
        text = " ".join(page.extract_text() for page in reader.pages)
    else:
        text = " ".join(" ".join(row.values()) for row in report_rows(fmt, content).values())
    return " ".join(text.split())


def report_footers(fmt: str, content: bytes) -> str:
    """What a report file prints at the foot of its pages (for CSV, its rows after the
    actions; for XLSX, the print footers and the summary sheet), one space between words."""
    if fmt == "pdf":
        return report_words("pdf", content)
    if fmt == "csv":
        reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        rows = list(reader)
        return " ".join(" ".join(row) for row in rows[rows.index([]) + 1 :] if [] in rows)
    if fmt == "docx":
        document = docx.Document(io.BytesIO(content))
        texts = [p.text for section in document.sections for p in section.footer.paragraphs]
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        texts = [sheet.oddFooter.left.text or "" for sheet in workbook.worksheets]
        summary = workbook.worksheets[0]
        texts += [str(row[0]) for row in summary.iter_rows(values_only=True) if row[0]]
    return " ".join(" ".join(texts).split())
