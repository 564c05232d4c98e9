"""Amazon SNS: standard and FIFO topics, subscriptions (SQS, Lambda, HTTP/S, email, SMS), filter
policies, raw delivery, signed messages, delivery retries and subscription dead-letter queues.

Durability: Publish commits, in one transaction, the messages for SQS subscriptions (through the
SQS provider, inside the same database transaction), the recorded email/SMS messages and a
pending-delivery row for every Lambda and HTTP/S subscription, before it answers. The engine part
of this module then delivers those rows and deletes each on success or after its dead-letter
handling, so a message accepted by Publish survives kill -9.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import logging
import os
import random
import re
import secrets
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote

import orjson

from overcast import tracing
from overcast.aws import policy as iam_policy
from overcast.aws import tags as reserved_tags
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError
from overcast.aws.models import load_service_model
from overcast.engine import http as http_client
from overcast.engine.patterns import PatternError, compile_pattern
from overcast.engine.targets import DeliveryError, Sender, deliver, delivery_refusal, internal_ctx
from overcast.engine.timers import Timers
from overcast.services import SERVICES
from overcast.services.base import Provider
from overcast.services.sns.signing import Signer, bundle
from overcast.services.sns.store import SnsStore
from overcast.storage.sealing import shared_secret

log = logging.getLogger("overcast.sns")

MAX_MESSAGE = 262_144
DEDUP_WINDOW = 300.0
CERT_PATH = "/_overcast/sns/SimpleNotificationService-overcast.pem"
PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PLATFORMS = ("ADM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU", "GCM", "MACOS",
             "MACOS_SANDBOX", "MPNS", "WNS")
SMS_ATTRIBUTES = {"MonthlySpendLimit", "DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate",
                  "DefaultSenderID", "DefaultSMSType", "UsageReportS3Bucket"}
PHONE = re.compile(r"^\+?[1-9][0-9]{4,14}$")  # E.164
BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
TOPIC_ATTRIBUTES = {
    "DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion", "TracingConfig",
    "ContentBasedDeduplication", "FifoTopic", "FifoThroughputScope", "ArchivePolicy", "DataProtectionPolicy",
    "HTTPSuccessFeedbackRoleArn", "HTTPFailureFeedbackRoleArn", "HTTPSuccessFeedbackSampleRate",
    "LambdaSuccessFeedbackRoleArn", "LambdaFailureFeedbackRoleArn", "LambdaSuccessFeedbackSampleRate",
    "SQSSuccessFeedbackRoleArn", "SQSFailureFeedbackRoleArn", "SQSSuccessFeedbackSampleRate",
    "FirehoseSuccessFeedbackRoleArn", "FirehoseFailureFeedbackRoleArn", "FirehoseSuccessFeedbackSampleRate",
    "ApplicationSuccessFeedbackRoleArn", "ApplicationFailureFeedbackRoleArn", "ApplicationSuccessFeedbackSampleRate",
}
SUBSCRIPTION_ATTRIBUTES = {"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                           "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"}
# delivery status logging: the topic attributes' prefix per subscription protocol
FEEDBACK_PREFIX = {"http": "HTTP", "https": "HTTP", "sqs": "SQS", "lambda": "Lambda", "firehose": "Firehose",
                   "application": "Application"}
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
DEFAULT_HTTP_POLICY = {"minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
                       "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameter", f"Invalid parameter: {message}", 400)


def not_found(message: str = "Topic does not exist") -> AwsError:
    return AwsError("NotFound", message, 404)


def value_invalid(message: str) -> AwsError:
    return AwsError("ParameterValueInvalid", message, 400)


def _check_attribute_name(name: str) -> None:
    if len(name.encode()) >= 256:
        raise value_invalid("Length of message attribute name must be less than 256 bytes.")
    for char in name:
        if not (char.isalnum() or char in "-_."):
            raise value_invalid(f"Invalid non-alphanumeric character '#x{ord(char):X}' was found in the message "
                                "attribute name. Can only include alphanumeric characters, hyphens, underscores, "
                                "or dots.")
    if name.startswith("."):
        raise value_invalid("Invalid message attribute name starting with character '.' was found.")
    if name.endswith("."):
        raise value_invalid("Invalid message attribute name ending with character '.' was found.")
    if ".." in name:
        raise value_invalid("Message attribute name can not have successive '.' character.")


def _size(message: str, attributes: dict) -> int:
    """A message's size as SNS counts it against 256 KiB: its bytes and each attribute's name,
    type and value."""
    size = len(message.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(value["Type"].encode())
        size += len(base64.b64decode(value["Value"])) if value["Type"].startswith("Binary") else \
            len(value["Value"].encode())
    return size


def check_arn(value: str | None, name: str) -> str:
    """An ARN parameter's shape, as AWS checks it before looking anything up."""
    if not value:
        if value is None:
            raise invalid(f"{name} Reason: no value for required parameter")
    parts = (value or "").split(":")
    if len(parts) < 6:
        raise invalid(f"{name} Reason: An ARN must have at least 6 elements, not {len(parts)}")
    return value


