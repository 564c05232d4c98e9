"""CloudFormation's own types: custom resources (Custom::* and AWS::CloudFormation::CustomResource,
backed by Lambda or SNS), WaitConditionHandle/WaitCondition, nested stacks
(AWS::CloudFormation::Stack) and the CDK's AWS::CDK::Metadata.

A custom resource's provider answers by PUTting JSON to a presigned URL into overcast's S3, as on
AWS, so AWS's documented `cfn-response` module works unchanged. The engine waits on S3's
object-created event for that key (no polling), up to the configured timeout (AWS: one hour;
OVERCAST_CFN_CUSTOM_RESOURCE_TIMEOUT)."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import ResourceFailed, ResourceOp, ResourceType


def _bucket(op: ResourceOp) -> str:
    return f"cfn-responses-{op.account}-{op.region}"


URL_SECONDS = 7200  # how long a response URL is good for (a custom resource may take an hour)


@functools.cache
def _signer(endpoint: str, region: str, key: str, secret: str, token: str):
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                                 aws_secret_access_key=secret, aws_session_token=token,
                                 config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


async def _credentials(op: ResourceOp) -> dict:
    """Credentials overcast's STS issued to the account (so that the URL verifies when overcast
    verifies signatures, on any node of a cluster), good for at least as long as a URL."""
    return (await op.providers.get("sts")).issue_for_account(op.account, URL_SECONDS)


async def response_url(op: ResourceOp, key: str) -> str:
    """A presigned PUT URL for `key` in the stack's response bucket (created on first use)."""
    bucket = _bucket(op)
    try:
        await op.call("s3", "CreateBucket", {"Bucket": bucket} if op.region == "us-east-1" else
                      {"Bucket": bucket, "CreateBucketConfiguration": {"LocationConstraint": op.region}})
    except AwsError as e:
        if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    credentials = await _credentials(op)
    client = _signer(op.endpoint, op.region, credentials["AccessKeyId"], credentials["SecretAccessKey"],
                     credentials["SessionToken"])
    return client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=URL_SECONDS)


async def wait_for_object(op: ResourceOp, key: str, timeout: float, accept=None) -> bytes | None:
    """The object's body once it exists (None after `timeout` seconds). With `accept`, keeps
    waiting until accept(body) is true (wait conditions count their signals)."""
    s3 = await op.providers.get("s3")
    bucket = _bucket(op)
    arrived = asyncio.Event()

    def on_created(created_key: str) -> None:
        if created_key == key:
            arrived.set()

    s3.notifier.watch(bucket, on_created)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            arrived.clear()
            try:
                body = await s3.read_object(op.account, op.region, bucket, key)
            except AwsError:
                body = None
            if body is not None and (accept is None or accept(body)):
                return body
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except TimeoutError:
                return None
    finally:
        s3.notifier.unwatch(bucket, on_created)


