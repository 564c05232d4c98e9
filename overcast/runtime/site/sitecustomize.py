"""Imported at start-up by every Python process in a Lambda sandbox (this directory is on the
sandbox's PYTHONPATH), so that the URLs overcast hands out work from inside functions with no
DNS and no TLS:

- `*.localhost.localstack.cloud` (API endpoints such as `{apiId}.execute-api.localhost.
  localstack.cloud:4566`, the domainName in API Gateway events) resolves to 127.0.0.1, as the
  public DNS record does, also where there is no DNS;
- boto3/botocore requests to those hosts over `https://` (as AWS's docs build the management API
  endpoint: `https://{domainName}/{stage}`) are sent over plain HTTP, which is what overcast
  serves.

And, where the function's code is mounted read-only at /var/task (overcast.runtime.mounts), the
modules compiled from it and from its layers (/opt) are kept in a directory of that code version's
(`keep_compiled_code_in`), where Python cannot write them beside their source as it would elsewhere.

Cheap: one function wrapper, and a hook that patches botocore only if and when it is imported.
"""

import socket as _socket
import sys as _sys

_SUFFIX = ".localhost.localstack.cloud"
_original_getaddrinfo = _socket.getaddrinfo


def _local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return isinstance(host, str) and (host.endswith(_SUFFIX) or host == _SUFFIX[1:])


def _getaddrinfo(host, *args, **kwargs):
    if _local(host):
        host = "127.0.0.1"
    return _original_getaddrinfo(host, *args, **kwargs)


_socket.getaddrinfo = _getaddrinfo


def _patch_botocore(module) -> None:
    from urllib.parse import urlsplit, urlunsplit

    session_class = getattr(module, "URLLib3Session", None)
    if session_class is None or getattr(session_class, "_overcast_patched", False):
        return
    original_send = session_class.send

    def send(self, request):
        parts = urlsplit(request.url)
        if parts.scheme == "https" and _local(parts.hostname):
            request.url = urlunsplit(("http", *parts[1:]))
        return original_send(self, request)

    session_class.send = send
    session_class._overcast_patched = True


class _BotocoreHook:
    """A meta path finder that patches botocore.httpsession once it has been executed."""

    def find_spec(self, name, path=None, target=None):
        if name != "botocore.httpsession":
            return None
        import importlib.util

        _sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def patched(module):
            exec_module(module)
            _patch_botocore(module)

        spec.loader.exec_module = patched
        return spec


if "botocore.httpsession" in _sys.modules:
    _patch_botocore(_sys.modules["botocore.httpsession"])
else:
    _sys.meta_path.insert(0, _BotocoreHook())


_READ_ONLY_CODE = ("/var/task/", "/opt/")


def keep_compiled_code_in(prefix: str) -> None:
    """Modules compiled from the function's code and layers go to `prefix` (as sys.pycache_prefix
    would put them), so that its later cold starts do not compile them again; every other module
    keeps its installed __pycache__ (with sys.pycache_prefix itself, every module not yet imported,
    from the standard library on, would be compiled again into `prefix` by each new code version).
    `prefix` is the code version's own: a .pyc is checked against its source's size and time only,
    which two versions' zips may share. Called by a spare (overcast/runtime/spare_runtime.py), or
    here when the runtime was started with `-X overcast_pycache=PREFIX`."""
    import importlib._bootstrap_external as external

    original = external.cache_from_source

    def cache_from_source(path, debug_override=None, *, optimization=None):
        if not str(path).startswith(_READ_ONLY_CODE):
            return original(path, debug_override, optimization=optimization)
        saved, _sys.pycache_prefix = _sys.pycache_prefix, prefix
        try:
            return original(path, debug_override, optimization=optimization)
        finally:
            _sys.pycache_prefix = saved

    external.cache_from_source = cache_from_source


if _sys._xoptions.get("overcast_pycache"):
    keep_compiled_code_in(_sys._xoptions["overcast_pycache"])


def add_runtime_packages(site: str) -> None:
    """A runtime's own awslambdaric and boto3 (overcast.runtime.python_runtimes: `-X overcast_site`)
    on sys.path right after this file's directory (/var/runtime), where AWS's runtime has them."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    where = _sys.path.index(here) + 1 if here in _sys.path else len(_sys.path)
    _sys.path.insert(where, site)


if _sys._xoptions.get("overcast_site"):
    add_runtime_packages(_sys._xoptions["overcast_site"])


def layer_paths(environ) -> list:
    """Where a Python function's layers are on sys.path when its sandbox sees AWS's directories
    (PYTHONPATH is then /var/runtime alone, as on AWS): /opt/python/lib/python3.X/site-packages
    and /opt/python, before /var/runtime, as AWS's bootstrap puts them. [] elsewhere (the layers'
    directories are on PYTHONPATH then: overcast/runtime/sandbox.py)."""
    if environ.get("LAMBDA_RUNTIME_DIR") != "/var/runtime":
        return []
    version = environ.get("AWS_EXECUTION_ENV", "").rpartition("_")[2]  # AWS_Lambda_python3.12
    if not version.startswith("python3."):
        version = f"python{_sys.version_info[0]}.{_sys.version_info[1]}"
    return [f"/opt/python/lib/{version}/site-packages", "/opt/python"]


def _put_layers_first() -> None:
    """At a fresh start: the layers' paths before PYTHONPATH's /var/runtime (`python -m` puts the
    working directory, /var/task, before both once this has run)."""
    import os

    paths = layer_paths(os.environ)
    if paths and "/var/runtime" in _sys.path:
        where = _sys.path.index("/var/runtime")
        _sys.path[where:where] = paths


_put_layers_first()
