from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import Resolver404, resolve

from tenants.models import Tenant
from tenants.scoping import across_tenants, tenant_scope
from tenants.selectors import membership_for


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
            request.tenant = tenant
            request.membership = membership
            return self.get_response(request)
