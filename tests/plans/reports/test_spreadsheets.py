"""The report as spreadsheets: XLSX and CSV carry exactly the report's rows, dates as dates, and
no text a spreadsheet could run as a formula."""

import csv
import datetime
import io
from dataclasses import replace

import openpyxl
import pytest

from plans.reports.formats.cells import neutralised, xml_safe
from plans.reports.formats.csv import report_csv
from plans.reports.formats.xlsx import report_xlsx, sheet_name
from plans.reports.report import COLUMNS, COUNT_COLUMNS, RAG_COLOURS, table
from tests.plans.reports.factories import FORMULA_TEXTS, agency_report, committee_report


@pytest.fixture(scope="module")
def report():
    return committee_report()


@pytest.fixture(scope="module")
def workbook(report):
    return openpyxl.load_workbook(io.BytesIO(report_xlsx([report])))


def plan_sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def as_read_back(value):
    """What openpyxl reads back for a cell the report wrote: dates come back as midnight
    datetimes, empty text as nothing."""
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    return neutralised(value) if value else None


# Formula neutralisation


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_like_a_formula_gets_a_leading_apostrophe(start):
    assert neutralised(f"{start}1+2") == f"'{start}1+2"


@pytest.mark.parametrize("text", ["Bob Officer", "3.2", "", "Total = 5", " =1+2", "'quoted"])
def test_other_text_is_left_as_typed(text):
    assert neutralised(text) == text


def test_characters_no_xml_file_can_hold_are_dropped_and_line_breaks_kept():
    assert xml_safe("Board\x00 minutes\x1b\nagreed\ttoday") == "Board minutes\nagreed\ttoday"


# XLSX


def test_xlsx_opens_with_a_summary_first_then_the_plan(workbook, report):
    assert workbook.sheetnames == ["Summary", report.plan_title]


def test_xlsx_plan_sheet_carries_exactly_the_reports_rows(workbook, report):
    sheet = workbook.worksheets[1]
    assert [cell.value for cell in sheet[1]] == COLUMNS
    expected = [[as_read_back(value) for value in cells] for cells in table(report)]
    assert plan_sheet_rows(sheet) == expected


def test_xlsx_plan_sheet_is_ready_to_filter_and_read(workbook, report):
    sheet = workbook.worksheets[1]
    rows = len(list(table(report)))
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:R{rows + 1}"
    progress = sheet.cell(row=1, column=COLUMNS.index("Latest progress") + 1).column_letter
    assert sheet.column_dimensions[progress].width == 60
    (row,) = [row for row in sheet.iter_rows(min_row=2) if row[2].value == "30.1"]
    long_note = row[COLUMNS.index("Latest progress")]
    assert long_note.value.startswith("The multi-agency referral pathway")
    assert long_note.alignment.wrap_text


def test_xlsx_dates_are_real_dates_with_a_date_format(workbook):
    sheet = workbook.worksheets[1]
    due = sheet.cell(row=3, column=COLUMNS.index("Due date") + 1)
    assert due.value == datetime.datetime(2009, 9, 15)
    assert due.is_date
    assert due.number_format == "d mmm yyyy"


def test_xlsx_rag_cells_are_filled_in_their_colour_with_the_word_in_them(workbook):
    sheet = workbook.worksheets[1]
    row = 3  # 1.2: red on the schedule, amber in the officer's view
    schedule = sheet.cell(row=row, column=COLUMNS.index("Schedule RAG") + 1)
    officer = sheet.cell(row=row, column=COLUMNS.index("Officer's RAG") + 1)
    assert sheet.cell(row=row, column=3).value == "1.2"
    assert schedule.value == "Red"
    assert schedule.fill.fgColor.rgb == "00" + RAG_COLOURS["red"][0]
    assert schedule.font.color.rgb == "00FFFFFF"
    assert officer.value == "Amber"
    assert officer.fill.fgColor.rgb == "00" + RAG_COLOURS["amber"][0]
    assert officer.font.color.rgb == "00" + RAG_COLOURS["amber"][1]


def test_xlsx_withdrawn_action_has_no_rag_and_no_fill(workbook):
    sheet = workbook.worksheets[1]
    (withdrawn,) = [row for row in sheet.iter_rows(min_row=2) if row[2].value == "12.2"]
    schedule = withdrawn[COLUMNS.index("Schedule RAG")]
    assert schedule.value is None
    assert schedule.fill.fill_type is None


@pytest.mark.parametrize("start", list(FORMULA_TEXTS))
def test_xlsx_text_starting_like_a_formula_is_stored_as_text(workbook, start):
    cells = [cell for row in workbook.worksheets[1].iter_rows(min_row=2) for cell in row]
    (cell,) = [cell for cell in cells if cell.value == "'" + FORMULA_TEXTS[start]]
    assert cell.data_type == "s"


