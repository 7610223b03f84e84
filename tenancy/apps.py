from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenancy"

    def ready(self):
        from messaging import registry

        from . import navigation
        from .models import Role

        navigation.register(
            navigation.NavItem("Home", "tenancy:home", order=0),
            navigation.NavItem("Team", "tenancy:team", min_role=Role.OWNER, order=900, active_prefix="tenancy:team"),
            navigation.NavItem("Settings", "tenancy:settings", min_role=Role.ADMIN, order=950),
        )
        registry.register(
            registry.EmailKind(
                key="tenancy.staff_invitation",
                label="Team invitation",
                description="Sent when an owner invites someone to the team.",
                sample_context={
                    "invited_by": "Alex Owner",
                    "role": "Staff",
                    "accept_url": "https://example.com/t/demo/join/sample-token/",
                    "expires_at": "1 December 2026, 12:00 (Europe/Amsterdam)",
                },
                private=("accept_url",),
            )
        )
