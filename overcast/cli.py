"""`overcast start | status | reset | trace | aws | install-node-sdk | install-python-runtimes | install-node-runtimes | migrate`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile

import uvicorn

from overcast import __version__
from overcast.config import Config
from overcast.storage.errors import SchemaTooNew, StorageUnavailable


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["aws"]:  # `overcast aws ...`: everything after `aws` is the AWS CLI's
        from overcast.awslocal import main as aws_main

        aws_main(argv[1:])
    parser = argparse.ArgumentParser(prog="overcast", description="The serverless cloud on your own machine.")
    parser.add_argument("--version", action="version", version=f"overcast {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="serve the AWS APIs on one port")
    start.add_argument("--host", help="address to listen on (default 127.0.0.1, OVERCAST_HOST)")
    start.add_argument("--port", type=int, help="port to listen on (default 4566, OVERCAST_PORT; 0 picks a free one)")
    start.add_argument("--data-dir", help="where state is kept (OVERCAST_DATA_DIR, default ~/.local/share/overcast)")
    start.add_argument("--ephemeral", action="store_true", help="keep state in a temporary directory removed on exit")
    start.add_argument("--log-level", help="debug, info, warning (default), error")
    start.add_argument("--allowed-hosts", help="more host names to serve, comma-separated, *.suffix or * "
                       "(OVERCAST_ALLOWED_HOSTS; see docs/security.md)")
    start.add_argument("--max-connections", type=int,
                       help="open connections before new ones get 503 (OVERCAST_MAX_CONNECTIONS; "
                            "default: 90%% of the open-file limit, less a reserve)")
    start.add_argument("--verify-signatures", action="store_true", default=None,
                       help="check SigV4 signatures against the keys' secrets (OVERCAST_VERIFY_SIGNATURES; "
                            "keys in OVERCAST_CREDENTIALS or --credentials)")
    start.add_argument("--credentials", help="keys clients sign with: AKID:SECRET[:ACCOUNT],... or @file "
                                             "(OVERCAST_CREDENTIALS)")
    start.add_argument("--tls-cert", help="certificate (chain) to serve HTTPS with, PEM (OVERCAST_TLS_CERT; "
                                          "default: overcast's own under <data dir>/tls, see docs/https.md)")
    start.add_argument("--tls-key", help="the certificate's private key, PEM (OVERCAST_TLS_KEY)")
    start.add_argument("--database", help="keep state in PostgreSQL: postgresql://user@host:port/dbname "
                                          "(OVERCAST_DATABASE_URL; default: SQLite in the data directory; "
                                          "docs/cluster.md)")

    migrate = commands.add_parser("migrate", help="bring the database's schema up to this version and exit")
    migrate.add_argument("--database", help="PostgreSQL URL (OVERCAST_DATABASE_URL); default: the SQLite "
                                            "database in the data directory")
    migrate.add_argument("--data-dir", help="data directory of the SQLite database (OVERCAST_DATA_DIR)")

    trace = commands.add_parser("trace", help="tail the trace of everything overcast does, live (docs/tracing.md)")
    trace.add_argument("--host", help="address of the running overcast (default 127.0.0.1)")
    trace.add_argument("--port", type=int, help="port of the running overcast (default 4566)")
    trace.add_argument("--service", help="only spans of this service (sqs, lambda, dynamodb, ...)")
    trace.add_argument("--resource", help="only spans whose resource ARN contains this text")
    trace.add_argument("--status", choices=("ok", "error"), help="only spans that succeeded, or failed")
    trace.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="color the output (auto: when writing to a terminal and NO_COLOR is not set)")
    trace.add_argument("--json", action="store_true", help="print each span as one line of JSON")

    commands.add_parser("aws", help="run the AWS CLI against this overcast (the same as `awslocal`)")
    # what overcast installs for its sandboxes, each into a directory a setting names (config.py)
    for name, text, dest, directory in (
            ("install-node-sdk", "install the AWS SDK for JavaScript v3 for Node.js functions (from npm), as AWS's "
             "Node.js runtimes include it", "node_sdk_path", "node-sdk"),
            ("install-python-runtimes", "install AWS's runtime interface client and boto3 for each python3.X on "
             "PATH, so that python3.X functions run on Python 3.X", "python_runtimes_path", "python-runtimes"),
            ("install-node-runtimes", "install Node.js of each nodejs*.x runtime's version (from npm), so that "
             "nodejs22.x functions run on Node.js 22", "node_runtimes_path", "node-runtimes")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--path", dest=dest, help=f"directory to install into (OVERCAST_{dest.upper()}; default "
                                                   f"~/.local/share/overcast-{directory}, or "
                                                   f"/usr/local/lib/overcast/{directory} as root)")
    for name, text in (("status", "show whether overcast is running"), ("reset", "delete all state")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", help="address of the running overcast (default 127.0.0.1)")
        sub.add_argument("--port", type=int, help="port of the running overcast (default 4566)")
        if name == "reset":
            sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
            sub.add_argument("--data-dir", help="data directory to clear when overcast is not running")
            sub.add_argument("--database", help="PostgreSQL database to clear when overcast is not running "
                                                "(OVERCAST_DATABASE_URL)")

    args = parser.parse_args(argv)
    config = Config.from_env()
    for field in ("host", "port", "data_dir", "log_level", "allowed_hosts", "max_connections", "verify_signatures",
                  "credentials", "node_sdk_path", "python_runtimes_path", "node_runtimes_path", "tls_cert", "tls_key", "database"):
        value = getattr(args, field, None)
        if value is not None:
            setattr(config, field, value)
    if getattr(args, "ephemeral", False):
        config.ephemeral = True
    handlers = {"start": start_command, "status": status_command, "reset": reset_command, "trace": trace_command,
                "install-node-sdk": install_node_sdk_command, "install-python-runtimes": install_python_runtimes_command,
                "install-node-runtimes": install_node_runtimes_command,
                "migrate": migrate_command}
    sys.exit(handlers[args.command](config, args))


def start_command(config: Config, args) -> int:
    from overcast.server import OvercastApp

    # Files the server writes (database, blobs) and those its Lambda sandboxes write are private
    # to their owner (docs/security.md).
    os.umask(0o077)

    temporary = None
    if config.ephemeral:
        temporary = config.data_dir = tempfile.mkdtemp(prefix="overcast-")
    try:
        app = OvercastApp(config)
        try:
            app.open()  # the database first: out of reach, it is one line and an exit code, no traceback
        except (StorageUnavailable, SchemaTooNew) as e:
            print(f"overcast: {e}", file=sys.stderr, flush=True)
            return 1
        server = _Server(
            uvicorn.Config(
                app,
                host=config.host,
                port=config.port,
                loop="uvloop" if _has("uvloop") else "asyncio",
                http=_http_protocol(config),
                h11_max_incomplete_event_size=config.max_header_bytes,
                ws=_ws_protocol(),
                lifespan="on",
                log_level=config.log_level,
                access_log=False,
                server_header=False,
                date_header=True,  # AWS answers carry Date (uvicorn formats it once a second)
            ),
            config,
        )
        # uvicorn handles SIGINT/SIGTERM (graceful shutdown) and re-raises the signal once it has
        # stopped; these handlers absorb that re-raise so the clean-up below runs and we exit 0.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        server.run()
        return 0 if server.started else 1
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def install_node_sdk_command(config: Config, args) -> int:
    from overcast.runtime.node_sdk import install

    return install(config.node_sdk_path)


def install_python_runtimes_command(config: Config, args) -> int:
    from overcast.runtime.python_runtimes import install

    return install(config.python_runtimes_path)


def install_node_runtimes_command(config: Config, args) -> int:
    from overcast.runtime.node_runtimes import install

    return install(config.node_runtimes_path)


def migrate_command(config: Config, args) -> int:
    """Create or upgrade every service's tables (a cluster's nodes then start without migrating)."""
    from overcast.storage import open_database
    from overcast.storage.schemas import migrate_all, older_nodes

    if not config.postgres:
        os.makedirs(config.data_dir, mode=0o700, exist_ok=True)
    try:
        db = open_database(config)
    except StorageUnavailable as e:
        print(f"overcast: {e}", file=sys.stderr)
        return 1
    try:
        older = older_nodes(db, __version__) if config.postgres else []
        if older:
            listed = ", ".join(f"{node} at {address} (version {version})" for node, version, address in older)
            print(f"overcast: overcast {__version__} refuses to migrate the cluster's schema while nodes of an "
                  f"older version run: {listed}. Stop them first (docs/cluster.md, upgrading).", file=sys.stderr)
            return 1
        with db.transaction():
            changed = migrate_all(db, config.postgres)
    except SchemaTooNew as e:
        print(f"overcast: {e}", file=sys.stderr)
        return 1
    finally:
        db.close()
    where = db.url if config.postgres else config.database_path
    if changed:
        print(f"overcast migrate: {where}: " + ", ".join(f"{name} {old} -> {new}" for name, old, new in changed))
    else:
        print(f"overcast migrate: {where}: up to date")
    return 0


def _http_protocol(config: Config):
    """uvicorn's httptools protocol with overcast's connection limits (overcast.connections);
    h11, which limits header size itself, where httptools is missing."""
    if not _has("httptools"):
        return "h11"
    from overcast.connections import connection_cap, protocol_class, raise_open_file_limit

    open_files = raise_open_file_limit()
    cap = config.max_connections or connection_cap(open_files)
    return protocol_class(cap, config.max_header_bytes, config.request_timeout, config)


def _ws_protocol():
    """WebSocket upgrades: uvicorn's protocol, imported on the first one (overcast.connections)."""
    from overcast.connections import LazyWebSocketProtocol

    return LazyWebSocketProtocol


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


