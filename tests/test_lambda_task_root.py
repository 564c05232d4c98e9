"""A function's code at /var/task, read-only, as on AWS (overcast.runtime.mounts): its working
directory and LAMBDA_TASK_ROOT, the path its errors' stack traces name, for a runtime started ahead
of need (a spare) and one started for it alike. Only when overcast runs as root (CI does); as a
user the code runs from its own directory (docs/lambda.md)."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest
from lambda_functions import ROLE, source, zip_files

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the code is mounted at /var/task only when overcast runs "
                                                           "as root (CI does)")

SEES = """
import errno, json, os, sys

def handler(event, context):
    if event.get("fail"):
        raise ValueError("failed on purpose")
    try:
        open("/var/task/written.txt", "w")
        write = "written"
    except OSError as e:
        write = errno.errorcode[e.errno]
    with open("/var/task/data.json") as f:
        data = json.load(f)
    return {"cwd": os.getcwd(), "task_root": os.environ["LAMBDA_TASK_ROOT"], "pwd": os.environ.get("PWD"),
            "file": __file__, "data": data, "write": write, "path0": sys.path[0],
            "ld": os.environ["LD_LIBRARY_PATH"].split(":"),
            "spare": "spare_runtime.py" in open("/proc/self/cmdline").read(),
            "env_names": sorted(k for k in os.environ if k in ("OLDPWD", "PYTHONPYCACHEPREFIX", "NODE_PATH"))}
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def _create(lam, files: dict, runtime="python3.11", handler="app.handler", executable=(), **kwargs) -> str:
    name = f"task-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                        Code={"ZipFile": zip_files(files, {path: 0o755 for path in executable})}, **kwargs)
    return name


def _invoke(lam, name, event=None):
    out = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}))
    return out, json.loads(out["Payload"].read())


@pytest.mark.parametrize("started", ["spare", "fresh"])
def test_python_code_is_at_var_task_read_only(lam, started):
    files = {"app.py": SEES, "data.json": '{"from": "the zip"}'}
    if started == "fresh":  # a shared library in the code: the runtime is started for it, not handed to a spare
        files["libnothing.so"] = ""
    name = _create(lam, files)
    out, body = _invoke(lam, name)
    assert "FunctionError" not in out, body
    if started == "fresh":
        assert body["spare"] is False
    assert body["cwd"] == body["task_root"] == body["pwd"] == body["path0"] == "/var/task"
    assert body["file"] == "/var/task/app.py" and body["data"] == {"from": "the zip"}
    assert body["write"] == "EROFS"  # AWS's /var/task is read-only too
    # AWS's, as its docs list it ("Defined runtime environment variables")
    assert body["ld"] == ["/var/lang/lib", "/lib64", "/usr/lib64", "/var/runtime", "/var/runtime/lib", "/var/task",
                          "/var/task/lib", "/opt/lib"]
    # nothing of overcast's machinery in the function's environment, nor NODE_PATH (set for Node.js only)
    assert body["env_names"] == []
    # an error's stack trace names the code where AWS's does
    out, error = _invoke(lam, name, {"fail": True})
    assert out["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["stackTrace"][0].startswith('  File "/var/task/app.py", line 6, in handler')


def test_a_new_version_of_the_code_runs_although_its_files_have_the_same_size_and_time(lam):
    # the code is read-only, so compiled modules are kept elsewhere (sys.pycache_prefix): per code
    # version, since a .pyc is checked against its source's size and time only (zips made by
    # tools often carry one fixed time, as these do)
    name = _create(lam, {"app.py": "def handler(event, context):\n    return 'AAAA'\n"})
    assert _invoke(lam, name)[1] == "AAAA"
    assert _invoke(lam, name)[1] == "AAAA"
    lam.update_function_code(FunctionName=name, ZipFile=zip_files({"app.py": "def handler(event, context):\n    return 'BBBB'\n"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert _invoke(lam, name)[1] == "BBBB"


def test_layers_and_code_both_mounted_for_a_spare(lam):
    # a Python function with layers is handed to a runtime started ahead too: it makes its mounts itself
    layer = lam.publish_layer_version(LayerName=f"layer-{uuid.uuid4().hex[:8]}", Content={"ZipFile": zip_files(
        {"python/shared_mod.py": "WHERE = __file__\n"})})["LayerVersionArn"]
    handler = ("import os, shared_mod\n"
               "def handler(event, context):\n"
               "    return {'layer': shared_mod.WHERE, 'cwd': os.getcwd(), 'opt': sorted(os.listdir('/opt')),\n"
               "            'spare': 'spare_runtime.py' in open('/proc/self/cmdline').read()}\n")
    name = _create(lam, {"app.py": handler}, Layers=[layer])
    spares = [_invoke(lam, name)[1]]
    for _ in range(3):  # more cold starts: concurrent invocations would each need a sandbox of their own
        lam.update_function_configuration(FunctionName=name, Description=uuid.uuid4().hex)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        spares.append(_invoke(lam, name)[1])
    for body in spares:
        assert body["layer"] == "/opt/python/shared_mod.py" and body["cwd"] == "/var/task" and body["opt"] == ["python"]
    assert any(body["spare"] for body in spares)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_node_code_is_at_var_task(lam):
    handler = ("const fs = require('fs');\n"
               "exports.handler = async (event) => {\n"
               "  if (event.fail) throw new Error('failed on purpose');\n"
               "  let write; try { fs.writeFileSync('/var/task/x', 'x'); write = 'written'; } catch (e) { write = e.code; }\n"
               "  return {cwd: process.cwd(), root: process.env.LAMBDA_TASK_ROOT, file: __filename, write,\n"
               "          nodePath: process.env.NODE_PATH.split(':').pop(), data: fs.readFileSync('/var/task/data.txt', 'utf8')};\n"
               "};\n")
    name = _create(lam, {"index.js": handler, "data.txt": "hello"}, runtime="nodejs20.x", handler="index.handler")
    out, body = _invoke(lam, name)
    assert "FunctionError" not in out, body
    assert body == {"cwd": "/var/task", "root": "/var/task", "file": "/var/task/index.js", "write": "EROFS",
                    "nodePath": "/var/task", "data": "hello"}
    out, error = _invoke(lam, name, {"fail": True})
    assert out["FunctionError"] == "Unhandled"
    assert any("/var/task/index.js:3" in line for line in error["trace"]), error  # (Node's runtime calls it trace)


def test_custom_runtime_bootstrap_runs_from_var_task(lam):
    bootstrap = source("bootstrap").replace('"event": event}', '"event": event, "argv0": __import__("sys").argv[0], '
                                                               '"cwd": os.getcwd()}')
    name = _create(lam, {"bootstrap": bootstrap}, runtime="provided.al2023", handler="x", executable=["bootstrap"])
    out, body = _invoke(lam, name, {"k": 1})
    assert "FunctionError" not in out, body
    assert body["argv0"] == "/var/task/bootstrap" and body["cwd"] == "/var/task" and body["event"] == {"k": 1}


def test_exec_wrapper_named_under_var_task(lam):
    wrapper = '#!/bin/sh\nexport WRAPPED="$0"\nexec "$@"\n'
    handler = "import os\ndef handler(event, context):\n    return [os.environ['WRAPPED'], os.getcwd()]\n"
    name = _create(lam, {"app.py": handler, "wrap.sh": wrapper}, executable=["wrap.sh"], Environment={"Variables": {
        "AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}})
    out, body = _invoke(lam, name)
    assert "FunctionError" not in out, body
    assert body == ["/var/task/wrap.sh", "/var/task"]
