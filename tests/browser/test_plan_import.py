"""A manager brings the plan the partnership kept in a spreadsheet into the service, through the
pages, with what has already happened to each action; the action's history then says it was
recorded later, and from which file."""

import datetime
import io

from openpyxl import Workbook
from playwright.sync_api import Page, expect

from plans.models import Action, PlanImport
from tests.browser.conftest import tenant_url
from workflow.models import TransitionLog

HEADINGS = [
    "Ref",
    "Action",
    "Lead officer",
    "Lead agency",
    "Target date",
    "Status",
    "Date agreed",
    "Date started",
    "Progress",
    "Progress date",
    "RAG",
    "Notes for the committee",
]
ROWS = [
    [
        "3.1",
        "Audit of referrals from schools",
        "Bob Officer",
        "Bedfordshire Police",
        datetime.date(2010, 3, 31),
        "In progress",
        datetime.date(2009, 6, 1),
        datetime.date(2009, 7, 15),
        "Two of three teams audited.",
        datetime.date(2009, 11, 30),
        "Amber",
        "Not for import",
    ],
    [
        "3.2",
        "Publish the threshold document",
        "",
        "",
        None,
        "Proposed",
        None,
        None,
        None,
        None,
        None,
        "",
    ],
]


def workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADINGS)
    for cells in rows:
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(page: Page, plan_pk: int, content: bytes) -> None:
    page.goto(tenant_url("plan", pk=plan_pk))
    page.get_by_role("button", name="Import actions from a spreadsheet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import actions from a spreadsheet")
    page.get_by_label("Upload the file").set_input_files(
        files=[
            {
                "name": "Laming plan 2009.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": content,
            }
        ]
    )
    page.get_by_role("button", name="Upload and choose columns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the columns to import")


def test_a_manager_imports_a_spreadsheet_with_history_through_the_pages(page: Page, sign_in, story):
    sign_in(story.alice)
    upload(page, story.plan.pk, workbook([[*ROWS[0][:2], "Zara Nobody", *ROWS[0][3:]], ROWS[1]]))

    # The headings named the fields; the person picks the sign-off body the file leaves out.
    expect(page.get_by_label("Reference", exact=True)).to_have_value("0")
    expect(page.get_by_label("Officer's RAG (optional)")).to_have_value("10")
    page.get_by_label("Sign-off body of actions whose row names none").select_option(
        label="LSCB board"
    )
    page.get_by_role("button", name="Check the file").click()

    # A name the organisation does not know: listed with its row, nothing imported.
    expect(page.get_by_role("alert")).to_contain_text("Nothing has been imported: 1 problem")
    problems = page.get_by_role("table", name="Problems found")
    expect(problems).to_contain_text("The lead officer 'Zara Nobody' is not a member")
    expect(problems.get_by_role("cell", name="2", exact=True)).to_be_visible()
    assert not Action.objects.filter(plan=story.plan).exists()

    upload(page, story.plan.pk, workbook(ROWS))
    page.get_by_label("Sign-off body of actions whose row names none").select_option(
        label="LSCB board"
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the actions before importing")
    expect(page.get_by_text("2: 1 proposed, 1 in progress")).to_be_visible()
    page.get_by_role("button", name="Import 2 actions").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(story.plan.title)
    expect(page.get_by_role("alert")).to_contain_text(
        "2 actions imported from Laming plan 2009.xlsx, with 2 steps and 1 progress note"
    )
    audit = Action.objects.get(plan=story.plan, reference="3.1")
    assert audit.state == "in_progress" and audit.sign_off_body == story.lscb
    assert TransitionLog.objects.filter(object_id=audit.pk).count() == 2
    assert PlanImport.objects.get().by == story.alice

    page.get_by_role("link", name="Audit of referrals from schools").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit of referrals from schools")
    history = page.locator(".app-timeline")
    expect(history).to_contain_text("15 July 2009")
    expect(history).to_contain_text("1 June 2009")
    expect(history).to_contain_text(
        "Recorded later, imported from Laming plan 2009.xlsx by Alice Manager"
    )
    expect(history).to_contain_text("Two of three teams audited.")
