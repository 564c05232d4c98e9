"""Layers at /opt, as Lambda gives them (boto3 against a real server): a function's layers are
merged into /opt in the order of its `Layers` (a later layer's file wins), `/opt/python` is
importable, `/opt/bin` is on PATH, `/opt/nodejs/node_modules` on NODE_PATH, /opt is read-only,
scripts whose `#!` names `/var/lang/bin/python` (the AWS CLI in CDK's AwsCliLayer) run, and
UpdateFunctionConfiguration's new order takes effect. A layer is unpacked once: a later cold start
sees the very same files."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest
from lambda_functions import ROLE, create_python, zip_files

HANDLER = """
import os, subprocess, sys
import shared

def handler(event, context):
    try:
        open("/opt/written", "w").close()
        writable = True
    except OSError:
        writable = False
    return {
        "shared": shared.VALUE,
        "which": open("/opt/data/which.txt").read(),
        "inode": os.stat("/opt/data/which.txt").st_ino,
        "hello": subprocess.check_output(["hello"], text=True).strip(),
        "by_path": subprocess.check_output(["/opt/bin/hello"], text=True).strip(),
        "python_script": subprocess.check_output(["/opt/bin/pyscript"], text=True).strip(),
        "site": __import__("in_site").WHERE,
        "path_ends": os.environ["PATH"].split(":")[-1],
        "opt_on_path": [p for p in sys.path if p.startswith("/opt")],
        "writable": writable,
    }
