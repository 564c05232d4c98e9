"""Sandboxes as users of their own, when overcast runs as root.

Each function (account, region, name) gets its own uid and gid, allocated from SANDBOX_UID_BASE
in order of first use (no /etc/passwd entry is needed: setpriv switches to numeric ids). Its
sandboxes run as that uid with no supplementary groups and no_new_privs, so they cannot read the
server's /proc/<pid>/environ, the data directory (0700) or another function's files.

A function's working files live under a directory of this server run, outside the data
directory (which, for root, is usually under /root and not reachable by other users):

    <tmp>/overcast-sandboxes-<pid>-XXXX/    0711 root   (traversable, not listable)
        <uid>/                              0700 <uid>
            code/<sha>/  layers/<sha>/      its code and layers, unpacked for it alone
            tmp/                            TMPDIR and HOME

The directory goes away when the server stops (or, after a kill -9, when the next one starts). Sandboxes inherit the server's umask (077), so
files a function writes elsewhere (the shared /tmp) are private to its uid too.

Not root (a developer's laptop): sandboxes run as the server's user, with no isolation beyond
the process; create() answers None and nothing here runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable

log = logging.getLogger("overcast.lambda")

SANDBOX_UID_BASE = 2_000_000  # far above login users and the usual subordinate-id ranges
# probe command -> whether a sandbox user can run it: per process, started at server start-up
# (start_probes) so that no first invocation waits for one
_usable: dict[str, asyncio.Future] = {}


class Isolation:
    def __init__(self, root: str, setpriv: str):
        self.root = root
        self.setpriv = setpriv
        self._uids: dict[tuple[str, str, str], int] = {}
        self._placing: dict[str, asyncio.Future] = {}  # target -> its unpacking and chown, under way

    @classmethod
    def create(cls) -> Isolation | None:
        """Isolation when running as root with setpriv (util-linux) available; else None."""
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or setpriv is None:
            if os.geteuid() == 0:
                log.warning("setpriv (util-linux) is not installed: Lambda sandboxes run as root")
            return None
        _remove_stale()
        root = tempfile.mkdtemp(prefix=f"overcast-sandboxes-{os.getpid()}-")
        os.chmod(root, 0o711)
        return cls(root, setpriv)

    def uid_for(self, account: str, region: str, name: str) -> int:
        key = (account, region, name)
        uid = self._uids.get(key)
        if uid is None:
            uid = self._uids[key] = SANDBOX_UID_BASE + len(self._uids)
        return uid

    @staticmethod
    def command(uid: int) -> list[str]:
        """setpriv's options that make the exec'd runtime that user."""
        return ["--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--no-new-privs"]

    def home(self, uid: int) -> str:
        """The function's own directory (created on first use), owned by it, mode 0700."""
        home = os.path.join(self.root, str(uid))
        if not os.path.isdir(home):
            os.makedirs(os.path.join(home, "tmp"), mode=0o700, exist_ok=True)
            for path in (home, os.path.join(home, "tmp")):
                os.chown(path, uid, uid)
                os.chmod(path, 0o700)
        return home

    async def place(self, uid: int, kind: str, sha_hex: str, unpack: Callable[[str], object]) -> str:
        """The code (or layer) unpacked (by `unpack(target)`) into the function's own directory,
        owned by it."""
        target = os.path.join(self.home(uid), kind, sha_hex)
        placing = self._placing.get(target)
        if placing is None:
            if os.path.isdir(target):
                return target
            # one placement per target: a second caller (a first invocation while the code is
            # placed ahead of it) waits for the chown that follows the unpacking's rename
            placing = self._placing[target] = asyncio.ensure_future(asyncio.to_thread(self._unpack, uid, unpack, target))
            placing.add_done_callback(lambda _f: self._placing.pop(target, None))
        await asyncio.shield(placing)
        return target

    @staticmethod
    def _unpack(uid: int, unpack: Callable[[str], object], target: str) -> None:
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            os.makedirs(parent, mode=0o700, exist_ok=True)
            os.chown(parent, uid, uid)
        unpack(target)
        for directory, _dirs, files in os.walk(target):
            os.chown(directory, uid, uid)
            for name in files:
                os.lchown(os.path.join(directory, name), uid, uid)

    async def usable(self, argv: list[str], wrapped: bool = False) -> bool:
        """Whether a sandbox user can start this runtime (its files must be readable by other
        users: an interpreter under /root may not be). Probed once per runtime command by running
        it as a sandbox uid (the usual runtimes' probes start with the server, `start_probes`, off
        the cold-start path); when it cannot, its sandboxes run as root and the log says why."""
        return await _usable_future(self.setpriv, argv, wrapped)

    def close(self) -> None:
        """Remove the functions' directories: by a detached `rm -rf` that outlives the server, so
        that the exit does not wait for it (a layer like CDK's AWS CLI is 4,000 files: seconds on a
        busy disk). Whatever it leaves (killed meanwhile) the next server removes (_remove_stale)."""
        try:
            subprocess.Popen(["rm", "-rf", "--", self.root], start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            shutil.rmtree(self.root, ignore_errors=True)


def start_probes() -> None:
    """At server start-up, as root: start probing the usual runtimes (the host's Python, Node) in
    the background, so that a first invocation right after start-up does not wait for a probe."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return
    from overcast.runtime.commands import command_for

    for runtime in (f"python{sys.version_info[0]}.{sys.version_info[1]}", "nodejs20.x"):
        if runtime.startswith("python") or shutil.which("node"):
            argv, _ = command_for(runtime, "x.handler", "/", 128, sys.executable)
            _usable_future(setpriv, argv)


def _usable_future(setpriv: str, argv: list[str], wrapped: bool = False) -> asyncio.Future:
    probe = _probe(argv)
    if probe is None:  # provided.*: the function's own bootstrap, in its own directory
        done = asyncio.get_running_loop().create_future()
        done.set_result(True)
        return done
    if wrapped:  # started by a wrapper script (AWS_LAMBDA_EXEC_WRAPPER): the user's own exec must reach it
        probe = ["/bin/sh", "-c", 'exec "$@"', "sh", *probe]
    key = " ".join(probe)
    known = _usable.get(key)
    if known is None or known.get_loop() is not asyncio.get_running_loop():
        known = _usable[key] = asyncio.ensure_future(_try(setpriv, probe, argv[0]))
    return asyncio.shield(known)


async def probe_succeeds(argv: list[str], timeout: float) -> bool:
    """Run a start-up probe from /, silently, with only PATH: did it exit 0 within `timeout`? On a
    thread: uvloop's spawn holds the event loop until the child has exec'd, and the probes that
    start_probes spawns right after start-up held it while the server's first request waited
    (~50 ms of it on a loaded machine: docs/architecture.md, "Start-up")."""
    return await asyncio.to_thread(_probe_exits_0, argv, timeout)


def _probe_exits_0(argv: list[str], timeout: float) -> bool:
    try:
        return subprocess.run(argv, cwd="/", env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):  # (a timeout kills it)
        return False


async def _try(setpriv: str, probe: list[str], program: str) -> bool:
    usable = await probe_succeeds([setpriv, *Isolation.command(SANDBOX_UID_BASE - 1), "--", *probe], 30)
    if not usable:
        log.warning("Lambda sandboxes that run %s run as root: an unprivileged user cannot run it (install it "
                    "where other users can read it); see docs/security.md", program)
    return usable


def _remove_stale() -> None:
    """Sandbox directories of servers that died without cleaning up (kill -9)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith("overcast-sandboxes-"):
            continue
        pid = name.split("-")[2]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def _probe(argv: list[str]) -> list[str] | None:
    """A command that succeeds when the runtime's interpreter and client can be read (None: no
    probe needed)."""
    if argv[0].startswith("/var/lang/"):
        # a Python or Node.js installed for its runtime, mounted for the sandbox at /var/lang, where
        # the host has nothing to probe (python_runtimes.py and node_runtimes.py install readable
        # by every user)
        return None
    program = os.path.basename(argv[0])
    if program.startswith("python"):
        return [argv[0], "-c", "import awslambdaric.bootstrap"]
    if program == "node":
        script = argv[-2]  # overcast's node_bootstrap.js, or aws-lambda-ric's client module (or executable)
        return [argv[0], "-e", f"require('fs').readFileSync({script!r})"]
    return None
