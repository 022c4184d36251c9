"""A second factor: setting up an authenticator app, signing in with its codes or a recovery
code, and the pages that manage them."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse

from tests.tenants.factories import TOTP_SECRET, totp_code, with_second_factor

PASSWORD = "correct horse battery"
WRONG_CODE = "The code is not correct."


def sign_in(client, user, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


def enter_code(client, code: str):
    return client.post(reverse("mfa_authenticate"), {"code": code})


def confirm_password(client, password: str = PASSWORD):
    """What the service asks before any change to how someone signs in."""
    return client.post(reverse("account_reauthenticate"), {"password": password})


def signed_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def a_wrong_code() -> str:
    """A six-digit code that none of the codes the service would take now matches."""
    accepted = {totp_code(step=step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


def test_sign_in_asks_for_the_code_once_a_second_factor_is_set_up(client, story):
    response = sign_in(client, story.carol)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in_as(client, story.carol)
    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert "Enter your code" in page
    # Only someone who has added a security key is offered one.
    assert "Use a security key" not in page


def test_the_code_from_the_authenticator_app_completes_sign_in(client, story):
    sign_in(client, story.carol)

    response = enter_code(client, totp_code())

    assert response.status_code == 302
    assert signed_in_as(client, story.carol)


def test_a_wrong_code_is_refused_with_a_clear_message(client, story):
    sign_in(client, story.carol)

    response = enter_code(client, a_wrong_code())

    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    assert not signed_in_as(client, story.carol)


def test_an_empty_code_says_what_to_enter(client, story):
    sign_in(client, story.carol)

    response = enter_code(client, "")

    assert "Enter the code from your authenticator app, or a recovery code" in (
        response.content.decode()
    )
    assert not signed_in_as(client, story.carol)


def test_a_code_works_only_once(client, story):
    code = totp_code()
    sign_in(client, story.carol)
    enter_code(client, code)
    client.post(reverse("account_logout"))

    sign_in(client, story.carol)
    response = enter_code(client, code)

    assert WRONG_CODE in response.content.decode()
    assert not signed_in_as(client, story.carol)


def test_someone_without_a_second_factor_signs_in_with_the_password_alone(client, story):
    response = sign_in(client, story.bob)

    assert response.status_code == 302
    assert signed_in_as(client, story.bob)


def test_a_recovery_code_signs_in_once(client, story):
    codes = RecoveryCodes.activate(story.carol).get_unused_codes()

    sign_in(client, story.carol)
    enter_code(client, codes[0])
    assert signed_in_as(client, story.carol)
    client.post(reverse("account_logout"))

    sign_in(client, story.carol)
    response = enter_code(client, codes[0])
    assert WRONG_CODE in response.content.decode()
    assert not signed_in_as(client, story.carol)

    enter_code(client, codes[1])
    assert signed_in_as(client, story.carol)


def test_wrong_codes_lock_the_account_for_a_while(client, story):
    sign_in(client, story.carol)
    for _ in range(5):
        enter_code(client, a_wrong_code())

    response = enter_code(client, totp_code())

    assert "too many failed attempts" in response.content.decode()
    assert not signed_in_as(client, story.carol)


# -- setting one up --------------------------------------------------------------------------


def test_an_officer_may_set_up_an_authenticator_app(client, story):
    sign_in(client, story.bob)
    confirm_password(client)

    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert secret in page.content.decode()
    assert "<svg" in page.content.decode()  # the QR code, drawn in the page
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=story.bob, type=Authenticator.Type.TOTP).exists()
    # Recovery codes come with the first second factor.
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    codes = client.get(response["Location"])
    assert "Your recovery codes" in codes.content.decode()


def test_a_wrong_code_when_setting_up_changes_nothing(client, story):
    sign_in(client, story.bob)
    confirm_password(client)
    client.get(reverse("mfa_activate_totp"))

    response = client.post(reverse("mfa_activate_totp"), {"code": "12345"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "There is a problem" in content and WRONG_CODE in content
    assert not Authenticator.objects.filter(user=story.bob).exists()


def test_changing_a_second_factor_long_after_signing_in_asks_for_the_password_again(client, story):
    client.force_login(story.bob)

    response = client.get(reverse("mfa_activate_totp"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    page = client.get(response["Location"])
    assert "Confirm it is you" in page.content.decode()
    client.post(response["Location"], {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_removing_the_authenticator_app(client, story):
    sign_in(client, story.carol)
    enter_code(client, totp_code())
    confirm_password(client)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=story.carol, type="totp").exists()


def test_the_second_factor_page_is_linked_from_every_page_for_the_signed_in(client, story):
    client.force_login(story.victor)

    home = client.get(reverse("home"), follow=True).content.decode()
    page = client.get(reverse("mfa_index"))

    assert f'href="{reverse("mfa_index")}"' in home
    content = page.content.decode()
    assert page.status_code == 200
    assert "Set up an authenticator app" in content
    assert "Add a security key" in content


def test_the_second_factor_page_says_what_is_set_up(client, story):
    RecoveryCodes.activate(story.carol)
    client.force_login(story.carol)

    content = client.get(reverse("mfa_index")).content.decode()

    assert "An authenticator app is set up" in content
    assert "10 of 10 recovery codes are unused" in content


MFA_PAGES = [
    "mfa_index",
    "mfa_activate_totp",
    "mfa_add_webauthn",
    "mfa_list_webauthn",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_reauthenticate",
]


@pytest.mark.parametrize("name", MFA_PAGES)
def test_second_factor_pages_use_the_services_layout(client, story, name):
    with_second_factor(story.bob, TOTP_SECRET)
    RecoveryCodes.activate(story.bob)
    sign_in(client, story.bob)
    enter_code(client, totp_code())
    if name != "mfa_reauthenticate":
        confirm_password(client)

    response = client.get(reverse(name))

    if name == "mfa_activate_totp":
        # Set up already: it offers to remove it instead.
        assert response["Location"] == reverse("mfa_deactivate_totp")
        response = client.get(response["Location"])
    assert response.status_code == 200, name
    content = response.content.decode()
    assert 'id="main-content"' in content
    assert 'class="govuk-heading-l"' in content
    assert "placeholder" not in content
    # No inline script or style: only JSON data blocks and scripts from files.
    assert "style=" not in content
    for script in content.split("<script")[1:]:
        assert ' src="' in script.split(">")[0] or 'type="application/json"' in script.split(">")[0]
