"""A tenant administrator changes people's roles and agencies and removes people: refused
while something still needs them, never the last administrator, always recorded."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from plans import services as plan_services
from plans.models import Action, ActionUserObjectPermission, ProgressUpdate
from tenants import services
from tenants.models import AuditEntry, Membership, SignOffBodyMember, User
from tenants.rules import removal_refusal, role_change_refusal
from tests.tenants.factories import Role, member


def membership(story, user) -> Membership:
    return Membership.objects.get(tenant=story.tenant, user=user)


def person_rows(story, user):
    return AuditEntry.objects.filter(subject_type=AuditEntry.Subject.PERSON, subject_id=user.pk)


def changes(entry) -> dict[str, tuple[str, str]]:
    return {c["field"]: (c["before"], c["after"]) for c in entry.changes}


def test_changing_a_role_and_agency_is_recorded_before_and_after(story):
    services.membership_change(
        membership=membership(story, story.bob), by=story.erin, role=Role.MANAGER, partner=None
    )
    assert membership(story, story.bob).role == Role.MANAGER
    [entry] = person_rows(story, story.bob)
    assert entry.actor == story.erin
    assert changes(entry) == {
        "role": ("Officer", "Manager"),
        "partner": ("Bedfordshire Police", ""),
    }


def test_only_a_tenant_administrator_changes_roles_or_removes_people(story):
    for someone in (story.alice, story.bob, story.victor):
        with pytest.raises(PermissionDenied):
            services.membership_change(
                membership=membership(story, story.mark), by=someone, role=Role.VIEWER, partner=None
            )
        with pytest.raises(PermissionDenied):
            services.membership_remove(membership=membership(story, story.victor), by=someone)
    assert membership(story, story.mark).role == Role.MANAGER
    assert not person_rows(story, story.mark).exists()


def test_the_last_tenant_administrator_cannot_be_demoted(story):
    with pytest.raises(ValidationError, match="only tenant administrator"):
        services.membership_change(
            membership=membership(story, story.erin), by=story.erin, role=Role.MANAGER, partner=None
        )
    assert membership(story, story.erin).role == Role.TENANT_ADMIN
    # With a second administrator, one may step down.
    services.membership_change(
        membership=membership(story, story.alice),
        by=story.erin,
        role=Role.TENANT_ADMIN,
        partner=None,
    )
    services.membership_change(
        membership=membership(story, story.erin), by=story.erin, role=Role.MANAGER, partner=None
    )
    assert membership(story, story.erin).role == Role.MANAGER


def test_an_administrator_cannot_remove_themselves(story):
    services.membership_change(
        membership=membership(story, story.alice),
        by=story.erin,
        role=Role.TENANT_ADMIN,
        partner=None,
    )
    refusal = removal_refusal(by=story.erin, membership=membership(story, story.erin))
    assert "cannot remove yourself" in refusal.message
    with pytest.raises(ValidationError, match="cannot remove yourself"):
        services.membership_remove(membership=membership(story, story.erin), by=story.erin)
    assert membership(story, story.erin)


def test_someone_leading_open_actions_is_not_removed_until_they_are_reassigned(story):
    story.action("1.1")
    story.action_in(Action.State.IN_PROGRESS, "1.2")
    story.action_in(Action.State.WITHDRAWN, "1.3")
    with pytest.raises(ValidationError, match="lead 2 open actions") as error:
        services.membership_remove(membership=membership(story, story.bob), by=story.erin)
    assert "another lead officer first" in str(error.value)
    assert membership(story, story.bob)
    assert not person_rows(story, story.bob).exists()


def test_a_body_is_never_left_below_its_quorum_or_without_its_chair(story):
    story.lscb_needs_two()
    refusal = removal_refusal(by=story.erin, membership=membership(story, story.dave))
    assert "too few for its quorum of 2" in refusal.message
    refusal = removal_refusal(by=story.erin, membership=membership(story, story.carol))
    assert "chair the LSCB board" in refusal.message
    with pytest.raises(ValidationError):
        services.membership_remove(membership=membership(story, story.dave), by=story.erin)
    assert SignOffBodyMember.objects.filter(body=story.lscb).count() == 3


def test_the_named_contact_of_an_agency_is_not_removed_until_replaced(story):
    services.partner_set_contact(partner=story.health, contact=story.victor)
    with pytest.raises(ValidationError, match="named contact for NHS Bedfordshire"):
        services.membership_remove(membership=membership(story, story.victor), by=story.erin)


def test_removing_a_person_ends_their_seats_and_delegations_and_keeps_their_history(story):
    act = story.action_in(Action.State.IN_PROGRESS, "2.1")
    plan_services.action_delegate(action=act, by=story.bob, delegate=story.mark)
    plan_services.progress_add(action=act, author=story.mark, text="Met the GPs.", rag="green")

    services.membership_remove(membership=membership(story, story.mark), by=story.erin)

    assert not Membership.objects.filter(tenant=story.tenant, user=story.mark).exists()
    assert not SignOffBodyMember.objects.filter(user=story.mark).exists()
    assert story.mark not in story.management_team.group.user_set.all()
    assert story.mark not in story.executive.group.user_set.all()
    assert not ActionUserObjectPermission.objects.filter(user=story.mark).exists()
    story.mark.refresh_from_db()
    assert story.mark.is_active  # the account stays; only this organisation's access goes
    [entry] = person_rows(story, story.mark)
    assert entry.summary == "Removed from the organisation" and entry.actor == story.erin
    assert changes(entry) == {
        "role": ("Manager", ""),
        "sign_off_bodies": ("Executive, Management team", ""),
    }
    delegates = AuditEntry.objects.filter(
        subject_type=AuditEntry.Subject.ACTION, subject_id=act.pk, summary__contains="left"
    ).get()
    assert changes(delegates) == {"delegates": ("Mark Team", "")}
    # What they did still shows their name.
    assert ProgressUpdate.objects.get(action=act).author.full_name == "Mark Team"


def test_a_viewer_cannot_be_made_of_someone_still_delivering(story):
    story.action("1.1")
    refusal = role_change_refusal(
        by=story.erin, membership=membership(story, story.bob), role=Role.VIEWER
    )
    assert "lead 1 open action" in refusal.message
    refusal = role_change_refusal(
        by=story.erin, membership=membership(story, story.carol), role=Role.VIEWER
    )
    assert "sit on the LSCB board" in refusal.message
    with pytest.raises(ValidationError):
        services.membership_change(
            membership=membership(story, story.carol), by=story.erin, role=Role.VIEWER, partner=None
        )
    assert membership(story, story.carol).role == Role.BOARD_MEMBER


def test_a_rolled_back_change_leaves_no_audit_row(story):
    newcomer = member(story.tenant, Role.OFFICER, full_name="Nora Newcomer")
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.membership_remove(membership=membership(story, newcomer), by=story.erin)
        raise RuntimeError("something after it failed")
    assert AuditEntry.objects.count() == before
    assert membership(story, newcomer)


def test_a_removed_persons_next_request_is_refused(story, client):
    client.force_login(story.victor)
    home = f"/t/{story.tenant.slug}/"
    assert client.get(home).status_code == 200

    services.membership_remove(membership=membership(story, story.victor), by=story.erin)

    # Removal ends their sessions; signed in again, they are no member.
    assert client.get(home)["Location"].startswith(reverse("account_login"))
    client.force_login(User.objects.get(pk=story.victor.pk))
    assert client.get(home).status_code == 404
    assert client.get(f"/t/{story.tenant.slug}/plans/{story.plan.pk}/").status_code == 404


def test_the_owner_of_a_plan_is_not_removed_until_it_has_another(story):
    with pytest.raises(ValidationError, match="own the action plan 'Laming action plan'"):
        services.membership_remove(membership=membership(story, story.alice), by=story.erin)
    assert membership(story, story.alice)
