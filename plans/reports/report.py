"""The progress report of a plan as of a date: what every format (page, XLSX, DOCX, PDF, CSV)
carries. One shape, built once by ``plans.reports.as_of.plan_report``, so the formats cannot
disagree about which rows there are or what they say.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field

from plans.models import Action, Rag
from tenants.history import HistoryHead

STATE_LABELS = dict(Action.State.choices)
RAG_LABELS = {Rag.RED: "Red", Rag.AMBER: "Amber", Rag.GREEN: "Green", Rag.BLUE: "Blue"}
# The order committees read states and RAGs in, for counts and charts.
STATE_ORDER = [s.value for s in Action.State]
RAG_ORDER = [Rag.RED.value, Rag.AMBER.value, Rag.GREEN.value, Rag.BLUE.value]

# Fill and text colours for RAG and state wherever a format colours them (spreadsheet cells,
# document cells, the dashboard's bars). The text colour keeps the word readable on its fill;
# the word is always written too, so colour is never the only cue.
RAG_COLOURS = {
    Rag.RED.value: ("D4351C", "FFFFFF"),
    Rag.AMBER.value: ("F47738", "0B0C0C"),
    Rag.GREEN.value: ("00703C", "FFFFFF"),
    Rag.BLUE.value: ("1D70B8", "FFFFFF"),
}
STATE_COLOURS = {
    Action.State.PROPOSED.value: ("B1B4B6", "0B0C0C"),
    Action.State.AGREED.value: ("5694CA", "0B0C0C"),
    Action.State.IN_PROGRESS.value: ("1D70B8", "FFFFFF"),
    Action.State.EVIDENCED.value: ("4C2C92", "FFFFFF"),
    Action.State.SIGNED_OFF.value: ("00703C", "FFFFFF"),
    Action.State.WITHDRAWN.value: ("505A5F", "FFFFFF"),
}


# How a file's footer introduces the history chain's head; plan imports skip the line.
HISTORY_HEAD_LABEL = "History chain head when made"


def date_label(value: datetime.date | None) -> str:
    """A date as the documents print it in tables: "1 Oct 2009"."""
    return f"{value.day} {value:%b %Y}" if value else ""


def long_date_label(value: datetime.date) -> str:
    """A date as the documents print it in headings: "1 October 2009"."""
    return f"{value.day} {value:%B %Y}"


@dataclass
class ReportRow:
    """One action as it stood at the end of the report's date."""

    action_id: int
    reference: str
    title: str
    # Numbers of the recommendations it answers, lowest first; it is listed under the first.
    recommendations: list[int]
    lead_officer: str
    lead_partner: str
    supporting_partners: str
    due_date: datetime.date | None
    # The due date first given, shown only where the due date has moved since.
    original_due_date: datetime.date | None
    state: str
    schedule_rag: str | None
    officer_rag: str | None
    progress_note: str
    progress_date: datetime.date | None
    # When it last reached each step by the report's date: agreed, started (in progress),
    # evidenced, signed off; absent where it had not.
    step_dates: dict[str, datetime.date] = field(default_factory=dict)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def schedule_rag_label(self) -> str:
        return RAG_LABELS.get(self.schedule_rag, "") if self.schedule_rag else ""

    @property
    def officer_rag_label(self) -> str:
        return RAG_LABELS.get(self.officer_rag, "") if self.officer_rag else ""


@dataclass
class ReportRecommendation:
    number: int | None  # None: the actions that answer no recommendation
    title: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}" if self.number is not None else self.title


@dataclass
class Counts:
    total: int = 0
    states: dict[str, int] = field(default_factory=dict)
    rags: dict[str, int] = field(default_factory=dict)

    def add(self, row: ReportRow) -> None:
        self.total += 1
        self.states[row.state] = self.states.get(row.state, 0) + 1
        if row.schedule_rag:
            self.rags[row.schedule_rag] = self.rags.get(row.schedule_rag, 0) + 1

    def state_count(self, state: str) -> int:
        return self.states.get(state, 0)

    def rag_count(self, rag: str) -> int:
        return self.rags.get(rag, 0)


@dataclass
class ReportTheme:
    position: int | None  # None: actions that answer no recommendation
    title: str
    recommendations: list[ReportRecommendation] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def rows(self) -> Iterator[ReportRow]:
        for recommendation in self.recommendations:
            yield from recommendation.rows

    @property
    def label(self) -> str:
        return f"{self.position}. {self.title}" if self.position is not None else self.title

    @property
    def heading(self) -> str:
        return f"Theme {self.position}: {self.title}" if self.position is not None else self.title


@dataclass
class ChangeLine:
    """An action that was signed off, or became overdue, between the two dates."""

    reference: str
    title: str
    on: datetime.date


@dataclass
class DueDateMove:
    reference: str
    title: str
    on: datetime.date
    by: str
    before: datetime.date | None
    after: datetime.date | None
    reason: str


