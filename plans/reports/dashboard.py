"""A plan's dashboard: its report's figures as charts, drawn as inline SVG.

Each chart is an image with a title and a description that states every figure, so a screen
reader gets the same facts as a sighted reader, and each comes with the same figures as a table.
Bars carry their words (Red, Amber, In progress), never colour alone. The SVG has no ``style``
attributes or elements, only presentation attributes, so it shows under a strict
Content-Security-Policy, in a PDF and on its own.
"""

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from plans.reports.report import (
    ALL_THEMES,
    RAG_COLOURS,
    RAG_LABELS,
    RAG_ORDER,
    STATE_COLOURS,
    STATE_LABELS,
    STATE_ORDER,
    Counts,
    PlanReport,
    date_label,
    long_date_label,
)

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "Arial, Helvetica, sans-serif"
TEXT = "#0b0c0c"
SECONDARY_TEXT = "#505a5f"
GRID = "#b1b4b6"
LINE = "#1d70b8"
# An average character's width at 12px, to judge whether a word fits inside a bar.
CHAR_WIDTH = 7

WIDTH = 760
LABEL_WIDTH = 230
BAR_X = 240
BAR_WIDTH = 500
BAR_HEIGHT = 22
ROW_HEIGHT = 50
LEGEND_HEIGHT = 30
LABEL_CHARS = 34


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    fill: str
    text: str


RAG_SERIES = [Series(rag, RAG_LABELS[rag], *RAG_COLOURS[rag]) for rag in RAG_ORDER]
STATE_SERIES = [Series(state, STATE_LABELS[state], *STATE_COLOURS[state]) for state in STATE_ORDER]


@dataclass
class Chart:
    """One chart: the SVG and the same figures as a table (``columns`` heads ``rows``, each row
    a label and its figures)."""

    id: str
    title: str
    description: str
    svg: SafeString
    columns: list[str]
    rows: list[tuple[str, list[int]]]


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(
        parent,
        tag,
        {
            name.rstrip("_").replace("_", "-"): (
                _number(value) if isinstance(value, float) else str(value)
            )
            for name, value in attributes.items()
        },
    )
    if text is not None:
        element.text = text
    return element


def _svg(chart_id: str, title: str, description: str, height: int) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": str(WIDTH),
            "height": str(height),
            "role": "img",
            "aria-labelledby": f"{chart_id}-title",
            "aria-describedby": f"{chart_id}-desc",
            "class": "app-chart__image",
            "font-family": FONT,
            "font-size": "12",
        },
    )
    _element(svg, "title", title, id=f"{chart_id}-title")
    _element(svg, "desc", description, id=f"{chart_id}-desc")
    return svg


def _markup(svg: ET.Element) -> SafeString:
    # Every text in the tree is escaped by ElementTree, so the markup is safe to place as is.
    return mark_safe(ET.tostring(svg, encoding="unicode"))


def _shortened(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _figures(series: list[Series], values: dict[str, int]) -> str:
    return ", ".join(f"{each.label} {values.get(each.key, 0)}" for each in series)


def _stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    series: list[Series],
    bars: list[tuple[str, dict[str, int]]],
) -> SafeString:
    height = LEGEND_HEIGHT + ROW_HEIGHT * len(bars) + 4
    svg = _svg(chart_id, title, description, height)
    x = 0
    for each in series:
        _element(svg, "rect", x=x, y=4, width=14, height=14, fill=f"#{each.fill}")
        _element(svg, "text", each.label, x=x + 20, y=16, fill=TEXT)
        x += 20 + CHAR_WIDTH * len(each.label) + 18
    largest = max((sum(values.values()) for _label, values in bars), default=0) or 1
    for index, (label, values) in enumerate(bars):
        top = LEGEND_HEIGHT + index * ROW_HEIGHT
        bold = {"font_weight": "bold"} if label in (BY_THEME.total, BY_PLAN.total) else {}
        name = _element(svg, "text", _shortened(label), x=0, y=top + 16, fill=TEXT, **bold)
        if len(label) > LABEL_CHARS:
            _element(name, "title", label)
        x = float(BAR_X)
        for each in series:
            count = values.get(each.key, 0)
            if not count:
                continue
            width = count / largest * BAR_WIDTH
            segment = _element(
                svg,
                "rect",
                x=x,
                y=float(top),
                width=width,
                height=BAR_HEIGHT,
                fill=f"#{each.fill}",
                stroke="#ffffff",
                stroke_width=1,
            )
            _element(segment, "title", f"{label}: {each.label} {count}")
            words = f"{each.label} {count}"
            if width < CHAR_WIDTH * len(words) + 8:
                words = str(count)
            if width >= CHAR_WIDTH * len(words) + 6:
                _element(
                    svg,
                    "text",
                    words,
                    x=x + width / 2,
                    y=float(top + 15),
                    fill=f"#{each.text}",
                    text_anchor="middle",
                )
            x += width
        # Every figure in words under its bar, since a thin segment has no room for its own.
        _element(
            svg,
            "text",
            _figures(series, values),
            x=BAR_X,
            y=top + BAR_HEIGHT + 16,
            fill=SECONDARY_TEXT,
            font_size=11,
        )
    return _markup(svg)


