"""Partner agencies: added and changed by a tenant administrator, with a named contact chosen
from the members or invited in the same step, every change recorded."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from notifications.models import Message
from tenants import services
from tenants.models import AuditEntry, Invitation, Partner
from tests.tenants.factories import Role


def partner_rows(partner):
    return AuditEntry.objects.filter(
        subject_type=AuditEntry.Subject.PARTNER, subject_id=partner.pk
    ).order_by("pk")


def changes(entry) -> dict[str, tuple[str, str]]:
    return {c["field"]: (c["before"], c["after"]) for c in entry.changes}


def test_adding_an_agency_with_a_member_as_its_contact_is_recorded(story):
    partner, invitation = services.partner_add(
        tenant=story.tenant,
        by=story.erin,
        name="Luton Schools",
        kind="education",
        contact=story.bob,
    )
    assert invitation is None
    assert (partner.name, partner.contact) == ("Luton Schools", story.bob)
    [entry] = partner_rows(partner)
    assert entry.actor == story.erin and entry.summary == "Partner agency added"
    assert changes(entry) == {
        "name": ("", "Luton Schools"),
        "kind": ("", "Education"),
        "contact": ("", "Bob Officer"),
    }


def test_changing_an_agency_records_what_changed(story):
    services.partner_update(
        partner=story.police,
        by=story.erin,
        name="Bedfordshire Police",
        kind="police",
        contact=story.alice,
    )
    [entry] = partner_rows(story.police)
    assert changes(entry) == {"contact": ("", "Alice Manager")}


def test_a_new_contact_is_invited_in_the_same_step_and_becomes_contact_on_accepting(story):
    partner, invitation = services.partner_add(
        tenant=story.tenant,
        by=story.erin,
        name="Youth Offending Service",
        kind="probation",
        invite_contact=("Yusuf Young", "yusuf@yos.example.org"),
    )
    assert partner.contact is None
    assert (invitation.partner, invitation.role, invitation.email) == (
        partner,
        Role.OFFICER,
        "yusuf@yos.example.org",
    )
    message = Message.objects.get(key__startswith=f"invitation:{story.tenant.pk}:{invitation.pk}:")
    token = message.body_text.split(f"/invitations/{invitation.pk}/")[1].split("/")[0]
    _, user = services.invitation_accept(
        invitation_id=invitation.pk,
        token=token,
        full_name="Yusuf Young",
        password="plum orchard ladder 47",
    )
    partner.refresh_from_db()
    assert partner.contact == user
    assert partner_rows(partner).last().summary == "Named contact joined by invitation"


def test_a_failed_contact_invitation_saves_nothing(story):
    with pytest.raises(ValidationError) as error:
        services.partner_add(
            tenant=story.tenant,
            by=story.erin,
            name="Youth Offending Service",
            kind="probation",
            invite_contact=("Bob Again", story.bob.email),
        )
    assert "contact_email" in error.value.error_dict
    assert not Partner.objects.filter(name="Youth Offending Service").exists()
    assert not AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PARTNER).exists()
    assert not Invitation.objects.exists()


def test_the_contact_must_be_a_member(story):
    with pytest.raises(ValidationError) as error:
        services.partner_update(
            partner=story.police,
            by=story.erin,
            name="Bedfordshire Police",
            kind="police",
            contact=story.charlie,
        )
    assert "contact" in error.value.error_dict
    story.police.refresh_from_db()
    assert story.police.contact is None


def test_two_agencies_cannot_share_a_name(story):
    with pytest.raises(ValidationError, match="already has a partner agency"):
        services.partner_add(
            tenant=story.tenant, by=story.erin, name="nhs bedfordshire", kind="health"
        )


def test_only_a_tenant_administrator_manages_agencies(story):
    with pytest.raises(PermissionDenied):
        services.partner_add(tenant=story.tenant, by=story.alice, name="Schools", kind="education")
    with pytest.raises(PermissionDenied):
        services.partner_update(partner=story.police, by=story.bob, name="Police", kind="police")
    story.police.refresh_from_db()
    assert story.police.name == "Bedfordshire Police"
