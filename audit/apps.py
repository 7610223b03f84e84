from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from tenancy import events, navigation
        from tenancy.models import Role

        from . import services, tracking

        events.subscribe(services.audit_record)
        tracking.connect()
        navigation.register(
            navigation.NavItem(
                gettext_lazy("Audit trail"), "audit:list", min_role=Role.ADMIN, order=870, active_prefix="audit:"
            )
        )
