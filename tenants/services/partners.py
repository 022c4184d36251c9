"""Partner agencies and their named contacts, chosen from the members or invited."""

from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.models import AuditEntry, Invitation, Membership, Partner, Tenant, User
from tenants.rules import PEOPLE, administer_refusal, enforce
from tenants.services.audit import Recorded
from tenants.text import one_line_text


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


PARTNER_NAME = one_line_text("the agency's name", 200, missing="Enter the agency's name.")


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
    # Imported here: accepting an invitation names an agency's contact, so the invitations
    # module imports this one.
    from tenants.services.invitations import InvitationPending, invitation_create

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
