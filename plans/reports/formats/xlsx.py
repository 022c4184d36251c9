"""Plans' reports as an Excel workbook: a summary sheet first, then one sheet per plan with
``COLUMNS``, ready to filter, sort and print."""

import datetime
import io
import re
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from plans.reports.formats.cells import neutralised, xml_safe
from plans.reports.report import (
    ALL_THEMES,
    COLUMNS,
    COUNT_COLUMNS,
    RAG_COLOURS,
    Cell,
    ChangeLine,
    PlanReport,
    count_table,
    row_cells,
)

DATE_FORMAT = "d mmm yyyy"
BOLD = Font(bold=True)
SMALL = Font(size=8)
HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
TOP = Alignment(vertical="top")
WRAPPED = Alignment(vertical="top", wrap_text=True)

# Widths in characters; the long free-text columns wrap within theirs.
WIDTHS = {
    "Theme": 24,
    "Recommendation": 32,
    "Reference": 10,
    "Action": 40,
    "Lead officer": 18,
    "Lead partner": 20,
    "Supporting partners": 22,
    "State": 13,
    "Schedule RAG": 13,
    "Officer's RAG": 13,
    "Latest progress": 60,
}
DATE_WIDTH = 13
WRAPPED_COLUMNS = {
    "Theme",
    "Recommendation",
    "Action",
    "Lead partner",
    "Supporting partners",
    "Latest progress",
}
RAG_COLUMNS = {"Schedule RAG": "schedule_rag", "Officer's RAG": "officer_rag"}

# Excel refuses these in a sheet's name, and names longer than 31 characters.
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_LENGTH = 31


def text_cell(value: str) -> str:
    return neutralised(xml_safe(value))


def _put(sheet: Worksheet, row: int, column: int, value: Cell | int, **style) -> None:
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, datetime.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, int):
        cell.value = value
    else:
        cell.value = text_cell(value or "")
    for name, setting in style.items():
        setattr(cell, name, setting)


def sheet_name(title: str, taken: set[str]) -> str:
    """A sheet name Excel accepts, unique in the workbook, as close to ``title`` as it allows."""
    base = _NOT_IN_SHEET_NAMES.sub(" ", xml_safe(title)).strip().strip("'").strip() or "Plan"
    # "History" is reserved by Excel for tracked changes.
    if base.casefold() == "history":
        base = "Plan history"
    name = base[:SHEET_NAME_LENGTH].rstrip()
    number = 2
    while name.casefold() in taken:
        suffix = f" ({number})"
        name = base[: SHEET_NAME_LENGTH - len(suffix)].rstrip() + suffix
        number += 1
    taken.add(name.casefold())
    return name


def _write_plan_sheet(sheet: Worksheet, report: PlanReport) -> None:
    for column, heading in enumerate(COLUMNS, start=1):
        _put(sheet, 1, column, heading, font=BOLD, fill=HEADER_FILL, alignment=WRAPPED)
        width = WIDTHS.get(heading, DATE_WIDTH)
        sheet.column_dimensions[get_column_letter(column)].width = width
    rag_positions = {COLUMNS.index(heading): field for heading, field in RAG_COLUMNS.items()}
    row_number = 1
    for theme in report.themes:
        for recommendation in theme.recommendations:
            for row in recommendation.rows:
                row_number += 1
                for index, value in enumerate(row_cells(theme, recommendation, row)):
                    heading = COLUMNS[index]
                    _put(
                        sheet,
                        row_number,
                        index + 1,
                        value,
                        alignment=WRAPPED if heading in WRAPPED_COLUMNS else TOP,
                    )
                    rag = getattr(row, rag_positions[index]) if index in rag_positions else None
                    if rag in RAG_COLOURS:
                        fill, text = RAG_COLOURS[rag]
                        cell = sheet.cell(row=row_number, column=index + 1)
                        cell.fill = PatternFill("solid", fgColor=fill)
                        cell.font = Font(color=text, bold=True)
    last = get_column_letter(len(COLUMNS))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last}{row_number}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    # In a printed header "&" starts a code (page number, date); "&&" prints an ampersand.
    sheet.oddHeader.left.text = xml_safe(report.tenant_name).replace("&", "&&")
    sheet.oddHeader.right.text = report.as_of_label


