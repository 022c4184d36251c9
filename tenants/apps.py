from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and people"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from tenants import checks  # noqa: F401  (registers the deploy checks)
        from tenants.middleware import start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="tenants.start_session_clock")
