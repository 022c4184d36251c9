"""The people, invitation, partner agency and invitation-link pages, through the test client."""

import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from notifications.models import Message
from tenants.models import AuditEntry, Invitation, Membership, Partner, Tenant, User
from tenants.scoping import across_tenants, tenant_scope
from tests.tenants.factories import Role, UserFactory

PASSWORD = "plum orchard ladder 47"


def url(story, path=""):
    return f"/t/{story.tenant.slug}/settings/{path}"


def link_in(message: Message) -> str:
    return re.search(r"https?://\S+(/invitations/\d+/[^/\s]+/)", message.body_text).group(1)


def test_people_page_lists_members_and_invitations_waiting(story, client):
    client.force_login(story.erin)
    client.post(
        url(story, "people/invite/"),
        {"full_name": "Nina New", "email": "nina@example.org", "role": "officer", "partner": ""},
    )
    page = client.get(url(story, "people/"))
    text = page.content.decode()
    assert page.status_code == 200
    for name in ("Bob Officer", "Bedfordshire Police", "Read-only viewer", "nina@example.org"):
        assert name in text
    assert "Charlie Outsider" not in text


@pytest.mark.parametrize("who", ["alice", "bob", "victor"])
def test_people_and_partner_pages_are_refused_to_everyone_but_the_administrator(story, client, who):
    client.force_login(getattr(story, who))
    for path in (
        "people/",
        "people/invite/",
        f"people/{story.bob.pk}/",
        "partners/",
        "partners/new/",
    ):
        assert client.get(url(story, path)).status_code == 403


def test_another_organisations_people_invitations_and_agencies_are_not_found(story, client):
    with tenant_scope(story.other_tenant):
        admin = UserFactory(second_factor=True)
        Membership.objects.create(tenant=story.other_tenant, user=admin, role=Role.TENANT_ADMIN)
        from tenants import services

        theirs = services.invitation_create(
            tenant=story.other_tenant,
            by=admin,
            email="t@example.org",
            full_name="T",
            role="officer",
        )
        their_partner = Partner.objects.filter(tenant=story.other_tenant).first()
    client.force_login(story.erin)
    assert client.get(url(story, f"people/{story.charlie.pk}/")).status_code == 404
    assert client.get(url(story, f"partners/{their_partner.pk}/")).status_code == 404
    assert client.post(url(story, f"invitations/{theirs.pk}/cancel/")).status_code == 404
    assert client.post(url(story, f"invitations/{theirs.pk}/send-again/")).status_code == 404
    with across_tenants():
        theirs.refresh_from_db()
    assert theirs.cancelled_at is None


def test_inviting_with_mistakes_shows_each_and_sends_nothing(story, client):
    client.force_login(story.erin)
    page = client.post(url(story, "people/invite/"), {"full_name": "", "email": "not-an-address"})
    text = page.content.decode()
    assert page.status_code == 400
    assert "There is a problem" in text
    assert "Enter the person&#x27;s full name." in text
    assert "Enter an e-mail address in the correct format" in text
    assert "Choose the role they will have." in text
    assert not Invitation.objects.exists()


def test_inviting_a_member_or_someone_already_invited_says_so(story, client):
    client.force_login(story.erin)
    page = client.post(
        url(story, "people/invite/"),
        {"full_name": "Bob", "email": story.bob.email, "role": "officer"},
    )
    assert page.status_code == 400 and "already a member" in page.content.decode()
    data = {"full_name": "Nina New", "email": "nina@example.org", "role": "officer"}
    client.post(url(story, "people/invite/"), data)
    page = client.post(url(story, "people/invite/"), data)
    assert page.status_code == 400
    assert "Send the invitation again" in page.content.decode()
    assert Invitation.objects.count() == 1


def test_changing_a_role_on_the_persons_page(story, client):
    client.force_login(story.erin)
    page = client.get(url(story, f"people/{story.bob.pk}/"))
    assert "Remove Bob Officer" in page.content.decode()
    page = client.post(
        url(story, f"people/{story.bob.pk}/"), {"role": "manager", "partner": story.health.pk}
    )
    assert page.status_code == 302
    membership = Membership.objects.get(tenant=story.tenant, user=story.bob)
    assert (membership.role, membership.partner) == ("manager", story.health)


