"""Imported at start-up by every Python process in a Lambda sandbox (this directory is on the
sandbox's PYTHONPATH), so that the URLs overcast hands out work from inside functions with no
DNS and no TLS:

- `*.localhost.localstack.cloud` (API endpoints such as `{apiId}.execute-api.localhost.
  localstack.cloud:4566`, the domainName in API Gateway events) resolves to 127.0.0.1, as the
  public DNS record does, also where there is no DNS;
- boto3/botocore requests to those hosts over `https://` (as AWS's docs build the management API
  endpoint: `https://{domainName}/{stage}`) are sent over plain HTTP, which is what overcast
  serves.

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
