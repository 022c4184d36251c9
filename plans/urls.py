from django.urls import path

from plans import views
from plans.frameworks import views as framework_views
from plans.imports import views as import_views
from plans.reports import views as report_views

urlpatterns = [
    path("", views.tenant_home, name="tenant_home"),
    path("plans/", views.plan_list, name="plans"),
    path("my-actions/", views.my_actions, name="my_actions"),
    path("dashboard/", report_views.dashboard_page, name="dashboard"),
    path("dashboard/workbook/", report_views.dashboard_workbook, name="dashboard_workbook"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/settings/", views.plan_settings, name="plan_settings"),
    path("plans/<int:pk>/report/", report_views.report_page, name="report"),
    path(
        "plans/<int:pk>/report/download/<str:fmt>/",
        report_views.report_download,
        name="report_download",
    ),
    path("plans/<int:pk>/report/publish/", report_views.report_publish_page, name="report_publish"),
    path(
        "plans/<int:pk>/published/<int:published_pk>/",
        report_views.published_download,
        name="published_report",
    ),
    path("plans/<int:pk>/steps/<str:name>/", views.plan_transition, name="plan_step"),
    path("plans/<int:pk>/actions/new/", views.action_new, name="action_new"),
    path("plans/<int:pk>/adopt/", views.plan_adopt, name="plan_adopt"),
    path("plans/<int:pk>/import/", import_views.plan_import_upload, name="plan_import"),
    path(
        "plans/<int:pk>/import/columns/",
        import_views.plan_import_columns,
        name="plan_import_columns",
    ),
    path(
        "plans/<int:pk>/import/confirm/",
        import_views.plan_import_confirm,
        name="plan_import_confirm",
    ),
    path(
        "plans/<int:pk>/adopt/actions/<int:action_pk>/",
        views.plan_adopt_action,
        name="plan_adopt_action",
    ),
    path("actions/<int:pk>/", views.action_page, name="action"),
    path("actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
    path("actions/<int:pk>/steps/<str:name>/", views.action_transition, name="action_step"),
    path("actions/<int:pk>/progress/", views.action_progress, name="action_progress"),
    path("actions/<int:pk>/evidence/", views.action_evidence, name="action_evidence"),
    path(
        "actions/<int:pk>/evidence/<int:evidence_pk>/",
        views.evidence_download,
        name="evidence_download",
    ),
    path("actions/<int:pk>/completion/", views.action_completion, name="action_completion"),
    path("actions/<int:pk>/delegates/", views.action_delegates_change, name="action_delegates"),
    # The tenant administrator's settings for frameworks.
    path("settings/frameworks/", framework_views.framework_list, name="frameworks"),
    path(
        "settings/frameworks/import/",
        framework_views.framework_import_page,
        name="framework_import",
    ),
    path(
        "settings/frameworks/import/confirm/",
        framework_views.framework_import_confirm,
        name="framework_import_confirm",
    ),
    path("settings/frameworks/<int:pk>/", framework_views.framework_page, name="framework"),
    # Older addresses of the same steps, kept so forms and links made before the confirmation
    # pages still work.
    path("plans/<int:pk>/transitions/<str:name>/", views.plan_transition, name="plan_transition"),
    path(
        "actions/<int:pk>/transitions/<str:name>/",
        views.action_transition,
        name="action_transition",
    ),
]
