"""Cross-site request forgery and DNS rebinding, tried by a real browser (docs/security.md).

Headless Chromium resolves evil.example to 127.0.0.1 (--host-resolver-rules), loads an attacker's
page from http://evil.example:<port>/ and lets it try each attack on a private overcast: a
text/plain form POST to /_overcast/reset, an awsQuery form POST of DeleteQueue, an <img> GET of
SendMessage and a multipart form upload to S3 without a policy. The page waits until every
request is answered. Nothing may change. The same page served by overcast itself (same origin)
shows that the attacks are real: there they do what they say — except the reset, which needs a
JSON body or the X-Overcast-Request header that no form can send. Needs Debian's `chromium`."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from conftest import OvercastProcess, make_client
from test_apigateway_browser import CHROMIUM, _browse, _serve_page

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")

REBIND = "--host-resolver-rules=MAP evil.example 127.0.0.1"

ATTACKS = """<!doctype html><html><head><title>attack</title></head><body><pre id="out">pending</pre>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<form id="reset" target="f1" method="post" enctype="text/plain" action="%(ep)s/_overcast/reset">
  <input name='{"all":"' value='gone"}'></form>
<form id="delete" target="f2" method="post" action="%(ep)s/">
  <input name="Action" value="DeleteQueue"><input name="QueueUrl" value="%(queue)s"></form>
<form id="upload" target="f3" method="post" enctype="multipart/form-data" action="%(ep)s/%(bucket)s">
  <input name="key" value="pwned.txt"><textarea name="file">pwned</textarea></form>
<script>
let pending = 4;
const answered = () => { if (--pending === 0) document.getElementById("out").textContent = "ALL ANSWERED"; };
for (const name of ["f1", "f2", "f3"]) document.querySelector("iframe[name=" + name + "]").addEventListener("load", answered);
const img = new Image();
img.onload = img.onerror = answered;
img.src = "%(ep)s%(queue_path)s?Action=SendMessage&MessageBody=pwned";
for (const id of ["reset", "delete", "upload"]) document.getElementById(id).submit();
</script></body></html>"""


@pytest.fixture
def target(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path / "data"))
    try:
        sqs, s3 = make_client(server.endpoint, "sqs"), make_client(server.endpoint, "s3")
        sqs.create_queue(QueueName="marker")  # the reset would remove it
        queue = sqs.create_queue(QueueName="victim")["QueueUrl"]
        s3.create_bucket(Bucket="victim-bucket")
        page = ATTACKS % {"ep": server.endpoint, "queue": queue, "queue_path": urlparse(queue).path,
                          "bucket": "victim-bucket"}
        yield server, sqs, s3, queue, page
    finally:
        server.stop()


def _state(sqs, s3, queue) -> dict:
    queues = sorted(url.rsplit("/", 1)[1] for url in sqs.list_queues().get("QueueUrls", []))
    messages = 0
    if "victim" in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        messages = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket="victim-bucket").get("Contents", [])]
    return {"queues": queues, "messages": messages, "objects": objects}


def test_page_on_another_origin_cannot_forge_requests(target):
    server, sqs, s3, queue, page = target
    attacker = _serve_page(page)
    try:
        dom = _browse(f"http://evil.example:{attacker.server_address[1]}/", REBIND)
    finally:
        attacker.shutdown()
    assert "ALL ANSWERED" in dom  # every attack reached overcast and got its answer
    assert _state(sqs, s3, queue) == {"queues": ["marker", "victim"], "messages": 0, "objects": []}


def test_the_same_page_served_same_origin_does_what_it_says(target):
    server, sqs, s3, queue, page = target
    s3.create_bucket(Bucket="pages")
    s3.put_object(Bucket="pages", Key="attack.html", Body=page.encode(), ContentType="text/html")
    dom = _browse(f"{server.endpoint}/pages/attack.html")
    assert "ALL ANSWERED" in dom
    # DeleteQueue and SendMessage race in the browser; either way both reached the queue's service
    state = _state(sqs, s3, queue)
    assert state["queues"] == ["marker"] or state["messages"] == 1
    assert "marker" in state["queues"]  # the reset needs JSON or X-Overcast-Request, even same-origin
    assert state["objects"] == ["pwned.txt"]


def test_rebound_name_is_refused(target):
    """DNS rebinding: evil.example now resolves to 127.0.0.1, so the attacker's page reads
    http://evil.example:<overcast's port>/ as its own origin — but overcast does not serve that Host."""
    server = target[0]
    port = urlparse(server.endpoint).port
    dom = _browse(f"http://evil.example:{port}/_overcast/health", REBIND)
    assert "OVERCAST_ALLOWED_HOSTS" in dom
    assert '"status"' not in dom
    assert '"running"' in _browse(f"http://localhost:{port}/_overcast/health")
