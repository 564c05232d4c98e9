"""Where the tests find the real deployment tools (the AWS CDK CLI and aws-cdk-lib, the Serverless
Framework v3 with serverless-localstack): an npm prefix that `.ci/run` installs into
(OVERCAST_DEPLOY_TOOLS, default /tmp/overcast-deploy-tools); and the AWS SDK for JavaScript v3 the
test server gives Node.js functions (`overcast install-node-sdk`, OVERCAST_NODE_SDK_PATH). Locally
the tests skip without them; in CI (OVERCAST_REQUIRE_DEPLOY_TOOLS=1) a missing one fails the test
instead."""

from __future__ import annotations

import os
import shutil

import pytest

from overcast.config import Config
from overcast.runtime.node_sdk import modules_dir

PREFIX = os.environ.get("OVERCAST_DEPLOY_TOOLS", "/tmp/overcast-deploy-tools")
MODULES = os.path.join(PREFIX, "node_modules")


def tool(name: str) -> str:
    """The path of a tool's executable in the prefix; skips (locally) or fails (CI) without it."""
    path = os.path.join(MODULES, ".bin", name)
    if shutil.which("node") and os.path.exists(path):
        return path
    _missing(f"{name} is not installed in {PREFIX} (.ci/run installs it)")


def node_sdk() -> str:
    """The node_modules of the AWS SDK for JavaScript v3 the test server gives Node.js functions
    (it inherits this environment); skips (locally) or fails (CI) without it."""
    prefix = Config.from_env().node_sdk_path
    modules = modules_dir(prefix)
    if shutil.which("node") and modules:
        return modules
    _missing(f"the AWS SDK for JavaScript v3 is not installed in {prefix} (`overcast install-node-sdk`; .ci/run "
             "installs it)")


def _missing(message: str):
    if os.environ.get("OVERCAST_REQUIRE_DEPLOY_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)


def aws_env(endpoint: str, **extra) -> dict:
    """The environment a user sets to point the tools at overcast."""
    return {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "000000000000",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "NODE_PATH": MODULES, "CDK_DISABLE_VERSION_CHECK": "1", "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off", **extra}
