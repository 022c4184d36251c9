"""Tenant scoping fails closed, and relations between tenant-owned rows never cross tenants."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from plans.models import Action, ActionPlan, ProgressUpdate
from tenants.models import Membership, Partner
from tenants.scoping import ScopeError, across_tenants, tenant_scope
from tenants.services import membership_add, sign_off_body_add_member
from tests.tenants.factories import PartnerFactory, TenantFactory, UserFactory


def test_query_without_an_active_tenant_raises(db):
    with pytest.raises(ScopeError):
        list(Action.objects.all())
    with pytest.raises(ScopeError):
        Partner.objects.filter(name="Police").exists()


def test_scope_refuses_an_empty_tenant(db):
    with pytest.raises(ScopeError), tenant_scope(None):
        pass


def test_scope_shows_only_the_active_tenants_rows(story):
    titles = set(ActionPlan.objects.values_list("title", flat=True))
    assert titles == {"Laming action plan"}
    with tenant_scope(story.other_tenant):
        assert set(ActionPlan.objects.values_list("title", flat=True)) == {
            "CANARY Sunderland Laming plan"
        }


def test_another_tenants_row_is_missing_not_forbidden(story):
    with pytest.raises(Action.DoesNotExist):
        Action.objects.get(pk=story.other_action.pk)


def test_named_opt_out_reads_across_tenants(story):
    with across_tenants():
        assert ActionPlan.objects.count() == 2


def test_lead_partner_from_another_tenant_is_refused(story):
    with tenant_scope(story.other_tenant):
        foreign_partner = Partner.objects.get()
    # Under row-level security the other tenant's partner is not there at all, as for a
    # missing one; without it, the same-organisation check refuses it.
    with pytest.raises(ValidationError, match=r"same organisation|not a valid choice"):
        story.action(lead_partner=foreign_partner)
    assert not Action.objects.filter(reference="1.1").exists()


def test_sign_off_body_from_another_tenant_is_refused(story):
    foreign_body = story.other_plan.owner_body
    with pytest.raises(ValidationError):
        story.action(sign_off_body=foreign_body)
    assert not Action.objects.exists()


def test_lead_officer_must_be_a_member_of_the_tenant(story):
    with pytest.raises(ValidationError, match="member of this organisation"):
        story.action(lead_officer=story.charlie)


def test_supporting_partner_from_another_tenant_is_refused(story):
    with tenant_scope(story.other_tenant):
        foreign_partner = Partner.objects.get()
    with pytest.raises(ValidationError, match="Partners must belong"):
        story.action(supporting_partners=[foreign_partner])
    assert not Action.objects.exists()


def test_moving_an_action_into_another_tenant_is_refused_on_save(story):
    action = story.action()
    action.tenant = story.other_tenant
    with pytest.raises(ValidationError):
        action.save()


def test_progress_by_someone_outside_the_tenant_is_refused_on_save(story):
    action = story.action()
    with pytest.raises(ValidationError):
        ProgressUpdate(
            tenant=story.tenant, action=action, author=story.charlie, text="x", rag="green"
        ).save()


def test_membership_partner_must_be_in_the_same_tenant(db):
    home, away = TenantFactory(), TenantFactory()
    away_partner = PartnerFactory(tenant=away)
    with tenant_scope(home), pytest.raises(ValidationError):
        membership_add(tenant=home, user=UserFactory(), role="officer", partner=away_partner)
    with across_tenants():
        assert not Membership.objects.exists()


def test_outsider_cannot_join_a_sign_off_body(story):
    with pytest.raises(ValidationError, match="not a member"):
        sign_off_body_add_member(body=story.lscb, user=story.charlie)


def test_viewer_cannot_join_a_sign_off_body(story):
    with pytest.raises(ValidationError, match="read-only"):
        sign_off_body_add_member(body=story.lscb, user=story.victor)


def test_one_person_can_hold_different_roles_in_two_tenants(story):
    with tenant_scope(story.other_tenant):
        membership_add(tenant=story.other_tenant, user=story.carol, role=Membership.Role.VIEWER)
    with across_tenants():
        roles = dict(
            Membership.objects.filter(user=story.carol).values_list("tenant__slug", "role")
        )
    assert roles == {"central-bedfordshire": "board_member", "sunderland": "viewer"}


def test_impossible_due_date_is_never_stored(story):
    with pytest.raises(ValidationError):
        story.action(due_date="2026-02-30")
    assert not Action.objects.exists()
    assert story.action(due_date=datetime.date(2026, 2, 28)).due_date.day == 28


def test_partner_contact_must_be_a_member_of_the_tenant(story):
    from tenants.services import partner_set_contact

    with pytest.raises(ValidationError, match="member of this organisation"):
        partner_set_contact(partner=story.police, contact=story.charlie)
    assert Partner.objects.get(pk=story.police.pk).contact is None
    partner_set_contact(partner=story.police, contact=story.bob)
    assert Partner.objects.get(pk=story.police.pk).contact == story.bob