@dataclass
class ReportChanges:
    since: datetime.date
    signed_off: list[ChangeLine] = field(default_factory=list)
    newly_overdue: list[ChangeLine] = field(default_factory=list)
    due_dates_moved: list[DueDateMove] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Changes since {long_date_label(self.since)}"


@dataclass
class PlanReport:
    tenant_name: str
    plan_id: int
    plan_title: str
    framework_title: str
    as_of: datetime.date
    themes: list[ReportTheme]
    counts: Counts
    changes: ReportChanges | None
    # Actions signed off by the end of each month up to the report's date (cumulative), for the
    # dashboard's chart: [(last day of month, count), ...].
    signed_off_over_time: list[tuple[datetime.date, int]] = field(default_factory=list)
    # The organisation's history chain when the file was made, printed in its footer so an
    # auditor can check the file's history against ``audit_verify`` (docs/reports.md).
    history_head: HistoryHead | None = None

    @property
    def history_head_line(self) -> str:
        return f"{HISTORY_HEAD_LABEL}: {self.history_head}" if self.history_head else ""

    @property
    def rows(self) -> Iterator[ReportRow]:
        for theme in self.themes:
            yield from theme.rows

    @property
    def as_of_label(self) -> str:
        return f"Progress as of {long_date_label(self.as_of)}"


# The steps whose dates the spreadsheets carry, so that a plan exported and imported again keeps
# its history.
STEP_COLUMNS = [
    (Action.State.AGREED.value, "Agreed on"),
    (Action.State.IN_PROGRESS.value, "Started on"),
    (Action.State.EVIDENCED.value, "Evidenced on"),
    (Action.State.SIGNED_OFF.value, "Signed off on"),
]

# The columns of the committee appendix (page, DOCX, PDF), in order, and how each row fills
# them. Dates stay dates here: each format writes them its own way.
APPENDIX_COLUMNS = [
    "Theme",
    "Recommendation",
    "Reference",
    "Action",
    "Lead officer",
    "Lead partner",
    "Supporting partners",
    "Due date",
    "Original due date",
    "State",
    "Schedule RAG",
    "Officer's RAG",
    "Latest progress",
    "Progress dated",
]


# The spreadsheets (XLSX, CSV) carry the appendix's columns and the dates of each step.
COLUMNS = APPENDIX_COLUMNS + [label for _state, label in STEP_COLUMNS]

Cell = str | datetime.date | None


def appendix_cells(
    theme: ReportTheme, recommendation: ReportRecommendation, row: ReportRow
) -> list[Cell]:
    return [
        theme.title,
        recommendation.label,
        row.reference,
        row.title,
        row.lead_officer,
        row.lead_partner,
        row.supporting_partners,
        row.due_date,
        row.original_due_date,
        row.state_label,
        row.schedule_rag_label,
        row.officer_rag_label,
        row.progress_note,
        row.progress_date,
    ]


def row_cells(
    theme: ReportTheme, recommendation: ReportRecommendation, row: ReportRow
) -> list[Cell]:
    return appendix_cells(theme, recommendation, row) + [
        row.step_dates.get(state) for state, _label in STEP_COLUMNS
    ]


def table(report: PlanReport) -> Iterator[list[Cell]]:
    """Every action's spreadsheet cells (``COLUMNS``), in report order."""
    for theme in report.themes:
        for recommendation in theme.recommendations:
            for row in recommendation.rows:
                yield row_cells(theme, recommendation, row)


def appendix_table(report: PlanReport) -> Iterator[list[Cell]]:
    """Every action's appendix cells (``APPENDIX_COLUMNS``), in report order."""
    for theme in report.themes:
        for recommendation in theme.recommendations:
            for row in recommendation.rows:
                yield appendix_cells(theme, recommendation, row)


# The counts every format tabulates per theme and for the whole plan: RAG first, then state.
COUNT_COLUMNS = (
    ["Actions"] + [RAG_LABELS[rag] for rag in RAG_ORDER] + [STATE_LABELS[s] for s in STATE_ORDER]
)
ALL_THEMES = "All themes"


def count_cells(counts: Counts) -> list[int]:
    return [
        counts.total,
        *(counts.rag_count(rag) for rag in RAG_ORDER),
        *(counts.state_count(state) for state in STATE_ORDER),
    ]


def count_table(report: PlanReport) -> list[tuple[str, list[int]]]:
    """Each theme's counts (``COUNT_COLUMNS``) under its label, then the whole plan's."""
    return [(theme.label, count_cells(theme.counts)) for theme in report.themes] + [
        (ALL_THEMES, count_cells(report.counts))
    ]


def cell_text(value: Cell) -> str:
    """A cell as the documents (page, DOCX, PDF) print it."""
    if isinstance(value, datetime.date):
        return date_label(value)
    return value or ""