class _Server(uvicorn.Server):
    """uvicorn's server, printing one line once the socket listens."""

    def __init__(self, uv_config, config: Config):
        super().__init__(uv_config)
        self.overcast_config = config

    async def on_tick(self, counter: int) -> bool:
        exit_now = await super().on_tick(counter)
        if counter % 10 == 0:  # uvicorn has just made the Date header (once a second): spelt as AWS's
            self.server_state.default_headers = [(b"Date", v) if k == b"date" else (k, v)
                                                 for k, v in self.server_state.default_headers]
        return exit_now

    async def startup(self, sockets=None):
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        self.overcast_config.port = port  # the port actually bound (--port 0), for URLs services hand out
        await self.config.app.listening()  # what listens beside the port (overcast.server)
        shown = "localhost" if host in ("127.0.0.1", "::1") else host
        print(f"overcast {__version__} ready on http://{shown}:{port} (data: {self.overcast_config.data_dir})", flush=True)


def _url(config: Config, path: str) -> str:
    return config.local_url + path


def status_command(config: Config, args) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(_url(config, "/_overcast/health"), timeout=5) as response:
            health = json.load(response)
    except (urllib.error.URLError, OSError):
        print(f"overcast is not running on {_url(config, '')}")
        return 1
    running = [name for name, state in health["services"].items() if state == "running"]
    print(f"overcast {health['version']} running on {_url(config, '')}")
    print(f"  data:     {health['data_dir']}{' (ephemeral)' if health.get('ephemeral') else ''}")
    print(f"  uptime:   {health['uptime_seconds']:.0f} s")
    print(f"  services: {', '.join(sorted(health['services']))} (in use: {', '.join(sorted(running)) or 'none'})")
    if health.get("cluster"):
        try:
            with urllib.request.urlopen(_url(config, "/_overcast/cluster"), timeout=5) as response:
                _print_cluster(json.load(response))
        except (urllib.error.URLError, OSError) as e:
            print(f"  cluster:  not readable ({e})")
    return 0


