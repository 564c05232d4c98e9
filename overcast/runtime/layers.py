"""A function's layers at /opt, as Lambda gives them.

AWS extracts a function's layers into /opt in the order of its `Layers` (a later layer's file
replaces an earlier one's at the same path), and its runtimes look there: `/opt/python` and
`/opt/python/lib/python3.x/site-packages`, `/opt/nodejs/node_modules`, `/opt/bin`, `/opt/lib`.
Code also names /opt outright (CDK's BucketDeployment runs `/opt/awscli/aws`).

Each layer version is unpacked once (overcast.services.lambda_.code.unpack). A function with
several layers gets their merge, built once per ordered list of layer versions (`merge`: hard
links to the unpacked files, so nothing is extracted again) and reused by every later cold start.

Sandboxes are processes, not containers: the host's /opt is not the function's. Where Linux
lets overcast give a process a mount namespace of its own, the sandbox's /opt is that directory,
bind-mounted read-only (`mount_prefix`): as root, `unshare --mount`, then setpriv drops to the
function's user; not root, a user namespace first (`unshare --user --map-root-user`), then a
nested one that maps the server's own uid back, so the function does not run as (namespace) root.
The sandbox's /var/lang, where AWS's runtimes keep their interpreter, is a directory of wrappers
that run the runtime's (`lang_dir`): scripts in layers name `#!/var/lang/bin/python`. As root,
overcast makes the empty directory /var/lang on the host to mount it on; not root, only where it
exists.
Where neither works (no util-linux, user namespaces disabled), the merged directory's own path
takes /opt's place on PYTHONPATH, NODE_PATH, PATH and LD_LIBRARY_PATH, and only code that spells
out `/opt/...` differs; overcast's log says so once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shlex
import shutil
import sys
import uuid

from overcast.runtime.isolation import probe_succeeds

log = logging.getLogger("overcast.lambda")

OPT = "/opt"
_UNSHARE = shutil.which("unshare") if sys.platform.startswith("linux") else None
_MOUNT = shutil.which("mount") if sys.platform.startswith("linux") else None
LANG = "/var/lang"  # AWS's runtimes' own directory: /var/lang/bin/python (the shebang of CLI scripts in layers)
# sh runs `mount` (children) and then execs the rest of the command line ("$@") in the same process
_MOUNT_OPT = 'mount --bind -o ro "$0" /opt'
_MOUNT_LANG = 'mount --bind -o ro "$0" /opt && mount --bind -o ro "$1" /var/lang && shift'
_mountable: dict[bool, asyncio.Future] = {}  # as root? -> whether the prefix works here (probed once)


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


def lang_dir(root: str, python: str | None, node: str | None) -> str:
    """What the sandbox sees at /var/lang: bin/python, python3 and python3.X run `python` (the
    runtime's interpreter, overcast.runtime.pool.Interpreters), bin/node runs Node.js, as in AWS's
    runtimes, where scripts in layers name them in their `#!` line (the AWS CLI in CDK's AwsCliLayer:
    `#!/var/lang/bin/python`). Built once per interpreter."""
    target = os.path.join(root, "lang-" + hashlib.sha256(f"{python}|{node}".encode()).hexdigest()[:16])
    if os.path.isdir(target):
        return target
    temporary = f"{target}.tmp-{uuid.uuid4().hex}"
    os.makedirs(os.path.join(temporary, "bin"))
    version = ""
    if python:  # python3.X, the interpreter's own version
        version = os.path.basename(os.path.realpath(python))
        version = version if version.startswith("python3.") else ""
    # the first of these the sandbox's user can run: an interpreter under /root (pyenv) may not be
    # runnable by it, the system's of the same version then is
    pythons = [python, f"/usr/bin/{version}" if version else None, "/usr/bin/python3"]
    candidates = {"python": pythons, "python3": pythons, "node": [node]}
    if version:
        candidates[version] = pythons
    for name, programs in candidates.items():
        programs = [p for p in programs if p]
        if not programs:
            continue
        tries = "".join(f'[ -x {shlex.quote(p)} ] && exec {shlex.quote(p)} "$@"\n' for p in programs)
        with open(os.path.join(temporary, "bin", name), "w") as f:  # a wrapper: a venv's python still finds its venv
            f.write(f"#!/bin/sh\n{tries}echo \"{name}: no interpreter this user can run\" >&2\nexit 126\n")
        os.chmod(os.path.join(temporary, "bin", name), 0o755)
    for directory in (temporary, os.path.join(temporary, "bin")):
        os.chmod(directory, 0o755)
    try:
        os.rename(temporary, target)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def mount_prefix(opt_dir: str, lang: str | None, as_root: bool) -> list[str]:
    """The argv prefix that runs the rest of the command with `opt_dir` at /opt and `lang` (when
    given: /var/lang exists to mount it on) at /var/lang, read-only, in a mount namespace of its
    own (see the module's docstring)."""
    mounts, args = (_MOUNT_LANG, [opt_dir, lang]) if lang else (_MOUNT_OPT, [opt_dir])
    if as_root:
        return [_UNSHARE, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", f'{mounts} && exec "$@"', *args]
    uid, gid = os.geteuid(), os.getegid()
    script = f'{mounts} && exec {_UNSHARE} --user --map-user={uid} --map-group={gid} -- "$@"'
    return [_UNSHARE, "--user", "--map-root-user", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", script, *args]


def lang_mountable() -> bool:
    """Whether /var/lang exists to mount the runtime's directory on (as root, `mountable` makes it)."""
    return os.path.isdir(LANG)


async def mountable(as_root: bool) -> bool:
    """Whether sandboxes can have their own /opt here: probed once per process (a few ms)."""
    known = _mountable.get(as_root)
    if known is None or known.get_loop() is not asyncio.get_running_loop():
        known = _mountable[as_root] = asyncio.ensure_future(_probe(as_root))
    return await asyncio.shield(known)


async def _probe(as_root: bool) -> bool:
    if as_root and not os.path.isdir(LANG) and os.path.isdir(os.path.dirname(LANG)):
        try:  # an empty directory, the mount point (what is mounted there is the sandbox's alone)
            os.mkdir(LANG)
            os.chmod(LANG, 0o755)  # the server's umask (077) would leave it closed
        except OSError:
            pass
    if _UNSHARE is None or _MOUNT is None or not os.path.isdir(OPT) or not os.path.exists("/bin/sh"):
        usable = False
    else:
        usable = await probe_succeeds([*mount_prefix("/", None, as_root), "/bin/sh", "-c", "test -d /opt/proc"], 10)
    if not usable:
        log.warning("Lambda layers are not mounted at /opt: this host does not let overcast give a sandbox a mount "
                    "namespace of its own (util-linux's unshare and mount%s); layers are on PYTHONPATH, NODE_PATH, PATH "
                    "and LD_LIBRARY_PATH from their own directory, and code that names /opt/... does not find them "
                    "(docs/lambda.md)", "" if as_root else ", and unprivileged user namespaces")
    return usable
