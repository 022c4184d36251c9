"""Pages outside any tenant: choosing an organisation, and the account pages allauth lacks."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

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
