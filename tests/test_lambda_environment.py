"""A function's environment as AWS's runtimes set it, when overcast runs as root (CI does) and each
sandbox sees AWS's directories (/var/task, /var/runtime, /opt, its own /tmp and /etc/passwd): the
same variables, with AWS's values where they are not the function's own (its name, its region,
overcast's endpoint and ports). The set of names is AWS's as LocalStack's AWS-validated recordings
show it (`test_lambda_common.py::test_introspection_invoke`) plus the two overcast adds on
purpose: AWS_ENDPOINT_URL (the SDKs' way to overcast) and, for Python, LC_CTYPE (set by the
interpreter's own start, PEP 538, as in AWS's python3.9-3.11)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid

import pytest
from lambda_functions import ROLE, zip_files

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox sees AWS's directories only when overcast runs "
                                                           "as root (CI does)")

COMMON = {"AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
          "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
          "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION",
          "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS",
          "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT", "LANG", "LD_LIBRARY_PATH", "PATH", "TEST_KEY", "TZ", "_HANDLER",
          "_X_AMZN_TRACE_ID"}

PYTHON = """
import getpass, json, os, subprocess, sys

def handler(event, context):
    with open("/tmp/own", "w") as f:
        f.write("mine")
    return {"env": dict(os.environ), "path": sys.path[:4], "user": getpass.getuser(),
            "whoami": subprocess.getoutput("whoami"), "home": os.path.expanduser("~"), "tmp": os.listdir("/tmp")}
"""

NODE = """
const os = require('os');
exports.handler = async () => ({env: process.env, home: os.homedir(), user: os.userInfo().username});
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def _run(lam, runtime, handler, files, **kwargs):
    name = f"env-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, MemorySize=1024,
                        Code={"ZipFile": zip_files(files)}, **kwargs)
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    return body


def test_python_environment_is_awss(lam):
    body = _run(lam, "python3.12", "app.handler", {"app.py": PYTHON},
                Environment={"Variables": {"TEST_KEY": "TEST_VAL"}})
    env = body["env"]
    assert set(env) == COMMON | {"AWS_EXECUTION_ENV", "PWD", "PYTHONPATH", "SHLVL", "LC_CTYPE"}
    assert (env["PYTHONPATH"], env["LAMBDA_RUNTIME_DIR"], env["LAMBDA_TASK_ROOT"], env["PWD"], env["SHLVL"]) == \
        ("/var/runtime", "/var/runtime", "/var/task", "/var/task", "0")
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and env["TZ"] == ":UTC"
    assert env["PATH"].endswith(":/opt/bin")
    # AWS's bootstrap's order: the code, the layers' site-packages and /opt/python, then /var/runtime
    assert body["path"] == ["/var/task", "/opt/python/lib/python3.12/site-packages", "/opt/python", "/var/runtime"]
    # the sandbox's user is AWS's sbx_user1051, with no HOME set; its /tmp is its own
    assert body["user"] == body["whoami"] == "sbx_user1051" and body["home"] == "/home/sbx_user1051"
    assert "own" in body["tmp"] and not os.path.exists("/tmp/own")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_environment_is_awss(lam):
    body = _run(lam, "nodejs20.x", "index.handler", {"index.js": NODE},
                Environment={"Variables": {"TEST_KEY": "TEST_VAL"}})
    env = body["env"]
    assert set(env) == COMMON | {"AWS_EXECUTION_ENV", "NODE_PATH", "PWD", "SHLVL"}
    assert env["NODE_PATH"] == ("/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:"
                                "/var/runtime:/var/task")
    # os.homedir() needs a HOME or a password entry: the sandbox's user has one, as on AWS
    assert body["user"] == "sbx_user1051" and body["home"] == "/home/sbx_user1051"


BOOTSTRAP = """#!/usr/bin/python3
import json, os, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    request_id = urllib.request.urlopen("http://" + api + "next").headers["Lambda-Runtime-Aws-Request-Id"]
    answer = json.dumps(sorted(os.environ)).encode()
    urllib.request.urlopen(urllib.request.Request("http://" + api + request_id + "/response", data=answer))
"""


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="the bootstrap is a /usr/bin/python3 script")
def test_a_custom_runtime_has_neither_pwd_nor_execution_env(lam):
    name = f"env-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="function.handler",
                        Code={"ZipFile": zip_files({"bootstrap": BOOTSTRAP}, {"bootstrap": 0o755})})
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    names = set(json.loads(out["Payload"].read()))
    # (LC_CTYPE: the bootstrap's own Python sets it at its start, PEP 538; _X_AMZN_TRACE_ID is the
    # runtime's to set from each invocation's Lambda-Runtime-Trace-Id header, which this one does not)
    assert names == (COMMON - {"TEST_KEY", "_X_AMZN_TRACE_ID"}) | {"LC_CTYPE"}


def test_variables_aws_lets_a_function_set_are_its_own(lam):
    body = _run(lam, "python3.12", "app.handler", {"app.py": PYTHON},
                Environment={"Variables": {"TZ": "Europe/Paris", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}})
    assert body["env"]["TZ"] == "Europe/Paris" and body["env"]["AWS_XRAY_CONTEXT_MISSING"] == "IGNORE_ERROR"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_log_has_only_the_functions_lines(lam):
    name = f"env-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.js": "exports.handler = async () => { console.log('hi'); };"})})
    out = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    lines = base64.b64decode(out["LogResult"]).decode().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("START "))
    end = next(i for i, line in enumerate(lines) if line.startswith("END "))
    # (aws-lambda-ric's own executable, for container images, logs "Executing '...' in function directory")
    assert [line.split("\t")[2:] for line in lines[start + 1:end]] == [["INFO", "hi"]]


@pytest.fixture(scope="module")
def lam_without_spares():
    """A server with no spares: runtimes started for a function make their mounts through the
    shell prefix (unshare, mount, setpriv) instead of a spare (overcast.runtime.mounts.mount_prefix)."""
    import boto3
    from conftest import OvercastProcess

    server = OvercastProcess(env={"OVERCAST_LAMBDA_SPARES": "0"})
    try:
        yield boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
    finally:
        server.stop()


@pytest.mark.parametrize("runtime", ["python3.12", "nodejs20.x"])
def test_the_same_environment_without_spares(lam_without_spares, runtime):
    if runtime.startswith("nodejs") and shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    files, handler = ({"app.py": PYTHON}, "app.handler") if runtime.startswith("python") else \
        ({"index.js": NODE}, "index.handler")
    body = _run(lam_without_spares, runtime, handler, files, Environment={"Variables": {"TEST_KEY": "TEST_VAL"}},
                EphemeralStorage={"Size": 600})
    env = body["env"]
    extra = {"AWS_EXECUTION_ENV", "PWD", "SHLVL"} | ({"PYTHONPATH", "LC_CTYPE"} if runtime.startswith("python")
                                                     else {"NODE_PATH"})
    assert set(env) == COMMON | extra
    assert (env["LAMBDA_RUNTIME_DIR"], env["PWD"], env["SHLVL"]) == ("/var/runtime", "/var/task", "0")
    assert body["user"] == "sbx_user1051" and body["home"] == "/home/sbx_user1051"
    if runtime.startswith("python"):
        assert "own" in body["tmp"] and not os.path.exists("/tmp/own")
