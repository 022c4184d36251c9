from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Action plans"

    def ready(self):
        from plans import checks, receivers, workflows  # noqa: F401  (receivers connected)
