import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from tenants.models import Tenant
from tenants.rules import single_sign_on_refusal
from tenants.scoping import across_tenants, tenant_scope
from tenants.selectors import membership_for
from tenants.sso import signed_in_with, single_sign_on_needed


class RequestBodyLimitMiddleware:
    """Refuses a request whose body says it is larger than any form here needs, with 413 and
    before any of it is read.

    The largest body the service accepts is an evidence file at its limit with the form around
    it (REQUEST_BODY_MAX_BYTES). Checked first, so nothing has read the body yet: a person with
    a file that is far too large is told at once rather than after uploading all of it, and
    nobody can make a worker spool gigabytes to disk. A body sent without a length (chunked) is
    not read at all, because Django reads only as many bytes as Content-Length declares.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads nothing of a body whose length is not a number
        if declared > settings.REQUEST_BODY_MAX_BYTES:
            return request_too_large()
        return self.get_response(request)


def request_too_large() -> HttpResponse:
    # Rendered without the request, like Django's own error pages: nothing about the person or
    # the session has been read, and nothing needs to be.
    content = render_to_string(
        "413.html", {"evidence_limit": filesizeformat(settings.EVIDENCE_MAX_BYTES)}
    )
    return HttpResponse(content, status=413)


class NoStoreMiddleware:
    """Tells browsers and proxies to keep no copy of anything the service answers.

    Every page and download names people, actions or evidence of one organisation, and on a
    shared computer a cached copy outlives the session that fetched it: the back button or the
    disk cache would show it to whoever sits down next. One rule for every response rather than a
    list of private pages, so a new page or download cannot be forgotten. Static files never
    reach this middleware (WhiteNoise, before it, answers them) and stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The admin's own never_cache header already says no-store, with more besides.
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store"
        return response


class TenantScopeMiddleware:
    """Activates the tenant named in ``/t/<slug>/`` for its members.

    Everyone else, including a superuser who is not a member, gets the same 404 as a tenant that
    does not exist, so a URL never reveals whether another organisation uses the service. Outside
    tenant URLs no scope is active and any tenant-owned query fails; only the operator's admin
    reads across tenants.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)

        slug = match.kwargs.get("tenant_slug")
        if slug is None:
            if match.app_name == "admin" and request.user.is_active and request.user.is_staff:
                with across_tenants():
                    return self.get_response(request)
            return self.get_response(request)

        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        if tenant is None:
            raise Http404("No such page.")
        with tenant_scope(tenant):
            membership = membership_for(tenant=tenant, user=request.user)
            if membership is None:
                raise Http404("No such page.")
            refusal = single_sign_on_refusal(
                user=request.user, tenant=tenant, signed_in_with_it=signed_in_with(request, tenant)
            )
            if refusal is not None:
                return single_sign_on_needed(request, tenant, refusal)
            request.tenant = tenant
            request.membership = membership
            return self.get_response(request)


REFRESHED_AT = "_session_refreshed_at"


def session_refreshed(request: HttpRequest) -> None:
    request.session[REFRESHED_AT] = int(time.time())


def start_session_clock(sender, request: HttpRequest, user, **kwargs) -> None:
    """On sign-in (user_logged_in): the sign-in's own session write counts as a refresh."""
    session_refreshed(request)


class SlidingSessionMiddleware:
    """Keeps a signed-in session alive while it is used, writing it at most every few minutes.

    A database session ends SESSION_COOKIE_AGE (SESSION_IDLE_SECONDS) after it was last saved.
    Saving it on every request (SESSION_SAVE_EVERY_REQUEST) would cost a write per page, so the
    session is saved only once its last refresh is SESSION_REFRESH_SECONDS old: it ends between
    SESSION_IDLE_SECONDS less that and SESSION_IDLE_SECONDS after the person's last request.
    Checked after the view, so a sign-out leaves nothing to refresh.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = request.session
        if SESSION_KEY in session:
            last = session.get(REFRESHED_AT, 0)
            if time.time() - last >= settings.SESSION_REFRESH_SECONDS:
                session_refreshed(request)
        return response
