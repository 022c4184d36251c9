"""Writes for tenants, partners, memberships, invitations and sign-off bodies. One
transaction each."""

import datetime
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from tenants.models import (
    AuditEntry,
    Capability,
    Invitation,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    Tenant,
    User,
)
from tenants.rules import (
    PEOPLE,
    administer_refusal,
    enforce,
    invite_refusal,
    removal_refusal,
    role_change_refusal,
)
from tenants.scoping import across_tenants, tenant_scope
from tenants.signals import invitation_created, person_leaving
from tenants.text import one_line_text


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


@dataclass(frozen=True)
class Recorded:
    """How the record of changes tells of one kind of subject (a sign-off body, a plan, an
    action): its type, its fields' labels in the order shown, its texts as a person reads them,
    and its name."""

    subject_type: str
    labels: dict[str, str]
    texts: Callable[[Any], dict[str, str]] | None = None
    name: Callable[[Any], str] = str
    long_fields: tuple[str, ...] = ()
    subject_id: Callable[[Any], int | None] = attrgetter("pk")
    tenant_id: Callable[[Any], int] = attrgetter("tenant_id")

    def record(
        self,
        subject: Any,
        *,
        by: User | None,
        summary: str,
        before: dict[str, str],
        after: dict[str, str] | None = None,
        reason: str = "",
        always: bool | None = None,
    ) -> AuditEntry | None:
        """Record ``subject``'s change from ``before`` to ``after`` (by default its texts now),
        inside the transaction that makes it. An empty ``before`` is a subject just set up,
        recorded even if none of its fields has any text (unless ``always`` says otherwise)."""
        if after is None:
            after = self.texts(subject)
        order = {name: position for position, name in enumerate(self.labels)}
        return audit_record(
            tenant_id=self.tenant_id(subject),
            actor=by,
            subject_type=self.subject_type,
            subject_id=self.subject_id(subject),
            subject_label=self.name(subject),
            summary=summary,
            labels=self.labels,
            before=before,
            after=dict(sorted(after.items(), key=lambda item: order.get(item[0], len(order)))),
            long_fields=self.long_fields,
            reason=reason,
            always=not before if always is None else always,
        )

    def event(self, subject: Any, *, by: User | None, summary: str, reason: str = "") -> AuditEntry:
        """Record something that happened to ``subject`` without changing a field of it (an
        action adopted into a plan, a variation to an endorsed plan)."""
        return self.record(
            subject, by=by, summary=summary, before={}, after={}, reason=reason, always=True
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


# -- the organisation --------------------------------------------------------------------------

ORGANISATION_CHANGES = Recorded(
    AuditEntry.Subject.ORGANISATION,
    labels={"nation": "Nation"},
    texts=lambda tenant: {"nation": tenant.get_nation_display()},
    name=attrgetter("name"),
    tenant_id=attrgetter("pk"),
)


@transaction.atomic
def tenant_set_nation(*, tenant: Tenant, by: User | None, nation: str) -> Tenant:
    """Choose whose bank holidays the organisation's working days skip."""
    enforce(administer_refusal(by=by, tenant=tenant))
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if nation not in Tenant.Nation.values:
        raise ValidationError({"nation": "Choose England, Wales, Scotland or Northern Ireland."})
    before = ORGANISATION_CHANGES.texts(tenant)
    tenant.nation = nation
    tenant.save(update_fields=["nation"])
    ORGANISATION_CHANGES.record(tenant, by=by, summary="Nation changed", before=before)
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


# -- people --------------------------------------------------------------------------------------

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


@transaction.atomic
def membership_remove(*, membership: Membership, by: User) -> None:
    """Take a person out of the organisation: their membership, their seats on its sign-off
    bodies and their delegations go; what they did stays in the history under their name.
    Their next request to the organisation is refused, since every request checks membership."""
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


# -- invitations ---------------------------------------------------------------------------------


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_token_matches(invitation: Invitation, token: str) -> bool:
    # Constant time, so the time an answer takes says nothing about how much of a guess was right.
    return hmac.compare_digest(invitation_token_hash(token), invitation.token_hash)


class InvitationPending(ValidationError):
    """The address already has an invitation waiting: the page offers to send it again."""

    def __init__(self, invitation: Invitation):
        self.invitation = invitation
        super().__init__(
            {
                "email": f"{invitation.email} was invited on "
                f"{date_format(timezone.localtime(invitation.created_at), 'j F Y')} and has not "
                "accepted yet. Send the invitation again instead."
            }
        )


INVITATION_LABELS = {
    "email": "E-mail address",
    "full_name": "Name",
    "role": "Role",
    "partner": "Partner agency",
    "status": "Status",
    "expires": "Link works until",
}


def _invitation_texts(invitation: Invitation) -> dict[str, str]:
    if invitation.accepted_at:
        status = "Accepted"
    elif invitation.cancelled_at:
        status = "Cancelled"
    else:
        status = "Waiting"
    return {
        "email": invitation.email,
        "full_name": invitation.full_name,
        "role": invitation.get_role_display(),
        "partner": invitation.partner.name if invitation.partner_id else "",
        "status": status,
        "expires": date_format(timezone.localtime(invitation.expires_at), "j F Y, H:i:s"),
    }


INVITATION_CHANGES = Recorded(AuditEntry.Subject.INVITATION, INVITATION_LABELS, _invitation_texts)


def _new_link(invitation: Invitation) -> str:
    """A fresh secret for the invitation's link; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = invitation_token_hash(token)
    invitation.expires_at = timezone.now() + datetime.timedelta(days=settings.INVITATION_DAYS)
    return token


def _account_of(email: str) -> User | None:
    """The account of whoever signs in with ``email``, if anyone does. Someone new has none
    until they accept: an invitation cancelled or left to run out leaves no account behind."""
    return User.objects.filter(email__iexact=email).first()


# A person's name travels in e-mails and headers: one line, like every name.
PERSON_NAME = one_line_text("the full name", 200, missing="Enter the person's full name.")
OWN_NAME = one_line_text("your full name", 200, missing="Enter your full name.")
PARTNER_NAME = one_line_text("the agency's name", 200, missing="Enter the agency's name.")


def _clean_invitation(*, tenant: Tenant, email: str, full_name: str, role: str) -> tuple[str, str]:
    errors = {}
    email = (email or "").strip().lower()
    try:
        full_name = PERSON_NAME.clean(full_name)
    except ValidationError as invalid:
        errors["full_name"] = invalid.messages
    if not email:
        errors["email"] = "Enter the person's e-mail address."
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter an e-mail address in the correct format, like name@example.org"
    if role not in Membership.Role.values:
        errors["role"] = "Choose the role they will have."
    if errors:
        raise ValidationError(errors)
    member = (
        Membership.objects.filter(tenant_id=tenant.pk, user__email__iexact=email)
        .select_related("user")
        .first()
    )
    if member is not None:
        raise ValidationError(
            {"email": f"{member.user} ({email}) is already a member of {tenant.name}."}
        )
    return email, full_name


def _pending_for(tenant: Tenant, email: str) -> Invitation | None:
    return (
        Invitation.objects.filter(
            tenant_id=tenant.pk,
            email__iexact=email,
            accepted_at__isnull=True,
            cancelled_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def invitation_create(
    *,
    tenant: Tenant,
    by: User,
    email: str,
    full_name: str,
    role: str,
    partner: Partner | None = None,
) -> Invitation:
    """Invite someone to the organisation: an e-mail with a link that works once, for
    INVITATION_DAYS days. Someone already a member is refused; an address with an invitation
    waiting raises ``InvitationPending``, naming it, so it can be sent again instead."""
    enforce(invite_refusal(by=by, tenant=tenant))
    # Invitations to one organisation are made one at a time, so two administrators inviting
    # the same person at once make one invitation, not two.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    email, full_name = _clean_invitation(tenant=tenant, email=email, full_name=full_name, role=role)
    pending = _pending_for(tenant, email)
    if pending is not None:
        raise InvitationPending(pending)
    recipient = _account_of(email)
    if recipient is not None and not recipient.is_active:
        raise ValidationError(
            {
                "email": "The account with this e-mail address has been closed by the service "
                "operator. Ask them to open it again before inviting this person."
            }
        )
    invitation = Invitation(
        tenant=tenant, email=email, full_name=full_name, role=role, partner=partner, invited_by=by
    )
    token = _new_link(invitation)
    invitation.full_clean()
    invitation.save()
    INVITATION_CHANGES.record(invitation, by=by, summary="Invitation sent", before={})
    invitation_created.send(
        sender=Invitation, invitation=invitation, token=token, recipient=recipient, by=by
    )
    return invitation


def _locked_invitation(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant", "partner")
        .get(pk=invitation.pk, tenant_id=invitation.tenant_id)
    )


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by: User) -> Invitation:
    """Send the invitation again with a new link; the old link stops working."""
    invitation = _locked_invitation(invitation)
    enforce(invite_refusal(by=by, tenant=invitation.tenant))
    if invitation.accepted_at or invitation.cancelled_at:
        raise ValidationError(
            f"The invitation to {invitation.email} was "
            f"{'accepted' if invitation.accepted_at else 'cancelled'}; invite them afresh instead."
        )
    before = _invitation_texts(invitation)
    token = _new_link(invitation)
    invitation.save(update_fields=["token_hash", "expires_at"])
    recipient = _account_of(invitation.email)
    INVITATION_CHANGES.record(
        invitation, by=by, summary="Invitation sent again", before=before, always=True
    )
    invitation_created.send(
        sender=Invitation, invitation=invitation, token=token, recipient=recipient, by=by
    )
    return invitation


@transaction.atomic
def invitation_cancel(*, invitation: Invitation, by: User) -> Invitation:
    invitation = _locked_invitation(invitation)
    enforce(invite_refusal(by=by, tenant=invitation.tenant))
    if invitation.accepted_at:
        raise ValidationError(f"{invitation.full_name} has already accepted the invitation.")
    if invitation.cancelled_at:
        raise ValidationError("This invitation was already cancelled.")
    before = _invitation_texts(invitation)
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    INVITATION_CHANGES.record(invitation, by=by, summary="Invitation cancelled", before=before)
    return invitation


class InvitationLinkBroken(ValidationError):
    """The link is wrong, used, cancelled, replaced or out of date: nothing was changed."""


def invitation_link_problem(invitation: Invitation | None) -> str:
    """Why a link to ``invitation`` (whose token matched) does not work; empty if it does."""
    if invitation is None:
        return "This link is not complete, or it was replaced when the invitation was sent again."
    if invitation.accepted_at:
        return "This invitation has already been accepted. Sign in instead."
    if invitation.cancelled_at:
        return "This invitation was cancelled."
    if invitation.expires_at <= timezone.now():
        return (
            f"This invitation ran out on "
            f"{date_format(timezone.localtime(invitation.expires_at), 'j F Y')}."
        )
    return ""


def needs_password(account: User | None) -> bool:
    """Whether accepting means choosing a password: a person with no account, or with one they
    have never been able to sign in to. Anyone else signs in first."""
    return account is None or not account.has_usable_password()


@transaction.atomic
def invitation_accept(
    *,
    invitation_id: int,
    token: str,
    signed_in: User | None = None,
    full_name: str = "",
    password: str = "",
) -> tuple[Invitation, User]:
    """Accept an invitation from its link: the person's account (choosing a password if they
    have none) and their membership, in one transaction. Someone who already signs in with the
    address must be signed in as that person, and chooses no password."""
    with across_tenants():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("tenant", "partner")
            .filter(pk=invitation_id)
            .first()
        )
    if invitation is None or not invitation_token_matches(invitation, token):
        raise InvitationLinkBroken(invitation_link_problem(None))
    problem = invitation_link_problem(invitation) or (
        "" if invitation.tenant.is_active else "This organisation no longer uses the service."
    )
    if problem:
        raise InvitationLinkBroken(problem)
    with tenant_scope(invitation.tenant):
        return _accept(invitation, signed_in, full_name, password)


def _account_create(email: str, *, password: str, full_name: str) -> User:
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError:
        # Another invitation to the same address was accepted at the same moment.
        raise ValidationError(
            "An account with this e-mail address was set up a moment ago. Sign in with it, then "
            "open this link again to accept."
        ) from None


def _accept(
    invitation: Invitation, signed_in: User | None, full_name: str, password: str
) -> tuple[Invitation, User]:
    account = User.objects.select_for_update().filter(email__iexact=invitation.email).first()
    if account is not None and not account.is_active:
        raise InvitationLinkBroken(
            "The account with this e-mail address has been closed. Ask the person who invited "
            "you to contact the service operator."
        )
    if needs_password(account):
        errors = {}
        try:
            full_name = OWN_NAME.clean(full_name)
        except ValidationError as invalid:
            errors["full_name"] = invalid.messages
        candidate = account or User(email=invitation.email)
        candidate.full_name = full_name
        try:
            password_validation.validate_password(password or "", user=candidate)
        except ValidationError as error:
            errors["password1"] = error.messages
        if not password:
            errors["password1"] = ["Enter a password."]
        if errors:
            raise ValidationError(errors)
        if account is None:
            account = _account_create(invitation.email, password=password, full_name=full_name)
        else:
            account.full_name = full_name
            account.set_password(password)
            account.save(update_fields=["full_name", "password"])
    elif signed_in is None or signed_in.pk != account.pk:
        raise PermissionDenied(f"Sign in as {invitation.email} to accept this invitation.")

    membership = Membership.objects.filter(tenant_id=invitation.tenant_id, user=account).first()
    if membership is None:
        membership = Membership(
            tenant=invitation.tenant,
            user=account,
            role=invitation.role,
            partner=invitation.partner,
        )
        membership.full_clean()
        membership.save()
        PERSON_CHANGES.record(
            membership,
            by=account,
            summary="Joined the organisation by invitation",
            before=_person_texts(None),
        )
    before = _invitation_texts(invitation)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = account
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    INVITATION_CHANGES.record(invitation, by=account, summary="Invitation accepted", before=before)
    partner = invitation.partner
    if partner is not None:
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.contact_id is None:
            # An agency with no named contact gets the first person to join it: the partner
            # page invites a new contact this way.
            _partner_change(
                partner=partner,
                by=account,
                summary="Named contact joined by invitation",
                contact=account,
            )
    return invitation, account


# -- partner agencies ----------------------------------------------------------------------------

PARTNER_LABELS = {"name": "Name", "kind": "Kind of agency", "contact": "Named contact"}


def _partner_texts(partner: Partner) -> dict[str, str]:
    return {
        "name": partner.name,
        "kind": partner.get_kind_display() if partner.kind else "",
        "contact": str(partner.contact) if partner.contact_id else "",
    }


PARTNER_CHANGES = Recorded(
    AuditEntry.Subject.PARTNER, PARTNER_LABELS, _partner_texts, name=attrgetter("name")
)


def _partner_change(*, partner: Partner, by: User | None, summary: str = "", **values) -> Partner:
    before = PARTNER_CHANGES.texts(partner) if partner.pk else {}
    for name, value in values.items():
        setattr(partner, name, value.strip() if isinstance(value, str) else value)
    partner.full_clean()
    partner.save()
    PARTNER_CHANGES.record(
        partner,
        by=by,
        summary=summary or ("Partner agency added" if not before else "Partner agency changed"),
        before=before,
    )
    return partner


def _contact_invitation(
    *, partner: Partner, by: User, invite: tuple[str, str] | None
) -> Invitation | None:
    """Invite a new named contact (name, e-mail) who works for ``partner``; they become its
    contact when they accept."""
    if invite is None:
        return None
    full_name, email = invite
    try:
        return invitation_create(
            tenant=partner.tenant,
            by=by,
            email=email,
            full_name=full_name,
            role=Membership.Role.OFFICER,
            partner=partner,
        )
    except InvitationPending:
        raise
    except ValidationError as error:
        # The partner form names these boxes contact_name and contact_email.
        if hasattr(error, "error_dict"):
            renamed = {
                {"email": "contact_email", "full_name": "contact_name"}.get(k, k): v
                for k, v in error.error_dict.items()
            }
            raise ValidationError(renamed) from None
        raise


def _check_contact(partner: Partner, contact: User | None) -> None:
    if (
        contact is not None
        and not Membership.objects.filter(tenant_id=partner.tenant_id, user=contact).exists()
    ):
        raise ValidationError({"contact": "Choose a named contact from the organisation's people."})


@transaction.atomic
def partner_add(
    *,
    tenant: Tenant,
    by: User,
    name: str,
    kind: str,
    contact: User | None = None,
    invite_contact: tuple[str, str] | None = None,
) -> tuple[Partner, Invitation | None]:
    """Add a partner agency, with a named contact chosen from the members or invited (name,
    e-mail) in the same step."""
    enforce(administer_refusal(by=by, tenant=tenant, what=PEOPLE))
    partner = Partner(tenant=tenant)
    _check_contact(partner, contact)
    if Partner.objects.filter(tenant_id=tenant.pk, name__iexact=(name or "").strip()).exists():
        raise ValidationError({"name": f"{tenant.name} already has a partner agency called this."})
    partner = _partner_change(partner=partner, by=by, name=name, kind=kind, contact=contact)
    invitation = _contact_invitation(partner=partner, by=by, invite=invite_contact)
    return partner, invitation


@transaction.atomic
def partner_update(
    *,
    partner: Partner,
    by: User,
    name: str,
    kind: str,
    contact: User | None = None,
    invite_contact: tuple[str, str] | None = None,
) -> tuple[Partner, Invitation | None]:
    """Change a partner agency. Inviting a new contact leaves the agency without one until they
    accept."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk, tenant_id=partner.tenant_id)
    enforce(administer_refusal(by=by, tenant=partner.tenant_id, what=PEOPLE))
    _check_contact(partner, contact)
    if (
        Partner.objects.filter(tenant_id=partner.tenant_id, name__iexact=(name or "").strip())
        .exclude(pk=partner.pk)
        .exists()
    ):
        raise ValidationError({"name": "Another partner agency is already called this."})
    if invite_contact is not None:
        contact = None
    partner = _partner_change(partner=partner, by=by, name=name, kind=kind, contact=contact)
    invitation = _contact_invitation(partner=partner, by=by, invite=invite_contact)
    return partner, invitation
