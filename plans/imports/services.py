"""Importing an existing action plan into a plan of the service, all or nothing, and its dry run.

Each row becomes an action with the history its dates give, written at those dates so that the
plan's report as of any past date (``plans.reports.as_of``) shows it as it stood: the action
exists from its earliest date, each step is a transition-log row at the date it was taken, and
the latest progress note is a progress update at its date. All of it is marked as recorded
later, by whom, when and from which file (``PlanImport``), and the plan's record gets one entry
for the import. Rows are written in bulk: the number of queries grows with the number of
batches, not of rows.
"""

import datetime
from dataclasses import dataclass, field
from typing import IO

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from plans.imports.columns import (
    REQUIRED,
    FileColumn,
    ImportChoices,
    file_columns,
    suggested_columns,
)
from plans.imports.rows import ImportedAction, PlanFacts, check_rows, choice_problems
from plans.models import (
    Action,
    ActionPlan,
    ActionRecommendation,
    ActionSupportingPartner,
    PlanImport,
    ProgressUpdate,
)
from plans.reports.report import HISTORY_HEAD_LABEL
from plans.services import plan_variation_record
from plans.spreadsheets.reading import Limits, Problem, Table, cell_text, open_table
from plans.workflows import plan_management_refusal
from tenants.models import AuditEntry, User
from tenants.rules import Refusal
from tenants.services import audit_record
from workflow.engine import Actor
from workflow.models import TransitionLog

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5_000
BATCH = 500


def _limits() -> Limits:
    return Limits(
        max_bytes=MAX_BYTES,
        max_rows=MAX_ROWS,
        file_kind="a plan's file",
        too_many_rows=(
            f"The file has more than {MAX_ROWS:,} rows; one import can bring in at most "
            f"{MAX_ROWS:,} actions. Check that this is the right file, or import it in parts."
        ),
        rows_kind="the actions",
    )


def limits_text() -> str:
    return f"at most {filesizeformat(MAX_BYTES)} and {MAX_ROWS:,} actions"


def plan_import_refusal(*, by: User, plan: ActionPlan) -> Refusal | None:
    """Who may import actions into a plan: whoever manages it (``manages_plan``)."""
    return plan_management_refusal(Actor(by, plan.tenant_id), plan, "import actions into a plan")


@dataclass
class PlanFile:
    """An uploaded file as far as choosing its columns needs: its columns, the columns its
    headings suggest, how many rows it has, or the problems that stop it being read."""

    name: str
    sha256: str
    columns: list[FileColumn]
    suggested: dict[str, int]
    rows: int
    problems: list[Problem]
    sheet: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _report_footer(cells: list) -> bool:
    """The line a report file made by the service ends with (its history chain's head), so a
    plan downloaded and brought in again does not read it as an action."""
    texts = [cell_text(cell).strip() for cell in cells]
    filled = [text for text in texts if text]
    return len(filled) == 1 and texts[0].startswith(HISTORY_HEAD_LABEL + ":")


def _rows(table: Table) -> list[tuple[int, list]]:
    rows = [(number, cells) for number, cells in table.rows() if not _report_footer(cells)]
    if not rows and not table.problems:
        table.refuse("The file has no actions below its headings.")
    return rows


def _holds_actions(headings: list) -> bool:
    """A sheet whose headings name the fields every row needs: in a workbook the service
    exported, the plan's sheet after the summary."""
    return set(REQUIRED) <= set(suggested_columns(headings))


def _open(file: IO[bytes]) -> tuple[Table, list[tuple[int, list]]]:
    file.seek(0)
    table = open_table(
        file,
        name=file.name or "",
        size=file.size,
        limits=_limits(),
        sheet_fits=_holds_actions,
    )
    rows = _rows(table) if table.headings is not None else []
    return table, rows


def plan_file_read(*, file) -> PlanFile:
    """Read an uploaded file for choosing its columns: refused here when it cannot be read at
    all (its type, size, number of rows, a damaged workbook), before any choice is asked."""
    table, rows = _open(file)
    columns = file_columns(table.headings or [], rows[0][1] if rows else None)
    if table.ok and not columns:
        table.refuse("The first row must hold the column headings.")
    return PlanFile(
        name=file.name or "",
        sha256=table.sha256,
        columns=columns,
        suggested=suggested_columns(table.headings or []),
        rows=len(rows),
        problems=list(table.problems),
        sheet=table.sheet,
    )


