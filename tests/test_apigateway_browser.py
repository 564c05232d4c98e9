"""CORS, proven by a browser: headless Chromium loads a page from another origin (a tiny local
HTTP server on another port) whose script calls the deployed API with fetch — a JSON POST, so
the browser sends a preflight OPTIONS first — and writes the outcome into the DOM.

Needs Debian's `chromium` (apt-get install -y chromium); skipped when it is absent."""

from __future__ import annotations

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from apigateway_support import Api

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")

PAGE = """<!doctype html><html><head><title>pending</title></head><body><pre id="out">pending</pre><script>
fetch(%(url)r, {method: "POST", headers: {"Content-Type": "application/json", "X-Client": "browser"},
                body: JSON.stringify({hello: "api"})})
  .then(r => r.text().then(t => { document.getElementById("out").textContent = "STATUS " + r.status + " " + t; }))
  .catch(e => { document.getElementById("out").textContent = "FAILED " + e; });
</script></body></html>"""


def _cors_api(apigw, endpoint, allow_origin: str) -> Api:
    api = Api(apigw, endpoint, "browser-cors")
    rid = api.resource("/greet")
    headers = {"method.response.header.Access-Control-Allow-Origin": False}
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="POST", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="POST", statusCode="200",
                              responseParameters=headers)
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="POST", statusCode="200",
                                   responseParameters={"method.response.header.Access-Control-Allow-Origin": f"'{allow_origin}'"},
                                   responseTemplates={"application/json": '{"greeting": "hello from the API"}'})
    # the OPTIONS method the console's "Enable CORS" creates
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", statusCode="200",
                              responseParameters={f"method.response.header.Access-Control-Allow-{h}": False
                                                  for h in ("Headers", "Methods", "Origin")})
    apigw.put_integration_response(
        restApiId=api.id, resourceId=rid, httpMethod="OPTIONS", statusCode="200",
        responseParameters={
            "method.response.header.Access-Control-Allow-Headers": "'Content-Type,X-Client,X-Api-Key'",
            "method.response.header.Access-Control-Allow-Methods": "'POST,OPTIONS'",
            "method.response.header.Access-Control-Allow-Origin": f"'{allow_origin}'"},
        responseTemplates={"application/json": ""})
    api.deploy("web")
    return api


def _serve_page(html: str):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _browse(url: str, *flags: str) -> str:
    """The page's DOM once its scripts and loads are done (tests/test_security_browser.py adds
    flags such as --host-resolver-rules)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--virtual-time-budget=5000",
         *flags, "--dump-dom", url],
        capture_output=True, text=True, timeout=60)
    return result.stdout


def _page_result(apigw, endpoint, allow_origin: str) -> str:
    api = _cors_api(apigw, endpoint, allow_origin)
    server = _serve_page(PAGE % {"url": api.url("/greet")})
    try:
        return _browse(f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()


def test_browser_on_another_origin_calls_api_with_cors(client, endpoint):
    dom = _page_result(client("apigateway"), endpoint, "*")
    assert 'STATUS 200 {"greeting": "hello from the API"}' in dom


def test_browser_blocks_response_without_matching_allow_origin(client, endpoint):
    dom = _page_result(client("apigateway"), endpoint, "http://somewhere-else.example")
    assert "FAILED TypeError" in dom
