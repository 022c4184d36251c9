"""Importing an existing plan with its history: every rule of the service, each bad file, all or
nothing, and the history written at the dates the file gives."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from plans.imports import services as import_services
from plans.imports.columns import ImportChoices
from plans.imports.services import PlanImportRefused, plan_file_read, plan_import
from plans.models import (
    Action,
    ActionRecommendation,
    ActionSupportingPartner,
    PlanImport,
    ProgressUpdate,
)
from tenants.models import AuditEntry
from tenants.scoping import tenant_scope
from tests.plans.factories import RecommendationFactory
from tests.plans.imports.helpers import (
    HEADINGS,
    counts,
    csv_bytes,
    import_plan,
    problems_of,
    row,
    suggested,
    upload,
    xlsx_bytes,
)
from tests.plans.test_partnerships import agencies  # noqa: F401 (a fixture)
from tests.tenants.factories import Role, member
from workflow.models import TransitionLog

LONDON = timezone.get_default_timezone()


def local(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, LONDON).date()


def steps_of(action: Action) -> list[tuple[str, str, str, datetime.date]]:
    return [
        (log.transition, log.from_state, log.to_state, local(log.at))
        for log in TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Action), object_id=action.pk
        )
    ]


def refused(story, content: bytes, **kw) -> list[tuple[int | None, str]]:
    """The problems of a dry run, which the import itself refuses with, changing nothing."""
    before = counts(story.plan)
    report = import_plan(story, content, dry_run=True, **kw)
    assert not report.ok
    with pytest.raises(PlanImportRefused) as error:
        import_plan(story, content, **kw)
    assert problems_of(error.value.report) == problems_of(report)
    assert counts(story.plan) == before
    return problems_of(report)


def has(found, row_number, text) -> bool:
    return any(r == row_number and text in message for r, message in found)


# -- a plan with its history ------------------------------------------------------------------


def test_each_row_becomes_an_action_in_its_state_with_its_steps_at_their_dates(story):
    report = import_plan(story, csv_bytes())

    actions = {a.reference: a for a in Action.objects.filter(plan=story.plan)}
    assert {ref: a.state for ref, a in actions.items()} == {
        "1.1": "proposed",
        "1.2": "agreed",
        "1.3": "in_progress",
        "1.4": "evidenced",
        "1.5": "signed_off",
        "1.6": "withdrawn",
    }
    d = datetime.date
    assert steps_of(actions["1.5"]) == [
        ("agree", "proposed", "agreed", d(2009, 5, 1)),
        ("start", "agreed", "in_progress", d(2009, 5, 2)),
        ("submit_evidence", "in_progress", "evidenced", d(2009, 9, 1)),
        ("sign_off", "evidenced", "signed_off", d(2009, 10, 5)),
    ]
    assert steps_of(actions["1.1"]) == []
    withdrawn = steps_of(actions["1.6"])
    assert [step[:3] for step in withdrawn] == [
        ("agree", "proposed", "agreed"),
        ("withdraw", "agreed", "withdrawn"),
    ]
    assert withdrawn[1][3] == timezone.localdate()  # the file does not date the withdrawal
    assert report.record.actions == 6 and report.record.steps == 12
    assert report.record.progress_updates == 2


def test_an_action_exists_from_its_earliest_date_and_its_state_is_its_last_step(story):
    import_plan(story, csv_bytes())

    for action in Action.objects.filter(plan=story.plan):
        logs = list(
            TransitionLog.objects.filter(
                content_type=ContentType.objects.get_for_model(Action), object_id=action.pk
            )
        )
        assert action.state == (logs[-1].to_state if logs else "proposed")
        assert action.state_changes == len(logs)
        if logs:
            assert action.state_changed_at == logs[-1].at
            assert action.created_at <= logs[0].at
    started = Action.objects.get(plan=story.plan, reference="1.5")
    assert local(started.created_at) == datetime.date(2009, 5, 1)
    never_dated = Action.objects.get(plan=story.plan, reference="1.1")
    assert local(never_dated.created_at) == timezone.localdate()


def test_details_links_and_the_progress_note_are_imported(story):
    import_plan(story, csv_bytes())

    action = Action.objects.get(plan=story.plan, reference="1.3")
    assert (action.title, action.lead_officer, action.lead_partner) == (
        "Train every front-line manager",
        story.bob,
        story.police,
    )
    assert action.due_date == datetime.date(2010, 3, 31)
    assert action.sign_off_body == story.lscb  # chosen for the rows that name none
    assert list(
        ActionRecommendation.objects.filter(action=action).values_list("recommendation", flat=True)
    ) == [story.recommendation.pk]
    assert list(
        ActionSupportingPartner.objects.filter(action=action).values_list("partner", flat=True)
    ) == [story.health.pk]
    update = ProgressUpdate.objects.get(action=action)
    assert (update.text, update.rag, local(update.created_at)) == (
        "Two of five cohorts trained.",
        "amber",
        datetime.date(2009, 11, 30),
    )


def test_the_history_is_marked_as_recorded_later_by_whom_and_from_which_file(story):
    report = import_plan(story, csv_bytes(), name="Laming plan 2009.csv")

    record = PlanImport.objects.get()
    assert record == report.record
    assert (record.plan, record.by, record.file_name) == (
        story.plan,
        story.alice,
        "Laming plan 2009.csv",
    )
    assert len(record.sha256) == 64
    logs = TransitionLog.objects.all()
    assert {(log.recorded_by_id, log.recorded_at, log.actor_id) for log in logs} == {
        (story.alice.pk, record.at, None)
    }
    assert set(Action.objects.filter(plan=story.plan).values_list("plan_import", flat=True)) == {
        record.pk
    }
    assert set(ProgressUpdate.objects.values_list("plan_import", flat=True)) == {record.pk}
    entry = AuditEntry.objects.get(subject_type=AuditEntry.Subject.PLAN, summary__contains="import")
    assert entry.summary == "6 actions imported from Laming plan 2009.csv"
    assert entry.actor == story.alice and entry.subject_id == story.plan.pk
    assert {c["field"]: c["after"] for c in entry.changes}["sha256"] == record.sha256


def test_only_one_plan_record_and_no_action_records_are_written(story):
    before = AuditEntry.objects.count()
    import_plan(story, csv_bytes())
    assert AuditEntry.objects.count() == before + 1


def test_an_import_into_an_endorsed_plan_is_a_variation_the_endorsing_body_hears_of(story):
    from notifications.models import Notification
    from workflow.services import transition_perform

    story.action("9.9")
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    transition_perform(obj=story.plan, name="endorse", user=story.dave)
    told_before = Notification.objects.count()

    import_plan(story, csv_bytes())

    entry = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PLAN).latest("pk")
    assert entry.summary == "Variation: 6 actions imported from laming-plan.csv"
    told = set(
        Notification.objects.filter(title__contains="imported from").values_list(
            "recipient", flat=True
        )
    )
    assert told == {story.mark.pk, story.dave.pk}
    # Only the variation: nobody is told of the history, or made lead officer again.
    assert Notification.objects.count() == told_before + 2


def test_a_dry_run_reports_what_it_would_import_and_changes_nothing(story):
    before = counts(story.plan)
    report = import_plan(story, csv_bytes(), dry_run=True)
    assert report.ok and not report.imported
    assert [a.reference for a in report.actions] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"]
    assert dict(report.state_counts)["Signed off"] == 1
    assert (report.step_count, report.progress_count) == (12, 2)
    assert report.earliest == datetime.date(2009, 5, 1)
    assert counts(story.plan) == before


def test_an_action_in_progress_with_an_evidenced_date_was_returned(story):
    content = csv_bytes(
        [
            row(
                "2.1",
                state="In progress",
                agreed="2009-06-01",
                started="2009-06-02",
                evidenced="2009-08-01",
            ),
            row(
                "2.2",
                state="In progress",
                agreed="2009-06-01",
                started="2009-06-02",
                evidenced="2009-08-01",
                signed_off="2009-09-01",
            ),
        ]
    )
    import_plan(story, content)
    returned = Action.objects.get(plan=story.plan, reference="2.1")
    reopened = Action.objects.get(plan=story.plan, reference="2.2")
    assert [s[0] for s in steps_of(returned)] == ["agree", "start", "submit_evidence", "send_back"]
    # The file does not say when it was returned: only that it was, by the import.
    assert steps_of(returned)[-1][2:] == ("in_progress", timezone.localdate())
    assert [s[0] for s in steps_of(reopened)][-1] == "reopen"
    assert returned.state == reopened.state == "in_progress"


def test_an_imported_evidenced_action_can_then_be_signed_off_by_its_body(story):
    from workflow.services import transition_perform

    import_plan(story, csv_bytes())
    evidenced = Action.objects.get(plan=story.plan, reference="1.4")
    outcome = transition_perform(obj=evidenced, name="sign_off", user=story.carol)
    assert outcome.fired and outcome.obj.state == "signed_off"
    assert outcome.obj.state_changes == 4


# -- what the file may hold -------------------------------------------------------------------


def test_the_headings_of_the_services_own_export_are_matched_to_every_field(story):
    from plans.reports.report import COLUMNS

    read = plan_file_read(file=upload(csv_bytes([], COLUMNS)))
    assert set(read.suggested) == {
        "reference",
        "title",
        "recommendations",
        "lead_officer",
        "lead_partner",
        "supporting_partners",
        "due_date",
        "state",
        "officer_rag",
        "progress_note",
        "progress_date",
        "agreed_on",
        "started_on",
        "evidenced_on",
        "signed_off_on",
    }
    assert COLUMNS[read.suggested["title"]] == "Action"


def test_headings_in_any_case_and_order_are_suggested(story):
    headings = ["ACTION TITLE", "ref", "status", "Date agreed", "Lead_Officer"]
    read = plan_file_read(file=upload(csv_bytes([["x", "1", "Agreed", "", ""]], headings)))
    assert read.suggested == {
        "title": 0,
        "reference": 1,
        "state": 2,
        "agreed_on": 3,
        "lead_officer": 4,
    }


def test_the_person_chooses_columns_whatever_the_headings(story):
    content = csv_bytes([["Our ref 7", "A", "Working together"]], ["Col 1", "Col 2", "Col 3"])
    choices = ImportChoices(columns={"reference": 1, "title": 2, "description": 0})
    report = import_plan(story, content, choices=choices)
    action = Action.objects.get(plan=story.plan, reference="A")
    assert (action.title, action.description) == ("Working together", "Our ref 7")
    assert report.record.actions == 1


@pytest.mark.parametrize(
    "dates",
    [
        ("2009-06-01", "2009-07-15", "2010-03-31"),
        ("01/06/2009", "15/07/2009", "31/03/2010"),
        ("01-06-2009", "15-07-2009", "31-03-2010"),
        ("1 June 2009", "15 July 2009", "31 March 2010"),
        ("1 Jun 2009", "15th Jul 2009", "31 Mar 2010"),
        (
            datetime.date(2009, 6, 1),
            datetime.datetime(2009, 7, 15, 0, 0),
            datetime.date(2010, 3, 31),
        ),
    ],
    ids=["iso", "slashes", "hyphens", "month-name", "short-month", "spreadsheet-dates"],
)
def test_iso_uk_and_spreadsheet_dates_are_read(story, dates):
    agreed, started, due = dates
    cells = row("3.1", state="In progress", agreed=agreed, started=started, due=due)
    in_workbook = isinstance(agreed, datetime.date)
    content = xlsx_bytes([cells]) if in_workbook else csv_bytes([cells])
    import_plan(story, content, name="plan.xlsx" if in_workbook else "plan.csv")
    action = Action.objects.get(plan=story.plan, reference="3.1")
    assert action.due_date == datetime.date(2010, 3, 31)
    assert [s[3] for s in steps_of(action)] == [
        datetime.date(2009, 6, 1),
        datetime.date(2009, 7, 15),
    ]


def test_a_workbook_imports_like_the_same_csv(story):
    report = import_plan(story, xlsx_bytes(), name="laming-plan.xlsx")
    assert report.record.actions == 6 and report.record.steps == 12


def test_cells_an_export_kept_from_being_read_as_formulas_read_back_as_written(story):
    content = csv_bytes([row("4.1", title="'=SUM(A1) is not a formula here")])
    import_plan(story, content)
    assert Action.objects.get(plan=story.plan, reference="4.1").title == (
        "=SUM(A1) is not a formula here"
    )


def test_recommendation_numbers_may_be_listed(story):
    RecommendationFactory(framework=story.framework, theme=story.recommendation.theme, number=7)
    import_plan(
        story, csv_bytes([row("5.1", recommendation="1, 7"), row("5.2", recommendation="")])
    )
    numbers = dict(
        ActionRecommendation.objects.filter(action__plan=story.plan).values_list(
            "action__reference", "recommendation__number"
        )
    )
    assert ActionRecommendation.objects.filter(action__reference="5.1").count() == 2
    assert "5.2" not in numbers


def test_a_lead_officer_may_be_named_by_e_mail(story):
    import_plan(story, csv_bytes([row("6.1", lead=story.dave.email.upper())]))
    assert Action.objects.get(plan=story.plan, reference="6.1").lead_officer == story.dave


# -- every rule, with the row it is broken on --------------------------------------------------

RULES = [
    pytest.param(
        [row(partner="Luton Police")],
        (2, "The lead partner 'Luton Police' is not one of Central Bedfordshire Council's"),
        id="unknown-lead-partner",
    ),
    pytest.param(
        [row(supporting="NHS Bedfordshire, Probation")],
        (2, "The supporting partner 'Probation' is not among"),
        id="unknown-supporting-partner",
    ),
    pytest.param(
        [row(lead="Zara Nobody")],
        (2, "The lead officer 'Zara Nobody' is not a member of Central Bedfordshire Council"),
        id="unknown-lead-officer",
    ),
    pytest.param(
        [row(lead="Victor Viewer")],
        (2, "Victor Viewer has read-only access and cannot lead an action"),
        id="viewer-as-lead",
    ),
    pytest.param(
        [row("1.1"), row("2.1"), row("1.1")],
        (4, "The reference 1.1 is also on row 2"),
        id="duplicate-reference-in-file",
    ),
    pytest.param(
        [row(recommendation="59")],
        (2, "Recommendation 59 is not in Laming 2009 (outline)"),
        id="unknown-recommendation",
    ),
    pytest.param(
        [row(recommendation="one")],
        (2, "The recommendation numbers 'one' are not numbers"),
        id="recommendation-not-a-number",
    ),
    pytest.param(
        [row(state="Evidenced", agreed="2009-06-01", started="2009-06-02")],
        (2, "The state is Evidenced, so the row needs the date evidenced"),
        id="state-with-step-dates-missing",
    ),
    pytest.param(
        [row(state="Signed off", agreed="2009-06-01", evidenced="2009-07-01")],
        (2, "gives the date evidenced but not the date work started"),
        id="a-step-date-left-out",
    ),
    pytest.param(
        [row(state="In progress", agreed="2009-06-10", started="2009-06-01")],
        (2, "out of order: the date work started (2009-06-01) is before the date agreed"),
        id="steps-out-of-order",
    ),
    pytest.param(
        [row(state="Proposed", agreed="2009-06-10")],
        (2, "The state is Proposed, but the row gives the date agreed"),
        id="proposed-with-a-date-agreed",
    ),
    pytest.param(
        [row(state="Completed")],
        (2, "The state 'Completed' is not one the service knows"),
        id="unknown-state",
    ),
    pytest.param([row(state="")], (2, "The state is missing"), id="no-state"),
    pytest.param(
        [row(rag="Purple", progress="On track", progress_dated="2009-06-01")],
        (2, "The officer's RAG 'Purple' is not Red, Amber or Green"),
        id="unknown-rag",
    ),
    pytest.param(
        [row(rag="Blue", progress="Done", progress_dated="2009-06-01")],
        (2, "The officer's RAG is Blue, which the service gives signed-off actions itself"),
        id="blue-rag",
    ),
    pytest.param(
        [row(rag="Green", progress="On track")],
        (2, "The progress note has no date"),
        id="progress-without-date",
    ),
    pytest.param(
        [row(rag="Green", progress_dated="2009-06-01")],
        (2, "The row gives an officer's RAG but no progress note"),
        id="rag-without-note",
    ),
    pytest.param(
        [row(state="Agreed", agreed="2009-06-01", lead="", due="")],
        (2, "so the row needs a lead officer and a due date, as agreeing an action does"),
        id="agreed-without-lead-or-due-date",
    ),
    pytest.param(
        [
            row(
                state="Withdrawn",
                agreed="2009-06-01",
                started="2009-06-02",
                evidenced="2009-06-03",
                signed_off="2009-06-04",
            )
        ],
        (2, "a signed-off action cannot be withdrawn"),
        id="signed-off-then-withdrawn",
    ),
    pytest.param([row(title="")], (2, "Enter a title for the action."), id="no-title"),
    pytest.param(
        [row(reference="1.1.1.1.1.1.1.1.1.1.1")],
        (2, "The reference must be 20 characters or fewer"),
        id="reference-too-long",
    ),
    pytest.param(
        [row(title="Bell\x07")],
        (2, "Remove the control characters from the title"),
        id="control-character",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), RULES)
def test_each_rule_is_listed_with_its_row_and_nothing_is_imported(story, rows, expected):
    found = refused(story, csv_bytes(rows))
    assert has(found, *expected), found


def test_a_reference_the_plan_already_has_is_refused(story):
    story.action("1.1")
    found = refused(story, csv_bytes([row("1.1")]))
    assert has(found, 2, "The plan already has an action 1.1")


def test_two_members_with_the_same_name_must_be_told_apart_by_e_mail(story):
    with tenant_scope(story.tenant):
        member(story.tenant, Role.OFFICER, full_name="Bob Officer")
    found = refused(story, csv_bytes([row(lead="Bob Officer")]))
    assert has(found, 2, "2 members of Central Bedfordshire Council are called Bob Officer")


def test_a_sign_off_body_must_be_one_the_plan_authorises(story):
    headings = [*HEADINGS, "Sign-off body"]
    rows = [
        [*row("1.1"), "Executive"],
        [*row("1.2"), "Children's Trust Board"],
        [*row("1.3"), "management team"],
    ]
    found = refused(story, csv_bytes(rows, headings))
    assert has(found, 2, "The Executive may not sign off actions in this plan")
    assert has(found, 3, "There is no sign-off body called 'Children's Trust Board'")
    assert not any(r == 4 for r, _ in found)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("03/31/2010", "'03/31/2010' looks like month/day/year, a US date"),
        ("March 31, 2010", "'March 31, 2010' puts the month first, as US dates do"),
        ("31/03/10", "'31/03/10' has a two-digit year"),
        ("31/02/2010", "'31/02/2010' is not a real date"),
        ("next week", "'next week' is not a date"),
        ("31/03/2201", "'31/03/2201' is in the year 2201; dates must be between 1950 and 2100"),
    ],
)
def test_a_bad_or_us_looking_date_is_refused_rather_than_guessed(story, value, message):
    found = refused(story, csv_bytes([row(due=value)]))
    assert has(found, 2, f"The due date {message}"), found


def test_a_number_in_a_date_column_of_a_workbook_is_refused(story):
    found = refused(story, xlsx_bytes([row(due=40268)]), name="plan.xlsx")
    assert has(found, 2, "The due date '40268' is a number, not a date"), found


def test_day_month_dates_in_a_file_with_us_dates_are_ambiguous(story):
    rows = [
        row("1.1", due="04/05/2010"),
        row("1.2", due="03/31/2010"),
        row("1.3", due="13/05/2010"),
    ]
    found = refused(story, csv_bytes(rows))
    assert has(found, 2, "The due date '04/05/2010' could be day/month or month/day")
    assert has(found, 3, "looks like month/day/year")
    assert not any(r == 4 for r, _ in found)  # 13/05/2010 can only be day first


def test_mixed_date_formats_are_refused_with_every_row_of_the_odd_form(story):
    rows = [
        row("1.1", due="2010-03-31"),
        row("1.2", due="2010-04-30"),
        row("1.3", due="04/05/2010"),
        row("1.4", due="31 May 2010"),
    ]
    found = refused(story, csv_bytes(rows))
    assert [r for r, _ in found] == [4]
    assert "Mixed date formats: the due date '04/05/2010' is written day/month/year" in found[0][1]
    assert "2 other dates in this file are written year first" in found[0][1]


def test_history_cannot_be_dated_after_today(story):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    found = refused(story, csv_bytes([row(state="Agreed", agreed=tomorrow)]))
    assert has(found, 2, f"The date agreed ({tomorrow}) is in the future")


def test_problems_on_many_rows_are_all_listed(story):
    rows = [
        row(f"1.{n}", partner="Luton Police" if n % 2 else "Bedfordshire Police")
        for n in range(1, 41)
    ]
    found = refused(story, csv_bytes(rows))
    assert [r for r, _ in found] == list(range(2, 42, 2))


# -- bad files: a clear message, nothing imported ----------------------------------------------


def test_a_required_field_left_unchosen_is_named_beside_its_field(story):
    content = csv_bytes([["Audit case files", "Proposed"]], ["Title", "State"])
    file = upload(content)
    found = refused(story, content, choices=suggested(file))
    assert found == [(None, "Choose the column that holds the reference.")]
    report = import_plan(story, content, choices=suggested(file), dry_run=True)
    assert report.problems[0].field == "reference"


def test_one_column_chosen_for_two_fields_is_refused(story):
    content = csv_bytes()
    choices = suggested(upload(content), columns={"description": 1})
    found = refused(story, content, choices=choices)
    assert found == [
        (
            None,
            "That column is already chosen for the Action; choose each column for one field only.",
        )
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.xlsx", b"PK\x03\x04" + b"\x00" * 200, "cannot be read as an Excel workbook"),
        ("plan.xlsx", xlsx_bytes()[:-300], "cannot be read as an Excel workbook"),
        ("plan.xlsx", b"Reference,Action\n", "not a genuine Excel workbook"),
        ("plan.pdf", b"%PDF-1.4\n", "Upload a CSV file (.csv) or an Excel workbook (.xlsx)"),
        ("plan.csv", b"", "The file is empty"),
        ("plan.csv", csv_bytes([]), "no actions below its headings"),
        ("plan.csv", "Reference\n1.1\n".encode("utf-16"), "not UTF-8 text"),
    ],
    ids=["damaged", "truncated", "renamed-csv", "pdf", "empty", "headings-only", "utf-16"],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(story, name, content, message):
    choices = ImportChoices(columns={"reference": 0, "title": 1})
    found = refused(story, content, name=name, choices=choices)
    assert len(found) == 1 and found[0][0] is None and message in found[0][1], found
    assert message in plan_file_read(file=upload(content, name)).problems[0].message


class Unreadable(SimpleUploadedFile):
    def read(self, *args):
        raise AssertionError("a file over the limit must not be read")


def test_a_fifty_megabyte_file_is_refused_before_it_is_read(story):
    huge = Unreadable("plan.xlsx", b"")
    huge.size = 50 * 1024 * 1024
    choices = ImportChoices(columns={"reference": 0, "title": 1})
    before = counts(story.plan)
    report = plan_import(plan=story.plan, by=story.alice, file=huge, choices=choices, dry_run=True)
    assert problems_of(report) == [
        (None, "The file is 50.0\xa0MB; a plan's file can be at most 10.0\xa0MB.")
    ]
    with pytest.raises(PlanImportRefused):
        plan_import(plan=story.plan, by=story.alice, file=huge, choices=choices)
    assert plan_file_read(file=huge).problems == report.problems
    assert counts(story.plan) == before


def test_a_hundred_thousand_rows_are_over_the_limit_which_is_said(story):
    content = csv_bytes([[f"{n}", f"Action {n}"] for n in range(100_000)], ["Reference", "Action"])
    found = refused(story, content)
    assert found == [
        (
            None,
            "The file has more than 5,000 rows; one import can bring in at most 5,000 actions. "
            "Check that this is the right file, or import it in parts.",
        )
    ]


def test_a_workbook_that_unpacks_to_too_much_is_refused(story, monkeypatch):
    from plans.spreadsheets import reading

    monkeypatch.setattr(
        import_services,
        "_limits",
        lambda: reading.Limits(
            max_bytes=10_000_000,
            max_rows=10,
            file_kind="a plan's file",
            too_many_rows="",
            rows_kind="the actions",
            max_unpacked_bytes=1000,
        ),
    )
    found = refused(story, xlsx_bytes(), name="plan.xlsx")
    assert "unpacks to" in found[0][1]


def test_another_tenants_export_naming_its_people_and_partners_lists_every_row(story):
    rows = [
        row(f"2.{n}", lead="Charlie Outsider", partner="Northumbria Police", state="Proposed")
        for n in range(1, 4)
    ]
    found = refused(story, csv_bytes(rows))
    for row_number in (2, 3, 4):
        assert has(found, row_number, "The lead officer 'Charlie Outsider' is not a member")
        assert has(found, row_number, "The lead partner 'Northumbria Police' is not one of")


# -- who may import ---------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["bob", "carol", "victor", "charlie"])
def test_only_those_who_manage_the_plan_may_import(story, person):
    before = counts(story.plan)
    with pytest.raises(PermissionDenied, match="Only managers can import actions into a plan"):
        import_plan(story, csv_bytes(), by=getattr(story, person), dry_run=True)
    with pytest.raises(PermissionDenied):
        import_plan(story, csv_bytes(), by=getattr(story, person))
    assert counts(story.plan) == before


def test_a_tenant_administrator_may_import(story):
    report = import_plan(story, csv_bytes(), by=story.erin)
    assert report.record.by == story.erin


def test_an_agency_plan_is_imported_into_by_that_agencys_managers_only(
    story,
    agencies,  # noqa: F811 (the fixture imported above)
):
    with pytest.raises(PermissionDenied, match="Only managers who work for Bedfordshire Police"):
        import_plan(story, csv_bytes(), plan=agencies.police_plan, by=agencies.hana, dry_run=True)
    report = import_plan(
        story,
        csv_bytes(),
        plan=agencies.police_plan,
        by=agencies.pete,
        sign_off_body_id=agencies.committee.pk,
    )
    assert report.record.plan == agencies.police_plan
    assert {a.sign_off_body for a in Action.objects.filter(plan=agencies.police_plan)} == {
        agencies.committee
    }


# -- all or nothing, in bulk ------------------------------------------------------------------


def test_a_reference_taken_while_importing_leaves_nothing_imported(story, monkeypatch):
    """The import checks the plan again once it holds the plan's lock: an action added between
    the dry run and the import is found then, and nothing is written."""
    content = csv_bytes()
    dry = import_plan(story, content, dry_run=True)
    assert dry.ok
    story.action("1.4")
    before = counts(story.plan)
    with pytest.raises(PlanImportRefused, match=r"The plan already has an action 1\.4"):
        import_plan(story, content)
    assert counts(story.plan) == before


def test_two_thousand_rows_are_imported_in_batches_not_row_by_row(story):
    rows = [
        row(
            f"9.{n}",
            state="In progress",
            agreed="2009-06-01",
            started="2009-07-01",
            supporting="NHS Bedfordshire",
            rag="Green",
            progress="On track",
            progress_dated="2009-08-01",
        )
        for n in range(2_000)
    ]
    content = csv_bytes(rows)
    file = upload(content)
    choices = suggested(file, sign_off_body_id=story.lscb.pk)
    with CaptureQueriesContext(connection) as queries:
        report = plan_import(plan=story.plan, by=story.alice, file=file, choices=choices)
    assert report.record.actions == 2_000
    assert Action.objects.filter(plan=story.plan).count() == 2_000
    assert TransitionLog.objects.count() == 4_000
    # A handful of reads, then a few statements per table and batch: nowhere near one per row
    # (SQLite, the demo's database, takes fewer rows in a statement).
    assert len(queries) <= (50 if connection.vendor == "postgresql" else 200), len(queries)


def test_a_date_that_cannot_be_read_is_one_problem_not_also_a_missing_step(story):
    found = refused(story, csv_bytes([row(state="Agreed", agreed="06/13/2009")]))
    assert found == [
        (
            2,
            "The date agreed '06/13/2009' looks like month/day/year, a US date; write the day "
            "first (13/06/2009) or as 2009-06-13.",
        )
    ]


WITHDRAWN_HEADINGS = [*HEADINGS, "Withdrawn on"]


def test_a_withdrawn_on_column_dates_the_withdrawal(story):
    rows = [[*row("7.1", state="Withdrawn", agreed="2009-06-01"), "2009-08-20"]]
    import_plan(story, csv_bytes(rows, WITHDRAWN_HEADINGS))
    action = Action.objects.get(plan=story.plan, reference="7.1")
    assert steps_of(action)[-1] == ("withdraw", "agreed", "withdrawn", datetime.date(2009, 8, 20))
    assert action.state == "withdrawn"


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            [*row(state="Withdrawn", agreed="2009-06-01"), "2009-05-20"],
            "the date withdrawn (2009-05-20) is before the date agreed (2009-06-01)",
        ),
        (
            [*row(state="Agreed", agreed="2009-06-01"), "2009-08-20"],
            "The row gives the date withdrawn, but the state is Agreed",
        ),
    ],
    ids=["before-the-last-step", "not-withdrawn"],
)
def test_a_withdrawn_date_must_fit_the_state_and_the_steps(story, cells, message):
    found = refused(story, csv_bytes([cells], WITHDRAWN_HEADINGS))
    assert has(found, 2, message), found
