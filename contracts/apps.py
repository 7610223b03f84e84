from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts"

    def ready(self):
        from imports import registry
        from tenancy import navigation

        from .participants_csv import PARTICIPANTS_IMPORT

        navigation.register(
            navigation.NavItem("Contracts", "contracts:organisations", order=20, active_prefix="contracts:")
        )
        registry.register(PARTICIPANTS_IMPORT)
