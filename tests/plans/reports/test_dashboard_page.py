"""The organisation's dashboard: every plan side by side as of a date, as charts with their
figures, and one workbook of every plan."""

import datetime
import io

import openpyxl
import time_machine
from django.urls import reverse
from django.utils import timezone

from plans.models import Action
from plans.reports.dashboard import organisation_dashboard
from plans.reports.tenant import tenant_progress
from tests.plans.reports.test_as_of import at
from tests.plans.test_partnerships import agencies, police_action  # noqa: F401 (a fixture)


def url(name: str, story) -> str:
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug})


def test_the_organisation_totals_are_the_sum_of_its_plans(
    story,
    agencies,  # noqa: F811 (the fixture imported above)
):
    story.action_in(Action.State.SIGNED_OFF, "1.1")
    story.action_in(Action.State.IN_PROGRESS, "1.2")
    police_action(story, agencies, reference="P1")

    progress = tenant_progress(tenant=story.tenant, as_of=timezone.localdate())

    assert [r.plan_title for r in progress.reports] == [
        "Bedfordshire Police plan",
        "Laming action plan",
    ]
    assert progress.counts.total == 3
    assert progress.counts.state_count(Action.State.SIGNED_OFF) == 1
    assert progress.signed_off_over_time[-1] == (timezone.localdate(), 1)
    rag, state, _signed = organisation_dashboard(progress)
    assert rag.columns[0] == "Plan"
    assert [label for label, _ in state.rows] == [
        "Bedfordshire Police plan",
        "Laming action plan",
        "All plans",
    ]
    assert state.rows[-1][1][state.columns.index("Signed off") - 1] == 1


def test_the_dashboard_page_shows_each_plan_as_it_stood(client, story):
    day = timezone.localdate() - datetime.timedelta(days=3)
    with time_machine.travel(at(day), tick=False):
        story.action_in(Action.State.AGREED, "1.1")
    story.action_in(Action.State.AGREED, "1.2")
    client.force_login(story.victor)

    today = client.get(url("dashboard", story)).content.decode()
    then = client.get(url("dashboard", story), {"as_of": day.isoformat()})
    page = then.content.decode()

    assert "Laming action plan" in today
    assert then.status_code == 200
    assert f"progress as of {day:%-d %B %Y}" in page
    assert 'role="img"' in page
    assert "All plans" in page
    assert "CANARY" not in today + page


def test_a_day_with_no_actions_says_so_and_offers_no_download(client, story):
    client.force_login(story.victor)
    page = client.get(url("dashboard", story)).content.decode()
    assert "No plan had any actions" in page
    response = client.get(url("dashboard_workbook", story))
    assert response.status_code == 302


def test_a_future_date_is_refused_with_a_message(client, story):
    client.force_login(story.victor)
    response = client.get(url("dashboard", story), {"as_of": "2999-01-01"})
    assert response.status_code == 400
    assert "today or in the past" in response.content.decode()


def test_the_workbook_has_a_summary_and_a_sheet_per_plan(
    client,
    story,
    agencies,  # noqa: F811 (the fixture imported above)
):
    story.action_in(Action.State.AGREED, "1.1")
    police_action(story, agencies, reference="P1")
    client.force_login(story.victor)

    response = client.get(url("dashboard_workbook", story))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 3
    assert book.sheetnames[0] == "Summary"
