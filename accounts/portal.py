"""The My Account portal: each app contributes tiles in ``AppConfig.ready()``.

A tile provider is a function ``(request, client) -> Tile | None``; ``client`` is the tenant's card
for the signed-in person, or ``None`` when the tenant has none for them.
"""

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Tile:
    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


TileProvider = Callable[..., Tile | None]
_providers: list[TileProvider] = []


def register(provider: TileProvider) -> TileProvider:
    _providers.append(provider)
    return provider


def tiles_for(request, client) -> list[Tile]:
    tiles = [tile for provider in _providers if (tile := provider(request, client)) is not None]
    return sorted(tiles, key=lambda tile: tile.order)


def details_tile(request, client):
    return Tile("Your details", "accounts/portal/tile_details.html", {"client": client}, order=0)
