"""Pages outside any tenant: signing in and choosing an organisation."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants.selectors import memberships_of_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Choose the organisation to work in; someone in only one goes straight to its plans."""
    memberships = memberships_of_user(request.user)
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenants/home.html", {"memberships": memberships})