def timestamp(when: float | None = None) -> str:
    moment = datetime.fromtimestamp(when if when is not None else time.time(), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Subscription:
    """A confirmed subscription as publish needs it: its filter compiled once."""

    __slots__ = ("arn", "protocol", "endpoint", "raw", "matcher", "scope_body", "redrive", "record", "unsubscribe")

    def __init__(self, record: dict):
        attributes = record["attributes"]
        self.record = record
        self.arn = record["arn"]
        self.protocol = record["protocol"]
        self.endpoint = record["endpoint"]
        self.raw = attributes.get("RawMessageDelivery") == "true"
        policy = attributes.get("FilterPolicy")
        self.matcher = compile_pattern(policy, "sns") if policy else None
        self.scope_body = attributes.get("FilterPolicyScope") == "MessageBody"
        redrive = attributes.get("RedrivePolicy")
        self.redrive = orjson.loads(redrive).get("deadLetterTargetArn") if redrive else None
        self.unsubscribe: tuple[str, str] | None = None  # (endpoint, UnsubscribeURL), built once


class SnsProvider(Provider):
    service = "sns"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = SnsStore(self.db)
        self._signer: Signer | None = None
        self._topics: dict[str, tuple] = {}
        self._subscribers: dict[str, list[Subscription]] = {}
        self._feedback: dict[str, dict | None] = {}  # topic ARN -> its delivery status logging, by protocol
        self._status_stream = str(uuid.uuid4())  # this node's stream in the delivery status groups
        # a change to a topic or its subscriptions drops both on every node (coordination.cache)
        self._forget_topic = providers.coordination.cache("sns-topics", self._drop_topic, self._drop_topics)
        self._timers = Timers(providers.coordination.gate("sns"))  # deliveries waiting for their next attempt
        self._limit = asyncio.Semaphore(64)
        self._endpoint = f"http://localhost:{self.config.port}"
        self._dedup_purged = 0.0

    async def start(self) -> None:
        for delivery_id, next_at in self.store.pending_deliveries():
            self._schedule(delivery_id, next_at)

    async def stop(self) -> None:
        self._timers.cancel_all(tasks=True)

    def reset(self) -> None:
        self._timers.cancel_all()
        self._topics.clear()
        self._subscribers.clear()
        self._feedback.clear()

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            if self.config.postgres:  # a cluster's nodes sign with one key (storage/sealing.py)
                self._signer = Signer.from_bundle(shared_secret(self.config, self.db, "sns/signing.pem", bundle))
            else:
                self._signer = Signer.in_directory(os.path.join(self.config.data_dir, "sns"))
        return self._signer

    def _learn(self, ctx) -> None:
        host = ctx.request.headers.get("host")
        if host:
            self._endpoint = f"{ctx.request.scheme}://{host}"

    # -- lookups ---------------------------------------------------------------------------------

    def _topic(self, arn: str | None, account: str | None = None) -> tuple:
        topic = self._topics.get(arn) if arn else None
        if topic is None:
            check_arn(arn or "", "TopicArn")
            topic = self.store.get_topic(arn)
            if topic is None:
                raise not_found()
            self._topics[arn] = topic
        return topic

    def _topic_for(self, ctx, arn: str | None, action: str = "") -> tuple:
        """The topic a request names; another account's only when the topic's policy allows the
        action (SNS:<operation> unless given)."""
        check_arn(arn or "", "TopicArn")
        if arn.split(":")[3] != ctx.region:  # a topic is used from its own region only
            raise invalid("TopicArn")
        topic = self._topic(arn)
        if topic[1] != ctx.account:
            self._authorize(ctx, topic, action or ctx.operation)
        return topic

    def _authorize(self, ctx, topic: tuple, action: str) -> None:
        arn, account, _, _, attributes, _ = topic
        principal = iam_policy.caller(ctx)
        request = iam_policy.Request(principal, f"SNS:{action}", arn, iam_policy.request_context(ctx, principal))
        message = iam_policy.refusal(attributes.get("Policy") or self._default_policy(arn, account), request, account)
        if message is not None:
            raise AwsError("AuthorizationError", message, 403)

    def resource_policy(self, arn: str) -> str | None:
        """The topic's policy (AWS's default when none is set), for deliveries from another
        account (engine/targets.py)."""
        topic = self.store.get_topic(arn)
        if topic is None:
            return None
        return topic[4].get("Policy") or self._default_policy(arn, topic[1])

    def _subscription_for(self, ctx, arn: str) -> dict | None:
        """A subscription, for its owner or its topic's owner (AWS lets no one else manage it)."""
        sub = self.store.get_subscription(arn)
        if sub is not None and ctx.account not in (sub["owner"], sub["account"]):
            raise AwsError("AuthorizationError", f"User: {iam_policy.caller(ctx).identity_arn} is not authorized to "
                           f"perform: SNS:{ctx.operation} on resource: {arn}", 403)
        return sub

    def _subs(self, topic_arn: str) -> list[Subscription]:
        subs = self._subscribers.get(topic_arn)
        if subs is None:
            subs = []
            for record in self.store.subscriptions_of(topic_arn):
                if record["confirmed"]:
                    try:
                        subs.append(Subscription(record))
                    except (PatternError, orjson.JSONDecodeError):
                        log.warning("subscription %s has an unusable filter policy", record["arn"])
            self._subscribers[topic_arn] = subs
        return subs

    def _changed(self, topic_arn: str) -> None:
        self._forget_topic(topic_arn)

    def _drop_topic(self, topic_arn: str) -> None:
        self._topics.pop(topic_arn, None)
        self._subscribers.pop(topic_arn, None)
        self._feedback.pop(topic_arn, None)

    def _drop_topics(self) -> None:
        self._topics.clear()
        self._subscribers.clear()
        self._feedback.clear()

    # -- topics ----------------------------------------------------------------------------------

    def create_topic(self, ctx, params):
        self._learn(ctx)
        name = params.get("Name") or ""
        attributes = dict(params.get("Attributes") or {})
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        fifo = str(attributes.get("FifoTopic", "false")).lower() == "true"
        if not TOPIC_NAME.match(name.removesuffix(".fifo") if fifo else name) or (fifo and not name.endswith(".fifo")):
            raise invalid("Topic Name")
        for key in attributes:
            if key not in TOPIC_ATTRIBUTES:
                raise invalid(f"Attributes Reason: Unknown attribute {key}")
        if "ContentBasedDeduplication" in attributes and not fifo:
            raise invalid("Attributes Reason: Content-based deduplication can only be set for FIFO topics")
        self._check_topic_attributes(attributes)
        if fifo:
            attributes["FifoTopic"] = "true"
            attributes.setdefault("ContentBasedDeduplication", "false")
        else:
            attributes.pop("FifoTopic", None)
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account}:{name}"
        existing = self.store.get_topic(arn)
        if existing is not None:
            current = existing[4]
            for key, value in attributes.items():
                if current.get(key) != value:
                    raise invalid("Attributes Reason: Topic already exists with different attributes")
            if any(existing[5].get(key) != value for key, value in tags.items()):
                raise invalid("Tags Reason: Topic already exists with different tags")
            return {"TopicArn": arn}
        self.store.put_topic(arn, ctx.account, ctx.region, name, attributes, tags)
        self._changed(arn)
        return {"TopicArn": arn}

    @staticmethod
    def _check_topic_attributes(attributes: dict) -> None:
        version = attributes.get("SignatureVersion")
        if version is not None and version not in ("1", "2"):
            raise invalid("Attributes Reason: SignatureVersion must be 1 or 2")
        for name in ("Policy", "DeliveryPolicy", "DataProtectionPolicy", "ArchivePolicy"):
            if attributes.get(name):
                try:
                    orjson.loads(attributes[name])
                except orjson.JSONDecodeError:
                    raise invalid(f"Attributes Reason: {name}: failed to parse JSON") from None
        for name, value in attributes.items():
            if value in (None, ""):  # an empty value removes the attribute
                continue
            if name.endswith("SuccessFeedbackSampleRate"):
                if not re.fullmatch(r"[0-9]{1,3}", str(value)) or int(value) > 100:
                    raise invalid(f"Attributes Reason: {name}: Invalid value [{value}]. Must be an integer between "
                                  "0 and 100.")
            elif name.endswith("FeedbackRoleArn") and not ROLE_ARN.match(str(value)):
                raise invalid(f"Attributes Reason: {name}: Invalid value [{value}]. Must be an IAM role ARN.")

    def delete_topic(self, ctx, params):
        arn = check_arn(params["TopicArn"], "TopicArn")
        if arn.split(":")[3] != ctx.region:
            raise invalid("TopicArn")
        topic = self.store.get_topic(arn)
        if topic is not None:
            if topic[1] != ctx.account:
                self._authorize(ctx, topic, "DeleteTopic")
            self.store.delete_topic(arn)
        self._changed(arn)
        return {}

    def list_topics(self, ctx, params):
        after = self._token(params.get("NextToken"))
        arns = self.store.list_topics(ctx.account, ctx.region, after, 101)
        result = {"Topics": [{"TopicArn": a} for a in arns[:100]]}
        if len(arns) > 100:
            result["NextToken"] = base64.b64encode(arns[99].encode()).decode()
        return result

    @staticmethod
    def _token(token: str | None) -> str:
        if not token:
            return ""
        try:
            return base64.b64decode(token).decode()
        except Exception:
            raise invalid("NextToken") from None

    def _default_policy(self, arn: str, account: str) -> str:
        actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                   "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
        return orjson.dumps({
            "Version": "2008-10-17", "Id": "__default_policy_ID",
            "Statement": [{"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
                           "Action": actions, "Resource": arn,
                           "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}],
        }).decode()

    def get_topic_attributes(self, ctx, params):
        arn, account, _, _, attributes, _ = self._topic_for(ctx, params.get("TopicArn"))
        subs = self.store.subscriptions_of(arn)
        out = {
            "TopicArn": arn,
            "Owner": account,
            "Policy": attributes.get("Policy") or self._default_policy(arn, account),
            "DisplayName": attributes.get("DisplayName", ""),
            "SubscriptionsPending": str(sum(1 for s in subs if not s["confirmed"])),
            "SubscriptionsConfirmed": str(sum(1 for s in subs if s["confirmed"])),
            "SubscriptionsDeleted": "0",
            "EffectiveDeliveryPolicy": attributes.get("DeliveryPolicy") or orjson.dumps({
                "http": {"defaultHealthyRetryPolicy": DEFAULT_HTTP_POLICY, "disableSubscriptionOverrides": False,
                         "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}}}).decode(),
        }
        for key, value in attributes.items():
            if key != "Policy":
                out[key] = value
        return {"Attributes": out}

    def set_topic_attributes(self, ctx, params):
        arn, account, region, name, attributes, tags = self._topic_for(ctx, params.get("TopicArn"))
        key, value = params.get("AttributeName"), params.get("AttributeValue")
        if key not in TOPIC_ATTRIBUTES or key == "FifoTopic":
            raise invalid("AttributeName")
        if key in ("ContentBasedDeduplication", "FifoThroughputScope") and attributes.get("FifoTopic") != "true":
            raise invalid(f"Attributes Reason: {key} can only be set for FIFO topics")
        self._check_topic_attributes({key: value})
        attributes = dict(attributes)
        if value in (None, ""):
            attributes.pop(key, None)
        else:
            attributes[key] = value
        self.store.put_topic(arn, account, region, name, attributes, tags)
        self._changed(arn)
        return {}

    def add_permission(self, ctx, params):
        arn, account, region, name, attributes, tags = self._topic_for(ctx, params.get("TopicArn"))
        policy = orjson.loads(attributes.get("Policy") or self._default_policy(arn, account))
        label = params["Label"]
        if any(s.get("Sid") == label for s in policy.get("Statement", [])):
            raise invalid("Statement already exists")
        actions = params.get("ActionName") or []
        if any(a not in load_service_model("sns").operations for a in actions):
            raise invalid("Policy statement action out of service scope!")
        principals = [f"arn:aws:iam::{a}:root" for a in params.get("AWSAccountId") or []]
        actions = [f"SNS:{a}" for a in actions]
        # one principal or action is written as a string, several as a list (as AWS writes them)
        policy.setdefault("Statement", []).append({
            "Sid": label, "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": actions[0] if len(actions) == 1 else actions, "Resource": arn,
        })
        attributes = {**attributes, "Policy": orjson.dumps(policy).decode()}
        self.store.put_topic(arn, account, region, name, attributes, tags)
        self._changed(arn)
        return {}

    def remove_permission(self, ctx, params):
        arn, account, region, name, attributes, tags = self._topic_for(ctx, params.get("TopicArn"))
        policy = orjson.loads(attributes.get("Policy") or self._default_policy(arn, account))
        policy["Statement"] = [s for s in policy.get("Statement", []) if s.get("Sid") != params["Label"]]
        attributes = {**attributes, "Policy": orjson.dumps(policy).decode()}
        self.store.put_topic(arn, account, region, name, attributes, tags)
        self._changed(arn)
        return {}

    # -- tags ------------------------------------------------------------------------------------

    def _tag_topic(self, ctx, arn: str) -> tuple:
        topic = self.store.get_topic(arn or "")
        if topic is None:
            raise AwsError("ResourceNotFound", "Resource does not exist", 404)
        if topic[1] != ctx.account:
            self._authorize(ctx, topic, ctx.operation)
        return topic

    def tag_resource(self, ctx, params):
        arn, account, region, name, attributes, tags = self._tag_topic(ctx, params["ResourceArn"])
        given = params.get("Tags") or []
        if len({t["Key"] for t in given}) != len(given):
            raise invalid("Duplicated keys are not allowed.")
        if bad := reserved_tags.refused(ctx, [t["Key"] for t in given]):
            raise invalid(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = {**tags, **{t["Key"]: t["Value"] for t in given}}
        if len(tags) > 50:
            raise AwsError("TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded", 400)
        self.store.put_topic(arn, account, region, name, attributes, tags)
        self._changed(arn)
        return {}

    def untag_resource(self, ctx, params):
        arn, account, region, name, attributes, tags = self._tag_topic(ctx, params["ResourceArn"])
        if bad := reserved_tags.refused(ctx, params.get("TagKeys") or []):
            raise invalid(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = {k: v for k, v in tags.items() if k not in set(params.get("TagKeys") or [])}
        self.store.put_topic(arn, account, region, name, attributes, tags)
        self._changed(arn)
        return {}

    def list_tags_for_resource(self, ctx, params):
        tags = self._tag_topic(ctx, params["ResourceArn"])[5]
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's topics in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(arn, orjson.loads(tags)) for arn, tags in self.store.tagged(ctx.account, ctx.region)]

    # -- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, ctx, params):
        self._learn(ctx)
        topic_arn, account, region, _, topic_attributes, _ = self._topic_for(ctx, params.get("TopicArn"))
        protocol = params.get("Protocol") or ""
        endpoint = params.get("Endpoint") or ""
        attributes = dict(params.get("Attributes") or {})
        if protocol not in PROTOCOLS:
            raise invalid(f"Amazon SNS does not support this protocol string: {protocol}")
        fifo = topic_attributes.get("FifoTopic") == "true"
        if fifo and protocol != "sqs":
            raise invalid(f"Invalid protocol type: {protocol}")
        if protocol == "application" or (protocol == "firehose" and "firehose" not in SERVICES):
            raise invalid(f"overcast does not support the {protocol} protocol yet")
        if protocol == "firehose" and not attributes.get("SubscriptionRoleArn"):
            raise invalid("Attributes Reason: SubscriptionRoleArn is required for the firehose protocol")
        self._check_endpoint(protocol, endpoint)
        if protocol == "sqs" and endpoint.endswith(".fifo") and not fifo:
            raise invalid("Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS "
                          "topics")
        for key in attributes:
            if key not in SUBSCRIPTION_ATTRIBUTES:
                raise invalid(f"Attributes Reason: Unknown attribute {key}")
        for key, value in list(attributes.items()):
            try:
                attributes[key] = self._check_subscription_attribute(key, value, protocol, fifo, endpoint,
                                                                     attributes.get("FilterPolicyScope"))
            except AwsError as error:  # Subscribe words its attribute errors so
                raise invalid("Attributes Reason: " + error.message.removeprefix("Invalid parameter: ")) from None
        for existing in self.store.subscriptions_of(topic_arn):
            if existing["protocol"] == protocol and existing["endpoint"] == endpoint:
                if any(_effective(existing["attributes"], k) != _effective(attributes, k) for k in attributes):
                    raise invalid("Attributes Reason: Subscription already exists with different attributes")
                if existing["confirmed"] or params.get("ReturnSubscriptionArn"):
                    return {"SubscriptionArn": existing["arn"]}
                return {"SubscriptionArn": "pending confirmation"}
        arn = f"{topic_arn}:{uuid.uuid4()}"
        needs_confirmation = protocol in ("http", "https", "email", "email-json")
        attributes = {k: v for k, v in attributes.items() if v not in (None, "")}  # an empty value sets nothing
        # who subscribed; a subscription that needs no confirmation counts as authenticated
        attributes["SubscriptionPrincipal"] = iam_policy.caller(ctx).identity_arn
        if not needs_confirmation:
            attributes["ConfirmationWasAuthenticated"] = "true"
        sub = {"arn": arn, "topic_arn": topic_arn, "account": account, "region": region, "owner": ctx.account,
               "protocol": protocol, "endpoint": endpoint, "attributes": attributes,
               "confirmed": not needs_confirmation,
               "token": secrets.token_hex(64) if needs_confirmation else None}
        with self.store.transaction():
            self.store.put_subscription(sub)
            if protocol in ("email", "email-json"):
                message = self._confirmation_message(sub)
                self.store.record(account, region, topic_arn, arn, protocol, endpoint, message["MessageId"],
                                  "AWS Notification - Subscription Confirmation",
                                  orjson.dumps(message).decode(), None, message["Timestamp"])
        self._changed(topic_arn)
        if protocol in ("http", "https"):
            self._timers.spawn(self._send_confirmation(sub))
        if needs_confirmation and not params.get("ReturnSubscriptionArn"):
            return {"SubscriptionArn": "pending confirmation"}
        return {"SubscriptionArn": arn}

    @staticmethod
    def _check_endpoint(protocol: str, endpoint: str) -> None:
        if protocol == "sqs" and not re.match(r"^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$", endpoint):
            raise invalid("SQS endpoint ARN")
        if protocol == "lambda" and not re.match(r"^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$", endpoint):
            raise invalid("Lambda endpoint ARN")
        if protocol == "firehose" and not re.match(r"^arn:aws[\w-]*:firehose:[\w-]+:\d{12}:deliverystream/[\w.-]+$",
                                                   endpoint):
            raise invalid("Firehose endpoint ARN")
        if protocol in ("http", "https") and not endpoint.lower().startswith(f"{protocol}://"):
            raise invalid("Endpoint must match the specified protocol")
        if protocol in ("email", "email-json") and not re.match(r"^[^@\s]+@[^@\s]+$", endpoint):
            raise invalid("Email address")
        if protocol == "sms" and not PHONE.match(endpoint):
            raise AwsError("InvalidParameter", f"Invalid SMS endpoint: {endpoint}", 400)

    def _check_subscription_attribute(self, key: str, value, protocol: str, fifo: bool = False, endpoint: str = "",
                                      scope: str | None = None):
        """The attribute's value as stored (booleans lower-cased), or AWS's InvalidParameter.
        `scope`: the FilterPolicyScope a FilterPolicy will apply with."""
        if key == "FilterPolicy" and value:
            try:
                policy = orjson.loads(value)
            except orjson.JSONDecodeError as e:
                raise invalid(f"FilterPolicy: failed to parse JSON. {e}") from None
            try:  # the policy's own errors first, then its scope's (AWS's order)
                compile_pattern(value, "sns")
            except PatternError as e:
                raise invalid(f"FilterPolicy: {e.reason}") from None
            if scope != "MessageBody" and isinstance(policy, dict) and any(
                    isinstance(v, dict) for k, v in policy.items() if k != "$or"):
                raise invalid("Filter policy scope MessageAttributes does not support nested filter policy")
        elif key == "FilterPolicyScope" and value not in ("MessageAttributes", "MessageBody"):
            raise invalid(f"FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or "
                          "MessageAttributes")
        elif key == "RawMessageDelivery":
            if str(value).lower() not in ("true", "false"):
                raise invalid("RawMessageDelivery: Invalid value [" + str(value) + "]. Must be true or false.")
            if protocol not in ("sqs", "http", "https", "firehose"):
                raise invalid("Delivery protocol [" + protocol + "] does not support raw message delivery.")
            return str(value).lower()
        elif key == "RedrivePolicy" and value:
            try:
                target = orjson.loads(value).get("deadLetterTargetArn", "")
            except orjson.JSONDecodeError as e:
                raise invalid(f"RedrivePolicy: failed to parse JSON. {e}") from None
            except AttributeError:
                raise invalid("RedrivePolicy: failed to parse JSON.") from None
            if not re.match(r"^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$", target or ""):
                raise invalid("RedrivePolicy: deadLetterTargetArn is an invalid arn")
            if fifo and endpoint.endswith(".fifo") and not target.endswith(".fifo"):
                raise invalid("RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.")
        elif key == "DeliveryPolicy" and value:
            try:
                policy = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise invalid("DeliveryPolicy: failed to parse JSON.") from None
            retry = policy.get("healthyRetryPolicy", {}) if isinstance(policy, dict) else None
            if not isinstance(retry, dict) or not all(
                    isinstance(retry.get(k, 0), int) and retry.get(k, 0) >= 0
                    for k in ("numRetries", "numNoDelayRetries", "minDelayTarget", "maxDelayTarget")):
                raise invalid("DeliveryPolicy: healthyRetryPolicy must be an object of non-negative integers.")
        return value

    def confirm_subscription(self, ctx, params):
        topic_arn = check_arn(params.get("TopicArn"), "TopicArn")
        token = params.get("Token") or ""
        if not re.fullmatch(r"[0-9a-f]{64,}", token):
            raise AwsError("InvalidParameter", "Invalid token", 400)
        # an unknown topic and an unknown token answer alike
        sub = self.store.subscription_by_token(topic_arn, token)
        if sub is None:
            raise invalid("Token")
        if not sub["confirmed"]:
            sub["confirmed"] = True
            if str(params.get("AuthenticateOnUnsubscribe", "")).lower() == "true":
                sub["attributes"]["ConfirmationWasAuthenticated"] = "true"
            self.store.put_subscription(sub)
            self._changed(topic_arn)
        return {"SubscriptionArn": sub["arn"]}

    def unsubscribe(self, ctx, params):
        arn = check_arn(params.get("SubscriptionArn"), "SubscriptionArn")
        if arn.count(":") < 6:  # a topic's ARN, no subscription id
            raise invalid("SubscriptionId")
        sub = self._subscription_for(ctx, arn)
        if sub is None:  # already gone: AWS answers success (Unsubscribe is idempotent)
            return {}
        self.store.delete_subscription(arn)
        self._changed(sub["topic_arn"])
        if sub["protocol"] in ("http", "https") and sub["confirmed"]:
            self._timers.spawn(self._send_confirmation(sub, "UnsubscribeConfirmation"))
        return {}

    @staticmethod
    def _sub_out(sub: dict) -> dict:
        return {"SubscriptionArn": sub["arn"] if sub["confirmed"] else "PendingConfirmation", "Owner": sub["owner"],
                "Protocol": sub["protocol"], "Endpoint": sub["endpoint"], "TopicArn": sub["topic_arn"]}

    def list_subscriptions(self, ctx, params):
        subs = self.store.list_subscriptions(ctx.account, ctx.region, self._token(params.get("NextToken")), 101)
        result = {"Subscriptions": [self._sub_out(s) for s in subs[:100]]}
        if len(subs) > 100:
            result["NextToken"] = base64.b64encode(subs[99]["arn"].encode()).decode()
        return result

    def list_subscriptions_by_topic(self, ctx, params):
        topic_arn, *_ = self._topic_for(ctx, params.get("TopicArn"))
        after = self._token(params.get("NextToken"))
        subs = [s for s in self.store.subscriptions_of(topic_arn) if s["arn"] > after]
        result = {"Subscriptions": [self._sub_out(s) for s in subs[:100]]}
        if len(subs) > 100:
            result["NextToken"] = base64.b64encode(subs[99]["arn"].encode()).decode()
        return result

    def get_subscription_attributes(self, ctx, params):
        sub = self._subscription_for(ctx, params.get("SubscriptionArn") or "")
        if sub is None:
            raise not_found("Subscription does not exist")
        attributes = {
            "SubscriptionArn": sub["arn"], "TopicArn": sub["topic_arn"], "Owner": sub["owner"],
            "Protocol": sub["protocol"], "Endpoint": sub["endpoint"],
            "ConfirmationWasAuthenticated": sub["attributes"].get("ConfirmationWasAuthenticated", "false"),
            "PendingConfirmation": "false" if sub["confirmed"] else "true",
            "RawMessageDelivery": "false",
        }
        if sub["protocol"] in ("http", "https"):
            attributes["EffectiveDeliveryPolicy"] = sub["attributes"].get("DeliveryPolicy") or orjson.dumps(
                {"healthyRetryPolicy": DEFAULT_HTTP_POLICY}).decode()
        attributes.update(sub["attributes"])
        # the scope is shown with a filter policy only (AWS's recorded answers)
        if "FilterPolicy" in sub["attributes"]:
            attributes.setdefault("FilterPolicyScope", "MessageAttributes")
        else:
            attributes.pop("FilterPolicyScope", None)
        return {"Attributes": attributes}

    def set_subscription_attributes(self, ctx, params):
        sub = self._subscription_for(ctx, params.get("SubscriptionArn") or "")
        if sub is None:
            raise not_found("Subscription does not exist")
        key, value = params.get("AttributeName"), params.get("AttributeValue")
        if key not in SUBSCRIPTION_ATTRIBUTES:
            raise invalid("AttributeName")
        fifo = sub["topic_arn"].endswith(".fifo")
        value = self._check_subscription_attribute(key, value, sub["protocol"], fifo, sub["endpoint"],
                                                   sub["attributes"].get("FilterPolicyScope"))
        if value in (None, ""):
            sub["attributes"].pop(key, None)
        else:
            sub["attributes"][key] = value
        self.store.put_subscription(sub)
        self._changed(sub["topic_arn"])
        return {}

    # -- mobile push: platform applications and endpoints ------------------------------------------
    # overcast sends nothing to Apple, Google, Amazon, Baidu or Microsoft: what is published to an
    # endpoint is recorded (GET /_overcast/sns/messages, protocol "application"), as email and SMS are

    def _app(self, ctx, arn: str | None) -> tuple[str, dict]:
        check_arn(arn, "PlatformApplicationArn")
        app = self.store.get_app(arn)
        if app is None or arn.split(":")[4] != ctx.account or arn.split(":")[3] != ctx.region:
            raise not_found("PlatformApplication does not exist")
        return arn, app

    @staticmethod
    def _check_app_attributes(attributes: dict) -> None:
        if "PlatformPrincipal" in attributes and "PlatformCredential" not in attributes:
            raise invalid("Attributes Reason: PlatformPrincipal attribute provided without PlatformCredential")
        if "PlatformCredential" in attributes and "PlatformPrincipal" not in attributes and \
                attributes.get("_platform") not in ("GCM", "ADM_TOKEN"):
            raise invalid("Attributes Reason: PlatformCredential attribute provided without PlatformPrincipal")

    def create_platform_application(self, ctx, params):
        name, platform = params.get("Name") or "", params.get("Platform") or ""
        attributes = dict(params.get("Attributes") or {})
        if not name:
            raise invalid(" Reason: cannot be empty")
        if len(name) > 256:
            raise invalid(f"{name} Reason: must be at most 256 characters long")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise invalid(f"{name} Reason: must contain only characters 'a'-'z', 'A'-'Z', '0'-'9', '_', '-', and '.'")
        if platform not in PLATFORMS:
            raise invalid(f"Platform Reason: {platform} is not supported")
        self._check_app_attributes({**attributes, "_platform": platform})
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account}:app/{platform}/{name}"
        self.store.put_app(arn, ctx.account, ctx.region, {"Enabled": "true", **(self.store.get_app(arn) or {}),
                                                           **attributes})
        return {"PlatformApplicationArn": arn}

    @staticmethod
    def _app_out(attributes: dict) -> dict:
        # the platform's credentials are kept, never answered (as AWS answers)
        return {k: v for k, v in attributes.items() if k not in ("PlatformCredential", "PlatformPrincipal")}

    def get_platform_application_attributes(self, ctx, params):
        return {"Attributes": self._app_out(self._app(ctx, params.get("PlatformApplicationArn"))[1])}

    def set_platform_application_attributes(self, ctx, params):
        arn, app = self._app(ctx, params.get("PlatformApplicationArn"))
        attributes = params.get("Attributes") or {}
        self._check_app_attributes({**attributes, "_platform": arn.split("/")[1]}
                                   if "PlatformPrincipal" in attributes or "PlatformCredential" in attributes else {})
        self.store.put_app(arn, ctx.account, ctx.region, {**app, **attributes})
        return {}

    def delete_platform_application(self, ctx, params):
        arn = check_arn(params.get("PlatformApplicationArn"), "PlatformApplicationArn")
        if self.store.get_app(arn) is not None and arn.split(":")[4] == ctx.account:
            self.store.delete_app(arn)  # and its endpoints
        return {}

    def list_platform_applications(self, ctx, params):
        apps = self.store.list_apps(ctx.account, ctx.region, self._token(params.get("NextToken")), 101)
        out = {"PlatformApplications": [{"PlatformApplicationArn": arn, "Attributes": self._app_out(a)}
                                        for arn, a in apps[:100]]}
        if len(apps) > 100:
            out["NextToken"] = base64.b64encode(apps[99][0].encode()).decode()
        return out

    @staticmethod
    def _check_endpoint_attributes(attributes: dict) -> None:
        for key, value in attributes.items():
            if key not in ("CustomUserData", "Enabled", "Token"):
                raise invalid(f"Attributes Reason: Invalid attribute name: {key}")
            if key == "CustomUserData" and len(value.encode()) > 2048:
                raise invalid("Attributes Reason: Invalid value for attribute: CustomUserData: must be at most 2048 "
                              "bytes long in UTF-8 encoding")

    def create_platform_endpoint(self, ctx, params):
        app_arn, _ = self._app(ctx, params.get("PlatformApplicationArn"))
        token = params.get("Token") or ""
        given = dict(params.get("Attributes") or {})
        self._check_endpoint_attributes(given)
        attributes = {"Enabled": "true", "Token": token}
        if params.get("CustomUserData") is not None:
            attributes["CustomUserData"] = params["CustomUserData"]
        attributes.update(given)
        with self.store.transaction():
            for arn, existing in self.store.endpoints_of(app_arn, "", 10_000):
                if existing.get("Token") == token:
                    if existing != attributes:
                        raise invalid(f"Token Reason: Endpoint {arn} already exists with the same Token, but "
                                      "different attributes.")
                    return {"EndpointArn": arn}
            _, _, _, region, account, resource = app_arn.split(":", 5)
            arn = f"arn:aws:sns:{region}:{account}:endpoint/{resource.split('/', 1)[1]}/{uuid.uuid4()}"
            self.store.put_endpoint(arn, app_arn, attributes)
        return {"EndpointArn": arn}

    def _push_endpoint(self, ctx, arn: str | None) -> tuple[str, dict]:
        check_arn(arn, "EndpointArn")
        if arn.split(":", 5)[5].count("/") != 3:
            raise invalid("EndpointArn Reason: Wrong number of slashes in relative portion of the ARN.")
        endpoint = self.store.get_endpoint(arn)
        if endpoint is None or arn.split(":")[4] != ctx.account:
            raise not_found("Endpoint does not exist")
        return arn, endpoint

    def get_endpoint_attributes(self, ctx, params):
        return {"Attributes": self._push_endpoint(ctx, params.get("EndpointArn"))[1]}

    def set_endpoint_attributes(self, ctx, params):
        arn, endpoint = self._push_endpoint(ctx, params.get("EndpointArn"))
        attributes = params.get("Attributes") or {}
        self._check_endpoint_attributes(attributes)
        app_arn = arn.rsplit("/", 1)[0].replace(":endpoint/", ":app/", 1)
        self.store.put_endpoint(arn, app_arn, {**endpoint, **attributes})
        return {}

    def delete_endpoint(self, ctx, params):
        arn = check_arn(params.get("EndpointArn"), "EndpointArn")
        if arn.split(":")[4] == ctx.account:
            self.store.delete_endpoint(arn)  # idempotent, as on AWS
        return {}

    def list_endpoints_by_platform_application(self, ctx, params):
        app_arn, _ = self._app(ctx, params.get("PlatformApplicationArn"))
        endpoints = self.store.endpoints_of(app_arn, self._token(params.get("NextToken")), 101)
        out = {"Endpoints": [{"EndpointArn": arn, "Attributes": a} for arn, a in endpoints[:100]]}
        if len(endpoints) > 100:
            out["NextToken"] = base64.b64encode(endpoints[99][0].encode()).decode()
        return out

    # -- SMS settings and opt-outs ---------------------------------------------------------------

    def set_sms_attributes(self, ctx, params):
        given = params.get("attributes") or {}
        for key, value in given.items():
            if key not in SMS_ATTRIBUTES:
                raise AwsError("InvalidParameter", f"{key} is not a valid attribute", 400)
            if key == "DefaultSMSType" and value not in ("Promotional", "Transactional"):
                raise AwsError("InvalidParameter", "DefaultSMSType is invalid", 400)
            if key == "DefaultSenderID" and not re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9]{1,11}", value):
                raise AwsError("InvalidParameter", "DefaultSenderID is invalid", 400)
        with self.store.transaction():
            settings = self.store.sms_settings(ctx.account, ctx.region)
            settings.update(given)
            self.store.put_sms_settings(ctx.account, ctx.region, settings)
        return {}

    def get_sms_attributes(self, ctx, params):
        settings = {"MonthlySpendLimit": "1", **self.store.sms_settings(ctx.account, ctx.region)}
        wanted = params.get("attributes")
        if wanted:
            settings = {k: v for k, v in settings.items() if k in wanted}
        return {"attributes": settings}

    @staticmethod
    def _phone(params: dict) -> str:
        phone = params.get("phoneNumber") or ""
        if not PHONE.match(phone):
            raise invalid("PhoneNumber Reason: input incorrectly formatted")
        return phone

    def opt_in_phone_number(self, ctx, params):
        self._phone(params)  # no number is ever opted out here (overcast receives no STOP replies)
        return {}

    def check_if_phone_number_is_opted_out(self, ctx, params):
        self._phone(params)
        return {"isOptedOut": False}

    def list_phone_numbers_opted_out(self, ctx, params):
        return {"phoneNumbers": []}

    # -- publishing ------------------------------------------------------------------------------

    async def publish(self, ctx, params):
        self._learn(ctx)
        arn = params.get("TopicArn")
        if arn is None:
            arn = params.get("TargetArn")
        phone = params.get("PhoneNumber")
        if arn is None and not phone:
            raise invalid("TopicArn or TargetArn Reason: no value for required parameter")
        if arn and phone:
            raise invalid("Both TopicArn and PhoneNumber are specified. Please provide only one.")
        if phone:
            if not PHONE.match(phone):
                raise invalid(f"PhoneNumber Reason: {phone} is not valid to publish to")
            message = self._check_message(params)
            message_id = str(uuid.uuid4())
            self.store.record(ctx.account, ctx.region, None, None, "sms", phone, message_id, None, message,
                              None, timestamp())
            return {"MessageId": message_id}
        if params.get("TopicArn") is None and ":endpoint/" in arn:  # a mobile push endpoint
            endpoint = self.store.get_endpoint(arn) if arn.split(":")[4] == ctx.account else None
            if endpoint is None:
                raise invalid("TargetArn Reason: No endpoint found for the target arn specified")
            if endpoint.get("Enabled") != "true":
                raise AwsError("EndpointDisabled", "Endpoint is disabled", 400)
            message = self._check_message(params)
            message_id = str(uuid.uuid4())
            structure = _message_structure(params, message)
            if structure is not None:
                platform = arn.split(":", 5)[5].split("/")[1]
                message = structure.get(platform, structure["default"])
            self.store.record(ctx.account, ctx.region, None, None, "application", arn, message_id,
                              params.get("Subject"), message,
                              self._check_attributes(params.get("MessageAttributes") or {}), timestamp())
            return {"MessageId": message_id}
        topic = self._topic_for(ctx, arn, "Publish")
        prepared = self._prepare(topic, params, ctx.request.headers.get("x-amzn-trace-id"))
        return (await self._fanout(topic, [prepared]))[0]

    async def publish_batch(self, ctx, params):
        self._learn(ctx)
        topic = self._topic_for(ctx, params.get("TopicArn"), "Publish")
        entries = params.get("PublishBatchRequestEntries") or []
        if not entries:
            raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
        if len(entries) > 10:
            raise AwsError("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.")
        ids = [e.get("Id") for e in entries]
        if len(set(ids)) != len(ids):
            raise AwsError("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
        for entry_id in ids:
            if len(entry_id or "") > 80:
                raise AwsError("InvalidBatchEntryId",
                               f"The Id of a batch entry in the batch request is too long: {entry_id}")
            if not BATCH_ID.match(entry_id or ""):
                raise AwsError("InvalidBatchEntryId",
                               f"The Id of a batch entry in the batch request contains an impermissible character: "
                               f"{entry_id}")
        trace = ctx.request.headers.get("x-amzn-trace-id")
        # an entry AWS refuses refuses the whole request (AWS's recorded answers: no per-entry Failed)
        prepared = [(entry["Id"], self._prepare(topic, entry, trace, whole=False)) for entry in entries]
        if sum(_size(p["message"], p["attributes"]) for _, p in prepared) > MAX_MESSAGE:
            raise AwsError("BatchRequestTooLong", "The length of all the messages put together is more than the limit.")
        failed: list[dict] = []
        results = (await self._fanout(topic, [p for _, p in prepared])) if prepared else []
        successful = [{"Id": entry_id, **result} for (entry_id, _), result in zip(prepared, results, strict=True)]
        return {"Successful": successful, "Failed": failed}

    def _check_message(self, params: dict, whole: bool = True) -> str:
        message = params.get("Message")
        if message is None:
            raise invalid("Message")
        if message == "":
            raise invalid("Empty message")
        if whole and len(message.encode()) > MAX_MESSAGE:
            raise invalid("Message too long")
        return message

    def _prepare(self, topic: tuple, params: dict, trace: str | None = None, whole: bool = True) -> dict:
        """Validate one message of Publish / PublishBatch: what fan-out needs. `whole`: the size
        limit applies to this message alone (PublishBatch checks the entries together)."""
        arn, _, _, _, attributes, _ = topic
        message = self._check_message(params, whole)
        subject = params.get("Subject")
        if subject is not None:
            if not subject or len(subject) > 100 or any(ord(c) < 32 or ord(c) > 126 for c in subject):
                raise invalid("Subject")
        structure = _message_structure(params, message)
        message_attributes = self._check_attributes(params.get("MessageAttributes") or {})
        if whole and message_attributes and _size(message, message_attributes) > MAX_MESSAGE:
            raise invalid("Message too long")
        fifo = attributes.get("FifoTopic") == "true"
        group_id = params.get("MessageGroupId")
        dedup_id = params.get("MessageDeduplicationId")
        if fifo:
            if not group_id:
                raise invalid("The MessageGroupId parameter is required for FIFO topics")
            if dedup_id is None:
                if attributes.get("ContentBasedDeduplication") != "true":
                    raise invalid("The topic should either have ContentBasedDeduplication enabled or "
                                  "MessageDeduplicationId provided explicitly")
                dedup_id = hashlib.sha256(message.encode()).hexdigest()
        elif dedup_id is not None:
            raise invalid("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter "
                          "that is not valid for this topic type")
        return {"message": message, "subject": subject, "structure": structure, "attributes": message_attributes,
                "group_id": group_id, "dedup_id": dedup_id, "trace": trace}

    @staticmethod
    def _check_attributes(attributes: dict) -> dict:
        """Message attributes as AWS checks them (ParameterValueInvalid, AWS's messages), in the
        stored form {name: {"Type", "Value"}}."""
        if len(attributes) > 10:
            raise invalid("Too many message attributes: at most 10 message attributes are allowed")
        out = {}
        for name, value in attributes.items():
            _check_attribute_name(name)
            data_type = value.get("DataType") or ""
            base, dot, suffix = data_type.partition(".")
            if base not in ("String", "Number", "Binary") or (dot and not suffix):
                raise value_invalid(f"The message attribute '{name}' has an invalid message attribute type, the set of "
                                    "supported type prefixes is Binary, Number, and String.")
            field = "Binary" if base == "Binary" else "String"
            if value.get(f"{field}Value") is None and value.get(
                    "StringValue" if field == "Binary" else "BinaryValue") is not None:
                raise value_invalid(f"The message attribute '{name}' with type '{base}' must use field '{field}'.")
            if base == "Binary":
                binary = value.get("BinaryValue")
                if not binary:
                    raise value_invalid(f"The message attribute '{name}' must contain non-empty message attribute "
                                        f"value for message attribute type '{data_type}'.")
                out[name] = {"Type": data_type, "Value": base64.b64encode(binary).decode()}
                continue
            string = value.get("StringValue")
            if string is None or string == "":
                raise value_invalid(f"The message attribute '{name}' must contain non-empty message attribute value "
                                    f"for message attribute type '{data_type}'.")
            if base == "Number":
                try:
                    float(string)
                except ValueError:
                    raise invalid(f"Could not cast message attribute '{name}' value to number.") from None
            if data_type == "String.Array":
                try:
                    if not isinstance(orjson.loads(string), list):
                        raise ValueError
                except (orjson.JSONDecodeError, ValueError):
                    raise invalid(f"The message attribute '{name}' with type 'String.Array' has an invalid value "
                                  f"'{string}'.") from None
            out[name] = {"Type": data_type, "Value": string}
        return out

    async def publish_internal(self, account: str, region: str, arn: str, body: str, attributes: dict | None = None,
                         group_id: str | None = None, dedup_id: str | None = None, subject: str | None = None) -> dict:
        """Publish for another service (EventBridge targets, Lambda destinations, Scheduler);
        `attributes` in SNS's API form. Raises AwsError like Publish."""
        topic = self._topic(arn)
        params = {"Message": body, "MessageAttributes": attributes or {}, "Subject": subject}
        if topic[4].get("FifoTopic") == "true":
            params["MessageGroupId"] = group_id or "default"
            params["MessageDeduplicationId"] = dedup_id or hashlib.sha256(body.encode()).hexdigest()
        prepared = self._prepare(topic, params)
        return (await self._fanout(topic, [prepared]))[0]

    async def deliver_from_lambda(self, arn: str, body: str) -> None:
        """Lambda's async-invocation destinations."""
        _, _, _, region, account, _ = arn.split(":", 5)
        await self.publish_internal(account, region, arn, body)

    # -- fan-out ---------------------------------------------------------------------------------

    async def _fanout(self, topic: tuple, messages: list[dict]) -> list[dict]:
        arn, account, region, name, attributes, _ = topic
        fifo = attributes.get("FifoTopic") == "true"
        # a FIFO topic's notifications carry no signature (AWS's recorded answers show none)
        version = None if fifo else attributes.get("SignatureVersion", "1")
        active = attributes.get("TracingConfig") == "Active"
        subs = self._subs(arn)
        now = time.time()
        results, scheduled = [], []
        sqs = await self.providers.get("sqs") if subs else None
        # delivery status logging (None, the usual case, costs a delivery nothing): the topic's
        # settings by protocol, and the status lines of the deliveries made in the transaction
        feedback = self._feedback_of(arn, attributes) if subs else None
        statuses: list[tuple[bool, int, str]] = []
        for msg in messages:
            msg["_id"] = str(uuid.uuid4())
            msg["_active"] = active
            msg["_fifo"] = fifo
            msg["_feedback"] = None if feedback is None else (feedback, statuses)
        caches = [{} for _ in messages]
        if version is not None and any(not (sub.raw and sub.protocol != "lambda") and sub.protocol not in ("email", "sms") for sub in subs):
            # one RSA signature per message text, whatever the number of subscriptions (AWS signs only
            # the message's own fields), made on a worker thread while the loop serves others
            caches = await self._presign(arn, version, messages, subs, timestamp(now))
        with self.store.transaction(), sqs.batched_sends() if sqs is not None else nullcontext():
            if fifo and now - self._dedup_purged > 60:
                self._dedup_purged = now
                self.store.purge_dedup(now)
            for msg, cache in zip(messages, caches, strict=True):
                message_id = msg["_id"]
                result = {"MessageId": message_id}
                sequence = None
                if fifo:
                    scope = attributes.get("FifoThroughputScope")
                    # a control character joins group and id (not NUL: PostgreSQL text cannot hold it)
                    key = f"{msg['group_id']}\x1f{msg['dedup_id']}" if scope == "MessageGroup" else msg["dedup_id"]
                    duplicate = self.store.find_duplicate(arn, key, now)
                    if duplicate is not None:
                        results.append({"MessageId": duplicate[0], "SequenceNumber": duplicate[1]})
                        continue
                    sequence = str(10**19 + self.store.next_sequence(arn))
                    self.store.remember(arn, key, message_id, sequence, now + DEDUP_WINDOW)
                    result["SequenceNumber"] = sequence
                results.append(result)
                if subs:
                    scheduled += self._deliver_message(arn, account, region, msg, message_id, sequence, version, subs,
                                                       sqs, now, cache)
        for delivery_id in scheduled:
            self._schedule(delivery_id, 0)
        if statuses:  # written once the transaction has committed what they report
            self._write_statuses(account, region, name, statuses)
        return results

    def _envelope(self, topic_arn: str, msg: dict, message_id: str, sequence: str | None, version: str, text: str,
                  stamp: str, cache: dict) -> dict:
        envelope = cache.get(text)
        if envelope is not None and sequence is not None and "SequenceNumber" not in envelope:
            items = list(envelope.items())
            envelope = cache[text] = dict(items[:2] + [("SequenceNumber", sequence)] + items[2:])
        if envelope is None:
            envelope = cache[text] = self._unsigned(topic_arn, msg, message_id, sequence, version, text, stamp)
            if version is not None:
                self._seal(envelope, self.signer.sign(envelope, version))
        return envelope

    @staticmethod
    def _unsigned(topic_arn: str, msg: dict, message_id: str, sequence: str | None, version: str, text: str,
                  stamp: str) -> dict:
        """A notification's envelope up to its signature (the fields in AWS's order)."""
        envelope = {"Type": "Notification", "MessageId": message_id}
        if sequence is not None:
            envelope["SequenceNumber"] = sequence
        envelope["TopicArn"] = topic_arn
        if msg["subject"] is not None:
            envelope["Subject"] = msg["subject"]
        envelope["Message"] = text
        envelope["Timestamp"] = stamp
        if version is not None:
            envelope["SignatureVersion"] = version
        return envelope

    def _seal(self, envelope: dict, signature: str) -> None:
        envelope["Signature"] = signature
        envelope["SigningCertURL"] = self._endpoint + CERT_PATH

    def _sub_unsubscribe_url(self, sub: Subscription) -> str:
        cached = sub.unsubscribe
        if cached is None or cached[0] != self._endpoint:
            cached = sub.unsubscribe = (self._endpoint, self._unsubscribe_url(sub.arn))
        return cached[1]

    def _unsubscribe_url(self, sub_arn: str) -> str:
        # the ARN as it is, not percent-encoded: AWS's UnsubscribeURL reads so
        return f"{self._endpoint}/_overcast/sns/?Action=Unsubscribe&SubscriptionArn={sub_arn}"

    async def _presign(self, topic_arn: str, version: str, messages: list[dict], subs: list[Subscription],
                       stamp: str) -> list[dict]:
        """The signed envelope of each message text the subscriptions need, made before the
        transaction; the signatures on the signer's worker thread."""
        caches, unsigned = [], []
        for msg in messages:
            cache: dict = {}
            for sub in subs:
                if (sub.raw and sub.protocol != "lambda") or sub.protocol in ("email", "sms"):
                    continue
                text = msg["structure"].get(sub.protocol, msg["structure"]["default"]) if msg["structure"] \
                    else msg["message"]
                if text not in cache:
                    cache[text] = self._unsigned(topic_arn, msg, msg["_id"], None, version, text, stamp)
                    unsigned.append(cache[text])
            caches.append(cache)
        signatures = await self.signer.sign_all(unsigned, version)
        for envelope, signature in zip(unsigned, signatures, strict=True):
            self._seal(envelope, signature)
        return caches

    def _deliver_message(self, topic_arn, account, region, msg, message_id, sequence, version, subs, sqs,
                         now, cache) -> list[int]:
        """Inside the publish transaction: deliver to SQS, record email/SMS, queue the rest."""
        stamp = timestamp(now)
        attributes = msg["attributes"]
        filter_attributes = body_json = None
        scheduled = []
        feedback = msg["_feedback"]
        for sub in subs:
            if sub.matcher is not None:
                if sub.scope_body:
                    if body_json is None:
                        try:
                            body_json = orjson.loads(msg["message"])
                        except orjson.JSONDecodeError:
                            body_json = False
                    if body_json is False or not sub.matcher.matches(body_json):
                        continue
                else:
                    if filter_attributes is None:
                        filter_attributes = _filter_view(attributes)
                    if not sub.matcher.matches(filter_attributes):
                        continue
            protocol = sub.protocol
            text = msg["structure"].get(protocol, msg["structure"]["default"]) if msg["structure"] else msg["message"]
            if protocol == "sqs":
                with tracing.hop("sns", "Deliver", resource=sub.arn, account=account, region=region,
                                 attributes={"protocol": "sqs", "endpoint": sub.endpoint, "messageId": message_id}):
                    outcome = self._to_sqs(sqs, sub, topic_arn, msg, message_id, sequence, version, text, stamp,
                                           cache)
                if feedback is not None and "sqs" in feedback[0]:
                    self._sqs_status(feedback, sub, topic_arn, message_id, text, now, outcome)
            elif protocol in ("email", "sms"):
                self.store.record(account, region, topic_arn, sub.arn, protocol, sub.endpoint, message_id,
                                  msg["subject"], text, attributes, stamp)
            elif protocol == "email-json":
                envelope = dict(self._envelope(topic_arn, msg, message_id, sequence, version, text, stamp, cache),
                                UnsubscribeURL=self._unsubscribe_url(sub.arn))
                self.store.record(account, region, topic_arn, sub.arn, protocol, sub.endpoint, message_id,
                                  msg["subject"], orjson.dumps(envelope).decode(), attributes, stamp)
            elif protocol == "lambda":
                envelope = self._envelope(topic_arn, msg, message_id, sequence, version, text, stamp, cache)
                record = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn,
                          "Subject": msg["subject"], "Message": text, "Timestamp": stamp,
                          # AWS's Lambda records say "1" whatever the topic's version (the signature
                          # itself is made with the topic's version, SHA256 for 2), as AWS's do
                          "SignatureVersion": "1", "Signature": envelope.get("Signature"),
                          "SigningCertUrl": envelope.get("SigningCertURL"),
                          "UnsubscribeUrl": self._unsubscribe_url(sub.arn),
                          "MessageAttributes": attributes}
                event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                                      "EventSubscriptionArn": sub.arn, "Sns": record}]}
                job = {"kind": "lambda", "function": sub.endpoint, "payload": orjson.dumps(event).decode(),
                       "dlq_body": orjson.dumps(dict(envelope, UnsubscribeURL=self._unsubscribe_url(sub.arn),
                                                     MessageAttributes=attributes)).decode()}
                if feedback is not None and protocol in feedback[0]:
                    job["feedback"] = _feedback_job(feedback[0][protocol], message_id, text, now)
                scheduled.append(self._add_delivery(sub.arn, job, now))
            elif protocol == "firehose":
                if sub.raw:
                    body = text
                else:
                    envelope = dict(self._envelope(topic_arn, msg, message_id, sequence, version, text, stamp, cache),
                                    UnsubscribeURL=self._sub_unsubscribe_url(sub))
                    if attributes:
                        envelope["MessageAttributes"] = attributes
                    body = orjson.dumps(envelope).decode()
                job = {"kind": "target", "arn": sub.endpoint, "body": body}
                if feedback is not None and protocol in feedback[0]:
                    job["feedback"] = _feedback_job(feedback[0][protocol], message_id, text, now)
                scheduled.append(self._add_delivery(sub.arn, job, now))
            elif protocol in ("http", "https"):
                headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification",
                           "x-amz-sns-message-id": message_id, "x-amz-sns-topic-arn": topic_arn,
                           "x-amz-sns-subscription-arn": sub.arn,
                           "User-Agent": "Amazon Simple Notification Service Agent"}
                if sub.raw:
                    headers["x-amz-sns-rawdelivery"] = "true"
                    body = text
                else:
                    envelope = dict(self._envelope(topic_arn, msg, message_id, sequence, version, text, stamp, cache),
                                    UnsubscribeURL=self._unsubscribe_url(sub.arn))
                    if attributes:
                        envelope["MessageAttributes"] = attributes
                    body = orjson.dumps(envelope, option=orjson.OPT_INDENT_2).decode()
                job = {"kind": "http", "url": sub.endpoint, "body": body, "headers": headers}
                if feedback is not None and protocol in feedback[0]:
                    job["feedback"] = _feedback_job(feedback[0][protocol], message_id, text, now)
                scheduled.append(self._add_delivery(sub.arn, job, now))
        return scheduled

    def _to_sqs(self, sqs, sub: Subscription, topic_arn, msg, message_id, sequence, version, text, stamp,
                cache) -> dict | AwsError:
        """The delivery of a message to a queue subscription: SendMessage's result, or the error
        that kept it from the queue (the message then went to the dead-letter queue, if any)."""
        attributes = msg["attributes"]
        if sub.raw:
            body = text
            sqs_attributes = {}
            for name, value in attributes.items():
                if value["Type"].startswith("Binary"):
                    sqs_attributes[name] = {"DataType": value["Type"], "BinaryValue": base64.b64decode(value["Value"])}
                else:
                    data_type = "String" if value["Type"] == "String.Array" else value["Type"]
                    sqs_attributes[name] = {"DataType": data_type, "StringValue": value["Value"]}
        else:
            envelope = dict(self._envelope(topic_arn, msg, message_id, sequence, version, text, stamp, cache),
                            UnsubscribeURL=self._sub_unsubscribe_url(sub))
            if attributes:
                envelope["MessageAttributes"] = attributes
            body = orjson.dumps(envelope, option=orjson.OPT_INDENT_2).decode()
            sqs_attributes = None
        message = {"MessageBody": body}
        if sqs_attributes:
            message["MessageAttributes"] = sqs_attributes
        if msg["trace"] is not None:  # PassThrough: the publisher's trace header, as it came
            message["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String",
                                                                     "StringValue": msg["trace"]}}
        refused = delivery_refusal(sqs, sub.endpoint, _sender(topic_arn))
        if refused is not None:  # another account's queue whose policy does not admit this topic
            self._dead_letter_now(sqs, sub, msg, message_id, message, "AccessDenied", refused)
            return AwsError("AccessDenied", refused, 403)
        try:
            return self._send_sqs(sqs, sub.endpoint, msg, message_id, message)
        except AwsError as error:  # a client-side error: no retry, to the DLQ (inside this transaction)
            self._dead_letter_now(sqs, sub, msg, message_id, message, error.code, error.message)
            return error

    @staticmethod
    def _send_sqs(sqs, queue_arn: str, msg: dict, message_id: str, message: dict) -> dict:
        """SendMessage of a delivery (or its dead letter) to a queue: a FIFO queue gets the message's
        group and deduplication ids, a standard queue neither. Unless the publisher sent a trace
        header or the topic's tracing is Active, the message carries no AWSTraceHeader, as on AWS."""
        _, _, _, region, account, name = queue_arn.split(":", 5)
        params = {"QueueUrl": f"http://localhost/{account}/{name}", **message}
        if name.endswith(".fifo"):
            params["MessageGroupId"] = msg["group_id"] or "default"
            params["MessageDeduplicationId"] = msg["dedup_id"] or message_id
        elif msg["group_id"] is not None and not msg.get("_fifo"):
            # a standard topic's MessageGroupId travels to a standard queue (a FIFO topic's does not)
            params["MessageGroupId"] = msg["group_id"]
        ctx = internal_ctx("sqs", account, region, "SendMessage")
        if msg["trace"] is None and not msg.get("_active"):
            with tracing.suspended():
                return sqs.send_message(ctx, params)
        return sqs.send_message(ctx, params)

    def _dead_letter_now(self, sqs, sub: Subscription, msg: dict, message_id: str, message: dict, code: str,
                         reason: str) -> None:
        """The message a queue subscription could not take, to the subscription's dead-letter
        queue as it would have been delivered (AWS adds no error attributes)."""
        if not sub.redrive:
            log.warning("SNS delivery to %s failed (%s: %s); no dead-letter queue: message dropped",
                        sub.endpoint, code, reason)
            return
        refused = delivery_refusal(sqs, sub.redrive, _sender(sub.arn.rsplit(":", 1)[0]))
        if refused is not None:
            log.warning("SNS dead-letter queue %s refuses the topic (%s): message dropped", sub.redrive, refused)
            return
        try:
            self._send_sqs(sqs, sub.redrive, msg, message_id, message)
        except AwsError as error:
            log.warning("SNS dead-letter queue %s unusable (%s): message dropped", sub.redrive, error.message)

    # -- the delivery engine ---------------------------------------------------------------------

    def _add_delivery(self, sub_arn: str, job: dict, now: float) -> int:
        """A delivery to run later, with the trace it belongs to (the Publish that made it) and its
        Lineage (a function subscribed to the topic counts a loop through it, as on AWS)."""
        trace = tracing.current_lineage_header()
        if trace is not None:
            job["trace"] = trace
        return self.store.add_delivery(sub_arn, job, now)

    def _schedule(self, delivery_id: int, at: float) -> None:
        self._timers.at(delivery_id, at, lambda: self._run_delivery(delivery_id))

    async def _run_delivery(self, delivery_id: int) -> None:
        row = self.store.get_delivery(delivery_id)
        if row is None:
            return
        sub_arn, job, attempts = row
        sub = self.store.get_subscription(sub_arn)
        if sub is None:
            self.store.delete_delivery(delivery_id)
            return
        async with self._limit:
            with tracing.hop("sns", "Deliver", resource=sub_arn, parent=job.get("trace"),
                             account=sub_arn.split(":")[4], region=sub_arn.split(":")[3],
                             attributes={"protocol": sub["protocol"], "endpoint": sub["endpoint"],
                                         "attempt": attempts + 1}) as span:
                try:
                    response = await self._attempt(job, _sender(sub["topic_arn"]))
                    if "feedback" in job:
                        self._delivery_status(sub, job, attempts + 1, *response)
                except DeliveryError as error:
                    span.fail(error)
                    attempts += 1
                    delay = self._retry_delay(sub, job, attempts)
                    if error.client or delay is None:
                        if "feedback" in job:
                            self._delivery_status(sub, job, attempts, *_failure_response(job, error), failed=True)
                        await self._dead_letter(sub, job, error)
                        self.store.delete_delivery(delivery_id)
                    else:
                        self.store.retry_delivery(delivery_id, attempts, time.time() + delay)
                        self._schedule(delivery_id, time.time() + delay)
                    return
                except Exception as error:
                    span.fail(error)
                    log.exception("SNS delivery %s", delivery_id)
        self.store.delete_delivery(delivery_id)

    async def _attempt(self, job: dict, sender: Sender) -> tuple[int, str]:
        """One attempt at a queued delivery: (status code, the endpoint's response) as delivery
        status logging reports them; raises DeliveryError (with `status` and, from an HTTP endpoint,
        `response`)."""
        if job["kind"] == "http":
            try:
                status, _, body = await http_client.request("POST", job["url"], job["body"].encode(), job["headers"])
            except http_client.HttpError as e:
                raise DeliveryError("ConnectionError", str(e), client=False) from None
            if 200 <= status < 300:
                return status, _response_text(body)
            error = DeliveryError(f"HTTP{status}", f"the endpoint answered {status}",
                                  client=400 <= status < 500 and status != 429)
            error.status, error.response = status, _response_text(body)
            raise error
        if job["kind"] == "target":  # Firehose
            result = await deliver(self.providers, job["arn"], job["body"], source="sns", sender=sender)
            return 200, orjson.dumps({"firehoseRequestId": str(uuid.uuid4()),
                                      "firehoseRecordId": (result or {}).get("RecordId")}).decode()
        if job["kind"] == "lambda":
            region, account = job["function"].split(":")[3:5]
            lam = await self.providers.get("lambda")
            refused = delivery_refusal(lam, job["function"], sender)
            if refused is not None:
                error = DeliveryError("AccessDenied", refused)
                error.status = 403
                raise error
            try:
                result = await lam.invoke_function(account, region, job["function"], job["payload"].encode(),
                                                   invocation_type="Event")
            except AwsError as e:
                error = DeliveryError(e.code, e.message, client=e.code != "TooManyRequestsException")
                error.status = e.status
                raise error from None
            return result.status, orjson.dumps({"lambdaRequestId": result.request_id}).decode()
        raise DeliveryError("InvalidDelivery", f"unknown delivery kind {job['kind']}")

    @staticmethod
    def _retry_delay(sub: dict, job: dict, attempts: int) -> float | None:
        """Seconds before retry number `attempts`, or None when retries are exhausted."""
        if job["kind"] == "lambda":
            return 1.0 if attempts <= 3 else None
        policy = DEFAULT_HTTP_POLICY
        text = sub["attributes"].get("DeliveryPolicy")
        if text:
            try:
                parsed = orjson.loads(text)
                retry = parsed.get("healthyRetryPolicy") or parsed
                if isinstance(retry, dict):
                    policy = {**DEFAULT_HTTP_POLICY, **retry}
            except (orjson.JSONDecodeError, AttributeError):
                pass
        if attempts > int(policy.get("numRetries", 3)):
            return None
        if attempts <= int(policy.get("numNoDelayRetries", 0)):
            return 0.0
        low, high = float(policy.get("minDelayTarget", 20)), float(policy.get("maxDelayTarget", 20))
        retries = max(int(policy.get("numRetries", 3)), 1)
        return min(high, low + (high - low) * (attempts - 1) / retries)

    async def _dead_letter(self, sub: dict, job: dict, error: DeliveryError) -> None:
        redrive = sub["attributes"].get("RedrivePolicy")
        target = orjson.loads(redrive).get("deadLetterTargetArn") if redrive else None
        if not target:
            log.warning("SNS delivery to %s failed (%s); no dead-letter queue: message dropped", sub["endpoint"], error)
            return
        body = job.get("dlq_body") or job.get("body") or job.get("payload")
        log.info("SNS delivery to %s failed (%s): to the dead-letter queue %s", sub["endpoint"], error, target)
        try:
            await deliver(self.providers, target, body, sender=_sender(sub["topic_arn"]),
                          group_id="sns-dlq" if target.endswith(".fifo") else None)
        except DeliveryError as e:
            log.warning("SNS dead-letter queue %s unusable (%s): message dropped", target, e)

    # -- delivery status logging -------------------------------------------------------------------
    # A topic's <Protocol>SuccessFeedbackRoleArn / FailureFeedbackRoleArn / SuccessFeedbackSampleRate:
    # each delivery to a subscription of that protocol writes a JSON line to CloudWatch Logs, group
    # sns/<region>/<account>/<topic> (successes, sampled) or .../Failure (failures), as AWS does.
    # overcast does not assume the role: the lines are written in the topic's account.

    def _feedback_of(self, topic_arn: str, attributes: dict) -> dict | None:
        """The topic's delivery status logging, {protocol: (success sample rate or None, failures
        logged)}, or None when it logs nothing (cached with the topic)."""
        try:
            return self._feedback[topic_arn]
        except KeyError:
            pass
        config: dict = {}
        for protocol, prefix in FEEDBACK_PREFIX.items():
            success = attributes.get(f"{prefix}SuccessFeedbackRoleArn")
            failure = bool(attributes.get(f"{prefix}FailureFeedbackRoleArn"))
            # without a sample rate no success is sampled (the rate is AWS's to set: 0-100)
            rate = _rate(attributes.get(f"{prefix}SuccessFeedbackSampleRate")) if success else None
            if (rate or failure) and "logs" in SERVICES:
                config[protocol] = (rate or None, failure)
        self._feedback[topic_arn] = config = config or None
        return config

    def _sqs_status(self, feedback: tuple, sub: Subscription, topic_arn: str, message_id: str, text: str,
                    published: float, outcome) -> None:
        """The status line of a delivery to a queue (made in Publish's transaction; written after it)."""
        rate, failures = feedback[0]["sqs"]
        if isinstance(outcome, AwsError):
            if not failures:
                return
            code, message, status = outcome.code, outcome.message, outcome.status
            if code == "QueueDoesNotExist":  # as SQS's query API names it
                code, message = "AWS.SimpleQueueService.NonExistentQueue", \
                    "The specified queue does not exist or you do not have access to it."
            response = {"ErrorCode": code, "ErrorMessage": message, "sqsRequestId": "Unrecoverable"}
            feedback[1].append((True, *_status_line(topic_arn, message_id, _md5(text), published, sub.endpoint,
                                                    orjson.dumps(response).decode(), 1, status, False)))
        elif _sampled(rate):
            response = {"sqsRequestId": str(uuid.uuid4()), "sqsMessageId": outcome.get("MessageId")}
            feedback[1].append((False, *_status_line(topic_arn, message_id, _md5(text), published, sub.endpoint,
                                                     orjson.dumps(response).decode(), 1, 200, True)))

    def _delivery_status(self, sub: dict, job: dict, attempts: int, status: int, response: str,
                         failed: bool = False) -> None:
        """The status line of a queued delivery's outcome (Lambda, HTTP/S, Firehose): its success
        (when sampled), or its failure once it is given up."""
        feedback = job["feedback"]
        if not (feedback["failures"] if failed else _sampled(feedback["rate"])):
            return
        topic_arn = sub["topic_arn"]
        # (AWS's Lambda status lines carry no attempt count: its recorded lines show none)
        ms, line = _status_line(topic_arn, feedback["id"], feedback["md5"], feedback["at"], sub["endpoint"], response,
                                None if job["kind"] == "lambda" else attempts, status, not failed)
        _, _, _, region, account, name = topic_arn.split(":", 5)
        self._write_statuses(account, region, name, [(failed, ms, line)])

    def _write_statuses(self, account: str, region: str, topic_name: str, lines: list[tuple[bool, int, str]]) -> None:
        """Delivery status lines to the topic's groups (CloudWatch Logs creates group and stream)."""
        logs = self.providers.loaded().get("logs")
        if logs is None:  # not loaded yet (nothing has asked it anything): load it, then write
            self._timers.spawn(self._write_statuses_later(account, region, topic_name, lines))
            return
        group = f"sns/{region}/{account}/{topic_name}"
        successes = [(ms, line) for failed, ms, line in lines if not failed]
        failures = [(ms, line) for failed, ms, line in lines if failed]
        if successes:
            logs.append_soon(account, region, group, self._status_stream, successes)
        if failures:
            logs.append_soon(account, region, group + "/Failure", self._status_stream, failures)

    async def _write_statuses_later(self, account: str, region: str, topic_name: str, lines: list) -> None:
        await self.providers.get("logs")
        self._write_statuses(account, region, topic_name, lines)

    # -- HTTP confirmation -----------------------------------------------------------------------

    def _confirmation_message(self, sub: dict, kind: str = "SubscriptionConfirmation") -> dict:
        topic_arn = sub["topic_arn"]
        token = sub["token"] or secrets.token_hex(64)
        url = (f"{self._endpoint}/_overcast/sns/?Action=ConfirmSubscription&TopicArn={quote(topic_arn, safe='')}"
               f"&Token={token}")
        if kind == "SubscriptionConfirmation":
            text = (f"You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the "
                    "SubscribeURL included in this message.")
        else:  # (overcast does not restore a subscription through this message's SubscribeURL)
            text = (f"You have chosen to deactivate subscription {sub['arn']}.\nTo cancel this operation and "
                    "restore the subscription, visit the SubscribeURL included in this message.")
        message = {"Type": kind, "MessageId": str(uuid.uuid4()), "Token": token, "TopicArn": topic_arn,
                   "Message": text, "SubscribeURL": url, "Timestamp": timestamp()}
        version = (self._topics.get(topic_arn) or self.store.get_topic(topic_arn))[4].get("SignatureVersion", "1")
        message["SignatureVersion"] = version
        message["Signature"] = self.signer.sign(message, version)
        message["SigningCertURL"] = self._endpoint + CERT_PATH
        return message

    async def _send_confirmation(self, sub: dict, kind: str = "SubscriptionConfirmation") -> None:
        message = self._confirmation_message(sub, kind)
        headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": kind,
                   "x-amz-sns-message-id": message["MessageId"], "x-amz-sns-topic-arn": sub["topic_arn"],
                   "User-Agent": "Amazon Simple Notification Service Agent"}
        body = orjson.dumps(message, option=orjson.OPT_INDENT_2)
        for attempt in range(3):
            try:
                status, _, _ = await http_client.request("POST", sub["endpoint"], body, headers)
                if 200 <= status < 300:
                    return
            except http_client.HttpError as e:
                log.info("SNS subscription confirmation to %s: %s", sub["endpoint"], e)
            await asyncio.sleep(1 + attempt)  # three tries; the subscription stays pending otherwise

    # -- overcast's endpoints: SubscribeURL, UnsubscribeURL, certificate, recorded messages ----------

    async def http(self, request: HttpRequest) -> HttpResponse:
        path = request.path.rstrip("/")
        query = {k: v[0] for k, v in parse_qs(request.query_string).items()}
        if path == CERT_PATH:
            return HttpResponse(200, [("content-type", "application/x-x509-ca-cert")], self.signer.cert_pem)
        if path == "/_overcast/sns/messages":
            filters = {"account": query.get("account"), "region": query.get("region"),
                       "topic_arn": query.get("topicArn") or query.get("topic_arn"),
                       "protocol": query.get("protocol"), "endpoint": query.get("endpoint")}
            if request.method == "DELETE":
                return _json(200, {"deleted": self.store.clear_recorded(filters)})
            return _json(200, {"messages": self.store.recorded(filters)})
        if path == "/_overcast/sns":
            action = query.get("Action")
            request_id = str(uuid.uuid4())
            try:
                if action == "ConfirmSubscription":
                    topic_arn = query.get("TopicArn", "")
                    sub = self.store.subscription_by_token(topic_arn, query.get("Token", ""))
                    if sub is None:
                        raise invalid("Token")
                    if not sub["confirmed"]:
                        sub["confirmed"] = True
                        self.store.put_subscription(sub)
                        self._changed(topic_arn)
                    body = (f'<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                            f"<ConfirmSubscriptionResult><SubscriptionArn>{sub['arn']}</SubscriptionArn>"
                            f"</ConfirmSubscriptionResult><ResponseMetadata><RequestId>{request_id}</RequestId>"
                            f"</ResponseMetadata></ConfirmSubscriptionResponse>")
                    return HttpResponse(200, [("content-type", "text/xml")], body.encode())
                if action == "Unsubscribe":
                    sub = self.store.get_subscription(query.get("SubscriptionArn", ""))
                    if sub is None:
                        raise not_found("Subscription does not exist")
                    self.store.delete_subscription(sub["arn"])
                    self._changed(sub["topic_arn"])
                    body = (f'<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
                            f"</UnsubscribeResponse>")
                    return HttpResponse(200, [("content-type", "text/xml")], body.encode())
            except AwsError as e:
                body = (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
                        f"<Code>{e.code}</Code><Message>{e.message}</Message></Error>"
                        f"<RequestId>{request_id}</RequestId></ErrorResponse>")
                return HttpResponse(e.status, [("content-type", "text/xml")], body.encode())
        return _json(404, {"error": "NotFound", "message": f"No overcast endpoint {request.method} {request.path}"})


