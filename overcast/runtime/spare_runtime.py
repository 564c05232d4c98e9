"""A Python runtime started ahead of need (a "spare", overcast.runtime.spares.Spares): run by path
(`python spare_runtime.py`) with a neutral environment, it loads what the runtime interface client
(awslambdaric) imports from the standard library and its dependencies, then waits for one line on
stdin: the function it is to become.

On Linux the interpreter so loaded is a zygote (`python spare_runtime.py zygote FD`): it does not
become a function itself but forks spares on request, each in a few milliseconds, sharing its
memory copy-on-write. Each fork is made with CLONE_PARENT, so that the spare is the server's child
as a spare or runtime the server spawns is (its parent process, the server's wait for its exit
status, its death signal relative to the server); it then gets what a start gives a process:
Python's own after-fork work (PyOS_AfterFork_Child: the `random` module re-seeded, locks and
thread state reset), the C library's thread id (as its fork sets it), a session of its own, its stdin and its output pipe, the parent-death
signal (a fork does not inherit it). The zygote is single-threaded and imports nothing that
starts a thread, so the fork copies no lock held by another thread. What a fork shares with its
zygote and a fresh start would not: the string hash seed and the address-space layout. It then becomes exactly what `python -m awslambdaric HANDLER`
started in the function's directory with the function's environment would be, and runs it:

- its limits (RLIMIT_AS, its memory; RLIMIT_NOFILE, Lambda's 1,024 file descriptors);
- its own mounts (its code at /var/task, its layers at /opt: overcast.runtime.mounts), in a mount
  namespace of its own, made as `unshare --mount --propagation private` and `mount --bind -o ro`
  would make them (the server runs as root when a spare is given any);
- then its own user (as setpriv would: no supplementary groups,
  no_new_privs; dumpable again, so that its /proc files are its own; the parent-death signal set
  again, since a change of user clears it). Such a spare ran until then with a sandbox user's
  uid as its effective uid (Spares), so it found the interpreter's files as that user would;
- its working directory, its environment (os.environ, hence the C environment its children
  inherit; TZ applied), sys.path as PYTHONPATH and `-m` would have made it, sys.argv;
- awslambdaric's bootstrap and runtime client are imported only then (the bootstrap reads its
  settings from the environment when imported, and the runtime client's import initialises the
  native client, which reads AWS_LAMBDA_RUNTIME_API).

What the sandbox machinery measures as Init Duration starts when the line is sent: the runtime
client's start and the function's own initialisation, as AWS counts them; the interpreter's own
start-up (100-250 ms on a loaded machine, most of a cold start) is done before it is needed.

No overcast import here: the interpreter may be another Python than the server's.
"""

import os
import sys

# what awslambdaric's modules import (python -X importtime -c "import awslambdaric.bootstrap"),
# what this file needs once the line has arrived, and those of awslambdaric's own modules that
# read nothing from the environment when imported (not its native client's module, which must
# be loaded in the function's environment: loaded ahead, it cannot reach the Runtime API)
_PRELOAD = ("json", "logging", "traceback", "decimal", "simplejson", "importlib", "enum", "math", "urllib.parse",
            "textwrap", "threading", "pathlib", "fnmatch", "contextlib", "time", "runpy", "resource", "ctypes",
            "awslambdaric", "awslambdaric.lambda_runtime_exception",
            "awslambdaric.lambda_runtime_marshaller", "awslambdaric.lambda_context",
            "awslambdaric.lambda_runtime_log_utils")
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS = 1, 4, 38
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 1, 32, 4096, 8192, 16384, 1 << 18
# clone(2)'s number where a zygote is used (the server checks the same table: runtime/spares.py),
# and the position of its child_tid argument (the architectures order them differently)
CLONE_SYSCALL = {"x86_64": (56, 3), "aarch64": (220, 4)}
_CLONE_PARENT, _CLONE_CHILD_SETTID, _SIGCHLD = 0x8000, 0x01000000, 17


def _preload() -> None:
    for name in _PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass


