"""Publishing a report for a meeting: the file is made once, stored as it was made, with its
SHA-256, and recorded in the plan's history."""

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet

from plans.models import ActionPlan, PublishedReport
from plans.reports.as_of import plan_report
from plans.reports.formats import report_file
from plans.reports.formats.pdf import PdfUnavailable
from plans.workflows import publishing_refusal
from tenants.models import AuditEntry, User
from tenants.selectors import history_head_of
from tenants.services import audit_record
from tenants.text import one_line_text, texts_clean
from workflow.engine import Actor

MEETING = one_line_text(
    "the meeting", max_length=200, missing="Enter the meeting the report is for."
)


def published_reports_of(*, plan: ActionPlan) -> QuerySet[PublishedReport]:
    return PublishedReport.objects.filter(tenant_id=plan.tenant_id, plan=plan).select_related(
        "published_by"
    )


def report_dates_refusal(
    *, as_of: datetime.date, since: datetime.date | None, today: datetime.date
) -> dict[str, str]:
    """What is wrong with a report's dates, by field; empty when nothing is."""
    problems = {}
    if as_of > today:
        problems["as_of"] = "The report's date must be today or in the past."
    if since is not None and since >= as_of:
        problems["since"] = "The earlier date must be before the report's date."
    return problems


def report_publish(
    *,
    plan: ActionPlan,
    by: User,
    meeting: str,
    meeting_date: datetime.date,
    as_of: datetime.date,
    since: datetime.date | None = None,
    format: str,
    today: datetime.date,
) -> PublishedReport:
    """Make the plan's report as of ``as_of`` in ``format`` and keep it, for ``meeting``."""
    refusal = publishing_refusal(Actor(by, plan.tenant_id), plan)
    if refusal is not None:
        refusal.raise_error()
    meeting = texts_clean(meeting=(MEETING, meeting))["meeting"]
    if format not in PublishedReport.Format.values:
        raise ValidationError({"format": "Choose PDF, DOCX, XLSX or CSV."})
    problems = report_dates_refusal(as_of=as_of, since=since, today=today)
    if problems:
        raise ValidationError(problems)
    try:
        report = plan_report(plan=plan, as_of=as_of, since=since)
        # The head as the file is made: every row the report was built from is in the chain up
        # to it. The publication's own rows come after it.
        head = history_head_of(tenant_id=plan.tenant_id)
        made = report_file(report, format, history_head=head)
    except PdfUnavailable as error:
        raise ValidationError({"format": str(error)}) from None
    published = PublishedReport(
        tenant_id=plan.tenant_id,
        plan=plan,
        meeting=meeting,
        meeting_date=meeting_date,
        as_of=as_of,
        since=since,
        format=format,
        file_name=made.filename,
        storage_key=secrets.token_hex(16),
        content_type=made.content_type,
        size=len(made.content),
        sha256=hashlib.sha256(made.content).hexdigest(),
        published_by=by,
    )
    # The file is made and stored before the transaction opens, so a PDF that takes seconds
    # holds no transaction open; a row that then fails to save takes its file with it.
    published.file.save(published.storage_key, ContentFile(made.content), save=False)
    try:
        with transaction.atomic():
            _record(published, by=by)
    except Exception:
        published.file.storage.delete(published.file.name)
        raise
    return published


def _record(published: PublishedReport, *, by: User) -> None:
    plan = published.plan
    published.save()
    audit_record(
        tenant_id=plan.tenant_id,
        actor=by,
        subject_type=AuditEntry.Subject.PLAN,
        subject_id=plan.pk,
        subject_label=plan.title,
        summary=f"Report published for {published.meeting}",
        labels={"file": "File", "as_of": "Progress as of", "sha256": "SHA-256"},
        after={
            "file": published.file_name,
            "as_of": published.as_of.isoformat(),
            "sha256": published.sha256,
        },
    )
