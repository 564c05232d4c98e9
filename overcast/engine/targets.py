"""Deliver a message to an AWS resource by its ARN, through that service's own provider: the one
path SNS, EventBridge, Scheduler and event-source-mapping destinations use to reach SQS, SNS,
Lambda, EventBridge buses, Step Functions state machines, CloudWatch Logs, Kinesis and Firehose. Never
touches another service's tables."""

from __future__ import annotations

import inspect
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from overcast.aws import policy as iam_policy
from overcast.aws.context import HttpRequest, RequestContext
from overcast.aws.errors import AwsError
from overcast.services import SERVICES

# The service names AWS's universal targets and SDK integrations use, where botocore's differ.
SDK_SERVICES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs"}


async def operation_method(providers, service: str, operation_name: str):
    """(operation model, the provider method that runs it as the API would) for another
    service's call by name (Scheduler's universal targets, Step Functions' SDK integrations):
    (None, None) when the model has no such operation, (operation, None) when overcast has not
    implemented it."""
    from overcast.aws.models import load_service_model

    operation = load_service_model(service).operation(operation_name)
    if operation is None:
        return None, None
    return operation, getattr(await providers.get(service), operation.method_name, None)


class DeliveryError(Exception):
    """A delivery failed. `client` is True for errors a retry cannot fix (the target does not
    exist, the message is invalid for it): those go to the dead-letter queue at once."""

    def __init__(self, code: str, message: str, client: bool = True):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.client = client


_CONTEXTS: dict[tuple, RequestContext] = {}


def internal_ctx(service: str, account: str, region: str, operation: str = "") -> RequestContext:
    """The context of a call one service makes on another's provider. Cached per (service,
    account, region, operation): callers must not modify it."""
    key = (service, account, region, operation)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        if len(_CONTEXTS) > 10_000:
            _CONTEXTS.clear()
        request = HttpRequest("POST", "/", "/", "", {"host": "localhost"}, b"")
        ctx = _CONTEXTS[key] = RequestContext(account, region, service, request, operation=operation,
                                              request_id="00000000-0000-0000-0000-000000000000")
    return ctx


@dataclass(frozen=True, slots=True)
class Sender:
    """Who delivers: a service (`sns.amazonaws.com`) acting for a resource (`source_arn`) of
    `account`. A target in another account must allow it in its resource policy, as AWS checks;
    within one account nothing is checked (IAM is not enforced there)."""

    service: str
    source_arn: str
    account: str


# The action a delivery to each kind of target asks of the target's resource policy.
_DELIVERY_ACTIONS = {"sqs": "sqs:SendMessage", "lambda": "lambda:InvokeFunction", "sns": "sns:Publish",
                     "events": "events:PutEvents", "kinesis": "kinesis:PutRecord", "firehose": "firehose:PutRecord",
                     "logs": "logs:PutLogEvents"}


def delivery_refusal(target_provider, arn: str, sender: Sender | None) -> str | None:
    """None when `sender` may deliver to `arn` (a resource of `target_provider`'s service); else
    the reason. The target's `resource_policy(arn)` decides (no such method: nothing is granted).
    An event bus admits another account's rules by that account, not by a service principal."""
    service, _, account, _ = parse_arn(arn)
    if sender is None or sender.account == account:
        return None
    getter = getattr(target_provider, "resource_policy", None)
    document = getter(arn) if getter is not None else None
    principal = iam_policy.Principal(sender.account, service="" if service == "events" else sender.service)
    resource = arn
    if service == "logs":  # PutLogEvents acts on the group's streams: "...:log-group:NAME:*" as policies name them
        resource = arn.removesuffix(":*") + ":*"
    request = iam_policy.Request(principal, _DELIVERY_ACTIONS.get(service, f"{service}:*"), resource,
                                 {"aws:sourcearn": sender.source_arn, "aws:sourceaccount": sender.account,
                                  "aws:principalaccount": sender.account})
    return iam_policy.refusal(document, request, account)


