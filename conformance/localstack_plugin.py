"""A pytest plugin the harness loads into LocalStack's test run (`-p localstack_plugin`, with this
directory on PYTHONPATH): it points the URLs LocalStack's tests build themselves at overcast.

- LocalStack's tests/aws/conftest.py pins `config.GATEWAY_LISTEN` to port 4566 in its
  pytest_configure, so `config.internal_service_url()` (raw HTTP requests, S3 bucket URLs) named
  port 4566 whatever GATEWAY_LISTEN said; this plugin's pytest_configure runs after it and names
  overcast's port.
- S3's host names derive from LOCALSTACK_HOST (`s3.<host>`), which the harness sets to overcast's
  IP address, making `s3.127.0.0.1`: they name `localhost.localstack.cloud` instead, the domain
  LocalStack's tests use and overcast serves (docs/s3.md).
- `*.localhost.localstack.cloud` resolves to 127.0.0.1 in public DNS; on a machine without DNS
  (a sandbox, CI without network), this process resolves it so itself.
- API Gateway's invoke URLs are built as `{apiId}.execute-api.<LOCALSTACK_HOST>`, which with
  overcast's IP address is `{apiId}.execute-api.127.0.0.1` (no DNS name): it resolves to that IP
  address, and overcast serves the host form whatever follows `execute-api.` (docs/apigateway.md).
  Some S3 tests build virtual-hosted URLs the same way (`<bucket>.s3[.<region>].<LOCALSTACK_HOST>`),
  which overcast serves whatever follows `s3.` (docs/s3.md): they resolve to overcast too. So do
  function URLs built the same way (`<id>.lambda-url.<region>.<LOCALSTACK_HOST>`).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

DOMAIN = "localhost.localstack.cloud"


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    from localstack import config as localstack_config

    endpoint = urlsplit(os.environ["TEST_AWS_ENDPOINT_URL"])
    localstack_config.GATEWAY_LISTEN = localstack_config.UniqueHostAndPortList(
        [localstack_config.HostAndPort(host=endpoint.hostname, port=endpoint.port)])
    localstack_config.S3_VIRTUAL_HOSTNAME = f"s3.{DOMAIN}"
    localstack_config.S3_STATIC_WEBSITE_HOSTNAME = f"s3-website.{DOMAIN}"
    _resolve_domain_locally(endpoint.hostname)


def _resolve_domain_locally(overcast_host: str) -> None:
    original = socket.getaddrinfo
    execute_api = f".execute-api.{overcast_host}"

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and (name == DOMAIN or name.endswith("." + DOMAIN)):
            host = "127.0.0.1"
        elif isinstance(name, str) and (name.endswith(execute_api) or _s3_virtual_host(name, overcast_host)
                                        or (".lambda-url." in name and name.endswith("." + overcast_host))):
            host = overcast_host
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def _s3_virtual_host(name: str, overcast_host: str) -> bool:
    """`<bucket>.s3.<overcast's IP>` or `<bucket>.s3.<region>.<overcast's IP>`."""
    return name.endswith("." + overcast_host) and "s3" in name[:-len(overcast_host)].split(".")[1:]
