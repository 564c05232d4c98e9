"""What every provider has: the shared database and blob store, and the other providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overcast.aws.dispatch import Providers


class Provider:
    """One method per operation, named in snake_case (SendMessage -> send_message), taking
    (ctx, params) and returning the output dict; sync, or async when it must wait (long polls).
    Operations without a method answer AWS's NotImplemented error."""

    service: str = ""

    def __init__(self, providers: Providers):
        self.providers = providers
        self.db = providers.db
        self.blobs = providers.blobs
        self.config = providers.config

    async def start(self) -> None:
        """Called once, before the provider's first request: start background work here."""

    async def stop(self) -> None:
        """Called at shutdown: stop background work."""

    def reset(self) -> None:
        """Called after `overcast reset` deleted all rows: drop in-memory state derived from them."""
