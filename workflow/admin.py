"""The operator's view of the workflow: read-only logs and approvals, and admin actions that take
a workflow step through the one transition service, as the signed-in operator, like any page."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from tenants.admin import ReadOnlyAdmin
from workflow.engine import Transition, Workflow
from workflow.models import Approval, TransitionLog
from workflow.services import TransitionRefused, transition_perform


def transition_actions(workflow: Workflow) -> list[Callable]:
    """One admin action per step of ``workflow``."""
    return [_transition_action(transition) for transition in workflow.transitions]


def _transition_action(transition: Transition) -> Callable:
    def perform(modeladmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        comment = request.POST.get("comment", "").strip()
        if transition.reason_required and not comment:
            return _ask_for_reason(
                modeladmin, request, queryset, transition, missing="apply" in request.POST
            )
        _perform_each(modeladmin, request, queryset, transition, comment)
        return None

    perform.__name__ = f"workflow_{transition.name}"
    return admin.action(description=f"Workflow: {transition.label.lower()}")(perform)


def _perform_each(
    modeladmin, request: HttpRequest, queryset: QuerySet, transition: Transition, comment: str
) -> None:
    done = 0
    for obj in queryset:
        try:
            outcome = transition_perform(
                obj=obj, name=transition.name, user=request.user, comment=comment
            )
        except TransitionRefused as refusal:
            modeladmin.message_user(request, f"{obj}: {refusal}", level=messages.ERROR)
            continue
        if outcome.fired:
            done += 1
        else:
            modeladmin.message_user(
                request,
                f"{obj}: your approval is recorded, {outcome.approvals} of {outcome.quorum}.",
                level=messages.INFO,
            )
    if done:
        modeladmin.message_user(
            request, f"{transition.label}: done for {done}.", level=messages.SUCCESS
        )


def _ask_for_reason(
    modeladmin, request: HttpRequest, queryset: QuerySet, transition: Transition, missing: bool
) -> TemplateResponse:
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{transition.label}: give a reason",
        "opts": opts,
        "transition": transition,
        "objects": list(queryset),
        "action_name": request.POST.get("action", ""),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "missing": missing,
    }
    return TemplateResponse(request, "admin/workflow/transition_reason.html", context)


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "tenant",
        "content_type",
        "object_id",
        "transition",
        "from_state",
        "to_state",
        "actor",
        "recorded_at",
    )
    list_filter = ("tenant", "content_type", "transition")
    list_select_related = ("tenant", "content_type", "actor")
    search_fields = ("comment",)
    date_hierarchy = "at"


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ("at", "tenant", "content_type", "object_id", "transition", "cycle", "approver")
    list_filter = ("tenant", "content_type", "transition")
    list_select_related = ("tenant", "content_type", "approver")
