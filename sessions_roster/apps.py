from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class SessionsRosterConfig(AppConfig):
    name = "sessions_roster"
    verbose_name = "Session rosters"

    def ready(self):
        from accounts import portal
        from messaging import registry
        from tenancy import navigation

        from .emails import EMAIL_KINDS
        from .portal import sessions_tile

        navigation.register(
            navigation.NavItem(gettext_lazy("Sessions"), "sessions:list", order=25, active_prefix="sessions:"),
        )
        for kind in EMAIL_KINDS:
            registry.register(kind)
        portal.register(sessions_tile)
