from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PackagesCreditsConfig(AppConfig):
    name = "packages_credits"
    verbose_name = "Packages and credits"

    def ready(self):
        from accounts import portal
        from bookings import services as booking_services
        from messaging import registry
        from tenancy import navigation

        from .portal import packages_tile
        from .services import booking_extras, give_back_for_cancelled_booking

        navigation.register(
            navigation.NavItem(gettext_lazy("Packages"), "packages:list", order=45, active_prefix="packages:")
        )
        portal.register(packages_tile)
        booking_services.cancellation_handlers.append(give_back_for_cancelled_booking)
        booking_services.detail_extras.append(booking_extras)
        sample = {
            "name": "Sam",
            "package": "Ten yoga classes",
            "credits": [{"service": "Morning flow", "sessions": 10}],
            "price": "120.00 EUR",
            "paid": "50.00 EUR",
            "balance": "70.00 EUR",
            "active": True,
            "expires": "31 March 2027",
            "account_url": "https://example.com/t/demo/account/",
        }
        registry.register(
            registry.EmailKind(
                key="packages_credits.package_added",
                label=gettext_lazy("Package added"),
                description=gettext_lazy(
                    "Sent when a client gets a package (added by staff, or bought in My Account)."
                ),
                sample_context=sample,
            )
        )
        registry.register(
            registry.EmailKind(
                key="packages_credits.package_active",
                label=gettext_lazy("Package paid and active"),
                description=gettext_lazy("Sent when a package bought online is paid and can be used."),
                sample_context=sample,
            )
        )
