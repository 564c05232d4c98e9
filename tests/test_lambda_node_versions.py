"""A nodejs*.x function runs on that Node.js version when it was installed for overcast (`overcast
install-node-runtimes`, which CI runs: docs/lambda.md, "Node.js versions"), with the same runtime
client as the host's; as root its installation is at /var/lang, as AWS's is. Each version's test
skips where it is not installed (the host's own version runs on the host's node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from lambda_functions import ROLE, zip_files

from overcast.config import Config
from overcast.runtime import node_runtimes
from overcast.runtime.commands import NODE_RUNTIMES

ROOT = Config.from_env().node_runtimes_path

SEES = """
export const handler = async () => ({version: process.version, execPath: process.execPath,
  uid: process.getuid(), env: process.env.AWS_EXECUTION_ENV, cwd: process.cwd()});
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.mark.parametrize("runtime", NODE_RUNTIMES)
def test_a_function_runs_on_its_runtimes_node(lam, runtime):
    node = node_runtimes.find(ROOT, runtime)
    if node is None:
        pytest.skip(f"{runtime} is not installed for overcast in {ROOT} (`overcast install-node-runtimes`; "
                    "the host's own version is not: the host's node runs it)")
    name = f"nodev-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.mjs": SEES})})
    for _ in range(2):  # a cold start, then the warm sandbox
        out = lam.invoke(FunctionName=name, Payload=b"{}")
        body = json.loads(out["Payload"].read())
        assert "FunctionError" not in out, body
        assert body["version"].startswith(f"v{node_runtimes.major(runtime)}.")
        assert body["env"] == f"AWS_Lambda_{runtime}"
    if os.geteuid() == 0:  # its installation at /var/lang, run by the function's own user
        assert body["execPath"] == "/var/lang/bin/node" and body["uid"] != 0 and body["cwd"] == "/var/task"
    else:
        assert body["execPath"] == node


def test_install_without_npm_says_so(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from overcast.cli import main; main()", "install-node-runtimes",
                           "--path", str(tmp_path / "runtimes")], env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "npm is not on PATH" in done.stdout and not (tmp_path / "runtimes").exists()


def test_an_installation_whose_node_is_gone_is_not_used(tmp_path):
    (tmp_path / "nodejs22.x").mkdir()
    (tmp_path / "nodejs22.x" / "interpreter.json").write_text(json.dumps({"node": str(tmp_path / "gone" / "node")}))
    assert node_runtimes.find(str(tmp_path), "nodejs22.x") is None
    assert node_runtimes.find(str(tmp_path), "nodejs24.x") is None
