"""A plan's report as a Word document: the committee appendix on landscape A4.

The dashboard's chart is given as a table of its figures: Word cannot show SVG without a PNG
copy beside it, and drawing one would need another graphics library on the server.
"""

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell

from plans.reports.formats.cells import xml_safe
from plans.reports.report import (
    ALL_THEMES,
    APPENDIX_COLUMNS,
    COUNT_COLUMNS,
    RAG_COLOURS,
    ChangeLine,
    PlanReport,
    ReportTheme,
    appendix_cells,
    cell_text,
    count_table,
    date_label,
)

PAGE_WIDTH = Mm(297)
PAGE_HEIGHT = Mm(210)
MARGIN = Mm(12)
TABLE_TEXT = Pt(7.5)
HEADER_SHADING = "D9D9D9"
GROUP_SHADING = "F0F0F0"

# Millimetres, adding up to the width between the margins.
APPENDIX_WIDTHS = {
    "Theme": 14,
    "Recommendation": 22,
    "Reference": 11,
    "Action": 30,
    "Lead officer": 18,
    "Lead partner": 18,
    "Supporting partners": 18,
    "Due date": 15,
    "Original due date": 15,
    "State": 15,
    "Schedule RAG": 14,
    "Officer's RAG": 14,
    "Latest progress": 50,
    "Progress dated": 15,
}
RAG_COLUMNS = {"Schedule RAG": "schedule_rag", "Officer's RAG": "officer_rag"}


def _shade(cell: _Cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _write(
    cell: _Cell, text: str, *, bold: bool = False, colour: str | None = None, size=TABLE_TEXT
) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(xml_safe(text))
    run.font.size = size
    run.bold = bold
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)


def _repeat_as_header(table: Table) -> None:
    """The first row is the table's header: Word repeats it at the top of each page."""
    row_properties = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row_properties.append(header)


def _table(document, headings: list[str], widths_mm: list[float]) -> Table:
    table = document.add_table(rows=1, cols=len(headings))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for cell, heading, width in zip(table.rows[0].cells, headings, widths_mm, strict=True):
        cell.width = Mm(width)
        _write(cell, heading, bold=True)
        _shade(cell, HEADER_SHADING)
    _repeat_as_header(table)
    return table


def _new_row_cells(table: Table) -> list[_Cell]:
    # A row's own cells, read from its XML: python-docx's ``row.cells`` walks the whole table
    # to find them, which makes a long appendix quadratic in its rows.
    return [_Cell(tc, table) for tc in table.add_row()._tr.tc_lst]


def _add_row(table: Table, texts: list[str], widths_mm: list[float], *, bold=False) -> list:
    cells = _new_row_cells(table)
    for cell, text, width in zip(cells, texts, widths_mm, strict=True):
        cell.width = Mm(width)
        _write(cell, text, bold=bold)
    return cells


