"""Sending SMS: a backend chosen by ``settings.SMS_URL``, as Django chooses an email backend.

``console://`` prints each message (the development default), ``outbox://`` sends nothing (the
message is only kept on the workspace's Outbox page), and an ``http(s)://`` URL is a provider's
endpoint that takes JSON (``backends.HttpBackend``). SMS rows go through the same outbox as emails
(messaging/services.py): a backend says whether a message was accepted, is worth trying again
later (``SmsTemporaryError``) or was refused for good (``SmsRejected``).
"""

from .backends import SmsMessage, SmsRejected, SmsTemporaryError, get_backend
from .phone import PHONE_INVALID, phone_normalise

__all__ = [
    "PHONE_INVALID",
    "SmsMessage",
    "SmsRejected",
    "SmsTemporaryError",
    "get_backend",
    "phone_normalise",
]
