import datetime

import factory

from plans import services
from plans.models import Action, Framework, Recommendation, Theme


class FrameworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Framework

    title = factory.Sequence(lambda n: f"National framework {n}")
    short_name = factory.Sequence(lambda n: f"framework-{n}")
    published = datetime.date(2009, 3, 12)
    is_outline = True


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    framework = factory.SubFactory(FrameworkFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Theme {n}")


class RecommendationFactory(factory.django.DjangoModelFactory):
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
