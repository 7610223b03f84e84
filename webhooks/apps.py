from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from tenancy import events, navigation
        from tenancy.models import Role

        from .services import deliveries_for_event

        events.subscribe(deliveries_for_event)
        navigation.register(
            navigation.NavItem(
                gettext_lazy("Webhooks"),
                "webhooks:endpoints",
                min_role=Role.STAFF,
                order=880,
                active_prefix="webhooks:",
            )
        )
