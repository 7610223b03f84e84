from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API"

    def ready(self):
        from tenancy import navigation
        from tenancy.models import Role

        from . import authentication  # noqa: F401  (registers the bearer scheme with drf-spectacular)

        navigation.register(
            navigation.NavItem(
                gettext_lazy("API keys"), "api_keys:list", min_role=Role.ADMIN, order=960, active_prefix="api_keys:"
            )
        )
