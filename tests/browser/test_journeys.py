"""An action's whole life in the browser, as the people who move it see it: agreed by a manager,
delivered by its officer, and signed off by the LSCB board (quorum two) after one return.

People sign in by a session made by Django's test client (``sign_in``): these tests are about
the workflow; signing in with the form is tested in test_accounts.py.
"""

import zlib

import pytest
from playwright.sync_api import Locator, Page, expect

from plans import services as plan_services
from plans.models import Action, Evidence, ProgressUpdate
from tests.browser.conftest import tenant_url
from workflow.selectors import approval_history, approvals_pending, transition_history
from workflow.services import transition_perform

TITLE = "Audit of referrals from schools"
REASON = "The audit covers one team only; include the other two."
STATEMENT = "All three teams now audit a sample of school referrals every month."


def small_pdf(text: str) -> bytes:
    """A one-page PDF that says ``text``, with a correct cross-reference table."""
    stream = zlib.compress(f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode())
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def reload(act: Action) -> Action:
    return Action.objects.get(pk=act.pk)


def banner(page: Page) -> Locator:
    return page.get_by_role("alert")


def take_step(page: Page, step: str, reason: str = "", reason_label: str = "") -> None:
    """From the action page: the step's button, its confirmation page, the step."""
    page.get_by_role("button", name=step, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(step)
    if reason:
        page.get_by_label(reason_label).fill(reason)
    page.get_by_role("button", name=step, exact=True).click()


def open_from_home(page: Page, act: Action) -> None:
    page.goto(tenant_url("tenant_home"))
    page.get_by_role("link", name=f"{act.reference} {act.title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(act.title)


@pytest.fixture
def lscb_of_two(story):
    """The story's LSCB board, Carol, Dave and Mark, needing two of them to sign an action off."""
    return story.lscb_needs_two()


def submitted(story, lead) -> Action:
    """An action led by ``lead``, delivered and submitted for the LSCB board's sign-off."""
    act = story.action("1.1", title=TITLE, lead_officer=lead)
    transition_perform(obj=act, name="agree", user=story.alice)
    transition_perform(obj=act, name="start", user=lead)
    plan_services.evidence_add_link(
        action=act, by=lead, url="https://example.org/audit.pdf", description="The audit"
    )
    plan_services.action_set_completion_statement(action=act, by=lead, text=STATEMENT)
    return transition_perform(obj=reload(act), name="submit_evidence", user=lead).obj


def test_an_action_goes_from_proposed_to_signed_off_after_one_return(
    page: Page, sign_in, story, lscb_of_two
):
    act = story.action("1.1", title=TITLE)

    # Alice, a manager, agrees it from her queue.
    sign_in(story.alice)
    page.goto(tenant_url("tenant_home"))
    queue = page.get_by_role("table", name="Proposed actions to agree")
    queue.get_by_role("link", name=f"1.1 {TITLE}").click()
    take_step(page, "Agree the action")
    expect(banner(page)).to_contain_text("This action is now agreed.")
    assert reload(act).state == Action.State.AGREED

    # Bob, its lead officer, starts it, reports progress, adds evidence and submits it.
    sign_in(story.bob)
    open_from_home(page, act)
    take_step(page, "Start work")
    expect(banner(page)).to_contain_text("This action is now in progress.")
    assert reload(act).state == Action.State.IN_PROGRESS

    page.get_by_label("What has happened since the last update").fill(
        "Two of the three teams have been audited."
    )
    page.get_by_role("group", name="Your RAG rating").get_by_label(
        "Amber: at risk, but recoverable"
    ).check()
    page.get_by_role("button", name="Add the update").click()
    expect(banner(page)).to_contain_text("Progress update added.")
    [update] = ProgressUpdate.objects.filter(action=act)
    assert (update.author, update.rag) == (story.bob, "amber")

    pdf = small_pdf("Audit of referrals: findings")
    page.get_by_label("What the evidence shows").fill("The audit panel's findings")
    page.get_by_label("Upload a file").set_input_files(
        files=[{"name": "audit-findings.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.get_by_role("button", name="Add the evidence").click()
    expect(banner(page)).to_contain_text("Evidence added.")
    expect(page.get_by_role("link", name="audit-findings.pdf")).to_be_visible()
    [evidence] = Evidence.objects.filter(action=act)
    with evidence.file.open("rb") as stored:
        assert stored.read() == pdf
    with page.expect_download() as download:
        page.get_by_role("link", name="audit-findings.pdf").click()
    assert download.value.suggested_filename == "audit-findings.pdf"

    page.get_by_role("textbox", name="Completion statement").fill(STATEMENT)
    page.get_by_role("button", name="Save the completion statement").click()
    expect(banner(page)).to_contain_text("Completion statement saved.")
    take_step(page, "Submit for sign-off")
    expect(banner(page)).to_contain_text("This action is now evidenced.")
    expect(banner(page)).to_contain_text(
        "2 of its members must approve (Carol Board, Dave Board, Mark Team)"
    )
    assert reload(act).state == Action.State.EVIDENCED

    # Carol approves from her sign-off queue; one of two.
    sign_in(story.carol)
    page.goto(tenant_url("tenant_home"))
    waiting = page.get_by_role("table", name="Actions waiting for sign-off")
    row = waiting.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("0 of 2")
    expect(row).to_contain_text("Needs your decision")
    row.get_by_role("link", name=f"1.1 {TITLE}").click()
    take_step(page, "Sign off")
    expect(banner(page)).to_contain_text("Your approval is recorded: 1 of 2.")
    expect(banner(page)).to_contain_text("Dave Board or Mark Team may still approve.")
    assert reload(act).state == Action.State.EVIDENCED
    assert [a.approver for a in approvals_pending(obj=reload(act), name="sign_off")] == [
        story.carol
    ]

    # Dave does not accept the evidence and says why.
    sign_in(story.dave)
    open_from_home(page, act)
    take_step(page, "Return to in progress", REASON, "Why the evidence is not accepted")
    expect(banner(page)).to_contain_text("This action is now in progress.")
    assert reload(act).state == Action.State.IN_PROGRESS

    # Bob sees why on his home page, and submits it again.
    sign_in(story.bob)
    page.goto(tenant_url("tenant_home"))
    mine = page.get_by_role("table", name="Your open actions and what each needs next")
    expect(mine.get_by_role("row").filter(has_text=TITLE)).to_contain_text(
        f"Returned because: {REASON}"
    )
    mine.get_by_role("link", name=f"1.1 {TITLE}").click()
    take_step(page, "Submit for sign-off")
    assert reload(act).state == Action.State.EVIDENCED

    # The earlier approval counted for the first submission only: two are needed again.
    for member in (story.carol, story.dave):
        sign_in(member)
        open_from_home(page, act)
        take_step(page, "Sign off")
    expect(banner(page)).to_contain_text("This action is now signed off.")
    expect(page.get_by_text("Signed off", exact=True).first).to_be_visible()
    act = reload(act)
    assert act.state == Action.State.SIGNED_OFF
    steps = [(log.transition, str(log.actor)) for log in transition_history(obj=act)]
    assert steps == [
        ("agree", "Alice Manager"),
        ("start", "Bob Officer"),
        ("submit_evidence", "Bob Officer"),
        ("send_back", "Dave Board"),
        ("submit_evidence", "Bob Officer"),
        ("sign_off", "Dave Board"),
    ]

    # The timeline lists every step, newest first, with the return's reason.
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("heading", level=3)).to_have_text(
        [
            "Sign off",
            "Approved: sign off",
            "Submit for sign-off",
            "Return to in progress",
            "Approved: sign off",
            "Submit for sign-off",
            "Completion statement saved",
            "Evidence added",
            "Progress update",
            "Start work",
            "Agree the action",
            "Action added",
        ]
    )
    returned = history.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Return to in progress")
    )
    expect(returned).to_contain_text("Dave Board")
    expect(returned).to_contain_text(REASON)


def tab_to(page: Page, target: Locator, limit: int = 150) -> None:
    """Press Tab until ``target`` has focus, as a keyboard user moves through the page."""
    expect(target).to_be_visible()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} did not take focus after {limit} presses of Tab")


def sign_off_with_keyboard(page: Page, act: Action, *, reason: str = "") -> None:
    """From the home page's sign-off queue to the step, by keyboard: Tab, Enter and Space."""
    page.goto(tenant_url("tenant_home"))
    tab_to(page, page.get_by_role("link", name=f"{act.reference} {act.title}"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(act.title)
    step = "Return to in progress" if reason else "Sign off"
    # A link styled as a button answers Space as a button does.
    tab_to(page, page.get_by_role("button", name=step, exact=True))
    page.keyboard.press("Space")
    expect(page.get_by_role("heading", level=1)).to_have_text(step)
    if reason:
        tab_to(page, page.get_by_label("Why the evidence is not accepted"))
        page.keyboard.type(reason)
    tab_to(page, page.get_by_role("button", name=step, exact=True))
    page.keyboard.press("Enter")
    expect(banner(page)).to_be_visible()


def test_board_members_sign_off_from_their_queue_with_the_keyboard_alone(
    page: Page, sign_in, story, lscb_of_two
):
    act = submitted(story, story.bob)

    sign_in(story.carol)
    sign_off_with_keyboard(page, act)
    expect(banner(page)).to_contain_text("Your approval is recorded: 1 of 2.")

    sign_in(story.dave)
    sign_off_with_keyboard(page, act, reason=REASON)
    expect(banner(page)).to_contain_text("This action is now in progress.")
    assert reload(act).state == Action.State.IN_PROGRESS
    [returned] = [log for log in transition_history(obj=act) if log.transition == "send_back"]
    assert (returned.actor, returned.comment) == (story.dave, REASON)

    transition_perform(obj=reload(act), name="submit_evidence", user=story.bob)
    for member in (story.carol, story.dave):
        sign_in(member)
        sign_off_with_keyboard(page, act)

    expect(banner(page)).to_contain_text("This action is now signed off.")
    assert reload(act).state == Action.State.SIGNED_OFF


def test_the_submitter_on_the_board_is_offered_no_sign_off_and_is_refused_it_at_its_address(
    page: Page, sign_in, story, lscb_of_two
):
    act = submitted(story, story.dave)  # Dave leads the action and sits on the LSCB board
    sign_in(story.dave)
    why = (
        "You are its lead officer, so another member of the sign-off body who did not "
        "deliver this action must sign it off."
    )

    page.goto(tenant_url("tenant_home"))
    waiting = page.get_by_role("table", name="Actions waiting for sign-off")
    expect(waiting.get_by_role("row").filter(has_text=TITLE)).to_contain_text(
        "You cannot sign it off: you are its lead officer"
    )
    page.goto(tenant_url("action", pk=act.pk))
    steps = page.get_by_role("region", name="What you can do")
    expect(steps.get_by_role("button", name="Sign off")).to_have_count(0)
    expect(steps).to_contain_text(f"You cannot sign off. {why}")

    address = tenant_url("action_step", pk=act.pk, name="sign_off")
    response = page.goto(address)
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign off")
    expect(page.get_by_text(f"You cannot take this step. {why}")).to_be_visible()
    expect(page.get_by_role("button", name="Sign off")).to_have_count(0)

    # Sending the step anyway, with a valid form token, is refused the same way.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    forced = page.request.post(
        address, form={"comment": ""}, headers={"X-CSRFToken": token, "Referer": page.url}
    )
    assert forced.status == 403
    assert why in forced.text()
    assert reload(act).state == Action.State.EVIDENCED
    assert approval_history(obj=act) == []
