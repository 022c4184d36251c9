"""The fields an imported plan's columns can hold, and which column holds which.

People keep plans in spreadsheets of their own making, so the file's columns are matched to
fields by the person importing it, helped by a suggestion from the headings. A file the service
exported (``plans.reports.report.COLUMNS``) is matched completely by its headings.
"""

from dataclasses import dataclass, field
from typing import Any

from plans.spreadsheets.reading import cell_text, column_name, heading_key


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    hint: str
    # Headings that name this field, compared as ``heading`` normalises them.
    headings: tuple[str, ...]
    required: bool = False


FIELDS = (
    Field(
        "reference",
        "Reference",
        'As the plan numbers the action, for example "3.2". Each once in the file.',
        ("reference", "ref", "action reference", "action ref", "action number", "action no"),
        required=True,
    ),
    Field(
        "title",
        "Action",
        "What will be done, on one line.",
        ("action", "title", "action title"),
        required=True,
    ),
    Field(
        "description",
        "Description",
        "More about the action; may be empty.",
        ("description", "details", "action description"),
    ),
    Field(
        "recommendations",
        "Recommendation numbers",
        'The numbers of the recommendations it answers, for example "3" or "3, 7".',
        (
            "recommendation",
            "recommendations",
            "recommendation number",
            "recommendation numbers",
            "recommendation no",
            "rec no",
        ),
    ),
    Field(
        "lead_officer",
        "Lead officer",
        "The name or e-mail address of a member of your organisation.",
        ("lead officer", "lead officer email", "responsible officer", "lead"),
    ),
    Field(
        "lead_partner",
        "Lead partner",
        "The name of one of your partner agencies.",
        ("lead partner", "lead agency"),
    ),
    Field(
        "supporting_partners",
        "Supporting partners",
        "Names of partner agencies, separated by commas.",
        ("supporting partners", "supporting agencies", "partners"),
    ),
    Field("due_date", "Due date", "A date.", ("due date", "due", "target date", "deadline")),
    Field(
        "sign_off_body",
        "Sign-off body",
        "The name of a body that may sign off this plan's actions.",
        ("sign off body", "signed off by", "sign off by"),
    ),
    Field(
        "state",
        "State",
        "Proposed, Agreed, In progress, Evidenced, Signed off or Withdrawn.",
        ("state", "status"),
    ),
    Field(
        "agreed_on",
        "Agreed on",
        "The date the action was agreed.",
        ("agreed on", "agreed", "date agreed"),
    ),
    Field(
        "started_on",
        "Started on",
        "The date work started.",
        ("started on", "started", "date started", "start date"),
    ),
    Field(
        "evidenced_on",
        "Evidenced on",
        "The date it was submitted for sign-off with its evidence.",
        ("evidenced on", "evidenced", "date evidenced"),
    ),
    Field(
        "signed_off_on",
        "Signed off on",
        "The date it was signed off.",
        ("signed off on", "signed off", "date signed off"),
    ),
    Field(
        "withdrawn_on",
        "Withdrawn on",
        "The date it was withdrawn, for a withdrawn action.",
        ("withdrawn on", "withdrawn", "date withdrawn"),
    ),
    Field(
        "progress_note",
        "Latest progress note",
        "The latest progress, as it was reported.",
        ("latest progress", "latest progress note", "progress", "progress note", "progress update"),
    ),
    Field(
        "progress_date",
        "Progress dated",
        "The date of the latest progress note.",
        ("progress dated", "progress date", "date of progress"),
    ),
    Field(
        "officer_rag",
        "Officer's RAG",
        "The lead officer's own rating with the note: Red, Amber or Green.",
        ("officer's rag", "officers rag", "officer rag", "rag", "rag rating", "rag status"),
    ),
)
FIELDS_BY_KEY = {f.key: f for f in FIELDS}
REQUIRED = tuple(f.key for f in FIELDS if f.required)
# Dates as a problem names them.
DATE_NAMES = {
    "due_date": "due date",
    "agreed_on": "date agreed",
    "started_on": "date work started",
    "evidenced_on": "date evidenced",
    "signed_off_on": "date signed off",
    "withdrawn_on": "date withdrawn",
    "progress_date": "date of the progress note",
}
DATE_FIELDS = (
    "due_date",
    "agreed_on",
    "started_on",
    "evidenced_on",
    "signed_off_on",
    "withdrawn_on",
    "progress_date",
)


def heading(value: Any) -> str:
    """A heading as it is compared: any case, curly or straight apostrophes, spaces, hyphens
    and underscores alike, without a trailing colon or asterisk."""
    return heading_key(value).replace("\u2019", "'").strip(" :*")


@dataclass(frozen=True)
class FileColumn:
    position: int
    heading: str
    # The first value below the heading, to help a person recognise the column.
    example: str = ""

    @property
    def label(self) -> str:
        name = f"{column_name(self.position)}: {self.heading or '(no heading)'}"
        if self.example:
            example = self.example if len(self.example) <= 40 else self.example[:39] + "…"
            name += f" (for example {example})"
        return name


def file_columns(headings: list[Any], first_row: list[Any] | None) -> list[FileColumn]:
    """The file's columns that have a heading or a value in the first row."""
    width = max(len(headings), len(first_row or []))
    columns = []
    for position in range(width):
        text = cell_text(headings[position]).strip() if position < len(headings) else ""
        example = ""
        if first_row is not None and position < len(first_row):
            example = " ".join(cell_text(first_row[position]).split())
        if text or example:
            columns.append(FileColumn(position, " ".join(text.split())[:80], example))
    return columns


def suggested_columns(headings: list[Any]) -> dict[str, int]:
    """For each field, the first column whose heading names it and no other field has taken."""
    by_heading: dict[str, int] = {}
    for position, value in enumerate(headings):
        by_heading.setdefault(heading(value), position)
    chosen: dict[str, int] = {}
    taken: set[int] = set()
    for f in FIELDS:
        for name in f.headings:
            position = by_heading.get(name)
            if position is not None and position not in taken:
                chosen[f.key] = position
                taken.add(position)
                break
    return chosen


@dataclass(frozen=True)
class ImportChoices:
    """What the person chose: the column of each field, and the sign-off body of the actions
    whose row names none."""

    columns: dict[str, int] = field(default_factory=dict)
    sign_off_body_id: int | None = None

    def as_dict(self) -> dict:
        return {"columns": dict(self.columns), "sign_off_body": self.sign_off_body_id}

    @classmethod
    def from_dict(cls, data: dict) -> "ImportChoices":
        columns = {
            str(key): int(value)
            for key, value in (data.get("columns") or {}).items()
            if key in FIELDS_BY_KEY and isinstance(value, int)
        }
        body = data.get("sign_off_body")
        return cls(columns=columns, sign_off_body_id=body if isinstance(body, int) else None)
