"""The report page, its downloads, published copies and dashboards. Everyone who reads the plan
reads its reports; managers and tenant administrators publish them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from plans.models import ActionPlan, PublishedReport
from plans.reports.as_of import plan_report
from plans.reports.dashboard import organisation_dashboard
from plans.reports.formats import FORMATS, report_file
from plans.reports.formats.pdf import PdfUnavailable
from plans.reports.forms import PublishForm, ReportDatesForm
from plans.reports.publishing import published_reports_of, report_publish
from plans.reports.tenant import tenant_progress
from plans.selectors import plans_of_tenant
from plans.workflows import publishing_refusal
from tenants.forms import add_service_errors
from workflow.engine import Actor


def _plan_or_404(request: HttpRequest, pk: int) -> ActionPlan:
    return get_object_or_404(plans_of_tenant(tenant=request.tenant), pk=pk)


def _actor(request: HttpRequest) -> Actor:
    return Actor(request.user, request.tenant.pk, membership=request.membership)


def _dates_form(request: HttpRequest) -> ReportDatesForm:
    return ReportDatesForm(request.GET or None, today=timezone.localdate())


def _download_query(as_of, since) -> str:
    return f"?as_of={as_of.isoformat()}" + (f"&since={since.isoformat()}" if since else "")


@login_required
def report_page(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    plan = _plan_or_404(request, pk)
    form = _dates_form(request)
    as_of, since = form.dates()
    report = plan_report(plan=plan, as_of=as_of, since=since)
    query = _download_query(as_of, since)
    downloads = [
        (
            label,
            reverse(
                "report_download",
                kwargs={"tenant_slug": request.tenant.slug, "pk": plan.pk, "fmt": value},
            )
            + query,
        )
        for value, label in PublishedReport.Format.choices
    ]
    context = {
        "plan": plan,
        "form": form,
        "report": report,
        "downloads": downloads,
        "download_query": query,
        "published": published_reports_of(plan=plan),
        "can_publish": publishing_refusal(_actor(request), plan) is None,
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "plans/reports/report.html", context, status=status)


@login_required
def report_download(request: HttpRequest, tenant_slug: str, pk: int, fmt: str) -> HttpResponse:
    """The report as a file, from a stable address: the same query always gives the same rows."""
    plan = _plan_or_404(request, pk)
    if fmt not in FORMATS:
        raise Http404("There is no such format.")
    form = _dates_form(request)
    if form.is_bound and not form.is_valid():
        # A download link with a bad date answers with the page, which says what is wrong.
        return report_page(request, tenant_slug, pk)
    as_of, since = form.dates()
    try:
        made = report_file(plan_report(plan=plan, as_of=as_of, since=since), fmt)
    except PdfUnavailable as error:
        # A server without Pango still serves every other format; the page says why.
        messages.error(request, str(error))
        return redirect(
            reverse("report", kwargs={"tenant_slug": request.tenant.slug, "pk": plan.pk})
            + _download_query(as_of, since)
        )
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def report_publish_page(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    plan = _plan_or_404(request, pk)
    refusal = publishing_refusal(_actor(request), plan)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    dates = _dates_form(request)
    if dates.is_bound and not dates.is_valid():
        return report_page(request, tenant_slug, pk)
    as_of, since = dates.dates()
    form = PublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            published = report_publish(
                plan=plan,
                by=request.user,
                meeting=form.cleaned_data["meeting"],
                meeting_date=form.cleaned_data["meeting_date"],
                as_of=as_of,
                since=since,
                format=form.cleaned_data["format"],
                today=timezone.localdate(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Published for {published.meeting}. SHA-256: {published.sha256}",
            )
            # Back to the report as published, not today's.
            return redirect(
                reverse("report", kwargs={"tenant_slug": request.tenant.slug, "pk": plan.pk})
                + _download_query(as_of, since)
            )
    context = {
        "plan": plan,
        "form": form,
        "as_of": as_of,
        "since": since,
        "download_query": _download_query(as_of, since),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "plans/reports/publish.html", context, status=status)


@login_required
def published_download(
    request: HttpRequest, tenant_slug: str, pk: int, published_pk: int
) -> FileResponse:
    """A published report, byte for byte as it was published."""
    published = get_object_or_404(
        PublishedReport.objects.filter(tenant=request.tenant, plan_id=pk), pk=published_pk
    )
    response = FileResponse(
        published.file.open("rb"),
        as_attachment=True,
        filename=published.file_name,
        content_type=published.content_type,
    )
    response["X-Checksum-SHA256"] = published.sha256
    return response


@login_required
def dashboard_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The organisation's plans side by side as of a date, with a workbook of them all."""
    form = ReportDatesForm(request.GET or None, today=timezone.localdate(), with_since=False)
    as_of, _since = form.dates()
    progress = tenant_progress(tenant=request.tenant, as_of=as_of)
    context = {
        "form": form,
        "progress": progress,
        "charts": organisation_dashboard(progress),
        "workbook_url": reverse("dashboard_workbook", kwargs={"tenant_slug": request.tenant.slug})
        + _download_query(as_of, None),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "plans/reports/dashboard.html", context, status=status)


@login_required
def dashboard_workbook(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Every plan's report as of a date in one workbook: a summary and a sheet per plan."""
    form = ReportDatesForm(request.GET or None, today=timezone.localdate(), with_since=False)
    if form.is_bound and not form.is_valid():
        return dashboard_page(request, tenant_slug)
    as_of, _since = form.dates()
    progress = tenant_progress(tenant=request.tenant, as_of=as_of)
    if not progress.reports:
        messages.info(
            request, "No plan had any actions on that date, so there is nothing to download."
        )
        return redirect("dashboard", tenant_slug=request.tenant.slug)
    made = report_file(progress.reports, "xlsx")
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    return response