def _stringified(value):
    """Properties as CloudFormation sends them to a custom resource's provider: booleans and numbers,
    at any depth, become strings (`true` -> "true", `14` -> "14"; CDK's handlers rely on it, e.g.
    BucketDeployment's `props.get('Prune', 'true').lower()`; aws-cloudformation/
    cloudformation-coverage-roadmap#1037)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return {k: _stringified(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringified(v) for v in value]
    return value


class CustomResource(ResourceType):
    type_name = "AWS::CloudFormation::CustomResource"

    async def _request(self, op: ResourceOp, request_type: str, properties: dict,
                       old_properties: dict | None = None) -> dict:
        token = properties.get("ServiceToken")
        if not token:
            raise ResourceFailed("ServiceToken is required for a custom resource")
        request_id = str(uuid.uuid4())
        key = f"{op.stack_id}|{op.logical_id}|{request_id}"
        event = {"RequestType": request_type, "ServiceToken": token, "ResponseURL": await response_url(op, key),
                 "StackId": op.stack_id, "RequestId": request_id, "LogicalResourceId": op.logical_id,
                 "ResourceType": op.type_name, "ResourceProperties": _stringified(properties)}
        if request_type != "Create":
            event["PhysicalResourceId"] = op.physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = _stringified(old_properties)
        service = token.split(":")[2] if token.startswith("arn:") else ""
        if service == "lambda":
            await op.call("lambda", "Invoke", {"FunctionName": token, "InvocationType": "Event",
                                               "Payload": json.dumps(event).encode()})
        elif service == "sns":
            await op.call("sns", "Publish", {"TopicArn": token, "Message": json.dumps(event)})
        else:
            raise ResourceFailed(f"Invalid service token: {token}")
        timeout = op.providers.config.cfn_custom_resource_timeout
        body = await wait_for_object(op, key, timeout)
        if body is None:
            raise ResourceFailed(f"CloudFormation did not receive a response from your Custom Resource. Please check "
                                 f"your logs for requestId [{request_id}]. If you are using the Python cfn-response "
                                 "module, you may need to update your Lambda function code so that CloudFormation "
                                 "can attach the updated version.")
        try:
            response = json.loads(body)
        except ValueError:
            raise ResourceFailed(f"Invalid response object: the response of {op.logical_id} is not JSON") from None
        if response.get("Status") != "SUCCESS":
            # A failed Create still gets a Delete when the stack rolls back, with the id the
            # provider answered (AWS makes one up when it gave none).
            physical_id = (response.get("PhysicalResourceId") or op.physical_id or op.name()) \
                if request_type == "Create" else None
            raise ResourceFailed(f"Received response status [FAILED] from custom resource. Message returned: "
                                 f"{response.get('Reason') or 'See the details in CloudWatch Log Stream'} "
                                 f"(RequestId: {request_id})", physical_id=physical_id)
        return response

    async def create(self, op: ResourceOp):
        response = await self._request(op, "Create", op.properties)
        physical_id = response.get("PhysicalResourceId")
        if not physical_id:
            raise ResourceFailed("Invalid PhysicalResourceId")
        return physical_id, dict(response.get("Data") or {})

    async def update(self, op: ResourceOp):
        if op.properties.get("ServiceToken") != op.old_properties.get("ServiceToken"):
            raise ResourceFailed("Modifying service token is not allowed.")
        response = await self._request(op, "Update", op.properties, op.old_properties)
        if response.get("PhysicalResourceId"):
            op.physical_id = response["PhysicalResourceId"]  # a new id: the engine deletes the old one
        return dict(response.get("Data") or {})

    async def delete(self, op: ResourceOp):
        await self._request(op, "Delete", op.properties)


class WaitConditionHandle(ResourceType):
    type_name = "AWS::CloudFormation::WaitConditionHandle"

    async def create(self, op: ResourceOp):
        return await response_url(op, f"{op.stack_id}|{op.logical_id}|signal"), {}

    async def update(self, op: ResourceOp):
        return {}

    async def delete(self, op: ResourceOp):
        return None


class CdkMetadata(ResourceType):
    """AWS::CDK::Metadata, which every CDK app adds: CloudFormation keeps the construct library
    versions (Analytics) for AWS's usage statistics and creates nothing in any service. overcast
    sends nothing anywhere; the properties stay in the stack's template, where GetTemplate shows them."""

    type_name = "AWS::CDK::Metadata"

    async def create(self, op: ResourceOp):
        physical_id = str(uuid.uuid4())  # AWS's physical ids for this type are UUIDs too
        return physical_id, {"Id": physical_id}

    async def update(self, op: ResourceOp):
        return {"Id": op.physical_id}

    async def delete(self, op: ResourceOp):
        return None


class WaitCondition(ResourceType):
    type_name = "AWS::CloudFormation::WaitCondition"

    async def create(self, op: ResourceOp):
        handle = op.properties.get("Handle")
        if not handle:
            return op.name(), {"Data": "{}"}  # a CreationPolicy wait condition: nothing signals overcast's
        key = handle.split("?", 1)[0].split(f"/{_bucket(op)}/", 1)[-1]
        from urllib.parse import unquote

        key = unquote(key)
        count = int(op.properties.get("Count") or 1)
        timeout = min(float(op.properties.get("Timeout") or 43200), 43200)
        signals: dict[str, dict] = {}

        def accept(body: bytes) -> bool:
            try:
                signal = json.loads(body)
            except ValueError:
                return False
            signals[str(signal.get("UniqueId") or len(signals))] = signal
            return any(s.get("Status") == "FAILURE" for s in signals.values()) or len(signals) >= count

        body = await wait_for_object(op, key, timeout, accept)
        if body is None:
            raise ResourceFailed("WaitCondition timed out. Received 0 conditions when expecting "
                                 f"{count}" if not signals else
                                 f"WaitCondition timed out. Received {len(signals)} conditions when expecting {count}")
        failed = [s for s in signals.values() if s.get("Status") == "FAILURE"]
        if failed:
            raise ResourceFailed(f"WaitCondition received failed message: '{failed[0].get('Reason', '')}' for "
                                 f"uniqueId: {failed[0].get('UniqueId', '')}")
        data = {uid: s.get("Data") for uid, s in signals.items()}
        return op.name(), {"Data": json.dumps(data)}

    async def update(self, op: ResourceOp):
        return op.attributes

    async def delete(self, op: ResourceOp):
        return None


