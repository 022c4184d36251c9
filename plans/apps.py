from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Action plans"

    def ready(self):
        from plans import (  # noqa: F401  (attaches each model's workflow; connects receivers)
            receivers,
            workflows,
        )