def private_mounts(mounts, tmp=None) -> None:
    """A mount namespace of its own (the calling thread's, in a process with several), nothing in
    it shared back with the host's, and each (source, target) of `mounts` bind-mounted read-only;
    with `tmp` (its size in MiB, the host's /tmp directories the sandbox still needs), a /tmp of
    its own (overcast.runtime.mounts.private_tmp). Needs CAP_SYS_ADMIN; raises OSError. (The
    server probes with it: overcast.runtime.mounts.)"""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def check(result: int, what: str) -> None:
        if result != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"{what}: {os.strerror(error)}")

    check(libc.unshare(_CLONE_NEWNS), "unshare")
    check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")
    if tmp:
        # built at /var/task (mounted over afterwards), then moved to /tmp: the host's directories
        # it keeps are bound into it while the host's /tmp can still be seen
        size, kept = tmp
        stage = "/var/task"
        check(libc.mount(b"tmpfs", stage.encode(), b"tmpfs", 0, f"size={size}m,mode=1777".encode()), "mount tmpfs")
        for path in kept:
            staged = stage + path[len("/tmp"):]
            os.mkdir(staged)
            check(libc.mount(path.encode(), staged.encode(), None, _MS_BIND | _MS_REC, None), f"mount --rbind {path}")
        check(libc.mount(stage.encode(), b"/tmp", None, _MS_MOVE, None), "mount --move /tmp")
    for source, target in mounts:
        check(libc.mount(source.encode(), target.encode(), None, _MS_BIND, None), f"mount --bind {source} {target}")
        check(libc.mount(None, target.encode(), None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY, None), f"remount {target} ro")


