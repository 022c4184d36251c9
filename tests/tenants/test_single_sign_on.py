"""Single sign-on per tenant, against a real OpenID Connect provider on localhost
(tests/oidc/provider.mjs, the ``oidc-provider`` npm package): people are matched by the e-mail
address their provider vouches for, to their membership or to an invitation waiting for them;
anyone else is refused and nothing is made; a tenant can require it."""

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from tenants import services
from tenants.models import AuditEntry, Invitation, Membership, SingleSignOn, Tenant, User
from tenants.scoping import tenant_scope
from tests.conftest import REQUIRE_SERVICES
from tests.tenants.factories import TenantFactory, totp_code

PROVIDER_DIR = Path(__file__).resolve().parent.parent / "oidc"
SLUG = "central-bedfordshire"
CLIENT_ID = "central-bedfordshire-actions"
CLIENT_SECRET = secrets.token_urlsafe(24)
CALLBACK = f"http://testserver/accounts/oidc/sso-{SLUG}/login/callback/"
PASSWORD = "correct horse battery"


def _need(what: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"This test needs {what} and REQUIRE_SERVICES=1.")
    pytest.skip(f"needs {what}")


@pytest.fixture(scope="module")
def provider_url():
    """The provider's address, for this module's tests; stopped at the end."""
    node = shutil.which("node")
    if node is None:
        _need("Node.js (apt-get install nodejs npm)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        _need("oidc-provider, installed by 'npm ci' in tests/oidc (make test does it)")
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "client_secret_post",
        }
    ]
    process = subprocess.Popen(
        [node, "provider.mjs"],
        cwd=PROVIDER_DIR,
        env={**os.environ, "OIDC_CLIENTS": json.dumps(clients)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening "):
            pytest.fail(f"The test OpenID Connect provider did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def sso(story, provider_url) -> SingleSignOn:
    return services.single_sign_on_update(
        tenant=story.tenant,
        by=story.erin,
        directory=provider_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        email_domains="example.org",
        required=False,
    )


def _require(story) -> None:
    Tenant.objects.filter(pk=story.tenant.pk).update(single_sign_on_required=True)
    story.tenant.refresh_from_db()


def sign_in_through_provider(client, login: str, next_url: str = "/"):
    """Start at the service, sign in at the provider as ``login`` (any password), and come back;
    the service's answer to the provider's redirect."""
    started = client.post(
        f"/accounts/oidc/sso-{SLUG}/login/", {"process": "login", "next": next_url}
    )
    assert started.status_code == 302, started.content
    at_provider = requests.Session()
    url = started["Location"]
    for _ in range(10):
        if urlsplit(url).hostname == "testserver":
            break
        response = at_provider.get(url, allow_redirects=False, timeout=30)
        if response.status_code == 200 and 'name="login"' in response.text:
            # The provider's sign-in form: it posts back to the same interaction.
            response = at_provider.post(
                url,
                data={"prompt": "login", "login": login, "password": "anything"},
                allow_redirects=False,
                timeout=30,
            )
        assert response.status_code in {302, 303}, response.text[:500]
        url = requests.compat.urljoin(url, response.headers["Location"])
    else:
        pytest.fail("The provider never sent the browser back to the service.")
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def _signed_in_as(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.filter(pk=user_id).first() if user_id else None


# --- Signing in through the provider ------------------------------------------------------------


def test_member_whose_provider_verifies_their_address_signs_in(client, story, sso):
    response = sign_in_through_provider(client, story.bob.email, next_url=f"/t/{SLUG}/")

    assert response.status_code == 302 and response["Location"] == f"/t/{SLUG}/"
    assert _signed_in_as(client) == story.bob
    assert client.get(f"/t/{SLUG}/").status_code == 200


def test_address_matches_whatever_its_case(client, story, sso):
    sign_in_through_provider(client, story.bob.email.upper())
    assert _signed_in_as(client) == story.bob


def test_entra_domain_owner_verified_claim_vouches_for_the_address(client, story, sso):
    sign_in_through_provider(client, f"entra:{story.bob.email}")
    assert _signed_in_as(client) == story.bob


def test_invited_person_signing_in_accepts_the_invitation(client, story, sso):
    invitation = services.invitation_create(
        tenant=story.tenant,
        by=story.erin,
        email="newcomer@example.org",
        full_name="Nia Newcomer",
        role=Membership.Role.OFFICER,
    )

    response = sign_in_through_provider(client, "newcomer@example.org", next_url=f"/t/{SLUG}/")

    assert response.status_code == 302
    account = User.objects.get(email="newcomer@example.org")
    assert _signed_in_as(client) == account
    assert not account.has_usable_password()
    assert Membership.objects.get(tenant=story.tenant, user=account).role == "officer"
    invitation.refresh_from_db()
    assert invitation.accepted_by == account
    assert AuditEntry.objects.filter(summary="Invitation accepted", actor=account).exists()


def test_unverified_address_is_refused_and_nothing_is_made(client, story, sso):
    invitation = services.invitation_create(
        tenant=story.tenant,
        by=story.erin,
        email="newcomer@example.org",
        full_name="Nia Newcomer",
        role=Membership.Role.OFFICER,
    )

    response = sign_in_through_provider(client, "unverified:newcomer@example.org")

    assert response.status_code == 403
    assert "does not say that newcomer@example.org is verified" in response.content.decode()
    assert _signed_in_as(client) is None
    assert not User.objects.filter(email="newcomer@example.org").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_entra_address_in_an_unverified_domain_is_refused(client, story, sso):
    response = sign_in_through_provider(client, f"entra-unverified:{story.bob.email}")
    assert response.status_code == 403
    assert _signed_in_as(client) is None


def test_unknown_address_is_refused_and_no_account_is_made(client, story, sso):
    response = sign_in_through_provider(client, "stranger@example.org")

    assert response.status_code == 403
    assert (
        "stranger@example.org is not a member of Central Bedfordshire Council and has no "
        "invitation waiting" in response.content.decode()
    )
    assert _signed_in_as(client) is None
    assert not User.objects.filter(email="stranger@example.org").exists()


def test_member_of_another_organisation_only_is_refused(client, story, sso):
    response = sign_in_through_provider(client, story.charlie.email)
    assert response.status_code == 403
    assert _signed_in_as(client) is None


# --- Requiring it -----------------------------------------------------------------------------


def test_required_single_sign_on_refuses_a_password(client, story, sso):
    _require(story)

    response = client.post("/accounts/login/", {"login": story.bob.email, "password": PASSWORD})

    assert response.status_code == 200
    assert "asks you to sign in with your organisation&#x27;s account" in response.content.decode()
    assert _signed_in_as(client) is None


def test_someone_in_two_organisations_needs_the_requiring_ones_sign_in_for_its_pages(
    client, story, sso
):
    _require(story)
    elsewhere = TenantFactory(name="Luton Borough Council", slug="luton")
    with tenant_scope(elsewhere):
        services.membership_add(tenant=elsewhere, user=story.bob, role=Membership.Role.OFFICER)

    client.post("/accounts/login/", {"login": story.bob.email, "password": PASSWORD})
    assert _signed_in_as(client) == story.bob
    assert client.get("/t/luton/").status_code == 200
    refused = client.get(f"/t/{SLUG}/")
    assert refused.status_code == 403
    assert f"/accounts/oidc/sso-{SLUG}/login/" in refused.content.decode()

    sign_in_through_provider(client, story.bob.email)
    assert client.get(f"/t/{SLUG}/").status_code == 200
    assert client.get("/t/luton/").status_code == 200


def test_the_operator_is_never_locked_out(client, story, sso):
    _require(story)
    User.objects.filter(pk=story.erin.pk).update(is_staff=True)

    client.post("/accounts/login/", {"login": story.erin.email, "password": PASSWORD})
    # The operator administers, so signs in with a second factor too.
    client.post(reverse("mfa_authenticate"), {"code": totp_code()})

    assert _signed_in_as(client) == story.erin
    assert client.get(f"/t/{SLUG}/").status_code == 200


def test_requiring_it_needs_the_administrator_to_have_signed_in_with_it(story, sso, provider_url):
    values = dict(
        tenant=story.tenant,
        by=story.erin,
        directory=provider_url,
        client_id=CLIENT_ID,
        client_secret=None,
        email_domains="example.org",
        required=True,
    )
    with pytest.raises(ValidationError) as refused:
        services.single_sign_on_update(**values)
    assert "Sign in with your organisation's account yourself first" in str(refused.value)
    story.tenant.refresh_from_db()
    assert not story.tenant.single_sign_on_required

    services.single_sign_on_update(**values, signed_in_with_it=True)
    story.tenant.refresh_from_db()
    assert story.tenant.single_sign_on_required


# --- Settings -----------------------------------------------------------------------------------


def _settings_form(provider_url: str, **changes) -> dict:
    return {
        "directory": provider_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "email_domains": "example.org, Example.GOV.uk",
        "required": "no",
        "action": "save",
        **changes,
    }


def test_administrator_sets_it_up_and_the_record_holds_no_secret(client, story, provider_url):
    client.force_login(story.erin)

    response = client.post(f"/t/{SLUG}/settings/single-sign-on/", _settings_form(provider_url))

    assert response.status_code == 302
    config = SingleSignOn.objects.get(tenant=story.tenant)
    assert config.domains == ["example.org", "example.gov.uk"]
    assert config.discovery_url == f"{provider_url}/.well-known/openid-configuration"
    assert config.client_secret == CLIENT_SECRET
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT client_secret_sealed FROM {SingleSignOn._meta.db_table} WHERE id = %s",
            [config.pk],
        )
        assert CLIENT_SECRET not in cursor.fetchone()[0]
    [entry] = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.SINGLE_SIGN_ON)
    assert entry.summary == "Single sign-on set up" and entry.actor == story.erin
    rows = {row.label: row.after for row in entry.rows}
    assert rows["Client secret"].startswith("a key with fingerprint ")
    assert CLIENT_SECRET not in json.dumps(entry.changes)
    page = client.get(f"/t/{SLUG}/settings/single-sign-on/").content.decode()
    assert CLIENT_SECRET not in page
    assert CALLBACK.removeprefix("http://testserver") in page


def test_a_provider_that_does_not_answer_is_refused_and_nothing_is_saved(client, story):
    client.force_login(story.erin)
    with socket_nobody_listens_on() as url:
        response = client.post(f"/t/{SLUG}/settings/single-sign-on/", _settings_form(url))

    assert response.status_code == 400
    page = response.content.decode()
    assert "could not be reached" in page and "Nothing was saved" in page
    assert CLIENT_SECRET not in page
    assert not SingleSignOn.objects.filter(tenant=story.tenant).exists()
    assert not AuditEntry.objects.filter(subject_type=AuditEntry.Subject.SINGLE_SIGN_ON).exists()


def test_a_page_that_is_not_a_discovery_document_is_refused(story, provider_url):
    with pytest.raises(ValidationError, match="answered 404"):
        services.single_sign_on_update(
            tenant=story.tenant,
            by=story.erin,
            directory=f"{provider_url}/.well-known/not-here",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            email_domains="example.org",
            required=False,
        )
    assert not SingleSignOn.objects.filter(tenant=story.tenant).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"directory": "not a directory"}, "directory", "Enter a directory (tenant) ID"),
        ({"directory": "http://idp.example.org/"}, "directory", "must start with https://"),
        ({"client_id": ""}, "client_id", "Enter the client (application) ID."),
        ({"client_secret": ""}, "client_secret", "Enter the client secret."),
        ({"email_domains": "example.org not_a_domain"}, "email_domains", "is not an e-mail domain"),
    ],
)
def test_bad_settings_are_refused_beside_their_field(story, provider_url, changes, field, message):
    values = _settings_form(provider_url, **changes)
    with pytest.raises(ValidationError) as refused:
        services.single_sign_on_update(
            tenant=story.tenant,
            by=story.erin,
            directory=values["directory"],
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            email_domains=values["email_domains"],
            required=False,
        )
    assert message in " ".join(refused.value.message_dict[field])
    assert not SingleSignOn.objects.filter(tenant=story.tenant).exists()