def test_the_persons_page_says_why_they_cannot_be_removed_and_offers_no_button(story, client):
    story.action("1.1")
    client.force_login(story.erin)
    text = client.get(url(story, f"people/{story.bob.pk}/")).content.decode()
    assert "lead 1 open action" in text
    assert "Remove Bob Officer</a>" not in text
    page = client.post(url(story, f"people/{story.bob.pk}/remove/"))
    assert page.status_code == 409
    assert Membership.objects.filter(tenant=story.tenant, user=story.bob).exists()


def test_removing_someone_from_their_page(story, client):
    client.force_login(story.erin)
    assert client.get(url(story, f"people/{story.victor.pk}/remove/")).status_code == 200
    page = client.post(url(story, f"people/{story.victor.pk}/remove/"))
    assert page.status_code == 302
    assert not Membership.objects.filter(tenant=story.tenant, user=story.victor).exists()


def test_cancelling_and_sending_again_from_the_people_page(story, client):
    client.force_login(story.erin)
    client.post(
        url(story, "people/invite/"),
        {"full_name": "Nina", "email": "nina@example.org", "role": "viewer"},
    )
    invitation = Invitation.objects.get()
    assert client.post(url(story, f"invitations/{invitation.pk}/send-again/")).status_code == 302
    assert Message.objects.filter(key__startswith="invitation:").count() == 2
    assert client.post(url(story, f"invitations/{invitation.pk}/cancel/")).status_code == 302
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None


def test_partner_page_adds_an_agency_and_invites_its_contact_in_one_save(story, client):
    client.force_login(story.erin)
    page = client.post(
        url(story, "partners/new/"),
        {
            "name": "Youth Offending Service",
            "kind": "probation",
            "contact": "",
            "contact_name": "Yusuf Young",
            "contact_email": "yusuf@example.org",
        },
    )
    assert page.status_code == 302
    partner = Partner.objects.get(name="Youth Offending Service")
    assert Invitation.objects.get().partner == partner
    listing = client.get(url(story, "partners/")).content.decode()
    assert "Yusuf Young" in listing and "Invited" in listing


def test_partner_form_refuses_both_a_member_and_an_invitation(story, client):
    client.force_login(story.erin)
    page = client.post(
        url(story, f"partners/{story.police.pk}/"),
        {
            "name": "Bedfordshire Police",
            "kind": "police",
            "contact": story.bob.pk,
            "contact_name": "Someone",
            "contact_email": "",
        },
    )
    text = page.content.decode()
    assert page.status_code == 400
    assert "not both" in text and "Enter the e-mail address of the contact" in text
    story.police.refresh_from_db()
    assert story.police.contact is None
    assert not AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PARTNER).exists()


def _invite(story, client, email="nina@example.org") -> str:
    client.force_login(story.erin)
    client.post(
        url(story, "people/invite/"), {"full_name": "Nina New", "email": email, "role": "officer"}
    )
    client.logout()
    return link_in(Message.objects.filter(key__startswith="invitation:").latest("pk"))


