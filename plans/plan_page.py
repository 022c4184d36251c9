"""The parts of the plan page and of "my actions" that read the same for everyone who may see
them, drawn once and kept (plans/page_cache.py).

Each part is drawn from the context given here alone, without the request: nothing about the
person looking (their role, their buttons, the form tokens of their session) can reach a part
that another member will be served.
"""

from __future__ import annotations

import datetime

from django.core.paginator import Paginator
from django.http import QueryDict
from django.template.loader import render_to_string

from plans.forms import PlanFilterForm
from plans.models import ActionPlan, Rag
from plans.page_cache import cached_parts
from plans.reports.publishing import published_reports_of
from plans.selectors import (
    PLAN_PAGE_SIZE,
    action_rows,
    actions_of_user,
    adoptions_out_of,
    plan_actions,
    plan_timeline,
)
from plans.services import sign_off_bodies_of_plan
from tenants.models import Tenant, User

# The plan page's address parameters; any other is ignored, so it cannot multiply kept parts.
PLAN_PAGE_PARAMETERS = ("q", "state", "rag", "partner", "officer", "overdue", "page")


def plan_page_parts(
    *, tenant: Tenant, plan: ActionPlan, query: QueryDict, today: datetime.date
) -> dict[str, object]:
    """The plan page's parts for these filters and page: ``details``, ``summary``,
    ``filters``, ``actions``, ``records`` (markup) and ``valid`` (whether the filters were)."""
    asked = QueryDict(mutable=True)
    for name in PLAN_PAGE_PARAMETERS:
        if name in query:
            asked.setlist(name, query.getlist(name))
    return cached_parts(
        tenant_id=tenant.pk,
        key=("plan page", plan.pk, today.isoformat(), sorted(asked.lists())),
        build=lambda: _plan_page_parts_drawn(tenant, plan, asked, today),
    )


def _plan_page_parts_drawn(
    tenant: Tenant, plan: ActionPlan, asked: QueryDict, today: datetime.date
) -> dict[str, object]:
    filter_form = PlanFilterForm(asked or None, tenant=tenant)
    valid = filter_form.is_valid() if filter_form.is_bound else True
    actions = plan_actions(
        plan=plan, filters=filter_form.filters(), today=today, page_number=asked.get("page") or 1
    )
    others = asked.copy()
    others.pop("page", None)
    context = {
        "tenant": tenant,
        "plan": plan,
        "actions": actions,
        "filter_form": filter_form,
        "filter_query": others.urlencode() + "&" if others else "",
        "rag_summary": [(r.value, r.label, actions.rag_counts.get(r.value, 0)) for r in Rag],
        "sign_off_bodies": sign_off_bodies_of_plan(plan=plan),
        "history": plan_timeline(plan=plan),
        "adoptions_out": adoptions_out_of(plan=plan),
        "published": published_reports_of(plan=plan),
    }
    drawn: dict[str, object] = {
        name: render_to_string(f"plans/includes/plan_{name}.html", context)
        for name in ("details", "summary", "filters", "actions", "records")
    }
    drawn["valid"] = valid
    return drawn


def my_actions_parts(*, tenant: Tenant, user: User, page_number: str, today: datetime.date):
    """ "My actions" for this person: the ``table`` of one page of them (markup)."""
    return cached_parts(
        tenant_id=tenant.pk,
        key=("my actions", user.pk, today.isoformat(), page_number),
        build=lambda: _my_actions_parts_drawn(tenant, user, page_number, today),
    )


def _my_actions_parts_drawn(
    tenant: Tenant, user: User, page_number: str, today: datetime.date
) -> dict[str, object]:
    page = Paginator(actions_of_user(tenant=tenant, user=user), PLAN_PAGE_SIZE).get_page(
        page_number
    )
    rows = action_rows(page.object_list, today=today)
    context = {"tenant": tenant, "rows": rows, "page": page}
    return {"table": render_to_string("plans/includes/my_actions_table.html", context)}
