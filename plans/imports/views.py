"""The pages of the plan import, reached from the plan page by whoever manages the plan: upload
a file; choose which column holds which field (suggested from the headings); see every problem
or what would be imported; import. Nothing changes until the last step is posted."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from plans.imports.columns import ImportChoices
from plans.imports.forms import ColumnsForm, PlanFileForm
from plans.imports.held import PLAN_FILES
from plans.imports.services import (
    PlanFile,
    PlanImportRefused,
    PlanImportReport,
    plan_file_read,
    plan_import,
    plan_import_refusal,
)
from plans.models import ActionPlan
from plans.selectors import plans_of_tenant
from plans.services import sign_off_bodies_of_plan
from plans.spreadsheets.held import HeldFile

GONE = (
    "That file is no longer available (it was imported, or is more than a day old): upload it "
    "again."
)


def _plan(request: HttpRequest, pk: int) -> ActionPlan:
    # Looked up first, so another tenant's plan is the same 404 to everyone.
    plan = get_object_or_404(
        plans_of_tenant(tenant=request.tenant).select_related("framework", "partner"), pk=pk
    )
    refusal = plan_import_refusal(by=request.user, plan=plan)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    return plan


def _held(request: HttpRequest, plan: ActionPlan, token: str) -> HeldFile | None:
    held = PLAN_FILES.held(request, tenant_id=request.tenant.pk, token=token)
    if held is None or held.details.get("plan") != plan.pk:
        return None
    return held


def _start_again(request: HttpRequest, plan: ActionPlan) -> HttpResponse:
    messages.error(request, GONE)
    return redirect("plan_import", tenant_slug=request.tenant.slug, pk=plan.pk)


@login_required
@require_http_methods(["GET", "POST"])
def plan_import_upload(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    if request.method != "POST":
        return _upload_page(request, plan, PlanFileForm())
    form = PlanFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, plan, form, status=400)
    upload = form.cleaned_data["file"]
    read = plan_file_read(file=upload)
    if not read.ok:
        count = len(read.problems)
        form.add_error(
            "file",
            f"The file cannot be imported: {count} {'problem' if count == 1 else 'problems'}, "
            "listed below. Nothing has been imported.",
        )
        return _upload_page(request, plan, form, problems=read.problems, status=400)
    token = PLAN_FILES.hold(
        request, tenant_id=request.tenant.pk, upload=upload, details={"plan": plan.pk}
    )
    columns_url = reverse(
        "plan_import_columns", kwargs={"tenant_slug": request.tenant.slug, "pk": plan.pk}
    )
    return redirect(f"{columns_url}?file={token}")


def _upload_page(
    request: HttpRequest, plan: ActionPlan, form: PlanFileForm, *, problems=(), status=200
) -> HttpResponse:
    return render(
        request,
        "plans/imports/upload.html",
        {"plan": plan, "form": form, "problems": list(problems)},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_import_columns(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    """Which column holds which field; posted, the check of every row."""
    plan = _plan(request, pk)
    token = request.POST.get("file") if request.method == "POST" else request.GET.get("file")
    held = _held(request, plan, token or "")
    if held is None:
        return _start_again(request, plan)
    read = plan_file_read(file=held.file)
    bodies = sign_off_bodies_of_plan(plan=plan)
    if request.method != "POST":
        saved = held.details.get("choices")
        choices = (
            ImportChoices.from_dict(saved)
            if saved
            else ImportChoices(
                columns=read.suggested,
                sign_off_body_id=bodies[0].pk if len(bodies) == 1 else None,
            )
        )
        form = ColumnsForm(
            initial=ColumnsForm.initial_for(choices), columns=read.columns, bodies=bodies
        )
        return _columns_page(request, plan, form, read, held.token)
    form = ColumnsForm(request.POST, columns=read.columns, bodies=bodies)
    if not form.is_valid():
        return _columns_page(request, plan, form, read, held.token, status=400)
    choices = form.choices()
    PLAN_FILES.update(
        request,
        tenant_id=request.tenant.pk,
        token=held.token,
        details={"plan": plan.pk, "choices": choices.as_dict()},
    )
    report = plan_import(plan=plan, by=request.user, file=held.file, choices=choices, dry_run=True)
    if not report.ok:
        return _columns_page(request, plan, form, read, held.token, report=report, status=400)
    return render(
        request,
        "plans/imports/check.html",
        {"plan": plan, "report": report, "token": held.token, "preview": report.actions[:50]},
    )


def _columns_page(
    request: HttpRequest,
    plan: ActionPlan,
    form: ColumnsForm,
    read: PlanFile,
    token: str,
    *,
    report: PlanImportReport | None = None,
    status: int = 200,
) -> HttpResponse:
    problems = []
    if report is not None:
        for problem in report.problems:
            if problem.field:
                form.add_error(problem.field, problem.message)
        problems = report.file_problems
    return render(
        request,
        "plans/imports/columns.html",
        {"plan": plan, "form": form, "file": read, "token": token, "problems": problems},
        status=status,
    )


@login_required
@require_POST
def plan_import_confirm(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    plan = _plan(request, pk)
    held = _held(request, plan, request.POST.get("file", ""))
    if held is None or not held.details.get("choices"):
        return _start_again(request, plan)
    choices = ImportChoices.from_dict(held.details["choices"])
    try:
        report = plan_import(plan=plan, by=request.user, file=held.file, choices=choices)
    except PlanImportRefused as refused:
        # The plan changed since the check (an action added with a reference in the file):
        # every problem is listed with the columns chosen, and the file kept to check again.
        read = plan_file_read(file=held.file)
        form = ColumnsForm(
            initial=ColumnsForm.initial_for(choices),
            columns=read.columns,
            bodies=sign_off_bodies_of_plan(plan=plan),
        )
        return render(
            request,
            "plans/imports/columns.html",
            {
                "plan": plan,
                "form": form,
                "file": read,
                "token": held.token,
                "problems": refused.report.problems,
            },
            status=400,
        )
    PLAN_FILES.release(request, held.token)
    record = report.record
    messages.success(
        request,
        f"{record.actions} {'action' if record.actions == 1 else 'actions'} imported from "
        f"{record.file_name}, with {record.steps} "
        f"{'step' if record.steps == 1 else 'steps'} and {record.progress_updates} progress "
        f"{'note' if record.progress_updates == 1 else 'notes'} recorded at their own dates.",
    )
    return redirect("plan", tenant_slug=request.tenant.slug, pk=plan.pk)
