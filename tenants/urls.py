from django.urls import include, path, re_path
from django.views.generic import RedirectView

from tenants import views

# allauth pages for what the service does not offer; matched before allauth's own.
NOT_OFFERED = [
    "reauthenticate/",
    "email/",
    "confirm-email/",
    "password/set/",
    "login/code/confirm/",
]

urlpatterns = [
    path("accounts/", RedirectView.as_view(pattern_name="home"), name="accounts"),
    *[path(f"accounts/{route}", views.not_offered) for route in NOT_OFFERED],
    re_path(r"^accounts/confirm-email/[^/]+/$", views.not_offered),
    path(
        "accounts/password/change/done/",
        views.password_change_done,
        name="account_change_password_done",
    ),
    path("accounts/", include("allauth.account.urls")),
    path("", views.home, name="home"),
]

# Under ``t/<slug:tenant_slug>/``: the tenant administrator's settings.
tenant_urlpatterns = [
    path("settings/", views.settings_index, name="settings"),
    path("settings/audit/", views.audit_list, name="audit"),
]
