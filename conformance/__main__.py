"""python -m conformance: run LocalStack's AWS-validated tests and Floci's SDK compatibility
suites against overcast, and print a pass table per service.

    python -m conformance --localstack ~/src/localstack --floci ~/src/floci
    python -m conformance --floci ~/src/floci --suites floci-python --services sqs,sns

Each suite gets a scratch virtualenv (or node_modules) under --work, made once and remade when its
requirements change, and a fresh overcast (`overcast start --ephemeral`, this checkout's code).
Results: junit XML per suite and results.json under --work/results, and the table on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY = re.compile(r"ready on (http://\S+)")
SUITES = ("localstack", "floci-python", "floci-node")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
# the suites name some services their own way (a directory, a file-name prefix)
ALIASES = {"lambda_": "lambda", "eventbridge": "events", "apigatewayv2-execute-api-subdomain": "apigatewayv2",
           "dynamodb-conformance": "dynamodb", "lambda-layers": "lambda", "s3-cors": "s3", "s3-notifications": "s3",
           "cloudformation_naming": "cloudformation", "lambda_function_config": "lambda", "s3_cors": "s3",
           "s3_notifications": "s3", "ses_templates": "ses", "kms-features": "kms", "cognito-features": "cognito"}


# The API Gateway tests build invoke URLs {apiId}.execute-api.<overcast's IP> (localstack_plugin.py
# resolves them to overcast), and some S3 tests <bucket>.s3[.<region>].<overcast's IP>: names overcast's
# DNS-rebinding guard serves only when allowed.
# LocalStack's tests sign with their own keys (test/test, and the secondary account's
# 000000000002/test2, localstack/testing/config.py) and expect AWS's refusals of bad signatures
# (SignatureDoesNotMatch, expired presigned URLs): overcast verifies signatures for them, with those
# keys registered, as a user would turn it on (docs/security.md)
LOCALSTACK_OVERCAST_ENV = {"OVERCAST_FIREHOSE_MAX_BUFFER_SECONDS": "1",
                           "OVERCAST_ALLOWED_HOSTS": "*.execute-api.127.0.0.1,*.127.0.0.1",
                           "OVERCAST_VERIFY_SIGNATURES": "1", "OVERCAST_CREDENTIALS": "test:test,000000000002:test2"}


def overcast_services() -> set[str]:
    sys.path.insert(0, str(REPO))
    from overcast.services import SERVICES

    return set(SERVICES)


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (test, first line of the reason)

    @property
    def ran(self) -> int:
        return self.passed + self.failed + self.errors


# -- overcast and scratch environments ------------------------------------------------------------

class Overcast:
    """A fresh overcast for one suite; its output goes to a log file."""

    def __init__(self, log: Path, env: dict | None = None):
        self.log = log
        self.process = subprocess.Popen([sys.executable, "-m", "overcast", "start", "--port", "0", "--ephemeral"],
                                        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, **(env or {})})
        for line in self.process.stdout:
            match = READY.search(line)
            if match:
                self.endpoint = match.group(1).replace("localhost", "127.0.0.1")
                break
        else:
            raise SystemExit("conformance: overcast did not start")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        with open(self.log, "w") as out:
            for line in self.process.stdout:
                out.write(line)

    def __enter__(self) -> Overcast:
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run(argv: list, **kwargs) -> None:
    print("conformance: $", " ".join(str(a) for a in argv), flush=True)
    subprocess.run([str(a) for a in argv], check=True, **kwargs)


def digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.read_bytes() if isinstance(part, Path) else str(part).encode())
    return h.hexdigest()


def virtualenv(path: Path, python: str, installs: list[list], key: str) -> Path:
    """A scratch virtualenv made once, and remade when `key` (its requirements' digest) changes."""
    stamp = path / ".overcast-requirements"
    interpreter = path / "bin" / "python"
    if stamp.exists() and stamp.read_text() == key:
        return interpreter
    shutil.rmtree(path, ignore_errors=True)
    run([python, "-m", "venv", path])
    run([interpreter, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    for args in installs:
        run([interpreter, "-m", "pip", "install", "-q", *args])
    stamp.write_text(key)
    return interpreter


# -- junit results --------------------------------------------------------------------------------

def read_junit(path: Path, service_of, tallies: dict[str, Tally]) -> None:
    if not path.exists():
        return
    for case in ET.parse(path).getroot().iter("testcase"):
        service = service_of(case)
        if service is None:
            continue
        tally = tallies.setdefault(service, Tally())
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        if outcome is None:
            tally.passed += 1
        elif outcome.tag == "skipped":
            tally.skipped += 1
        else:
            if outcome.tag == "failure":
                tally.failed += 1
            else:
                tally.errors += 1
            reason = (outcome.get("message") or outcome.text or "").strip().splitlines()
            tally.failures.append((name, reason[0][:300] if reason else ""))


# -- the suites -----------------------------------------------------------------------------------

def localstack(checkout: Path, work: Path, python: str, services: set[str], timeout: int,
               files: list[str] | None = None) -> dict[str, Tally]:
    requirements = checkout / "requirements-test.txt"
    interpreter = virtualenv(work / "venv-localstack", python,
                             [["-r", requirements], ["--no-deps", "-e", checkout]], digest(requirements, python))
    root = checkout / "tests" / "aws" / "services"
    chosen = sorted(d.name for d in root.iterdir() if d.is_dir() and ALIASES.get(d.name, d.name) in services)
    if files:  # some directories take hours (Lambda's runtimes): measure the files asked for
        chosen = [f for f in files if f.split("/", 1)[0] in chosen]
    junit = work / "results" / "localstack.xml"
    junit.unlink(missing_ok=True)
    # LocalStack's Firehose tests wait 5-11 s for a delivery that AWS makes after the stream's
    # buffering interval (60-300 s; they wait minutes when is_aws_cloud()): overcast caps the
    # interval at 1 s for them (docs/firehose.md), and buffers as AWS does otherwise
    with Overcast(work / "results" / "overcast-localstack.log", env=LOCALSTACK_OVERCAST_ENV) as server:
        env = {**os.environ, **CREDENTIALS, **iam_user_credentials(server.endpoint), "TEST_SKIP_LOCALSTACK_START": "1",
               "TEST_AWS_ENDPOINT_URL": server.endpoint, "TEST_DISABLE_RETRIES_AND_TIMEOUTS": "1",
               # tests with raw HTTP clients (CloudWatch's multi-protocol ones) call https://LOCALSTACK_HOST:
               # overcast serves TLS on the same port, with a certificate of its own local authority
               "REQUESTS_CA_BUNDLE": overcast_ca(server.endpoint, work / "results" / "overcast-ca.pem"),
               # tests that build a URL themselves (queue URLs, raw HTTP requests) use LOCALSTACK_HOST,
               # or GATEWAY_LISTEN's port (LocalStack's config.internal_service_url())
               "LOCALSTACK_HOST": server.endpoint.split("://", 1)[1],
               "GATEWAY_LISTEN": server.endpoint.split("://", 1)[1],
               # localstack_plugin.py: the port and S3 host names of URLs the tests build themselves
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "conformance"), os.environ.get("PYTHONPATH")]))}
        env.pop("SNAPSHOT_UPDATE", None)  # snapshots are verified, never rewritten
        try:
            subprocess.run([interpreter, "-m", "pytest", *(f"tests/aws/services/{d}" for d in chosen),
                            "-m", "aws_validated", "-p", "no:cacheprovider", "-p", "localstack_plugin", "-q",
                            "--junitxml", junit],
                           cwd=checkout, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"conformance: LocalStack's suite stopped after {timeout} s", flush=True)

    def service_of(case) -> str | None:
        parts = (case.get("classname") or "").split(".")
        return ALIASES.get(parts[3], parts[3]) if parts[:3] == ["tests", "aws", "services"] and len(parts) > 3 else None

    tallies: dict[str, Tally] = {}
    read_junit(junit, service_of, tallies)
    return tallies


