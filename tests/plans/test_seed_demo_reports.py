"""The demo's plans report on their page and in every format from its download links, today and
on a past day of their history, each file opening and carrying the plan's actions.

``seed_demo`` writes the demo's story at the moment it runs, so it is run here on the demo's
own date (1 October 2009): that is the past day the reports look back to, and today, years on,
is the other.
"""

import datetime
from io import StringIO

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from plans.models import Action, ActionPlan, ProgressUpdate
from plans.reports.as_of import end_of, local_date, plan_report
from plans.reports.formats import FORMATS
from tenants.models import Membership, User
from tenants.scoping import across_tenants, tenant_scope
from tests.plans.reports.reading import TABULAR, report_rows, report_words
from tests.plans.reports.test_as_of import at
from workflow.models import TransitionLog

SEED_DAY = datetime.date(2009, 10, 1)


@pytest.fixture
def demo_plans(db, settings) -> list[ActionPlan]:
    settings.DEBUG = True
    with time_machine.travel(at(SEED_DAY)):
        call_command("seed_demo", stdout=StringIO())
    with across_tenants():
        return list(ActionPlan.objects.select_related("tenant").order_by("tenant__slug", "pk"))


def last_day_of_history(plan: ActionPlan, today: datetime.date) -> datetime.date:
    """The latest day before today on which anything happened to the plan's actions."""
    actions = Action.objects.filter(plan=plan)
    moments = [
        *actions.values_list("created_at", flat=True),
        *TransitionLog.objects.filter(
            tenant_id=plan.tenant_id,
            content_type=ContentType.objects.get_for_model(Action),
            object_id__in=actions.values("pk"),
        ).values_list("at", flat=True),
        *ProgressUpdate.objects.filter(action__in=actions).values_list("created_at", flat=True),
    ]
    return max(day for day in map(local_date, moments) if day < today)


def squeezed(text: str) -> str:
    # A narrow PDF column may break a long word, so compare without any spaces at all.
    return "".join(text.split())


def manager_of(plan: ActionPlan) -> User:
    return (
        Membership.objects.filter(tenant_id=plan.tenant_id, role=Membership.Role.MANAGER)
        .select_related("user")
        .order_by("pk")
        .first()
        .user
    )


def test_every_demo_plan_reports_in_every_format_today_and_on_a_past_day(client, demo_plans):
    today = timezone.localdate()
    assert len(demo_plans) >= 2
    for plan in demo_plans:
        with tenant_scope(plan.tenant):
            in_plan_now = dict(Action.objects.filter(plan=plan).values_list("reference", "title"))
            assert in_plan_now, f"{plan} has no actions to report"
            past = last_day_of_history(plan, today)
            existed_then = set(
                Action.objects.filter(
                    tenant_id=plan.tenant_id, created_at__lt=end_of(past)
                ).values_list("reference", flat=True)
            )
            client.force_login(manager_of(plan))
            address = reverse("report", kwargs={"tenant_slug": plan.tenant.slug, "pk": plan.pk})
            for day in (today, past):
                expected = {
                    row.reference: row.title for row in plan_report(plan=plan, as_of=day).rows
                }
                if day == today:
                    assert expected == in_plan_now, plan
                else:
                    assert expected, f"{plan} had no actions on {day}"
                    assert set(expected) <= existed_then
                page = client.get(address, {"as_of": day.isoformat()})
                assert page.status_code == 200
                for title in expected.values():
                    assert escape(title) in page.content.decode()
                for fmt in FORMATS:
                    where = f"{plan} as of {day} in {fmt}"
                    response = client.get(address + f"download/{fmt}/", {"as_of": day.isoformat()})
                    assert response.status_code == 200, where
                    assert (
                        f"-progress-as-of-{day.isoformat()}.{fmt}"
                        in (response["Content-Disposition"])
                    )
                    if fmt in TABULAR:
                        rows = report_rows(fmt, response.content)
                        titles = {ref: row["Action"] for ref, row in rows.items()}
                        assert titles == expected, where
                    else:
                        words = report_words(fmt, response.content)
                        assert plan.title in words, where
                        for reference, title in expected.items():
                            assert reference in words, where
                            assert squeezed(title) in squeezed(words), where
