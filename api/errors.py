"""Errors as JSON: the services' own messages, with the status a program can act on.

``{"detail": "…"}`` for a refusal, ``{"<field>": ["…"]}`` for bad input (as DRF's serializers
answer), never a server error for anything a client sends.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from bookings.services import BookingError
from invitations import services as code_services


class Conflict(exceptions.APIException):
    """The request is well formed but the state of things refuses it (a used-up code, a full slot)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cannot be done now."
    default_code = "conflict"


def code_refusal(exc: code_services.CodeRefused) -> exceptions.APIException:
    """A refused code as an API error: a mistyped code is bad input (400), an unknown one is not
    found (404), a code for another email domain is a problem of the email field (400); a code that
    exists but cannot be used now (used up, expired, void, contract ended…) is a conflict (409)."""
    message = str(exc)
    if message == _(code_services.CODE_MISTYPED):
        return exceptions.ValidationError({"code": [message]})
    if message == _(code_services.CODE_UNKNOWN):
        return exceptions.NotFound(message)
    if message.startswith(_(code_services.CODE_WRONG_DOMAIN).split("{")[0]):
        return exceptions.ValidationError({"email": [message]})
    return Conflict(message)


def as_api_error(exc: ValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {("detail" if field == "__all__" else field): messages for field, messages in exc.message_dict.items()}
        )
    return exceptions.ValidationError({"detail": exc.messages[0] if exc.messages else _("Invalid input.")})


def exception_handler(exc, context):
    if isinstance(exc, code_services.CodeRefused):
        exc = code_refusal(exc)
    elif isinstance(exc, BookingError):
        exc = Conflict(str(exc))
    elif isinstance(exc, ValidationError):
        exc = as_api_error(exc)
    return drf_exception_handler(exc, context)
