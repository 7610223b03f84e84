"""Failed code attempts on the public booking page (and discount codes typed in the cart), counted
per client address and workspace in the shared cache by ``tenancy.ratelimit``: past the limit, no
more codes are looked up until the window ends. The limit and window are settings; the generate
form uses them to state how guessable codes are.
"""

import math

from django.conf import settings

from tenancy import ratelimit
from tenancy.ratelimit import client_address  # noqa: F401 (the booking and cart pages use it from here)


def _attempt(tenant, address: str):
    return ratelimit.tenant_attempt(
        tenant,
        address,
        kind="codes",
        limit=settings.CODE_ATTEMPT_LIMIT,
        tenant_limit=ratelimit.setting("CODE_TENANT_ATTEMPT_LIMIT"),
        window=settings.CODE_ATTEMPT_WINDOW_SECONDS,
    )


def attempt(tenant, address: str) -> int:
    """Count this attempt first, then decide: 0 if it may go ahead, else the minutes to wait.
    Counting before looking means requests sent at the same moment cannot slip past the limit.
    A limit crossed by this attempt is recorded in the audit trail (``rate_limit.hit``)."""
    outcome, _ = _attempt(tenant, address)
    ratelimit.report(outcome, tenant=tenant, page="codes")
    return math.ceil(outcome.wait / 60) if outcome.wait else 0


def forgive(tenant, address: str) -> None:
    """A code that worked does not count against the address or the workspace."""
    ratelimit.forgive(*ratelimit.tenant_counters(tenant, address, kind="codes"))
