"""The kinds of email session rosters send (default texts in templates/emails/sessions_roster/)."""

from django.utils.translation import gettext_lazy

from messaging.registry import EmailKind

_SESSION = {
    "session": "Pottery for beginners",
    "when": "Saturday 5 December 2026, 10:00–12:00 (Europe/Amsterdam)",
    "location": "Studio 2, Keizersgracht 12",
    "price": "40.00 EUR",
}
_LINES = [
    {
        "session": "Pottery for beginners",
        "when": "Saturday 5 December 2026, 10:00–12:00 (Europe/Amsterdam)",
        "location": "Studio 2",
        "price": "40.00 EUR",
        "discount": "10.00 EUR",
        "amount": "30.00 EUR",
    }
]

EMAIL_KINDS = [
    EmailKind(
        key="sessions_roster.invitation",
        label=gettext_lazy("Session invitation"),
        description=gettext_lazy(
            "Sent when staff invite someone to a session; the link opens the cart with the spot held."
        ),
        sample_context={
            **_SESSION,
            "discount": "25% off",
            "discount_code": "FRIENDS25",
            "expires": "Friday 4 December 2026, 18:00 (Europe/Amsterdam)",
            "locked": True,
            "link": "https://example.com/t/demo/register/invitation/…/",
        },
        private=("link",),
        sms=True,
    ),
    EmailKind(
        key="sessions_roster.email_proof",
        label=gettext_lazy("Invitation address code"),
        description=gettext_lazy("The one-time code that proves the invited address for an invitation locked to it."),
        sample_context={"session": "Pottery for beginners", "code": "123456", "minutes": 15},
        private=("code",),
    ),
    EmailKind(
        key="sessions_roster.order_confirmation",
        label=gettext_lazy("Session registration confirmation"),
        description=gettext_lazy("Sent at checkout: what was registered, the discount, the total and how to pay."),
        sample_context={
            "name": "Sam",
            "order_number": "S-000042",
            "lines": _LINES,
            "subtotal": "40.00 EUR",
            "discount": "10.00 EUR",
            "discount_code": "FRIENDS25",
            "total": "30.00 EUR",
            "paid": False,
            "payment_instructions": "Please pay 30.00 EUR to Demo Studio by bank transfer, quoting S-000042.",
            "order_link": "https://example.com/t/demo/register/orders/…/",
        },
        private=("order_link",),
    ),
    EmailKind(
        key="sessions_roster.payment_received",
        label=gettext_lazy("Session payment received"),
        description=gettext_lazy("Sent when staff record the payment of an order; its registrations are confirmed."),
        sample_context={"name": "Sam", "order_number": "S-000042", "total": "30.00 EUR", "lines": _LINES},
    ),
    EmailKind(
        key="sessions_roster.registration_cancelled",
        label=gettext_lazy("Session registration cancelled"),
        description=gettext_lazy("Sent when staff cancel someone's registration."),
        sample_context={"name": "Sam", **_SESSION},
    ),
    EmailKind(
        key="sessions_roster.waitlist_joined",
        label=gettext_lazy("Waitlist joined"),
        description=gettext_lazy("Sent when someone joins the waitlist of a full session."),
        sample_context={"name": "Sam", **_SESSION, "position": 3, "hold_hours": 24},
    ),
    EmailKind(
        key="sessions_roster.waitlist_offer",
        label=gettext_lazy("Waitlist offer"),
        description=gettext_lazy(
            "Sent to the next person waiting when a spot frees; the link holds the spot for a set time."
        ),
        sample_context={
            "name": "Sam",
            **_SESSION,
            "held_until": "Thursday 3 December 2026, 10:00 (Europe/Amsterdam)",
            "link": "https://example.com/t/demo/register/offer/…/",
        },
        private=("link",),
    ),
]
