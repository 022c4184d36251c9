"""Signing in and out, passwords, rate limits, idle sessions and switching organisation."""

import datetime
import re
import time
from types import SimpleNamespace

import pytest
from allauth.account import urls as allauth_urls
from allauth.account.models import EmailAddress
from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from tenants.middleware import REFRESHED_AT
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tenants.services import membership_add

PASSWORD = "correct horse battery"
NEW_PASSWORD = "plum orchard ladder 47"
SIGN_IN_REFUSED = "Enter a correct e-mail address and password."
TOO_MANY = "There have been too many failed attempts to sign in. Wait 15 minutes"


def plans_url(tenant_slug: str = "central-bedfordshire") -> str:
    return reverse("plans", kwargs={"tenant_slug": tenant_slug})


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def ask_for_reset(client, email: str, **extra):
    return client.post(reverse("account_reset_password"), {"email": email}, **extra)


def emailed_link(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


@pytest.fixture
def later(monkeypatch):
    """Moves the clock the rate limits read forward by the given number of seconds."""
    real = time

    def move(seconds: float) -> None:
        clock = SimpleNamespace(
            time=lambda: real.time() + seconds, monotonic=real.monotonic, sleep=real.sleep
        )
        monkeypatch.setattr(ratelimit, "time", clock)

    return move


# -- signing in and out ----------------------------------------------------------------------


def test_sign_in_page_asks_for_an_email_address_with_labels_not_placeholders(client, db):
    response = client.get(reverse("account_login"))

    content = response.content.decode()
    assert response.status_code == 200
    label = '<label class="govuk-label govuk-label--s" for="id_login">E-mail address</label>'
    assert label in content
    assert re.search(r'<input[^>]*type="email"[^>]*autocomplete="email"', content)
    assert 'autocomplete="current-password"' in content
    assert "placeholder" not in content
    assert "autofocus" not in content
    assert "novalidate" in content
    assert "Remember" not in content


def test_signing_in_with_email_in_any_case_leads_to_the_only_tenants_home(client, story):
    response = sign_in(client, story.bob.email.upper(), follow=True)

    assert response.redirect_chain[-1][0] == reverse(
        "tenant_home", kwargs={"tenant_slug": "central-bedfordshire"}
    )
    assert "What needs you now" in response.content.decode()
    assert signed_in(client)


def test_sign_in_returns_to_the_page_first_asked_for(client, story):
    asked = client.get(plans_url())
    assert asked.status_code == 302

    response = client.post(
        asked["Location"], {"login": story.bob.email, "password": PASSWORD}, follow=False
    )

    assert response.status_code == 302
    assert response["Location"] == plans_url()


def test_wrong_password_is_refused_with_a_clear_message(client, story):
    response = sign_in(client, story.bob.email, "wrong")

    assert response.status_code == 200
    content = response.content.decode()
    assert SIGN_IN_REFUSED in content
    assert "There is a problem" in content
    assert not signed_in(client)


def test_empty_sign_in_says_what_to_enter(client, db):
    response = client.post(reverse("account_login"), {"login": "", "password": ""})

    content = response.content.decode()
    assert "Enter your e-mail address" in content
    assert "Enter your password" in content


def test_address_in_the_wrong_format_is_refused_with_an_example(client, db):
    response = client.post(reverse("account_login"), {"login": "bob at home", "password": "x"})

    assert "like name@example.org" in response.content.decode()


def test_inactive_person_cannot_sign_in(client, story):
    story.victor.is_active = False
    story.victor.save()

    response = sign_in(client, story.victor.email)

    assert SIGN_IN_REFUSED in response.content.decode()
    assert not signed_in(client)


def test_sign_out_is_a_post_that_ends_the_session(client, story):
    sign_in(client, story.bob.email)

    response = client.post(reverse("account_logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "You have signed out." in response.content.decode()
    assert not signed_in(client)


def test_opening_the_sign_out_address_asks_before_signing_out(client, story):
    sign_in(client, story.bob.email)

    response = client.get(reverse("account_logout"))

    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert signed_in(client)


def test_nobody_can_sign_up(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.org", "password1": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Accounts are created by administrators" in response.content.decode()
    assert not signed_in(client)
    from tenants.models import User

    assert not User.objects.filter(email="newcomer@example.org").exists()


def test_the_operators_admin_signs_in_on_the_services_page(client, db):
    response = client.get(reverse("admin:index"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login") + "?next=")
    assert "Sign in" in response.content.decode()


def test_someone_signed_in_who_is_not_staff_is_refused_the_admin_sign_in(client, story):
    client.force_login(story.erin)

    assert client.get(reverse("admin:login")).status_code == 403


# -- rate limits on signing in ---------------------------------------------------------------


def test_wrong_password_five_times_refuses_sign_in_for_a_while(client, story, later):
    for _ in range(5):
        assert SIGN_IN_REFUSED in sign_in(client, story.bob.email, "wrong").content.decode()

    refused = sign_in(client, story.bob.email)

    assert TOO_MANY in refused.content.decode()
    assert not signed_in(client)

    later(15 * 60 + 1)
    sign_in(client, story.bob.email)
    assert signed_in(client)


def test_failures_for_one_account_do_not_lock_out_another(client, story):
    for _ in range(6):
        sign_in(client, story.bob.email, "wrong")

    sign_in(client, story.victor.email)

    assert signed_in(client)


def test_failures_from_one_visitor_behind_the_proxy_do_not_lock_out_another(
    client, story, settings
):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/10m/ip"}
    spraying = {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    for person in (story.alice, story.carol, story.dave):
        sign_in(client, person.email, "wrong", **spraying)

    refused = sign_in(client, story.bob.email, **spraying)
    assert TOO_MANY in refused.content.decode()
    assert not signed_in(client)

    sign_in(client, story.bob.email, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert signed_in(client)


def test_a_completed_password_reset_lifts_the_lock_at_once(client, story):
    for _ in range(6):
        sign_in(client, story.bob.email, "wrong")
    ask_for_reset(client, story.bob.email)
    link = emailed_link(mail.outbox[-1]).removeprefix(settings.SITE_URL)
    form = client.get(link)
    client.post(form["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    sign_in(client, story.bob.email, NEW_PASSWORD)

    assert signed_in(client)


# -- password reset --------------------------------------------------------------------------


def test_reset_email_links_to_the_site_url_even_when_asked_from_another_host(
    client, story, settings
):
    settings.SITE_URL = "https://actions.example.gov.uk"

    response = ask_for_reset(client, story.bob.email, HTTP_HOST="localhost")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    [message] = mail.outbox
    assert message.to == [story.bob.email]
    assert message.subject == "Safeguarding action plans: Reset your password"
    link = emailed_link(message)
    assert link.startswith("https://actions.example.gov.uk/accounts/password/reset/key/")
    assert "localhost" not in message.body
    assert message.body.startswith("Hello Bob,")
    # Nothing about the person beyond the greeting: no tenant, role or surname.
    assert "Officer" not in message.body
    assert "Central Bedfordshire" not in message.body


def test_reset_link_sets_a_new_password_that_then_signs_in(client, story):
    ask_for_reset(client, story.bob.email)
    link = emailed_link(mail.outbox[0]).removeprefix(settings.SITE_URL)

    form_page = client.get(link)
    assert form_page.status_code == 302  # the key moves into the session, out of the address
    form = client.get(form_page["Location"])
    assert "Choose a new password" in form.content.decode()
    assert 'autocomplete="new-password"' in form.content.decode()
    done = client.post(
        form_page["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True
    )

    assert done.redirect_chain[-1][0] == reverse("account_reset_password_from_key_done")
    assert "Your password has been changed" in done.content.decode()
    assert SIGN_IN_REFUSED in sign_in(client, story.bob.email, PASSWORD).content.decode()
    sign_in(client, story.bob.email, NEW_PASSWORD)
    assert signed_in(client)


def test_reset_link_works_only_once(client, story):
    ask_for_reset(client, story.bob.email)
    link = emailed_link(mail.outbox[0]).removeprefix(settings.SITE_URL)
    form_page = client.get(link)
    client.post(form_page["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client().get(link)

    assert again.status_code == 200
    assert "This link does not work" in again.content.decode()


def test_new_passwords_that_differ_or_are_weak_are_refused(client, story):
    ask_for_reset(client, story.bob.email)
    form_page = client.get(emailed_link(mail.outbox[0]).removeprefix(settings.SITE_URL))

    differ = client.post(
        form_page["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}
    )
    weak = client.post(form_page["Location"], {"password1": "12345678", "password2": "12345678"})

    assert "You must type the same password each time." in differ.content.decode()
    assert "This password is entirely numeric." in weak.content.decode()


def test_unknown_address_gets_the_same_page_as_a_known_one_and_no_email(story):
    known_client, unknown_client = Client(), Client()

    known = ask_for_reset(known_client, story.bob.email, follow=True)
    unknown = ask_for_reset(unknown_client, "nobody@example.org", follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    assert "If the address you entered is one that signs in" in known.content.decode()
    assert [m.to for m in mail.outbox] == [[story.bob.email]]


def test_inactive_person_gets_no_reset_email(client, story):
    story.victor.is_active = False
    story.victor.save()

    response = ask_for_reset(client, story.victor.email)

    assert response["Location"] == reverse("account_reset_password_done")
    assert mail.outbox == []


def test_reset_goes_only_to_the_address_the_person_signs_in_with_now(client, story):
    old_address = story.bob.email
    ask_for_reset(client, old_address)
    assert EmailAddress.objects.filter(email=old_address).exists()
    story.bob.email = "bob.officer@example.org"
    story.bob.save()
    mail.outbox.clear()

    response = ask_for_reset(client, old_address)

    assert response["Location"] == reverse("account_reset_password_done")
    assert mail.outbox == []


def test_reset_requests_for_one_address_are_refused_after_three_an_hour(client, story, later):
    for _ in range(3):
        assert ask_for_reset(client, story.bob.email).status_code == 302

    refused = ask_for_reset(client, story.bob.email)

    assert refused.status_code == 429
    assert "too many requests for a link to reset a password" in refused.content.decode()
    assert len(mail.outbox) == 3
    # An unknown address is limited the same way, so the limit reveals nothing either.
    for _ in range(3):
        ask_for_reset(client, "nobody@example.org")
    assert ask_for_reset(client, "nobody@example.org").status_code == 429

    later(60 * 60 + 1)
    assert ask_for_reset(client, story.bob.email).status_code == 302
    assert len(mail.outbox) == 4


def test_empty_reset_request_says_what_to_enter(client, db):
    response = ask_for_reset(client, "")

    assert "Enter your e-mail address" in response.content.decode()


# -- changing a password ---------------------------------------------------------------------


def change_password(client, old: str, new: str, again: str | None = None):
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": old, "password1": new, "password2": new if again is None else again},
    )


def test_change_password_keeps_this_session_and_ends_the_others(story):
    here, elsewhere = Client(), Client()
    sign_in(here, story.bob.email)
    sign_in(elsewhere, story.bob.email)
    assert elsewhere.get(plans_url()).status_code == 200

    response = change_password(here, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_change_password_done")
    assert "Your password has been changed" in here.get(response["Location"]).content.decode()
    assert here.get(plans_url()).status_code == 200
    ended = elsewhere.get(plans_url())
    assert ended.status_code == 302
    assert ended["Location"].startswith(reverse("account_login"))
    sign_in(Client(), story.bob.email, NEW_PASSWORD)


def test_change_password_needs_the_current_password(client, story):
    sign_in(client, story.bob.email)

    response = change_password(client, "not it", NEW_PASSWORD)

    assert "The current password you entered is not correct." in response.content.decode()
    story.bob.refresh_from_db()
    assert story.bob.check_password(PASSWORD)


def test_change_password_page_needs_sign_in(client, db):
    response = client.get(reverse("account_change_password"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# -- sessions --------------------------------------------------------------------------------


def test_a_session_lasts_a_working_day_and_the_cookie_ends_with_the_browser(client, story):
    before = timezone.now()
    response = sign_in(client, story.bob.email)

    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    expires = session_row(client).expire_date
    assert before + datetime.timedelta(hours=8) <= expires
    assert expires <= timezone.now() + datetime.timedelta(hours=8)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"]


def test_session_idle_for_a_working_day_is_signed_out(client, story):
    sign_in(client, story.bob.email)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    response = client.get(plans_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_requests_straight_after_each_other_do_not_rewrite_the_session(client, story):
    sign_in(client, story.bob.email)
    signed_in_expiry = session_row(client).expire_date

    client.get(plans_url())
    client.get(plans_url())

    assert session_row(client).expire_date == signed_in_expiry


def test_activity_after_a_few_minutes_moves_the_expiry_on(client, story):
    sign_in(client, story.bob.email)
    session = client.session
    session[REFRESHED_AT] -= settings.SESSION_REFRESH_SECONDS
    session.save()
    nearly_over = timezone.now() + datetime.timedelta(minutes=1)
    Session.objects.filter(session_key=session.session_key).update(expire_date=nearly_over)

    assert client.get(plans_url()).status_code == 200

    assert session_row(client).expire_date > timezone.now() + datetime.timedelta(hours=7)


# -- switching organisation ------------------------------------------------------------------


def test_switch_organisation_is_offered_to_a_member_of_two_tenants(client, story):
    with tenant_scope(story.other_tenant):
        membership_add(tenant=story.other_tenant, user=story.bob, role=Membership.Role.VIEWER)
    client.force_login(story.bob)

    page = client.get(plans_url()).content.decode()
    chooser = client.get(reverse("home"))

    assert re.search(r'<a[^>]*href="/"[^>]*>\s*Switch organisation\s*</a>', page)
    assert chooser.status_code == 200
    assert "Sunderland Children&#x27;s Trust" in chooser.content.decode()


def test_switch_organisation_is_not_offered_to_a_member_of_one(client, story):
    client.force_login(story.bob)

    assert "Switch organisation" not in client.get(plans_url()).content.decode()


def test_switch_organisation_costs_nothing_for_visitors_not_signed_in(
    client, db, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(reverse("account_login"))

    assert "Switch organisation" not in response.content.decode()


# -- every account page ----------------------------------------------------------------------

# Each allauth page: how to reach it, and whether the service offers it (a page) or not (404).
ACCOUNT_PAGES = {
    "account_login": ({}, "anonymous", 200),
    "account_logout": ({}, "signed_in", 200),
    "account_inactive": ({}, "anonymous", 200),
    "account_signup": ({}, "anonymous", 200),
    "account_reset_password": ({}, "anonymous", 200),
    "account_reset_password_done": ({}, "anonymous", 200),
    "account_reset_password_from_key": ({"uidb36": "1", "key": "no-such-key"}, "anonymous", 200),
    "account_reset_password_from_key_done": ({}, "anonymous", 200),
    "account_change_password": ({}, "signed_in", 200),
    # Asked before a change to the second factor.
    "account_reauthenticate": ({}, "signed_in", 200),
    "account_email": ({}, "signed_in", 404),
    "account_email_verification_sent": ({}, "anonymous", 404),
    "account_confirm_email": ({"key": "abc"}, "anonymous", 404),
    "account_set_password": ({}, "signed_in", 404),
    "account_confirm_login_code": ({}, "anonymous", 404),
}


def test_the_accounts_address_on_its_own_leads_home(client, db):
    response = client.get("/accounts/")

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_every_allauth_page_is_accounted_for():
    names = {p.name for p in allauth_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(ACCOUNT_PAGES)


@pytest.mark.parametrize("name", [*ACCOUNT_PAGES, "account_change_password_done"])
def test_account_pages_use_the_services_layout_or_are_not_offered(client, story, name):
    kwargs, who, status = ACCOUNT_PAGES.get(name, ({}, "signed_in", 200))
    if who == "signed_in":
        client.force_login(story.bob)

    response = client.get(reverse(name, kwargs=kwargs))

    assert response.status_code == status, name
    content = response.content.decode()
    assert 'id="main-content"' in content
    if status == 200:
        assert 'class="govuk-heading-l"' in content
        assert "placeholder" not in content
