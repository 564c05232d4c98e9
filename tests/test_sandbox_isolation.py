"""Function code cannot reach the server's secrets or another function's files: when overcast
runs as root (as CI does), each function's sandboxes run as a user of their own; the data
directory is the server's alone. Not root: sandboxes run as the server's user (docs/security.md)
and the tests that need root skip."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import httpx
import pytest
from conftest import TEST_DATABASES
from lambda_functions import ROLE, create_python, source, zip_files

PROBE = '''
import os, tempfile

def handler(event, context):
    results = {}
    for label, path in event.get("read", {}).items():
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as f:
                    f.read(1)
            results[label] = "read"
        except PermissionError:
            results[label] = "denied"
        except FileNotFoundError:
            results[label] = "missing"
    if "runtime_api" in event:  # another sandbox's Runtime API: try to take its next invocation
        import http.client
        try:
            connection = http.client.HTTPConnection(event["runtime_api"], timeout=3)
            connection.request("GET", "/2018-06-01/runtime/invocation/next")
            results["runtime_api"] = f"answered {connection.getresponse().status}"
        except (ConnectionError, http.client.RemoteDisconnected, OSError) as e:
            results["runtime_api"] = "refused" if not isinstance(e, TimeoutError) else "parked"
    if "write" in event:
        with open(event["write"], "w") as f:
            f.write("private")
    code_dir = os.environ["LAMBDA_TASK_ROOT"]
    with open("/proc/self/mountinfo") as f:  # the host's directory behind /var/task, which a function can find out
        for line in f:
            fields = line.split()
            if fields[4] == "/var/task":
                code_dir = fields[3]
    return {"results": results, "uid": os.getuid(), "groups": os.getgroups(), "server_pid": os.getppid(),
            "task_root": os.environ["LAMBDA_TASK_ROOT"], "code_dir": code_dir, "tmp": tempfile.gettempdir(),
            "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"]}
'''

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes get users of their own only when overcast runs "
                                                         "as root (CI does)")


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def probes(lam):
    names = [f"probe-{uuid.uuid4().hex[:8]}", f"probe-{uuid.uuid4().hex[:8]}"]
    for name in names:
        create_python(lam, name, PROBE)
    return names


def _invoke(lam, name, event=None) -> dict:
    out = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}))
    body = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    return body


def test_data_directory_is_the_servers_alone(endpoint):
    data_dir = httpx.get(endpoint + "/_overcast/health").json()["data_dir"]
    assert os.stat(data_dir).st_mode & 0o777 == 0o700
    if TEST_DATABASES is None:  # (on PostgreSQL there is no database file)
        assert os.stat(os.path.join(data_dir, "overcast.db")).st_mode & 0o777 == 0o600


@root_only
def test_function_cannot_read_server_environ_database_or_another_functions_code(lam, probes, endpoint):
    first, second = probes
    other_file = f"/tmp/overcast-probe-{uuid.uuid4().hex}"
    other = _invoke(lam, second, {"write": other_file})
    data_dir = httpx.get(endpoint + "/_overcast/health").json()["data_dir"]
    mine = _invoke(lam, first)
    server_pid = mine["server_pid"]
    body = _invoke(lam, first, {"read": {
        "environ": f"/proc/{server_pid}/environ",
        "database": os.path.join(data_dir, "overcast.db"),
        "data_dir": data_dir,
        "other_code_dir": other["code_dir"],
        "other_code": os.path.join(other["code_dir"], "app.py"),
        "other_tmp": other_file,  # a file in the other's /tmp, which is its own
        "own_code": os.path.join(mine["task_root"], "app.py"),
        "own_code_dir": mine["code_dir"],
    }})
    assert body["uid"] != 0 and body["uid"] != other["uid"]
    assert body["groups"] in ([], [body["uid"]])
    # each function's code is at /var/task in its own mount namespace, from a directory of its own
    assert mine["task_root"] == other["task_root"] == "/var/task" and mine["code_dir"] != other["code_dir"]
    assert os.path.isdir(other["code_dir"])
    # (the server's files: "denied", or "missing" where they are in the host's /tmp, which it does not see)
    results = body["results"]
    assert {label: results.pop(label) in ("denied", "missing") for label in ("database", "data_dir")} == \
        {"database": True, "data_dir": True}
    assert results == {"environ": "denied", "other_code_dir": "denied", "other_code": "denied",
                       "other_tmp": "missing", "own_code": "read", "own_code_dir": "read"}


@root_only
def test_function_cannot_use_another_functions_runtime_api(lam, probes):
    first, second = probes
    other = _invoke(lam, second)
    assert _invoke(lam, first, {"runtime_api": other["runtime_api"]})["results"] == {"runtime_api": "refused"}
    assert _invoke(lam, second)["runtime_api"] == other["runtime_api"]  # its sandbox still serves it


@root_only
def test_a_functions_tmp_is_its_own(lam, probes):
    """Each sandbox has a /tmp of its own, as each AWS execution environment does: what a function
    writes there stays for its next invocations in that sandbox, and neither the host nor another
    function sees it."""
    first, second = probes
    path = f"/tmp/overcast-probe-{uuid.uuid4().hex}"
    _invoke(lam, first, {"write": path})
    assert not os.path.exists(path)
    assert _invoke(lam, second, {"read": {"written": path}})["results"] == {"written": "missing"}
    assert _invoke(lam, first, {"read": {"written": path}})["results"] == {"written": "read"}


@root_only
def test_tmp_has_the_functions_ephemeral_storage_size(lam):
    name = f"tmpsize-{uuid.uuid4().hex[:8]}"
    create_python(lam, name, "import os\ndef handler(e, c):\n    s = os.statvfs('/tmp')\n"
                             "    return {'mib': s.f_blocks * s.f_frsize // 2**20, 'mode': oct(os.stat('/tmp').st_mode)}\n",
                  EphemeralStorage={"Size": 1024})
    assert _invoke(lam, name) == {"mib": 1024, "mode": "0o41777"}
    lam.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": 600})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert _invoke(lam, name)["mib"] == 600


@root_only
def test_python_function_still_works_and_reaches_overcast(lam):
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    create_python(lam, name, source("with_sdk.py"))
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    assert body["account"] == "000000000000"


@root_only
@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_node_function_still_works_as_its_own_user(lam):
    name = f"node-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.js": source("echo.js").replace(
                            "node: process.version,", "node: process.version, uid: process.getuid(),")})})
    out = lam.invoke(FunctionName=name, Payload=json.dumps({"x": 1}))
    body = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    assert body["event"] == {"x": 1} and body["uid"] != 0


@root_only
def test_provided_runtime_runs_as_its_own_user(lam):
    name = f"provided-{uuid.uuid4().hex[:8]}"
    bootstrap = source("bootstrap")
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x",
                        Code={"ZipFile": zip_files({"bootstrap": bootstrap}, {"bootstrap": 0o755})})
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in out, out["Payload"].read()
