"""A person's home page queues, drawn once and kept (plans/page_cache.py) until something they
show changes or the day does.

The queues are the person's own (the actions they lead, the bodies they sit on, the agency
they manage for), so each is kept under the person and the day: "overdue" and the working days
an action has waited change at midnight, UK time, with nothing written. Which queues are shown
follows the person's role and agency here, and both are in the key as well as watched: a role
changed in one organisation can never serve the queues drawn for the old one. Links only some
roles see (the organisation's settings) stay outside the kept part, in the view.
"""

from __future__ import annotations

import datetime

from django.template.loader import render_to_string

from plans import queues
from plans.page_cache import cached_parts
from tenants.models import Membership, Tenant, User

QUEUES_TEMPLATE = "plans/includes/home_queues.html"


def home_page_parts(
    *, tenant: Tenant, membership: Membership, user: User, action_address: str, today: datetime.date
) -> dict[str, object]:
    """The ``queues`` of this person's home page (markup)."""
    return cached_parts(
        tenant_id=tenant.pk,
        key=("home", user.pk, membership.role, membership.partner_id, today.isoformat()),
        build=lambda: _home_page_parts_drawn(tenant, membership, user, action_address, today),
    )


def _home_page_parts_drawn(
    tenant: Tenant,
    membership: Membership,
    user: User,
    action_address: str,
    today: datetime.date,
) -> dict[str, object]:
    role = membership.role
    Role = Membership.Role
    on_a_body = queues.sits_on_a_body(tenant=tenant, user=user)
    context = {
        "tenant": tenant,
        "today": today,
        "action_address": action_address,
        "officer_queue": queues.officer_queue(tenant=tenant, user=user, today=today)
        if role != Role.VIEWER
        else None,
        "manager_queues": queues.manager_queues(tenant=tenant, membership=membership, today=today)
        if membership.can_manage
        else None,
        "sign_off_queue": queues.sign_off_queue(tenant=tenant, user=user, today=today)
        if on_a_body or role == Role.BOARD_MEMBER
        else None,
        "plans_to_endorse": queues.plans_awaiting_endorsement(tenant=tenant, user=user)
        if on_a_body
        else [],
        "plan_summaries": queues.plan_summaries(tenant=tenant, today=today)
        if role != Role.OFFICER
        else None,
    }
    return {"queues": render_to_string(QUEUES_TEMPLATE, context)}
