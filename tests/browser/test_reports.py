"""A plan's progress report in the browser: a manager picks a past date and an earlier one to
compare it with, reads the plan as it stood then, downloads it in every format and publishes it
for a meeting; a viewer reads reports and the dashboard but publishes nothing.

The plan's history is written on past days (``time_machine``) before the browser opens a page,
so the report as of a past date has something to rebuild: a due date moved before that date and
one moved after it, an action signed off and one that became overdue between the two dates.
"""

import datetime
import hashlib
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from plans import services as plan_services
from plans.models import Action, PublishedReport
from plans.reports.report import date_label, long_date_label
from tests.browser.conftest import tenant_url
from tests.plans.reports.reading import TABULAR, report_rows, report_words
from tests.plans.reports.test_as_of import at
from workflow.services import transition_perform

FORMATS = {
    "pdf": "PDF",
    "docx": "Document (DOCX)",
    "xlsx": "Spreadsheet (XLSX)",
    "csv": "Spreadsheet (CSV)",
}
TITLES = {
    "1.1": "Audit case files in all three teams",
    "1.2": "Publish the partnership's safeguarding priorities",
    "1.3": "Train every lead member in safeguarding",
    "1.4": "Review the thresholds document",
}
MOVED_BEFORE = "The councillors' training day moved to September."
MOVED_AFTER = "The new case recording system arrives later."


class History:
    """The days of the plan's life the test reads it on."""

    def __init__(self, start: datetime.date):
        self.start = start
        self.since = start + datetime.timedelta(days=5)
        self.as_of = start + datetime.timedelta(days=30)
        # 1.1's due date then, and after it was moved, after the report's date.
        self.audit_due = start + datetime.timedelta(days=40)
        self.audit_due_now = start + datetime.timedelta(days=80)
        # 1.3's first due date and the one it was moved to before the report's date.
        self.training_first_due = start + datetime.timedelta(days=31)
        self.training_due = start + datetime.timedelta(days=50)
        # 1.4 fell due between the two dates and was not done.
        self.thresholds_due = start + datetime.timedelta(days=20)


def on(day: datetime.date):
    return time_machine.travel(at(day), tick=False)


@pytest.fixture
def history(story) -> History:
    s = story
    days = History(timezone.localdate() - datetime.timedelta(days=100))
    with on(days.start):
        audit = s.action_in(
            Action.State.IN_PROGRESS, "1.1", title=TITLES["1.1"], due_date=days.audit_due
        )
        priorities = s.action_in(
            Action.State.IN_PROGRESS,
            "1.2",
            title=TITLES["1.2"],
            due_date=days.start + datetime.timedelta(days=60),
        )
        training = s.action_in(
            Action.State.AGREED, "1.3", title=TITLES["1.3"], due_date=days.training_first_due
        )
        s.action_in(Action.State.AGREED, "1.4", title=TITLES["1.4"], due_date=days.thresholds_due)
    with on(days.start + datetime.timedelta(days=10)):
        plan_services.progress_add(
            action=audit, author=s.bob, text="Two of the three teams are audited.", rag="amber"
        )
    with on(days.start + datetime.timedelta(days=15)):
        plan_services.action_update(
            action=training, by=s.alice, due_date=days.training_due, reason=MOVED_BEFORE
        )
    with on(days.start + datetime.timedelta(days=25)):
        plan_services.evidence_add_link(
            action=priorities,
            by=s.bob,
            url="https://example.org/priorities.pdf",
            description="The published priorities",
        )
        plan_services.action_set_completion_statement(
            action=priorities, by=s.bob, text="Published on the council's website."
        )
        priorities = transition_perform(obj=priorities, name="submit_evidence", user=s.bob).obj
        transition_perform(obj=priorities, name="sign_off", user=s.carol)
    with on(days.start + datetime.timedelta(days=45)):
        plan_services.action_update(
            action=Action.objects.get(pk=audit.pk),
            by=s.alice,
            due_date=days.audit_due_now,
            reason=MOVED_AFTER,
        )
    return days


def fill_date(page: Page, legend: str, day: datetime.date) -> None:
    """GOV.UK's date boxes, as a person types them."""
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def action_row(page: Page, reference: str) -> Locator:
    return page.locator(".app-report-appendix tr").filter(has_text=TITLES[reference])


def download(page: Page, link_name: str) -> tuple[str, bytes]:
    """Click a link that downloads a file; its suggested name and its bytes."""
    with page.expect_download() as downloading:
        page.get_by_role("link", name=link_name).click()
    made = downloading.value
    return made.suggested_filename, Path(made.path()).read_bytes()


