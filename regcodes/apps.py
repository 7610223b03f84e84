from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RegcodesConfig(AppConfig):
    name = "regcodes"
    verbose_name = "Registration codes"

    def ready(self):
        from accounts import portal
        from imports import registry as imports_registry
        from messaging import registry
        from tenancy import navigation

        from .learners_csv import LEARNERS_IMPORT
        from .portal import codes_tile, courses_tile

        imports_registry.register(LEARNERS_IMPORT)
        navigation.register(
            navigation.NavItem(gettext_lazy("Courses"), "courses:products", order=27, active_prefix="courses:")
        )
        portal.register(codes_tile)
        portal.register(courses_tile)

        registry.register(
            registry.EmailKind(
                key="regcodes.learner_invitation",
                label=gettext_lazy("Learner invitation"),
                description=gettext_lazy(
                    "Sent when a customer invites someone to take one of their course seats; "
                    "also by SMS when the customer gives a mobile number."
                ),
                sample_context={
                    "course": "First aid at work",
                    "session": "Spring 2027",
                    "from_name": "Alex Buyer",
                    "message": "Looking forward to seeing you there!",
                    "link": "https://example.com/t/demo/seats/invite/…/",
                },
                private=("link",),
                sms=True,
            )
        )
        registry.register(
            registry.EmailKind(
                key="regcodes.order_confirmation",
                label=gettext_lazy("Seat order confirmation"),
                description=gettext_lazy("Sent when a customer buys seats, or staff enter an order for them."),
                sample_context={
                    "name": "Alex",
                    "order_number": "R-000042",
                    "course": "First aid at work",
                    "session": "Spring 2027",
                    "quantity": 10,
                    "total": "1000.00 EUR",
                    "paid": False,
                    "payment_instructions": "Please pay 1000.00 EUR to Demo Studio by bank transfer, quoting R-000042.",
                    "codes": True,
                    "new_login": True,
                    "set_password_url": "https://example.com/accounts/password/reset/…/",
                    "account_url": "https://example.com/t/demo/account/",
                },
                private=("set_password_url",),
            )
        )
        registry.register(
            registry.EmailKind(
                key="regcodes.payment_received",
                label=gettext_lazy("Seat order payment received"),
                description=gettext_lazy("Sent when staff record the payment of a seat order."),
                sample_context={
                    "name": "Alex",
                    "order_number": "R-000042",
                    "course": "First aid at work",
                    "total": "1000.00 EUR",
                },
            )
        )
        registry.register(
            registry.EmailKind(
                key="regcodes.learner_login_details",
                label=gettext_lazy("Learner login details"),
                description=gettext_lazy("Sent when a customer gives someone a course seat directly."),
                sample_context={
                    "name": "Sam",
                    "course": "First aid at work",
                    "session": "Spring 2027",
                    "login": "sam@example.com",
                    "new_login": True,
                    "set_password_url": "https://example.com/accounts/password/reset/…/",
                    "account_url": "https://example.com/t/demo/account/",
                },
                private=("set_password_url",),
            )
        )
