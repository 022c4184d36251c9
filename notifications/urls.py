from django.urls import path

from notifications import views

# Under ``t/<slug:tenant_slug>/``: a person's notifications and the tenant's settings.
tenant_urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path(
        "notifications/read/",
        views.notifications_mark_all_read,
        name="notifications_mark_all_read",
    ),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("settings/escalations/", views.escalation_settings, name="escalation_settings"),
    path("settings/messages/", views.messages_not_sent, name="messages_not_sent"),
    path(
        "settings/messages/<int:pk>/send-again/",
        views.message_send_again,
        name="message_send_again",
    ),
]

# Outside any tenant: one preference for every organisation a person belongs to. E-mails
# already sent link to this path, so it must not move.
urlpatterns = [
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
]
