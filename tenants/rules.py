"""Who may administer a tenant, who may change its people, invitations and partner agencies,
and what must be true first. Read by the services, the pages and the admin, so a page offers a
button only when the service would accept it."""

from dataclasses import dataclass
from typing import NoReturn

from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied, ValidationError

from tenants.models import (
    CAPABILITIES,
    Capability,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    Tenant,
    User,
)
from tenants.selectors import memberships_of_user
from tenants.signals import person_commitments_asked


@dataclass(frozen=True)
class Refusal:
    """Why something may not be done, in words for the person asking.

    ``not_now`` refusals are about the present state of things (an open action still led by the
    person) rather than who is asking: pages say them beside the button instead of answering 403.
    """

    message: str
    not_now: bool = False
    # The person may do this once they set up a second factor: pages link to where they do.
    second_factor: bool = False

    def raise_error(self) -> NoReturn:
        if self.not_now:
            raise ValidationError(self.message)
        if self.second_factor:
            raise SecondFactorRequired(self.message)
        raise PermissionDenied(self.message)


class SecondFactorRequired(PermissionDenied):
    """Refused until the person sets up a second factor; the 403 page links to where they do."""


def enforce(refusal: Refusal | None) -> None:
    if refusal is not None:
        refusal.raise_error()


def _membership(tenant: Tenant | int, user: User | None) -> Membership | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    tenant_id = getattr(tenant, "pk", tenant)
    return Membership.objects.filter(tenant_id=tenant_id, user=user).first()


