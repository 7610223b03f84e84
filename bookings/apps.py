from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from messaging import registry
        from tenancy import navigation

        navigation.register(
            navigation.NavItem(
                gettext_lazy("Calendar"), "bookings:calendar", order=30, active_prefix="bookings:booking"
            ),
            navigation.NavItem(
                gettext_lazy("Services"), "bookings:service_list", order=40, active_prefix="bookings:service"
            ),
        )
        registry.register(
            registry.EmailKind(
                key="bookings.booking_confirmation",
                label="Booking confirmation",
                description="Sent when someone books a time.",
                sample_context={
                    "name": "Sam",
                    "service": "Intro session",
                    "when": "Tuesday 1 December 2026, 10:00 (Europe/Amsterdam)",
                    "duration": 60,
                    "price": "0.00 EUR",
                    "reference": "a1b2c3",
                },
            )
        )
