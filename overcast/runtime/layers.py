"""A function's layers, as Lambda gives them at /opt.

AWS extracts a function's layers into /opt in the order of its `Layers` (a later layer's file
replaces an earlier one's at the same path), and its runtimes look there: `/opt/python` and
`/opt/python/lib/python3.x/site-packages`, `/opt/nodejs/node_modules`, `/opt/bin`, `/opt/lib`.
Code also names /opt outright (CDK's BucketDeployment runs `/opt/awscli/aws`).

Each layer version is unpacked once (overcast.services.lambda_.code.unpack). A function with
several layers gets their merge, built once per ordered list of layer versions (`merge`: hard
links to the unpacked files, so nothing is extracted again) and reused by every later cold start.
That directory is the sandbox's /opt where it can have a mount namespace of its own
(overcast.runtime.mounts); elsewhere its own path stands for /opt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid


def merged_name(shas: list[str]) -> str:
    """The merge's directory name for this ordered list of layer versions (their zips' SHA-256)."""
    return hashlib.sha256("|".join(shas).encode()).hexdigest()


def merge(layer_dirs: list[str], target: str, uid: int | None = None) -> str:
    """`layer_dirs` merged into `target`, in order (later layers win), once: hard links to the
    layers' files (copies across file systems), symbolic links kept as links; owned by `uid` when
    given (the function's own user). Atomic: built under a temporary name, then renamed."""
    if os.path.isdir(target):
        return target
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700, exist_ok=True)
        if uid is not None:
            os.chown(parent, uid, uid)
    temporary = f"{target}.tmp-{uuid.uuid4().hex}"
    os.makedirs(temporary)
    try:
        for layer in layer_dirs:
            _merge_one(layer, temporary)
        if uid is not None:
            for directory, dirs, files in os.walk(temporary):
                os.chown(directory, uid, uid)
                for name in dirs + files:
                    os.lchown(os.path.join(directory, name), uid, uid)
        try:
            os.rename(temporary, target)
        except OSError:  # another cold start won the race
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target


def _merge_one(source: str, target: str) -> None:
    for directory, dirs, files in os.walk(source):
        relative = os.path.relpath(directory, source)
        into = target if relative == "." else os.path.join(target, relative)
        for name in list(dirs):
            path, destination = os.path.join(directory, name), os.path.join(into, name)
            if os.path.islink(path):  # os.walk does not descend into it: a link like a file
                files.append(name)
                dirs.remove(name)
            elif os.path.lexists(destination) and not (os.path.isdir(destination) and not os.path.islink(destination)):
                os.unlink(destination)  # an earlier layer's file where this layer has a directory
        for name in files:
            path, destination = os.path.join(directory, name), os.path.join(into, name)
            if os.path.isdir(destination) and not os.path.islink(destination):
                shutil.rmtree(destination)  # an earlier layer's directory where this layer has a file
            elif os.path.lexists(destination):
                os.unlink(destination)
            if os.path.islink(path):
                os.symlink(os.readlink(path), destination)
                continue
            try:
                os.link(path, destination)
            except OSError:
                shutil.copy2(path, destination)
        for name in dirs:
            os.makedirs(os.path.join(into, name), exist_ok=True)