def _is_operator(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_operator


def _administers(by: User | None, tenant: Tenant | int, membership: Membership | None) -> bool:
    if membership is None:
        membership = _membership(tenant, by)
    elif not (by is not None and by.is_active and membership.user_id == by.pk):
        membership = None
    return membership is not None and membership.can(Capability.ADMINISTER)


def has_second_factor(user: User) -> bool:
    """An authenticator app or a security key (passkeys included); recovery codes alone are a
    way back in, not a factor. Read once per person object, since a page asks several rules."""
    cached = user.__dict__.get("_has_second_factor")
    if cached is None:
        cached = Authenticator.objects.filter(
            user_id=user.pk,
            type__in=(Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN),
        ).exists()
        user.__dict__["_has_second_factor"] = cached
    return cached


def second_factor_refusal(*, user: User | None, what: str) -> Refusal | None:
    """Board members, tenant administrators and the operator decide for everyone else (signing
    off, endorsing, administering), so a stolen password alone must not let anyone do it: they
    need a second factor first. ``what`` ends the refusal ("... before you can <what>.").
    ``None`` is the service itself, loading demo data or a fixture."""
    if user is None or has_second_factor(user):
        return None
    return Refusal(
        "You need to set up a second factor (an authenticator app or a security key) before "
        f"you can {what}.",
        second_factor=True,
    )


SETTINGS = "change this organisation's settings"
PEOPLE = "manage people and partner agencies"


def administer_refusal(
    *,
    by: User | None,
    tenant: Tenant | int,
    what: str = SETTINGS,
    membership: Membership | None = None,
) -> Refusal | None:
    """Whether ``by`` may administer ``tenant``: its people, partner agencies, sign-off bodies,
    plans' settings, frameworks, escalations and nation. Its tenant administrators may, and so
    may the service's operator (an active staff account), who sets organisations up in the
    admin, once they have a second factor (``second_factor_refusal``). ``None`` is the
    service itself, loading demo data or a fixture.

    ``what`` ends the refusal ("Only a tenant administrator can <what>."); a page passes the
    ``membership`` it already holds rather than reading it again.
    """
    if by is None:
        return None
    if _is_operator(by) or _administers(by, tenant, membership):
        return second_factor_refusal(user=by, what=what)
    return Refusal(f"Only a tenant administrator can {what}.")


def has_administrator(tenant: Tenant | int) -> bool:
    return Membership.objects.filter(
        tenant_id=getattr(tenant, "pk", tenant), role=Membership.Role.TENANT_ADMIN
    ).exists()


def invite_refusal(*, by: User, tenant: Tenant) -> Refusal | None:
    """A tenant administrator invites people; the service operator (an active staff account)
    invites a new organisation's first administrator, and may again for as long as it has none."""
    if _administers(by, tenant, None) or (_is_operator(by) and not has_administrator(tenant)):
        return second_factor_refusal(user=by, what="invite people")
    return Refusal("Only a tenant administrator can invite people.")


def _bodies_of(membership: Membership) -> list[SignOffBody]:
    return list(
        SignOffBody.objects.filter(
            tenant_id=membership.tenant_id,
            pk__in=SignOffBodyMember.objects.filter(
                tenant_id=membership.tenant_id, user_id=membership.user_id
            ).values("body_id"),
        ).order_by("name")
    )


def _commitments(membership: Membership, *, leaving: bool) -> list[str]:
    """What the apps above this one still need the person for, in their words."""
    answers = person_commitments_asked.send(
        sender=Membership, membership=membership, leaving=leaving
    )
    return [answer for _receiver, answer in answers if answer]


def _last_administrator(membership: Membership) -> bool:
    return (
        membership.role == Membership.Role.TENANT_ADMIN
        and not Membership.objects.filter(
            tenant_id=membership.tenant_id, role=Membership.Role.TENANT_ADMIN
        )
        .exclude(pk=membership.pk)
        .exists()
    )


def role_change_refusal(*, by: User, membership: Membership, role: str) -> Refusal | None:
    """Whether ``by`` may give ``membership`` the role ``role``."""
    refusal = administer_refusal(by=by, tenant=membership.tenant_id, what=PEOPLE)
    if refusal is not None:
        return refusal
    if role == membership.role:
        return None
    if _last_administrator(membership):
        return Refusal(
            f"{membership.user} is the only tenant administrator. Make someone else a tenant "
            "administrator first, so the organisation is never left without one.",
            not_now=True,
        )
    if Capability.DELIVER in CAPABILITIES.get(role, ()) or role not in Membership.Role.values:
        return None
    # A role that cannot deliver actions cannot lead them, deliver them or sit on a body.
    held = [f"sit on the {body.name}" for body in _bodies_of(membership)]
    held += _commitments(membership, leaving=False)
    if held:
        return Refusal(
            f"{membership.user} cannot become a read-only viewer yet: they "
            + "; ".join(held)
            + ".",
            not_now=True,
        )
    return None


def removal_refusal(*, by: User, membership: Membership) -> Refusal | None:
    """Whether ``by`` may take ``membership``'s person out of the organisation."""
    refusal = administer_refusal(by=by, tenant=membership.tenant_id, what=PEOPLE)
    if refusal is not None:
        return refusal
    if membership.user_id == by.pk:
        return Refusal(
            "You cannot remove yourself. Another tenant administrator can.", not_now=True
        )
    if _last_administrator(membership):
        return Refusal(
            f"{membership.user} is the only tenant administrator and cannot be removed.",
            not_now=True,
        )
    person = membership.user
    problems = _commitments(membership, leaving=True)
    for body in _bodies_of(membership):
        if body.chair_id == person.pk:
            problems.append(f"chair the {body.name}: choose another chair first")
        remaining = (
            SignOffBodyMember.objects.filter(tenant_id=body.tenant_id, body=body)
            .exclude(user=person)
            .count()
        )
        # Whoever delivered an item cannot approve it, so a quorum above 1 needs a member more.
        if remaining < body.quorum or (body.quorum > 1 and body.quorum >= remaining):
            problems.append(
                f"sit on the {body.name}, which would be left with {remaining} "
                f"member{'s' if remaining != 1 else ''}, too few for its quorum of {body.quorum} "
                "when one of them delivered the item: add a member or lower the quorum first"
            )
    for partner in Partner.objects.filter(
        tenant_id=membership.tenant_id, contact_id=person.pk
    ).order_by("name"):
        problems.append(f"are the named contact for {partner.name}: name another contact first")
    if problems:
        return Refusal(
            f"{person} cannot be removed yet. They " + "; ".join(problems) + ".", not_now=True
        )
    return None


def single_sign_on_refusal(
    *, user: User, tenant: Tenant, signed_in_with_it: bool
) -> Refusal | None:
    """Whether ``user``, signed in this session as they were, may use ``tenant``'s pages. A
    tenant that requires single sign-on lets its members in only once they have signed in
    through its own provider in this session; a password, or another organisation's provider, is
    not enough. Someone in two such organisations signs in through each once, and the session
    remembers both (``tenants.sso``). The operator is never locked out: their own account signs
    in with a password, for the admin and for any organisation they belong to."""
    if not tenant.single_sign_on_required or signed_in_with_it or _is_operator(user):
        return None
    return Refusal(
        f"{tenant.name} asks its members to sign in with their {tenant.name} account rather "
        "than a password."
    )


def password_sign_in_refusal(*, user: User) -> Refusal | None:
    """Whether ``user`` may sign in with a password at all: not when every organisation they
    belong to requires single sign-on, since the password would open none of its pages."""
    if _is_operator(user):
        return None
    tenants = [membership.tenant for membership in memberships_of_user(user)]
    if not tenants or not all(tenant.single_sign_on_required for tenant in tenants):
        return None
    names = " and ".join(tenant.name for tenant in tenants)
    return Refusal(
        f"{names} {'asks' if len(tenants) == 1 else 'ask'} you to sign in with your "
        "organisation's account, not a password. Choose \u201cSign in with your organisation's "
        "account\u201d below."
    )
