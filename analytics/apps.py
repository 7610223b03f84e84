from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from tenancy import navigation

        navigation.register(
            navigation.NavItem("Analytics", "analytics:contracts", order=700, active_prefix="analytics:")
        )