def test_an_entra_directory_id_names_microsofts_discovery_document():
    from tenants.services.single_sign_on import discovery_url_for

    assert discovery_url_for("72F988BF-86F1-41AF-91AB-2D7CD011DB47") == (
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        "/.well-known/openid-configuration"
    )


def test_checking_the_provider_says_who_answered_and_saves_nothing(client, story, provider_url):
    client.force_login(story.erin)
    response = client.post(
        f"/t/{SLUG}/settings/single-sign-on/", _settings_form(provider_url, action="check")
    )
    assert response.status_code == 200
    assert f"Your sign-in service answered: {provider_url}" in response.content.decode()
    assert not SingleSignOn.objects.filter(tenant=story.tenant).exists()


def test_only_a_tenant_administrator_changes_single_sign_on(client, story, provider_url):
    with pytest.raises(PermissionDenied):
        services.single_sign_on_update(
            tenant=story.tenant,
            by=story.alice,
            directory=provider_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            email_domains="example.org",
            required=False,
        )
    client.force_login(story.alice)
    assert client.get(f"/t/{SLUG}/settings/single-sign-on/").status_code == 403
    assert not SingleSignOn.objects.filter(tenant=story.tenant).exists()


def test_turning_it_off_lets_passwords_in_again_and_is_recorded(client, story, sso):
    _require(story)
    services.single_sign_on_remove(tenant=story.tenant, by=story.erin)

    story.tenant.refresh_from_db()
    assert not story.tenant.single_sign_on_required
    assert AuditEntry.objects.filter(summary="Single sign-on turned off").exists()
    client.post("/accounts/login/", {"login": story.bob.email, "password": PASSWORD})
    assert client.get(f"/t/{SLUG}/").status_code == 200


