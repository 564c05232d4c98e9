"""Helpers for the SNS, EventBridge, Scheduler and event-source-mapping tests: queues to observe
deliveries, a local HTTP subscriber, SNS signature verification as AWS documents it, and a Lambda
function that forwards each event it gets to an SQS queue."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def make_queue(sqs, name: str, **attributes) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
    """Receive and delete until `count` messages arrived (or the timeout passed)."""
    messages, deadline = {}, time.time() + timeout
    while len(messages) < count and time.time() < deadline:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10,
                                  MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        for message in got:
            messages[message["MessageId"]] = message
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return list(messages.values())


def verify_sns_signature(message: dict) -> bool:
    """Verify an SNS message as AWS's documentation describes: download the certificate from
    SigningCertURL, rebuild the string to sign, and check the signature (SHA1 for
    SignatureVersion 1, SHA256 for 2)."""
    with urllib.request.urlopen(message["SigningCertURL"], timeout=5) as response:
        certificate = x509.load_pem_x509_certificate(response.read())
    fields = NOTIFICATION_FIELDS if message["Type"] == "Notification" else CONFIRMATION_FIELDS
    text = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
    digest = hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    try:
        certificate.public_key().verify(base64.b64decode(message["Signature"]), text.encode(), padding.PKCS1v15(),
                                        digest)
        return True
    except Exception:
        return False


class HttpSubscriber:
    """A local HTTP endpoint that records every request; `status` decides what it answers."""

    def __init__(self, status: int = 200, confirm: bool = True, port: int = 0):
        self.requests: list[dict] = []
        self.status = status
        self.confirm = confirm
        self.event = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                if owner.confirm and self.headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation":
                    with urllib.request.urlopen(json.loads(body)["SubscribeURL"], timeout=5):
                        pass  # confirmed before the request is recorded, so waiters see a confirmed subscription
                with owner.event:
                    owner.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                           "path": self.path})
                    owner.event.notify_all()
                self.send_response(owner.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.closed = False
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0, kind: str | None = None) -> list[dict]:
        deadline = time.time() + timeout
        with self.event:
            while True:
                got = [r for r in self.requests if kind is None or r["headers"].get("x-amz-sns-message-type") == kind]
                if len(got) >= count or time.time() >= deadline:
                    return got
                self.event.wait(max(0.0, deadline - time.time()))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()


FORWARDER = """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(event))
    if os.environ.get("FAIL"):
        raise RuntimeError("failing on purpose")
    return {"ok": True}
"""


def forwarder(lam, name: str, sink_url: str, code: str = FORWARDER, timeout: int = 30, **env) -> str:
    """A Python function that sends each event it receives to the queue `sink_url`."""
    from lambda_functions import create_python

    return create_python(lam, name, code, Environment={"Variables": {"SINK": sink_url, **env}},
                         Timeout=timeout)["FunctionArn"]
