from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


def _tenant_policies_after_migrate(sender, using, **kwargs):
    """Every tenant-owned table, old or added by a later migration, gets its row-level security."""
    from . import rls

    rls.ensure_policies(using)


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenancy"

    def ready(self):
        post_migrate.connect(_tenant_policies_after_migrate, sender=self, dispatch_uid="tenancy.rls")
        from messaging import registry

        from . import checks, navigation  # noqa: F401 (checks registers itself)
        from .models import Role

        navigation.register(
            navigation.NavItem(gettext_lazy("Home"), "tenancy:home", order=0),
            navigation.NavItem(
                gettext_lazy("Team"), "tenancy:team", min_role=Role.OWNER, order=900, active_prefix="tenancy:team"
            ),
            navigation.NavItem(gettext_lazy("Settings"), "tenancy:settings", min_role=Role.ADMIN, order=950),
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