def _become(uid: int, parent: int) -> None:
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    os.seteuid(0)  # root again (the real and saved uid are), to become the function's user
    os.setegid(0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    for option, value in ((_PR_SET_NO_NEW_PRIVS, 1), (_PR_SET_DUMPABLE, 1), (_PR_SET_PDEATHSIG, signal.SIGKILL)):
        if libc.prctl(option, value, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl({option})")
    if os.getppid() != parent:  # the server died before the death signal was set again
        os._exit(1)


def _zygote(control_fd: int) -> None:
    """Fork spares on request until the server closes the control socket; returns only in a spare.

    Each request is one message with two descriptors (the spare's stdin, its output); the answer
    is the spare's pid, or E and the errno of a failed clone."""
    import ctypes
    import gc
    import signal
    import socket

    control = socket.socket(fileno=control_fd)
    server = os.getppid()
    # PyDLL: the GIL stays held across the clone, as os.fork holds it; Python's own before/after
    # fork hooks run around it, as os.fork runs them
    libc = ctypes.PyDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.pthread_self.restype = ctypes.c_void_p
    api = ctypes.pythonapi
    number, child_tid_at = CLONE_SYSCALL[os.uname().machine]
    # The C library keeps the thread's id in its thread descriptor, which its fork() refreshes in
    # the child (the kernel writes it there: CLONE_CHILD_SETTID); a bare clone would leave the
    # zygote's, and pthread_kill on the spare's main thread from another thread would miss
    # (ESRCH). Its place is found as the one int of the descriptor's first KB that holds this
    # thread's id (the main thread's: the pid); not found exactly once, the clone goes without.
    own = libc.pthread_self()
    fields = (ctypes.c_int * 256).from_address(own)
    found = [i for i in range(256) if fields[i] == os.getpid()]
    arguments = [_CLONE_PARENT | _SIGCHLD, 0, 0, 0, 0]
    if len(found) == 1:
        arguments[0] |= _CLONE_CHILD_SETTID
        arguments[child_tid_at] = ctypes.c_void_p(own + 4 * found[0])
    gc.collect()  # what a spare would collect soon after: done once, its pages shared
    control.send(b"R")  # loaded
    while True:
        message, fds, _, _ = socket.recv_fds(control, 16, 2)
        if not message:  # the server no longer needs spares of this interpreter
            os._exit(0)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            control.send(b"E22")
            continue
        api.PyOS_BeforeFork()
        pid = libc.syscall(number, *arguments)
        error = ctypes.get_errno()
        if pid == 0:
            api.PyOS_AfterFork_Child()
            control.close()
            os.setsid()
            os.dup2(fds[0], 0)
            os.dup2(fds[1], 1)
            os.dup2(fds[1], 2)
            for fd in fds:
                os.close(fd)
            # the server's death kills it, as it kills a spawned spare; had the server died
            # already, the spare was given to init: gone
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != server:
                os._exit(1)
            return
        api.PyOS_AfterFork_Parent()
        for fd in fds:
            os.close(fd)
        # answered at once, not once the spare has its session (the server kills a spare by its
        # process group, then, as that group may not exist yet, by its pid): waiting for the
        # spare to be scheduled would add a wait per fork to a burst on a loaded machine
        control.send(b"%d" % pid if pid > 0 else b"E%d" % error)


def _launch(argv: list, env: dict) -> None:
    """Become the runtime's command (a launcher: overcast/runtime/spares.py, Spares.launches):
    with the signal dispositions a fresh process has (Python ignores SIGPIPE and SIGXFSZ, and an
    exec keeps what is ignored) and exactly the function's environment. A command that cannot be
    run ends the process as a shell's exec would: 127 when it is missing, 126 otherwise."""
    import signal

    for number in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_DFL)
    if os.getuid() == 0:  # root wholly again (an isolated spare's ids differ: its exec would be in the
        os.seteuid(0)  # C library's secure mode, which drops LD_LIBRARY_PATH from the environment)
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    try:
        if os.path.isabs(argv[0]):
            os.execve(argv[0], argv, env)
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        os.write(2, f"{argv[0]}: {e.strerror}\n".encode())
        os._exit(127 if e.errno == 2 else 126)


def main() -> None:
    own_dir = sys.path[0]  # this file's directory, which `python FILE` put first
    started = dict(os.environ)  # as the interpreter's start left it (PEP 538 may have set LC_CTYPE)
    _preload()
    if sys.argv[1] == "zygote":
        _zygote(int(sys.argv[2]))  # returns in a spare forked from it
    else:
        os.close(int(sys.argv[1]))  # loaded: the server may start the next spare (runtime/spares.py)
    line = sys.stdin.buffer.readline()
    if not line:  # the server no longer needs this spare
        return
    import importlib
    import json
    import resource
    import runpy
    import time

    message = json.loads(line)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # a function's stdin is /dev/null
    os.close(null)
    if message.get("limit"):
        resource.setrlimit(resource.RLIMIT_AS, (message["limit"], message["limit"]))
    if message.get("nofile"):
        resource.setrlimit(resource.RLIMIT_NOFILE, (message["nofile"], message["nofile"]))
    if message.get("mounts"):
        os.seteuid(0)  # (an isolated spare runs with a sandbox user's effective uid until it becomes its own)
        private_mounts(message["mounts"], message.get("tmp"))
    if message.get("uid") is not None:
        _become(message["uid"], message["parent"])
    os.chdir(message["cwd"])
    if message.get("exec"):
        _launch(message["exec"], message["env"])
    os.environ.clear()
    os.environ.update(message["env"])
    # and what the interpreter's own start added to the environment it was given (the same LANG,
    # the same coercion: Spares.fits takes no function that sets LANG or LC_*)
    os.environ.update({k: v for k, v in started.items() if k not in message["spare_env"]})
    time.tzset()
    # `python -m` puts the working directory first, then PYTHONPATH's entries, then the
    # interpreter's own paths (which this spare's start already computed)
    started_with = {own_dir, *message["spare_pythonpath"]}
    rest = [path for path in sys.path if path not in started_with]
    site = sys.modules.get("sitecustomize")  # overcast's (runtime/site), loaded at start
    layers = site.layer_paths(message["env"]) if site is not None and hasattr(site, "layer_paths") else []
    sys.path[:] = [os.getcwd(), *layers, *[p for p in message["env"].get("PYTHONPATH", "").split(":") if p], *rest]
    importlib.invalidate_caches()
    if message.get("pycache") and "sitecustomize" in sys.modules:  # overcast's (runtime/site), loaded at start
        sys.modules["sitecustomize"].keep_compiled_code_in(message["pycache"])
    sys.argv = ["-m", message["handler"]]
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
