"""`awslocal` (and `overcast aws`): the installed AWS CLI, pointed at overcast.

    awslocal sqs create-queue --queue-name jobs

The AWS CLI reads AWS_ENDPOINT_URL from versions 1.29 / 2.13 on, but not for every service: v1
pins SQS (and EMR, RDS, DocumentDB, Neptune, Health) to AWS's own host names unless the command
line says `--endpoint-url`, so `export AWS_ENDPOINT_URL` alone sends `aws sqs ...` to real AWS.
This runs `aws --endpoint-url URL ...`, which every CLI version honours for every service. URL is
AWS_ENDPOINT_URL when set, else overcast's OVERCAST_HOST / OVERCAST_PORT (default
http://127.0.0.1:4566). Without credentials or a region in the environment, a profile or the
command line, it uses overcast's test defaults (`test` / `test`, `us-east-1`), as LocalStack's
`awslocal` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from overcast.config import DEFAULT_PORT, Config


def endpoint_url(environ: dict[str, str]) -> str:
    if environ.get("AWS_ENDPOINT_URL"):
        return environ["AWS_ENDPOINT_URL"]
    return Config(host=environ.get("OVERCAST_HOST") or Config.host,
                  port=int(environ.get("OVERCAST_PORT") or DEFAULT_PORT)).local_url


def command(args: list[str], environ: dict[str, str]) -> tuple[list[str], dict[str, str]] | None:
    """The AWS CLI's argv and environment for `awslocal args`, or None when no CLI is installed."""
    # the CLI installed beside this Python (the project's own awscli) first, else the one on PATH
    beside = os.path.join(os.path.dirname(sys.executable), "aws")
    aws = beside if os.access(beside, os.X_OK) else shutil.which("aws")
    if aws is None:
        return None
    env = dict(environ)
    profile = "AWS_PROFILE" in env or any(a == "--profile" or a.startswith("--profile=") for a in args)
    if not profile and not env.get("AWS_ACCESS_KEY_ID"):
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "test", "test"
    region = any(a == "--region" or a.startswith("--region=") for a in args)
    if not profile and not region and not env.get("AWS_DEFAULT_REGION") and not env.get("AWS_REGION"):
        env["AWS_DEFAULT_REGION"] = "us-east-1"
    given = any(a == "--endpoint-url" or a.startswith("--endpoint-url=") for a in args)
    return [aws, *args] if given else [aws, "--endpoint-url", endpoint_url(environ), *args], env


def main(argv: list[str] | None = None) -> None:
    found = command(sys.argv[1:] if argv is None else argv, dict(os.environ))
    if found is None:
        sys.exit("awslocal: the AWS CLI (`aws`) is not installed: pip install awscli, or install AWS CLI v2")
    argv, env = found
    if os.name == "posix":
        os.execve(argv[0], argv, env)  # the CLI takes over this process: exit status, signals, tty
    sys.exit(subprocess.call(argv, env=env))


if __name__ == "__main__":
    main()
