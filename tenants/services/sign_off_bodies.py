"""Sign-off bodies: their members, chair and quorum, and the rules they keep."""

import uuid
from operator import attrgetter

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
from tenants.rules import administer_refusal, enforce
from tenants.services.audit import Recorded

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


SIGN_OFF_BODY_CHANGES = Recorded(
    AuditEntry.Subject.SIGN_OFF_BODY,
    SIGN_OFF_BODY_LABELS,
    sign_off_body_texts,
    name=attrgetter("name"),
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


def _body_to_change(body: SignOffBody, by: User | None) -> SignOffBody:
    """The body, locked, once ``by`` may change it."""
    enforce(administer_refusal(by=by, tenant=body.tenant_id))
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
    enforce(administer_refusal(by=by, tenant=tenant))
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
    SIGN_OFF_BODY_CHANGES.record(body, by=by, before={}, summary="Sign-off body set up")
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
    body = _body_to_change(body, by)
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
    SIGN_OFF_BODY_CHANGES.record(body, by=by, before=before, summary="Sign-off body changed")
    return body


@transaction.atomic
def sign_off_body_add_member(
    *, body: SignOffBody, user: User, by: User | None = None
) -> SignOffBodyMember:
    body = _body_to_change(body, by)
    before = sign_off_body_texts(body)
    if _add_member(body, user):
        SIGN_OFF_BODY_CHANGES.record(body, by=by, before=before, summary=f"Member added: {user}")
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
    body = _body_to_change(body, by)
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
    SIGN_OFF_BODY_CHANGES.record(body, by=by, before=before, summary=f"Member removed: {user}")


@transaction.atomic
def sign_off_body_set_quorum(
    *, body: SignOffBody, quorum: int, by: User | None = None
) -> SignOffBody:
    body = _body_to_change(body, by)
    refusal = quorum_refusal(quorum=quorum, members=_member_count(body))
    if refusal is not None:
        raise ValidationError({"quorum": refusal})
    before = sign_off_body_texts(body)
    body.quorum = quorum
    body.save(update_fields=["quorum"])
    SIGN_OFF_BODY_CHANGES.record(body, by=by, before=before, summary="Quorum changed")
    return body


@transaction.atomic
def sign_off_body_set_chair(
    *, body: SignOffBody, chair: User | None, by: User | None = None
) -> SignOffBody:
    """Name the body's chair, who receives its escalations; ``None`` leaves the chair vacant."""
    body = _body_to_change(body, by)
    refusal = _chair_refusal(body, chair)
    if refusal is not None:
        raise ValidationError({"chair": refusal})
    before = sign_off_body_texts(body)
    body.chair = chair
    body.save(update_fields=["chair"])
    SIGN_OFF_BODY_CHANGES.record(body, by=by, before=before, summary="Chair changed")
    return body
