"""Invitations: made by a tenant administrator, e-mailed through the outbox with a link that
works once, for INVITATION_DAYS, and accepted by someone new (choosing a password) or by someone
who already signs in with the address (without one)."""

import datetime
import re
import threading

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from notifications.models import Message
from tenants import services
from tenants.models import AuditEntry, Invitation, Membership, User
from tenants.scoping import across_tenants, tenant_scope
from tests.tenants.factories import Role, UserFactory

PASSWORD = "plum orchard ladder 47"


def invite(story, email="new.person@example.org", **fields) -> Invitation:
    fields.setdefault("full_name", "Nina New")
    fields.setdefault("role", Role.OFFICER)
    fields.setdefault("partner", None)
    return services.invitation_create(tenant=story.tenant, by=story.erin, email=email, **fields)


def link_of(message: Message) -> tuple[int, str]:
    match = re.search(r"/invitations/(\d+)/([^/\s]+)/", message.body_text)
    return int(match.group(1)), match.group(2)


def latest_link(invitation: Invitation) -> tuple[int, str]:
    with tenant_scope(invitation.tenant_id):
        message = Message.objects.filter(
            key__startswith=f"invitation:{invitation.tenant_id}:"
        ).latest("pk")
    return link_of(message)


def accept(pk, token, **kwargs):
    kwargs.setdefault("full_name", "Nina New")
    kwargs.setdefault("password", PASSWORD)
    return services.invitation_accept(invitation_id=pk, token=token, **kwargs)


def test_invitation_keeps_only_a_hash_and_writes_its_email_to_the_outbox(story, settings):
    settings.SITE_URL = "https://plans.example.org"
    invitation = invite(story, email=" New.Person@Example.org ")

    assert invitation.email == "new.person@example.org"
    assert invitation.is_pending
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        datetime.timedelta(days=7), abs=datetime.timedelta(seconds=5)
    )
    [message] = Message.objects.filter(key__startswith="invitation:")
    # Someone new has no account until they accept: the e-mail goes to the address.
    assert (message.recipient, message.address) == (None, "new.person@example.org")
    assert not User.objects.filter(email="new.person@example.org").exists()
    assert message.tenant == story.tenant
    pk, token = link_of(message)
    assert pk == invitation.pk
    assert f"https://plans.example.org/invitations/{pk}/{token}/" in message.body_text
    assert invitation.token_hash == services.invitation_token_hash(token)
    assert token not in invitation.token_hash


def test_invitation_days_come_from_the_setting(story, settings):
    settings.INVITATION_DAYS = 2
    invitation = invite(story)
    assert invitation.expires_at - timezone.now() < datetime.timedelta(days=2, seconds=5)


def test_link_works_once_and_makes_the_membership_and_the_password(story):
    invitation = invite(story, partner=story.health, role=Role.MANAGER)
    pk, token = latest_link(invitation)

    accepted, user = accept(pk, token, full_name="Nina Newcomer")

    assert user.full_name == "Nina Newcomer" and user.check_password(PASSWORD)
    membership = Membership.objects.get(tenant=story.tenant, user=user)
    assert (membership.role, membership.partner) == (Role.MANAGER, story.health)
    assert accepted.accepted_by == user and accepted.accepted_at is not None
    with pytest.raises(services.InvitationLinkBroken, match="already been accepted"):
        accept(pk, token)
    assert Membership.objects.filter(user=user).count() == 1


