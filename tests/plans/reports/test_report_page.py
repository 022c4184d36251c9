"""The report page and its downloads: any date, the same rows in every format, and a clear
message for a date that cannot be reported on."""

import csv
import datetime
import io
import sys

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from plans import services as plan_services
from plans.models import Action, PublishedReport
from tests.plans.reports.test_as_of import at


def url(name: str, story, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


@pytest.fixture
def moved(story):
    """Action 1.1, due in 30 days from a week ago, moved out by two months yesterday."""
    week_ago = timezone.localdate() - datetime.timedelta(days=7)
    with time_machine.travel(at(week_ago), tick=False):
        action = story.action(title="Audit case files", due_date=week_ago + datetime.timedelta(30))
    with time_machine.travel(at(timezone.localdate() - datetime.timedelta(days=1)), tick=False):
        plan_services.action_update(
            action=action,
            by=story.alice,
            due_date=week_ago + datetime.timedelta(days=90),
            reason="New case system",
        )
    return week_ago


def test_anyone_who_reads_the_plan_reads_its_report_as_of_today(client, story, moved):
    client.force_login(story.victor)
    response = client.get(url("report", story, pk=story.plan.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Progress as of {timezone.localdate():%-d %B %Y}" in page
    assert "Audit case files" in page
    assert response["Cache-Control"] == "no-store"


def test_the_report_as_of_a_past_date_shows_the_due_date_of_then(client, story, moved):
    client.force_login(story.victor)
    as_of = moved + datetime.timedelta(days=1)
    page = client.get(
        url("report", story, pk=story.plan.pk) + f"?as_of={as_of.isoformat()}"
    ).content.decode()
    assert f"Progress as of {as_of:%-d %B %Y}" in page
    assert f"{moved + datetime.timedelta(days=30):%-d %b %Y}" in page
    assert f"{moved + datetime.timedelta(days=90):%-d %b %Y}" not in page


def test_the_report_date_can_be_typed_in_the_three_boxes(client, story, moved):
    client.force_login(story.victor)
    as_of = moved + datetime.timedelta(days=2)
    page = client.get(
        url("report", story, pk=story.plan.pk),
        {"as_of_day": as_of.day, "as_of_month": as_of.month, "as_of_year": as_of.year},
    ).content.decode()
    assert f"Progress as of {as_of:%-d %B %Y}" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"as_of": "2099-01-01"}, "today or in the past"),
        ({"as_of_day": "31", "as_of_month": "2", "as_of_year": "2026"}, "Enter a real date"),
        ({"as_of": "2026-01-10", "since": "2026-01-10"}, "before the report"),
        ({"as_of": "2026-01-10\x00"}, "Enter a real date"),
    ],
)
def test_a_date_that_cannot_be_reported_on_gets_a_message(client, story, query, message):
    client.force_login(story.victor)
    response = client.get(url("report", story, pk=story.plan.pk), query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_each_format_downloads_from_a_stable_address(client, story, moved):
    client.force_login(story.victor)
    as_of = (moved + datetime.timedelta(days=1)).isoformat()
    kinds = {
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv",
    }
    for fmt, content_type in kinds.items():
        address = url("report_download", story, pk=story.plan.pk, fmt=fmt) + f"?as_of={as_of}"
        response = client.get(address)
        assert response.status_code == 200, fmt
        assert response["Content-Type"].startswith(content_type), fmt
        assert f"as-of-{as_of}" in response["Content-Disposition"], fmt
        assert response["Cache-Control"] == "no-store"


def test_the_csv_download_carries_the_rows_of_that_date(client, story, moved):
    client.force_login(story.victor)
    as_of = moved + datetime.timedelta(days=1)
    response = client.get(
        url("report_download", story, pk=story.plan.pk, fmt="csv") + f"?as_of={as_of}"
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["Reference"], r["Due date"]) for r in rows] == [
        ("1.1", (moved + datetime.timedelta(days=30)).isoformat())
    ]


def test_an_unknown_format_answers_404(client, story):
    client.force_login(story.victor)
    assert client.get(url("report_download", story, pk=story.plan.pk, fmt="exe")).status_code == 404


def test_another_tenants_report_answers_404(client, story):
    client.force_login(story.alice)
    assert client.get(url("report", story, pk=story.other_plan.pk)).status_code == 404
    address = url("report_download", story, pk=story.other_plan.pk, fmt="csv")
    assert client.get(address).status_code == 404


def test_the_report_page_runs_the_same_queries_for_few_or_many_actions(client, story):
    client.force_login(story.victor)
    story.action_in(Action.State.IN_PROGRESS, "1.1")
    today = timezone.localdate()
    address = url("report", story, pk=story.plan.pk) + f"?as_of={today}&since=2020-01-01"
    with CaptureQueriesContext(connection) as few:
        client.get(address)
    for n in range(2, 9):
        story.action_in(Action.State.SIGNED_OFF if n % 2 else Action.State.AGREED, f"1.{n}")
    with CaptureQueriesContext(connection) as many:
        client.get(address)
    assert len(many) == len(few)


def test_without_pdf_support_the_page_says_why_and_nothing_is_published(client, story, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    client.force_login(story.alice)

    download = client.get(url("report_download", story, pk=story.plan.pk, fmt="pdf"), follow=True)
    publish = client.post(
        url("report_publish", story, pk=story.plan.pk),
        {
            "meeting": "LSCB board",
            "meeting_date_day": "1",
            "meeting_date_month": "10",
            "meeting_date_year": "2027",
            "format": "pdf",
        },
    )

    assert "PDF reports cannot be made on this server" in download.content.decode()
    assert publish.status_code == 400
    assert "PDF reports cannot be made on this server" in publish.content.decode()
    assert not PublishedReport.objects.exists()
