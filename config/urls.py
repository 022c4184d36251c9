from django.contrib import admin
from django.urls import include, path

from notifications.urls import tenant_urlpatterns as notification_tenant_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("notifications.urls")),
    path("t/<slug:tenant_slug>/", include("plans.urls")),
    path("t/<slug:tenant_slug>/", include(notification_tenant_urls)),
]