@dataclass
class PlanImportReport:
    """The outcome of an import or its dry run: every problem, or what was (or would be)
    imported."""

    plan: ActionPlan
    file_name: str
    sha256: str
    choices: ImportChoices
    problems: list[Problem] = field(default_factory=list)
    actions: list[ImportedAction] = field(default_factory=list)
    record: PlanImport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def imported(self) -> bool:
        return self.record is not None

    @property
    def file_problems(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.field]

    @property
    def state_counts(self) -> list[tuple[str, int]]:
        counts = {state.value: 0 for state in Action.State}
        for action in self.actions:
            counts[action.state] += 1
        return [(Action.State(state).label, n) for state, n in counts.items() if n]

    @property
    def step_count(self) -> int:
        return sum(len(action.steps) for action in self.actions)

    @property
    def progress_count(self) -> int:
        return sum(1 for action in self.actions if action.progress_note)

    @property
    def earliest(self) -> datetime.date | None:
        return min((a.earliest for a in self.actions if a.earliest), default=None)

    @property
    def latest(self) -> datetime.date | None:
        return max((max(a.dates) for a in self.actions if a.dates), default=None)


class PlanImportRefused(ValidationError):
    """The import found problems and changed nothing; ``report`` lists them all."""

    def __init__(self, report: PlanImportReport):
        self.report = report
        super().__init__([str(problem) for problem in report.problems])


def plan_import(
    *, plan: ActionPlan, by: User, file, choices: ImportChoices, dry_run: bool = False
) -> PlanImportReport:
    """Import the actions in ``file`` (a Django ``File`` or upload, named as the person named
    it) into ``plan``, reading each field from the column ``choices`` gives it.

    A dry run writes nothing and returns every problem with what would be imported. Otherwise
    the import happens in one transaction, or not at all: with any problem it raises
    ``PlanImportRefused``, carrying the same report.
    """
    refusal = plan_import_refusal(by=by, plan=plan)
    if refusal is not None:
        refusal.raise_error()
    table, rows = _open(file)
    report = PlanImportReport(
        plan=plan, file_name=file.name or "", sha256=table.sha256, choices=choices
    )
    report.problems.extend(table.problems)
    # Columns may hold values below no heading; each can be chosen (``file_columns``).
    width = max([len(table.headings or [])] + [len(cells) for _row, cells in rows])
    if dry_run:
        _check(report, plan, rows, width=width)
        return report
    try:
        with transaction.atomic():
            # Locked, as adding an action locks it: references are checked against the plan
            # as it stands while the import writes.
            plan = (
                ActionPlan.objects.select_for_update(of=("self",))
                .select_related("tenant", "framework", "partner")
                .get(pk=plan.pk, tenant_id=plan.tenant_id)
            )
            refusal = plan_import_refusal(by=by, plan=plan)
            if refusal is not None:
                refusal.raise_error()
            report.plan = plan
            _check(report, plan, rows, width=width)
            if not report.ok:
                raise PlanImportRefused(report)
            _write(report, by=by)
    except IntegrityError:
        report.record = None
        report.problems.append(
            Problem(
                None,
                "The plan changed while the file was being imported, so nothing was imported. "
                "Check the file again.",
            )
        )
        raise PlanImportRefused(report) from None
    return report


def _check(
    report: PlanImportReport, plan: ActionPlan, rows: list[tuple[int, list]], *, width: int
) -> None:
    if report.problems:
        return  # the file itself cannot be read: nothing else is worth saying
    facts = PlanFacts.read(
        plan, today=timezone.localdate(), default_body_id=report.choices.sign_off_body_id
    )
    report.problems.extend(choice_problems(report.choices, width, facts))
    if report.problems:
        return
    report.actions, problems = check_rows(rows, report.choices, facts)
    report.problems.extend(problems)
    if report.problems:
        report.actions = []


