"""Python functions on their own Python version.

AWS runs a python3.12 function on Python 3.12, with AWS's runtime interface client and boto3 in
/var/runtime. overcast runs it on the host's Python unless that version is installed for it:
`overcast install-python-runtimes` finds each python3.X of overcast's runtimes on PATH (pyenv's,
the system's) and installs awslambdaric and boto3 for it into a directory of its own under
OVERCAST_PYTHON_RUNTIMES_PATH (config.py), beside a note of the interpreter. The interpreter itself
is left as it is: nothing is installed into it.

A function of that runtime then runs on that interpreter (overcast.runtime.pool.Interpreters):
as root, its installation is mounted at /var/lang, as AWS's is, so that the function's own user
runs it from there (an interpreter under /root is not reachable by that user); the packages
directory is put on sys.path right after /var/runtime by overcast's sitecustomize (`-X
overcast_site`), where AWS's runtime has them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass

from overcast.runtime.commands import PYTHON_RUNTIMES
from overcast.runtime.installs import publish, read_note, write_note
from overcast.runtime.mounts import LANG

log = logging.getLogger("overcast.lambda")

PACKAGES = ("awslambdaric", "boto3")
# what the interpreter says of itself: its executable, the installation it belongs to (a
# virtualenv's base), its version
_PROBE = "import json, sys; print(json.dumps([sys.executable, sys.base_prefix, sys.version.split()[0]]))"


@dataclass(frozen=True, slots=True)
class Installed:
    """A python3.X runtime installed for overcast."""

    runtime: str
    executable: str  # the interpreter, at its own path
    prefix: str  # its installation (sys.base_prefix): what is mounted at /var/lang
    site: str  # awslambdaric and boto3 for it

    @property
    def at_lang(self) -> str:
        """The interpreter where a sandbox sees the installation, mounted at /var/lang."""
        return os.path.join(LANG, "bin", os.path.basename(self.executable))


def find(root: str, runtime: str) -> Installed | None:
    """The runtime's installation under `root`, if it was installed and its interpreter is still
    there."""
    site = os.path.join(root, runtime)
    note = read_note(site)
    executable, prefix = note.get("executable"), note.get("prefix")
    if not (isinstance(executable, str) and isinstance(prefix, str) and os.access(executable, os.X_OK)):
        return None
    return Installed(runtime, executable, prefix, site)


def host_runtime() -> str:
    return f"python{sys.version_info[0]}.{sys.version_info[1]}"


def install(root: str) -> int:
    """Install the packages for every python3.X of overcast's runtimes found on PATH but the
    host's own (which runs from overcast's own environment); 0 when each one found installed."""
    failed = 0
    for runtime in PYTHON_RUNTIMES:
        if runtime == host_runtime():
            print(f"{runtime}: the Python overcast runs on ({sys.executable})")
            continue
        found = _interpreter(runtime)
        if found is None:
            print(f"{runtime}: not found (on PATH or in pyenv); {runtime} functions run on Python "
                  f"{sys.version_info[0]}.{sys.version_info[1]}")
            continue
        try:
            _install_one(root, runtime, *found)
        except (OSError, subprocess.CalledProcessError) as e:
            failed += 1
            print(f"{runtime}: not installed ({e})")
    return 1 if failed else 0


def _candidates(runtime: str) -> list[str]:
    """Where a python3.X may be: PATH (a pyenv shim there runs only the versions pyenv has
    selected), then pyenv's own installations of that version, newest first."""
    found = [shutil.which(runtime)]
    versions = os.path.join(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"), "versions")
    wanted = runtime[len("python"):]
    try:
        names = [n for n in os.listdir(versions) if n == wanted or n.startswith(wanted + ".")]
    except OSError:
        names = []
    found += [os.path.join(versions, n, "bin", runtime) for n in sorted(names, key=_patch_level, reverse=True)]
    return [path for path in found if path]


def _patch_level(name: str) -> int:
    """3.12.1 -> 1 (-1 for a name without one, such as 3.12-dev)."""
    parts = name.split(".")
    return int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else -1


def _interpreter(runtime: str) -> tuple[str, str, str] | None:
    """(executable, installation, version) of the first candidate that runs and is that version."""
    for command in _candidates(runtime):
        try:
            probe = subprocess.run([command, "-c", _PROBE], capture_output=True, timeout=60)
            executable, prefix, version = json.loads(probe.stdout) if probe.returncode == 0 else ("", "", "")
        except (OSError, ValueError, subprocess.TimeoutExpired):
            continue
        if f"python{version}".startswith(runtime + "."):
            return executable, prefix, version
    return None


def _install_one(root: str, runtime: str, executable: str, prefix: str, version: str) -> None:
    base = os.path.join(prefix, "bin", runtime)  # a virtualenv's interpreter: its base installation's
    if os.access(base, os.X_OK):
        executable = base
    executable = os.path.realpath(executable)
    os.makedirs(root, mode=0o755, exist_ok=True)
    temporary = os.path.join(root, f".{runtime}.tmp-{uuid.uuid4().hex}")
    print(f"{runtime}: installing {', '.join(PACKAGES)} for Python {version} ({executable}) into "
          f"{os.path.join(root, runtime)}", flush=True)
    previous = os.umask(0o022)  # readable by the sandboxes' own users
    try:
        subprocess.run([executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-warn-script-location", "--target", temporary, *PACKAGES], check=True)
        write_note(temporary, {"executable": executable, "prefix": prefix, "version": version})
        os.chmod(temporary, 0o755)
        publish(temporary, os.path.join(root, runtime))
    finally:
        os.umask(previous)
        shutil.rmtree(temporary, ignore_errors=True)
