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


def attempt(tenant, address: str) -> int:
    """Count this attempt first, then decide: 0 if it may go ahead, else the minutes to wait.
    Counting before looking means requests sent at the same moment cannot slip past the limit."""
    count_key, since_key = _keys(tenant, address)
    window = settings.CODE_ATTEMPT_WINDOW_SECONDS
    cache.add(since_key, time.time(), timeout=window)
    if not cache.add(count_key, 1, timeout=window):
        try:
            count = cache.incr(count_key)
        except ValueError:  # expired between add and incr
            cache.add(count_key, 1, timeout=window)
            count = 1
    else:
        count = 1
    if count <= settings.CODE_ATTEMPT_LIMIT:
        return 0
    since = cache.get(since_key) or time.time()
    return max(1, math.ceil((since + window - time.time()) / 60))


def forgive(tenant, address: str) -> None:
    """A code that worked does not count against the address."""
    count_key, _ = _keys(tenant, address)
    try:
        cache.decr(count_key)
    except ValueError:
        pass