def test_a_manager_reports_on_a_past_date_downloads_every_format_and_publishes_it(
    page: Page, sign_in, story, history
):
    days = history
    sign_in(story.alice)
    page.goto(tenant_url("plan", pk=story.plan.pk))
    page.get_by_role("link", name="Progress report and dashboard").click()

    # Today's report has 1.1's due date as it is now.
    today = timezone.localdate()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Progress as of {long_date_label(today)}"
    )
    expect(action_row(page, "1.1")).to_contain_text(date_label(days.audit_due_now))

    fill_date(page, "Progress as of", days.as_of)
    fill_date(page, "Show what changed since (optional)", days.since)
    page.get_by_role("button", name="Show the report").click()

    as_of = long_date_label(days.as_of)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Progress as of {as_of}")
    # Moved later after the report's date: the due date of then, and nothing moved yet.
    audit = action_row(page, "1.1")
    expect(audit).to_contain_text(date_label(days.audit_due))
    expect(audit).not_to_contain_text(date_label(days.audit_due_now))
    expect(audit).to_contain_text("Two of the three teams are audited.")
    # Moved before it: the new due date and the first one beside it.
    expect(action_row(page, "1.3")).to_contain_text(
        f"{date_label(days.training_due)} {date_label(days.training_first_due)}"
    )
    expect(action_row(page, "1.2")).to_contain_text("Signed off")
    expect(
        page.get_by_role("heading", name=f"Changes since {long_date_label(days.since)}")
    ).to_be_visible()
    expect(page.get_by_role("region", name="Signed off", exact=True)).to_contain_text(TITLES["1.2"])
    expect(page.get_by_role("region", name="Became overdue", exact=True)).to_contain_text(
        TITLES["1.4"]
    )
    moved = page.get_by_role("region", name="Due dates moved", exact=True)
    expect(moved).to_contain_text(TITLES["1.3"])
    expect(moved).to_contain_text(MOVED_BEFORE)
    expect(moved).not_to_contain_text(MOVED_AFTER)

    # Every format, from the page's links: each opens and holds the plan as it stood then.
    for fmt, label in FORMATS.items():
        name, content = download(page, f"{label} as of {as_of}")
        assert name == f"laming-action-plan-progress-as-of-{days.as_of.isoformat()}.{fmt}"
        if fmt in TABULAR:
            rows = report_rows(fmt, content)
            assert {ref: row["Action"] for ref, row in rows.items()} == TITLES, fmt
            assert rows["1.1"]["Due date"] == date_label(days.audit_due), fmt
            assert rows["1.1"]["Original due date"] == "", fmt
            assert rows["1.3"]["Due date"] == date_label(days.training_due), fmt
            assert rows["1.3"]["Original due date"] == date_label(days.training_first_due), fmt
            assert rows["1.2"]["State"] == "Signed off", fmt
        else:
            words = report_words(fmt, content)
            for title in TITLES.values():
                assert title in words
            assert date_label(days.audit_due) in words
            assert date_label(days.audit_due_now) not in words
            assert " ".join(MOVED_BEFORE.split()) in words

    # Publishing: the meeting is required, and a refused form publishes nothing.
    page.get_by_role("button", name="Publish this report for a meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish the report for a meeting")
    expect(page.get_by_role("main")).to_contain_text(
        f"progress as of {as_of}, with what changed since {long_date_label(days.since)}"
    )
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the meeting the report is for.")
    expect(page.get_by_role("alert")).to_contain_text("Enter the date of the meeting.")
    assert not PublishedReport.objects.exists()

    meeting_day = days.as_of + datetime.timedelta(days=7)
    page.get_by_label("Meeting", exact=True).fill("LSCB board")
    fill_date(page, "Date of the meeting", meeting_day)
    page.get_by_label("Spreadsheet (XLSX)").check()
    page.get_by_role("button", name="Publish", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Progress as of {as_of}")
    [published] = PublishedReport.objects.all()
    expect(page.get_by_role("alert")).to_contain_text(
        f"Published for LSCB board. SHA-256: {published.sha256}"
    )
    assert (published.as_of, published.since, published.format) == (
        days.as_of,
        days.since,
        "xlsx",
    )
    listed = page.get_by_role("table").filter(has_text="Reports kept as they were tabled")
    expect(listed).to_contain_text(f"LSCB board, {long_date_label(meeting_day)}")
    expect(listed).to_contain_text(f"{as_of} (changes since {long_date_label(days.since)})")
    expect(listed).to_contain_text(f"SHA-256: {published.sha256}")

    name, content = download(page, published.file_name)
    with published.file.open("rb") as stored:
        assert content == stored.read()
    assert hashlib.sha256(content).hexdigest() == published.sha256
    assert name == published.file_name
    assert report_rows("xlsx", content)["1.1"]["Due date"] == date_label(days.audit_due)


def test_a_viewer_reads_reports_and_the_dashboard_but_cannot_publish(
    page: Page, sign_in, story, history
):
    sign_in(story.victor)
    report_url = tenant_url("report", pk=story.plan.pk)
    page.goto(report_url + f"?as_of={history.as_of.isoformat()}")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Progress as of {long_date_label(history.as_of)}"
    )
    expect(action_row(page, "1.1")).to_contain_text(date_label(history.audit_due))
    expect(
        page.get_by_role("link", name=f"PDF as of {long_date_label(history.as_of)}")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Publish this report for a meeting")).to_have_count(0)

    response = page.goto(tenant_url("report_publish", pk=story.plan.pk))
    assert response.status == 403

    page.goto(report_url)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Dashboard").click()
    today = timezone.localdate()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Dashboard: progress as of {long_date_label(today)}"
    )
    plans = page.get_by_role("region", name="Each plan's actions")
    # Four actions, one signed off, three overdue by now.
    expect(
        plans.get_by_role("row").filter(has_text="Laming action plan").get_by_role("cell")
    ).to_have_text(["4", "1", "3"])
    name, content = download(
        page, f"Download every plan as one spreadsheet (XLSX) as of {long_date_label(today)}"
    )
    assert name.endswith(f"-progress-as-of-{today.isoformat()}.xlsx")
    assert set(report_rows("xlsx", content)) == set(TITLES)
