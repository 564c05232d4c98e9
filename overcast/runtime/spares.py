"""Python runtimes started ahead of need ("spares", overcast/runtime/spare_runtime.py): a cold start
hands the function to one instead of starting an interpreter, whose start (100-250 ms of a loaded
machine's time) is most of a cold start. Light on purpose (nothing of the sandbox machinery): the
server starts the first spare at start-up (`start_spares`), so that even the first cold start
after it finds one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from overcast.runtime.isolation import SANDBOX_UID_BASE

if TYPE_CHECKING:
    from overcast.runtime.sandbox import FunctionSpec

log = logging.getLogger("overcast.lambda")

_HERE = os.path.dirname(os.path.abspath(__file__))
_SCRIPT = os.path.join(_HERE, "spare_runtime.py")
_SITE_DIR = os.path.join(_HERE, "site")  # overcast's sitecustomize, as in every sandbox (loaded at start)
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None
# environment variables read when an interpreter starts (or a library is loaded), not later: a
# function that sets one of them gets a runtime started for it, not a spare
_AT_START = ("PYTHON", "LC_", "LANG", "LD_")


# Spares are spawned off the event loop where Linux allows (posix_spawn on a thread of their own,
# their exits watched through a pidfd): uvloop's spawn returns only once the child has exec'd,
# which on a loaded machine held the loop 20-160 ms per spare, in the middle of the cold start that
# took the spare being replaced. One thread, alive as long as the server: the parent-death signal
# of a child (setpriv --pdeathsig) follows the thread that spawned it.
_OFF_LOOP = sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(os, "posix_spawn")
_SPAWNER = ThreadPoolExecutor(1, thread_name_prefix="overcast-spares") if _OFF_LOOP else None
_LOADED_FD = 3  # the spare's end of its "loaded" pipe


class Spare:
    __slots__ = ("process", "read_fd", "stdin_fd", "env", "pythonpath", "loaded", "handed_over")

    def __init__(self, process, read_fd: int, stdin_fd: int, env: dict[str, str], pythonpath: list[str],
                 loaded: asyncio.Future):
        self.process = process
        self.read_fd = read_fd  # its stdout and stderr, for the sandbox that takes it
        self.stdin_fd = stdin_fd  # its stdin: the sandbox that takes it writes the function there
        self.env = env  # the environment it was started with
        self.pythonpath = pythonpath  # the PYTHONPATH it started with
        self.loaded = loaded  # done once it waits for its function
        # called by the sandbox that took it once its function has started (or failed to): then its
        # replacement is started, not while it competes for the cores with that start
        self.handed_over = _nothing

    def hand_over(self, line: bytes) -> None:
        """The function it is to become (one line), then end of file."""
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self.stdin_fd, view):]
        finally:
            os.close(self.stdin_fd)

    def discard(self) -> None:
        os.close(self.read_fd)
        os.close(self.stdin_fd)


def _nothing() -> None:
    pass


class Spawned:
    """A child started off the event loop, with what a sandbox uses of asyncio's Process: pid,
    returncode, wait(), kill(). Its exit is seen through a pidfd on the loop, and reaped here."""

    def __init__(self, pid: int, loop: asyncio.AbstractEventLoop):
        self.pid = pid
        self.returncode: int | None = None
        self._loop = loop
        self._waiters: list[asyncio.Future] = []
        self._pidfd = os.pidfd_open(pid)
        loop.add_reader(self._pidfd, self._exited)

    def _exited(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        try:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped elsewhere: its status is lost
            self.returncode = 255
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(self.returncode)
        self._waiters.clear()

    async def wait(self) -> int:
        if self.returncode is None:
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal.SIGKILL)


async def start_process(argv: list[str], cwd: str, env: dict[str, str], output_fd: int):
    """A sandbox's runtime started for it (not a spare), off the event loop as spares are: stdin
    /dev/null, stdout and stderr to `output_fd`, a session of its own. Raises OSError as a spawn
    does (a missing executable, a missing directory)."""
    if _SPAWNER is None:
        return await asyncio.create_subprocess_exec(*argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                                    stdout=output_fd, stderr=output_fd, start_new_session=True)
    loop = asyncio.get_running_loop()
    return Spawned(await loop.run_in_executor(_SPAWNER, _popen, argv, cwd, env, output_fd), loop)


def _popen(argv: list[str], cwd: str, env: dict[str, str], output_fd: int) -> int:
    """(On the spawner thread.) subprocess for what posix_spawn lacks (a working directory)."""
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output_fd,
                               stderr=output_fd, start_new_session=True)
    # reaped by its Spawned, not by subprocess: a Popen dropped while its child runs is put on a
    # list that the next Popen reaps, which would take the exit status from the Spawned
    process.returncode = 0
    return process.pid


def _spawn(argv: list[str], env: dict[str, str], stdin_fd: int, output_fd: int, loaded_fd: int) -> int:
    """(On the spawner thread.) The spare, in a session of its own, its stdin, stdout and stderr and
    its loaded pipe at _LOADED_FD; nothing else inherited (the server's descriptors are close-on-exec)."""
    return os.posix_spawn(argv[0], argv, env, setsid=True, file_actions=[
        (os.POSIX_SPAWN_DUP2, stdin_fd, 0), (os.POSIX_SPAWN_DUP2, output_fd, 1), (os.POSIX_SPAWN_DUP2, output_fd, 2),
        (os.POSIX_SPAWN_DUP2, loaded_fd, _LOADED_FD)])


class Spares:
    """`count` spares per interpreter, started one after the other (each once the previous one
    has loaded: started together on a busy machine, they would all be late). A spare still loading
    when it is taken is handed the function all the same: it reads it once loaded, still sooner
    than a fresh start. A spare taken is replaced once its function has started (its handover done:
    not while they compete for the cores), and still one spare loading at a time (measured: spares
    loading side by side made a later cold start wait 260-320 ms for the one it took); a burst of
    cold starts (a take that leaves no loaded spare behind) raises the number kept for
    that interpreter by one, up to twice `count`: on a loaded machine a spare takes 100-250 ms to
    load, longer than the gap between the cold starts of a burst of new functions. Only for a function whose runtime is started as `python -m awslambdaric
    HANDLER` with nothing an interpreter reads at its start set differently: no PYTHON*, LANG,
    LC_* or LD_* variables of its own, no /opt of its own (a mount namespace), and no shared
    libraries where its LD_LIBRARY_PATH would point (its code's top directory and lib/, /opt/lib),
    since the dynamic loader reads that variable at start only.

    An isolated spare is for a function that runs as a user of its own (overcast.runtime.
    isolation): it starts with a sandbox user's uid as its effective uid (its real and saved uid
    stay root, so that it can become the function's user), so that the interpreter finds its files
    (its prefix, its paths) exactly as a runtime started as that user would."""

    def __init__(self, count: int):
        self.count = count
        self._loop = None
        self._generation = 0  # stop() ends one: what its spares' ends would start, it does not
        self._ready: dict[tuple[str, bool], list[Spare]] = {}  # (interpreter, isolated) -> spares started
        self._starting: dict[tuple[str, bool], asyncio.Task] = {}  # one start at a time per key
        self._wanted: dict[tuple[str, bool], int] = {}  # how many to keep per key

    def want(self, python: str, isolated: bool, up_to: int | None = None) -> None:
        """Have `count` spares of this interpreter (started in the background); `up_to`: fewer,
        until a later call asks for more (the server's start-up: one, until Lambda is used)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another event loop (an earlier server in this process): start over
            self._loop, self._ready, self._starting, self._wanted = loop, {}, {}, {}
        key = (python, isolated)
        self._wanted[key] = max(self._wanted.get(key, 0), min(self.count, up_to or self.count))
        self._top_up(key)

    def _top_up(self, key: tuple[str, bool]) -> None:
        ready = self._ready.get(key, ())
        if key in self._starting or len(ready) >= self._wanted.get(key, 0):
            return
        if any(not spare.loaded.done() for spare in ready):
            return  # one at a time: the one loading starts the next once loaded

        task = self._starting[key] = self._loop.create_task(self._start(key))
        task.add_done_callback(lambda _t: self._started(key, task))

    def _started(self, key, task) -> None:
        if self._starting.get(key) is task:
            del self._starting[key]

    async def _start(self, key: tuple[str, bool]) -> None:
        python, isolated = key
        loop = asyncio.get_running_loop()
        die_with_parent = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []
        if isolated and _SETPRIV:
            placeholder = str(SANDBOX_UID_BASE - 1)  # no function's: the one the start-up probes use
            die_with_parent += ["--euid", placeholder, "--egid", placeholder, "--clear-groups"]
        pythonpath = [_SITE_DIR]
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
               "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": ":".join(pythonpath), "PYTHONUNBUFFERED": "1"}
        generation = self._generation
        read_fd, write_fd = os.pipe()
        loaded_r, loaded_w = os.pipe()  # the spare closes its end once it has loaded what it loads ahead
        stdin_r, stdin_w = os.pipe()
        argv = [*die_with_parent, *(["--"] if die_with_parent else []), python, _SCRIPT]
        try:
            if _SPAWNER is not None:
                pid = await loop.run_in_executor(_SPAWNER, _spawn, [*argv, str(_LOADED_FD)], env, stdin_r, write_fd,
                                                 loaded_w)
                process = Spawned(pid, loop)
            else:
                process = await asyncio.create_subprocess_exec(
                    *argv, str(loaded_w), cwd="/", env=env, stdin=stdin_r, stdout=write_fd, stderr=write_fd,
                    start_new_session=True, pass_fds=(loaded_w,))
        except OSError as e:
            for fd in (read_fd, loaded_r, stdin_w):
                os.close(fd)
            log.warning("could not start a spare Python runtime (%s): %s", python, e)
            return
        finally:
            for fd in (write_fd, loaded_w, stdin_r):
                os.close(fd)
        loaded = loop.create_future()

        def on_loaded():  # the spare closed its end (loaded, or gone)
            loop.remove_reader(loaded_r)
            os.close(loaded_r)
            if not loaded.done():
                loaded.set_result(None)
            if generation == self._generation:
                self._top_up(key)  # the next one, if fewer than wanted

        loop.add_reader(loaded_r, on_loaded)
        self._ready.setdefault(key, []).append(Spare(process, read_fd, stdin_w, env, pythonpath, loaded))

    @staticmethod
    def fits(spec: FunctionSpec) -> bool:
        argv = spec.interpreter
        if len(argv) != 4 or argv[1:3] != ["-m", "awslambdaric"] or spec.opt_mount:
            return False
        if any(name.startswith(_AT_START) for name in spec.environment):
            return False
        for directory in (spec.code_dir, os.path.join(spec.code_dir, "lib"),
                          os.path.join(spec.opt_dir, "lib") if spec.opt_dir else None):
            if directory and _has_libraries(directory):
                return False
        return True

    async def take(self, spec: FunctionSpec) -> Spare | None:
        """A spare for this function (the most loaded one; another is started in its place), or None."""
        if not self.count or not spec.runtime.startswith("python") or not self.fits(spec):
            return None
        key = (spec.interpreter[0], bool(spec.user_options))
        if asyncio.get_running_loop() is self._loop and not self._ready.get(key) and key in self._starting:
            await asyncio.wait([self._starting[key]])  # being spawned: a few ms at most
        ready = self._ready.get(key) if asyncio.get_running_loop() is self._loop else None
        spare = None
        while ready and spare is None:
            spare = ready.pop(0)  # the oldest: the furthest along
            if spare.process.returncode is not None:  # it died meanwhile
                spare.discard()
                spare = None
        if self._loop is asyncio.get_running_loop():
            if spare is None or not spare.loaded.done() or not any(s.loaded.done() for s in ready):
                # a burst: cold starts come faster than spares load; keep one more from now on
                self._wanted[key] = min(2 * self.count, self._wanted.get(key, 0) + 1)
            if spare is not None:
                spare.handed_over = lambda: self._replace(key, self._generation)
                return spare
        self.want(*key)
        return spare

    def _replace(self, key: tuple[str, bool], generation: int) -> None:
        if generation == self._generation and self._loop is asyncio.get_running_loop():
            self.want(*key)

    def stop(self) -> None:
        self._generation += 1
        for task in self._starting.values():
            task.cancel()
        for spares in self._ready.values():
            for spare in spares:
                try:
                    os.killpg(spare.process.pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass
                spare.discard()
        self._ready.clear()
        self._starting.clear()


def _has_libraries(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(".so" in entry.name for entry in entries if not entry.is_dir())
    except OSError:
        return False


SPARES = Spares(max(0, int(os.environ.get("OVERCAST_LAMBDA_SPARES", 2))))


def start_spares() -> None:
    """At server start-up: one spare of the host's Python (isolated when the server runs as root,
    as sandboxes then are), so that the first cold start after start-up finds it; the Lambda
    provider's start asks for the rest."""
    SPARES.want(sys.executable, os.geteuid() == 0 and _SETPRIV is not None, up_to=1)
