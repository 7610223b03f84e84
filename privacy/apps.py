from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Data export and erasure"

    def ready(self):
        from tenancy import navigation
        from tenancy.models import Role

        navigation.register(
            navigation.NavItem(
                "Erase a person", "privacy:erase", min_role=Role.ADMIN, order=880, active_prefix="privacy:erase"
            ),
            navigation.NavItem(
                "Data export", "privacy:export", min_role=Role.OWNER, order=885, active_prefix="privacy:export"
            ),
        )