def _print_cluster(cluster: dict) -> None:
    """The nodes of the cluster, their load and the leases they hold (docs/cluster.md)."""
    leases: dict[str, list[str]] = {}
    for lease in cluster["leases"]:
        leases.setdefault(lease["holder"], []).append(lease["name"])
    alive = [n for n in cluster["nodes"] if n["alive"]]
    print(f"  cluster:  {len(alive)} live node(s); heartbeat {cluster['heartbeat_seconds']:g} s, "
          f"leases expire after {cluster['lease_seconds']:g} s")
    for node in cluster["nodes"]:
        mark = "*" if node["id"] == cluster["node"] else " "
        state = "alive" if node["alive"] else f"silent {node['heartbeat_age']:.0f} s"
        load = ", ".join(f"{k} {v}" for k, v in sorted(node["load"].items()))
        print(f"   {mark} {node['id']}  {node['address']}  v{node['version']}  {state}  ({load})")
        held = sorted(leases.get(node["id"], []))
        if held:
            print(f"        leases: {', '.join(held)}")
    orphans = sorted(name for holder, names in leases.items() for name in names
                     if holder not in {n['id'] for n in alive})
    if orphans:
        print(f"  leases of silent nodes (taken over within {cluster['lease_seconds']:g} s): {', '.join(orphans)}")


