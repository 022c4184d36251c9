"""The dashboard's charts and the page's report partials: accessible SVG whose figures are the
report's counts, and GOV.UK tables with the same rows as every other format."""

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from plans.reports.dashboard import dashboard, rag_chart, signed_off_chart, state_chart
from plans.reports.report import (
    RAG_LABELS,
    RAG_ORDER,
    STATE_LABELS,
    STATE_ORDER,
    appendix_table,
    cell_text,
    count_table,
)
from tests.plans.reports.factories import committee_report

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def report():
    return committee_report()


def words(text: str) -> str:
    return " ".join(text.split())


def parsed(chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def theme_counts(report):
    return [(theme.label, theme.counts) for theme in report.themes] + [
        ("All themes", report.counts)
    ]


# The SVG


@pytest.mark.parametrize("make", [rag_chart, state_chart, signed_off_chart])
def test_each_chart_is_an_image_with_a_title_and_a_description(report, make):
    chart = make(report)
    svg = parsed(chart)
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title")
    desc = svg.find(f"{SVG}desc")
    assert title.text == chart.title
    assert desc.text == chart.description
    assert svg.get("aria-labelledby") == title.get("id")
    assert svg.get("aria-describedby") == desc.get("id")


@pytest.mark.parametrize("make", [rag_chart, state_chart, signed_off_chart])
def test_charts_have_no_inline_styles_or_scripts_for_the_content_security_policy(report, make):
    svg = parsed(make(report))
    for element in svg.iter():
        assert "style" not in element.attrib, element.tag
        assert element.tag not in {f"{SVG}style", f"{SVG}script"}
        assert not [name for name in element.attrib if name.startswith("on")]


def test_the_rag_chart_states_each_themes_counts_in_its_description(report):
    chart = rag_chart(report)
    for label, counts in theme_counts(report):
        figures = ", ".join(f"{RAG_LABELS[rag]} {counts.rag_count(rag)}" for rag in RAG_ORDER)
        assert f"{label}: {figures}." in chart.description
    assert "1. Leadership and accountability: Red 1, Amber 1, Green 1, Blue 2." in (
        chart.description
    )


def test_the_rag_chart_bars_are_the_counts_with_their_words(report):
    svg = parsed(rag_chart(report))
    segments = {}
    for rect in svg.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None:
            label, figure = title.text.rsplit(": ", 1)
            word, count = figure.rsplit(" ", 1)
            segments[label, word] = int(count)
    expected = {
        (label, RAG_LABELS[rag]): counts.rag_count(rag)
        for label, counts in theme_counts(report)
        for rag in RAG_ORDER
        if counts.rag_count(rag)
    }
    assert segments == expected
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    # The words are on the chart itself, not only in colour: in the legend, on wide bars and in
    # the line under each bar.
    assert {"Red", "Amber", "Green", "Blue"} <= set(texts)
    assert "Green 4" in texts
    assert "Red 1, Amber 2, Green 4, Blue 2" in texts


def test_the_state_chart_states_each_themes_counts(report):
    chart = state_chart(report)
    for label, counts in theme_counts(report):
        figures = ", ".join(
            f"{STATE_LABELS[state]} {counts.state_count(state)}" for state in STATE_ORDER
        )
        assert f"{label}: {figures}." in chart.description
    assert chart.rows == [
        (label, [counts.state_count(state) for state in STATE_ORDER])
        for label, counts in theme_counts(report)
    ]


def test_the_charts_tables_carry_the_same_figures_as_the_counts_table(report):
    rag, state, _signed_off = dashboard(report)
    for (label, figures), rag_row, state_row in zip(
        count_table(report), rag.rows, state.rows, strict=True
    ):
        assert rag_row == (label, figures[1:5])
        assert state_row == (label, figures[5:])


def test_the_signed_off_chart_has_a_point_for_each_month_with_its_total(report):
    chart = signed_off_chart(report)
    svg = parsed(chart)
    points = [circle.find(f"{SVG}title").text for circle in svg.iter(f"{SVG}circle")]
    assert points == [
        "30 Apr 2009: 0 signed off",
        "31 May 2009: 0 signed off",
        "30 Jun 2009: 0 signed off",
        "31 Jul 2009: 1 signed off",
        "31 Aug 2009: 1 signed off",
        "30 Sep 2009: 2 signed off",
    ]
    assert chart.description.endswith(
        "30 Apr 2009 to 30 Sep 2009: 30 Apr 2009 0, 31 May 2009 0, 30 Jun 2009 0, "
        "31 Jul 2009 1, 31 Aug 2009 1, 30 Sep 2009 2."
    )
    assert chart.rows[-1] == ("30 Sep 2009", [2])
    # A step line: it rises at the month's end, never slopes through it.
    path = svg.find(f"{SVG}path").get("d")
    assert re.fullmatch(r"M[\d.]+ [\d.]+( H[\d.]+ V[\d.]+)+", path)


def test_the_signed_off_chart_says_so_when_there_are_no_months_yet(report):
    chart = signed_off_chart(replace(report, signed_off_over_time=[]))
    svg = parsed(chart)
    assert chart.rows == []
    assert "no months to show yet" in svg.find(f"{SVG}desc").text
    assert not list(svg.iter(f"{SVG}circle"))


def test_chart_ids_take_a_prefix_so_two_dashboards_can_share_a_page(report):
    ids = [chart.id for chart in dashboard(report, id_prefix="police")]
    assert ids == ["police-rag", "police-state", "police-signed-off"]


def test_text_in_a_chart_is_escaped(report):
    theme = replace(report.themes[0], title='<script>alert("x")</script> & more')
    chart = rag_chart(replace(report, themes=[theme]))
    assert "<script>" not in chart.svg
    labels = [text.text for text in parsed(chart).iter(f"{SVG}text")]
    assert any(label and label.startswith("1. <script>") for label in labels)


# The page's partials


class Tables(HTMLParser):
    """Each table's rows as the words of their cells, with the classes of table and row."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self.cell: list[str] | None = None
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "style" in attributes:
            self.styles.append(tag)
        if tag == "table":
            self.tables.append({"class": attributes.get("class", ""), "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append({"class": attributes.get("class", ""), "cells": []})
        elif tag in ("td", "th") and self.tables:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1]["rows"][-1]["cells"].append(words("".join(self.cell)))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_in(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def test_appendix_partial_carries_exactly_the_reports_rows(report):
    html = render_to_string("plans/reports/_appendix.html", {"report": report})
    appendix = [t for t in tables_in(html).tables if "app-report-appendix" in t["class"]]
    assert len(appendix) == len(report.themes)
    rows = [
        row["cells"]
        for table in appendix
        for row in table["rows"][1:]
        if "app-report-appendix__group" not in row["class"]
    ]
    assert rows == [
        [words(cell_text(value)) for value in cells] for cells in appendix_table(report)
    ]


def test_appendix_partial_shows_rag_as_a_tag_with_its_word(report):
    html = render_to_string("plans/reports/_appendix.html", {"report": report})
    assert '<strong class="govuk-tag govuk-tag--red">Red</strong>' in html
    assert '<strong class="govuk-tag govuk-tag--blue">Blue</strong>' in html
    assert "govuk-table" in html


def test_appendix_partial_has_the_counts_and_the_changes(report):
    html = render_to_string("plans/reports/_appendix.html", {"report": report})
    tables = tables_in(html).tables
    counts = next(t for t in tables if "app-report-counts" in t["class"])
    assert [row["cells"] for row in counts["rows"][2:]] == [
        [label, *map(str, figures)] for label, figures in count_table(report)
    ]
    assert "Changes since 1 September 2009" in html
    assert ["1.2", "Train every lead member in safeguarding", "2 Sep 2009", "Alice Manager",
            "31 Jul 2009", "15 Sep 2009", "The councillors' training day moved to September."] in [
        row["cells"] for table in tables for row in table["rows"]
    ]  # fmt: skip


def test_appendix_partial_says_nothing_of_changes_without_an_earlier_date():
    html = render_to_string(
        "plans/reports/_appendix.html", {"report": committee_report(with_changes=False)}
    )
    assert "Changes since" not in html


def test_appendix_partial_links_each_action_on_the_organisations_pages(report):
    tenant = SimpleNamespace(slug="central-bedfordshire")
    html = render_to_string("plans/reports/_appendix.html", {"report": report, "tenant": tenant})
    first = report.themes[0].recommendations[0].rows[0]
    assert f'href="/t/central-bedfordshire/actions/{first.action_id}/"' in html


def test_dashboard_partial_shows_each_chart_beside_a_table_of_its_figures(report):
    html = render_to_string("plans/reports/_dashboard.html", {"report": report})
    charts = dashboard(report)
    for chart in charts:
        assert str(chart.svg) in html
    figures = [t for t in tables_in(html).tables if "app-chart__figures" in t["class"]]
    assert [[row["cells"] for row in table["rows"][1:]] for table in figures] == [
        [[label, *map(str, values)] for label, values in chart.rows] for chart in charts
    ]


@pytest.mark.parametrize("partial", ["_appendix.html", "_dashboard.html"])
def test_partials_have_no_inline_styles_or_scripts(report, partial):
    html = render_to_string(f"plans/reports/{partial}", {"report": report})
    parsed_html = tables_in(html)
    assert parsed_html.styles == []
    assert not [tag for tag, _attributes in parsed_html.tags if tag in ("script", "style")]
    assert not [
        name
        for _tag, attributes in parsed_html.tags
        for name in attributes
        if name.startswith("on")
    ]
