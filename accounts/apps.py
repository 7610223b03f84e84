from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from messaging import registry
        from tenancy import navigation

        from . import portal

        navigation.register(navigation.NavItem("Clients", "clients:list", order=10, active_prefix="clients:"))
        portal.register(portal.details_tile)
        registry.register(
            registry.EmailKind(
                key="accounts.password_reset",
                label="Password reset",
                description="Sent when someone asks to reset their password.",
                sample_context={"name": "Sam", "reset_url": "https://example.com/accounts/password/reset/x/y/"},
                tenant_editable=False,
                private=("reset_url",),
            )
        )
