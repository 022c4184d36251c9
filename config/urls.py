from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from notifications.urls import tenant_urlpatterns as notification_tenant_urls
from tenants.urls import tenant_urlpatterns as tenant_settings_urls

# The operator signs in on the service's own page, so the admin has the same rate limits.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("notifications.urls")),
    path("t/<slug:tenant_slug>/", include("plans.urls")),
    path("t/<slug:tenant_slug>/", include(notification_tenant_urls)),
    path("t/<slug:tenant_slug>/", include(tenant_settings_urls)),
]
