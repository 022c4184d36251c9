"""A second factor as a person sets one up and uses it in the browser: an authenticator app
whose codes the test computes, and passkeys and security keys through Chromium's virtual
authenticator (the DevTools WebAuthn domain), never a real device."""

import re

from allauth.mfa.models import Authenticator
from playwright.sync_api import Page, expect

from plans.models import Action
from tests.browser.conftest import enter_code, sign_in_with_form, tenant_url
from tests.tenants.factories import totp_code

PASSWORD = "correct horse battery"
NEEDS_ONE = "You need to set up a second factor"


def virtual_authenticator(page: Page) -> str:
    """A platform authenticator that keeps passkeys and checks the person (as a fingerprint
    reader would), answering every request at once."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.virtual_authenticator = (cdp, answer["authenticatorId"])
    return answer["authenticatorId"]


def credentials(page: Page) -> list[dict]:
    cdp, authenticator_id = page.virtual_authenticator
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Sign out")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def confirm_password(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_a_passkey_is_added_and_then_signs_in_on_its_own_and_as_a_second_step(page: Page, story):
    virtual_authenticator(page)
    sign_in_with_form(page, story.bob.email, PASSWORD)

    page.get_by_role("link", name="Second factor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Second factor")
    page.get_by_role("button", name="Add a security key").click()
    confirm_password(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a security key")
    page.get_by_label("Name of the key").fill("Work laptop")
    page.get_by_label("Use it as a passkey, to sign in with it alone").check()
    page.get_by_role("button", name="Add the key").click()

    # The first second factor comes with recovery codes.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    [key] = Authenticator.objects.filter(user=story.bob, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Work laptop"
    assert key.wrap().is_passwordless
    assert len(credentials(page)) == 1

    # The password now needs the key as well.
    sign_out(page)
    sign_in_with_form(page, story.bob.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    page.get_by_role("button", name="Use a security key").click()
    expect(page).to_have_url(tenant_url("tenant_home"))

    # The passkey alone signs in.
    sign_out(page)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(tenant_url("tenant_home"))
    expect(page.get_by_role("heading", name="Your actions")).to_be_visible()


def test_a_security_key_that_is_not_a_passkey_is_a_second_step_only(page: Page, story):
    virtual_authenticator(page)
    sign_in_with_form(page, story.bob.email, PASSWORD)
    page.goto("/accounts/2fa/webauthn/add/")
    confirm_password(page)
    page.get_by_label("Name of the key").fill("Blue key")
    page.get_by_role("button", name="Add the key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    [key] = Authenticator.objects.filter(user=story.bob, type=Authenticator.Type.WEBAUTHN)
    assert not key.wrap().is_passwordless

    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_role("cell", name="Blue key", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Security key", exact=True)).to_be_visible()


def test_a_board_member_without_a_second_factor_sets_up_an_app_and_then_signs_off(
    page: Page, story
):
    act = story.action_in(Action.State.EVIDENCED)
    Authenticator.objects.filter(user=story.carol).delete()
    sign_in_with_form(page, story.carol.email, PASSWORD)

    page.goto(tenant_url("action", pk=act.pk))
    expect(page.get_by_text(NEEDS_ONE).first).to_be_visible()
    expect(page.get_by_role("button", name="Sign off", exact=True)).to_have_count(0)
    page.get_by_role("link", name="Set up a second factor").first.click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    confirm_password(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    secret = page.locator("#authenticator-secret").inner_text().strip()

    page.get_by_label("Code from the app").fill("000000" if totp_code(secret) != "000000" else "1")
    page.get_by_role("button", name="Set up").click()
    expect(page.get_by_role("alert")).to_contain_text("The code is not correct")
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Set up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10

    page.goto(tenant_url("action", pk=act.pk))
    page.get_by_role("button", name="Sign off", exact=True).click()
    page.get_by_role("button", name="Sign off", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("signed off")
    assert Action.objects.get(pk=act.pk).state == Action.State.SIGNED_OFF

    # Next time, signing in asks for a code; a recovery code does instead of the app's.
    sign_out(page)
    page.get_by_label("E-mail address").fill(story.carol.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    enter_code(page, codes[0].strip())
    expect(page).to_have_url(tenant_url("tenant_home"))
