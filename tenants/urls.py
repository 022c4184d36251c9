from django.urls import include, path, re_path
from django.views.generic import RedirectView

from tenants import views

# allauth pages for what the service does not offer; matched before allauth's own.
NOT_OFFERED = [
    # Accounts are linked to an organisation's sign-in service only by signing in through it.
    "3rdparty/",
    "3rdparty/signup/",
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
    path("accounts/sso/", views.single_sign_on_find, name="single_sign_on_find"),
    path("accounts/", include("allauth.account.urls")),
    # A second factor: adding or removing one first asks for the password (or a factor) again
    # unless the person signed in within ACCOUNT_REAUTHENTICATION_TIMEOUT.
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path("accounts/3rdparty/", include("allauth.socialaccount.urls")),
    # Each organisation's own provider: accounts/oidc/sso-<slug>/login/ and .../login/callback/.
    path("accounts/", include("allauth.socialaccount.providers.openid_connect.urls")),
    path("", views.home, name="home"),
    # Named in every page's Content-Security-Policy (report-uri).
    path("csp-report/", views.policy_report, name="policy_report"),
    # E-mailed: the path is part of what has been sent out.
    path("invitations/<int:pk>/<str:token>/", views.invitation_accept, name="invitation_accept"),
]

# Under ``t/<slug:tenant_slug>/``: the tenant administrator's settings.
tenant_urlpatterns = [
    path("settings/", views.settings_index, name="settings"),
    path("settings/organisation/", views.organisation, name="organisation"),
    path("settings/sign-off-bodies/", views.sign_off_bodies, name="sign_off_bodies"),
    path("settings/sign-off-bodies/new/", views.sign_off_body_new, name="sign_off_body_new"),
    path("settings/sign-off-bodies/<int:pk>/", views.sign_off_body, name="sign_off_body"),
    path(
        "settings/sign-off-bodies/<int:pk>/members/",
        views.sign_off_body_members,
        name="sign_off_body_members",
    ),
    path("settings/audit/", views.audit_list, name="audit"),
    path("settings/single-sign-on/", views.single_sign_on, name="single_sign_on"),
    path(
        "settings/single-sign-on/turn-off/",
        views.single_sign_on_remove,
        name="single_sign_on_remove",
    ),
    path("settings/people/", views.people, name="people"),
    path("settings/people/invite/", views.invitation_new, name="invitation_new"),
    path("settings/people/<int:user_id>/", views.person, name="person"),
    path("settings/people/<int:user_id>/remove/", views.person_remove, name="person_remove"),
    path(
        "settings/invitations/<int:pk>/send-again/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "settings/invitations/<int:pk>/cancel/", views.invitation_cancel, name="invitation_cancel"
    ),
    path("settings/partners/", views.partners, name="partners"),
    path("settings/partners/new/", views.partner_new, name="partner_new"),
    path("settings/partners/<int:pk>/", views.partner_edit, name="partner_edit"),
]