def _write_change_lines(
    sheet: Worksheet, row: int, heading: str, lines: list[ChangeLine], on: str
) -> int:
    _put(sheet, row, 1, heading, font=BOLD)
    row += 1
    if not lines:
        _put(sheet, row, 1, "None")
        return row + 1
    for column, label in enumerate(["Action", on], start=1):
        _put(sheet, row, column, label, font=BOLD, fill=HEADER_FILL)
    for line in lines:
        row += 1
        _put(sheet, row, 1, f"{line.reference} {line.title}", alignment=WRAPPED)
        _put(sheet, row, 2, line.on, alignment=TOP)
    return row + 1


def _write_summary_of(sheet: Worksheet, row: int, report: PlanReport) -> int:
    _put(sheet, row, 1, report.plan_title, font=Font(bold=True, size=13))
    _put(sheet, row + 1, 1, report.as_of_label, font=BOLD)
    _put(sheet, row + 2, 1, f"Framework: {report.framework_title}")
    row += 4
    _put(sheet, row, 1, "Theme", font=BOLD, fill=HEADER_FILL)
    for column, heading in enumerate(COUNT_COLUMNS, start=2):
        _put(sheet, row, column, heading, font=BOLD, fill=HEADER_FILL, alignment=WRAPPED)
    for label, figures in count_table(report):
        row += 1
        font = BOLD if label == ALL_THEMES else Font()
        _put(sheet, row, 1, label, font=font, alignment=WRAPPED)
        for column, figure in enumerate(figures, start=2):
            _put(sheet, row, column, figure, font=font)
    row += 2
    changes = report.changes
    if changes is None:
        return row
    _put(sheet, row, 1, changes.label, font=Font(bold=True, size=12))
    row += 1
    row = _write_change_lines(sheet, row, "Signed off", changes.signed_off, "Signed off on")
    row = _write_change_lines(sheet, row, "Became overdue", changes.newly_overdue, "Due on")
    _put(sheet, row, 1, "Due dates moved", font=BOLD)
    row += 1
    if not changes.due_dates_moved:
        _put(sheet, row, 1, "None")
        return row + 2
    for column, label in enumerate(["Action", "On", "By", "From", "To", "Reason"], start=1):
        _put(sheet, row, column, label, font=BOLD, fill=HEADER_FILL)
    for move in changes.due_dates_moved:
        row += 1
        _put(sheet, row, 1, f"{move.reference} {move.title}", alignment=WRAPPED)
        _put(sheet, row, 2, move.on, alignment=TOP)
        _put(sheet, row, 3, move.by, alignment=WRAPPED)
        # "Not set" rather than an empty cell, which would read as nothing having changed.
        _put(sheet, row, 4, move.before or "Not set", alignment=TOP)
        _put(sheet, row, 5, move.after or "Not set", alignment=TOP)
        # The reason spans the rest of the counts' width, so it has room to be read.
        _put(sheet, row, 6, move.reason, alignment=WRAPPED)
        sheet.merge_cells(
            start_row=row, start_column=6, end_row=row, end_column=len(COUNT_COLUMNS) + 1
        )
    return row + 2


def _write_summary(sheet: Worksheet, reports: Sequence[PlanReport]) -> None:
    _put(sheet, 1, 1, reports[0].tenant_name, font=Font(bold=True, size=15))
    _put(sheet, 2, 1, reports[0].as_of_label, font=BOLD)
    sheet.column_dimensions["A"].width = 45
    for column in range(2, len(COUNT_COLUMNS) + 2):
        sheet.column_dimensions[get_column_letter(column)].width = 12
    row = 4
    for report in reports:
        row = _write_summary_of(sheet, row, report)
    if reports[0].history_head_line:
        _put(sheet, row, 1, reports[0].history_head_line, font=SMALL)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4


def report_xlsx(reports: Sequence[PlanReport]) -> bytes:
    """One workbook for one or several plans of one organisation on one date."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    _write_summary(summary, reports)
    taken = {"summary"}
    first = reports[0]
    for report in reports:
        _write_plan_sheet(workbook.create_sheet(sheet_name(report.plan_title, taken)), report)
    if first.history_head_line:
        for sheet in workbook.worksheets:
            # Printed at the foot of every page.
            sheet.oddFooter.left.text = first.history_head_line
            sheet.oddFooter.left.size = 7
    workbook.properties.title = xml_safe(first.plan_title if len(reports) == 1 else "Action plans")
    workbook.properties.subject = first.as_of_label
    workbook.properties.creator = xml_safe(first.tenant_name)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
