"""People's memberships of an organisation: joining, a change of role or agency, leaving."""

from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from tenants.models import (
    AuditEntry,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    Tenant,
    User,
)
from tenants.rules import enforce, removal_refusal, role_change_refusal
from tenants.services.audit import Recorded
from tenants.signals import person_leaving


@transaction.atomic
def membership_add(
    *, tenant: Tenant, user: User, role: str, partner: Partner | None = None
) -> Membership:
    membership = Membership(tenant=tenant, user=user, role=role, partner=partner)
    membership.full_clean()
    membership.save()
    return membership


PERSON_LABELS = {
    "role": "Role",
    "partner": "Partner agency",
    "sign_off_bodies": "Sign-off bodies",
}


def _person_texts(membership: Membership | None, bodies: str = "") -> dict[str, str]:
    if membership is None:
        return {"role": "", "partner": "", "sign_off_bodies": bodies}
    return {
        "role": membership.get_role_display(),
        "partner": membership.partner.name if membership.partner_id else "",
        "sign_off_bodies": bodies,
    }


# A person is recorded under their account, which outlives each membership.
PERSON_CHANGES = Recorded(
    AuditEntry.Subject.PERSON,
    PERSON_LABELS,
    _person_texts,
    name=lambda membership: str(membership.user),
    subject_id=attrgetter("user_id"),
)


def _locked_membership(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "partner", "tenant")
        .get(pk=membership.pk, tenant_id=membership.tenant_id)
    )


def _lock_administrators(tenant_id: int) -> None:
    # Two administrators demoting or removing each other at once must not both succeed and
    # leave nobody: every change that could take away an administrator waits for the others.
    list(
        Membership.objects.select_for_update()
        .filter(tenant_id=tenant_id, role=Membership.Role.TENANT_ADMIN)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def membership_change(
    *, membership: Membership, by: User, role: str, partner: Partner | None
) -> Membership:
    """Give a member another role or partner agency."""
    _lock_administrators(membership.tenant_id)
    membership = _locked_membership(membership)
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose a role."})
    enforce(role_change_refusal(by=by, membership=membership, role=role))
    before = _person_texts(membership)
    membership.role = role
    membership.partner = partner
    membership.full_clean()
    membership.save(update_fields=["role", "partner"])
    PERSON_CHANGES.record(
        membership,
        by=by,
        summary="Role or partner agency changed",
        before=before,
    )
    return membership


def sessions_end(*, user: User) -> None:
    """Sign ``user`` out everywhere: each of their sessions fails its check at its next request
    (``User.get_session_auth_hash``). Counted in the database, so two at once both count."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


@transaction.atomic
def membership_remove(*, membership: Membership, by: User) -> None:
    """Take a person out of the organisation: their membership, their seats on its sign-off
    bodies and their delegations go; what they did stays in the history under their name.
    Every session of theirs ends, so nothing they had open carries on as if they still
    belonged; their next request to the organisation is refused in any case, since every
    request checks membership."""
    _lock_administrators(membership.tenant_id)
    membership = _locked_membership(membership)
    bodies = list(
        SignOffBody.objects.select_for_update()
        .filter(
            tenant_id=membership.tenant_id,
            pk__in=SignOffBodyMember.objects.filter(
                tenant_id=membership.tenant_id, user_id=membership.user_id
            ).values("body_id"),
        )
        .select_related("group")
        .order_by("name")
    )
    enforce(removal_refusal(by=by, membership=membership))
    person = membership.user
    before = _person_texts(membership, ", ".join(body.name for body in bodies))
    person_leaving.send(sender=Membership, membership=membership, by=by)
    SignOffBodyMember.objects.filter(tenant_id=membership.tenant_id, user=person).delete()
    for body in bodies:
        body.group.user_set.remove(person)
    PERSON_CHANGES.record(
        membership,
        by=by,
        summary="Removed from the organisation",
        before=before,
        after=_person_texts(None),
    )
    membership.delete()
    sessions_end(user=person)
