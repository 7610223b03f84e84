from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from tenancy import navigation
        from tenancy.models import Role

        navigation.register(
            navigation.NavItem("Outbox", "messaging:outbox", order=800, active_prefix="messaging:outbox"),
            navigation.NavItem(
                "Email templates",
                "messaging:template_list",
                min_role=Role.ADMIN,
                order=850,
                active_prefix="messaging:template",
            ),
        )