SUBSCRIPTION_DEFAULTS = {"RawMessageDelivery": "false", "FilterPolicyScope": "MessageAttributes"}


def _effective(attributes: dict, key: str):
    """A subscription attribute's value, its default when not set (Subscribe's idempotency
    compares these)."""
    value = attributes.get(key)
    return SUBSCRIPTION_DEFAULTS.get(key) if value in (None, "") else value


def _filter_view(attributes: dict) -> dict:
    """Message attributes as a filter policy sees them: strings, numbers, String.Array values as
    arrays; Binary attributes are not compared."""
    view = {}
    for name, value in attributes.items():
        kind, text = value["Type"], value["Value"]
        if kind.startswith("Number"):
            number = float(text)
            view[name] = int(number) if number.is_integer() else number
        elif kind == "String.Array":
            view[name] = orjson.loads(text)
        elif kind.startswith("String"):
            view[name] = text
    return view


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _rate(value: str | None) -> int:
    """A stored sample rate (checked when set; one kept from before that counts as 0)."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _sampled(rate: int | None) -> bool:
    """Whether a success is logged: every one at 100, none at 0 or without a rate, a random share
    in between (as AWS samples)."""
    return rate is not None and (rate >= 100 or random.random() * 100 < rate)


def _feedback_job(settings: tuple, message_id: str, text: str, published: float) -> dict:
    """What a queued delivery keeps for its status line."""
    return {"id": message_id, "md5": _md5(text), "at": published, "rate": settings[0], "failures": settings[1]}


def _response_text(body: bytes) -> str:
    return body[:4096].decode("utf-8", "replace")


def _failure_response(job: dict, error: DeliveryError) -> tuple[int, str]:
    """A given-up delivery's (status code, providerResponse): an HTTP endpoint's answer, or the
    error as AWS reports a service's (ErrorCode, ErrorMessage, the request id "Unrecoverable")."""
    status = getattr(error, "status", 0 if job["kind"] == "http" else (400 if error.client else 500))
    if job["kind"] == "http":
        return status, getattr(error, "response", None) or error.message
    key = "lambdaRequestId" if job["kind"] == "lambda" else "firehoseRequestId"
    return status, orjson.dumps({"ErrorCode": error.code, "ErrorMessage": error.message, key: "Unrecoverable"}).decode()


