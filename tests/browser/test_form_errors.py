"""A form sent with a mistake comes back with GOV.UK's error summary: announced (role=alert),
focused when the page loads, each problem linking to its field, and nothing saved."""

import re

from playwright.sync_api import Locator, Page, expect

from plans.models import Action, Evidence
from tests.browser.conftest import tenant_url
from tests.conftest import evidence_count

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def error_summary(page: Page) -> Locator:
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    # GOV.UK Frontend moves focus to the summary, so a screen reader reads it out first.
    expect(page.locator(":focus")).to_contain_text("There is a problem")
    return summary


def test_an_impossible_due_date_is_explained_and_its_link_leads_to_the_day(
    page: Page, sign_in, story
):
    sign_in(story.alice)
    page.goto(tenant_url("action_new", pk=story.plan.pk))
    page.get_by_label("Reference").fill("3.1")
    page.get_by_label("Title").fill("Audit of strategy meetings")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("02")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Add the action").click()

    summary = error_summary(page)
    expect(page).to_have_title(re.compile(r"^Error: Add an action"))
    link = summary.get_by_role("link", name="Enter a real date, for example 31 3 2027.")
    link.click()
    expect(page.get_by_label("Day")).to_be_focused()
    # What was typed stays, to be corrected rather than typed again.
    expect(page.get_by_label("Title")).to_have_value("Audit of strategy meetings")
    assert not Action.objects.filter(reference="3.1").exists()


def test_a_file_over_the_size_limit_is_refused_by_its_field(page: Page, sign_in, story, settings):
    settings.EVIDENCE_MAX_BYTES = 2048
    act = story.action_in(Action.State.IN_PROGRESS)
    before = evidence_count(act)
    sign_in(story.bob)
    page.goto(tenant_url("action", pk=act.pk))

    page.get_by_label("What the evidence shows").fill("Minutes of the audit panel")
    page.get_by_label("Upload a file").set_input_files(
        files=[
            {
                "name": "minutes.pdf",
                "mimeType": "application/pdf",
                "buffer": PDF + b"%" + b"x" * 3000 + b"\n",
            }
        ]
    )
    page.get_by_role("button", name="Add the evidence").click()

    summary = error_summary(page)
    link = summary.get_by_role("link", name="evidence files can be at most 2.0")
    expect(link).to_contain_text("The file is 3.1")
    link.click()
    expect(page.get_by_label("Upload a file")).to_be_focused()
    assert evidence_count(act) == before
    assert not Evidence.objects.filter(original_name="minutes.pdf").exists()


def test_a_return_without_a_reason_is_refused_beside_the_reason_field(page: Page, sign_in, story):
    act = story.action_in(Action.State.EVIDENCED)
    sign_in(story.carol)
    page.goto(tenant_url("action_step", pk=act.pk, name="send_back"))

    page.get_by_role("button", name="Return to in progress").click()

    summary = error_summary(page)
    expect(page).to_have_title(re.compile(r"^Error: Return to in progress"))
    summary.get_by_role("link", name="Give a reason to return to in progress.").click()
    expect(page.get_by_label("Why the evidence is not accepted")).to_be_focused()
    assert Action.objects.get(pk=act.pk).state == Action.State.EVIDENCED