def _start_of(day: datetime.date, second: int = 0) -> datetime.datetime:
    """A moment early on ``day`` in the service's time zone (UK time): the file gives dates, not
    times, and events on one day keep their order by the second."""
    moment = datetime.datetime.combine(day, datetime.time(0, second // 60, second % 60))
    return timezone.make_aware(moment, timezone.get_default_timezone())


def _write(report: PlanImportReport, *, by: User) -> None:
    plan, now = report.plan, timezone.now()
    tenant_id = plan.tenant_id
    record = PlanImport.objects.create(
        tenant_id=tenant_id,
        plan=plan,
        file_name=report.file_name[:200],
        sha256=report.sha256,
        by=by,
        at=now,
        actions=len(report.actions),
        steps=report.step_count,
        progress_updates=report.progress_count,
    )

    actions, moments = [], []
    for imported in report.actions:
        # Each event of the action, in order, at its date: the action first, then its steps,
        # then its progress note; an event the file does not date happened by the import.
        second = 0
        created = _start_of(imported.earliest) if imported.earliest else now
        step_moments = []
        for step in imported.steps:
            if step.on is None:
                step_moments.append(now)
            else:
                second += 1
                step_moments.append(_start_of(step.on, second))
        progress_at = None
        if imported.progress_note:
            second += 1
            progress_at = _start_of(imported.progress_date, second)
        moments.append((created, step_moments, progress_at))
        actions.append(
            Action(
                tenant_id=tenant_id,
                plan=plan,
                reference=imported.reference,
                title=imported.title,
                description=imported.description,
                lead_officer_id=imported.lead_officer_id,
                lead_partner_id=imported.lead_partner_id,
                due_date=imported.due_date,
                sign_off_body_id=imported.sign_off_body_id,
                # The state the history ends in; set here as the bulk-created actions of the
                # tests are, since it is protected from being assigned.
                state=imported.steps[-1].to_state if imported.steps else imported.state,
                state_changes=len(imported.steps),
                state_changed_at=step_moments[-1] if step_moments else created,
                plan_import=record,
            )
        )
    Action.objects.bulk_create(actions, batch_size=BATCH)
    # ``created_at`` is filled in as the rows are inserted; the import gives its own.
    for action, (created, _steps, _progress) in zip(actions, moments, strict=True):
        action.created_at = created
    Action.objects.bulk_update(actions, ["created_at"], batch_size=BATCH)

    content_type = ContentType.objects.get_for_model(Action)
    links, supporting, logs, updates = [], [], [], []
    for action, imported, (_created, step_moments, progress_at) in zip(
        actions, report.actions, moments, strict=True
    ):
        links.extend(
            ActionRecommendation(tenant_id=tenant_id, action=action, recommendation_id=pk)
            for pk in imported.recommendation_ids
        )
        supporting.extend(
            ActionSupportingPartner(tenant_id=tenant_id, action=action, partner_id=pk)
            for pk in imported.supporting_partner_ids
            if pk != imported.lead_partner_id
        )
        logs.extend(
            TransitionLog(
                tenant_id=tenant_id,
                content_type=content_type,
                object_id=action.pk,
                transition=step.name,
                from_state=step.from_state,
                to_state=step.to_state,
                actor=None,
                comment=step.comment,
                at=at,
                recorded_at=now,
                recorded_by=by,
            )
            for step, at in zip(imported.steps, step_moments, strict=True)
        )
        if progress_at is not None:
            updates.append(
                ProgressUpdate(
                    tenant_id=tenant_id,
                    action=action,
                    author=by,
                    text=imported.progress_note,
                    rag=imported.officer_rag,
                    created_at=progress_at,
                    plan_import=record,
                )
            )
    ActionRecommendation.objects.bulk_create(links, batch_size=BATCH * 2)
    ActionSupportingPartner.objects.bulk_create(supporting, batch_size=BATCH * 2)
    TransitionLog.objects.bulk_create(logs, batch_size=BATCH * 2)
    ProgressUpdate.objects.bulk_create(updates, batch_size=BATCH)

    _record(report, record, by=by)
    report.record = record


IMPORT_LABELS = {
    "file": "File",
    "sha256": "SHA-256",
    "actions": "Actions",
    "steps": "Steps recorded later",
    "progress_updates": "Progress notes recorded later",
}


def _record(report: PlanImportReport, record: PlanImport, *, by: User) -> None:
    """One entry in the plan's record for the whole import; in an endorsed plan it is a
    variation, and the endorsing body is told."""
    plan = report.plan
    count = record.actions
    what = f"{count} {'action' if count == 1 else 'actions'} imported from {record.file_name}"
    after = {
        "file": record.file_name,
        "sha256": record.sha256,
        "actions": str(record.actions),
        "steps": str(record.steps),
        "progress_updates": str(record.progress_updates),
    }
    if plan.state == ActionPlan.State.ENDORSED:
        plan_variation_record(
            plan=plan,
            by=by,
            change=what,
            summary=f"Variation: {what}",
            labels=IMPORT_LABELS,
            after=after,
        )
        return
    audit_record(
        tenant_id=plan.tenant_id,
        actor=by,
        subject_type=AuditEntry.Subject.PLAN,
        subject_id=plan.pk,
        subject_label=plan.title,
        summary=what[:1].upper() + what[1:],
        labels=IMPORT_LABELS,
        before={},
        after=after,
        always=True,
    )
