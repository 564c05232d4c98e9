"""Tag keys that start with `aws:` belong to AWS: users cannot add, change or remove them through a
service's tag API (AWS's tagging documentation: "The aws: prefix is reserved for use by AWS; you
can't use it in any tag keys or values that you define. In addition, you can't edit or remove tag
keys or values that use this prefix."). The one writer overcast has of such tags is
CloudFormation's engine, which puts aws:cloudformation:stack-name, stack-id and logical-id on what
it creates (its calls carry ctx.caller == "cloudformation"). Each service answers a refused key
with its own documented error; which keys are refused is decided here, once."""

from __future__ import annotations

from collections.abc import Iterable

PREFIX = "aws:"


def is_reserved(key: str) -> bool:
    return key[:len(PREFIX)].lower() == PREFIX


def refused(ctx, keys: Iterable[str]) -> list[str]:
    """The keys among `keys` this caller may not add, change or remove."""
    stack_engine = getattr(ctx, "caller", "") == "cloudformation"
    return [k for k in keys if is_reserved(k) and not (stack_engine and k.startswith("aws:cloudformation:"))]
