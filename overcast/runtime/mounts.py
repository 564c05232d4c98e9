"""A sandbox's own view of the file system: its code at /var/task, its layers at /opt and its
runtime's interpreters at /var/lang, as on AWS; as root also AWS's /var/runtime (LAMBDA_RUNTIME_DIR),
an empty /opt without layers, a /tmp of its own (`private_tmp`) and its user in /etc/passwd.

Sandboxes are processes, not containers: the host's /var/task and /opt are not the function's.
Where Linux lets overcast give a process a mount namespace of its own, each of those paths is a
directory of the function's, bind-mounted read-only (AWS's /var/task and /opt are read-only too):

- a runtime overcast starts gets them from an argv prefix (`mount_prefix`): as root, `unshare
  --mount`, `mount` for each, then setpriv drops to the function's user; not root, a user
  namespace first (`unshare --user --map-root-user`), then a nested one that maps the server's own
  uid back, so the function does not run as (namespace) root;
- a Python spare (overcast/runtime/spare_runtime.py), already running when it is handed the
  function, makes the same mounts itself with the system calls, before it becomes the function's
  user; it can only as root (`Spares.fits`).

The code is at /var/task only when overcast runs as root (it makes the empty directory /var/task on
the host to mount on, as for /var/lang): a spare running as a user cannot make a mount namespace
without a user namespace of its own, and a function's runtime must see the same paths whichever way
it started. Elsewhere the code runs from its own directory, which is then LAMBDA_TASK_ROOT.
/opt exists on every Linux host, so layers get it as root and not; /var/lang is mounted where it
exists. Where none of this works (no util-linux, user namespaces disabled), the directories' own
paths stand for /opt on PYTHONPATH, NODE_PATH, PATH and LD_LIBRARY_PATH, and only code that spells
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
import threading
import uuid

from overcast.runtime.isolation import probe_succeeds
from overcast.runtime.spare_runtime import private_mounts

log = logging.getLogger("overcast.lambda")

TASK = "/var/task"  # where AWS puts a function's code (LAMBDA_TASK_ROOT)
OPT = "/opt"
LANG = "/var/lang"  # AWS's runtimes' own directory: /var/lang/bin/python (the shebang of CLI scripts in layers)
RUNTIME = "/var/runtime"  # AWS's LAMBDA_RUNTIME_DIR: its runtime's own modules (here overcast's sitecustomize, the SDK for JavaScript)
RUNTIME_MODULES = "/var/runtime/node_modules"  # the AWS SDK for JavaScript, for Node.js functions
PASSWD = "/etc/passwd"  # with the sandbox's own user in it, as AWS's sbx_user1051
SANDBOX_USER = "sbx_user1051"  # the name every function runs as on AWS (getpass.getuser(), whoami)
_SITECUSTOMIZE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site", "sitecustomize.py")
_UNSHARE = shutil.which("unshare") if sys.platform.startswith("linux") else None
_MOUNT = shutil.which("mount") if sys.platform.startswith("linux") else None
_unprivileged: asyncio.Future | None = None  # not root: whether the prefix works here (probed once per loop)
_as_root: bool | None = None  # as root: whether mount namespaces work here (found out once)

TMP = "/tmp"  # as root, a tmpfs of the sandbox's own (private_tmp)
Mounts = tuple[tuple[str, str], ...]  # (the host's directory, where the sandbox sees it), in order
PrivateTmp = tuple[int, tuple[str, ...]]  # a private /tmp: its size in MiB, the host's /tmp directories it keeps


def mount_prefix(mounts: Mounts, as_root: bool, tmp: PrivateTmp | None = None, pwd: bool = True) -> list[str]:
    """The argv prefix that runs the rest of the command in a mount namespace of its own with
    each of `mounts` bind-mounted read-only, and `tmp` a /tmp of its own (`private_tmp`), from
    /var/task as its working directory when the code is mounted there (see the module's docstring);
    `pwd`: whether PWD stays set there (AWS's custom runtimes start without it)."""
    # sh runs `mount` (children), then execs the rest of the command line ("$@") in the same process
    steps = []
    if tmp:  # as spare_runtime.private_mounts does it: built at /var/task, moved to /tmp
        size, kept = tmp
        steps.append(f"mount -t tmpfs -o size={int(size)}m,mode=1777 tmpfs {TASK}")
        for path in kept:
            staged = shlex.quote(TASK + path[len(TMP):])
            steps.append(f"mkdir {staged} && mount --rbind {shlex.quote(path)} {staged}")
        steps.append(f"mount --move {TASK} {TMP}")
    steps += [f'mount --bind -o ro "${{{index}}}" {shlex.quote(target)}' for index, (_, target) in enumerate(mounts, 1)]
    steps.append(f"shift {len(mounts)}")
    if any(target == TASK for _, target in mounts):
        steps.append(f"cd {TASK} && unset OLDPWD" + ("" if pwd else " PWD"))  # (which cd sets: not the function's)
    sources = [source for source, _ in mounts]
    if as_root:
        script = " && ".join([*steps, 'exec "$@"'])
        return [_UNSHARE, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", *sources]
    uid, gid = os.geteuid(), os.getegid()
    script = " && ".join([*steps, f'exec {_UNSHARE} --user --map-user={uid} --map-group={gid} -- "$@"'])
    return [_UNSHARE, "--user", "--map-root-user", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", script, "sh", *sources]


def private_tmp(size_mb: int, needed: list[str | None]) -> PrivateTmp:
    """A sandbox's own /tmp, as each AWS execution environment has: a tmpfs of the function's
    EphemeralStorage size (memory is used only as files are written, and it is gone with the
    sandbox), holding the host's /tmp directories that hold what the sandbox runs from (`needed`:
    its interpreter, overcast's runtime files, the AWS SDK for JavaScript, its compiled-code
    directory; each kept whole, at its own path, as the host has it), and nothing else of the host's
    /tmp. As root only, with the code at /var/task (where it is built)."""
    kept = set()
    for path in needed:
        if not path:
            continue
        real = os.path.realpath(path)
        if real.startswith(TMP + "/"):
            top = os.path.join(TMP, real[len(TMP) + 1:].split("/")[0])
            if os.path.isdir(top):
                kept.add(top)
    return int(size_mb), tuple(sorted(kept))


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
    _publish(temporary, target)
    return target


def runtime_dir(root: str) -> str:
    """What the sandbox sees at /var/runtime: overcast's sitecustomize (PYTHONPATH is
    /var/runtime, as on AWS) and, for Node.js, an empty node_modules, where the AWS SDK for
    JavaScript is mounted (`RUNTIME_MODULES`), as AWS's Node.js runtimes have it there. Built once."""
    target = os.path.join(root, "runtime")
    if os.path.isdir(target):
        return target
    temporary = f"{target}.tmp-{uuid.uuid4().hex}"
    os.makedirs(os.path.join(temporary, "node_modules"))
    os.symlink(_SITECUSTOMIZE, os.path.join(temporary, "sitecustomize.py"))
    for directory in (temporary, os.path.join(temporary, "node_modules")):
        os.chmod(directory, 0o755)
    _publish(temporary, target)
    return target


def empty_dir(root: str) -> str:
    """An empty directory, root's, mode 755: /opt for a function without layers (AWS's is empty;
    the host's /opt is not the function's)."""
    target = os.path.join(root, "empty")
    if not os.path.isdir(target):
        os.makedirs(target, exist_ok=True)
        os.chmod(target, 0o755)
    return target


def passwd_file(root: str, uid: int) -> str:
    """What the sandbox of the user `uid` sees at /etc/passwd: the host's, and that user as AWS's
    sbx_user1051 (so getpass.getuser(), whoami and Node.js's os.homedir() answer as on AWS, with no
    HOME set). Built once per user."""
    target = os.path.join(root, "passwd", str(uid))
    if os.path.exists(target):
        return target
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    try:
        with open(PASSWD) as f:
            host = f.read()
    except OSError:
        host = ""
    own = f"{SANDBOX_USER}:x:{uid}:{uid}::/home/{SANDBOX_USER}:/sbin/nologin\n"
    temporary = f"{target}.tmp-{uuid.uuid4().hex}"
    with open(temporary, "w") as f:
        f.write(host if host.endswith("\n") or not host else host + "\n")
        f.write(own)
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
    return target


def _publish(temporary: str, target: str) -> None:
    """Move a directory built under a temporary name to its own (another may have won the race)."""
    try:
        os.rename(temporary, target)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)


def exists(point: str) -> bool:
    """Whether this mount point exists (as root, `mountable` makes /var/task, /var/lang and
    /var/runtime)."""
    return os.path.isdir(point)


def probe_at_start() -> None:
    """At server start-up, as root (every sandbox's code is mounted at /var/task then): find out
    now rather than on the first invocation's path (2 ms: a thread started and joined)."""
    if os.geteuid() == 0 and _as_root is None:
        _probe_as_root()


async def mountable(as_root: bool) -> bool:
    """Whether sandboxes can have their own mounts here: found out once per process (as root in a
    thread, at start-up: probe_at_start; not root by a probe command, a few ms)."""
    if as_root:
        if _as_root is None:
            _probe_as_root()
        return bool(_as_root)
    global _unprivileged
    if _unprivileged is None or _unprivileged.get_loop() is not asyncio.get_running_loop():
        _unprivileged = asyncio.ensure_future(_probe_unprivileged())
    return await asyncio.shield(_unprivileged)


def _probe_as_root() -> None:
    """As root: whether this host lets a process have a mount namespace of its own (a container
    without CAP_SYS_ADMIN does not). Tried as the spares do it (spare_runtime.private_mounts), in
    a thread of its own that takes a namespace of its own and ends: the server's stays as it was."""
    global _as_root
    for point in (TASK, LANG, RUNTIME):
        if not os.path.isdir(point) and os.path.isdir(os.path.dirname(point)):
            try:  # an empty directory, the mount point (what is mounted there is the sandbox's alone)
                os.mkdir(point)
                os.chmod(point, 0o755)  # the server's umask (077) would leave it closed
            except OSError:
                pass
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            private_mounts([("/", OPT)])
            outcome.append(None if os.path.isdir(os.path.join(OPT, "proc")) else OSError("the bind mount is not seen"))
        except OSError as e:
            outcome.append(e)

    usable = _tools_present()
    if usable:
        thread = threading.Thread(target=attempt, name="overcast-mount-probe")
        thread.start()
        thread.join()
        usable = outcome == [None]
    _as_root = usable
    if not usable:
        _warn(True, outcome[0] if outcome else None)


async def _probe_unprivileged() -> bool:
    usable = False
    if _tools_present():
        usable = await probe_succeeds([*mount_prefix((("/", OPT),), False), "/bin/sh", "-c", "test -d /opt/proc"], 10)
    if not usable:
        _warn(False, None)
    return usable


def _tools_present() -> bool:
    """What mount_prefix runs (a runtime started for a function needs them even where a spare
    makes its mounts with the system calls), and /opt to probe on."""
    return _UNSHARE is not None and _MOUNT is not None and os.path.isdir(OPT) and os.path.exists("/bin/sh")


def _warn(as_root: bool, error: BaseException | None) -> None:
    log.warning("Lambda code is not mounted at /var/task nor layers at /opt: this host does not let overcast give a "
                "sandbox a mount namespace of its own (util-linux's unshare and mount%s%s); the code runs from its own "
                "directory, layers are on PYTHONPATH, NODE_PATH, PATH and LD_LIBRARY_PATH from theirs, and code that "
                "names /var/task/... or /opt/... does not find them (docs/lambda.md)",
                "" if as_root else ", and unprivileged user namespaces", f": {error}" if error else "")
