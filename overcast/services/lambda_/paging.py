"""Lambda's list paging: MaxItems from the position a Marker (an earlier NextMarker) names.
Shared by the provider, code signing configurations and event source mappings."""

from __future__ import annotations

from collections.abc import Callable


def page(items: list, params: dict, key: str, default_limit: int = 50, render: Callable | None = None) -> dict:
    """One page of a list answer; `render` turns each item of the page (only) into its answer."""
    marker = params.get("Marker") or ""
    start = int(marker) if marker.isdigit() else 0
    limit = params.get("MaxItems") or default_limit
    chosen = items[start:start + limit]
    out = {key: [render(item) for item in chosen] if render else chosen}
    if start + limit < len(items):
        out["NextMarker"] = str(start + limit)
    return out
