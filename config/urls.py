from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from notifications.urls import tenant_urlpatterns as notification_tenant_urls
from tenants.rules import enforce, second_factor_refusal
from tenants.urls import tenant_urlpatterns as tenant_settings_urls

OPERATOR_ADMIN = "use the operator's admin"


def _operator_with_second_factor(has_permission):
    def check(request):
        return has_permission(request) and (
            second_factor_refusal(user=request.user, what=OPERATOR_ADMIN) is None
        )

    return check


def _second_factor_first(login):
    """An operator without a second factor is told to set one up rather than shown the admin's
    sign-in form again."""

    def view(request, *args, **kwargs):
        if request.user.is_authenticated and request.user.is_operator:
            enforce(second_factor_refusal(user=request.user, what=OPERATOR_ADMIN))
        return login(request, *args, **kwargs)

    return view


# The operator signs in on the service's own page, so the admin has the same rate limits, and
# works in it only with a second factor.
admin.site.has_permission = _operator_with_second_factor(admin.site.has_permission)
admin.site.login = secure_admin_login(_second_factor_first(admin.site.login))

handler403 = "tenants.views.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("notifications.urls")),
    path("t/<slug:tenant_slug>/", include("plans.urls")),
    path("t/<slug:tenant_slug>/", include(notification_tenant_urls)),
    path("t/<slug:tenant_slug>/", include(tenant_settings_urls)),
]
