from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from tenancy import navigation

        navigation.register(
            navigation.NavItem(gettext_lazy("Analytics"), "analytics:contracts", order=700, active_prefix="analytics:")
        )