def _field(paragraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in as it lays the pages out."""
    for kind, text in (("begin", None), ("instr", code), ("separate", None), ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = f" {text} "
            run._r.append(instruction)
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        if kind == "separate":
            run.add_text("1")


def _set_up_pages(document, report: PlanReport) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width = PAGE_WIDTH
    section.page_height = PAGE_HEIGHT
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    header = section.header.paragraphs[0]
    header.text = xml_safe(f"{report.tenant_name}: {report.as_of_label}")
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run("Page ")
    _field(footer, "PAGE")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES")
    if report.history_head_line:
        head = section.footer.add_paragraph()
        head.add_run(report.history_head_line).font.size = Pt(7)


def _counts(document, report: PlanReport) -> None:
    document.add_heading("Actions by schedule RAG and state", level=2)
    headings = ["Theme", *COUNT_COLUMNS]
    widths = [65] + [16] * len(COUNT_COLUMNS)
    table = _table(document, headings, widths)
    for label, figures in count_table(report):
        cells = _add_row(table, [label, *map(str, figures)], widths, bold=label == ALL_THEMES)
        for cell in cells[1:]:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _change_lines(document, heading: str, lines: list[ChangeLine], on: str) -> None:
    document.add_heading(heading, level=3)
    if not lines:
        document.add_paragraph("None.")
        return
    widths = [20, 150, 30]
    table = _table(document, ["Reference", "Action", on], widths)
    for line in lines:
        _add_row(table, [line.reference, line.title, date_label(line.on)], widths)


def _changes(document, report: PlanReport) -> None:
    changes = report.changes
    if changes is None:
        return
    document.add_heading(changes.label, level=2)
    _change_lines(document, "Signed off", changes.signed_off, "Signed off on")
    _change_lines(document, "Became overdue", changes.newly_overdue, "Due on")
    document.add_heading("Due dates moved", level=3)
    if not changes.due_dates_moved:
        document.add_paragraph("None.")
        return
    headings = ["Reference", "Action", "On", "By", "From", "To", "Reason"]
    widths = [18, 60, 20, 30, 20, 20, 105]
    table = _table(document, headings, widths)
    for move in changes.due_dates_moved:
        _add_row(
            table,
            [
                move.reference,
                move.title,
                date_label(move.on),
                move.by,
                date_label(move.before) or "Not set",
                date_label(move.after) or "Not set",
                move.reason,
            ],
            widths,
        )


def _signed_off_over_time(document, report: PlanReport) -> None:
    if not report.signed_off_over_time:
        return
    document.add_heading("Actions signed off, by the end of each month", level=2)
    widths = [35, 35]
    table = _table(document, ["Month ending", "Signed off"], widths)
    for day, count in report.signed_off_over_time:
        cells = _add_row(table, [date_label(day), str(count)], widths)
        cells[1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _theme(document, theme: ReportTheme) -> None:
    document.add_heading(xml_safe(theme.heading), level=2)
    widths = [APPENDIX_WIDTHS[heading] for heading in APPENDIX_COLUMNS]
    table = _table(document, APPENDIX_COLUMNS, widths)
    rag_positions = {APPENDIX_COLUMNS.index(heading): f for heading, f in RAG_COLUMNS.items()}
    for recommendation in theme.recommendations:
        group = _new_row_cells(table)
        merged = group[0].merge(group[-1])
        label = (
            recommendation.label
            if recommendation.rows
            else (f"{recommendation.label} (no actions yet)")
        )
        _write(merged, label, bold=True)
        _shade(merged, GROUP_SHADING)
        for row in recommendation.rows:
            texts = [cell_text(value) for value in appendix_cells(theme, recommendation, row)]
            cells = _add_row(table, texts, widths)
            for index, field_name in rag_positions.items():
                rag = getattr(row, field_name)
                if rag in RAG_COLOURS:
                    fill, colour = RAG_COLOURS[rag]
                    _shade(cells[index], fill)
                    cells[index].paragraphs[0].runs[0].font.color.rgb = RGBColor.from_string(colour)
                    cells[index].paragraphs[0].runs[0].bold = True


def report_docx(report: PlanReport) -> bytes:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    _set_up_pages(document, report)
    document.add_heading(xml_safe(report.plan_title), level=0)
    document.add_paragraph(xml_safe(report.tenant_name))
    document.add_heading(report.as_of_label, level=1)
    document.add_paragraph(xml_safe(f"Framework: {report.framework_title}"))
    _counts(document, report)
    _changes(document, report)
    _signed_off_over_time(document, report)
    document.add_heading("Recommendations, response and action plan", level=1)
    for theme in report.themes:
        _theme(document, theme)
    properties = document.core_properties
    properties.title = xml_safe(report.plan_title)
    properties.subject = report.as_of_label
    properties.author = xml_safe(report.tenant_name)
    properties.last_modified_by = xml_safe(report.tenant_name)
    properties.comments = ""
    properties.keywords = ""
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
