"""Writes for tenants, partners, memberships and sign-off bodies. One transaction each."""

import uuid

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
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


def administration_refusal(by: User | None, tenant_id: int) -> str | None:
    """Whether ``by`` may change an organisation's settings (its sign-off bodies, plans and
    nation): its tenant administrators may, and the operator's staff, who set organisations up
    in the admin. ``None`` is the service itself, loading demo data or a fixture."""
    if by is None or by.is_staff:
        return None
    membership = Membership.objects.filter(tenant_id=tenant_id, user=by).first()
    if membership is None or not membership.can(Capability.ADMINISTER) or not by.is_active:
        return "Only a tenant administrator can change this organisation's settings."
    return None


def require_administrator(*, by: User | None, tenant_id: int) -> None:
    refusal = administration_refusal(by, tenant_id)
    if refusal is not None:
        raise PermissionDenied(refusal)


# -- the organisation --------------------------------------------------------------------------


@transaction.atomic
def tenant_set_nation(*, tenant: Tenant, by: User | None, nation: str) -> Tenant:
    """Choose whose bank holidays the organisation's working days skip."""
    require_administrator(by=by, tenant_id=tenant.pk)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if nation not in Tenant.Nation.values:
        raise ValidationError({"nation": "Choose England, Wales, Scotland or Northern Ireland."})
    before = tenant.get_nation_display()
    tenant.nation = nation
    tenant.save(update_fields=["nation"])
    audit_record(
        tenant_id=tenant.pk,
        actor=by,
        subject_type=AuditEntry.Subject.ORGANISATION,
        subject_id=tenant.pk,
        subject_label=tenant.name,
        summary="Nation changed",
        labels={"nation": "Nation"},
        before={"nation": before},
        after={"nation": tenant.get_nation_display()},
    )
    return tenant


# -- sign-off bodies ---------------------------------------------------------------------------

SIGN_OFF_BODY_LABELS = {
    "name": "Name",
    "kind": "Kind",
    "partner": "Agency",
    "chair": "Chair",
    "quorum": "Quorum",
    "members": "Members",
}


def sign_off_body_texts(body: SignOffBody) -> dict[str, str]:
    """The body as a person reads it, for the record of its changes."""
    members = User.objects.filter(
        pk__in=SignOffBodyMember.objects.filter(tenant_id=body.tenant_id, body=body).values(
            "user_id"
        )
    ).order_by("full_name", "email")
    partner = (
        Partner.objects.filter(tenant_id=body.tenant_id, pk=body.partner_id).first()
        if body.partner_id
        else None
    )
    chair = User.objects.filter(pk=body.chair_id).first() if body.chair_id else None
    return {
        "name": body.name,
        "kind": body.get_kind_display(),
        "partner": str(partner) if partner else "",
        "chair": str(chair) if chair else "",
        "quorum": str(body.quorum),
        "members": ", ".join(str(member) for member in members),
    }


