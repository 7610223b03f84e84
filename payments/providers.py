"""Payment providers. ``PAYMENT_PROVIDER`` names the class; ``payment_provider()`` returns one.

A provider receives a ``PaymentRequest`` for a total above zero and answers with a ``PaymentStart``:
whether the order is paid already or awaits payment, and what to tell the buyer. A zero total never
reaches a provider: it is confirmed at once. ``start`` runs inside the checkout transaction, so it
must not take money: a gateway that captures payment belongs after the commit (a redirect to its
page, then a callback that marks the order paid), never inside ``start``.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.localization import money


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    amount: Decimal
    currency: str
    description: str
    payee: str


@dataclass(frozen=True)
class PaymentStart:
    paid: bool
    instructions: str


class PaymentProvider(Protocol):
    key: str
    label: str

    def start(self, request: PaymentRequest) -> PaymentStart: ...


class OfflineProvider:
    """Pay offline: bank transfer or at the desk, quoting the order number."""

    key = "offline"
    label = gettext_lazy("Pay offline")

    def start(self, request: PaymentRequest) -> PaymentStart:
        return PaymentStart(
            paid=False,
            # Written in the workspace's language (the checkout runs in it) and kept with the order.
            instructions=_(
                "Please pay {amount} to {payee} by bank transfer or at the desk, quoting {reference}. "
                "Your place is held while payment is on its way."
            ).format(amount=money(request.amount, request.currency), payee=request.payee, reference=request.reference),
        )


def payment_provider() -> PaymentProvider:
    return import_string(settings.PAYMENT_PROVIDER)()
