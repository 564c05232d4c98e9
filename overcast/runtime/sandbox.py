"""One execution environment: a subprocess running a runtime interface client against its own
Runtime API port (api.py). It serves one invocation at a time and stays warm for the next.

Lifecycle: `start()` spawns the process and waits for its first GET /invocation/next (init done),
an /init/error, or its exit. `invoke()` hands the event to the waiting /next, waits for the
function's /response or /error (or the timeout, or the process's exit) and returns an Outcome
with the log lines the function printed meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import orjson

from overcast import tracing
from overcast.runtime.api import serve
from overcast.runtime.mounts import LANG, OPT, RUNTIME, TASK, Mounts, PrivateTmp
from overcast.runtime.spares import start_process

_NEXT = "/2018-06-01/runtime/invocation/next"
_PREFIX = "/2018-06-01/runtime/invocation/"
_INIT_ERROR = "/2018-06-01/runtime/init/error"
_RESTORE_NEXT = "/2018-06-01/runtime/restore/next"
_RESTORE_ERROR = "/2018-06-01/runtime/restore/error"
LOG_BUDGET = 1024 * 1024  # bytes of log lines kept per invocation (older lines are dropped)
MB = 1024 * 1024
MAX_LINE = 256 * 1024  # CloudWatch Logs' largest event
INIT_TIMEOUT = 10  # seconds AWS gives the init phase (or the function timeout, if longer)
# setpriv (util-linux) sets PR_SET_PDEATHSIG before exec'ing the runtime: a sandbox dies with the
# server even when the server is killed with SIGKILL (a preexec_fn would do the same, at ~10 ms
# per spawn because it forbids vfork).
_SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None
# util-linux's prlimit sets RLIMIT_AS on itself and execs the runtime: the limit is in place before
# the runtime's first instruction (setting it from outside after the spawn raced under load)
_PRLIMIT = shutil.which("prlimit") if sys.platform.startswith("linux") else None
_DIE_WITH_PARENT = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []
# Lambda's quota of file descriptors per execution environment (AWS documents 1,024; its runtimes
# report RLIMIT_NOFILE 1024:1024), so a function that leaks them fails here as it will on AWS
# (never above what this process may give: a lower hard limit stays as it is)
_HARD_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
NOFILE = 1024 if _HARD_NOFILE == resource.RLIM_INFINITY else min(1024, _HARD_NOFILE)
_SIGNALS = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
            signal.SIGTERM: "terminated", signal.SIGBUS: "bus error", signal.SIGFPE: "floating point exception",
            signal.SIGILL: "illegal instruction"}


_SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")


# environment variables overcast sets that AWS lets a function set itself (AWS's "unreserved" ones)
_FUNCTION_MAY_SET = ("LANG", "TZ", "PATH", "LD_LIBRARY_PATH", "NODE_PATH", "PYTHONPATH", "GEM_PATH",
                     "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS")


@dataclass(slots=True)
class FunctionSpec:
    """What a sandbox needs to know about the function version it runs."""

    key: str  # pool key: one pool per function version and configuration revision
    account: str
    region: str
    name: str
    version: str
    arn: str  # unqualified function ARN
    runtime: str
    handler: str
    memory: int
    timeout: int
    code_dir: str
    # the function's layers, merged in order (overcast.runtime.layers): None without layers
    opt_dir: str | None
    environment: dict[str, str]
    log_group: str
    endpoint: str  # overcast's URL, for AWS_ENDPOINT_URL
    interpreter: list[str] = field(default_factory=list)  # argv prefix (see pool.command_for)
    memory_limit: bool = True
    # (access key, secret, session token) of the execution role, when signatures are verified;
    # else placeholders that name the account
    credentials: tuple[str, str, str] | None = None
    # the sandbox's own user (overcast.runtime.isolation), when overcast runs as root: setpriv's
    # options, and the directory for its temporary files
    user_options: list[str] = field(default_factory=list)
    tmp_dir: str | None = None
    uid: int | None = None  # only this user's processes may use the sandbox's Runtime API
    xray_daemon: str = ""  # host:port of the X-Ray daemon's UDP port (AWS_XRAY_DAEMON_ADDRESS), if any
    # Node.js: the runtime's own modules (the AWS SDK, runtime/node_sdk.py), on NODE_PATH after layers
    runtime_node_modules: str | None = None
    # what the sandbox's own mount namespace has (overcast.runtime.mounts): (host directory, path
    # in the sandbox) for code_dir at /var/task, opt_dir at /opt, the interpreters at /var/lang;
    # and the argv prefix that makes it for a runtime started for the function (mounts.mount_prefix).
    # Not mounted, a directory's own path stands for its AWS path
    mounts: Mounts = ()
    mount_argv: list[str] = field(default_factory=list)
    # AWS_LAMBDA_INITIALIZATION_TYPE: "snap-start" for a published version with SnapStart, whose
    # runtime then asks /runtime/restore/next between its before-snapshot and after-restore hooks
    init_type: str = "on-demand"
    # where the modules compiled from the function's code and layers go when its code is mounted
    # read-only (sitecustomize.keep_compiled_code_in): one per code version, the function's own
    pycache: str | None = None
    # a Python runtime's own awslambdaric and boto3, when it runs on an interpreter installed for
    # it (overcast.runtime.python_runtimes): put on sys.path by sitecustomize
    site: str | None = None
    # a /tmp of its own (mounts.private_tmp: its size, the host's directories it keeps), as root
    tmp: PrivateTmp | None = None

    def sees(self, point: str) -> bool:
        """Whether the sandbox has its own directory at this AWS path (/var/task, /opt, /var/lang)."""
        return any(target == point for _, target in self.mounts)

    @property
    def task_root(self) -> str:
        """LAMBDA_TASK_ROOT: /var/task, or the code's own directory where it is not mounted there."""
        return TASK if self.sees(TASK) else self.code_dir


