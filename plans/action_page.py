"""The parts of the action page that read the same for every member, drawn once and kept
(plans/page_cache.py): what the action is, its completion statement, evidence, progress and
history, its delegates, and the empty forms.

The viewer's own parts (the workflow steps offered, the approvals awaited, which forms and links
show, the form tokens of the session) are worked out for each request by the view, from the
rules, and never kept. As on the plan page, each part is drawn from the context given here
alone, without the request.
"""

from __future__ import annotations

import datetime

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from plans.forms import CompletionForm, DelegateForm, EvidenceForm, ProgressForm
from plans.models import Action, schedule_rag
from plans.page_cache import cached_parts
from plans.selectors import action_delegates, action_detail, action_timeline, adopted_from_of
from tenants.models import Tenant

# The page's own sections kept as markup, each from ``plans/includes/action_<name>.html``.
SECTIONS = ("summary", "details", "completion", "evidence", "progress", "history")


def action_page_parts(*, tenant: Tenant, action_id: int, today: datetime.date) -> dict[str, object]:
    """The action page's kept parts: the ``SECTIONS`` (markup); ``delegates``, (id, name) pairs
    in name order; and the empty forms' fields (markup), ``progress_fields``,
    ``evidence_fields``, ``completion_fields`` and ``delegate_fields``.

    Keyed by the UK day as well, since the schedule's RAG turns with it."""
    return cached_parts(
        tenant_id=tenant.pk,
        key=("action page", action_id, today.isoformat()),
        build=lambda: _action_page_parts_drawn(tenant, action_id, today),
    )


def _action_page_parts_drawn(
    tenant: Tenant, action_id: int, today: datetime.date
) -> dict[str, object]:
    action = action_detail(tenant=tenant, pk=action_id)
    progress = action.progress_newest_first
    delegates = action_delegates(action=action)
    context = {
        "tenant": tenant,
        "action": action,
        "plan": action.plan,
        "recommendations": list(action.recommendations.all()),
        "supporting_partners": list(action.supporting_partners.all()),
        "schedule_rag": schedule_rag(action, today=today),
        "latest_progress": progress[0] if progress else None,
        "progress_updates": progress,
        "evidence": list(action.evidence.all()),
        "evidence_waiting": list(action.evidence_waiting.all()),
        "adopted_from": adopted_from_of(action),
        "timeline": action_timeline(action=action),
    }
    drawn: dict[str, object] = {
        name: render_to_string(f"plans/includes/action_{name}.html", context) for name in SECTIONS
    }
    drawn["delegates"] = [(delegate.pk, str(delegate)) for delegate in delegates]
    drawn.update(empty_form_fields(tenant=tenant, action=action, delegates=delegates))
    return drawn


def empty_form_fields(*, tenant: Tenant, action: Action, delegates) -> dict[str, SafeString]:
    """The fields of the page's forms as they stand before anyone types: the same for every
    member (the delegate list offers the organisation's people who may deliver, less those
    already delivering)."""
    progress = ProgressForm(prefix="progress")
    evidence = EvidenceForm(prefix="evidence")
    completion = CompletionForm(prefix="completion", initial={"text": action.completion_statement})
    delegate = DelegateForm(
        prefix="delegate",
        tenant=tenant,
        exclude_ids=(action.lead_officer_id, *(d.pk for d in delegates)),
    )
    return {
        "progress_fields": _fields(progress, "text", "rag"),
        "evidence_fields": _fields(evidence, "description", "file", "link"),
        "completion_fields": _fields(completion, "text"),
        "delegate_fields": _fields(delegate, "user"),
    }


def _fields(form, *names: str) -> SafeString:
    # Each field group is markup the form escaped already.
    return mark_safe("\n".join(form[name].as_field_group() for name in names))