def test_a_wrong_token_is_refused_and_changes_nothing(story):
    invitation = invite(story)
    pk, token = latest_link(invitation)
    with pytest.raises(services.InvitationLinkBroken):
        accept(pk, token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(services.InvitationLinkBroken):
        accept(pk + 1000, token)
    invitation.refresh_from_db()
    assert invitation.is_pending
    assert not Membership.objects.filter(user__email="new.person@example.org").exists()


def test_an_expired_link_is_refused_and_changes_nothing(story):
    invitation = invite(story)
    pk, token = latest_link(invitation)
    Invitation.objects.filter(pk=pk).update(expires_at=timezone.now() - datetime.timedelta(hours=1))
    with pytest.raises(services.InvitationLinkBroken, match="ran out"):
        accept(pk, token)
    assert not Membership.objects.filter(user__email="new.person@example.org").exists()


def test_sending_again_makes_a_new_link_and_the_old_one_dies(story):
    invitation = invite(story)
    old_pk, old_token = latest_link(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + datetime.timedelta(hours=1)
    )

    services.invitation_resend(invitation=invitation, by=story.erin)

    new_pk, new_token = latest_link(invitation)
    assert new_pk == old_pk and new_token != old_token
    assert Message.objects.filter(key__startswith="invitation:").count() == 2
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + datetime.timedelta(days=6)
    with pytest.raises(services.InvitationLinkBroken):
        accept(old_pk, old_token)
    accept(new_pk, new_token)


def test_a_cancelled_invitation_cannot_be_accepted_or_sent_again(story):
    invitation = invite(story)
    pk, token = latest_link(invitation)
    services.invitation_cancel(invitation=invitation, by=story.erin)
    with pytest.raises(services.InvitationLinkBroken, match="cancelled"):
        accept(pk, token)
    with pytest.raises(ValidationError, match="cancelled"):
        services.invitation_resend(invitation=invitation, by=story.erin)
    with pytest.raises(ValidationError, match="already cancelled"):
        services.invitation_cancel(invitation=invitation, by=story.erin)


def test_someone_already_a_member_is_not_invited(story):
    with pytest.raises(ValidationError, match="already a member") as error:
        invite(story, email=story.bob.email.upper())
    assert "email" in error.value.error_dict
    assert not Invitation.objects.exists()
    assert not Message.objects.filter(key__startswith="invitation:").exists()


def test_an_address_with_an_invitation_waiting_is_offered_sending_it_again(story):
    first = invite(story)
    with pytest.raises(services.InvitationPending) as error:
        invite(story, email="NEW.person@example.org", full_name="Someone Else")
    assert error.value.invitation == first
    assert Invitation.objects.count() == 1


def test_only_a_tenant_administrator_invites(story):
    for someone in (story.alice, story.bob, story.victor, story.charlie):
        with pytest.raises(PermissionDenied):
            services.invitation_create(
                tenant=story.tenant,
                by=someone,
                email="x@example.org",
                full_name="X",
                role=Role.OFFICER,
            )
    invitation = invite(story)
    with pytest.raises(PermissionDenied):
        services.invitation_resend(invitation=invitation, by=story.alice)
    with pytest.raises(PermissionDenied):
        services.invitation_cancel(invitation=invitation, by=story.bob)
    assert not Invitation.objects.filter(cancelled_at__isnull=False).exists()


def test_the_operator_invites_only_while_the_organisation_has_no_administrator(story):
    operator = UserFactory(is_staff=True, full_name="Olive Operator")
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            tenant=story.tenant, by=operator, email="x@example.org", full_name="X", role="officer"
        )
    fresh = services.tenant_create(name="Luton Council", slug="luton", kind="local_authority")
    with tenant_scope(fresh):
        invitation = services.invitation_create(
            tenant=fresh,
            by=operator,
            email="head@luton.example.org",
            full_name="Hana Head",
            role=Role.TENANT_ADMIN,
        )
        assert invitation.invited_by == operator


def test_someone_who_already_signs_in_accepts_without_a_new_password(story):
    with tenant_scope(story.other_tenant):
        invitation = services.invitation_create(
            tenant=story.other_tenant,
            by=_admin_of(story.other_tenant),
            email=story.bob.email,
            full_name="Bob Officer",
            role=Role.VIEWER,
        )
    pk, token = latest_link(invitation)
    with pytest.raises(PermissionDenied, match="Sign in as"):
        accept(pk, token, signed_in=None)
    with pytest.raises(PermissionDenied, match="Sign in as"):
        accept(pk, token, signed_in=story.alice)

    _, user = accept(pk, token, signed_in=story.bob, password="", full_name="")

    assert user == story.bob
    story.bob.refresh_from_db()
    assert story.bob.check_password("correct horse battery")
    with across_tenants():
        assert Membership.objects.get(tenant=story.other_tenant, user=story.bob).role == Role.VIEWER
        assert Membership.objects.get(tenant=story.tenant, user=story.bob).role == Role.OFFICER


def _admin_of(tenant):
    with tenant_scope(tenant):
        return services.membership_add(
            tenant=tenant, user=UserFactory(second_factor=True), role=Role.TENANT_ADMIN
        ).user


def test_a_weak_or_missing_password_is_refused_with_the_validators_words(story):
    invitation = invite(story)
    pk, token = latest_link(invitation)
    with pytest.raises(ValidationError) as error:
        accept(pk, token, password="12345678")
    assert "password1" in error.value.error_dict
    with pytest.raises(ValidationError) as error:
        accept(pk, token, full_name=" ", password=PASSWORD)
    assert "full_name" in error.value.error_dict
    invitation.refresh_from_db()
    assert invitation.is_pending
    assert not User.objects.filter(email="new.person@example.org").exists()


def test_a_new_contact_becomes_the_agencys_contact_on_accepting(story):
    story.health.contact = None
    story.health.save()
    invitation = invite(story, partner=story.health)
    pk, token = latest_link(invitation)
    _, user = accept(pk, token)
    story.health.refresh_from_db()
    assert story.health.contact == user


