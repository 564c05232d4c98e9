"""A real browser: headless Chromium opens the live stock counter's product page, whose
WebSocket connects to overcast, and shows the pushed stock count. Skipped without `chromium`
(Debian: apt-get install -y chromium)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
import websockets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "live-stock-counter")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, EXAMPLE)
    try:
        import deploy
    finally:
        sys.path.remove(EXAMPLE)
    return deploy


class Browser:
    def __init__(self, url: str):
        self.profile = tempfile.mkdtemp(prefix="overcast-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={self.profile}", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline:
            line = self.process.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                self.port = int(match.group(1))
                break
            if not line and self.process.poll() is not None:
                break
        if self.port is None:
            self.close()
            pytest.skip("chromium did not start")

    def page_socket(self) -> str:
        for _ in range(100):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list") as response:
                pages = [t for t in json.load(response) if t["type"] == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise AssertionError("no page target")

    def close(self):
        self.process.kill()
        self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


async def _text_of(cdp, element_id: str, ids=iter(range(1, 10**6))) -> str:
    message_id = next(ids)
    await cdp.send(json.dumps({"id": message_id, "method": "Runtime.evaluate", "params": {
        "expression": f"document.getElementById({element_id!r}) && document.getElementById({element_id!r}).textContent",
        "returnByValue": True}}))
    while True:
        answer = json.loads(await cdp.recv())
        if answer.get("id") == message_id:
            return (answer.get("result", {}).get("result") or {}).get("value") or ""


async def _wait_for(cdp, element_id: str, wanted: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    value = ""
    while time.monotonic() < deadline:
        value = await _text_of(cdp, element_id)
        if value == wanted:
            return value
        await asyncio.sleep(0.1)
    return value


def test_chromium_page_shows_pushed_stock_count(example, endpoint):
    info = example.deploy(endpoint)
    page = "chromium-product"
    url = f"file://{EXAMPLE}/index.html?url={info['path_url']}&page={page}"
    browser = Browser(url)
    try:
        async def go():
            async with websockets.connect(browser.page_socket(), max_size=None) as cdp:
                assert await _wait_for(cdp, "status", "updated") == "updated"  # connected, asked for the count
                loop = asyncio.get_running_loop()
                if info["streaming"]:
                    await loop.run_in_executor(None, example.set_stock, endpoint, info["stock_table"], page, 41)
                else:
                    import boto3

                    lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                                       aws_access_key_id="test", aws_secret_access_key="test")
                    await loop.run_in_executor(None, lambda: lam.invoke(
                        FunctionName=info["push_function"], Payload=json.dumps({"productId": page, "stock": 41})))
                return await _wait_for(cdp, "stock", "41")
        assert asyncio.run(go()) == "41"
    finally:
        browser.close()
