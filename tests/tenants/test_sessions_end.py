"""Sessions end when a person is deactivated, removed from an organisation or changes their
password elsewhere, and a session from before a deactivation never works again."""

from django.conf import settings
from django.test import Client
from django.urls import reverse

from tenants.models import Membership, User
from tenants.services import membership_remove, sessions_end
from tests.tenants.factories import UserFactory, totp_code

PASSWORD = "correct horse battery"


def plans_url(tenant_slug: str = "central-bedfordshire") -> str:
    return reverse("plans", kwargs={"tenant_slug": tenant_slug})


def signed_in_client(user) -> Client:
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    if client.session.get("_auth_user_id") is None:
        client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert client.get(plans_url()).status_code == 200
    return client


def works(client) -> bool:
    return client.get(plans_url()).status_code == 200


def signed_out(client) -> bool:
    response = client.get(plans_url())
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def with_cookie_of(client) -> Client:
    """Another browser holding a copy of ``client``'s session cookie, as a stolen cookie would."""
    copy = Client()
    copy.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return copy


def test_deactivation_ends_every_session(story):
    laptop, phone = signed_in_client(story.bob), signed_in_client(story.bob)

    story.bob.is_active = False
    story.bob.save()

    assert signed_out(laptop) and signed_out(phone)


def test_a_reactivated_persons_old_session_does_not_work_again(story):
    old = signed_in_client(story.bob)
    stolen = with_cookie_of(old)
    bob = User.objects.get(pk=story.bob.pk)
    bob.is_active = False
    bob.save()

    bob = User.objects.get(pk=story.bob.pk)
    bob.is_active = True
    bob.save()

    assert signed_out(stolen)
    assert signed_out(old)
    # Signing in again works as ever.
    assert works(signed_in_client(story.bob))


def test_deactivation_in_the_admin_ends_every_session(client, story):
    session = signed_in_client(story.bob)
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    change = reverse("admin:tenants_user_change", args=[story.bob.pk])
    form = client.get(change).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("password", "groups", "user_permissions")
    }
    data.update(
        email=story.bob.email,
        full_name=story.bob.full_name,
        date_joined_0=story.bob.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=story.bob.date_joined.strftime("%H:%M:%S"),
    )
    data.pop("is_active", None)

    response = client.post(change, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert not User.objects.get(pk=story.bob.pk).is_active
    assert signed_out(session)


def test_removal_from_an_organisation_ends_every_session(story):
    session = signed_in_client(story.victor)
    membership = Membership.objects.get(tenant=story.tenant, user=story.victor)

    membership_remove(membership=membership, by=story.erin)

    assert signed_out(session)


def test_removal_from_one_organisation_ends_the_session_for_the_others_too(story):
    """Someone in two organisations who is removed from one signs in again for the other."""
    from tenants.scoping import tenant_scope
    from tenants.services import membership_add
    from tests.tenants.factories import Role

    with tenant_scope(story.other_tenant):
        membership_add(tenant=story.other_tenant, user=story.victor, role=Role.VIEWER)
    session = signed_in_client(story.victor)
    assert session.get(plans_url("sunderland")).status_code == 200

    membership_remove(
        membership=Membership.objects.get(tenant=story.tenant, user=story.victor), by=story.erin
    )

    assert signed_out(session)
    again = signed_in_client_for(story.victor, "sunderland")
    assert again.get(plans_url("sunderland")).status_code == 200
    assert again.get(plans_url()).status_code == 404


def signed_in_client_for(user, tenant_slug: str) -> Client:
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert client.get(plans_url(tenant_slug)).status_code == 200
    return client


def test_the_administrator_who_removes_someone_stays_signed_in(client, story):
    admin = signed_in_client(story.erin)

    membership_remove(
        membership=Membership.objects.get(tenant=story.tenant, user=story.victor), by=story.erin
    )

    assert works(admin)


def test_a_password_change_by_a_board_member_keeps_this_session_and_ends_the_others(story):
    here = signed_in_client(story.carol)
    # The second browser signs in a period later: each code works once.
    elsewhere = Client()
    elsewhere.post(reverse("account_login"), {"login": story.carol.email, "password": PASSWORD})
    elsewhere.post(reverse("mfa_authenticate"), {"code": totp_code(step=1)})
    assert works(elsewhere)

    here.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "plum orchard 47", "password2": "plum orchard 47"},
    )

    assert response.status_code == 302
    assert works(here)
    assert signed_out(elsewhere)


def test_every_ending_of_sessions_counts_even_from_a_stale_copy(story):
    before = User.objects.get(pk=story.bob.pk).session_generation

    stale = User.objects.get(pk=story.bob.pk)
    sessions_end(user=story.bob)
    sessions_end(user=stale)

    assert User.objects.get(pk=story.bob.pk).session_generation == before + 2
