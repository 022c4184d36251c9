"""Which organisations' own sign-in services this session has come through. A tenant that
requires single sign-on asks this on every page (``tenants.rules.single_sign_on_refusal``)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from tenants.models import Tenant, provider_id_of
from tenants.rules import Refusal

SESSION_TENANTS = "single_sign_on_tenants"


def single_sign_on_tenants(request: HttpRequest) -> list[int]:
    return list(request.session.get(SESSION_TENANTS, []))


def signed_in_with(request: HttpRequest, tenant: Tenant) -> bool:
    return tenant.pk in request.session.get(SESSION_TENANTS, ())


def remember_single_sign_on(sender, request: HttpRequest, user, sociallogin=None, **kwargs):
    """On sign-in through a tenant's provider, the session notes it, with any organisations the
    same person passed through earlier in it (allauth's sign-in starts a fresh session)."""
    tenants = sociallogin.state.get(SESSION_TENANTS) if sociallogin is not None else None
    if tenants:
        request.session[SESSION_TENANTS] = tenants


def sign_in_url(tenant: Tenant, next_url: str = "") -> str:
    """The page that sends someone to ``tenant``'s own sign-in service."""
    url = reverse("openid_connect_login", kwargs={"provider_id": provider_id_of(tenant.slug)})
    query = {"process": "login", **({"next": next_url} if next_url else {})}
    return f"{url}?{urlencode(query)}"


def single_sign_on_needed(request: HttpRequest, tenant: Tenant, refusal: Refusal) -> HttpResponse:
    return render(
        request,
        "tenants/single_sign_on_required.html",
        {
            "organisation": tenant,
            "reason": refusal.message,
            "sign_in_url": sign_in_url(tenant, request.get_full_path()),
        },
        status=403,
    )
