"""Reads about tenants and people."""

from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import (
    Capability,
    Invitation,
    Membership,
    Partner,
    Tenant,
    User,
    roles_that_can,
)
from tenants.scoping import across_tenants


def memberships_of_user(user: User) -> list[Membership]:
    """Every tenant a person belongs to, for choosing one after sign-in.

    Reads across tenants by design: it shows a person only their own memberships.
    """
    with across_tenants():
        return list(
            Membership.objects.filter(user=user, tenant__is_active=True)
            .select_related("tenant", "partner")
            .order_by("tenant__name")
        )


def has_several_memberships(user: User) -> bool:
    """Whether a person belongs to more than one organisation: one query of at most two rows."""
    with across_tenants():
        return Membership.objects.filter(user=user, tenant__is_active=True)[:2].count() > 1


def membership_for(*, tenant: Tenant, user: User) -> Membership | None:
    if not user.is_authenticated or not user.is_active:
        return None
    return Membership.objects.filter(tenant=tenant, user=user).select_related("partner").first()


def people_who_can_deliver(*, tenant: Tenant) -> QuerySet[User]:
    """Active members who may lead or deliver actions: everyone but read-only viewers."""
    # One filter() call, so tenant and role are tested on the same membership row.
    return User.objects.filter(
        memberships__tenant=tenant,
        memberships__role__in=roles_that_can(Capability.DELIVER),
        is_active=True,
    ).order_by("full_name")


def people_of_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    """The organisation's members with their accounts and agencies: one query."""
    return (
        Membership.objects.filter(tenant=tenant)
        .select_related("user", "partner")
        .order_by("user__full_name", "user__email")
    )


def invitations_waiting(*, tenant: Tenant) -> QuerySet[Invitation]:
    """Invitations neither accepted nor cancelled, newest first, expired ones included so they
    can be sent again."""
    return (
        Invitation.objects.filter(
            tenant=tenant, accepted_at__isnull=True, cancelled_at__isnull=True
        )
        .select_related("partner")
        .order_by("-created_at")
    )


def invitations_pending_for_partners(*, tenant: Tenant) -> dict[int, Invitation]:
    """For each agency, the newest invitation still waiting for someone who will work there."""
    waiting = invitations_waiting(tenant=tenant).filter(
        partner__isnull=False, expires_at__gt=timezone.now()
    )
    found: dict[int, Invitation] = {}
    for invitation in waiting:
        found.setdefault(invitation.partner_id, invitation)
    return found


def partners_of_tenant(*, tenant: Tenant) -> QuerySet[Partner]:
    return Partner.objects.filter(tenant=tenant).select_related("contact").order_by("name")


def member_of(*, tenant: Tenant, user_id: int) -> Membership | None:
    return (
        Membership.objects.filter(tenant=tenant, user_id=user_id)
        .select_related("user", "partner", "tenant")
        .first()
    )