@dataclass(slots=True)
class Outcome:
    payload: bytes
    error_type: str | None  # None: success; else the function error ("Unhandled")
    lines: list[str]
    duration_ms: float
    init_ms: float | None
    max_memory_mb: int
    fatal: bool = False  # the sandbox is gone (timeout, exit, init error)
    stream: str = ""  # the log stream of the sandbox that ran it
    log_text: str = ""  # the invocation's log as written to CloudWatch Logs (set by the provider)
    init_failed: bool = False  # the runtime failed to start (the payload is the init error)
    # the sandbox whose peak memory max_memory_mb is still to be read (measure_memory): read once
    # the caller's answer is on its way rather than before it (reading /proc/PID/status costs the
    # kernel 10-30 us)
    memory_of: Sandbox | None = None

    def measure_memory(self) -> None:
        if self.memory_of is not None:
            self.max_memory_mb = self.memory_of._max_memory()
            self.memory_of = None


class InitError(Exception):
    def __init__(self, payload: bytes, lines: list[str], init_ms: float):
        super().__init__("init failed")
        self.payload = payload
        self.lines = lines
        self.init_ms = init_ms


class _Pipe(asyncio.Protocol):
    def __init__(self, sandbox):
        self.sandbox = sandbox

    def data_received(self, data):
        self.sandbox._output(data)

    def connection_lost(self, exc):
        self.sandbox._output(b"", eof=True)


def _time_out(result: asyncio.Future) -> None:
    if not result.done():
        result.set_result(("timeout", b""))


