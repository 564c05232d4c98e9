"""How long the real deployment tools take against overcast, and how much of it is overcast's.

    .venv/bin/python bench/deploy_tools.py [cdk:clickstream] [sls:live-stock-counter] ...

For each app (default: the clickstream example's CDK app and the live stock counter's
serverless.yml, the two the issue names; also cdk:rest-api, cdk:live-stock-counter, sls:rest-api,
sls:webhook-queue), on a fresh overcast started here, with the tools from OVERCAST_DEPLOY_TOOLS
(default /tmp/overcast-deploy-tools, which .ci/run fills) and the Node.js SDK from
OVERCAST_NODE_SDK_PATH (`overcast install-node-sdk`):

- deploy: the first `cdk deploy` / `serverless deploy` (CDK's `cdk bootstrap` is timed apart);
- redeploy: the same command after a change to the functions' code (a CloudFormation update);
- code only: `cdk deploy --hotswap` / `serverless deploy function -f <fn>` after another change;
- destroy: `cdk destroy --force` / `serverless remove`.

Each line prints the command's wall time (start to exit), the time overcast spent on the stack's
operations (each from the stack's first event to its final status: the deployment as overcast runs
it) and that time's share of the wall time, and the CPU seconds the overcast server process used meanwhile
(Lambda sandboxes, e.g. custom resources, are separate processes and not counted).
Target (issue 16): overcast's share <= 25%.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from common import Server  # noqa: E402

from overcast.config import Config  # noqa: E402
from overcast.runtime.node_sdk import modules_dir  # noqa: E402

TOOLS = os.path.join(os.environ.get("OVERCAST_DEPLOY_TOOLS", "/tmp/overcast-deploy-tools"), "node_modules")
EXAMPLES = os.path.join(ROOT, "examples")
# example -> (its code folder, the function `serverless deploy function -f` updates)
APPS = {"clickstream": ("src", None), "rest-api": ("src", "items"), "live-stock-counter": ("functions", "push"),
        "webhook-queue": ("functions", "consumer")}
SLS_STACKS = {"rest-api": "overcast-items-local", "live-stock-counter": "overcast-stock-local",
              "webhook-queue": "overcast-webhooks-local"}


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_span(cf, stack: str, since: float) -> float | None:
    """Seconds overcast spent on the stack's operations that began after `since`: from each
    operation's first event (the stack's own *_IN_PROGRESS) to its last (the stack's final status),
    summed. (The Serverless Framework creates a stack, uploads its code, then updates it: the
    upload between the two operations is the tool's time, not overcast's.)"""
    events, token = [], None
    try:
        while True:
            page = cf.describe_stack_events(StackName=stack, **({"NextToken": token} if token else {}))
            events += [e for e in page["StackEvents"] if e["Timestamp"].timestamp() >= since]
            token = page.get("NextToken")
            if not token or (page["StackEvents"] and page["StackEvents"][-1]["Timestamp"].timestamp() < since):
                break
    except cf.exceptions.ClientError:
        return None
    total, begun = 0.0, None
    for event in sorted(events, key=lambda e: e["Timestamp"]):
        if event["ResourceType"] != "AWS::CloudFormation::Stack" or event["PhysicalResourceId"] != event["StackId"]:
            continue
        at, status = event["Timestamp"].timestamp(), event["ResourceStatus"]
        if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS" and begun is None:
            begun = at
        elif not status.endswith("_IN_PROGRESS") and begun is not None:
            total, begun = total + at - begun, None
    return total if events else None


class Bench:
    def __init__(self, server: Server):
        self.server = server
        self.endpoint = server.endpoint
        self.env = {**os.environ, "AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "000000000000",
                    "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                    "NODE_PATH": TOOLS, "CDK_DISABLE_VERSION_CHECK": "1", "SLS_TELEMETRY_DISABLED": "1",
                    "SLS_NOTIFICATIONS_MODE": "off", "OVERCAST_PORT": str(urllib.parse.urlparse(self.endpoint).port)}
        self.cf = boto3.client("cloudformation", endpoint_url=self.endpoint, region_name="us-east-1",
                               aws_access_key_id="000000000000", aws_secret_access_key="test")
        self.bootstrapped = False

    def step(self, label: str, argv: list[str], cwd: str, stack: str | None, env: dict | None = None) -> None:
        stack_id = None
        if stack is not None:  # a deleted stack is found by its id
            try:
                stack_id = self.cf.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
            except self.cf.exceptions.ClientError:
                pass
        since, cpu = time.time(), cpu_seconds(self.server.process.pid)
        result = subprocess.run(argv, cwd=cwd, env=env or self.env, capture_output=True, text=True, timeout=1800,
                                stdin=subprocess.DEVNULL)
        wall, cpu = time.time() - since, cpu_seconds(self.server.process.pid) - cpu
        if result.returncode != 0:
            sys.exit(f"{' '.join(argv[:3])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        span = stack_span(self.cf, stack_id or stack, since - 1) if stack else None
        shown = f"{span:8.2f} s  {100 * span / wall:5.1f}%" if span is not None else f"{'—':>10}  {'—':>6}"
        print(f"  {label:<34} {wall:8.2f} s  {shown}  {cpu:8.2f} s", flush=True)

    def cdk(self, example: str) -> None:
        code, _ = APPS[example]
        work = tempfile.mkdtemp(prefix="bench-cdk-")
        shutil.copytree(os.path.join(EXAMPLES, example, "cdk"), os.path.join(work, "cdk"))
        shutil.copytree(os.path.join(EXAMPLES, example, code), os.path.join(work, code))
        app = os.path.join(work, "cdk")
        os.symlink(TOOLS, os.path.join(app, "node_modules"))
        cdk = os.path.join(TOOLS, ".bin", "cdk")
        stack = f"Bench{example.title().replace('-', '')}"
        env = {**self.env, "STACK_NAME": stack}
        print(f"cdk: examples/{example}/cdk (stack {stack})")
        if not self.bootstrapped:
            self.step("cdk bootstrap", [cdk, "bootstrap", "aws://000000000000/us-east-1"], app, "CDKToolkit", env)
            self.bootstrapped = True
        self.step("cdk deploy", [cdk, "deploy", "--require-approval", "never"], app, stack, env)
        touch(os.path.join(work, code), 2)
        self.step("cdk deploy (code changed)", [cdk, "deploy", "--require-approval", "never"], app, stack, env)
        touch(os.path.join(work, code), 3)
        self.step("cdk deploy --hotswap (code changed)", [cdk, "deploy", "--hotswap", "--require-approval", "never"],
                  app, stack, env)
        self.step("cdk destroy", [cdk, "destroy", "--force"], app, stack, env)
        shutil.rmtree(work, ignore_errors=True)

    def sls(self, example: str) -> None:
        code, function = APPS[example]
        work = tempfile.mkdtemp(prefix="bench-sls-")
        shutil.copy(os.path.join(EXAMPLES, example, "serverless.yml"), work)
        shutil.copytree(os.path.join(EXAMPLES, example, code), os.path.join(work, code))
        os.symlink(TOOLS, os.path.join(work, "node_modules"))
        sls = os.path.join(TOOLS, ".bin", "serverless")
        stack = SLS_STACKS[example]
        env = {k: v for k, v in self.env.items() if k != "AWS_ENDPOINT_URL"}  # the plugin points it at overcast
        print(f"serverless: examples/{example}/serverless.yml (stack {stack})")
        self.step("serverless deploy", [sls, "deploy", "--stage", "local"], work, stack, env)
        touch(os.path.join(work, code), 2)
        self.step("serverless deploy (code changed)", [sls, "deploy", "--stage", "local"], work, stack, env)
        touch(os.path.join(work, code), 3)
        self.step(f"serverless deploy function -f {function}",
                  [sls, "deploy", "function", "-f", function, "--stage", "local"], work, None, env)
        self.step("serverless remove", [sls, "remove", "--stage", "local"], work, stack, env)
        shutil.rmtree(work, ignore_errors=True)


def touch(folder: str, version: int) -> None:
    """A code change: a line appended to every Python file of the functions."""
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "a") as f:
                f.write(f"\nBENCH_VERSION = {version}\n")


def main(argv: list[str]) -> None:
    wanted = argv or ["cdk:clickstream", "sls:live-stock-counter"]
    for want in wanted:
        tool, _, example = want.partition(":")
        if tool not in ("cdk", "sls") or example not in APPS or (tool == "sls" and example not in SLS_STACKS):
            sys.exit(f"unknown app {want!r}: cdk:<{'|'.join(APPS)}> or sls:<{'|'.join(SLS_STACKS)}>")
    for binary in ("cdk", "serverless"):
        if not os.path.exists(os.path.join(TOOLS, ".bin", binary)):
            sys.exit(f"{binary} is not installed in {TOOLS} (see .ci/run)")
    if modules_dir(Config.from_env().node_sdk_path) is None:
        sys.exit("the AWS SDK for JavaScript v3 is not installed (overcast install-node-sdk): CDK's custom resources need it")
    server = Server()
    try:
        bench = Bench(server)
        print(f"  {'':<34} {'wall':>10}  {'in overcast':>10}  {'share':>6}  {'server CPU':>10}")
        for want in wanted:
            tool, _, example = want.partition(":")
            getattr(bench, tool)(example)
        print("share = overcast's time on the stack's operations / the command's wall time (target <= 25%)")
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