def reset_command(config: Config, args) -> int:
    import urllib.error
    import urllib.request

    if not args.yes:
        answer = input("Delete all overcast state (queues, messages, roles, ...)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    request = urllib.request.Request(_url(config, "/_overcast/reset"), method="POST", data=b"",
                                     headers={"X-Overcast-Request": "reset"})  # docs/security.md
    try:
        with urllib.request.urlopen(request, timeout=10):
            print("overcast reset: all state deleted")
            return 0
    except urllib.error.HTTPError as e:  # a server is there and did not reset: never delete under it
        print(f"overcast reset: the server at {_url(config, '')} answered {e.code}; nothing deleted", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if not isinstance(reason, ConnectionRefusedError):  # there, but slow or unreachable: likewise
            print(f"overcast reset: the server at {_url(config, '')} did not answer ({reason}); nothing deleted",
                  file=sys.stderr)
            return 1
    if config.postgres:  # not running: clear the database (its blobs are rows of it)
        from overcast.storage import open_database

        try:
            db = open_database(config)
        except StorageUnavailable as e:
            print(f"overcast: {e}", file=sys.stderr)
            return 1
        try:
            db.reset()
        finally:
            db.close()
        print(f"overcast reset: cleared {db.url}")
        return 0
    # Not running: clear the data directory instead.
    removed = False
    for name in ("overcast.db", "overcast.db-wal", "overcast.db-shm"):
        path = os.path.join(config.data_dir, name)
        if os.path.exists(path):
            os.unlink(path)
            removed = True
    shutil.rmtree(config.blob_dir, ignore_errors=True)
    print(f"overcast reset: cleared {config.data_dir}" if removed else f"overcast reset: nothing stored in {config.data_dir}")
    return 0


def trace_command(config: Config, args) -> int:
    """A live tail of the spans overcast records, from its server-sent events stream."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    from overcast.tracing.tail import Printer, read_events

    query = urlencode({k: v for k, v in (("service", args.service), ("resource", args.resource),
                                         ("status", args.status)) if v})
    url = _url(config, "/_overcast/traces/stream" + (f"?{query}" if query else ""))
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    printer = Printer(sys.stdout, color=color, as_json=args.json)
    try:
        response = urllib.request.urlopen(url, timeout=None)
    except urllib.error.HTTPError as e:
        print(f"overcast refused the trace stream: {e.code} {e.read().decode('utf-8', 'replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError):
        print(f"overcast is not running on {_url(config, '')}", file=sys.stderr)
        return 1
    print(f"tailing the trace of {_url(config, '')} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        with response:
            for event, data in read_events(response):
                printer.event(event, data)
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError):
        print("overcast closed the trace stream", file=sys.stderr)
        return 1
    print("overcast closed the trace stream", file=sys.stderr)
    return 1
