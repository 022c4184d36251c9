"""Invitations: made, sent again, cancelled, and accepted from the e-mailed link."""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from tenants.models import AuditEntry, Invitation, Membership, Partner, Tenant, User
from tenants.rules import enforce, invite_refusal
from tenants.scoping import across_tenants, tenant_scope
from tenants.services.audit import Recorded
from tenants.services.partners import _partner_change
from tenants.services.people import PERSON_CHANGES, _person_texts
from tenants.signals import invitation_created
from tenants.text import one_line_text


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


def _account_create(email: str, *, password: str | None, full_name: str) -> User:
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
    return _join(invitation, account)


def invitation_accept_signed_in(
    *, invitation: Invitation, full_name: str
) -> tuple[Invitation, User]:
    """Accept ``invitation`` for someone whose organisation's own sign-in service has just
    vouched for the invited address (tenants.services.single_sign_on): the account, made without
    a password if there is none, and the membership, in the caller's transaction."""
    with tenant_scope(invitation.tenant):
        invitation = _locked_invitation(invitation)
        problem = invitation_link_problem(invitation)
        if problem:
            raise InvitationLinkBroken(problem)
        account = User.objects.select_for_update().filter(email__iexact=invitation.email).first()
        if account is None:
            try:
                name = OWN_NAME.clean(full_name)
            except ValidationError:
                name = invitation.full_name
            account = _account_create(invitation.email, password=None, full_name=name)
        return _join(invitation, account)


def _join(invitation: Invitation, account: User) -> tuple[Invitation, User]:
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