@dataclass(frozen=True)
class Grouping:
    """What the bars are: a plan's themes, or an organisation's plans."""

    noun: str  # "theme"
    total: str  # the label of the bar for all of them: "All themes"


BY_THEME = Grouping("theme", ALL_THEMES)
BY_PLAN = Grouping("plan", "All plans")


def _bars(
    groups: list[tuple[str, Counts]], total: Counts, grouping: Grouping, pick
) -> list[tuple[str, dict[str, int]]]:
    counts = [*groups, (grouping.total, total)]
    return [(label, pick(each)) for label, each in counts]


def _bar_chart(
    report: PlanReport,
    chart_id: str,
    title: str,
    series: list[Series],
    pick,
    note: str = "",
    grouping: Grouping = BY_THEME,
    groups: list[tuple[str, Counts]] | None = None,
) -> Chart:
    if groups is None:
        groups = [(theme.label, theme.counts) for theme in report.themes]
    bars = _bars(groups, report.counts, grouping, pick)
    lines = [f"{label}: {_figures(series, values)}." for label, values in bars]
    description = f"{title}, {long_date_label(report.as_of)}. " + " ".join(lines) + note
    return Chart(
        id=chart_id,
        title=title,
        description=description,
        svg=_stacked_bars(chart_id, title, description, series, bars),
        columns=[grouping.noun.capitalize()] + [each.label for each in series],
        rows=[(label, [values.get(each.key, 0) for each in series]) for label, values in bars],
    )


def rag_chart(
    report: PlanReport,
    *,
    id_prefix: str = "dashboard",
    grouping: Grouping = BY_THEME,
    groups: list[tuple[str, Counts]] | None = None,
) -> Chart:
    return _bar_chart(
        report,
        f"{id_prefix}-rag",
        f"Actions by schedule RAG in each {grouping.noun}",
        RAG_SERIES,
        lambda counts: {rag: counts.rag_count(rag) for rag in RAG_ORDER},
        note=" Withdrawn actions have no RAG.",
        grouping=grouping,
        groups=groups,
    )


def state_chart(
    report: PlanReport,
    *,
    id_prefix: str = "dashboard",
    grouping: Grouping = BY_THEME,
    groups: list[tuple[str, Counts]] | None = None,
) -> Chart:
    return _bar_chart(
        report,
        f"{id_prefix}-state",
        f"Actions by state in each {grouping.noun}",
        STATE_SERIES,
        lambda counts: {state: counts.state_count(state) for state in STATE_ORDER},
        grouping=grouping,
        groups=groups,
    )


