from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Data export and erasure"

    def ready(self):
        from tenancy import navigation
        from tenancy.models import Role

        navigation.register(
            navigation.NavItem(
                gettext_lazy("Erase a person"),
                "privacy:erase",
                min_role=Role.ADMIN,
                order=880,
                active_prefix="privacy:erase",
            ),
            navigation.NavItem(
                gettext_lazy("Data export"),
                "privacy:export",
                min_role=Role.OWNER,
                order=885,
                active_prefix="privacy:export",
            ),
        )
