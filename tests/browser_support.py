"""A real browser for the tests that need one: Debian's headless Chromium driven by Playwright
(the `playwright` package from PyPI, in the test extras), and browser bundles of npm packages
built with esbuild.

Chromium is the system's (/usr/bin/chromium; `.ci/run` installs it): never `playwright install`,
which downloads a browser. The `browser` fixture in conftest.py launches it once per test module;
tests that need flags of their own (e.g. --host-resolver-rules) call `launch(playwright, *flags)`
with the `playwright` fixture.

npm packages come from OVERCAST_NODE_CLIENTS (default /tmp/overcast-node-clients, where `.ci/run`
installs aws-amplify, oidc-client-ts and esbuild); nothing is fetched from a CDN.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")) if p
                 and os.path.exists(p)), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
NODE_CLIENTS = os.environ.get("OVERCAST_NODE_CLIENTS", "/tmp/overcast-node-clients")
ESBUILD = os.path.join(NODE_CLIENTS, "node_modules", ".bin", "esbuild")


def missing() -> str | None:
    """Why no browser can run here, or None."""
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    return None


def missing_npm(*packages: str) -> str | None:
    """Why these npm packages cannot be bundled here, or None."""
    absent = [p for p in ("esbuild", *packages) if not os.path.isdir(os.path.join(NODE_CLIENTS, "node_modules", p))]
    if absent:
        return f"npm packages missing: npm install --prefix {NODE_CLIENTS} {' '.join(absent)}"
    return None


def launch(playwright, *flags: str):
    """A headless Chromium (playwright Browser) from a running Playwright (the `playwright`
    fixture): one Playwright per thread, so a test that needs flags of its own launches through
    the fixture's instead of starting another. Close it when done."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *flags])


_BUNDLES: dict[str, str] = {}


def bundle(entry: str) -> str:
    """The browser bundle (an IIFE script's text) of a JavaScript entry module that imports npm
    packages, built once per session with esbuild."""
    key = hashlib.sha256(entry.encode()).hexdigest()
    if key not in _BUNDLES:
        with tempfile.TemporaryDirectory(prefix="overcast-bundle-") as work:
            os.symlink(os.path.join(NODE_CLIENTS, "node_modules"), os.path.join(work, "node_modules"))
            with open(os.path.join(work, "entry.mjs"), "w") as f:
                f.write(entry)
            out = os.path.join(work, "bundle.js")
            result = subprocess.run([ESBUILD, "entry.mjs", "--bundle", "--format=iife", "--platform=browser",
                                     "--target=es2020", "--log-level=error", f"--outfile={out}"],
                                    cwd=work, capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"esbuild failed: {result.stderr[-3000:]}")
            with open(out) as f:
                _BUNDLES[key] = f.read()
    return _BUNDLES[key]


@contextlib.contextmanager
def served(files: dict[str, tuple[str, str | bytes]], host: str = "127.0.0.1"):
    """A static web server on a free port (a single-page app's dev server): {path: (content type,
    body)}; any other path gets index.html, as SPA servers do. Yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            content_type, body = files.get(self.path.split("?", 1)[0]) or files["/index.html"]
            data = body.encode() if isinstance(body, str) else body
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
