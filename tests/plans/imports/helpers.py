"""Files to import and the one call every test makes to import them."""

import csv
import io
from io import StringIO

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from plans.imports.columns import ImportChoices
from plans.imports.services import plan_file_read, plan_import
from plans.models import Action, PlanImport, ProgressUpdate
from tenants.models import AuditEntry
from workflow.models import TransitionLog

# The headings of the service's own export that an import reads, in its order.
HEADINGS = [
    "Reference",
    "Action",
    "Recommendation",
    "Lead officer",
    "Lead partner",
    "Supporting partners",
    "Due date",
    "State",
    "Officer's RAG",
    "Latest progress",
    "Progress dated",
    "Agreed on",
    "Started on",
    "Evidenced on",
    "Signed off on",
]


def row(
    reference="1.1",
    title="Audit case files",
    recommendation="1",
    lead="Bob Officer",
    partner="Bedfordshire Police",
    supporting="",
    due="2010-03-31",
    state="Proposed",
    rag="",
    progress="",
    progress_dated="",
    agreed="",
    started="",
    evidenced="",
    signed_off="",
) -> list:
    return [
        reference,
        title,
        recommendation,
        lead,
        partner,
        supporting,
        due,
        state,
        rag,
        progress,
        progress_dated,
        agreed,
        started,
        evidenced,
        signed_off,
    ]


# One action in every state, with its history.
ROWS = [
    row("1.1", "Publish the threshold document", state="Proposed"),
    row("1.2", "Agree the audit programme", state="Agreed", agreed="2009-06-01"),
    row(
        "1.3",
        "Train every front-line manager",
        supporting="NHS Bedfordshire",
        state="In progress",
        agreed="2009-06-01",
        started="2009-07-15",
        rag="Amber",
        progress="Two of five cohorts trained.",
        progress_dated="2009-11-30",
    ),
    row(
        "1.4",
        "Recorded supervision for every social worker",
        state="Evidenced",
        agreed="2009-06-01",
        started="2009-06-20",
        evidenced="2010-01-10",
    ),
    row(
        "1.5",
        "Joint protocol with the police",
        state="Signed off",
        agreed="2009-05-01",
        started="2009-05-02",
        evidenced="2009-09-01",
        signed_off="2009-10-05",
        rag="Green",
        progress="Protocol in use across the county.",
        progress_dated="2009-10-01",
    ),
    row("1.6", "Superseded by 1.3", state="Withdrawn", agreed="2009-06-01"),
]


def csv_bytes(rows=ROWS, headings=HEADINGS, *, bom=True) -> bytes:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def xlsx_bytes(rows=ROWS, headings=HEADINGS, *, write_only=False) -> bytes:
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Plan") if write_only else workbook.active
    sheet.append(headings)
    for cells in rows:
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "laming-plan.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def suggested(file, **changes) -> ImportChoices:
    """The columns the file's headings suggest, with the LSCB board signing off by default."""
    read = plan_file_read(file=file)
    columns = {**read.suggested, **changes.pop("columns", {})}
    for key in changes.pop("unmapped", ()):
        columns.pop(key, None)
    return ImportChoices(columns=columns, sign_off_body_id=changes.pop("sign_off_body_id", None))


def import_plan(story, content: bytes, *, name="laming-plan.csv", by=None, plan=None, **kw):
    """Import ``content`` into the story's plan (or ``plan``) as Alice, the manager."""
    file = upload(content, name)
    choices = kw.pop("choices", None) or suggested(
        file, sign_off_body_id=kw.pop("sign_off_body_id", story.lscb.pk)
    )
    return plan_import(
        plan=plan or story.plan, by=by or story.alice, file=file, choices=choices, **kw
    )


def counts(plan) -> tuple[int, int, int, int, int]:
    """What an import writes: actions, steps, progress notes, imports and plan records."""
    return (
        Action.objects.filter(plan=plan).count(),
        TransitionLog.objects.count(),
        ProgressUpdate.objects.count(),
        PlanImport.objects.count(),
        AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PLAN).count(),
    )


def problems_of(report) -> list[tuple[int | None, str]]:
    return [(p.row, p.message) for p in report.problems]