def test_xlsx_has_no_formula_anywhere(workbook):
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_summary_states_the_organisation_plan_date_counts_and_changes(workbook, report):
    values = [
        [value for value in row if value is not None]
        for row in workbook["Summary"].iter_rows(values_only=True)
    ]
    lines = [row for row in values if row]
    assert lines[0] == [report.tenant_name]
    assert [report.plan_title] in lines
    assert ["Progress as of 1 October 2009"] in lines
    assert ["Theme", *COUNT_COLUMNS] in lines
    assert ["1. Leadership and accountability", 5, 1, 1, 1, 2, 1, 0, 1, 1, 2, 0] in lines
    assert ["All themes", 10, 1, 2, 4, 2, 1, 1, 4, 1, 2, 1] in lines
    assert ["Changes since 1 September 2009"] in lines
    assert [
        "1.2 Train every lead member in safeguarding",
        datetime.datetime(2009, 9, 2),
        "Alice Manager",
        datetime.datetime(2009, 7, 31),
        datetime.datetime(2009, 9, 15),
        "The councillors' training day moved to September.",
    ] in lines


def test_xlsx_summary_leaves_out_changes_when_there_is_no_earlier_date():
    workbook = openpyxl.load_workbook(
        io.BytesIO(report_xlsx([committee_report(with_changes=False)]))
    )
    texts = [
        value
        for row in workbook["Summary"].iter_rows(values_only=True)
        for value in row
        if isinstance(value, str)
    ]
    assert not [text for text in texts if text.startswith("Changes since")]


def test_xlsx_of_several_plans_has_one_summary_and_a_sheet_for_each():
    first, second = committee_report(), agency_report()
    workbook = openpyxl.load_workbook(io.BytesIO(report_xlsx([first, second])))
    assert workbook.sheetnames == [
        "Summary",
        "Laming action plan 2009 to 2010",
        "Bedfordshire Police safeguardin",
    ]
    assert plan_sheet_rows(workbook.worksheets[2]) == [
        [as_read_back(value) for value in cells] for cells in table(second)
    ]
    titles = [row[0] for row in workbook["Summary"].iter_rows(values_only=True)]
    assert first.plan_title in titles
    assert second.plan_title in titles


def test_sheet_names_are_ones_excel_accepts_and_unique():
    taken = {"summary"}
    assert sheet_name("Plan: 2009/10 [draft]?", taken) == "Plan  2009 10  draft"
    assert sheet_name("Summary", taken) == "Summary (2)"
    long = "A very long plan title that Excel would refuse as it is"
    assert sheet_name(long, taken) == "A very long plan title that Exc"
    assert sheet_name(long, taken) == "A very long plan title that (2)"
    assert sheet_name("History", taken) == "Plan history"
    assert sheet_name("'''", taken) == "Plan"


# CSV


@pytest.fixture(scope="module")
def csv_bytes(report):
    return report_csv(report)


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_a_byte_order_mark_for_excel(csv_bytes):
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    assert not csv_bytes[3:].startswith(b"\xef\xbb\xbf")


def test_csv_carries_exactly_the_reports_rows_with_iso_dates(csv_bytes, report):
    rows = csv_rows(csv_bytes)
    assert rows[0] == COLUMNS
    expected = [
        [
            value.isoformat() if isinstance(value, datetime.date) else neutralised(value or "")
            for value in cells
        ]
        for cells in table(report)
    ]
    assert rows[1:] == expected
    assert rows[2][COLUMNS.index("Due date")] == "2009-09-15"
    assert rows[2][COLUMNS.index("Original due date")] == "2009-07-31"


def test_csv_keeps_a_long_progress_note_whole(csv_bytes):
    (row,) = [row for row in csv_rows(csv_bytes) if row[2] == "30.1"]
    note = row[COLUMNS.index("Latest progress")]
    assert note.startswith("The multi-agency referral pathway")
    assert "\n\nNext steps:" in note


@pytest.mark.parametrize("start", list(FORMULA_TEXTS))
def test_csv_text_starting_like_a_formula_starts_with_an_apostrophe(csv_bytes, start):
    cells = [cell for row in csv_rows(csv_bytes) for cell in row]
    assert "'" + FORMULA_TEXTS[start] in cells
    assert FORMULA_TEXTS[start] not in cells


def test_xlsx_prints_landscape_with_the_organisation_and_date_in_the_page_header():
    report = replace(committee_report(), tenant_name="Bath & North East Somerset Council")
    sheet = openpyxl.load_workbook(io.BytesIO(report_xlsx([report]))).worksheets[1]
    # "&" starts a code in a printed header; doubled, it prints itself.
    assert sheet.oddHeader.left.text == "Bath && North East Somerset Council"
    assert sheet.oddHeader.right.text == "Progress as of 1 October 2009"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$1:$1"