def _status_line(topic_arn: str, message_id: str, md5: str, published: float, destination: str, response: str,
                 attempts: int | None, status: int, success: bool) -> tuple[int, str]:
    """(time in ms, the JSON line) of one delivery's status, in AWS's shape."""
    now = time.time()
    moment = datetime.fromtimestamp(published, UTC)
    delivery = {"deliveryId": str(uuid.uuid4()), "destination": destination, "providerResponse": response,
                "dwellTimeMs": max(0, int((now - published) * 1000))}
    if attempts is not None:
        delivery["attempts"] = attempts
    delivery["statusCode"] = status
    line = {"notification": {"messageMD5Sum": md5, "messageId": message_id, "topicArn": topic_arn,
                             "timestamp": moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"},
            "delivery": delivery, "status": "SUCCESS" if success else "FAILURE"}
    return int(now * 1000), orjson.dumps(line).decode()


def _json(status: int, payload) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], orjson.dumps(payload))


@functools.lru_cache(maxsize=1024)  # one per topic, not one per delivery (a Sender is immutable)
def _sender(topic_arn: str) -> Sender:
    """SNS delivering for a topic: what a target of another account must allow."""
    return Sender("sns.amazonaws.com", topic_arn, topic_arn.split(":")[4])


def _message_structure(params: dict, message: str) -> dict | None:
    """MessageStructure=json: the message's entries per protocol (or platform), with its default;
    an entry that is not a string is ignored (that protocol gets the default). None without it."""
    if params.get("MessageStructure") is None:
        return None
    if params["MessageStructure"] != "json":
        raise invalid("MessageStructure")
    try:
        structure = orjson.loads(message)
    except orjson.JSONDecodeError:
        raise invalid("Message Structure - JSON message body failed to parse") from None
    if not isinstance(structure, dict) or not isinstance(structure.get("default"), str):
        raise invalid("Message Structure - No default entry in JSON message body")
    return {k: v for k, v in structure.items() if isinstance(v, str)}
