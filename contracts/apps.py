from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts"

    def ready(self):
        from imports import registry
        from tenancy import navigation

        from .participants_csv import PARTICIPANTS_IMPORT

        navigation.register(
            navigation.NavItem(
                gettext_lazy("Contracts"),
                "contracts:organisations",
                order=20,
                active_prefix=("contracts:", "invitations:", "imports:"),
            )
        )
        registry.register(PARTICIPANTS_IMPORT)
