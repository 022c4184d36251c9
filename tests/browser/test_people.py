"""A tenant administrator invites someone new; the e-mail goes through the outbox to a real SMTP
server, and its link, followed in the browser, lets the new person choose a password and arrive
at the organisation's home page."""

import re

from playwright.sync_api import Page, expect

from tenants.models import Membership
from tests.browser.conftest import tenant_url

NEW_PASSWORD = "plum orchard ladder 47"


def test_an_invited_person_sets_a_password_from_the_emailed_link_and_lands_at_home(
    page: Page, story, sign_in, smtp_server, settings, live
):
    settings.SITE_URL = live  # the address the e-mailed link points to
    sign_in(story.erin)
    page.goto(tenant_url("settings"))
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Full name").fill("Nina Newcomer")
    page.get_by_label("E-mail address").fill("nina@example.org")
    page.get_by_label("Manager", exact=True).check()
    page.get_by_label("Partner agency they work for").select_option(label="NHS Bedfordshire")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("Invitation sent to nina@example.org")
    expect(page.get_by_role("region", name="Invitations waiting")).to_contain_text("Nina Newcomer")

    # The outbox delivered it once the invitation was committed.
    [received] = smtp_server.received
    assert received.recipients == ["nina@example.org"]
    [body] = [
        part.get_payload(decode=True).decode()
        for part in received.message.walk()
        if part.get_content_type() == "text/plain"
    ]
    link = re.search(r"http://\S+/invitations/\S+/", body).group(0)
    assert link.startswith(f"{live}/invitations/")

    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Central Bedfordshire Council")
    expect(page.get_by_label("Full name")).to_have_value("Nina Newcomer")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Accept and set the password").click()

    expect(page).to_have_url(tenant_url("tenant_home"))
    expect(page.get_by_role("alert")).to_contain_text("Welcome to Central Bedfordshire Council")
    membership = Membership.objects.get(tenant=story.tenant, user__email="nina@example.org")
    assert (membership.role, membership.partner) == ("manager", story.health)

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation link does not work")
