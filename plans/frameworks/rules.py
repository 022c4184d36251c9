"""Who may import a framework, and which recommendations an import may not remove.

Read by the import service, its dry run, the pages and the management command alike.
"""

from collections import defaultdict
from collections.abc import Iterable

from plans.models import ActionRecommendation, Recommendation
from tenants.models import Tenant, User
from tenants.rules import Refusal, administer_refusal
from tenants.scoping import across_tenants, tenant_scope

# Actions named in a refusal; the rest are counted.
ACTIONS_NAMED = 5


def framework_import_refusal(*, by: User, tenant: Tenant | None) -> Refusal | None:
    """A tenant's own framework: whoever may administer the tenant. A national framework, which
    every tenant reads: the service's operator, with the admin's permissions on frameworks."""
    if tenant is None:
        if not (by.is_operator and by.has_perms(["plans.add_framework", "plans.change_framework"])):
            return Refusal(
                "Only the service's operator, with permission to add and change frameworks, "
                "can import a national framework."
            )
        return None
    with tenant_scope(tenant):
        return administer_refusal(by=by, tenant=tenant, what="import a framework")


def recommendation_removal_refusals(
    recommendations: Iterable[Recommendation],
) -> list[Refusal]:
    """One refusal for each recommendation that actions answer: removing it would break their
    plans, so an import must keep it (changing its wording or theme is fine)."""
    by_pk = {recommendation.pk: recommendation for recommendation in recommendations}
    if not by_pk:
        return []
    # A national framework's recommendations are answered by every tenant's actions; the
    # operator importing it must hear about all of them. A tenant's own framework can only be
    # used by its own plans, so this shows a tenant administrator nothing of anyone else's.
    with across_tenants():
        links = list(
            ActionRecommendation.objects.filter(recommendation_id__in=by_pk)
            .select_related("action__plan", "tenant")
            .order_by("recommendation_id", "tenant__name", "action__plan__title", "action__pk")
        )
    answered: dict[int, list[str]] = defaultdict(list)
    for link in links:
        action = link.action
        place = f"'{action.plan.title}'"
        if by_pk[link.recommendation_id].tenant_id is None:
            place += f", {link.tenant.name}"
        answered[link.recommendation_id].append(f"{action.reference} in {place}")
    refusals = []
    for pk in sorted(answered, key=lambda pk: by_pk[pk].number):
        recommendation, actions = by_pk[pk], answered[pk]
        named = "; ".join(actions[:ACTIONS_NAMED])
        if len(actions) > ACTIONS_NAMED:
            named += f"; and {len(actions) - ACTIONS_NAMED} more"
        refusals.append(
            Refusal(
                f"Recommendation {recommendation.number} ('{recommendation.title}') cannot be "
                f"removed: {'an action answers' if len(actions) == 1 else 'actions answer'} it "
                f"({named}). Keep it in the file; its wording and theme can change.",
                not_now=True,
            )
        )
    return refusals
