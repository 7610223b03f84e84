"""The SMS backends. Each has ``send(message) -> str``: the provider's id of the accepted message
(or a word saying where it went), ``SmsTemporaryError`` for a failure worth retrying with backoff,
``SmsRejected`` for a message the provider refused for good."""

import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ANSWER_LIMIT = 64 * 1024  # bytes of a provider's answer read at most
DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    text: str
    sender: str = ""
    # The same for every attempt at one message, new for a resend: a provider that de-duplicates by
    # it sends a message once even when its answer was lost and the outbox tries again.
    reference: str = ""


class SmsTemporaryError(Exception):
    """Not delivered this time (429, 5xx, timeout, no connection): the outbox tries again later."""


class SmsRejected(Exception):
    """The provider refused the message (4xx other than 429): trying again would not help."""


class ConsoleBackend:
    """Prints each message, like Django's console email backend."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        with self._lock:
            self.stream.write(f"SMS from {message.sender} to {message.to}:\n{message.text}\n{'-' * 40}\n")
            self.stream.flush()
        return "console"


class OutboxBackend:
    """Delivers nowhere: the message is only kept, and read, on the Outbox page."""

    def send(self, message: SmsMessage) -> str:
        return "outbox"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A provider that answers a POST with a redirect is misconfigured; following it would turn the
    POST into a GET without the message. The 3xx is reported as the provider's answer instead."""

    def redirect_request(self, *args, **kwargs):
        return None


class HttpBackend:
    """POSTs ``{"to", "from", "text"}`` as JSON with ``Authorization: Bearer <SMS_API_KEY>``.

    2xx: accepted (the answer's ``id``, if it is JSON with one, is kept); 429, 5xx, timeouts and
    connection errors: try again later; any other answer: refused, with the provider's message.
    The message's ``reference`` goes in an ``Idempotency-Key`` header, the same on every retry.
    """

    def __init__(self, url: str, *, api_key: str, timeout: float):
        self.url = url
        self.api_key = api_key
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, message: SmsMessage) -> str:
        body = json.dumps({"to": message.to, "from": message.sender, "text": message.text}).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {self.api_key}",
            "User-Agent": "Tessera-SMS/1",
        }
        if message.reference:
            headers["Idempotency-Key"] = message.reference
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                answer = response.read(ANSWER_LIMIT)
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, _read(exc)
            said = provider_message(answer) or exc.reason or "no reason given"
            if status == 429 or status >= 500:
                raise SmsTemporaryError(f"The SMS provider answered {status}: {said}") from None
            raise SmsRejected(f"The SMS provider refused the message ({status}): {said}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsTemporaryError(f"The SMS provider could not be reached: {reason}") from None
        return message_id(answer)


def _read(response) -> bytes:
    try:
        return response.read(ANSWER_LIMIT) or b""
    except Exception:  # an answer cut off mid-body: its status says enough
        return b""


def _json(answer: bytes):
    try:
        return json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def message_id(answer: bytes) -> str:
    data = _json(answer)
    if isinstance(data, dict) and data.get("id") not in (None, ""):
        return str(data["id"])[:100]
    return ""


def provider_message(answer: bytes) -> str:
    """What the provider said: the JSON answer's error/message/detail, else its text, shortened."""
    data = _json(answer)
    if isinstance(data, dict):
        for name in ("error", "message", "detail", "description"):
            value = data.get(name)
            if isinstance(value, dict):
                value = value.get("message") or json.dumps(value)
            if value:
                return " ".join(str(value).split())[:500]
    return " ".join(answer.decode("utf-8", "replace").split())[:500]


def get_backend(url: str | None = None):
    """The backend ``SMS_URL`` names (or ``url``)."""
    url = settings.SMS_URL if url is None else url
    scheme = urlsplit(url).scheme.lower()
    if scheme == "console":
        return ConsoleBackend()
    if scheme == "outbox":
        return OutboxBackend()
    if scheme in ("http", "https"):
        timeout = float(getattr(settings, "SMS_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        return HttpBackend(url, api_key=settings.SMS_API_KEY, timeout=timeout)
    raise ImproperlyConfigured(f"SMS_URL must start with console://, outbox://, http:// or https:// (got {url!r}).")
