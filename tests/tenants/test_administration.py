"""Who may administer an organisation: its tenant administrators and the service's operator.
One rule, ``tenants.rules.administer_refusal``, asked by the services, the settings pages, the
navigation and, through the services, the operator's admin."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from notifications import services as notification_services
from plans import services as plan_services
from tenants import services
from tenants.models import AuditEntry, Membership, Partner, SignOffBody, Tenant
from tenants.rules import administer_refusal
from tests.tenants.factories import Role, UserFactory


@pytest.fixture
def operator(db):
    """The operator: an active staff account, a member of no organisation."""
    return UserFactory(full_name="Olive Operator", is_staff=True)


def test_the_tenant_administrator_and_the_operator_may_administer(story, operator):
    assert administer_refusal(by=story.erin, tenant=story.tenant) is None
    assert administer_refusal(by=operator, tenant=story.tenant) is None
    assert administer_refusal(by=operator, tenant=story.other_tenant.pk) is None


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "mark", "victor", "charlie"])
def test_nobody_else_may_administer_and_is_told_who_can(story, who):
    refusal = administer_refusal(by=getattr(story, who), tenant=story.tenant)
    assert refusal.message == "Only a tenant administrator can change this organisation's settings."
    assert not refusal.not_now


def test_the_refusal_names_what_was_asked(story):
    refusal = administer_refusal(
        by=story.alice, tenant=story.tenant, what="manage people and partner agencies"
    )
    assert refusal.message == "Only a tenant administrator can manage people and partner agencies."


def test_a_deactivated_administrator_or_operator_may_not(story, operator):
    story.erin.is_active = False
    story.erin.save()
    operator.is_active = False
    operator.save()
    assert administer_refusal(by=story.erin, tenant=story.tenant) is not None
    assert administer_refusal(by=operator, tenant=story.tenant) is not None


def test_an_administrator_elsewhere_may_not_administer_here(story):
    with pytest.raises(PermissionDenied):
        services.sign_off_body_set_quorum(body=story.lscb, quorum=1, by=story.charlie)
    assert administer_refusal(by=story.erin, tenant=story.other_tenant) is not None


def test_a_membership_given_by_a_page_must_be_the_persons_own(story):
    erins = Membership.objects.get(tenant=story.tenant, user=story.erin)
    assert administer_refusal(by=story.alice, tenant=story.tenant, membership=erins) is not None
    assert administer_refusal(by=story.erin, tenant=story.tenant, membership=erins) is None


def test_every_administrative_service_refuses_a_manager_and_changes_nothing(story):
    recorded = AuditEntry.objects.count()
    writes = {
        "change this organisation's settings": [
            lambda: services.tenant_set_nation(
                tenant=story.tenant, by=story.alice, nation=Tenant.Nation.WALES
            ),
            lambda: services.sign_off_body_create(
                tenant=story.tenant, by=story.alice, name="New", kind=SignOffBody.Kind.EXECUTIVE
            ),
            lambda: plan_services.action_plan_update(plan=story.plan, by=story.alice, title="X"),
        ],
        "manage people and partner agencies": [
            lambda: services.partner_add(
                tenant=story.tenant, by=story.alice, name="Probation", kind=Partner.Kind.PROBATION
            ),
            lambda: services.membership_change(
                membership=Membership.objects.get(tenant=story.tenant, user=story.bob),
                by=story.alice,
                role=Role.MANAGER,
                partner=None,
            ),
        ],
        "do this": [
            lambda: notification_services.escalation_policy_update(
                tenant=story.tenant, by=story.alice, overdue_days=2
            ),
        ],
    }
    for what, calls in writes.items():
        for write in calls:
            with pytest.raises(PermissionDenied) as refused:
                write()
            assert str(refused.value) == f"Only a tenant administrator can {what}."
    assert AuditEntry.objects.count() == recorded
    assert not Partner.objects.filter(name="Probation").exists()
    assert Tenant.objects.get(pk=story.tenant.pk).nation == Tenant.Nation.ENGLAND


def test_the_operator_adds_a_partner_agency_and_is_recorded_as_who(story, operator):
    partner, _ = services.partner_add(
        tenant=story.tenant, by=operator, name="Probation", kind=Partner.Kind.PROBATION
    )
    entry = AuditEntry.objects.get(subject_type=AuditEntry.Subject.PARTNER, subject_id=partner.pk)
    assert (entry.actor, entry.actor_name) == (operator, "Olive Operator")


def test_the_operator_still_invites_only_while_there_is_no_administrator(story, operator):
    with pytest.raises(PermissionDenied, match="Only a tenant administrator can invite people"):
        services.invitation_create(
            tenant=story.tenant,
            by=operator,
            email="x@example.org",
            full_name="X",
            role=Role.OFFICER,
        )


# -- the pages ---------------------------------------------------------------------------------


def settings_url(story, name="settings", **kwargs):
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


SETTINGS_PAGES = [
    ("settings", {}),
    ("people", {}),
    ("partners", {}),
    ("organisation", {}),
    ("sign_off_bodies", {}),
    ("audit", {}),
    ("frameworks", {}),
    ("escalation_settings", {}),
    ("messages_not_sent", {}),
    ("plan_new", {}),
]


@pytest.mark.parametrize("name,kwargs", SETTINGS_PAGES)
def test_settings_pages_are_refused_to_a_manager_with_the_same_words(client, story, name, kwargs):
    client.force_login(story.alice)
    response = client.get(settings_url(story, name, **kwargs))
    assert response.status_code == 403
    assert "Only a tenant administrator can see and change these settings." in (
        response.content.decode()
    )


@pytest.mark.parametrize("name,kwargs", SETTINGS_PAGES)
def test_settings_pages_open_to_the_administrator(client, story, name, kwargs):
    client.force_login(story.erin)
    assert client.get(settings_url(story, name, **kwargs)).status_code == 200


def test_the_settings_link_is_offered_only_to_whoever_may_administer(client, story):
    settings_link = f'href="{settings_url(story)}"'
    home = reverse("tenant_home", kwargs={"tenant_slug": story.tenant.slug})
    client.force_login(story.erin)
    assert settings_link in client.get(home).content.decode()
    client.force_login(story.alice)
    assert settings_link not in client.get(home).content.decode()


def test_an_administrator_who_steps_down_lands_on_the_home_page(client, story):
    services.membership_add(tenant=story.tenant, user=UserFactory(), role=Role.TENANT_ADMIN)
    client.force_login(story.erin)

    response = client.post(
        settings_url(story, "person", user_id=story.erin.pk), {"role": "manager", "partner": ""}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("tenant_home", kwargs={"tenant_slug": story.tenant.slug})
    assert client.get(settings_url(story, "people")).status_code == 403
