"""Every setting in one place: command-line flags override OVERCAST_* environment variables,
which override the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PORT = 4566


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "overcast")


def default_node_sdk_path() -> str:
    """Where `overcast install-node-sdk` puts the AWS SDK for JavaScript v3 that Node.js functions
    find (an npm prefix)."""
    return _install_path("node-sdk")


def default_python_runtimes_path() -> str:
    """Where `overcast install-python-runtimes` puts each python3.X runtime's packages
    (overcast.runtime.python_runtimes)."""
    return _install_path("python-runtimes")


def default_node_runtimes_path() -> str:
    """Where `overcast install-node-runtimes` puts each nodejs*.x runtime's Node.js
    (overcast.runtime.node_runtimes)."""
    return _install_path("node-runtimes")


def _install_path(name: str) -> str:
    """A directory of what overcast installs for its sandboxes. Running as root, sandboxes run as
    users of their own (runtime/isolation.py) who cannot enter /root, so root's is a system one."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return f"/usr/local/lib/overcast/{name}"
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, f"overcast-{name}")


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_dir: str = ""
    ephemeral: bool = False
    log_level: str = "warning"
    lambda_concurrency: int = 1000  # Lambda account concurrency limit per region (AWS default 1000)
    websocket_idle_seconds: float = 600.0  # API Gateway WebSocket idle timeout (AWS: 10 minutes)
    websocket_max_seconds: float = 7200.0  # API Gateway WebSocket connection duration (AWS: 2 hours)
    # seconds without a byte of a request body before RequestTimeout; also the time a connection
    # has to send a complete request head (line and headers), when opened or after an answer
    request_timeout: float = 20.0
    max_header_bytes: int = 64 * 1024  # a request's line and headers; larger ones get 431
    max_connections: int = 0  # open connections (WebSockets too); 0: derived from the open-file limit
    # Host names overcast answers to besides its own (docs/security.md): comma-separated names,
    # *.suffix wildcards, or * for any; pages on these hosts may also call the AWS APIs.
    allowed_hosts: str = ""
    cfn_custom_resource_timeout: float = 3600.0  # seconds CloudFormation waits for a custom resource (AWS: 1 h)
    verify_signatures: bool = False  # check SigV4 signatures against the keys' secrets (docs/security.md)
    credentials: str = ""  # keys users sign with: "AKID:SECRET[:ACCOUNT],..." or "@file" (docs/security.md)
    # npm prefix holding the AWS SDK for JavaScript v3 for Node.js functions (docs/lambda.md)
    node_sdk_path: str = ""
    python_runtimes_path: str = ""
    node_runtimes_path: str = ""
    # HTTPS on the port (docs/https.md): the user's own certificate (chain) and key, PEM files;
    # empty: overcast's own, made under <data dir>/tls/
    tls_cert: str = ""
    tls_key: str = ""
    # PostgreSQL (cluster mode, docs/cluster.md): a libpq URL or "key=value" string; empty: SQLite
    # in the data directory
    database: str = ""
    # cluster mode: the URL the other nodes reach this node at (PostToConnection and AppSync
    # subscriptions of sockets held here); default: the address this node listens on
    node_address: str = ""
    # The X-Ray daemon's UDP port that functions' X-Ray SDKs send segments to (docs/xray.md): ""
    # listens on UDP at the API's own port number, a number on that port, "off" not at all
    xray_daemon_port: str = ""
    # where that port was bound ("127.0.0.1:4566"), once the server listens; "" when it is not
    xray_daemon_address: str = ""
    # the trace of everything overcast does (docs/tracing.md): on by default; a ring of recent traces
    tracing: bool = True
    trace_traces: int = 1000  # traces kept (the oldest leave first)
    trace_spans: int = 100_000  # spans kept in all the traces together
    trace_payload_bytes: int = 4096  # bytes of each request and response payload kept with a span
    # an OpenTelemetry collector's OTLP/HTTP endpoint that spans are also sent to (docs/tracing.md);
    # empty: none. A base URL gets /v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT does
    otlp_endpoint: str = ""

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            host=os.environ.get("OVERCAST_HOST", "127.0.0.1"),
            port=int(os.environ.get("OVERCAST_PORT", DEFAULT_PORT)),
            data_dir=os.environ.get("OVERCAST_DATA_DIR", "") or default_data_dir(),
            ephemeral=_env_bool("OVERCAST_EPHEMERAL"),
            log_level=os.environ.get("OVERCAST_LOG_LEVEL", "warning"),
            lambda_concurrency=int(os.environ.get("OVERCAST_LAMBDA_CONCURRENCY", 1000)),
            websocket_idle_seconds=float(os.environ.get("OVERCAST_WEBSOCKET_IDLE_SECONDS", 600)),
            websocket_max_seconds=float(os.environ.get("OVERCAST_WEBSOCKET_MAX_SECONDS", 7200)),
            request_timeout=float(os.environ.get("OVERCAST_REQUEST_TIMEOUT", 20)),
            allowed_hosts=os.environ.get("OVERCAST_ALLOWED_HOSTS", ""),
            max_header_bytes=int(os.environ.get("OVERCAST_MAX_HEADER_BYTES", 64 * 1024)),
            max_connections=int(os.environ.get("OVERCAST_MAX_CONNECTIONS", 0)),
            cfn_custom_resource_timeout=float(os.environ.get("OVERCAST_CFN_CUSTOM_RESOURCE_TIMEOUT", 3600)),
            verify_signatures=_env_bool("OVERCAST_VERIFY_SIGNATURES"),
            credentials=os.environ.get("OVERCAST_CREDENTIALS", ""),
            node_sdk_path=os.environ.get("OVERCAST_NODE_SDK_PATH", "") or default_node_sdk_path(),
            python_runtimes_path=os.environ.get("OVERCAST_PYTHON_RUNTIMES_PATH", "") or default_python_runtimes_path(),
            node_runtimes_path=os.environ.get("OVERCAST_NODE_RUNTIMES_PATH", "") or default_node_runtimes_path(),
            tls_cert=os.environ.get("OVERCAST_TLS_CERT", ""),
            tls_key=os.environ.get("OVERCAST_TLS_KEY", ""),
            database=os.environ.get("OVERCAST_DATABASE_URL", ""),
            node_address=os.environ.get("OVERCAST_NODE_ADDRESS", ""),
            xray_daemon_port=os.environ.get("OVERCAST_XRAY_DAEMON_PORT", ""),
            tracing=_env_bool("OVERCAST_TRACING", True),
            trace_traces=int(os.environ.get("OVERCAST_TRACE_TRACES", 1000)),
            trace_spans=int(os.environ.get("OVERCAST_TRACE_SPANS", 100_000)),
            trace_payload_bytes=int(os.environ.get("OVERCAST_TRACE_PAYLOAD_BYTES", 4096)),
            otlp_endpoint=os.environ.get("OVERCAST_OTLP_ENDPOINT", ""),
        )

    @property
    def local_url(self) -> str:
        """The URL a client on this machine reaches overcast at (a wildcard listen address is
        reached on loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def postgres(self) -> bool:
        """State in PostgreSQL (cluster mode) rather than SQLite in the data directory."""
        return bool(self.database)

    @property
    def database_path(self) -> str:
        return os.path.join(self.data_dir, "overcast.db")

    @property
    def blob_dir(self) -> str:
        return os.path.join(self.data_dir, "blobs")
