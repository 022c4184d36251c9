"""The tenant administrator's framework pages: the frameworks the tenant can use, and importing
its own (a serious case review, an inspection) by upload, dry run and confirmation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from plans.forms import FrameworkImportForm
from plans.frameworks.held import held_file, hold_file, release_file
from plans.frameworks.services import FrameworkImport, FrameworkImportRefused, framework_import
from plans.selectors import framework_themes, frameworks_visible, frameworks_with_counts
from tenants.views import require_administrator


@login_required
def framework_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    frameworks = list(frameworks_with_counts(tenant=request.tenant))
    return render(
        request,
        "plans/frameworks/list.html",
        {
            "own": [f for f in frameworks if not f.is_national],
            "national": [f for f in frameworks if f.is_national],
        },
    )


@login_required
def framework_page(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    # Looked up first, so another tenant's framework is the same 404 to everyone.
    framework = get_object_or_404(frameworks_visible(tenant=request.tenant), pk=pk)
    require_administrator(request)
    return render(
        request,
        "plans/frameworks/detail.html",
        {"framework": framework, "themes": framework_themes(framework=framework)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def framework_import_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Upload a file and see every problem in it, or what it would import, before anything
    changes."""
    require_administrator(request)
    if request.method != "POST":
        initial = {key: request.GET.get(key, "")[:300] for key in ("title", "short_name")}
        return _import_form(request, FrameworkImportForm(initial=initial))
    form = FrameworkImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_form(request, form, status=400)
    upload = form.cleaned_data["file"]
    details = {key: form.cleaned_data[key] for key in ("title", "short_name")}
    report = framework_import(
        file=upload, tenant=request.tenant, by=request.user, dry_run=True, **details
    )
    if not report.ok:
        return _import_form(request, form, report=report, status=400)
    token = hold_file(request, tenant_id=request.tenant.pk, upload=upload, details=details)
    return render(request, "plans/frameworks/preview.html", {"report": report, "token": token})


@login_required
@require_POST
def framework_import_confirm(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    held = held_file(request, tenant_id=request.tenant.pk, token=request.POST.get("token", ""))
    if held is None:
        messages.error(
            request,
            "That check is no longer available (it was imported, or waited too long to be "
            "confirmed): upload the file again.",
        )
        return redirect("framework_import", tenant_slug=request.tenant.slug)
    try:
        report = framework_import(
            file=held.file, tenant=request.tenant, by=request.user, **held.details
        )
    except FrameworkImportRefused as refused:
        release_file(request, held.token)
        form = FrameworkImportForm(initial=held.details)
        return _import_form(request, form, report=refused.report, status=400)
    release_file(request, held.token)
    messages.success(
        request,
        f"{report.framework.title} imported: {len(report.themes)} themes, "
        f"{report.recommendation_count} recommendations.",
    )
    return redirect("framework", tenant_slug=request.tenant.slug, pk=report.framework.pk)


def _import_form(
    request: HttpRequest,
    form: FrameworkImportForm,
    *,
    report: FrameworkImport | None = None,
    status: int = 200,
) -> HttpResponse:
    listed = []
    if report is not None and form.is_bound:
        for problem in report.problems:
            if problem.field:
                form.add_error(problem.field, problem.message)
        listed = report.file_problems
        if listed:
            count = len(listed)
            form.add_error(
                "file",
                f"The file has {count} {'problem' if count == 1 else 'problems'}, listed below; "
                "nothing has been imported. Correct the file and upload it again.",
            )
    elif report is not None:
        # Found on confirming (someone changed the framework since the check): every problem
        # is listed, with the form to upload the file again.
        listed = report.problems
    return render(
        request,
        "plans/frameworks/import.html",
        {"form": form, "report": report, "problems": listed},
        status=status,
    )