def overcast_ca(endpoint: str, path: Path) -> str:
    """Save the authority that signed overcast's certificate (GET /_overcast/tls/ca.pem) to `path`."""
    import urllib.request

    with urllib.request.urlopen(f"{endpoint}/_overcast/tls/ca.pem", timeout=30) as response:
        path.write_bytes(response.read())
    return str(path)


def iam_user_credentials(endpoint: str) -> dict[str, str]:
    """The access key of an IAM user made on the fresh overcast, for LocalStack's suite: its
    snapshots were recorded by an IAM user, so answers that name the caller (SNS's
    SubscriptionPrincipal, STS's GetCallerIdentity) name a user, as they did on AWS."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")
    iam.create_user(UserName="localstack-conformance")
    key = iam.create_access_key(UserName="localstack-conformance")["AccessKey"]
    return {"TEST_AWS_ACCESS_KEY_ID": key["AccessKeyId"], "TEST_AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def floci_python(checkout: Path, work: Path, python: str, services: set[str], timeout: int) -> dict[str, Tally]:
    suite = checkout / "compatibility-tests" / "sdk-test-python"
    requirements = suite / "requirements.txt"
    interpreter = virtualenv(work / "venv-floci-python", python, [["-r", requirements]], digest(requirements, python))
    files = sorted(p.name for p in (suite / "tests").glob("test_*.py") if _floci_service(p.name, "test_", ".py") in services)
    junit = work / "results" / "floci-python.xml"
    junit.unlink(missing_ok=True)
    with Overcast(work / "results" / "overcast-floci-python.log") as server:
        env = {**os.environ, **CREDENTIALS, "FLOCI_ENDPOINT": server.endpoint}
        try:
            subprocess.run([interpreter, "-m", "pytest", *(f"tests/{f}" for f in files), "-p", "no:cacheprovider",
                            "-q", "-o", "addopts=", "--junit-xml", junit], cwd=suite, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"conformance: Floci's Python suite stopped after {timeout} s", flush=True)
    tallies: dict[str, Tally] = {}
    def service_of(case) -> str | None:  # classname: tests.test_sqs[.TestClass]
        module = next((p for p in (case.get("classname") or "").split(".") if p.startswith("test_")), None)
        return _floci_service(module, "test_", "") if module else None

    read_junit(junit, service_of, tallies)
    return tallies


def floci_node(checkout: Path, work: Path, services: set[str], timeout: int) -> dict[str, Tally]:
    source = checkout / "compatibility-tests" / "sdk-test-node"
    suite = work / "floci-node"  # a copy: node_modules and results stay out of the user's checkout
    files = sorted(p.name for p in (source / "tests").glob("*.test.ts")
                   if _floci_service(p.name, "", ".test.ts") in services)
    package = _node_package(source, files)
    stamp = suite / ".overcast-package"
    key = digest(json.dumps(package, sort_keys=True))
    if not (stamp.exists() and stamp.read_text() == key):
        shutil.rmtree(suite, ignore_errors=True)
        shutil.copytree(source, suite, ignore=shutil.ignore_patterns("node_modules", "test-results"))
        (suite / "package.json").write_text(json.dumps(package, indent=2))
        run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=suite)
        stamp.write_text(key)
    else:  # the tests themselves may have changed
        shutil.copytree(source / "tests", suite / "tests", dirs_exist_ok=True)
    junit = work / "results" / "floci-node.xml"
    junit.unlink(missing_ok=True)
    with Overcast(work / "results" / "overcast-floci-node.log") as server:
        env = {**os.environ, **CREDENTIALS, "FLOCI_ENDPOINT": server.endpoint,
               "TEST_RESULTS_DIR": str(work / "results" / "floci-node")}
        try:
            subprocess.run(["npx", "vitest", "run", *(f"tests/{f}" for f in files)], cwd=suite, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"conformance: Floci's JavaScript suite stopped after {timeout} s", flush=True)
        produced = work / "results" / "floci-node" / "junit.xml"
        if produced.exists():
            shutil.move(produced, junit)
    tallies: dict[str, Tally] = {}
    read_junit(junit, lambda case: _floci_service(Path(case.get("classname") or "").name, "", ".test.ts"), tallies)
    return tallies


def _node_package(source: Path, files: list[str]) -> dict:
    """The suite's package.json with only the AWS SDK clients the chosen test files import (a
    client of a service overcast does not have may not even be on the registry in use)."""
    package = json.loads((source / "package.json").read_text())
    used = set()
    for name in [*files, "setup.ts"]:
        used.update(re.findall(r"""from ['"](@aws-sdk/client-[\w-]+)['"]""", (source / "tests" / name).read_text()))
    package["dependencies"] = {name: version for name, version in package["dependencies"].items()
                               if not name.startswith("@aws-sdk/client-") or name in used}
    return package


