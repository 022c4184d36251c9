"""Pages for a tenant's plans and actions.

Every object is loaded through a query filtered to ``request.tenant`` (set by the tenant
middleware, which has already refused non-members), so another organisation's id is the same
404 as a missing one. Reads come from selectors, writes from services; the views only translate
between HTTP and those.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from plans import services
from plans.action_page import action_page_parts
from plans.forms import (
    ActionForm,
    AdoptionForm,
    CompletionForm,
    DelegateForm,
    EvidenceForm,
    PlanForm,
    ProgressForm,
)
from plans.home_page import home_page_parts
from plans.models import Action, ActionPlan, Evidence, QuarantinedEvidence
from plans.plan_page import my_actions_parts, plan_page_parts
from plans.selectors import (
    action_delegates,
    agency_actions_to_adopt,
    plans_of_tenant,
)
from plans.workflows import (
    action_abilities,
    action_editing_refusal,
    adopting_from_refusal,
    adopting_refusal,
    adoption_refusal,
    details_change_refusal,
    is_manager,
)
from tenants.forms import add_service_errors
from tenants.scoping import reads_in_one_transaction
from tenants.views import administers, require_administrator
from workflow.engine import Actor
from workflow.views import step_confirm, steps_context

# -- helpers ---------------------------------------------------------------------------------


def _plan_or_404(request: HttpRequest, pk: int) -> ActionPlan:
    return get_object_or_404(plans_of_tenant(tenant=request.tenant), pk=pk)


def _action_or_404(request: HttpRequest, pk: int) -> Action:
    return get_object_or_404(
        Action.objects.filter(tenant=request.tenant).select_related("plan", "sign_off_body"),
        pk=pk,
    )


def _actor(request: HttpRequest) -> Actor:
    return Actor(request.user, request.tenant.pk, membership=request.membership)


def _require_manager(request: HttpRequest, plan: ActionPlan, what: str) -> None:
    refusal = action_editing_refusal(_actor(request), plan, what)
    if refusal is not None:
        raise PermissionDenied(refusal.message)


def _back_to_action(request: HttpRequest, action: Action) -> HttpResponse:
    return redirect("action", tenant_slug=request.tenant.slug, pk=action.pk)


def _action_address(tenant_slug: str) -> str:
    """Every action's address less its number, for lists that link many: rows write
    ``{{ action_address }}{{ action.pk }}/``, one reverse() a page rather than one a row."""
    return reverse("action", kwargs={"tenant_slug": tenant_slug, "pk": 0}).removesuffix("0/")


# -- plans ----------------------------------------------------------------------------------


@login_required
@reads_in_one_transaction
def tenant_home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """What needs this person now, by what they do here: their actions, a manager's queues,
    the sign-off queue of every body they sit on, and the plans at a glance."""
    parts = home_page_parts(
        tenant=request.tenant,
        membership=request.membership,
        user=request.user,
        action_address=_action_address(request.tenant.slug),
        today=timezone.localdate(),
    )
    context = {"parts": parts, "is_tenant_admin": administers(request)}
    return render(request, "plans/home.html", context)


@login_required
def plan_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    return render(
        request,
        "plans/plan_list.html",
        {
            "plans": list(plans_of_tenant(tenant=request.tenant)),
            "can_administer": administers(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    form = PlanForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.action_plan_create(
                tenant=request.tenant, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{plan.title} created. It is a draft.")
            return redirect("plan", tenant_slug=request.tenant.slug, pk=plan.pk)
    return render(
        request,
        "plans/plan_form.html",
        {"form": form, "plan": None},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_settings(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    plan = _plan_or_404(request, pk)
    require_administrator(request)
    form = PlanForm(
        request.POST or None,
        tenant=request.tenant,
        plan=plan,
        initial=None if request.method == "POST" else PlanForm.initial_from(plan),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.action_plan_update(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Plan settings saved.")
            return redirect("plan", tenant_slug=request.tenant.slug, pk=plan.pk)
    return render(
        request,
        "plans/plan_form.html",
        {"form": form, "plan": plan},
        status=400 if form.is_bound else 200,
    )


@login_required
def plan_detail(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    # One transaction for every read: the tenant's scope is told to the database once rather
    # than around each statement, and every part shows the same moment.
    with transaction.atomic():
        plan = _plan_or_404(request, pk)
        parts = plan_page_parts(
            tenant=request.tenant, plan=plan, query=request.GET, today=timezone.localdate()
        )
        status = 200 if parts["valid"] else 400
        if request.htmx and request.htmx.target == "plan-actions":
            # The filters replace only the list of actions; the rest of the page stays as it is.
            return HttpResponse(parts["actions"], status=status)
        actor = _actor(request)
        managing = action_editing_refusal(actor, plan, "add actions to a plan")
        context = {
            "plan": plan,
            "parts": parts,
            **steps_context(obj=plan, user=request.user),
            "can_manage": managing is None,
            # A manager of another agency is told whose plan this is rather than left guessing.
            "managing_refusal": managing.message if managing and is_manager(actor) else "",
            "can_adopt": adopting_refusal(actor, plan) is None,
            "can_administer": administers(request),
        }
        return render(request, "plans/plan_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def plan_transition(request: HttpRequest, tenant_slug: str, pk: int, name: str) -> HttpResponse:
    """A step of the plan's workflow: its confirmation page, and the step when posted."""
    plan = _plan_or_404(request, pk)
    plans_url = reverse("plans", kwargs={"tenant_slug": request.tenant.slug})
    plan_url = reverse("plan", kwargs={"tenant_slug": request.tenant.slug, "pk": plan.pk})
    return step_confirm(
        request,
        obj=plan,
        name=name,
        noun="plan",
        obj_url=plan_url,
        crumbs=[("Plans", plans_url), (plan.title, plan_url)],
        summary=[("Plan", plan.title), ("Endorsed by", plan.owner_body.name)],
    )