def test_the_sign_in_page_finds_the_organisation_from_the_address(client, story, sso):
    response = client.post("/accounts/sso/", {"email": "someone@EXAMPLE.org"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/oidc/sso-{SLUG}/login/")

    response = client.post("/accounts/sso/", {"email": "someone@elsewhere.org"})
    assert response.status_code == 400
    assert "No organisation signs in with addresses like this one" in response.content.decode()


class socket_nobody_listens_on:
    """An address on this machine where nothing answers."""

    def __enter__(self) -> str:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def __exit__(self, *exc) -> None:
        self.socket.close()


# --- The rules, without a provider --------------------------------------------------------------


def _configured(story) -> SingleSignOn:
    return SingleSignOn.objects.create(
        tenant=story.tenant,
        discovery_url="https://idp.example.org/.well-known/openid-configuration",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        email_domains="example.org",
    )


def test_rule_a_requiring_tenant_takes_only_its_own_sign_in_or_the_operator(story):
    from tenants.rules import single_sign_on_refusal

    assert (
        single_sign_on_refusal(user=story.bob, tenant=story.tenant, signed_in_with_it=False) is None
    )
    _require(story)
    refusal = single_sign_on_refusal(user=story.bob, tenant=story.tenant, signed_in_with_it=False)
    assert refusal is not None and "Central Bedfordshire Council asks" in refusal.message
    assert (
        single_sign_on_refusal(user=story.bob, tenant=story.tenant, signed_in_with_it=True) is None
    )
    story.erin.is_staff = True
    assert (
        single_sign_on_refusal(user=story.erin, tenant=story.tenant, signed_in_with_it=False)
        is None
    )


def test_rule_a_password_signs_in_while_any_organisation_takes_it(story):
    from tenants.rules import password_sign_in_refusal

    _require(story)
    assert password_sign_in_refusal(user=story.bob) is not None
    assert password_sign_in_refusal(user=story.charlie) is None  # Sunderland does not require it
    elsewhere = TenantFactory(name="Luton Borough Council", slug="luton")
    with tenant_scope(elsewhere):
        services.membership_add(tenant=elsewhere, user=story.bob, role=Membership.Role.OFFICER)
    assert password_sign_in_refusal(user=story.bob) is None
    story.erin.is_staff = True
    assert password_sign_in_refusal(user=story.erin) is None


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (
            {"email": "bob@elsewhere.org", "email_verified": True},
            "is not in one of the e-mail domains",
        ),
        ({"email_verified": True}, "did not tell the service your e-mail address"),
        (
            {"email": "bob@example.org", "email_verified": "false"},
            "does not say that bob@example.org is verified",
        ),
        ({"email": "bob@example.org"}, "does not say that bob@example.org is verified"),
    ],
)
def test_addresses_the_provider_does_not_vouch_for_are_refused(story, claims, message):
    _configured(story)
    with pytest.raises(services.SignInRefused, match=message):
        services.single_sign_on_member(tenant=story.tenant, claims=claims)


