"""What plans answer when a person leaves an organisation or stops delivering actions."""

from django.dispatch import receiver

from plans.models import (
    Action,
    ActionPlan,
    ActionPlanUserObjectPermission,
    ActionUserObjectPermission,
)
from plans.services import _delegate_names, action_change_record
from tenants.models import Membership
from tenants.signals import person_commitments_asked, person_leaving


def _count(n: int, word: str) -> str:
    return f"{n} open {word}{'s' if n != 1 else ''}"


@receiver(person_commitments_asked, sender=Membership, dispatch_uid="plans.person_commitments")
def actions_still_needing(sender, membership: Membership, leaving: bool, **kwargs) -> str | None:
    """Open actions the person leads must have another lead officer first, and plans they own
    another owner (the owner is told about the plan's actions, and must be a member); a person
    who stays but can no longer deliver must also stop being a delegate."""
    led = Action.objects.filter(
        tenant_id=membership.tenant_id,
        lead_officer_id=membership.user_id,
        state__in=Action.OPEN_STATES,
    ).count()
    held = []
    if led:
        held.append(
            f"lead {_count(led, 'action')}: give "
            f"{'it' if led == 1 else 'them'} another lead officer first"
        )
    if leaving:
        owned = list(
            ActionPlan.objects.filter(
                tenant_id=membership.tenant_id, owner_id=membership.user_id
            ).values_list("title", flat=True)
        )
        if owned:
            held.append(
                f"own the action plan{'s' if len(owned) != 1 else ''} "
                + ", ".join(f"'{title}'" for title in owned)
                + ": name another owner first"
            )
    else:
        delegated = ActionUserObjectPermission.objects.filter(
            tenant_id=membership.tenant_id,
            user_id=membership.user_id,
            content_object__state__in=Action.OPEN_STATES,
        ).count()
        if delegated:
            held.append(
                f"are a delegate on {_count(delegated, 'action')}: remove them as a delegate first"
            )
    return "; ".join(held) or None


@receiver(person_leaving, sender=Membership, dispatch_uid="plans.person_leaving")
def delegations_ended(sender, membership: Membership, by, **kwargs) -> None:
    """The person's delegations in this organisation end, each recorded on its action."""
    tenant_id, user_id = membership.tenant_id, membership.user_id
    delegated = list(
        Action.objects.select_for_update()
        .filter(
            tenant_id=tenant_id,
            pk__in=ActionUserObjectPermission.objects.filter(
                tenant_id=tenant_id, user_id=user_id
            ).values("content_object_id"),
        )
        .order_by("pk")
    )
    before = {action.pk: _delegate_names(action) for action in delegated}
    ActionUserObjectPermission.objects.filter(tenant_id=tenant_id, user_id=user_id).delete()
    ActionPlanUserObjectPermission.objects.filter(tenant_id=tenant_id, user_id=user_id).delete()
    for action in delegated:
        action_change_record(
            action=action,
            by=by,
            before={"delegates": before[action.pk]},
            after={"delegates": _delegate_names(action)},
            summary=f"Delegate removed: {membership.user}, who left the organisation",
        )
