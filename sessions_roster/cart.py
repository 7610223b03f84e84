"""The visitor's cart, kept in their (server-side) session per tenant: lines, the discount code they
entered, and the locked invitations whose address they proved. Only ids live here; every page and
the checkout check them again against the database."""

from .services.checkout import CartLine


def _key(tenant) -> str:
    return f"cart:{tenant.pk}"


def _state(request) -> dict:
    state = request.session.get(_key(request.tenant))
    return state if isinstance(state, dict) else {}


def _save(request, **changes) -> None:
    request.session[_key(request.tenant)] = {**_state(request), **changes}


def lines(request) -> list[CartLine]:
    found = []
    for raw in _state(request).get("lines", []):
        try:
            session_id, invitation_id, entry_id = (int(v) if v is not None else None for v in raw)
        except (TypeError, ValueError):
            continue
        if session_id is not None:
            found.append(CartLine(session_id, invitation_id, entry_id))
    return found


def _store(request, cart_lines: list[CartLine]) -> None:
    _save(request, lines=[[line.session_id, line.invitation_id, line.entry_id] for line in cart_lines])


def add(request, line: CartLine) -> None:
    """One line per session: a line that holds a spot replaces a plain one, never the other way."""
    current = lines(request)
    same = next((c for c in current if c.session_id == line.session_id), None)
    if same and (same.invitation_id or same.entry_id) and not (line.invitation_id or line.entry_id):
        return
    _store(request, [c for c in current if c.session_id != line.session_id] + [line])


def remove(request, session_id: int) -> None:
    _store(request, [line for line in lines(request) if line.session_id != session_id])


def discount(request) -> str:
    value = _state(request).get("discount", "")
    return value if isinstance(value, str) else ""


def set_discount(request, text: str) -> None:
    _save(request, discount=text.strip()[:40])


def proven(request) -> frozenset[int]:
    return frozenset(i for i in _state(request).get("proven", []) if isinstance(i, int))


def prove(request, invitation_id: int) -> None:
    _save(request, proven=sorted(proven(request) | {invitation_id}))


def clear(request, *, last_order: str = "") -> None:
    """Empty the cart after a checkout; the proofs and the order just placed are kept."""
    state = _state(request)
    request.session[_key(request.tenant)] = {"proven": state.get("proven", []), "last_order": last_order}


def last_order(request) -> str:
    value = _state(request).get("last_order", "")
    return value if isinstance(value, str) else ""
