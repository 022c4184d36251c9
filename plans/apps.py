from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Action plans"

    def ready(self):
        from django.db.backends.signals import connection_created

        from plans import checks, receivers, workflows  # noqa: F401  (receivers connected)
        from plans.page_cache import watch_connection

        connection_created.connect(watch_connection, dispatch_uid="plans.page_cache")
