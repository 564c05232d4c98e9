"""A python3.X function runs on Python 3.X when that version was installed for overcast (`overcast
install-python-runtimes`, which CI runs: docs/lambda.md, "Python versions"), with AWS's runtime
interface client and boto3 beside /var/runtime; as root its installation is at /var/lang, as AWS's
is, and the function runs as its own user. Each version's test skips where it is not installed."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from lambda_functions import ROLE, zip_files

from overcast.config import Config
from overcast.runtime import python_runtimes
from overcast.runtime.commands import PYTHON_RUNTIMES

ROOT = Config.from_env().python_runtimes_path
HOST = f"python{sys.version_info[0]}.{sys.version_info[1]}"

SEES = """
import os, sys

def handler(event, context):
    import awslambdaric, boto3
    return {"version": "python{}.{}".format(*sys.version_info[:2]), "executable": sys.executable,
            "prefix": sys.prefix, "path": sys.path, "boto3": boto3.__file__, "ric": awslambdaric.__file__,
            "uid": os.getuid(), "ld": os.environ["LD_LIBRARY_PATH"], "bin": sorted(os.listdir(os.path.dirname(sys.executable))),
            "spare": "spare_runtime.py" in open("/proc/self/cmdline").read(), "pwd": os.environ.get("PWD"),
            "cwd": os.getcwd(), "name": context.function_name}
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def _invoke(lam, runtime, files, **kwargs):
    name = f"pyv-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zip_files(files)}, **kwargs)
    return _call(lam, name)


def _call(lam, name):
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, body
    return body


def _later_cold_start(lam, name) -> dict:
    """What a cold start sees once that Python's zygote has loaded (the first cold starts right
    after the function's creation are started afresh while it loads: docs/lambda.md): each try a
    new configuration revision, so a new sandbox."""
    deadline = time.monotonic() + 30
    for attempt in itertools.count():
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"TRY": str(attempt)}})
        lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
        body = _call(lam, name)
        if body["spare"] or time.monotonic() > deadline:
            return body


@pytest.mark.parametrize("runtime", [r for r in PYTHON_RUNTIMES if r != HOST])
def test_a_function_runs_on_its_runtimes_python(lam, runtime):
    installed = python_runtimes.find(ROOT, runtime)
    if installed is None:
        pytest.skip(f"{runtime} is not installed for overcast in {ROOT} (`overcast install-python-runtimes`)")
    first = _invoke(lam, runtime, {"app.py": SEES})
    assert first["version"] == runtime
    # later cold starts are started by a spare of its own Python (forked from that Python's
    # zygote), as the host's are, and see the same
    body = _later_cold_start(lam, first["name"])
    assert body["spare"] is True
    assert {k: v for k, v in body.items() if k != "spare"} == {k: v for k, v in first.items() if k != "spare"}
    # its awslambdaric and boto3 right after /var/runtime (overcast's sitecustomize's directory), as AWS's are
    assert body["ric"].startswith(installed.site + "/") and body["boto3"].startswith(installed.site + "/")
    assert body["path"][body["path"].index(installed.site) - 1] in ("/var/runtime", os.path.dirname(
        os.path.abspath(python_runtimes.__file__)) + "/site")
    if os.geteuid() == 0:  # its installation mounted at /var/lang, run by the function's own user
        assert body["executable"] == f"/var/lang/bin/{runtime}" and body["prefix"] == "/var/lang"
        assert body["path"][:4] == ["/var/task", f"/opt/python/lib/{runtime}/site-packages", "/opt/python",
                                    "/var/runtime"]
        assert body["path"][5:] == [f"/var/lang/lib/python{runtime[6:].replace('.', '')}.zip",
                                    f"/var/lang/lib/{runtime}", f"/var/lang/lib/{runtime}/lib-dynload",
                                    f"/var/lang/lib/{runtime}/site-packages"]
        assert body["uid"] != 0 and runtime in body["bin"]
        assert body["ld"].split(":")[0] == "/var/lang/lib"
        assert body["pwd"] == body["cwd"] == "/var/task"
    else:
        assert body["executable"] == installed.executable


def test_layers_and_a_second_invocation_on_an_installed_python(lam):
    runtime = next((r for r in reversed(PYTHON_RUNTIMES) if r != HOST and python_runtimes.find(ROOT, r)), None)
    if runtime is None:
        pytest.skip(f"no python3.X but the host's installed for overcast in {ROOT}")
    layer = lam.publish_layer_version(
        LayerName=f"pyv-{uuid.uuid4().hex[:8]}", Content={"ZipFile": zip_files({
            f"python/lib/{runtime}/site-packages/helper.py": "WHO = 'the layer'\n"})})["LayerVersionArn"]
    code = ("import sys, helper\n"
            "def handler(event, context):\n"
            "    return {'who': helper.WHO, 'version': 'python{}.{}'.format(*sys.version_info[:2])}\n")
    name = f"pyv-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": zip_files({"app.py": code})}, Layers=[layer])
    for _ in range(2):  # the second runs in the warm sandbox
        out = lam.invoke(FunctionName=name, Payload=b"{}")
        assert json.loads(out["Payload"].read()) == {"who": "the layer", "version": runtime}


def test_install_leaves_an_interpreter_it_cannot_find(tmp_path):
    # a PATH with no Python and no pyenv: every runtime but the host's is reported, none installed
    env = {"PATH": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", "from overcast.cli import main; main()", "install-python-runtimes",
                           "--path", str(tmp_path / "runtimes")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for runtime in PYTHON_RUNTIMES:
        if runtime != HOST:
            assert f"{runtime}: not found (on PATH or in pyenv); {runtime} functions run on Python" in done.stdout
    assert not (tmp_path / "runtimes").exists() or not os.listdir(tmp_path / "runtimes")


def test_an_installation_whose_interpreter_is_gone_is_not_used(tmp_path):
    site = tmp_path / "python3.12"
    site.mkdir()
    (site / "interpreter.json").write_text(json.dumps({"executable": str(tmp_path / "gone" / "python3.12"),
                                                       "prefix": str(tmp_path / "gone"), "version": "3.12.1"}))
    assert python_runtimes.find(str(tmp_path), "python3.12") is None
    (site / "interpreter.json").write_text("not json")
    assert python_runtimes.find(str(tmp_path), "python3.12") is None


def test_a_runtime_started_afresh_on_an_installed_python(lam):
    # a shared library in the code: no spare can take the function (its LD_LIBRARY_PATH is read at
    # start), so its runtime is started for it, on the same Python, seeing the same
    runtime = next((r for r in PYTHON_RUNTIMES if r != HOST and python_runtimes.find(ROOT, r)), None)
    if runtime is None:
        pytest.skip(f"no python3.X but the host's installed for overcast in {ROOT}")
    body = _invoke(lam, runtime, {"app.py": SEES, "libnothing.so": ""})
    assert body["spare"] is False and body["version"] == runtime
    if os.geteuid() == 0:
        assert body["executable"] == f"/var/lang/bin/{runtime}" and body["uid"] != 0
        assert body["pwd"] == body["cwd"] == "/var/task"
