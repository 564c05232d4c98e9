"""Python runtimes started ahead of need ("spares", overcast/runtime/spare_runtime.py): a cold start
hands the function to one instead of starting an interpreter, whose start (100-250 ms of a loaded
machine's time) is most of a cold start. On Linux spares are forked from a zygote, one interpreter
per Python in use that has loaded what a spare loads (a fork takes a few milliseconds, so a burst
of cold starts gets its spares at once); elsewhere each spare is an interpreter of its own. Light
on purpose (nothing of the sandbox machinery): the server starts the first zygote at start-up
(`start_spares`), so that even the first cold start after it finds a spare.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from overcast.runtime.isolation import SANDBOX_UID_BASE
from overcast.runtime.mounts import LANG, mount_prefix
from overcast.runtime.spare_runtime import CLONE_SYSCALL

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


# Runtimes and zygotes are spawned off the event loop where Linux allows (on a thread of their own,
# their exits watched through a pidfd): uvloop's spawn returns only once the child has exec'd,
# which on a loaded machine held the loop 20-160 ms per spawn, in the middle of a cold start. One
# thread, alive as long as the server: the parent-death signal of a child (setpriv --pdeathsig)
# follows the thread that spawned it (and a zygote's forks, the server's children by
# CLONE_PARENT, have that thread as their parent too).
_OFF_LOOP = sys.platform.startswith("linux") and hasattr(os, "pidfd_open")
_SPAWNER = ThreadPoolExecutor(1, thread_name_prefix="overcast-spares") if _OFF_LOOP else None
# forks from a zygote: Linux (clone with CLONE_PARENT, pidfds to watch the spares' exits)
_ZYGOTES = _OFF_LOOP and os.uname().machine in CLONE_SYSCALL
# Pythons installed for their runtimes (overcast.runtime.python_runtimes), by the interpreter path
# their spares are keyed by: (the installation a zygote runs from at /var/lang, as its sandboxes
# do, or None where it runs from its own path; the directory of its awslambdaric and boto3)
_INSTALLED: dict[str, tuple[str | None, str]] = {}


def register_installed(python: str, lang: str | None, site: str) -> None:
    """Spares of `python` are of a Python installed for its runtime (see _INSTALLED)."""
    _INSTALLED[python] = (lang, site)


class Spare:
    __slots__ = ("process", "read_fd", "stdin_fd", "env", "pythonpath", "loaded", "launches")

    def __init__(self, process, read_fd: int, stdin_fd: int, env: dict[str, str], pythonpath: list[str],
                 loaded: asyncio.Future):
        self.process = process
        self.read_fd = read_fd  # its stdout and stderr, for the sandbox that takes it
        self.stdin_fd = stdin_fd  # its stdin: the sandbox that takes it writes the function there
        self.env = env  # the environment its interpreter was started with
        self.pythonpath = pythonpath  # the PYTHONPATH it started with
        self.loaded = loaded  # done once it waits for its function
        # taken to launch a runtime (Spares.launches): it makes the sandbox's mounts and execs the
        # runtime's command behind setpriv, rather than running awslambdaric itself
        self.launches = False

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


def _spawn_zygote(argv: list[str], env: dict[str, str], control_fd: int) -> int:
    """(On the spawner thread.) A zygote, in a session of its own, its control socket passed (its
    number in argv), stdin and stdout /dev/null, stderr the server's. Through subprocess, not
    posix_spawn: glibc's posix_spawn leaves its two internal signals ignored in the child, an
    ignore that exec keeps and every spare would inherit, where a fresh start has neither."""
    process = subprocess.Popen(argv, cwd="/", env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               pass_fds=(control_fd,), start_new_session=True)
    process.returncode = 0  # reaped by its Spawned (see _popen)
    return process.pid


def _interpreter(key: tuple[str, bool]) -> tuple[list[str], dict[str, str], list[str]]:
    """How a spare's (or a zygote's) interpreter is started: argv up to the script, its
    environment (neutral: the function's is applied at the handover), its PYTHONPATH."""
    python, isolated = key
    lang, site = _INSTALLED.get(python, (None, None))
    die_with_parent = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []
    # (not for an installation at /var/lang: the C library's secure mode, which an effective uid
    # other than the real one sets, would ignore the LD_LIBRARY_PATH its libpython is found by;
    # what is mounted there is readable by every user, as its probe assumes: isolation._probe)
    if isolated and _SETPRIV and not lang:
        placeholder = str(SANDBOX_UID_BASE - 1)  # no function's: the one the start-up probes use
        die_with_parent += ["--euid", placeholder, "--egid", placeholder, "--clear-groups"]
    pythonpath = [_SITE_DIR]
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
           "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": ":".join(pythonpath), "PYTHONUNBUFFERED": "1"}
    # a Python installed for its runtime: its zygote in a mount namespace with the installation at
    # /var/lang (its spares' own namespaces are made from that one), its packages put on sys.path
    # by overcast's sitecustomize, as for a runtime started afresh (Sandbox._interpreter)
    mounted = mount_prefix([(lang, LANG)], as_root=True) if lang else []
    if lang:  # (its libpython, as in its sandboxes, whose LD_LIBRARY_PATH starts there as AWS's does;
        # and the PWD the mounting shell would set: given, it is not taken for the interpreter's own)
        env.update(LD_LIBRARY_PATH=os.path.join(LANG, "lib"), PWD="/")
    options = ["-X", f"overcast_site={site}"] if site else []
    return [*mounted, *die_with_parent, *(["--"] if die_with_parent else []), python, *options, _SCRIPT], env, \
        pythonpath


