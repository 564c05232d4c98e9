"""The command that starts a runtime: which interpreter and runtime interface client each runtime
runs under. Light on purpose (no imports of the sandbox machinery): the server's start-up uses it
to probe the usual runtimes (overcast.runtime.isolation.start_probes)."""

from __future__ import annotations

import os
import shutil

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
PROVIDED_RUNTIMES = ("provided.al2", "provided.al2023", "provided")
RUBY_RUNTIMES = ("ruby3.2", "ruby3.3", "ruby3.4")
_BOOTSTRAP_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_bootstrap.js")
_BOOTSTRAP_RB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ruby_bootstrap.rb")
_NODE_RIC_MJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_ric.mjs")
_NODE_SITE_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_site.js")  # see that file


def _node_ric() -> list[str] | None:
    """aws-lambda-ric from npm when it is installed (OVERCAST_LAMBDA_NODE_RIC or on PATH): its
    client module run by overcast's node_ric.mjs, as a managed runtime runs it (the package's own
    executable, for container images, logs a line of its own first), or that executable where the
    module is not beside it."""
    executable = os.environ.get("OVERCAST_LAMBDA_NODE_RIC")
    if not (executable and os.path.exists(executable)):
        executable = shutil.which("aws-lambda-ric")  # npm install -g aws-lambda-ric
    if not executable:
        return None
    client = os.path.join(os.path.dirname(os.path.realpath(executable)), os.pardir, "dist", "index.mjs")
    if os.path.isfile(client):
        return [_NODE_RIC_MJS, os.path.normpath(client)]
    return [executable]


def command_for(runtime: str, handler: str, code_dir: str, memory: int, python: str,
                task_root: str | None = None, node: str | None = None) -> tuple[list[str], bool]:
    """The argv that starts a sandbox, and whether RLIMIT_AS may limit it (`python`: the
    interpreter Interpreters chose, for python runtimes; `task_root`: where the sandbox sees
    `code_dir`, when not at its own path; `node`: a Node.js installed for a nodejs runtime, else
    the host's)."""
    if runtime.startswith("python"):
        return [python, "-m", "awslambdaric", handler], True
    if runtime.startswith("nodejs"):
        node = node or shutil.which("node") or "node"
        ric = _node_ric()
        options = [f"--max-old-space-size={max(32, int(memory * 0.9))}", "--require", _NODE_SITE_JS]
        return [node, *options, *(ric or [_BOOTSTRAP_JS]), handler], False
    if runtime.startswith("ruby"):
        # (error_highlight off: Ruby 3.1 puts its source excerpt in an error's message, which AWS's
        # Ruby 3.2 and later keep out of it, so an errorMessage reads as AWS's)
        return [ruby_for(runtime) or "ruby", "--disable=error_highlight", _BOOTSTRAP_RB], True
    return _bootstrap(os.path.join(code_dir, "bootstrap"), os.path.join(task_root or code_dir, "bootstrap")), True


def ruby_for(runtime: str) -> str | None:
    """The Ruby a ruby3.x function runs on: that version's interpreter where the host has it
    (Debian names it `ruby3.3`), else the host's `ruby` (None: no Ruby installed)."""
    return shutil.which(runtime) or shutil.which("ruby")


_BASH = shutil.which("bash")


def _bootstrap(path: str, seen_as: str) -> list[str]:
    """A custom runtime's bootstrap (at `path`, which the sandbox sees as `seen_as`), run by its
    `#!` line, except that `#!/bin/sh` means bash in POSIX mode, as on Amazon Linux (whose /bin/sh
    is bash): a bootstrap written for AWS may use bash's options (`set -o pipefail`), which a
    host's dash refuses."""
    try:
        with open(path, "rb") as f:
            first = f.readline(128)
    except OSError:
        return [seen_as]  # (the sandbox reports the missing bootstrap as AWS does)
    words = first[2:].split() if first.startswith(b"#!") else []
    if _BASH and words[:1] == [b"/bin/sh"]:
        return [_BASH, "--posix", *(w.decode() for w in words[1:]), seen_as]
    return [seen_as]
