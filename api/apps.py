from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API"

    def ready(self):
        from tenancy import navigation
        from tenancy.models import Role

        from . import authentication  # noqa: F401  (registers the bearer scheme with drf-spectacular)

        navigation.register(
            navigation.NavItem("API keys", "api_keys:list", min_role=Role.ADMIN, order=960, active_prefix="api_keys:")
        )
