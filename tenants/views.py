"""Pages outside any tenant (choosing an organisation, the account pages allauth lacks) and the
tenant administrator's settings."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants.forms import AuditFilterForm
from tenants.models import Capability, Membership
from tenants.selectors import audit_entries, memberships_of_user, people_in_audit


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Choose the organisation to work in; someone in only one goes straight to its plans."""
    memberships = memberships_of_user(request.user)
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenants/home.html", {"memberships": memberships})


@login_required
def password_change_done(request: HttpRequest) -> HttpResponse:
    return render(request, "account/password_change_done.html")


def not_offered(request: HttpRequest) -> HttpResponse:
    """An allauth page for something the service does not do: e-mail addresses are managed by
    administrators, and nobody signs in by code or confirms an address."""
    raise Http404("No such page.")


def require_capability(membership: Membership | None, capability: str) -> None:
    """Refuse a page to someone whose role does not allow ``capability`` here."""
    if membership is None or not membership.can(capability):
        raise PermissionDenied(CAPABILITY_REFUSALS[capability])


CAPABILITY_REFUSALS = {
    Capability.READ: "You are not a member of this organisation.",
    Capability.DELIVER: "Read-only viewers cannot do this.",
    Capability.MANAGE_ACTIONS: "Only managers and tenant administrators can do this.",
    Capability.ADMINISTER: "Only a tenant administrator can see and change these settings.",
}


@login_required
def settings_index(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_capability(request.membership, Capability.ADMINISTER)
    return render(request, "tenants/settings.html")


AUDIT_PAGE_SIZE = 50


@login_required
def audit_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Every recorded change here that is not a workflow step: who changed what, from what, to
    what, when and why."""
    require_capability(request.membership, Capability.ADMINISTER)
    tenant = request.tenant
    form = AuditFilterForm(request.GET or None, people=people_in_audit(tenant=tenant))
    valid = form.is_valid() if form.is_bound else True
    filters = form.cleaned_data if form.is_bound and valid else {}
    entries = audit_entries(
        tenant=tenant,
        subject_type=filters.get("subject") or "",
        actor=filters.get("actor"),
        since=filters.get("since"),
        until=filters.get("until"),
        q=(filters.get("q") or "").strip(),
    )
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page") or 1)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tenants/audit.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode() + "&" if query else "",
        },
        status=200 if valid else 400,
    )
