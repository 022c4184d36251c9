"""Pages outside any tenant (choosing an organisation, the account pages allauth lacks) and the
tenant administrator's settings."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants.models import Capability, Membership
from tenants.selectors import memberships_of_user


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
