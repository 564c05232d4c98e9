"""restXml: REST routing and bindings (rest.py) with XML bodies.

Errors: `<ErrorResponse><Error><Type/><Code/><Message/>...</Error><RequestId/></ErrorResponse>`,
except for services that answer with a bare `<Error>` root (S3), listed in BARE_ERROR_ROOT.
botocore's RestXMLParser reads both.
"""

from __future__ import annotations

from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel
from overcast.aws.protocols.rest import RestProtocol
from overcast.aws.protocols.xmlcodec import (
    XmlSyntaxError,
    decode_structure,
    escape_text,
    namespace_attr,
    parse_xml,
    structure_attrs,
    structure_children,
)

# services whose errors are <Error>...</Error> without the ErrorResponse wrapper
BARE_ERROR_ROOT = frozenset(("s3", "s3control"))

# The root element of an answer whose members make up the body (no payload member). botocore's
# model does not carry it (its parser ignores the root), but clients that read the XML themselves
# do: S3's names, from the Response Syntax of each operation in the S3 API reference, in S3's
# namespace, as S3 answers them.
S3_NAMESPACE = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
# Elements S3 answers before or after the model's order, (first, last): the AWS SDK for Java reads
# ListBuckets' Owner before the buckets and a listing's Name before its Contents or Versions
# (AWS's answers).
ELEMENT_ORDER = {"s3": {
    "ListBucketsOutput": (("Owner",), ()),
    "ListObjectsOutput": ((), ("Contents",)),
    "ListObjectsV2Output": ((), ("Contents",)),
    "ListObjectVersionsOutput": ((), ("Versions", "DeleteMarkers")),
}}
RESULT_ROOTS = {"s3": {
    "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "CreateSessionOutput": "CreateSessionResult",
    "DeleteObjectsOutput": "DeleteResult",
    "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetBucketCorsOutput": "CORSConfiguration",
    "GetBucketLifecycleOutput": "LifecycleConfiguration",
    "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "NotificationConfigurationDeprecated": "NotificationConfiguration",
    "NotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
    "GetBucketTaggingOutput": "Tagging",
    "GetObjectTaggingOutput": "Tagging",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketWebsiteOutput": "WebsiteConfiguration",
    "GetObjectAttributesOutput": "GetObjectAttributesResponse",
    "ListBucketAnalyticsConfigurationsOutput": "ListBucketAnalyticsConfigurationResult",
    "ListBucketInventoryConfigurationsOutput": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurationsOutput": "ListMetricsConfigurationsResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListDirectoryBucketsOutput": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
    "ListPartsOutput": "ListPartsResult",
}}


class RestXmlProtocol(RestProtocol):
    name = "rest-xml"
    content_type = "application/xml"

    def _unknown_operation(self, request: HttpRequest) -> AwsError:
        return AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)

    def _parse(self, body: bytes):
        try:
            return parse_xml(body)
        except XmlSyntaxError:
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                           "against our published schema.") from None

    def _read_body(self, model, shape_name, body: bytes) -> dict:
        if not body or body.isspace():
            return {}
        root = self._parse(body)
        try:
            return decode_structure(model, shape_name, root)
        except (ValueError, TypeError, OverflowError):
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate "
                           "against our published schema.") from None

    def _read_payload_structure(self, model, shape_name, traits, body: bytes):
        return self._read_body(model, shape_name, body)

    def _root(self, model, shape_name, traits, value) -> tuple[str, str]:
        shape = model.shapes[shape_name]
        tag = traits.get("locationName") or shape.get("locationName") or shape_name
        attrs = namespace_attr(traits) or namespace_attr(shape)
        return tag, attrs + structure_attrs(model, shape_name, value)

    def _write_body(self, model, shape_name, output: dict) -> bytes:
        tag, attrs = self._root(model, shape_name, {}, output)
        root = RESULT_ROOTS.get(model.name, {}).get(shape_name)
        if root is not None:
            tag, attrs = root, S3_NAMESPACE + structure_attrs(model, shape_name, output)
        parts = [f"<{tag}{attrs}>"]
        order = ELEMENT_ORDER.get(model.name, {}).get(shape_name)
        if order is None:
            structure_children(model, shape_name, output, parts)
        else:
            first, last = order
            structure_children(model, shape_name, {k: output.get(k) for k in first}, parts)
            structure_children(model, shape_name, {k: v for k, v in output.items() if k not in first and k not in last},
                               parts)
            structure_children(model, shape_name, {k: output.get(k) for k in last}, parts)
        parts.append(f"</{tag}>")
        return "".join(parts).encode()

    def _write_payload_structure(self, model, shape_name, traits, value) -> bytes:
        tag, attrs = self._root(model, shape_name, traits, value)
        if model.name == "s3" and "xmlns=" not in attrs:  # S3's documents are all in its namespace
            attrs = S3_NAMESPACE + attrs
        parts = [f"<{tag}{attrs}>"]
        structure_children(model, shape_name, value, parts)
        parts.append(f"</{tag}>")
        return "".join(parts).encode()

    def serialize_error(self, model: ServiceModel | None, operation: OperationModel | None, error: AwsError, ctx: RequestContext | None) -> HttpResponse:
        code, status = self._error_code_status(model, error)
        headers, taken = self._error_headers(model, error, ctx)
        headers.append(("content-type", "application/xml"))
        fields = {k: v for k, v in error.fields.items()
                  if k not in taken and not k.startswith("_") and k not in ("Message", "message")}
        parts = []
        if fields and model is not None and model.shapes.get(error.code, {}).get("type") == "structure":
            structure_children(model, error.code, fields, parts)
        inner = f"<Code>{escape_text(code)}</Code><Message>{escape_text(error.message)}</Message>{''.join(parts)}"
        request_id = ctx.request_id if ctx is not None else ""
        if model is not None and model.name in BARE_ERROR_ROOT:
            body = f"<Error>{inner}<RequestId>{request_id}</RequestId></Error>"
        else:
            fault = "Sender" if error.sender_fault else "Receiver"
            body = f"<ErrorResponse><Error><Type>{fault}</Type>{inner}</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        return HttpResponse(status, headers, body.encode())


REST_XML_PROTOCOL = RestXmlProtocol()
