from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and people"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from tenants import checks  # noqa: F401  (registers the deploy checks)
        from tenants.middleware import start_session_clock

        user_logged_in.connect(start_session_clock, dispatch_uid="tenants.start_session_clock")

        from allauth.account.signals import user_logged_in as signed_in

        from tenants.sso import remember_single_sign_on

        signed_in.connect(remember_single_sign_on, dispatch_uid="tenants.remember_single_sign_on")
