from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from tenancy import navigation
        from tenancy.models import Role

        navigation.register(
            navigation.NavItem(gettext_lazy("Outbox"), "messaging:outbox", order=800, active_prefix="messaging:outbox"),
            navigation.NavItem(
                gettext_lazy("Email templates"),
                "messaging:template_list",
                min_role=Role.ADMIN,
                order=850,
                active_prefix="messaging:template",
            ),
        )
