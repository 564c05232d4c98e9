"""AWS Cloud Control API: GetResource and ListResources, answered by the CloudFormation resource
types' own `read` and `list` handlers (resources/base.py), which call the services' providers. A
type whose handler overcast does not have answers UnsupportedActionException, as AWS does for a
type without that handler; CreateResource, UpdateResource and DeleteResource are not implemented."""

from __future__ import annotations

import base64
import json
import uuid

from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.cloudformation import schemas
from overcast.services.cloudformation.resources import resource_type
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType

_PAGE = 100


def _type_not_found(type_name: str) -> AwsError:
    return AwsError("TypeNotFoundException", f"The type '{type_name}' cannot be found.", 400)


class CloudControlProvider(Provider):
    service = "cloudcontrol"

    def _kind(self, type_name: str, action: str, method: str) -> ResourceType:
        if not schemas.known_type(type_name):
            raise _type_not_found(type_name)
        kind = resource_type(type_name)
        if kind is None or getattr(type(kind), method) is getattr(ResourceType, method):
            raise AwsError("UnsupportedActionException", f"Resource type {type_name} does not support {action} "
                                                         "action", 400)
        return kind

    def _op(self, ctx, type_name: str) -> ResourceOp:
        scope = {"account": ctx.account, "region": ctx.region, "StackName": "", "StackId": ""}
        return ResourceOp(self.providers, scope, "", type_name, {})

    async def get_resource(self, ctx, params):
        type_name, identifier = params["TypeName"], params["Identifier"]
        kind = self._kind(type_name, "READ", "read")
        properties = await kind.read(self._op(ctx, type_name), identifier)
        if properties is None:
            raise AwsError("ResourceNotFoundException", f"{type_name} Handler returned status FAILED: Resource of "
                                                        f"type '{type_name}' with identifier '{identifier}' was not "
                                                        f"found. (HandlerErrorCode: NotFound, RequestToken: "
                                                        f"{uuid.uuid4()})", 400)
        return {"TypeName": type_name, "ResourceDescription": {"Identifier": identifier,
                                                               "Properties": json.dumps(properties)}}

    async def list_resources(self, ctx, params):
        type_name = params["TypeName"]
        kind = self._kind(type_name, "LIST", "list")
        op = self._op(ctx, type_name)
        identifiers = sorted(await kind.list(op))
        start = 0
        if params.get("NextToken"):
            try:
                start = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise AwsError("InvalidRequestException", "Invalid NextToken", 400) from None
        size = min(int(params.get("MaxResults") or _PAGE), _PAGE)
        page = identifiers[start:start + size]
        described = []
        for identifier in page:
            properties = await kind.read(op, identifier)
            if properties is not None:  # gone between the listing and the read
                described.append({"Identifier": identifier, "Properties": json.dumps(properties)})
        out = {"TypeName": type_name, "ResourceDescriptions": described}
        if start + size < len(identifiers):
            out["NextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return out