# -- adopting agency plans' actions into a partnership plan ----------------------------------


@login_required
def plan_adopt(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    """The open actions of the agencies' plans that a partnership plan's manager may adopt,
    by agency plan; where a whole plan cannot be adopted from, why."""
    plan = _plan_or_404(request, pk)
    actor = _actor(request)
    refusal = adopting_refusal(actor, plan)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    groups = []
    for group in agency_actions_to_adopt(tenant=request.tenant):
        plan_refusal = adopting_from_refusal(actor, group.plan, plan)
        rows = [
            (action, adoption_refusal(actor, action, plan) if plan_refusal is None else None)
            for action in group.actions
        ]
        groups.append((group.plan, plan_refusal, rows))
    return render(request, "plans/plan_adopt.html", {"plan": plan, "groups": groups})


@login_required
@require_http_methods(["GET", "POST"])
def plan_adopt_action(
    request: HttpRequest, tenant_slug: str, pk: int, action_pk: int
) -> HttpResponse:
    """Adopting one action: what happens, its new reference, and the adoption when posted. A
    refused adoption says why (403) and changes nothing."""
    plan = _plan_or_404(request, pk)
    action = get_object_or_404(
        Action.objects.filter(tenant=request.tenant).select_related(
            "plan", "plan__partner", "plan__framework", "sign_off_body"
        ),
        pk=action_pk,
    )
    refused = adoption_refusal(_actor(request), action, plan)
    refusal = refused.message if refused is not None else ""
    form = AdoptionForm(request.POST or None, initial={"reference": action.reference})
    status = 403 if refusal else 200
    if request.method == "POST" and not refusal:
        status = 400
        if form.is_valid():
            old_reference = action.reference
            try:
                adopted = services.action_adopt(
                    action=action,
                    into_plan=plan,
                    by=request.user,
                    reference=form.cleaned_data["reference"],
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    add_service_errors(form, error)
                else:
                    # Someone else adopted or withdrew it since the page was shown.
                    refusal, status = " ".join(error.messages), 403
            except PermissionDenied as denied:
                refusal, status = str(denied), 403
            else:
                messages.success(
                    request,
                    f"Action {old_reference} of {action.plan.title} adopted into {plan.title} "
                    f"as {adopted.reference}.",
                )
                return _back_to_action(request, adopted)
    return render(
        request,
        "plans/plan_adopt_action.html",
        {
            "plan": plan,
            "action": action,
            "form": form,
            "refusal": refusal,
            "varies_agency_plan": action.plan.state == ActionPlan.State.ENDORSED,
            "varies_plan": plan.state == ActionPlan.State.ENDORSED,
        },
        status=status,
    )


# -- creating and editing actions -----------------------------------------------------------


@login_required
def action_new(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    plan = _plan_or_404(request, pk)
    _require_manager(request, plan, "add actions to a plan")
    form = ActionForm(request.POST or None, tenant=request.tenant, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            action = services.action_create(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Action {action.reference} added. It is proposed.")
            return _back_to_action(request, action)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "plans/action_form.html",
        {"form": form, "plan": plan, "action": None},
        status=status,
    )


@login_required
def action_edit(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    action = _action_or_404(request, pk)
    refusal = details_change_refusal(Actor(request.user, action.tenant_id), action)
    if refusal is not None:
        if not refusal.not_now:
            raise PermissionDenied(refusal.message)
        messages.error(request, refusal.message)
        return _back_to_action(request, action)
    form = ActionForm(
        request.POST or None,
        tenant=request.tenant,
        plan=action.plan,
        action=action,
        initial=None if request.method == "POST" else ActionForm.initial_from(action),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.action_update(action=action, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Action {action.reference} updated.")
            return _back_to_action(request, action)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "plans/action_form.html",
        {"form": form, "plan": action.plan, "action": action},
        status=status,
    )


# -- the action page ------------------------------------------------------------------------


def _render_action(request: HttpRequest, pk: int, *, status: int = 200, **forms) -> HttpResponse:
    """The action page: its kept parts (plans/action_page.py) and, for this person, the steps
    and forms the rules offer. ``forms``: a form sent back with its errors, drawn in place of
    the kept empty one."""
    action = _action_or_404(request, pk)
    # One actor for every rule the page asks, so each fact about the person is read once.
    actor = Actor(request.user, action.tenant_id, membership=request.membership)
    context = {
        "action": action,
        "plan": action.plan,
        "parts": action_page_parts(
            tenant=request.tenant, action_id=action.pk, today=timezone.localdate()
        ),
        **steps_context(obj=action, user=request.user, actor=actor),
        **{name: form for name, form in forms.items() if form is not None},
        "invalid_form": next((f for f in forms.values() if f is not None and f.errors), None),
        **action_abilities(actor, action),
    }
    return render(request, "plans/action_detail.html", context, status=status)


@login_required
@reads_in_one_transaction
def action_page(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    return _render_action(request, pk)


@login_required
@require_http_methods(["GET", "POST"])
def action_transition(request: HttpRequest, tenant_slug: str, pk: int, name: str) -> HttpResponse:
    """A step of the action's workflow: its confirmation page, and the step when posted."""
    action = _action_or_404(request, pk)
    slug = request.tenant.slug
    plan_url = reverse("plan", kwargs={"tenant_slug": slug, "pk": action.plan_id})
    action_url = reverse("action", kwargs={"tenant_slug": slug, "pk": action.pk})
    return step_confirm(
        request,
        obj=action,
        name=name,
        noun="action",
        obj_url=action_url,
        crumbs=[
            ("Plans", reverse("plans", kwargs={"tenant_slug": slug})),
            (action.plan.title, plan_url),
            (f"Action {action.reference}", action_url),
        ],
        summary=[
            ("Reference", action.reference),
            ("Title", action.title),
            ("Plan", action.plan.title),
        ],
    )


def _write(request: HttpRequest, action: Action, form, write, success, form_name: str):
    """Run ``write`` for a valid form; refusals come back next to the form with nothing changed.
    ``success`` is the message then, or makes it from what ``write`` returned."""
    if form.is_valid():
        try:
            result = write(form.cleaned_data)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                # A refusal about the action's state, not the input: the form may no longer
                # be on the page, so say it at the top.
                messages.error(request, " ".join(error.messages))
                return _back_to_action(request, action)
            add_service_errors(form, error)
        except PermissionDenied as denied:
            messages.error(request, str(denied))
            return _back_to_action(request, action)
        else:
            messages.success(request, success(result) if callable(success) else success)
            return _back_to_action(request, action)
    return _render_action(request, action.pk, status=400, **{form_name: form})


@login_required
@require_POST
def action_progress(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    action = _action_or_404(request, pk)
    form = ProgressForm(request.POST, prefix="progress")
    return _write(
        request,
        action,
        form,
        lambda data: services.progress_add(
            action=action, author=request.user, text=data["text"], rag=data["rag"]
        ),
        "Progress update added.",
        "progress_form",
    )


EVIDENCE_WAITING = (
    "Your file is waiting for a virus check. It becomes evidence once the check finds it clean, "
    "and you will be told; until then it cannot be downloaded or submitted for sign-off."
)


def _evidence_added(result: Evidence | QuarantinedEvidence) -> str:
    return EVIDENCE_WAITING if isinstance(result, QuarantinedEvidence) else "Evidence added."


def _add_evidence(
    request: HttpRequest, action: Action, data: dict
) -> Evidence | QuarantinedEvidence:
    if data.get("file"):
        return services.evidence_add_file(
            action=action, by=request.user, upload=data["file"], description=data["description"]
        )
    return services.evidence_add_link(
        action=action, by=request.user, url=data["link"], description=data["description"]
    )


@login_required
@require_POST
def action_evidence(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    action = _action_or_404(request, pk)
    form = EvidenceForm(request.POST, request.FILES, prefix="evidence")
    return _write(
        request,
        action,
        form,
        lambda data: _add_evidence(request, action, data),
        _evidence_added,
        "evidence_form",
    )


@login_required
@require_POST
def action_completion(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    action = _action_or_404(request, pk)
    form = CompletionForm(request.POST, prefix="completion")
    return _write(
        request,
        action,
        form,
        lambda data: services.action_set_completion_statement(
            action=action, by=request.user, text=data["text"]
        ),
        "Completion statement saved.",
        "completion_form",
    )


@login_required
@require_POST
def action_delegates_change(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    action = _action_or_404(request, pk)
    if "remove" in request.POST:
        return _remove_delegate(request, action, request.POST["remove"])
    form = DelegateForm(request.POST, prefix="delegate", tenant=request.tenant)
    return _write(
        request,
        action,
        form,
        lambda data: services.action_delegate(
            action=action, by=request.user, delegate=data["user"]
        ),
        "Delegate added: they can now deliver this action.",
        "delegate_form",
    )


def _remove_delegate(request: HttpRequest, action: Action, user_id: str) -> HttpResponse:
    delegate = next((u for u in action_delegates(action=action) if str(u.pk) == user_id), None)
    if delegate is None:
        messages.error(request, "That person is not a delegate for this action.")
        return _back_to_action(request, action)
    try:
        services.action_delegate_remove(action=action, by=request.user, delegate=delegate)
    except (PermissionDenied, ValidationError) as refusal:
        messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))
    else:
        messages.success(request, f"{delegate} is no longer a delegate for this action.")
    return _back_to_action(request, action)


@login_required
def evidence_download(
    request: HttpRequest, tenant_slug: str, pk: int, evidence_pk: int
) -> FileResponse:
    evidence = get_object_or_404(
        Evidence.objects.filter(tenant=request.tenant, action_id=pk), pk=evidence_pk
    )
    if not evidence.file:
        raise Http404("This evidence is a link, not a file.")
    return FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name or "evidence",
        content_type=evidence.content_type or "application/octet-stream",
    )


# -- my actions -----------------------------------------------------------------------------


@login_required
def my_actions(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    with transaction.atomic():  # the tenant's scope told once, as on the plan page
        parts = my_actions_parts(
            tenant=request.tenant,
            user=request.user,
            page_number=request.GET.get("page") or "1",
            today=timezone.localdate(),
        )
        return render(request, "plans/my_actions.html", {"parts": parts})