def _ruby_paths(spec: FunctionSpec, opt: str | None) -> dict[str, str]:
    """RUBYLIB and GEM_PATH as AWS's Ruby runtimes set them: the function's code and its bundled
    gems (`vendor/bundle/ruby/3.x.0`), then its layers' `ruby/lib` and `ruby/gems/3.x.0`."""
    version = f"{spec.runtime[len('ruby'):]}.0"
    rubylib = [spec.task_root]
    gem_path = [os.path.join(spec.task_root, "vendor", "bundle", "ruby", version)]
    if opt:
        rubylib.append(os.path.join(opt, "ruby", "lib"))
        gem_path.append(os.path.join(opt, "ruby", "gems", version))
    # (the separator at the end: RubyGems adds its default path after these, the host Ruby's own gems)
    return {"RUBYLIB": ":".join(rubylib), "GEM_PATH": ":".join(gem_path) + ":"}


class Sandbox:
    def __init__(self, spec: FunctionSpec):
        self.spec = spec
        self.id = uuid.uuid4().hex
        day = time.strftime("%Y/%m/%d", time.gmtime())
        self.log_stream = f"{day}/[{spec.version}]{self.id}"
        self.process: asyncio.subprocess.Process | None = None
        self.server = None
        self.port = 0
        self.busy = False
        self.dead = False
        self.idle_handle: asyncio.TimerHandle | None = None  # the idle reaper's timer (runtime/pool.py)
        self.idle_since: float | None = None  # loop time it went idle; None while busy
        # its event loop, known from start() on (asyncio.get_running_loop() costs a getpid() call)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lines: deque[str] = deque()
        self._line_bytes = 0
        self._partial = b""
        self._waiting_next = None  # the connection parked on GET /next
        self._queued: tuple | None = None  # (request id, headers, body) waiting for a /next
        self._ready: asyncio.Future | None = None
        self._result: asyncio.Future | None = None
        self._request_id: str | None = None
        self._init_error: bytes | None = None
        self._exit_task: asyncio.Task | None = None
        self._ack = None  # the connection whose /response or /error awaits its 202
        self._output_fd: int | None = None  # the read end of its stdout and stderr (non-blocking)
        self._status_fd: int | None = None  # its /proc/PID/status, kept open (one pread per invocation)
        self.exit_reason: str | None = None
        self.invocations = 0

    # -- process -------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        spec = self.spec
        env = {
            **spec.environment,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.port}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": spec.init_type,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "LAMBDA_TASK_ROOT": spec.task_root,
            "_HANDLER": spec.handler,
            "AWS_ACCESS_KEY_ID": spec.credentials[0] if spec.credentials else spec.account,
            "AWS_SECRET_ACCESS_KEY": spec.credentials[1] if spec.credentials else "overcast",
            "AWS_SESSION_TOKEN": spec.credentials[2] if spec.credentials else "overcast",
            "AWS_ENDPOINT_URL": spec.endpoint,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
        if not spec.runtime.startswith("provided"):  # (AWS's custom runtimes have neither)
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
            env["PWD"] = spec.task_root
        if spec.xray_daemon:  # where the X-Ray SDK sends segments: overcast's daemon port (docs/xray.md)
            env["AWS_XRAY_DAEMON_ADDRESS"] = spec.xray_daemon
        env.update(self._aws_paths() if spec.sees(RUNTIME) else self._own_paths())
        # what AWS lets a function set of these: its own value, as on AWS (reserved ones are refused
        # when the function is created)
        env.update({name: spec.environment[name] for name in _FUNCTION_MAY_SET if name in spec.environment})
        return env

    def _aws_paths(self) -> dict[str, str]:
        """The paths of a sandbox that sees AWS's directories (/var/task, /var/runtime, /opt: the
        server runs as root), set as AWS's runtimes set them: no HOME (the sandbox's user is in its
        /etc/passwd) and no TMPDIR; Python's layer paths are put on sys.path by overcast's
        sitecustomize, which is /var/runtime's (PYTHONPATH), as AWS's bootstrap puts them there."""
        spec = self.spec
        path = [os.path.join(LANG, "bin")] if spec.sees(LANG) else []
        path += [os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), os.path.join(OPT, "bin")]
        # (AWS's LD_LIBRARY_PATH, as its docs list it: /var/lang/lib has the libpython of a Python
        # installed for the runtime, mounted at /var/lang: python_runtimes.py)
        env = {"PATH": ":".join(path), "LAMBDA_RUNTIME_DIR": RUNTIME,
               "LD_LIBRARY_PATH": ":".join([os.path.join(LANG, "lib"), "/lib64", "/usr/lib64", RUNTIME,
                                            os.path.join(RUNTIME, "lib"), TASK, os.path.join(TASK, "lib"),
                                            os.path.join(OPT, "lib")])}
        runtime = spec.runtime
        if runtime.startswith("python"):
            env["PYTHONPATH"] = RUNTIME
        elif runtime.startswith("nodejs"):
            major = runtime[len("nodejs"):].split(".")[0]
            env["NODE_PATH"] = ":".join([os.path.join(OPT, "nodejs", f"node{major}", "node_modules"),
                                         os.path.join(OPT, "nodejs", "node_modules"),
                                         os.path.join(RUNTIME, "node_modules"), RUNTIME, TASK])
        elif runtime.startswith("ruby"):
            env.update(_ruby_paths(spec, OPT), GEM_HOME=RUNTIME)
        if not runtime.startswith("provided"):
            env["SHLVL"] = "0"  # (AWS's runtimes start from a shell script that execs them)
        return env

    def _own_paths(self) -> dict[str, str]:
        """The paths of a sandbox that sees the host's file system (not root: its code in its own
        directory, its layers maybe at /opt): those directories' own paths stand for AWS's."""
        spec = self.spec
        # AWS's layer paths under /opt (or, where a sandbox cannot have its own /opt, under the
        # merged layers' own directory: overcast.runtime.layers)
        opt = (OPT if spec.sees(OPT) else spec.opt_dir) if spec.opt_dir else None
        task = spec.task_root
        pythonpath = [task]
        node_path, ld_path = [], [task, os.path.join(task, "lib")]
        path = [os.path.join(LANG, "bin")] if spec.sees(LANG) else []  # AWS's PATH starts with it
        path.append(os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
        if opt:
            # the runtime's own Python version (python3.12 -> lib/python3.12/site-packages), as on AWS
            version = spec.runtime if spec.runtime.startswith("python") else f"python{sys.version_info[0]}.{sys.version_info[1]}"
            # (AWS's bootstrap's order: the site-packages, then /opt/python)
            pythonpath += [os.path.join(opt, "python", "lib", version, "site-packages"), os.path.join(opt, "python")]
            # AWS's order: /opt/nodejs/nodeNN/node_modules, /opt/nodejs/node_modules, /var/runtime/node_modules
            major = spec.runtime[len("nodejs"):].split(".")[0] if spec.runtime.startswith("nodejs") else "20"
            node_path += [os.path.join(opt, "nodejs", f"node{major}", "node_modules"), os.path.join(opt, "nodejs", "node_modules")]
            path.append(os.path.join(opt, "bin"))  # AWS's PATH ends with /opt/bin
            ld_path.append(os.path.join(opt, "lib"))
        # last: overcast's sitecustomize (*.localhost.localstack.cloud resolves to 127.0.0.1; boto3's
        # https:// to those hosts goes over http) — see overcast/runtime/site/sitecustomize.py
        pythonpath.append(_SITE_DIR)
        if spec.runtime_node_modules:
            node_path.append(spec.runtime_node_modules)
        node_path.append(task)  # AWS's NODE_PATH ends with /var/task
        env = {
            "PATH": ":".join(path),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": ":".join(pythonpath),
            "PYTHONUNBUFFERED": "1",
            "LD_LIBRARY_PATH": ":".join(ld_path),
            "LAMBDA_RUNTIME_DIR": os.path.dirname(os.path.abspath(__file__)),
        }
        if spec.runtime.startswith("nodejs"):  # (AWS sets it for Node.js functions only)
            env["NODE_PATH"] = ":".join(node_path)
        if spec.runtime.startswith("ruby"):
            env.update(_ruby_paths(spec, opt))
        if spec.tmp_dir:  # its own user: temporary files in its own directory
            env["TMPDIR"] = env["HOME"] = spec.tmp_dir
        return env

    async def start(self, spare=None) -> float:
        """Spawn the runtime (or hand the function to `spare`, a Python runtime started ahead of
        need: overcast.runtime.spares.Spares) and wait until it asks for its first invocation;
        returns the init duration in ms. Raises InitError when the function cannot start."""
        loop = self.loop = asyncio.get_running_loop()
        self.server, self.port = await serve(self)
        self._ready = loop.create_future()
        begin = time.perf_counter()
        if spare is not None:
            self.process, read_fd = spare.process, spare.read_fd
            spare.hand_over(orjson.dumps(self._handover(spare)) + b"\n")
            await loop.connect_read_pipe(lambda: _Pipe(self), os.fdopen(read_fd, "rb", buffering=0))
            self._output_fd = read_fd
            self._exit_task = loop.create_task(self._watch_exit())
            return await self._initialised(begin)
        read_fd, write_fd = os.pipe()
        try:
            self.process = await start_process(
                [*self._limit_prefix(), *self.spec.mount_argv, *self._as_its_user()],
                self.spec.code_dir, self._environment(), write_fd)
        except OSError as e:
            os.close(read_fd)
            os.close(write_fd)
            self._close_server()
            self.dead = True
            payload = orjson.dumps({"errorMessage": f"RequestId: {self._request_id or ''} Error: {e}",
                                    "errorType": "Runtime.InvalidEntrypoint"})
            raise InitError(payload, [f"Error: {e}"], 0.0) from None
        os.close(write_fd)
        await loop.connect_read_pipe(lambda: _Pipe(self), os.fdopen(read_fd, "rb", buffering=0))
        self._output_fd = read_fd
        self._set_limits()
        self._exit_task = loop.create_task(self._watch_exit())
        return await self._initialised(begin)

    def _as_its_user(self) -> list[str]:
        """The runtime's command behind setpriv, which makes it the function's user (when it has
        one) and kills it with the server: what a fresh start and a launcher spare both exec."""
        return [*_DIE_WITH_PARENT, *self.spec.user_options, *(["--"] if _DIE_WITH_PARENT else []),
                *self._wrapper(), *self._interpreter()]

    def _wrapper(self) -> list[str]:
        """AWS_LAMBDA_EXEC_WRAPPER: a script that starts the runtime (its command as arguments),
        as AWS runs it. Its path names /var/task or /opt as on AWS: the function's code directory
        and its layers' directory where the sandbox does not have them there."""
        spec = self.spec
        wrapper = spec.environment.get("AWS_LAMBDA_EXEC_WRAPPER")
        if not wrapper:
            return []
        if (wrapper == TASK or wrapper.startswith(TASK + "/")) and not spec.sees(TASK):
            wrapper = spec.code_dir + wrapper[len(TASK):]
        elif (wrapper == OPT or wrapper.startswith(OPT + "/")) and spec.opt_dir and not spec.sees(OPT):
            wrapper = spec.opt_dir + wrapper[len(OPT):]
        return [wrapper]

    def _interpreter(self) -> list[str]:
        """The runtime's command; a Python one told where the modules compiled from its read-only
        code go and where its own packages are (command-line options: not in the function's
        environment; runtime/site/sitecustomize.py reads them)."""
        argv, spec = self.spec.interpreter, self.spec
        options = [*(["-X", f"overcast_pycache={spec.pycache}"] if spec.pycache else []),
                   *(["-X", f"overcast_site={spec.site}"] if spec.site else [])]  # (set for Python runtimes only)
        return [argv[0], *options, *argv[1:]] if options else argv

    def _handover(self, spare) -> dict:
        """What a spare needs to become this function's runtime, or, as its launcher, to exec it
        (overcast/runtime/spare_runtime.py): then setpriv makes it the function's user, as for a
        runtime started without a spare (an exec that setpriv does reaches an interpreter a
        process already changed to that user may not)."""
        spec = self.spec
        uid, command = (spec.uid if spec.user_options else None), None
        if spare.launches:
            uid = None
            command = self._as_its_user()
        return {"env": self._environment(), "cwd": spec.task_root, "handler": spec.handler,
                "mounts": spec.mounts, "tmp": spec.tmp, "pycache": spec.pycache,
                "limit": self._memory_limit_bytes() if spec.memory_limit else None, "nofile": NOFILE,
                "uid": uid, "parent": os.getpid(), "exec": command,
                "spare_env": spare.env, "spare_pythonpath": spare.pythonpath}

    async def _initialised(self, begin: float) -> float:
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), max(INIT_TIMEOUT, self.spec.timeout))
        except TimeoutError:
            init_ms = (time.perf_counter() - begin) * 1000
            self.kill()
            await self._settle_output()
            seconds = max(INIT_TIMEOUT, self.spec.timeout)
            payload = orjson.dumps({"errorType": "Sandbox.Timedout",
                                    "errorMessage": f"RequestId: {self._request_id or ''} Error: Task timed out after "
                                                    f"{seconds:.2f} seconds"})
            raise InitError(payload, self._take_lines() + [f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\t"
                                                           "Status: timeout"], init_ms) from None
        init_ms = (time.perf_counter() - begin) * 1000
        if self._init_error is not None or self.dead:
            await self._settle_output()
            lines = self._take_lines()
            self.kill()
            payload = self._init_error or orjson.dumps(self._exit_error(""))
            raise InitError(payload, lines, init_ms)
        return init_ms

    def _memory_limit_bytes(self) -> int:
        return (self.spec.memory + 1024) * MB

    def _limit_prefix(self) -> list[str]:
        """prlimit in the exec chain: the limits are in place before the runtime's first
        instruction. (Set from outside just after the spawn instead, Node's limit on file
        descriptors was refused now and then with EPERM, and a function then had the server's.)"""
        if _PRLIMIT is None:
            return []
        limits = [f"--nofile={NOFILE}:{NOFILE}"]
        if self.spec.memory_limit:
            limit = self._memory_limit_bytes()
            limits.append(f"--as={limit}:{limit}")
        return [_PRLIMIT, *limits, "--"]

    def _set_limits(self):
        """Where there is no prlimit to exec: Lambda's file descriptors (NOFILE), and RLIMIT_AS for
        Python and provided runtimes: the memory size plus generous headroom (interpreters reserve
        far more address space than they touch; Node reserves huge virtual ranges, so it gets
        --max-old-space-size instead, see pool.command_for), set from outside after the spawn."""
        if self.process is None or _PRLIMIT is not None:
            return  # prlimit in the exec chain set them
        try:
            resource.prlimit(self.process.pid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
            if self.spec.memory_limit:
                limit = self._memory_limit_bytes()
                resource.prlimit(self.process.pid, resource.RLIMIT_AS, (limit, limit))
        except (OSError, ValueError, AttributeError):
            pass

    async def _watch_exit(self):
        code = await self.process.wait()
        if code < 0:
            name = _SIGNALS.get(-code, f"signal {-code}")
            self.exit_reason = f"signal: {name}"
        else:
            self.exit_reason = f"exit status {code}"
        self.dead = True
        await self._settle_output()
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        if self._result is not None and not self._result.done():
            self._result.set_result(("exit", orjson.dumps(self._exit_error(self._request_id or ""))))
        self._close_server()

    def _exit_error(self, request_id: str) -> dict:
        return {"errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {self.exit_reason or 'exit status 1'}"}

    def kill(self):
        self.dead = True
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None
        if self.process is not None and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    self.process.kill()
                except ProcessLookupError:
                    pass
        self._close_server()

    def _close_server(self):
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self._waiting_next is not None and self._waiting_next.transport is not None:
            self._waiting_next.transport.close()
        self._waiting_next = None

    # -- output --------------------------------------------------------------------------------

    def _output(self, data: bytes, eof: bool = False):
        data = self._partial + data
        parts = data.split(b"\n")
        self._partial = b"" if eof else parts.pop()
        if len(self._partial) > MAX_LINE:  # a very long line without a newline: cut it into events
            parts.append(self._partial)
            self._partial = b""
        for raw in parts:
            if not raw and eof:
                continue
            line = raw.decode("utf-8", "replace").rstrip("\r")
            self._lines.append(line)
            self._line_bytes += len(line) + 1
            while self._line_bytes > LOG_BUDGET and len(self._lines) > 1:
                self._line_bytes -= len(self._lines.popleft()) + 1

    def _drain_output(self):
        """Read what the runtime wrote before its /response or /error (it wrote it first, so it is
        in the pipe now), without waiting for the loop to get to the pipe."""
        try:
            while True:
                data = os.read(self._output_fd, 65536)
                if not data:
                    return  # end of file: the transport sees it too, and reports it
                self._output(data)
        except (BlockingIOError, OSError, TypeError):
            return

    async def _settle_output(self):
        """Let output the process wrote before its last Runtime API call be read first."""
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    def _take_lines(self) -> list[str]:
        if self._partial:
            self._output(b"\n")
        lines = list(self._lines)
        self._lines.clear()
        self._line_bytes = 0
        return lines

    # -- Runtime API ---------------------------------------------------------------------------

    @property
    def owner_uid(self) -> int | None:
        return self.spec.uid

    def on_connection_lost(self, conn):
        if self._waiting_next is conn:
            self._waiting_next = None

    def on_request(self, conn, method, target, headers, body):
        if method == "GET" and target == _NEXT:
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
            if self._queued is not None:
                request_id, event_headers, payload = self._queued
                self._queued = None
                conn.respond(200, payload, event_headers)
            else:
                self._waiting_next = conn
            return
        if method == "POST" and target.startswith(_PREFIX):
            request_id, _, action = target[len(_PREFIX):].partition("/")
            if request_id != self._request_id or self._result is None or self._result.done():
                conn.respond(400, b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}')
                return
            # the runtime's 202 is sent once the invocation's own answer is on its way (invoke):
            # sent now, it would wake the runtime to compete for a core with that answer
            if action == "response":
                self._ack = conn
                self._result.set_result(("ok", body))
                return
            if action == "error":
                self._ack = conn
                self._result.set_result(("error", self._error_body(body, headers)))
                return
        if method == "GET" and target == _RESTORE_NEXT:
            # SnapStart: the runtime ran its before-snapshot hooks and waits to be restored. overcast
            # takes no snapshot: the initialised process itself goes on, at once, to its after-restore
            # hooks (and then its first /invocation/next)
            conn.respond(200, b"")
            return
        if method == "POST" and target in (_INIT_ERROR, _RESTORE_ERROR):  # a hook that failed fails the init
            conn.respond(202, b'{"status":"OK"}')
            self._init_error = self._error_body(body, headers)
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
            return
        conn.respond(404, b'{"errorMessage":"Not found","errorType":"InvalidRequest"}')

    @staticmethod
    def _error_body(body: bytes, headers: dict) -> bytes:
        try:
            value = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            value = {"errorMessage": body.decode("utf-8", "replace"),
                     "errorType": headers.get("lambda-runtime-function-error-type", "Runtime.Unknown")}
        value.setdefault("errorType", headers.get("lambda-runtime-function-error-type", "Runtime.Unknown"))
        return orjson.dumps(value)

    # -- invoke --------------------------------------------------------------------------------

    async def invoke(self, request_id: str, payload: bytes, invoked_arn: str, client_context: str | None = None,
                     cognito_identity: str | None = None, init_ms: float | None = None) -> Outcome:
        loop = self.loop or asyncio.get_running_loop()
        self.invocations += 1
        self._request_id = request_id
        self._result = loop.create_future()
        timeout = self.spec.timeout
        deadline_ms = int((time.time() + timeout) * 1000)
        headers = [("Lambda-Runtime-Aws-Request-Id", request_id),
                   ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                   ("Lambda-Runtime-Invoked-Function-Arn", invoked_arn),
                   # the invocation's span (overcast.tracing) is current: the function's SDK calls join its
                   # trace, and carry its Lineage (recursive loop detection) where AWS carries it
                   ("Lambda-Runtime-Trace-Id", tracing.current_lineage_header() or tracing.random_header())]
        if client_context:
            headers.append(("Lambda-Runtime-Client-Context", client_context))
        if cognito_identity:
            headers.append(("Lambda-Runtime-Cognito-Identity", cognito_identity))
        begin = time.perf_counter()
        if self.dead:
            self._result.set_result(("exit", orjson.dumps(self._exit_error(request_id))))
        elif self._waiting_next is not None and self._waiting_next.transport is not None:
            conn, self._waiting_next = self._waiting_next, None
            conn.respond(200, payload, headers)
        else:
            self._queued = (request_id, headers, payload)
        fatal = False
        # a timer rather than wait_for(shield(...)): the answer reaches this task in one step of the
        # loop, not three (each future in that chain hands it on with a callback of its own)
        timer = loop.call_later(timeout, _time_out, self._result)
        try:
            kind, body = await self._result
        finally:
            timer.cancel()
        if kind == "timeout":
            duration = (time.perf_counter() - begin) * 1000
            self.kill()
            await self._settle_output()
            message = f"Task timed out after {timeout:.2f} seconds"
            lines = self._take_lines()
            lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}.{int(time.time() * 1000) % 1000:03d}Z "
                         f"{request_id} {message}")
            body = orjson.dumps({"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"})
            return Outcome(body, "Unhandled", lines, duration, init_ms, self._max_memory(), fatal=True,
                           stream=self.log_stream)
        duration = (time.perf_counter() - begin) * 1000
        if kind == "exit":
            fatal = True
            self.kill()
            await self._settle_output()
        else:
            self._drain_output()
        if self._ack is not None:
            # after this task's current step, which carries the answer to the caller's socket
            loop.call_soon(self._ack.respond, 202, b'{"status":"OK"}')
            self._ack = None
        lines = self._take_lines()
        if kind == "exit":
            lines.append(f"RequestId: {request_id} Error: Runtime exited with error: {self.exit_reason or 'exit status 1'}")
            lines.append("Runtime.ExitError")
        self._request_id = None
        if fatal:
            return Outcome(body, "Unhandled", lines, duration, init_ms, self._max_memory(), fatal=True,
                           stream=self.log_stream)
        return Outcome(body, None if kind == "ok" else "Unhandled", lines, duration, init_ms, 0,
                       stream=self.log_stream, memory_of=self)

    def _max_memory(self) -> int:
        if self.process is None:
            return 0
        try:  # one read of the whole file, opened once (a buffered file object costs more than the read)
            if self._status_fd is None and not self.dead:
                self._status_fd = os.open(f"/proc/{self.process.pid}/status", os.O_RDONLY | os.O_CLOEXEC)
            if self._status_fd is not None:
                status = os.pread(self._status_fd, 8192, 0)
            else:  # a sandbox that is gone (its kill closed the file): what is left of it
                fd = os.open(f"/proc/{self.process.pid}/status", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    status = os.read(fd, 8192)
                finally:
                    os.close(fd)
            at = status.find(b"VmHWM:")
            if at >= 0:
                return max(1, int(status[at + 6:status.find(b"\n", at)].split()[0]) // 1024)
        except (OSError, ValueError, IndexError):
            pass
        return 0
