"""Failed code attempts on the public booking page, counted per client address and tenant in the
shared cache (Redis in a deployment): past the limit, no more codes are looked up until the window
ends. The limit and window are settings; the generate form uses them to state how guessable codes are.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache


def client_address(request) -> str:
    header = settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[-1].strip()[:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def _keys(tenant, address: str) -> tuple[str, str]:
    base = f"code-attempts:{tenant.pk}:{address}"
    return f"{base}:count", f"{base}:since"


def minutes_blocked(tenant, address: str) -> int:
    """0 when the address may try a code; otherwise how many minutes until it may again."""
    count_key, since_key = _keys(tenant, address)
    if (cache.get(count_key) or 0) < settings.CODE_ATTEMPT_LIMIT:
        return 0
    since = cache.get(since_key) or time.time()
    return max(1, math.ceil((since + settings.CODE_ATTEMPT_WINDOW_SECONDS - time.time()) / 60))


def record_failure(tenant, address: str) -> None:
    count_key, since_key = _keys(tenant, address)
    window = settings.CODE_ATTEMPT_WINDOW_SECONDS
    cache.add(since_key, time.time(), timeout=window)
    if cache.add(count_key, 1, timeout=window):
        return
    try:
        cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.add(count_key, 1, timeout=window)
