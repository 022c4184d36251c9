"""The report as committee documents: DOCX and PDF carry the appendix's rows on landscape A4,
with the organisation and the date on every page."""

import io

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from pypdf import PdfReader

from plans.reports.formats.docx import report_docx
from plans.reports.formats.pdf import report_pdf
from plans.reports.report import APPENDIX_COLUMNS, RAG_COLOURS, appendix_table, cell_text
from tests.plans.reports.factories import committee_report


def words(text: str) -> str:
    """Text with its line breaks and runs of spaces made single spaces: a document wraps lines
    where it likes."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def report():
    return committee_report()


def expected_appendix_rows(report) -> list[list[str]]:
    return [[words(cell_text(value)) for value in cells] for cells in appendix_table(report)]


# DOCX


@pytest.fixture(scope="module")
def document(report):
    return docx.Document(io.BytesIO(report_docx(report)))


def appendix_tables(document):
    return [
        table
        for table in document.tables
        if [cell.text for cell in table.rows[0].cells] == APPENDIX_COLUMNS
    ]


def is_group_row(row) -> bool:
    return len({id(cell._tc) for cell in row.cells}) == 1


def test_docx_is_landscape_a4(document):
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    # Word keeps sizes in twentieths of a point: within a tenth of a millimetre of A4.
    assert abs(section.page_width.mm - 297) < 0.1
    assert abs(section.page_height.mm - 210) < 0.1


def test_docx_names_the_organisation_plan_and_date_in_its_headings(document, report):
    headings = [
        p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))
    ]
    assert headings[:2] == [report.plan_title, "Progress as of 1 October 2009"]
    assert report.tenant_name in [p.text for p in document.paragraphs]
    assert "Changes since 1 September 2009" in headings
    assert "Theme 1: Leadership and accountability" in headings
    assert "Actions not yet linked to a recommendation" in headings


def test_docx_pages_carry_the_organisation_and_date_above_and_page_x_of_y_below(document):
    section = document.sections[0]
    assert section.header.paragraphs[0].text == (
        "Central Bedfordshire Council: Progress as of 1 October 2009"
    )
    footer = section.footer.paragraphs[0]
    instructions = [node.text.strip() for node in footer._p.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert footer.text.startswith("Page ") and " of " in footer.text


def test_docx_appendix_carries_exactly_the_reports_rows(document, report):
    tables = appendix_tables(document)
    assert len(tables) == len(report.themes)
    rows = [
        [words(cell.text) for cell in row.cells]
        for table in tables
        for row in table.rows[1:]
        if not is_group_row(row)
    ]
    assert rows == expected_appendix_rows(report)


def test_docx_appendix_heads_each_recommendation_with_a_group_row(document, report):
    groups = [
        row.cells[0].text
        for table in appendix_tables(document)
        for row in table.rows[1:]
        if is_group_row(row)
    ]
    assert groups == [
        recommendation.label if recommendation.rows else f"{recommendation.label} (no actions yet)"
        for theme in report.themes
        for recommendation in theme.recommendations
    ]
    assert "14. Advocacy for children in child protection conferences (no actions yet)" in groups


def test_docx_appendix_repeats_its_header_row_on_each_page(document):
    for table in appendix_tables(document):
        header = table.rows[0]._tr.trPr.find(qn("w:tblHeader"))
        assert header is not None
        assert header.get(qn("w:val")) == "true"


def test_docx_rag_cells_are_shaded_with_the_word_in_them(document):
    (table,) = [t for t in appendix_tables(document) if t.rows[2].cells[2].text == "1.1"]
    (row,) = [row for row in table.rows if row.cells[2].text == "1.2"]
    cell = row.cells[APPENDIX_COLUMNS.index("Schedule RAG")]
    assert cell.text == "Red"
    shading = cell._tc.tcPr.find(qn("w:shd"))
    assert shading.get(qn("w:fill")) == RAG_COLOURS["red"][0]


def test_docx_counts_table_and_the_charts_figures_are_there(document):
    tables = {
        tuple(cell.text for cell in table.rows[0].cells[:2]): table for table in document.tables
    }
    counts = tables["Theme", "Actions"]
    assert [cell.text for cell in counts.rows[-1].cells] == [
        "All themes", "10", "1", "2", "4", "2", "1", "1", "4", "1", "2", "1"
    ]  # fmt: skip
    signed_off = tables["Month ending", "Signed off"]
    assert [[cell.text for cell in row.cells] for row in signed_off.rows[1:]][-2:] == [
        ["31 Aug 2009", "1"],
        ["30 Sep 2009", "2"],
    ]


def test_docx_keeps_no_trace_of_the_library_that_wrote_it(document, report):
    properties = document.core_properties
    assert properties.author == report.tenant_name
    assert properties.title == report.plan_title
    assert "docx" not in (properties.comments + properties.keywords).lower()


# PDF


@pytest.fixture(scope="module")
def pdf(report):
    return PdfReader(io.BytesIO(report_pdf(report)))


@pytest.fixture(scope="module")
def pdf_text(pdf):
    return words(" ".join(page.extract_text() for page in pdf.pages))


def test_pdf_has_pages_in_landscape_a4(pdf):
    assert len(pdf.pages) > 0
    box = pdf.pages[0].mediabox
    # 297 by 210 mm in points, to the nearest point.
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)


def test_pdf_states_the_organisation_plan_and_date(pdf_text, report):
    assert report.tenant_name in pdf_text
    assert report.plan_title in pdf_text
    assert "Progress as of 1 October 2009" in pdf_text
    assert "Changes since 1 September 2009" in pdf_text


def test_pdf_carries_every_reference_and_title(pdf_text, report):
    # A narrow column may break a long word, so compare without any spaces at all.
    squeezed = "".join(pdf_text.split())
    for row in report.rows:
        assert row.reference in pdf_text
        assert "".join(row.title.split()) in squeezed, row.title


def test_pdf_pages_carry_the_organisation_and_date_above_and_page_x_of_y_below(pdf, report):
    total = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        text = words(page.extract_text())
        assert f"{report.tenant_name} · {report.plan_title} · {report.as_of_label}" in text
        assert f"Page {number} of {total}" in text


def test_pdf_is_tagged_for_screen_readers(pdf):
    catalog = pdf.trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"]
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "en-GB"
    assert pdf.metadata.title == "Laming action plan 2009 to 2010. Progress as of 1 October 2009"


def test_pdf_embeds_the_dashboards_charts_as_figures_with_their_titles(pdf):
    alternates = []

    def walk(node):
        node = node.get_object()
        if isinstance(node, dict):
            if node.get("/S") == "/Figure":
                alternates.append(node.get("/Alt"))
            kids = node.get("/K")
            if kids is not None:
                for kid in kids if isinstance(kids, list) else [kids]:
                    walk(kid)

    walk(pdf.trailer["/Root"]["/StructTreeRoot"])
    assert alternates == [
        "Actions by schedule RAG in each theme",
        "Actions by state in each theme",
        "Actions signed off in total, by the end of each month",
    ]