def test_a_new_person_sets_a_password_and_lands_on_the_organisations_home(story, client):
    link = _invite(story, client)
    page = client.get(link)
    assert page.status_code == 200
    assert 'value="Nina New"' in page.content.decode()

    page = client.post(
        link, {"full_name": "Nina New", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert page.status_code == 302 and page.url == f"/t/{story.tenant.slug}/"
    assert client.get(page.url).status_code == 200
    assert client.get(link).status_code == 404


def test_mismatched_passwords_are_explained_and_nothing_changes(story, client):
    link = _invite(story, client)
    page = client.post(link, {"full_name": "Nina New", "password1": PASSWORD, "password2": "x"})
    assert page.status_code == 400
    assert "The two passwords are not the same" in page.content.decode()
    page = client.post(link, {"full_name": "Nina New", "password1": "1234", "password2": "1234"})
    assert page.status_code == 400 and "too short" in page.content.decode()
    assert Invitation.objects.get().accepted_at is None


def test_someone_with_an_account_is_asked_to_sign_in_and_then_accepts(story, client):
    with tenant_scope(story.other_tenant):
        admin = UserFactory(second_factor=True)
        Membership.objects.create(tenant=story.other_tenant, user=admin, role=Role.TENANT_ADMIN)
        from tenants import services

        services.invitation_create(
            tenant=story.other_tenant,
            by=admin,
            email=story.bob.email,
            full_name="Bob",
            role="viewer",
        )
    with tenant_scope(story.other_tenant):
        link = link_in(Message.objects.filter(key__startswith="invitation:").latest("pk"))
    text = client.get(link).content.decode()
    assert "Sign in to accept" in text and "password1" not in text
    assert client.post(link).status_code == 403
    client.force_login(story.alice)
    assert "but this invitation is for" in client.get(link).content.decode()
    client.force_login(story.bob)
    page = client.post(link)
    assert page.status_code == 302 and page.url == f"/t/{story.other_tenant.slug}/"


def test_a_wrong_or_cancelled_link_gives_a_clear_page(story, client):
    link = _invite(story, client)
    broken = link[:-2] + ("x/" if link[-2] != "x" else "y/")
    page = client.get(broken)
    assert page.status_code == 404
    assert "This invitation link does not work" in page.content.decode()
    Invitation.objects.update(cancelled_at=Invitation.objects.get().created_at)
    page = client.get(link)
    assert page.status_code == 404 and "was cancelled" in page.content.decode()


def test_the_invitation_email_reaches_a_real_smtp_server_and_its_link_is_accepted(
    story, client, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://testserver"
    client.force_login(story.erin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url(story, "people/invite/"),
            {"full_name": "Nina New", "email": "nina@example.org", "role": "officer"},
        )
    # Delivered by the outbox task (run at once in tests) to the SMTP server.
    [received] = smtp_server.received
    assert received.recipients == ["nina@example.org"]
    subject = " ".join(received.message["Subject"].split())
    assert subject.endswith("you are invited to join Central Bedfordshire Council")
    [body] = [
        part.get_payload(decode=True).decode()
        for part in received.message.walk()
        if part.get_content_type() == "text/plain"
    ]
    link = re.search(r"http://testserver(/invitations/\S+/)", body).group(1)
    assert Message.objects.get(key__startswith="invitation:").status == Message.Status.SENT
    client.logout()
    page = client.post(
        link, {"full_name": "Nina New", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert page.status_code == 302
    assert User.objects.get(email="nina@example.org").check_password(PASSWORD)


def test_create_tenant_makes_the_organisation_and_invites_its_first_administrator(db, capsys):
    operator = UserFactory(is_staff=True, email="ops@example.org")
    call_command(
        "create_tenant",
        "--name=Luton Borough Council",
        "--slug=luton",
        "--kind=local_authority",
        "--nation=england",
        "--admin-email=Head@Luton.example.org",
        "--admin-name=Hana Head",
        "--operator-email=ops@example.org",
    )
    tenant = Tenant.objects.get(slug="luton")
    with tenant_scope(tenant):
        invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "head@luton.example.org",
        Role.TENANT_ADMIN,
        operator,
    )
    with tenant_scope(tenant):
        assert Message.objects.filter(address="head@luton.example.org").exists()
    assert not User.objects.filter(email="head@luton.example.org").exists()
    assert "invited head@luton.example.org" in capsys.readouterr().out


def test_create_tenant_needs_a_real_operator_and_a_free_slug(story):
    with pytest.raises(CommandError, match="createsuperuser"):
        call_command(
            "create_tenant",
            "--name=Luton",
            "--slug=luton",
            "--kind=local_authority",
            "--admin-email=a@example.org",
            "--admin-name=A",
            f"--operator-email={story.erin.email}",
        )
    UserFactory(is_staff=True, email="ops@example.org")
    with pytest.raises(CommandError):
        call_command(
            "create_tenant",
            "--name=Another",
            f"--slug={story.tenant.slug}",
            "--kind=local_authority",
            "--admin-email=a@example.org",
            "--admin-name=A",
            "--operator-email=ops@example.org",
        )
    assert not Tenant.objects.filter(name__in=["Luton", "Another"]).exists()
    assert not mail.outbox


def test_guessing_invitation_links_is_cut_short(story, client):
    for _ in range(20):
        assert client.get("/invitations/1/guess/").status_code == 404
    assert client.get("/invitations/1/guess/").status_code == 429


def test_create_tenant_needs_an_operator_with_a_second_factor(db):
    UserFactory(is_staff=True, email="ops@example.org", second_factor=False)

    with pytest.raises(CommandError, match="has no second factor"):
        call_command(
            "create_tenant",
            "--name=Luton Borough Council",
            "--slug=luton",
            "--kind=local_authority",
            "--admin-email=head@luton.example.org",
            "--admin-name=Hana Head",
            "--operator-email=ops@example.org",
        )

    assert not Tenant.objects.filter(slug="luton").exists()
