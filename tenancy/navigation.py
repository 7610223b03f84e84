"""The dashboard's navigation. Each app adds its entries in ``AppConfig.ready()``."""

from dataclasses import dataclass

from .models import Role, role_at_least


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    min_role: str = Role.STAFF
    order: int = 100
    # URL names (namespace:prefix) that keep this entry highlighted, e.g. "clients:".
    active_prefix: str | tuple[str, ...] = ""  # view names starting so highlight the item


_items: list[NavItem] = []


def register(*items: NavItem) -> None:
    _items.extend(items)
    _items.sort(key=lambda item: item.order)


def items_for(role: str) -> list[NavItem]:
    return [item for item in _items if role_at_least(role, item.min_role)]