"""


def layer(name: str, marker: str) -> dict[str, str]:
    return {
        "python/shared.py": f"VALUE = {marker!r}\n",
        "python/lib/python3.11/site-packages/in_site.py": f"WHERE = 'site-packages of {marker}'\n",
        "data/which.txt": marker,
        "bin/hello": f"#!/bin/sh\necho hello from {name}\n",
        "bin/pyscript": "#!/var/lang/bin/python\nimport sys\nprint('python', sys.version_info[0])\n",
    }


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def layers(lam):
    arns = []
    for marker in ("A", "B"):
        files = layer(f"layer-{marker}", marker)
        published = lam.publish_layer_version(
            LayerName=f"opt-{marker}-{uuid.uuid4().hex[:12]}",
            Content={"ZipFile": zip_files(files, {"bin/hello": 0o755, "bin/pyscript": 0o755})},
            CompatibleRuntimes=["python3.11"])
        arns.append(published["LayerVersionArn"])
    return arns


def invoke(lam, name: str) -> dict:
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(out["Payload"].read())
    assert out.get("FunctionError") is None, body
    return body


def test_layers_are_merged_at_opt_in_their_order(lam, layers, unique_name):
    a, b = layers
    name = unique_name("opt")
    create_python(lam, name, HANDLER, Layers=[a, b])
    got = invoke(lam, name)
    assert got["shared"] == "B" and got["which"] == "B"  # the later layer's file wins
    assert got["site"] == "site-packages of B"
    assert got["hello"] == got["by_path"] == "hello from layer-B"  # /opt/bin on PATH
    assert got["python_script"] == "python 3"  # #!/var/lang/bin/python runs the runtime's Python
    assert got["path_ends"] == "/opt/bin"  # AWS's PATH ends with /opt/bin
    # AWS's bootstrap's order: the site-packages before /opt/python
    assert got["opt_on_path"] == ["/opt/python/lib/python3.11/site-packages", "/opt/python"]
    assert got["writable"] is False  # /opt is read-only, as on AWS


def test_update_function_configuration_changes_the_layer_order(lam, layers, unique_name):
    a, b = layers
    name = unique_name("opt")
    create_python(lam, name, HANDLER, Layers=[a, b])
    assert invoke(lam, name)["which"] == "B"
    lam.update_function_configuration(FunctionName=name, Layers=[b, a])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert [layer["Arn"] for layer in lam.get_function_configuration(FunctionName=name)["Layers"]] == [b, a]
    got = invoke(lam, name)
    assert got["which"] == "A" and got["shared"] == "A" and got["hello"] == "hello from layer-A"
    lam.update_function_configuration(FunctionName=name, Layers=[b])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert invoke(lam, name)["which"] == "B"


def test_a_cold_start_reuses_the_unpacked_layers(lam, layers, unique_name):
    a, b = layers
    name = unique_name("opt")
    create_python(lam, name, HANDLER, Layers=[a, b])
    first = invoke(lam, name)
    # a configuration change retires the sandbox: the next invocation is a cold start
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLD": "1"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    second = invoke(lam, name)
    assert second["which"] == "B" and second["inode"] == first["inode"]  # the same file, not extracted again


def test_a_function_without_layers_sees_none_of_the_hosts_opt(lam, unique_name):
    name = unique_name("opt")
    create_python(lam, name, "import os, sys\ndef handler(e, c):\n"
                             "    return [p for p in sys.path if p.startswith('/opt')], os.environ['PATH'], "
                             "os.listdir('/opt')\n")
    paths, path, listed = invoke(lam, name)
    if os.geteuid() == 0:  # its own /opt (empty), with AWS's paths to it, as every AWS function has them
        assert paths == ["/opt/python/lib/python3.11/site-packages", "/opt/python"] and path.endswith(":/opt/bin")
        assert listed == []
    else:  # the host's /opt is not the function's: nothing of it on its paths
        assert paths == [] and "/opt/bin" not in path


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_function_requires_a_module_from_its_layer(lam, unique_name):
    published = lam.publish_layer_version(
        LayerName=unique_name("nodelayer"),
        Content={"ZipFile": zip_files({"nodejs/node_modules/greeting/index.js": "exports.greet = () => 'from /opt';\n",
                                       "nodejs/node20/node_modules/versioned/index.js": "exports.v = 'node20';\n"})})
    name = unique_name("optnode")
    code = zip_files({"index.js": "exports.handler = async () => ({greet: require('greeting').greet(), "
                                  "v: require('versioned').v, path: require.resolve('greeting')});\n"})
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": code}, Layers=[published["LayerVersionArn"]])
    got = invoke(lam, name)
    assert got == {"greet": "from /opt", "v": "node20", "path": "/opt/nodejs/node_modules/greeting/index.js"}


def test_merge_puts_later_layers_over_earlier_ones(tmp_path):
    from overcast.runtime.layers import merge

    first, second = tmp_path / "first", tmp_path / "second"
    for root, files in ((first, {"same.txt": "first", "only-first.txt": "1", "was-file": "a file", "d/x": "x"}),
                        (second, {"same.txt": "second", "was-file/inside": "now a directory", "d": None})):
        for name, text in files.items():
            path = root / name
            if text is None:  # a file where the first layer has a directory
                path.write_text("now a file")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    (second / "link").symlink_to("same.txt")
    target = merge([str(first), str(second)], str(tmp_path / "merged"))
    merged = tmp_path / "merged"
    assert target == str(merged)
    assert (merged / "same.txt").read_text() == "second" and (merged / "only-first.txt").read_text() == "1"
    assert (merged / "was-file" / "inside").read_text() == "now a directory"
    assert (merged / "d").read_text() == "now a file"
    assert os.readlink(merged / "link") == "same.txt"
    assert os.stat(merged / "same.txt").st_ino == os.stat(second / "same.txt").st_ino  # linked, not copied
    (second / "same.txt").write_text("changed")  # built once: a second call reuses what is there
    assert merge([str(first), str(second)], str(merged)) == str(merged)


def test_a_custom_runtime_runs_the_bootstrap_of_its_layer(lam, unique_name):
    from lambda_functions import source

    runtime = lam.publish_layer_version(
        LayerName=unique_name("runtime"),
        Content={"ZipFile": zip_files({"bootstrap": source("bootstrap")}, {"bootstrap": 0o755})})
    name = unique_name("optcustom")
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="function.handler",
                        Code={"ZipFile": zip_files({"function.sh": "# the layer's runtime runs this\n"})},
                        Layers=[runtime["LayerVersionArn"]])
    assert invoke(lam, name) == {"custom": True, "handler": "function.handler", "event": {}}


def test_list_filters_by_compatible_runtime_and_architecture(lam, unique_name):
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/m.py", "X = 1\n")
    name = unique_name("layer")
    first = lam.publish_layer_version(LayerName=name, Content={"ZipFile": buffer.getvalue()},
                                      CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"])
    lam.publish_layer_version(LayerName=name, Content={"ZipFile": buffer.getvalue()}, CompatibleRuntimes=["nodejs20.x"])
    versions = lam.list_layer_versions(LayerName=name, CompatibleRuntime="python3.12")["LayerVersions"]
    assert [v["Version"] for v in versions] == [first["Version"]]
    assert lam.list_layer_versions(LayerName=name, CompatibleArchitecture="x86_64")["LayerVersions"] == []
    assert len(lam.list_layer_versions(LayerName=name)["LayerVersions"]) == 2
    layers = {lay["LayerName"]: lay for lay in lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
    assert layers[name]["LatestMatchingVersion"]["Version"] == first["Version"]
    assert name not in {lay["LayerName"] for lay in lam.list_layers(CompatibleRuntime="java21")["Layers"]}