def test_each_invitation_write_is_audited_with_before_and_after(story):
    invitation = invite(story, partner=story.police)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    services.invitation_resend(invitation=invitation, by=story.erin)
    services.invitation_cancel(invitation=invitation, by=story.erin)
    second = invite(story, email="second@example.org")
    pk, token = latest_link(second)
    _, user = accept(pk, token)

    rows = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.INVITATION).order_by("pk")
    sent, resent, cancelled, _sent2, accepted = rows
    assert (sent.summary, sent.actor) == ("Invitation sent", story.erin)
    assert {c["field"]: c["after"] for c in sent.changes}["partner"] == "Bedfordshire Police"
    assert resent.summary == "Invitation sent again"
    assert [c["field"] for c in resent.changes] == ["expires"]
    [change] = cancelled.changes
    assert (change["before"], change["after"]) == ("Waiting", "Cancelled")
    assert accepted.actor == user
    assert {c["field"]: (c["before"], c["after"]) for c in accepted.changes}["status"] == (
        "Waiting",
        "Accepted",
    )
    joined = AuditEntry.objects.get(subject_type=AuditEntry.Subject.PERSON, subject_id=user.pk)
    assert {c["field"]: (c["before"], c["after"]) for c in joined.changes}["role"] == (
        "",
        "Officer",
    )


def test_a_refused_acceptance_leaves_no_audit_row(story):
    invitation = invite(story)
    pk, token = latest_link(invitation)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        accept(pk, token, password="short")
    assert AuditEntry.objects.count() == before


# -- someone new has no account until they accept ----------------------------------------------

NEW_ADDRESS = "new.person@example.org"


def accounts_of(email: str = NEW_ADDRESS) -> int:
    return User.objects.filter(email__iexact=email).count()


def _invite_elsewhere(story, email: str = NEW_ADDRESS) -> Invitation:
    with tenant_scope(story.other_tenant):
        return services.invitation_create(
            tenant=story.other_tenant,
            by=_admin_of(story.other_tenant),
            email=email,
            full_name="Nina New",
            role=Role.VIEWER,
        )


def test_a_cancelled_invitation_leaves_no_account_behind(story):
    invitation = invite(story)
    services.invitation_cancel(invitation=invitation, by=story.erin)
    assert accounts_of() == 0


def test_an_invitation_left_to_run_out_leaves_no_account_and_the_address_can_be_invited_again(
    story,
):
    invitation = invite(story)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    assert accounts_of() == 0

    again = invite(story)

    assert again.pk != invitation.pk
    _, user = accept(*latest_link(again))
    assert accounts_of() == 1 and user.check_password(PASSWORD)


def test_the_invitation_to_someone_new_is_delivered_to_the_invited_address(story, smtp_server):
    from notifications.services import message_deliver

    invite(story)
    [message] = Message.objects.filter(key__startswith="invitation:")

    assert message_deliver(message_id=message.pk) == "sent"
    assert smtp_server.to() == [NEW_ADDRESS]


def test_an_address_invited_by_two_organisations_at_once_has_no_account_until_it_accepts(story):
    ours = invite(story)
    theirs = _invite_elsewhere(story)
    with across_tenants():
        sent = list(Message.objects.filter(key__startswith="invitation:"))
    assert [(m.recipient, m.address) for m in sent] == [(None, NEW_ADDRESS)] * 2
    assert accounts_of() == 0

    services.invitation_cancel(invitation=ours, by=story.erin)
    assert accounts_of() == 0

    _, user = accept(*latest_link(theirs))
    with across_tenants():
        assert list(Membership.objects.filter(user=user).values_list("tenant", flat=True)) == [
            story.other_tenant.pk
        ]
    assert accounts_of() == 1


def test_someone_invited_by_two_organisations_joins_both_with_one_account(story):
    ours = invite(story)
    theirs = _invite_elsewhere(story)
    _, user = accept(*latest_link(ours))

    # The password is chosen once; the second link wants them signed in with it.
    with pytest.raises(PermissionDenied, match="Sign in as"):
        accept(*latest_link(theirs))
    _, same = accept(*latest_link(theirs), signed_in=user, full_name="", password="")

    assert same == user and accounts_of() == 1
    with across_tenants():
        assert Membership.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_invitations_to_a_new_address_accepted_at_the_same_moment_make_one_account(
    postgres, story
):
    invite(story)
    _invite_elsewhere(story)
    # Each invitation committed and its e-mail went: the links are in the e-mails, not the outbox.
    links = []
    for sent in mail.outbox:
        pk, token = re.search(r"/invitations/(\d+)/([^/\s]+)/", sent.body).groups()
        links.append((int(pk), token))
    assert len(links) == 2
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def press(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = accept(*links[index])
        except (ValidationError, PermissionDenied) as refusal:
            results[index] = refusal
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    accepted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ValidationError | PermissionDenied)]
    assert len(accepted) == 1 and len(refused) == 1, results
    # Refused with a way on: sign in with the account just made, and open the link again.
    assert "Sign in" in " ".join(getattr(refused[0], "messages", [str(refused[0])]))
    assert accounts_of() == 1
    with across_tenants():
        assert Membership.objects.filter(user__email=NEW_ADDRESS).count() == 1
