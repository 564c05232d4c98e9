"""What `overcast install-python-runtimes` and `install-node-runtimes` share: a runtime's directory
under the install root, published whole (built beside it, then renamed into place), and the note
in it that says what was installed."""

from __future__ import annotations

import json
import os
import shutil
import uuid

NOTE = "interpreter.json"


def read_note(directory: str) -> dict:
    """The directory's note ({} when there is none, or it cannot be read)."""
    try:
        with open(os.path.join(directory, NOTE), "rb") as f:
            note = json.load(f)
    except (OSError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def write_note(directory: str, note: dict) -> None:
    with open(os.path.join(directory, NOTE), "w") as f:
        json.dump(note, f)


def publish(temporary: str, target: str) -> None:
    """Put the new installation in the old one's place (a running server reads it at its start)."""
    old = None
    if os.path.exists(target):
        old = f"{target}.old-{uuid.uuid4().hex}"
        os.rename(target, old)
    os.rename(temporary, target)
    if old:
        shutil.rmtree(old, ignore_errors=True)
