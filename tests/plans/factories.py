import datetime

import factory

from plans import services
from plans.models import (
    Action,
    ActionPlanGroupObjectPermission,
    ActionRecommendation,
    Framework,
    ProgressUpdate,
    Recommendation,
    Theme,
)
from tenants.scoping import across_tenants, tenant_scope


class ReferenceDataFactory(factory.django.DjangoModelFactory):
    """A framework, theme or recommendation: a national one (no tenant) is written, as the
    operator writes it, on the cross-tenant path; a tenant's own within its scope."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = kwargs.get("tenant")
        with across_tenants() if tenant is None else tenant_scope(tenant):
            return super()._create(model_class, *args, **kwargs)


class FrameworkFactory(ReferenceDataFactory):
    class Meta:
        model = Framework

    title = factory.Sequence(lambda n: f"National framework {n}")
    short_name = factory.Sequence(lambda n: f"framework-{n}")
    published = datetime.date(2009, 3, 12)
    is_outline = True


class ThemeFactory(ReferenceDataFactory):
    class Meta:
        model = Theme

    framework = factory.SubFactory(FrameworkFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Theme {n}")


class RecommendationFactory(ReferenceDataFactory):
    class Meta:
        model = Recommendation

    theme = factory.SubFactory(ThemeFactory)
    framework = factory.SelfAttribute("theme.framework")
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Recommendation outline {n}")


def action(plan, *, by, reference="1.1", **fields) -> Action:
    """A new action in ``plan``, created through the service as the manager ``by``."""
    fields.setdefault("title", f"Action {reference}")
    return services.action_create(plan=plan, by=by, reference=reference, **fields)


def bulk_actions(story, count: int, start: int = 0) -> None:
    """``count`` actions across every state a queue looks at, inserted in bulk."""
    states = [
        Action.State.PROPOSED,
        Action.State.AGREED,
        Action.State.IN_PROGRESS,
        Action.State.EVIDENCED,
    ]
    actions = Action.objects.bulk_create(
        Action(
            tenant=story.tenant,
            plan=story.plan,
            reference=f"9.{start + n}",
            title=f"Bulk action {start + n}",
            lead_officer=story.bob if n % 5 else None,
            lead_partner=story.police,
            due_date=datetime.date.today() + datetime.timedelta(days=n % 90 - 30),
            sign_off_body=story.lscb,
            state=states[n % 4],
        )
        for n in range(count)
    )
    ActionRecommendation.objects.bulk_create(
        ActionRecommendation(tenant=story.tenant, action=a, recommendation=story.recommendation)
        for a in actions
    )
    ProgressUpdate.objects.bulk_create(
        ProgressUpdate(
            tenant=story.tenant, action=a, author=story.bob, text="On track", rag="green"
        )
        for a in actions
    )


def plan_monitored_by(plan, body) -> None:
    """Give ``plan`` a monitoring body, as a tenant administrator would."""
    services.action_plan_update(plan=plan, by=None, monitoring_body=body)
    plan.monitoring_body = body


def plan_sign_off_revoked(plan, body) -> None:
    """Take away ``body``'s right to sign off actions in ``plan``."""
    ActionPlanGroupObjectPermission.objects.filter(
        content_object=plan, group_id=body.group_id, permission__codename="sign_off_actions"
    ).delete()
