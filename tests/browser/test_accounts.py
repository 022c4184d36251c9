"""Signing in, resetting a forgotten password through a real SMTP server, and the refusal after
too many wrong passwords, as a person does them in the browser."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_with_form

PASSWORD = "correct horse battery"
NEW_PASSWORD = "plum orchard ladder 47"


def test_forgotten_password_is_reset_from_the_emailed_link_and_then_signs_in(
    page: Page,
    story,
    smtp_server,
    settings,
    live,
):
    settings.SITE_URL = live  # the address the e-mailed link points to
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("E-mail address").fill(story.bob.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")

    # The service hands the message over before it answers the browser.
    [received] = smtp_server.received
    assert received.recipients == [story.bob.email]
    assert received.message["Subject"] == "Safeguarding action plans: Reset your password"
    [body] = [
        part.get_payload(decode=True).decode()
        for part in received.message.walk()
        if part.get_content_type() == "text/plain"
    ]
    link = re.search(r"http://\S+", body).group(0)
    assert link.startswith(f"{live}/accounts/password/reset/key/")

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password has been changed")
    story.bob.refresh_from_db()
    assert story.bob.check_password(NEW_PASSWORD)

    page.get_by_role("link", name="Sign in with your new password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    sign_in_with_form(page, story.bob.email, NEW_PASSWORD, go=False)
    expect(page).to_have_url("/t/central-bedfordshire/")
    expect(page.get_by_role("heading", name="Your actions")).to_be_visible()

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")


def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(page: Page, story):
    for _ in range(5):
        sign_in_with_form(page, story.bob.email, "not my password")
        expect(page.get_by_role("alert")).to_contain_text(
            "Enter a correct e-mail address and password."
        )

    sign_in_with_form(page, story.bob.email, PASSWORD)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("There is a problem")
    expect(alert).to_contain_text(
        "There have been too many failed attempts to sign in. Wait 15 minutes and try again, "
        "or reset your password."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_have_count(0)
    page.goto("/t/central-bedfordshire/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