def _scale_top(largest: int) -> tuple[int, int]:
    """A round top for the scale and the step between its marks: at most five marks."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if largest <= step * 5:
            return max(step, math.ceil(largest / step) * step), step
    step = 10 ** math.ceil(math.log10(largest / 5))
    return math.ceil(largest / step) * step, step


def signed_off_chart(report: PlanReport, *, id_prefix: str = "dashboard") -> Chart:
    chart_id = f"{id_prefix}-signed-off"
    title = "Actions signed off in total, by the end of each month"
    points = report.signed_off_over_time
    rows = [(date_label(day), [count]) for day, count in points]
    if points:
        figures = ", ".join(f"{label} {values[0]}" for label, values in rows)
        description = (
            f"{title}, {date_label(points[0][0])} to {date_label(points[-1][0])}: {figures}."
        )
    else:
        description = f"{title}: no months to show yet."
    left, right, top, bottom = 56, WIDTH - 24, 36, 236
    height = bottom + 40
    svg = _svg(chart_id, title, description, height)
    _element(svg, "text", "Actions signed off", x=0, y=14, fill=TEXT, font_weight="bold")
    if not points:
        _element(svg, "text", "No months to show yet.", x=left, y=(top + bottom) // 2, fill=TEXT)
        return Chart(chart_id, title, description, _markup(svg), ["Month ending", "Signed off"], [])
    scale, step = _scale_top(max(count for _day, count in points))
    for mark in range(0, scale + 1, step):
        y = bottom - mark / scale * (bottom - top)
        _element(svg, "line", x1=left, y1=y, x2=right, y2=y, stroke=GRID, stroke_width=1)
        _element(svg, "text", str(mark), x=left - 8, y=y + 4, fill=TEXT, text_anchor="end")

    def x_of(index: int) -> float:
        if len(points) == 1:
            return (left + right) / 2
        return left + index / (len(points) - 1) * (right - left)

    def y_of(count: int) -> float:
        return bottom - count / scale * (bottom - top)

    # A step line: the total holds through each month and rises at its end.
    path = [f"M{_number(x_of(0))} {_number(y_of(points[0][1]))}"]
    for index, (_day, count) in enumerate(points[1:], start=1):
        path.append(f"H{_number(x_of(index))} V{_number(y_of(count))}")
    _element(svg, "path", d=" ".join(path), fill="none", stroke=LINE, stroke_width=3)
    every = math.ceil(len(points) / 8)
    for index, (day, count) in enumerate(points):
        x, y = x_of(index), y_of(count)
        point = _element(svg, "circle", cx=x, cy=y, r=4, fill=LINE)
        _element(point, "title", f"{date_label(day)}: {count} signed off")
        labelled = index % every == 0 or index == len(points) - 1
        if not labelled:
            continue
        anchor = "middle"
        if len(points) > 1 and index == 0:
            anchor = "start"
        elif len(points) > 1 and index == len(points) - 1:
            anchor = "end"
        _element(
            svg,
            "text",
            str(count),
            x=x,
            y=y - 10,
            fill=TEXT,
            text_anchor=anchor,
            font_weight="bold",
        )
        _element(svg, "text", f"{day:%b %Y}", x=x, y=bottom + 20, fill=TEXT, text_anchor=anchor)
    _element(svg, "line", x1=left, y1=bottom, x2=right, y2=bottom, stroke=TEXT, stroke_width=1)
    return Chart(chart_id, title, description, _markup(svg), ["Month ending", "Signed off"], rows)


def dashboard(report: PlanReport, *, id_prefix: str = "dashboard") -> list[Chart]:
    """The dashboard's charts, in the order the page and the PDF show them."""
    return [
        rag_chart(report, id_prefix=id_prefix),
        state_chart(report, id_prefix=id_prefix),
        signed_off_chart(report, id_prefix=id_prefix),
    ]


def organisation_dashboard(progress, *, id_prefix: str = "dashboard") -> list[Chart]:
    """The same charts for a whole organisation (``plans.reports.tenant.TenantProgress``),
    with a bar for each plan instead of each theme."""
    groups = [(report.plan_title, report.counts) for report in progress.reports]
    return [
        rag_chart(progress, id_prefix=id_prefix, grouping=BY_PLAN, groups=groups),
        state_chart(progress, id_prefix=id_prefix, grouping=BY_PLAN, groups=groups),
        signed_off_chart(progress, id_prefix=id_prefix),
    ]