class Zygote:
    """An interpreter that has loaded what a spare loads and forks spares on request
    (spare_runtime.py: _zygote), over a Unix socket: a request carries the spare's stdin and
    output pipes, the answer is its pid. The spare is the server's child (CLONE_PARENT): watched
    and reaped as a spawned one (Spawned). Its own output goes to the server's stderr (a
    traceback, should it fail)."""

    def __init__(self, key: tuple[str, bool]):
        self.key = key
        self.process: Spawned | None = None
        self.control: socket.socket | None = None
        self._loop = asyncio.get_running_loop()
        self.loaded: asyncio.Future = self._loop.create_future()  # True: it forks; False: gone
        self._replies: deque[asyncio.Future] = deque()  # one per request, answered in order
        self.closed = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        argv, self.env, self.pythonpath = _interpreter(self.key)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = await loop.run_in_executor(_SPAWNER, _spawn_zygote, [*argv, "zygote", str(theirs.fileno())],
                                             self.env, theirs.fileno())
        except OSError as e:
            ours.close()
            log.warning("could not start a spare Python runtime (%s): %s", self.key[0], e)
            self.close()
            return
        finally:
            theirs.close()
        self.process = Spawned(pid, loop)
        if self.closed:  # stopped meanwhile
            ours.close()
            self.process.kill()
            return
        ours.setblocking(False)
        self.control = ours
        loop.add_reader(ours.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            while True:
                message = self.control.recv(32)
                if not message:
                    raise ConnectionResetError
                if message == b"R":
                    self.loaded.set_result(True)
                    continue
                reply = self._replies.popleft()
                if message.startswith(b"E"):
                    error = int(message[1:])
                    reply.set_exception(OSError(error, os.strerror(error)))
                elif reply.done():  # asked for by a take that was cancelled: not wanted
                    Spawned(int(message), self._loop).kill()
                else:
                    reply.set_result(int(message))
        except BlockingIOError:
            pass
        except (OSError, ValueError, IndexError):
            self.close()

    @property
    def ever_loaded(self) -> bool:
        return self.loaded.done() and self.loaded.result()

    async def fork(self, loaded: asyncio.Future) -> Spare | None:
        """A spare forked for a function (or None: the zygote is gone or could not fork)."""
        if not await asyncio.shield(self.loaded) or self.control is None:
            return None
        read_fd, write_fd = os.pipe()
        stdin_r, stdin_w = os.pipe()
        reply = asyncio.get_running_loop().create_future()
        try:
            socket.send_fds(self.control, [b"F"], [stdin_r, write_fd])
            self._replies.append(reply)
        except OSError:  # its socket full or closed: a zygote that does not answer is no use
            _close(read_fd, stdin_w)
            self.close()
            return None
        finally:
            _close(stdin_r, write_fd)
        try:
            pid = await reply
            process = Spawned(pid, asyncio.get_running_loop())
        except OSError as e:
            _close(read_fd, stdin_w)
            if not self.closed:
                log.warning("could not fork a spare Python runtime (%s): %s", self.key[0], e)
            return None
        except BaseException:
            reply.cancel()  # its pid, when it comes, is killed (_readable)
            _close(read_fd, stdin_w)
            raise
        return Spare(process, read_fd, stdin_w, self.env, self.pythonpath, loaded)

    def close(self) -> None:
        """Ends the zygote (its socket closed, it exits; killed besides). The spares it forked live on."""
        self.closed = True
        if not self.loaded.done():
            self.loaded.set_result(False)
        if self.control is not None:
            try:
                self._loop.remove_reader(self.control.fileno())
            except RuntimeError:  # its loop is closed
                pass
            self.control.close()
            self.control = None
        while self._replies:
            reply = self._replies.popleft()
            if not reply.done():
                reply.set_exception(ConnectionResetError(f"the zygote of {self.key[0]} is gone"))
        if self.process is not None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass


class Spares:
    """`count` spares per interpreter kept ready. On Linux they are forked from the interpreter's
    zygote (started once, at the server's start-up or with the first function of that Python); a
    spare taken is replaced at once (a fork: a few ms of the zygote's time, not an interpreter's
    start competing for the cores with the function's), and a cold start that finds none ready
    (a burst) has one forked for it. A cold start that comes while the zygote is still loading
    (just after start-up) waits for it, still sooner than a fresh start. A zygote that dies is
    started again by the next cold start or want; one that never loaded is not (that interpreter's
    functions get fresh starts).

    Elsewhere each spare is an interpreter of its own, started one after the other (each once the
    previous one has loaded: started together on a busy machine, they would all be late); a spare
    still loading when it is taken is handed the function all the same: it reads it once loaded.

    Only for a function whose runtime is started as `python -m awslambdaric HANDLER` with nothing
    an interpreter reads at its start set differently: no PYTHON*, LANG, LC_* or LD_* variables
    of its own, no mounts of its own (/var/task, /opt) unless the server runs as root (the spare
    makes them: spare_runtime.py), and no shared libraries where its
    LD_LIBRARY_PATH would point (its code's top directory and lib/, /opt/lib), since the dynamic
    loader reads that variable at start only.

    An isolated spare is for a function that runs as a user of its own (overcast.runtime.
    isolation): its interpreter starts with a sandbox user's uid as its effective uid (its real
    and saved uid stay root, so that it can become the function's user), so that the interpreter
    finds its files (its prefix, its paths) exactly as a runtime started as that user would."""

    def __init__(self, count: int, zygotes: bool = _ZYGOTES):
        self.count = count
        self.zygotes = zygotes
        self._loop = None
        self._generation = 0  # stop() ends one: what its spares' ends would start, it does not
        self._ready: dict[tuple[str, bool], list[Spare]] = {}  # (interpreter, isolated) -> spares started
        self._starting: dict[tuple[str, bool], asyncio.Task] = {}  # spares being started or forked per key
        self._forking: dict[tuple[str, bool], int] = {}  # forks under way per key
        self._wanted: dict[tuple[str, bool], int] = {}  # how many to keep per key
        self._zygote: dict[tuple[str, bool], Zygote] = {}
        self._done = None  # a done future: a forked spare is loaded

    def want(self, python: str, isolated: bool, up_to: int | None = None) -> None:
        """Have `count` spares of this interpreter (started in the background); `up_to`: fewer,
        until a later call asks for more (the server's start-up: one, until Lambda is used)."""
        if not self.count:  # none wanted: no zygote either
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another event loop (an earlier server in this process): start over
            self._loop, self._ready, self._starting, self._wanted = loop, {}, {}, {}
            self._forking, self._zygote = {}, {}
            self._done = loop.create_future()
            self._done.set_result(None)
        key = (python, isolated)
        self._wanted[key] = max(self._wanted.get(key, 0), min(self.count, up_to or self.count))
        self._top_up(key)

    def _zygote_for(self, key: tuple[str, bool]) -> Zygote | None:
        zygote = self._zygote.get(key)
        if zygote is not None and zygote.closed:
            if not zygote.ever_loaded:
                return None  # never loaded: this interpreter's functions get fresh starts
            zygote = None  # it died: another
        if zygote is None:
            zygote = self._zygote[key] = Zygote(key)
            task = self._loop.create_task(zygote.start())
            self._starting[key] = task
            task.add_done_callback(lambda _t: self._started(key, task))
        return zygote

    def _top_up(self, key: tuple[str, bool]) -> None:
        ready = self._ready.get(key, ())
        if self.zygotes:
            missing = self._wanted.get(key, 0) - len(ready) - self._forking.get(key, 0)
            zygote = self._zygote_for(key) if missing > 0 or key not in self._zygote else None
            for _ in range(max(0, missing) if zygote is not None else 0):
                self._forking[key] = self._forking.get(key, 0) + 1
                self._loop.create_task(self._fork_ahead(key, zygote, self._generation))
            return
        if key in self._starting or len(ready) >= self._wanted.get(key, 0):
            return
        if any(not spare.loaded.done() for spare in ready):
            return  # one at a time: the one loading starts the next once loaded
        task = self._starting[key] = self._loop.create_task(self._start(key))
        task.add_done_callback(lambda _t: self._started(key, task))

    async def _fork_ahead(self, key: tuple[str, bool], zygote: Zygote, generation: int) -> None:
        try:
            spare = await zygote.fork(self._done)
        finally:
            if generation == self._generation and self._forking.get(key):
                self._forking[key] -= 1
        if spare is None:
            return
        if generation != self._generation:  # stopped meanwhile
            _end(spare)
            return
        self._ready.setdefault(key, []).append(spare)

    def _started(self, key, task) -> None:
        if self._starting.get(key) is task:
            del self._starting[key]

    async def _start(self, key: tuple[str, bool]) -> None:
        """(Not Linux.) A spare that is an interpreter of its own."""
        loop = asyncio.get_running_loop()
        argv, env, pythonpath = _interpreter(key)
        generation = self._generation
        read_fd, write_fd = os.pipe()
        loaded_r, loaded_w = os.pipe()  # the spare closes its end once it has loaded what it loads ahead
        stdin_r, stdin_w = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, str(loaded_w), cwd="/", env=env, stdin=stdin_r, stdout=write_fd, stderr=write_fd,
                start_new_session=True, pass_fds=(loaded_w,))
        except OSError as e:
            for fd in (read_fd, loaded_r, stdin_w):
                os.close(fd)
            log.warning("could not start a spare Python runtime (%s): %s", key[0], e)
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
        if len(argv) != 4 or argv[1:3] != ["-m", "awslambdaric"]:
            return False
        if spec.mounts and os.geteuid() != 0:  # a spare makes its mounts itself, which needs root
            return False
        if any(name.startswith(_AT_START) for name in spec.environment) or "AWS_LAMBDA_EXEC_WRAPPER" in spec.environment:
            return False  # (a wrapper script starts the runtime itself: a fresh start)
        for directory in (spec.code_dir, os.path.join(spec.code_dir, "lib"),
                          os.path.join(spec.opt_dir, "lib") if spec.opt_dir else None):
            if directory and _has_libraries(directory):
                return False
        return True

    async def take(self, spec: FunctionSpec) -> Spare | None:
        """A spare for this function (the oldest ready one, or one forked for it; another is
        started in its place), or None: a fresh start. A function that no spare can become (any
        runtime but Python's, or a Python one that `fits` refuses) gets one as its launcher when
        the server runs as root (`launches`). So does a function of a Python installed for its
        runtime while that Python's zygote is still loading: it was started moments before (with
        the function's creation, or by this cold start), and waiting for it takes longer than
        starting the runtime afresh (bench/cold_start.py --runtime=python3.12, the first)."""
        if not self.count:
            return None
        if spec.runtime.startswith("python") and self.fits(spec):
            python = spec.interpreter[0]
            key = (python, bool(spec.user_options))
            if not spec.site:
                return await self._take(key)
            if python not in _INSTALLED:  # a Python installed for its runtime: how its zygote starts
                lang = next((source for source, target in spec.mounts if target == LANG), None)
                register_installed(python, lang if python.startswith(LANG + "/") else None, spec.site)
            if not self.zygotes or self._ready.get(key) or (key in self._zygote and self._zygote[key].ever_loaded):
                return await self._take(key)
            self.want(*key)  # (its zygote goes on loading, for the next cold start)
        if not self.launches(spec):
            return None
        spare = await self._take(self._launcher_key())
        if spare is not None:
            spare.launches = True
        return spare

    def launches(self, spec: FunctionSpec) -> bool:
        """Whether a spare can start this function's runtime: as root, for a sandbox with mounts of
        its own, a spare forked from a zygote makes them with the system calls and execs the
        runtime's command behind setpriv (spare_runtime.py), where otherwise
        unshare, a shell, a `mount` per mount and setpriv would be started one after the other
        (10-15 ms of a cold start). Nothing of the spare's interpreter outlives the exec."""
        return self.zygotes and bool(spec.mounts) and os.geteuid() == 0

    def _launcher_key(self) -> tuple[str, bool]:
        """The server's own Python's zygote: the one start_spares starts (isolated as root), else,
        where that one could not load (an interpreter a sandbox user cannot run), the other."""
        isolated = (sys.executable, _SETPRIV is not None)
        zygote = self._zygote.get(isolated)
        if zygote is not None and zygote.closed and not zygote.ever_loaded:
            return sys.executable, False
        return isolated

    async def _take(self, key: tuple[str, bool]) -> Spare | None:
        if asyncio.get_running_loop() is not self._loop:
            self.want(*key)
        if not self.zygotes and not self._ready.get(key) and key in self._starting:
            await asyncio.wait([self._starting[key]])  # being spawned: a few ms at most
        ready = self._ready.get(key)
        spare = None
        while ready and spare is None:
            spare = ready.pop(0)  # the oldest: the furthest along
            if spare.process.returncode is not None:  # it died meanwhile
                spare.discard()
                spare = None
        if spare is None and self.zygotes:
            zygote = self._zygote_for(key)
            spare = await zygote.fork(self._done) if zygote is not None else None
        self.want(*key)  # its replacement
        return spare

    def stop(self) -> None:
        self._generation += 1
        if not self.zygotes:
            for task in self._starting.values():
                task.cancel()
        for zygote in self._zygote.values():
            zygote.close()  # (one still being spawned is killed once it is)
        for spares in self._ready.values():
            for spare in spares:
                _end(spare)
        self._ready.clear()
        self._starting.clear()
        self._forking.clear()
        self._zygote.clear()


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


def _end(spare: Spare) -> None:
    if spare.process.returncode is not None:  # exited and reaped: its pid may be another's by now
        spare.discard()
        return
    try:
        os.killpg(spare.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:  # a spare just forked, not yet in its session
            spare.process.kill()
        except ProcessLookupError:
            pass
    spare.discard()


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