def _record_body_change(
    *, body: SignOffBody, by: User | None, before: dict[str, str], summary: str
) -> AuditEntry | None:
    return audit_record(
        tenant_id=body.tenant_id,
        actor=by,
        subject_type=AuditEntry.Subject.SIGN_OFF_BODY,
        subject_id=body.pk,
        subject_label=body.name,
        summary=summary,
        labels=SIGN_OFF_BODY_LABELS,
        before=before,
        after=sign_off_body_texts(body),
        always=not before,
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def quorum_refusal(*, quorum: int, members: int) -> str | None:
    """Why a body of ``members`` people cannot have this quorum.

    The person who delivered an action or submitted its evidence may not approve it, so a quorum
    above 1 needs at least one member more than the quorum. A quorum of 1 is the least there is:
    a body of one person signs off anything its member did not deliver.
    """
    if quorum < 1:
        return "The quorum must be at least 1."
    if quorum == 1 or quorum < members:
        return None
    lower = max(members - 1, 1)
    more = quorum + 1 - members
    fix = f"set it to {lower} or add {'a member' if more == 1 else f'{more} members'}"
    if quorum > members:
        return f"With {_plural(members, 'member')} a quorum of {quorum} can never be met: {fix}."
    return (
        f"With {_plural(members, 'member')} a quorum of {quorum} can never be met when one of "
        f"them submitted the evidence: {fix}."
    )


def _member_count(body: SignOffBody) -> int:
    return SignOffBodyMember.objects.filter(tenant_id=body.tenant_id, body=body).count()


def sign_off_body_validate(body: SignOffBody) -> None:
    """The rules a body's own fields keep, keyed by field for the forms."""
    errors: dict[str, str] = {}
    if not body.name.strip():
        errors["name"] = "Enter the body's name."
    elif (
        SignOffBody.objects.filter(tenant_id=body.tenant_id, name__iexact=body.name.strip())
        .exclude(pk=body.pk)
        .exists()
    ):
        errors["name"] = f"There is already a sign-off body called {body.name.strip()}."
    if body.kind not in SignOffBody.Kind.values:
        errors["kind"] = "Choose what kind of body this is."
    elif body.kind == SignOffBody.Kind.AGENCY_COMMITTEE and body.partner_id is None:
        errors["partner"] = "Choose the agency whose committee this is."
    elif body.kind != SignOffBody.Kind.AGENCY_COMMITTEE and body.partner_id is not None:
        errors["partner"] = (
            "Only an agency committee belongs to one agency: leave the agency empty, or make "
            "the body an agency committee."
        )
    if errors:
        raise ValidationError(errors)
    body.name = body.name.strip()


def _chair_refusal(body: SignOffBody, chair: User | None) -> str | None:
    if (
        chair is not None
        and not SignOffBodyMember.objects.filter(
            tenant_id=body.tenant_id, body=body, user=chair
        ).exists()
    ):
        return f"The chair must be a member of {body}: add {chair} as a member first."
    return None


def _add_member(body: SignOffBody, user: User) -> bool:
    membership = Membership.objects.filter(tenant=body.tenant_id, user=user).first()
    if membership is None:
        raise ValidationError({"user": f"{user} is not a member of this organisation."})
    if not membership.can(Capability.DELIVER):
        raise ValidationError({"user": f"{user} is a read-only viewer and cannot sit on {body}."})
    _, created = SignOffBodyMember.objects.get_or_create(
        tenant_id=body.tenant_id, body=body, user=user
    )
    body.group.user_set.add(user)
    return created


def _locked_body(body: SignOffBody) -> SignOffBody:
    # Locked, so two changes to one body at once each check the rules against the other's result.
    return SignOffBody.objects.select_for_update().get(pk=body.pk, tenant_id=body.tenant_id)


@transaction.atomic
def sign_off_body_create(
    *,
    tenant: Tenant,
    name: str,
    kind: str,
    partner: Partner | None = None,
    quorum: int = 1,
    chair: User | None = None,
    members: tuple[User, ...] | list[User] = (),
    by: User | None = None,
) -> SignOffBody:
    """A new body, with its own permission group for the rights plans grant it."""
    require_administrator(by=by, tenant_id=tenant.pk)
    body = SignOffBody(tenant=tenant, name=name, kind=kind, partner=partner, quorum=1)
    sign_off_body_validate(body)
    body.full_clean(exclude=["group"])
    # Group names are unique across the service and outlive a body's renaming: made unique here.
    body.group = Group.objects.create(
        name=f"sign-off body {tenant.slug} {uuid.uuid4().hex[:8]} {body.name}"[:150]
    )
    body.save()
    for user in members:
        _add_member(body, user)
    errors = {}
    if refusal := _chair_refusal(body, chair):
        errors["chair"] = refusal
    if refusal := quorum_refusal(quorum=quorum, members=_member_count(body)):
        errors["quorum"] = refusal
    if errors:
        raise ValidationError(errors)
    body.chair, body.quorum = chair, quorum
    body.save(update_fields=["chair", "quorum"])
    _record_body_change(body=body, by=by, before={}, summary="Sign-off body set up")
    return body


@transaction.atomic
def sign_off_body_update(
    *,
    body: SignOffBody,
    by: User | None,
    name: str,
    kind: str,
    partner: Partner | None,
    chair: User | None,
    quorum: int,
) -> SignOffBody:
    """Change a body's name, kind, agency, chair and quorum together, as the body's page does."""
    require_administrator(by=by, tenant_id=body.tenant_id)
    body = _locked_body(body)
    before = sign_off_body_texts(body)
    body.name, body.kind, body.partner = name, kind, partner
    sign_off_body_validate(body)
    errors = {}
    if refusal := _chair_refusal(body, chair):
        errors["chair"] = refusal
    if quorum != body.quorum and (
        refusal := quorum_refusal(quorum=quorum, members=_member_count(body))
    ):
        errors["quorum"] = refusal
    if errors:
        raise ValidationError(errors)
    body.chair, body.quorum = chair, quorum
    body.full_clean(exclude=["group"])
    body.save()
    _record_body_change(body=body, by=by, before=before, summary="Sign-off body changed")
    return body


@transaction.atomic
def sign_off_body_add_member(
    *, body: SignOffBody, user: User, by: User | None = None
) -> SignOffBodyMember:
    require_administrator(by=by, tenant_id=body.tenant_id)
    body = _locked_body(body)
    before = sign_off_body_texts(body)
    if _add_member(body, user):
        _record_body_change(body=body, by=by, before=before, summary=f"Member added: {user}")
    return SignOffBodyMember.objects.get(tenant_id=body.tenant_id, body=body, user=user)


def member_removal_refusal(*, body: SignOffBody, user: User, members: int) -> str | None:
    """Why ``user`` cannot leave ``body``, which has ``members`` members now."""
    if body.chair_id == user.pk:
        return f"{user} chairs {body}; choose another chair first."
    remaining = members - 1
    if remaining < 1:
        return f"{user} is the only member of {body}; add another member first."
    if body.quorum > 1 and body.quorum >= remaining:
        lower = max(remaining - 1, 1)
        return (
            f"Removing {user} would leave {_plural(remaining, 'member')}, and a quorum of "
            f"{body.quorum} can never be met when one of them submitted the evidence: set the "
            f"quorum to {lower} first, or add a member."
        )
    return None


@transaction.atomic
def sign_off_body_remove_member(*, body: SignOffBody, user: User, by: User | None = None) -> None:
    require_administrator(by=by, tenant_id=body.tenant_id)
    body = _locked_body(body)
    if not SignOffBodyMember.objects.filter(
        tenant_id=body.tenant_id, body=body, user=user
    ).exists():
        return
    refusal = member_removal_refusal(body=body, user=user, members=_member_count(body))
    if refusal is not None:
        raise ValidationError(refusal)
    before = sign_off_body_texts(body)
    SignOffBodyMember.objects.filter(tenant_id=body.tenant_id, body=body, user=user).delete()
    body.group.user_set.remove(user)
    _record_body_change(body=body, by=by, before=before, summary=f"Member removed: {user}")


@transaction.atomic
def sign_off_body_set_quorum(
    *, body: SignOffBody, quorum: int, by: User | None = None
) -> SignOffBody:
    require_administrator(by=by, tenant_id=body.tenant_id)
    body = _locked_body(body)
    refusal = quorum_refusal(quorum=quorum, members=_member_count(body))
    if refusal is not None:
        raise ValidationError({"quorum": refusal})
    before = sign_off_body_texts(body)
    body.quorum = quorum
    body.save(update_fields=["quorum"])
    _record_body_change(body=body, by=by, before=before, summary="Quorum changed")
    return body


@transaction.atomic
def sign_off_body_set_chair(
    *, body: SignOffBody, chair: User | None, by: User | None = None
) -> SignOffBody:
    """Name the body's chair, who receives its escalations; ``None`` leaves the chair vacant."""
    require_administrator(by=by, tenant_id=body.tenant_id)
    body = _locked_body(body)
    refusal = _chair_refusal(body, chair)
    if refusal is not None:
        raise ValidationError({"chair": refusal})
    before = sign_off_body_texts(body)
    body.chair = chair
    body.save(update_fields=["chair"])
    _record_body_change(body=body, by=by, before=before, summary="Chair changed")
    return body
