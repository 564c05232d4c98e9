"""Parse HTTP into (operation, params) and serialize results and errors back, per AWS protocol.

Each protocol module exposes one object with:

    parse(model, request) -> (OperationModel, params)        raises AwsError on bad input
    serialize(model, operation, output, ctx) -> HttpResponse
    serialize_error(model, operation | None, error, ctx) -> HttpResponse

and knows nothing about any service: everything comes from the botocore model.
"""

from __future__ import annotations

from overcast.aws.context import HttpRequest
from overcast.aws.models import ServiceModel

_PROTOCOLS: dict = {}


def get_protocol(name: str):
    protocol = _PROTOCOLS.get(name)
    if protocol is None:
        if name == "json":
            from overcast.aws.protocols.json import JSON_PROTOCOL as protocol
        elif name == "query":
            from overcast.aws.protocols.query import QUERY_PROTOCOL as protocol
        elif name == "rest-json":
            from overcast.aws.protocols.restjson import REST_JSON_PROTOCOL as protocol
        elif name == "rest-xml":
            from overcast.aws.protocols.restxml import REST_XML_PROTOCOL as protocol
        elif name == "cbor":
            from overcast.aws.protocols.cbor import CBOR_PROTOCOL as protocol
        elif name == "rpcv2cbor":
            from overcast.aws.protocols.rpcv2cbor import RPCV2_CBOR_PROTOCOL as protocol
        else:
            raise KeyError(f"unsupported protocol {name}")
        _PROTOCOLS[name] = protocol
    return protocol


def is_query_request(request: HttpRequest) -> bool:
    """An awsQuery request: a form POST, or a GET with an Action parameter."""
    if request.method == "POST":
        return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    return "Action=" in request.query_string


def request_protocol(model: ServiceModel, request: HttpRequest, accepts_query: bool, also=()) -> str:
    """The protocol this request speaks, among those the service accepts: the model's own, and
    `also` (protocols the service has another model for: legacy_models.PROTOCOL_MODELS)."""
    if accepts_query and "x-amz-target" not in request.headers and (is_query_request(request) or request.method == "GET"):
        return "query"  # a GET is never awsJson (SQS answers a GET without an action in XML)
    if also:
        # awsJson names its operation in X-Amz-Target, restJson1 in its method and path (Athena
        # answers both, whichever of them the installed botocore's model has)
        targeted = "x-amz-target" in request.headers
        if targeted and model.protocol != "json" and "json" in also:
            return "json"
        if not targeted and model.protocol == "json" and "rest-json" in also:
            return "rest-json"
    if model.protocol == "json" and request.headers.get("content-type", "").startswith("application/x-amz-cbor"):
        return "cbor"  # awsJson over CBOR (the Java SDK's and KPL's default for Kinesis)
    if request.headers.get("smithy-protocol") == "rpc-v2-cbor" and "smithy-rpc-v2-cbor" in model.protocols:
        return "rpcv2cbor"  # Smithy RPC v2 CBOR (CloudWatch's first protocol)
    return model.protocol
