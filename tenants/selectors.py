"""Reads about tenants and people."""

from django.db.models import Prefetch, QuerySet

from tenants.models import (
    Capability,
    Membership,
    SignOffBody,
    SignOffBodyMember,
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


def sign_off_bodies_of_tenant(*, tenant: Tenant) -> QuerySet[SignOffBody]:
    """The tenant's sign-off bodies with their agency, chair and members, in a fixed number of
    queries."""
    return (
        SignOffBody.objects.filter(tenant=tenant)
        .select_related("partner", "chair")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=SignOffBodyMember.objects.filter(tenant=tenant)
                .select_related("user")
                .order_by("user__full_name"),
                to_attr="member_rows",
            )
        )
        .order_by("name")
    )