def test_a_closed_account_is_refused(story):
    _configured(story)
    User.objects.filter(pk=story.bob.pk).update(is_active=False)
    with pytest.raises(services.SignInRefused, match="has been closed"):
        services.single_sign_on_member(
            tenant=story.tenant, claims={"email": story.bob.email, "email_verified": True}
        )


def test_a_cancelled_invitation_is_not_accepted(story):
    _configured(story)
    invitation = services.invitation_create(
        tenant=story.tenant,
        by=story.erin,
        email="newcomer@example.org",
        full_name="Nia Newcomer",
        role=Membership.Role.OFFICER,
    )
    services.invitation_cancel(invitation=invitation, by=story.erin)
    with pytest.raises(services.SignInRefused, match="no invitation waiting"):
        services.single_sign_on_member(
            tenant=story.tenant, claims={"email": "newcomer@example.org", "email_verified": True}
        )
    assert not User.objects.filter(email="newcomer@example.org").exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_in_production_a_plain_http_provider_is_refused_even_on_this_machine(settings):
    settings.SINGLE_SIGN_ON_LOCAL_HTTP = False
    with pytest.raises(ValidationError, match="must start with https://"):
        services.single_sign_on_check(directory="http://127.0.0.1:8080/")


def test_a_client_secret_the_keys_cannot_read_stops_sign_in_with_the_reason(
    client, story, settings
):
    from tenants.sealed import new_key

    _configured(story)
    settings.ENCRYPTION_KEYS = [new_key()]

    response = client.post(f"/accounts/oidc/sso-{SLUG}/login/", {"process": "login"})

    assert response.status_code == 503
    assert "the service cannot read the settings it keeps for it" in response.content.decode()