class Stack(ResourceType):
    """A nested stack: a stack of its own, created through the CloudFormation provider."""

    type_name = "AWS::CloudFormation::Stack"

    async def _cfn(self, op: ResourceOp):
        return await op.providers.get("cloudformation")

    def _parameters(self, props: dict) -> list[dict]:
        return [{"ParameterKey": k, "ParameterValue": v if isinstance(v, str) else
                 ",".join(map(str, v)) if isinstance(v, list) else str(v)}
                for k, v in (props.get("Parameters") or {}).items()]

    async def _settle(self, op: ResourceOp, stack_id: str) -> dict:
        cfn = await self._cfn(op)
        while True:
            stack = cfn.store.get_stack(stack_id)
            if not stack["StackStatus"].endswith("_IN_PROGRESS"):
                return stack
            await cfn.waiters.wait(stack_id, 30)

    @staticmethod
    def _attributes(stack: dict) -> dict:
        return {f"Outputs.{o['OutputKey']}": o["OutputValue"] for o in stack.get("Outputs") or []}

    async def create(self, op: ResourceOp):
        props = op.properties
        cfn = await self._cfn(op)
        root = op.stack.get("RootId") or op.stack_id
        name = op.name(max_length=128)
        ctx = op.context("cloudformation", "CreateStack")
        out = await cfn.create_stack(ctx, {
            "StackName": name, "TemplateURL": props.get("TemplateURL"), "Parameters": self._parameters(props),
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            "Tags": props.get("Tags"), "NotificationARNs": props.get("NotificationARNs"),
            "TimeoutInMinutes": props.get("TimeoutInMinutes"),
            # none through Cloud Control, which makes a stack of its own
            "_ParentId": op.stack_id or None, "_RootId": root or None})
        stack = await self._settle(op, out["StackId"])
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise ResourceFailed(f"Embedded stack {out['StackId']} was not successfully created: "
                                 f"{_failure(cfn, stack)}")
        return out["StackId"], self._attributes(stack)

    async def update(self, op: ResourceOp):
        cfn = await self._cfn(op)
        ctx = op.context("cloudformation", "UpdateStack")
        try:
            await cfn.update_stack(ctx, {
                "StackName": op.physical_id, "TemplateURL": op.properties.get("TemplateURL"),
                "Parameters": self._parameters(op.properties),
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
                "Tags": op.properties.get("Tags")})
        except AwsError as e:
            if e.message != "No updates are to be performed.":
                raise
            return self._attributes(cfn.store.get_stack(op.physical_id))
        stack = await self._settle(op, op.physical_id)
        if stack["StackStatus"] != "UPDATE_COMPLETE":
            raise ResourceFailed(f"Embedded stack {op.physical_id} was not successfully updated. Currently in "
                                 f"{stack['StackStatus']}.")
        return self._attributes(stack)

    async def delete(self, op: ResourceOp):
        cfn = await self._cfn(op)
        # the planned name when the create failed (the rollback deletes the failed nested stack too)
        stack = cfn.store.get_stack(op.physical_id) if op.physical_id.startswith("arn:") else \
            cfn.store.live_stack_by_name(op.account, op.region, op.physical_id)
        if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
            return
        await cfn.delete_stack(op.context("cloudformation", "DeleteStack"), {"StackName": stack["StackId"]})
        stack = await self._settle(op, stack["StackId"])
        if stack["StackStatus"] != "DELETE_COMPLETE":
            raise ResourceFailed(f"Embedded stack {stack['StackId']} was not successfully deleted: "
                                 f"{stack.get('StackStatusReason', stack['StackStatus'])}")


def _failure(cfn, stack: dict) -> str:
    for event in reversed(cfn.store.events(stack["StackId"])):
        if event.get("ResourceStatus") == "ROLLBACK_IN_PROGRESS" and event.get("ResourceStatusReason"):
            return event["ResourceStatusReason"]
    return stack.get("StackStatusReason") or stack["StackStatus"]


class Macro(ResourceType):
    """A macro: a name that templates list in Transform or Fn::Transform, and the Lambda function
    CloudFormation invokes to process them (transforms.py runs it)."""

    type_name = "AWS::CloudFormation::Macro"

    @staticmethod
    async def _store(op: ResourceOp):
        return (await op.providers.get("cloudformation")).store

    async def create(self, op: ResourceOp):
        name, function = op.properties["Name"], op.properties["FunctionName"]
        if not (await self._store(op)).put_macro(op.account, op.region, name, function, op.stack_id):
            raise ResourceFailed(f"{name} already exists in stack {op.stack_id}")
        return name, {}

    async def update(self, op: ResourceOp):
        (await self._store(op)).set_macro_function(op.account, op.region, op.physical_id,
                                                   op.properties["FunctionName"])
        return op.attributes

    async def delete(self, op: ResourceOp):
        (await self._store(op)).delete_macro(op.account, op.region, op.physical_id)
