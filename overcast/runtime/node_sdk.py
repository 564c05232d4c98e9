"""The AWS SDK for JavaScript v3 for Node.js functions.

AWS's nodejs18.x and later runtimes include the SDK v3 (`/var/runtime/node_modules`, on NODE_PATH
after the function's own `node_modules` and its layers), so functions — CDK's own custom resources
among them — `require('@aws-sdk/client-s3')` without bundling it. overcast does the same with a
copy from npm: `overcast install-node-sdk` installs the packages below into an npm prefix
(OVERCAST_NODE_SDK_PATH, see config.py), and every Node.js sandbox gets `<prefix>/node_modules`
on NODE_PATH after its layers. A function that bundles its own SDK still loads its own (Node looks
in the function's `node_modules` before NODE_PATH).

The packages: a client for each service overcast serves (an `AwsCustomResource` may call any of
them), the libraries AWS's runtime ships beside them, and the credential providers CDK's handlers
require.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

log = logging.getLogger("overcast.lambda")

PACKAGES = (
    "@aws-sdk/client-api-gateway", "@aws-sdk/client-apigatewaymanagementapi", "@aws-sdk/client-apigatewayv2",
    "@aws-sdk/client-appsync", "@aws-sdk/client-athena", "@aws-sdk/client-cloudformation",
    "@aws-sdk/client-cloudwatch-logs", "@aws-sdk/client-cognito-identity", "@aws-sdk/client-cognito-identity-provider",
    "@aws-sdk/client-dynamodb", "@aws-sdk/client-dynamodb-streams", "@aws-sdk/client-ecr",
    "@aws-sdk/client-eventbridge", "@aws-sdk/client-firehose", "@aws-sdk/client-glue", "@aws-sdk/client-iam",
    "@aws-sdk/client-kinesis", "@aws-sdk/client-lambda", "@aws-sdk/client-s3", "@aws-sdk/client-scheduler",
    "@aws-sdk/client-secrets-manager", "@aws-sdk/client-sfn", "@aws-sdk/client-sns", "@aws-sdk/client-sqs",
    "@aws-sdk/client-ssm", "@aws-sdk/client-sts",
    "@aws-sdk/lib-dynamodb", "@aws-sdk/lib-storage", "@aws-sdk/credential-providers",
)


def modules_dir(prefix: str) -> str | None:
    """The prefix's node_modules when the SDK is installed there, else None."""
    if not prefix:
        return None
    modules = os.path.join(prefix, "node_modules")
    return modules if os.path.isdir(os.path.join(modules, "@aws-sdk", "client-s3")) else None


_warned = False


def warn_missing(prefix: str) -> None:
    """Once per server: Node.js functions run without the SDK, and how to install it."""
    global _warned
    if not _warned:
        _warned = True
        log.warning("the AWS SDK for JavaScript v3 is not installed in %s: Node.js functions that require "
                    "'@aws-sdk/...' without bundling it fail (run `overcast install-node-sdk`; docs/lambda.md)",
                    prefix or "(OVERCAST_NODE_SDK_PATH is empty)")


def install(prefix: str) -> int:
    """`npm install` the packages into `prefix`, readable by every user (sandboxes may run as users
    of their own); returns npm's exit status."""
    npm = shutil.which("npm")
    if npm is None:
        print("overcast install-node-sdk: npm is not on PATH (install Node.js and npm)")
        return 1
    os.makedirs(prefix, mode=0o755, exist_ok=True)
    command = [npm, "install", "--prefix", prefix, "--omit=dev", "--no-audit", "--no-fund", *PACKAGES]
    print(f"installing the AWS SDK for JavaScript v3 ({len(PACKAGES)} packages) into {prefix}", flush=True)
    previous = os.umask(0o022)
    try:
        code = subprocess.call(command)
    finally:
        os.umask(previous)
    if code == 0:
        print(f"done: Node.js functions find it in {os.path.join(prefix, 'node_modules')}")
    return code
