"""Reads about tenants and people."""

import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from tenants.history import HistoryHead
from tenants.models import (
    AuditEntry,
    Capability,
    HistoryChainHead,
    Invitation,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    SingleSignOn,
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


def audit_entries(
    *,
    tenant: Tenant,
    subject_type: str = "",
    actor: User | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    q: str = "",
) -> QuerySet[AuditEntry]:
    """The tenant's record of changes, newest first, narrowed by the audit page's filters.
    Dates are the council's own (London) days."""
    entries = AuditEntry.objects.filter(tenant=tenant).select_related("actor")
    if subject_type:
        entries = entries.filter(subject_type=subject_type)
    if actor is not None:
        entries = entries.filter(actor=actor)
    if since is not None:
        entries = entries.filter(at__gte=_start_of(since))
    if until is not None:
        entries = entries.filter(at__lt=_start_of(until + datetime.timedelta(days=1)))
    if q:
        entries = entries.filter(
            Q(summary__icontains=q) | Q(subject_label__icontains=q) | Q(reason__icontains=q)
        )
    return entries.order_by("-at", "-pk")


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def people_in_audit(*, tenant: Tenant) -> QuerySet[User]:
    """Everyone who has changed something here, members or not any more, for the filter."""
    return User.objects.filter(
        pk__in=AuditEntry.objects.filter(tenant=tenant).values("actor_id")
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


def tenants_signing_in_with(*, domain: str) -> list[Tenant]:
    """The organisations whose single sign-on takes addresses at ``domain``: for someone about to
    sign in, who has named only their address. Reads across tenants by design, and says no more
    than which organisations use that domain."""
    with across_tenants():
        configs = SingleSignOn.objects.filter(
            tenant__is_active=True, email_domains__icontains=domain
        ).select_related("tenant")
        return sorted(
            (config.tenant for config in configs if domain in config.domains),
            key=lambda tenant: tenant.name,
        )


def history_head_of(*, tenant_id: int) -> HistoryHead:
    """The organisation's history chain as it stands: its last row's position and hash."""
    head = (
        HistoryChainHead.objects.filter(tenant_id=tenant_id).values_list("position", "hash").first()
    )
    return HistoryHead(*head) if head else HistoryHead(0, "")
