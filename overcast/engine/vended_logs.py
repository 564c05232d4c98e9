"""Logs a service delivers into a customer's CloudWatch Logs group (AWS's "vended logs": Step
Functions' execution logs, API Gateway's access logs): written right after the answer by the logs
provider's append_soon, into a group that must exist already; a group that is gone drops the
lines, as AWS's delivery does."""

from __future__ import annotations

import asyncio


def write_to_existing_group(providers, account: str, region: str, group: str, stream: str,
                            lines: list[tuple[int, str]]) -> None:
    """Write (ms, text) lines to `group` (its `stream` made if missing) when the group exists."""
    logs = providers.loaded().get("logs")
    if logs is not None:
        if logs.group_exists(account, region, group):
            logs.append_soon(account, region, group, stream, lines)
        return

    async def load_then_write() -> None:  # (after a restart, before anything loaded the logs provider)
        logs = await providers.get("logs")
        if logs.group_exists(account, region, group):
            logs.append_soon(account, region, group, stream, lines)

    asyncio.get_running_loop().create_task(load_then_write())