def _floci_service(file_name: str, prefix: str, suffix: str) -> str:
    stem = file_name.removeprefix(prefix).removesuffix(suffix)
    return ALIASES.get(stem, stem)


# -- the table ------------------------------------------------------------------------------------

def table(results: dict[str, dict[str, Tally]]) -> str:
    lines = ["| suite | service | passed | failed | errors | skipped | pass rate |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for suite, tallies in results.items():
        total = Tally()
        for service in sorted(tallies):
            t = tallies[service]
            lines.append(f"| {suite} | {service} | {t.passed} | {t.failed} | {t.errors} | {t.skipped} | {_rate(t)} |")
            total.passed += t.passed
            total.failed += t.failed
            total.errors += t.errors
            total.skipped += t.skipped
        lines.append(f"| **{suite}** | **all** | {total.passed} | {total.failed} | {total.errors} | {total.skipped} "
                     f"| **{_rate(total)}** |")
    return "\n".join(lines)


def _rate(t: Tally) -> str:
    return f"{100 * t.passed / t.ran:.0f}%" if t.ran else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--localstack", type=Path, help="a checkout of github.com/localstack/localstack")
    parser.add_argument("--floci", type=Path, help="a checkout of github.com/floci-io/floci")
    parser.add_argument("--suites", default=",".join(SUITES), help=f"which to run (default: {','.join(SUITES)})")
    parser.add_argument("--services", help="only these services (default: every service overcast has)")
    parser.add_argument("--python", default=shutil.which("python3.13") or sys.executable,
                        help="the Python for the suites' virtualenvs (LocalStack wants 3.13)")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "overcast-conformance",
                        help="scratch virtualenvs and results (default ~/.cache/overcast-conformance)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per suite (default 3600)")
    parser.add_argument("--localstack-files", help="only these of LocalStack's test files, comma-separated, relative "
                        "to tests/aws/services (e.g. lambda_/test_lambda_api.py)")
    args = parser.parse_args(argv)

    services = set(args.services.split(",")) if args.services else overcast_services()
    (args.work / "results").mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Tally]] = {}
    for suite in args.suites.split(","):
        if suite == "localstack" and args.localstack:
            files = args.localstack_files.split(",") if args.localstack_files else None
            results[suite] = localstack(args.localstack.resolve(), args.work, args.python, services, args.timeout, files)
        elif suite == "floci-python" and args.floci:
            results[suite] = floci_python(args.floci.resolve(), args.work, args.python, services, args.timeout)
        elif suite == "floci-node" and args.floci:
            results[suite] = floci_node(args.floci.resolve(), args.work, services, args.timeout)
        elif suite in SUITES:
            print(f"conformance: {suite} skipped: give --{suite.split('-')[0]} PATH", flush=True)
        else:
            parser.error(f"unknown suite {suite!r}")
    # results.json keeps every service's latest run, so suites and services can be run one at a time
    saved_path = args.work / "results" / "results.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    for suite, tallies in results.items():
        saved.setdefault(suite, {}).update({service: vars(t) for service, t in tallies.items()})
    saved_path.write_text(json.dumps(saved, indent=1))
    print(table(results))
    print(f"\nfailures and their first lines: {args.work / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