def parse_arn(arn: str) -> tuple[str, str, str, str]:
    """arn:aws:sqs:us-east-1:123456789012:name -> ("sqs", region, account, resource)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise DeliveryError("InvalidArn", f"Invalid ARN: {arn}")
    return parts[2], parts[3], parts[4], parts[5]


async def store_record(providers, bucket_arn: str, account: str, region: str, prefix: str, record: bytes,
                       when: float | None = None) -> str:
    """Lambda's failure records in an S3 bucket (an asynchronous invocation's or an event source
    mapping's OnFailure destination): the JSON object `<prefix>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>`,
    written for `account` (the function's) as PutObject would, named for `when` (the record's
    timestamp; now by default); returns its key. Raises DeliveryError."""
    moment = datetime.fromtimestamp(time.time() if when is None else when, UTC)
    key = f"{prefix}/{moment:%Y/%m/%d}/{moment:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
    s3 = await providers.get("s3")
    try:
        await s3.write_object(account, region, parse_arn(bucket_arn)[3], key, record, content_type="application/json")
    except AwsError as e:
        raise DeliveryError(e.code, e.message, e.status < 500) from None
    return key


async def deliver(providers, arn: str, body: str | bytes, *, attributes: dict | None = None, group_id: str | None = None,
                  dedup_id: str | None = None, source: str = "overcast", partition_key: str | None = None,
                  sender: Sender | None = None, execution_name: str | None = None, subject: str | None = None) -> dict:
    """Send `body` to the resource `arn` names; raises DeliveryError. A `sender` of another
    account than the target's needs the target's resource policy to allow it. Bytes are for
    Kinesis and Firehose records (CloudWatch Logs' gzip), whose data they are as they are.
    `execution_name` names a Step Functions execution (else Step Functions makes one up); `subject`
    is an SNS message's subject (CloudWatch alarms')."""
    service, region, account, resource = parse_arn(arn)
    data = body if isinstance(body, bytes) else body.encode()
    if sender is not None and sender.account != account:
        target = await providers.get(service) if service in SERVICES else None
        refused = delivery_refusal(target, arn, sender)
        if refused is not None:
            raise DeliveryError("AccessDenied", refused)
    try:
        if service == "kinesis" and "kinesis" in SERVICES:
            kinesis = await providers.get("kinesis")
            ctx = internal_ctx("kinesis", account, region, "PutRecord")
            return kinesis.put_record(ctx, {"StreamARN": arn, "Data": data,
                                            "PartitionKey": (partition_key or str(uuid.uuid4()))[:256]})
        if service == "firehose" and "firehose" in SERVICES:
            firehose = await providers.get("firehose")
            ctx = internal_ctx("firehose", account, region, "PutRecord")
            result = firehose.put_record(ctx, {"DeliveryStreamName": resource.split("/", 1)[-1],
                                               "Record": {"Data": data}})
            return await result if inspect.isawaitable(result) else result
        if service == "sqs":
            sqs = await providers.get("sqs")
            params = {"QueueUrl": f"http://localhost/{account}/{resource}", "MessageBody": body}
            if attributes:
                params["MessageAttributes"] = attributes
            if group_id is not None:
                params["MessageGroupId"] = group_id
            if dedup_id is not None:
                params["MessageDeduplicationId"] = dedup_id
            elif group_id is not None and resource.endswith(".fifo"):
                import hashlib

                params["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
            return sqs.send_message(internal_ctx("sqs", account, region, "SendMessage"), params)
        if service == "lambda":
            lam = await providers.get("lambda")
            result = await lam.invoke_function(account, region, arn, data, invocation_type="Event")
            return {"StatusCode": result.status}
        if service == "sns":
            sns = await providers.get("sns")
            return await sns.publish_internal(account, region, arn, body, attributes=attributes, group_id=group_id,
                                              dedup_id=dedup_id, subject=subject)
        if service == "events":
            events = await providers.get("events")
            return await events.put_event_internal(account, region, arn, body)
        if service == "states" and resource.startswith("stateMachine:"):
            sfn = await providers.get("stepfunctions")
            ctx = internal_ctx("stepfunctions", account, region, "StartExecution")
            params = {"stateMachineArn": arn, "input": body}
            if execution_name:
                params["name"] = execution_name
            return sfn.start_execution(ctx, params)
        if service == "logs" and "logs" in SERVICES:
            logs = await providers.get("logs")
            group = resource.split(":", 1)[1] if resource.startswith("log-group:") else resource
            group = group.removesuffix(":*")
            ctx = internal_ctx("logs", account, region, "PutLogEvents")
            stream = f"overcast-{source}"
            try:
                logs.create_log_stream(ctx, {"logGroupName": group, "logStreamName": stream})
            except AwsError as e:
                if e.code != "ResourceAlreadyExistsException":
                    raise
            return logs.put_log_events(ctx, {"logGroupName": group, "logStreamName": stream,
                                             "logEvents": [{"timestamp": int(time.time() * 1000), "message": body}]})
    except AwsError as e:
        client = e.status < 500 and e.code not in ("TooManyRequestsException", "Throttling", "ThrottlingException")
        raise DeliveryError(e.code, e.message, client) from None
    raise DeliveryError("UnsupportedTarget", f"overcast cannot deliver to {service} targets yet: {arn}")
