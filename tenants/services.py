"""Writes for tenants, partners, memberships and sign-off bodies. One transaction each."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.models import (
    AuditEntry,
    Capability,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    Tenant,
    User,
)


def audit_record(
    *,
    tenant_id: int,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    subject_label: str,
    summary: str,
    labels: dict[str, str] | None = None,
    before: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
    long_fields: tuple[str, ...] = (),
    reason: str = "",
    always: bool = False,
) -> AuditEntry | None:
    """Record a change that is not a workflow step, inside the transaction that makes it.

    ``before`` and ``after`` map field names to the texts a person read; only fields whose text
    changed are kept, in ``after``'s order. With nothing changed nothing is written, unless the
    change is an event with no fields (``always``: an invitation sent, an action adopted).
    """
    before, after, labels = before or {}, after or {}, labels or {}
    changes = [
        {
            "field": name,
            "label": labels.get(name, name),
            "before": before.get(name, ""),
            "after": text,
            **({"long": True} if name in long_fields else {}),
        }
        for name, text in after.items()
        if before.get(name, "") != text
    ]
    if not changes and not always:
        return None
    return AuditEntry.objects.create(
        tenant_id=tenant_id,
        actor=actor,
        actor_name=str(actor) if actor is not None else "",
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=str(subject_label)[:300],
        summary=summary[:300],
        changes=changes,
        reason=reason,
    )


@transaction.atomic
def tenant_create(
    *, name: str, slug: str, kind: str, nation: str = Tenant.Nation.ENGLAND
) -> Tenant:
    tenant = Tenant(name=name, slug=slug, kind=kind, nation=nation)
    tenant.full_clean()
    tenant.save()
    return tenant


@transaction.atomic
def partner_create(*, tenant: Tenant, name: str, kind: str, contact: User | None = None) -> Partner:
    partner = Partner(tenant=tenant, name=name, kind=kind, contact=contact)
    partner.full_clean()
    partner.save()
    return partner


@transaction.atomic
def partner_set_contact(*, partner: Partner, contact: User | None) -> Partner:
    """Name the person escalations reach at this agency; they must be a member of the tenant."""
    partner.contact = contact
    partner.full_clean()
    partner.save(update_fields=["contact"])
    return partner


@transaction.atomic
def membership_add(
    *, tenant: Tenant, user: User, role: str, partner: Partner | None = None
) -> Membership:
    membership = Membership(tenant=tenant, user=user, role=role, partner=partner)
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def sign_off_body_create(
    *,
    tenant: Tenant,
    name: str,
    kind: str,
    quorum: int = 1,
    chair: User | None = None,
    members: tuple[User, ...] | list[User] = (),
) -> SignOffBody:
    group = Group.objects.create(name=f"sign-off body {tenant.slug} {name}"[:150])
    body = SignOffBody(tenant=tenant, name=name, kind=kind, quorum=1, group=group)
    body.full_clean(exclude=["group"])
    body.save()
    for user in members:
        sign_off_body_add_member(body=body, user=user)
    if chair is not None:
        sign_off_body_set_chair(body=body, chair=chair)
    if quorum != 1:
        body = sign_off_body_set_quorum(body=body, quorum=quorum)
    return body


@transaction.atomic
def sign_off_body_add_member(*, body: SignOffBody, user: User) -> SignOffBodyMember:
    membership = Membership.objects.filter(tenant=body.tenant_id, user=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not a member of this organisation.")
    if not membership.can(Capability.DELIVER):
        raise ValidationError(f"{user} is a read-only viewer and cannot sit on {body}.")
    member, _ = SignOffBodyMember.objects.get_or_create(
        tenant_id=body.tenant_id, body=body, user=user
    )
    body.group.user_set.add(user)
    return member


@transaction.atomic
def sign_off_body_remove_member(*, body: SignOffBody, user: User) -> None:
    body = SignOffBody.objects.select_for_update().get(pk=body.pk)
    remaining = SignOffBodyMember.objects.filter(body=body).exclude(user=user).count()
    if remaining < body.quorum:
        raise ValidationError(
            f"Removing {user} would leave {body} with {remaining} members, fewer than its "
            f"quorum of {body.quorum}. Lower the quorum first."
        )
    if body.chair_id == user.pk:
        raise ValidationError(f"{user} chairs {body}; choose another chair first.")
    SignOffBodyMember.objects.filter(body=body, user=user).delete()
    body.group.user_set.remove(user)


@transaction.atomic
def sign_off_body_set_quorum(*, body: SignOffBody, quorum: int) -> SignOffBody:
    body = SignOffBody.objects.select_for_update().get(pk=body.pk)
    if quorum < 1:
        raise ValidationError("The quorum must be at least 1.")
    members = SignOffBodyMember.objects.filter(body=body).count()
    if quorum > members:
        raise ValidationError(
            f"A quorum of {quorum} can never be met: {body} has {members} members."
        )
    body.quorum = quorum
    body.save(update_fields=["quorum"])
    return body


@transaction.atomic
def sign_off_body_set_chair(*, body: SignOffBody, chair: User | None) -> SignOffBody:
    """Name the body's chair, who receives its escalations; ``None`` leaves the chair vacant."""
    if chair is not None and not SignOffBodyMember.objects.filter(body=body, user=chair).exists():
        raise ValidationError(f"The chair must be a member of {body}.")
    body.chair = chair
    body.save(update_fields=["chair"])
    return body
