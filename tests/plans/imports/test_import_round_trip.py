"""A plan the service exported imports back, with the columns matched by their headings, into the
same actions, states and dates."""

import csv
import datetime
import io

import pytest
import time_machine
from django.utils import timezone
from openpyxl import Workbook

from plans import services as plan_services
from plans.imports.services import plan_file_read, plan_import
from plans.models import Action
from plans.reports.as_of import plan_report
from plans.reports.report import COLUMNS, table
from tests.plans.imports.helpers import suggested, upload
from workflow.services import transition_perform

LONDON = timezone.get_default_timezone()
TODAY = datetime.date.today()


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


def ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


@pytest.fixture
def lived_plan(story):
    """The story's plan after months of work: an action in every state, one returned by its
    board and resubmitted, progress notes, a supporting partner."""
    with time_machine.travel(at(ago(200)), tick=False):
        proposed = story.action("1.1", title="Publish the threshold document")
        agreed = story.action("1.2", title="Agree the audit programme")
        training = story.action(
            "1.3", title="Train every manager", supporting_partners=[story.health]
        )
        returned = story.action("1.4", title="Recorded supervision")
        signed = story.action("1.5", title="Joint protocol with the police")
        withdrawn = story.action("1.6", title="Superseded by 1.3")
        for action in (agreed, training, returned, signed, withdrawn):
            transition_perform(obj=action, name="agree", user=story.alice)
    with time_machine.travel(at(ago(150)), tick=False):
        for action in (training, returned, signed):
            transition_perform(obj=Action.objects.get(pk=action.pk), name="start", user=story.bob)
        plan_services.progress_add(action=training, author=story.bob, text="Scoping", rag="amber")
    with time_machine.travel(at(ago(100)), tick=False):
        for action in (returned, signed):
            plan_services.evidence_add_link(
                action=action, by=story.bob, url="https://example.org/m", description="Minutes"
            )
            plan_services.action_set_completion_statement(action=action, by=story.bob, text="Done.")
            transition_perform(
                obj=Action.objects.get(pk=action.pk), name="submit_evidence", user=story.bob
            )
        transition_perform(
            obj=Action.objects.get(pk=withdrawn.pk),
            name="withdraw",
            user=story.alice,
            comment="Superseded by 1.3.",
        )
    with time_machine.travel(at(ago(60)), tick=False):
        transition_perform(
            obj=Action.objects.get(pk=returned.pk),
            name="send_back",
            user=story.carol,
            comment="Show the audit.",
        )
        transition_perform(obj=Action.objects.get(pk=signed.pk), name="sign_off", user=story.carol)
        plan_services.progress_add(
            action=training, author=story.bob, text="Three of five trained", rag="green"
        )
    assert proposed.state == "proposed"
    return story.plan


def exported(plan, kind: str) -> bytes:
    """The plan's report as of today as the service exports it: with the report formats'
    own writers where they are built, otherwise written here the same way (``COLUMNS`` and
    ``table``; dates as ISO text in CSV and as dates in a workbook that opens with a summary)."""
    report = plan_report(plan=plan, as_of=timezone.localdate())
    try:
        from plans.reports.formats import report_file
    except ImportError:
        return _written_here(report, kind)
    return report_file(report, kind).content


def _written_here(report, kind: str) -> bytes:
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for cells in table(report):
            writer.writerow(["" if cell is None else cell for cell in cells])
        return ("\ufeff" + out.getvalue()).encode()
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append([report.tenant_name])
    summary.append([f"Progress as of {report.as_of:%d %B %Y}"])
    sheet = workbook.create_sheet(report.plan_title[:31])
    sheet.append(COLUMNS)
    for cells in table(report):
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def new_plan(story):
    return plan_services.action_plan_create(
        tenant=story.tenant,
        framework=story.framework,
        title="Laming plan, brought in",
        owner_body=story.executive,
        sign_off_bodies=[story.lscb, story.management_team],
    )


def rows(plan, day):
    """What the report says of each action, leaving out the due date first given, which the
    import does not take, and which the plan's ids differ in."""
    return {
        row.reference: (
            row.title,
            row.recommendations,
            row.lead_officer,
            row.lead_partner,
            row.supporting_partners,
            row.due_date,
            row.state,
            row.schedule_rag,
            row.officer_rag,
            row.progress_note,
            row.progress_date,
            row.step_dates,
        )
        for row in plan_report(plan=plan, as_of=day).rows
    }


def states(plan, day):
    """States and step dates on a past day, of the actions whose whole history the export dates:
    not a proposed action (no date says when it was added, so it exists from the import), nor a
    return or a withdrawal (no date says when: they are dated at the import)."""
    return {
        row.reference: (row.state, row.step_dates)
        for row in plan_report(plan=plan, as_of=day).rows
        if row.reference not in ("1.1", "1.4", "1.6")
    }


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_exported_plan_imports_back_with_the_same_actions_states_and_dates(
    story, lived_plan, kind
):
    file = upload(exported(lived_plan, kind), f"laming-progress.{kind}")
    read = plan_file_read(file=file)
    assert read.ok and read.rows == 6
    if kind == "xlsx":
        assert read.sheet == "Laming action plan"  # after the summary
    copy = new_plan(story)

    report = plan_import(
        plan=copy,
        by=story.alice,
        file=file,
        choices=suggested(file, sign_off_body_id=story.lscb.pk),
    )

    assert report.record.actions == 6
    today = timezone.localdate()
    assert rows(copy, today) == rows(lived_plan, today)
    for days in (201, 200, 150, 120, 100, 60, 30):
        assert states(copy, ago(days)) == states(lived_plan, ago(days)), days
    returned = Action.objects.get(plan=copy, reference="1.4")
    assert returned.state == "in_progress" and returned.sign_off_body == story.lscb


def test_a_workbook_with_several_plans_sheets_is_refused_naming_them(story, lived_plan):
    workbook = Workbook()
    workbook.active.title = "Summary"
    for title in ("Laming plan", "Police plan"):
        sheet = workbook.create_sheet(title)
        sheet.append(COLUMNS)
        sheet.append(["Theme", "1. Rec", "1.1", "An action"])
    out = io.BytesIO()
    workbook.save(out)
    read = plan_file_read(file=upload(out.getvalue(), "every-plan.xlsx"))
    assert [problem.message for problem in read.problems] == [
        "The workbook has 2 sheets that could be imported ('Laming plan', 'Police plan'): "
        "delete the others, or save the one to import as CSV."
    ]
