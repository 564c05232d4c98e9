"""REST API payloads as AWS converts and answers them: contentHandling on requests and responses
(AWS's payload-encodings table), AWS service answers through integration responses (query
services in JSON, JSON services called in their query form), the Velocity forms AWS's templates
use, and the answer's Connection header."""

from __future__ import annotations

import base64
import gzip
import json
import re

import httpx
import pytest
from apigateway_support import Api

RAW = gzip.compress(b"compressed data, should be invalid UTF-8 string", mtime=1676569620)
ENCODED = base64.b64encode(RAW)
TEXT = b"this is a UTF8 text typed object"


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


def s3_api(apigw, endpoint, s3, bucket, *, request_handling=None, response_handling=None, binary=None,
           response_template=None):
    """An API whose ANY /{key} reads and writes objects of `bucket` (LocalStack's S3 fixture)."""
    kwargs = {"binaryMediaTypes": binary} if binary else {}
    api = Api(apigw, endpoint, "s3-payloads", **kwargs)
    integration = {"type": "AWS", "integrationHttpMethod": "ANY",
                   "uri": f"arn:aws:apigateway:us-east-1:s3:path/{bucket}/{{key}}",
                   "requestParameters": {"integration.request.path.key": "method.request.path.key",
                                         "integration.request.querystring.response-content-type":
                                             "method.request.header.response-content-type"}}
    if request_handling:
        integration["contentHandling"] = request_handling
    response = {"responseParameters": {"method.response.header.ETag": "integration.response.header.ETag"}}
    if response_handling:
        response["contentHandling"] = response_handling
    if response_template:
        response["responseTemplates"] = {"application/json": response_template}
    rid = api.resource("/{key}")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="ANY", authorizationType="NONE",
                     requestParameters={"method.request.path.key": True,
                                        "method.request.header.response-content-type": False})
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="ANY", **integration)
    apigw.put_method_response(restApiId=api.id, resourceId=rid, httpMethod="ANY", statusCode="200",
                              responseParameters={"method.response.header.ETag": False})
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="ANY", statusCode="200", **response)
    api.deploy()
    return api


def test_request_convert_to_binary_decodes_base64_text_and_refuses_other_text(apigw, endpoint, client, unique_name):
    s3 = client("s3")
    bucket = unique_name("bin")
    s3.create_bucket(Bucket=bucket)
    api = s3_api(apigw, endpoint, s3, bucket, request_handling="CONVERT_TO_BINARY", binary=["image/png"])
    # text (not a binary media type) that is base64: decoded
    assert api.call("PUT", "/enc", content=ENCODED, headers={"Content-Type": "text/plain"}).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="enc")["Body"].read() == RAW
    # text that is not base64: AWS's 500, nothing written
    r = api.call("PUT", "/txt", content=TEXT, headers={"Content-Type": "text/plain"})
    assert r.status_code == 500 and r.json() == {"message": "Internal server error"}
    assert api.call("PUT", "/raw", content=RAW, headers={"Content-Type": "text/plain"}).status_code == 500
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="txt")
    # a binary body is passed as is
    assert api.call("PUT", "/png", content=RAW, headers={"Content-Type": "image/png"}).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="png")["Body"].read() == RAW


def test_request_convert_to_binary_with_a_matching_template_answers_500(apigw, endpoint, client, unique_name):
    s3 = client("s3")
    bucket = unique_name("bint")
    s3.create_bucket(Bucket=bucket)
    api = s3_api(apigw, endpoint, s3, bucket, request_handling="CONVERT_TO_BINARY")
    rid = api.resources["/{key}"]
    apigw.update_integration(restApiId=api.id, resourceId=rid, httpMethod="ANY", patchOperations=[
        {"op": "add", "path": "/requestTemplates/application~1json", "value": '{"data": "$input.body"}'}])
    api.deploy()
    # no template for image/png: passed through and converted
    assert api.call("PUT", "/a", content=ENCODED, headers={"Content-Type": "image/png"}).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == RAW
    # binary data cannot reach a template
    assert api.call("PUT", "/b", content=ENCODED, headers={"Content-Type": "application/json"}).status_code == 500


def test_response_conversion_without_content_handling_follows_accept(apigw, endpoint, client, unique_name):
    s3 = client("s3")
    bucket = unique_name("resp")
    s3.create_bucket(Bucket=bucket)
    for key, body in (("raw", RAW), ("enc", ENCODED), ("txt", TEXT)):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    api = s3_api(apigw, endpoint, s3, bucket, binary=["image/png"])

    def get(key, accept, content_type="binary/octet-stream"):
        return api.call("GET", f"/{key}", headers={"Accept": accept, "response-content-type": content_type})

    # text payload (its Content-Type not a binary media type), binary Accept: base64-decoded
    r = get("enc", "image/png")
    assert r.status_code == 200 and r.content == RAW and r.headers["ETag"]
    assert get("txt", "image/png").status_code == 500  # not base64
    # binary payload, binary Accept: as is
    assert get("raw", "image/png", "image/png").content == RAW
    # binary payload, text Accept: base64-encoded
    assert get("raw", "text/plain", "image/png").content == ENCODED
    # text payload, text Accept: read as UTF-8
    assert get("txt", "text/plain").content == TEXT
    assert get("raw", "text/plain").content == RAW.decode("utf-8", "replace").encode()


def test_response_content_handling_overrides_accept(apigw, endpoint, client, unique_name):
    s3 = client("s3")
    bucket = unique_name("conv")
    s3.create_bucket(Bucket=bucket)
    for key, body in (("raw", RAW), ("enc", ENCODED), ("txt", TEXT)):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    to_text = s3_api(apigw, endpoint, s3, bucket, binary=["image/png"], response_handling="CONVERT_TO_TEXT")
    headers = {"Accept": "image/png", "response-content-type": "image/png"}
    assert to_text.call("GET", "/raw", headers=headers).content == ENCODED
    assert to_text.call("GET", "/txt", headers={"Accept": "image/png"}).content == TEXT
    to_binary = s3_api(apigw, endpoint, s3, bucket, binary=["image/png"], response_handling="CONVERT_TO_BINARY")
    assert to_binary.call("GET", "/enc", headers={"Accept": "text/plain"}).content == RAW
    assert to_binary.call("GET", "/raw", headers={"Accept": "text/plain", **{"response-content-type": "image/png"}}
                          ).content == RAW
    assert to_binary.call("GET", "/txt", headers={"Accept": "text/plain"}).status_code == 500


def test_response_template_gets_text_and_convert_to_binary_with_it_answers_500(apigw, endpoint, client,
                                                                               unique_name):
    s3 = client("s3")
    bucket = unique_name("tmpl")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="enc", Body=ENCODED)
    template = json.dumps({"data": "$input.body"})
    api = s3_api(apigw, endpoint, s3, bucket, binary=["image/png"], response_handling="CONVERT_TO_TEXT",
                 response_template=template)
    r = api.call("GET", "/enc", headers={"Accept": "image/png"})
    assert r.status_code == 200 and r.json() == {"data": ENCODED.decode()}
    rid = api.resources["/{key}"]
    apigw.update_integration_response(restApiId=api.id, resourceId=rid, httpMethod="ANY", statusCode="200",
                                      patchOperations=[{"op": "replace", "path": "/contentHandling",
                                                        "value": "CONVERT_TO_BINARY"}])
    api.deploy()
    assert api.call("GET", "/enc", headers={"Accept": "image/png"}).status_code == 500


def test_sqs_answers_json_by_default_and_xml_when_the_integration_asks(apigw, endpoint, client, unique_name):
    sqs = client("sqs")
    name = unique_name("dflt")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    api = Api(apigw, endpoint, "sqs-default")
    integration = {"type": "AWS", "integrationHttpMethod": "POST",
                   "uri": f"arn:aws:apigateway:us-east-1:sqs:path/000000000000/{name}",
                   "requestParameters": {"integration.request.header.Content-Type":
                                         "'application/x-www-form-urlencoded'"},
                   "requestTemplates": {"application/json": "Action=SendMessage&MessageBody=$input.body&"
                                        "MessageAttributes.1.Name=agent&MessageAttributes.1.Value.DataType=String&"
                                        "MessageAttributes.1.Value.StringValue=$input.params('x-agent')"},
                   "passthroughBehavior": "NEVER"}
    api.method("/q", "POST", integration, {"200": {}})
    api.deploy()
    r = api.call("POST", "/q", content=b"hello", headers={"x-agent": "probe"})
    assert r.status_code == 200
    sent = r.json()["SendMessageResponse"]
    assert len(sent["SendMessageResult"]["MessageId"]) == 36
    assert sent["ResponseMetadata"]["RequestId"]
    # the member's own name (MessageAttributes.N) is taken as AWS takes it, beside MessageAttribute.N
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert message["Body"] == "hello"
    assert message["MessageAttributes"] == {"agent": {"StringValue": "probe", "DataType": "String"}}
    rid = api.resources["/q"]
    apigw.update_integration(restApiId=api.id, resourceId=rid, httpMethod="POST", patchOperations=[
        {"op": "add", "path": "/requestParameters/integration.request.header.Accept", "value": "'application/xml'"}])
    api.deploy()
    r = api.call("POST", "/q", content=b"again", headers={"x-agent": "probe"})
    assert r.status_code == 200 and r.text.startswith("<") and "<MessageId>" in r.text


def test_json_service_action_with_query_parameters_answers_the_legacy_envelope(apigw, endpoint, client,
                                                                              unique_name):
    ssm = client("ssm")
    name = unique_name("param")
    ssm.put_parameter(Name=name, Value="123", Type="String")
    api = Api(apigw, endpoint, "ssm-query")
    api.method("/ssm", "GET", {"type": "AWS", "integrationHttpMethod": "POST",
                               "uri": "arn:aws:apigateway:us-east-1:ssm:action/GetParameter",
                               "passthroughBehavior": "WHEN_NO_TEMPLATES",
                               "requestParameters": {"integration.request.querystring.Name": f"'{name}'"}},
               {"200": {}})
    api.method("/nope", "GET", {"type": "AWS", "integrationHttpMethod": "POST",
                                "uri": "arn:aws:apigateway:us-east-1:ssm:action/NoSuchAction",
                                "requestParameters": {"integration.request.querystring.Name": f"'{name}'"}},
               {"200": {}})
    api.deploy()
    r = api.call("GET", "/ssm")
    assert r.status_code == 200
    body = r.json()["GetParameterResponse"]
    parameter = body["GetParameterResult"]["Parameter"]
    assert parameter["Name"] == name and parameter["Value"] == "123" and parameter["Version"] == 1
    # every member of the output's structures is there, null when not set
    assert "Selector" in parameter and parameter["Selector"] is None
    assert body["ResponseMetadata"]["RequestId"]
    # an action the service does not have: AWS's 500
    assert api.call("GET", "/nope").status_code == 500


def test_velocity_forms_of_aws_examples(apigw, endpoint):
    # `#set` of a hyphenated name and of bracketed map keys, `\'` in a string literal, and
    # API Gateway's comparison with null (a null side is the empty string)
    template = "\n".join([
        "#set($context.requestOverride.header.X-Amz-Target = \"AWSEvents.PutEvents\")",
        "#set($key = \"foo\")",
        "#set($context.requestOverride.querystring[$key] = \"bar\")",
        "#set($context[\"requestOverride\"].querystring[\"nested\"] = \"deep\")",
        '{"target": "$context.requestOverride.header.get(\"X-Amz-Target\")",',
        ' "foo": "$context.requestOverride.querystring.foo",',
        ' "nested": "$context.requestOverride.querystring.nested",',
        "#set($q = 'say \"hi\"')",
        r''' "quoted": "$util.escapeJavaScript($q).replaceAll("\'","'")",''',
        ' "ne": #if($missing.thing != \'\')true#{else}false#end,',
        ' "eq": #if($missing.thing == \'\')true#{else}false#end,',
        ' "null": #if($missing.thing == $null)true#{else}false#end,',
        ' "set": #if("a" != "")true#{else}false#end,',
        ' "deployment": "$context.deploymentId",',
        ' "keys": "#foreach($k in $context.keySet())$k,#end"}',
    ])
    api = Api(apigw, endpoint, "vtl-forms")
    api.method("/t", "GET", {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}},
               {"200": {"responseTemplates": {"application/json": template}}})
    api.deploy()
    r = api.call("GET", "/t")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["target"] == "AWSEvents.PutEvents"
    assert doc["foo"] == "bar" and doc["nested"] == "deep"
    assert doc["quoted"] == 'say "hi"'
    assert doc["ne"] is False and doc["eq"] is True and doc["null"] is True and doc["set"] is True
    deployments = apigw.get_deployments(restApiId=api.id)["items"]
    assert doc["deployment"] == deployments[0]["id"]
    keys = doc["keys"].split(",")
    assert "deploymentId" in keys and "error" not in keys and "awsEndpointRequestId" not in keys


def test_answers_say_keep_alive_unless_the_client_closes(apigw, endpoint):
    api = Api(apigw, endpoint, "keep-alive")
    api.mock("/k")
    api.deploy()
    r = api.call("GET", "/k")
    assert r.status_code == 200 and r.headers["connection"] == "keep-alive"
    with httpx.Client(timeout=30) as http:
        r = http.get(api.url("/k"), headers={"Connection": "close"})
    assert r.headers.get("connection") == "close"


ECHO_RESULT = """
import json
import re


def handler(event, context):
    # answers the proxy result the client sent as its body
    return json.loads(event["body"])
"""


@pytest.fixture(scope="module")
def echo_result(client):
    from apigateway_support import function_arn
    from lambda_functions import create_python

    lam = client("lambda")
    create_python(lam, "apigw-payloads-echo-result", ECHO_RESULT, Timeout=10)
    return function_arn(lam, "apigw-payloads-echo-result")


def test_lambda_proxy_base64_body_follows_the_first_accept_media_type(apigw, endpoint, echo_result):
    api = Api(apigw, endpoint, "proxy-binary", binaryMediaTypes=["image/png", "application/*", "*/test"])
    api.lambda_proxy("/b", "POST", echo_result)
    api.deploy()
    data = b"\x89PNG\x00\xff"
    result = {"statusCode": 200, "body": base64.b64encode(data).decode(), "isBase64Encoded": True,
              "headers": {"Content-Type": "image/png"}}

    def call(accept):
        # text/plain: application/json would be binary here (application/*), base64 in the event
        headers = {"Content-Type": "text/plain", **({"Accept": accept} if accept else {})}
        return api.call("POST", "/b", content=json.dumps(result), headers=headers)

    # only the first media type counts; a right-side wildcard type takes its family
    for accept in ("image/png", "image/png,image/*,*/*;q=0.8", "application/whatever", "application/*"):
        r = call(accept)
        assert r.status_code == 200 and r.content == data, accept
    # an Accept wildcard is not expanded, a left-side wildcard type matches nothing, not even itself
    for accept in ("image/webp,image/png", "image/*", "*/*", "*/test", "random/test", "application", None):
        assert call(accept).content == base64.b64encode(data), accept
    # a body that is not base64, to a binary Accept: AWS's 500
    bad = {**result, "body": "èé+à)("}
    r = api.call("POST", "/b", content=json.dumps(bad), headers={"Accept": "image/png", "Content-Type": "text/plain"})
    assert r.status_code == 500 and r.json() == {"message": "Internal server error"}


def test_failed_proxy_call_keeps_its_500_under_a_customization_without_status(apigw, endpoint, echo_result):
    api = Api(apigw, endpoint, "proxy-get")
    api.method("/g", "GET", {"type": "AWS_PROXY", "integrationHttpMethod": "GET",
                             "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{echo_result}/invocations"})
    apigw.put_gateway_response(restApiId=api.id, responseType="INTEGRATION_FAILURE", responseParameters={})
    api.deploy()
    r = api.call("GET", "/g")
    assert r.status_code == 500 and r.json() == {"message": "Internal server error"}
    # a customization that sets its own status code still wins
    apigw.put_gateway_response(restApiId=api.id, responseType="INTEGRATION_FAILURE", statusCode="503")
    api.deploy()
    assert api.call("GET", "/g").status_code == 503


def test_mock_integration_keeps_no_uri_or_method_and_last_response_removal_leaves_no_map(apigw, endpoint):
    api = Api(apigw, endpoint, "mock-shape")
    rid = api.resource("/m")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="NONE")
    integration = apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="MOCK",
                                        uri="http://example.com", integrationHttpMethod="POST")
    assert "uri" not in integration and "httpMethod" not in integration
    apigw.put_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200")
    assert "200" in apigw.get_method(restApiId=api.id, resourceId=rid, httpMethod="GET")["methodIntegration"][
        "integrationResponses"]
    apigw.delete_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200")
    method = apigw.get_method(restApiId=api.id, resourceId=rid, httpMethod="GET")
    assert "integrationResponses" not in method["methodIntegration"]
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.delete_integration_response(restApiId=api.id, resourceId=rid, httpMethod="GET", statusCode="200")
    # an HTTP integration keeps both
    http = apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="HTTP",
                                 uri="http://example.com", integrationHttpMethod="post")
    assert http["uri"] == "http://example.com" and http["httpMethod"] == "POST"


def test_answer_trace_header_is_the_lambda_proxys_and_a_mock_has_none(apigw, endpoint, echo_result):
    api = Api(apigw, endpoint, "trace-answers")
    api.mock("/m")
    api.lambda_proxy("/p", "POST", echo_result)
    api.deploy()
    full = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
    assert "x-amzn-trace-id" not in api.call("GET", "/m", headers={"X-Amzn-Trace-Id": full}).headers
    result = json.dumps({"statusCode": 200, "body": "ok"})
    r = api.call("POST", "/p", content=result, headers={"X-Amzn-Trace-Id": full, "Content-Type": "text/plain"})
    assert r.status_code == 200 and r.headers["x-amzn-trace-id"] == full
    # a trace without a parent gets one of API Gateway's
    root = "Root=1-3152b799-8954dae64eda91bc9a23a7e8"
    r = api.call("POST", "/p", content=result, headers={"X-Amzn-Trace-Id": root, "Content-Type": "text/plain"})
    parts = r.headers["x-amzn-trace-id"].split(";")
    assert parts[0] == root and parts[1].startswith("Parent=") and parts[1] != "Parent=7fa8c0f79203be72"


DOCUMENTED = {
    "openapi": "3.0.0", "info": {"title": "doc", "version": "1"},
    "paths": {"/": {"get": {"description": "Method description.",
                            "responses": {"200": {"description": "200 response"}}}}},
    "x-amazon-apigateway-documentation": {"version": "1.0.3", "documentationParts": [
        {"location": {"type": "API"}, "properties": {"description": "API description"}},
        {"location": {"type": "METHOD", "method": "GET"}, "properties": {"description": "Method description."}},
        {"location": {"type": "RESPONSE", "method": "GET", "statusCode": "200"},
         "properties": {"description": "200 response"}},
    ]},
}


def test_documentation_parts_are_imported_with_the_api_and_by_import_documentation_parts(apigw):
    # failOnWarnings: a method without an integration is no failure (AWS's recorded import)
    api_id = apigw.import_rest_api(body=json.dumps(DOCUMENTED), failOnWarnings=True)["id"]
    try:
        parts = apigw.get_documentation_parts(restApiId=api_id)["items"]
        assert [p["location"] for p in parts] == [
            {"type": "API"}, {"type": "METHOD", "method": "GET", "path": "/"},
            {"type": "RESPONSE", "method": "GET", "statusCode": "200", "path": "/"}]
        assert isinstance(parts[0]["properties"], str)
        assert json.loads(parts[0]["properties"]) == {"description": "API description"}
        # overwrite: every part replaced, new ids
        ids = apigw.import_documentation_parts(restApiId=api_id, mode="overwrite", body=json.dumps(DOCUMENTED))["ids"]
        assert len(ids) == 3 and not set(ids) & {p["id"] for p in parts}
        assert [p["id"] for p in apigw.get_documentation_parts(restApiId=api_id)["items"]] == ids
        # merge: a part at an existing location updates it, a new location is added
        changed = {**DOCUMENTED, "x-amazon-apigateway-documentation": {"documentationParts": [
            {"location": {"type": "API"}, "properties": {"description": "changed"}},
            {"location": {"type": "MODEL", "name": "Empty"}, "properties": {"title": "Empty Schema"}}]}}
        merged = apigw.import_documentation_parts(restApiId=api_id, mode="merge", body=json.dumps(changed))["ids"]
        assert merged[0] == ids[0] and merged[1] not in ids
        items = {p["id"]: p for p in apigw.get_documentation_parts(restApiId=api_id)["items"]}
        assert len(items) == 4 and json.loads(items[ids[0]]["properties"]) == {"description": "changed"}
        # a body that is not a document: AWS's 400
        for body in ("{'key:value}", 'test:\n    value:\n        - "value ... \\"x\\": $(var +"%a")}"\n'):
            with pytest.raises(apigw.exceptions.BadRequestException) as e:
                apigw.import_documentation_parts(restApiId=api_id, mode="overwrite", body=body)
            assert e.value.response["Error"]["Message"] == "Unable to build importer with provided input."
        with pytest.raises(apigw.exceptions.NotFoundException):
            apigw.import_documentation_parts(restApiId="nope000000", mode="merge", body=json.dumps(DOCUMENTED))
    finally:
        apigw.delete_rest_api(restApiId=api_id)


def test_test_invoke_method_logs_its_steps_and_reports_the_methods_headers(apigw, endpoint):
    api = Api(apigw, endpoint, "test-invoke-log")
    rid = api.method("/pets/{petId}", "GET", {"type": "MOCK", "requestTemplates": {"application/json":
                                                                                   '{"statusCode": 200}'}},
                     {"200": {"responseTemplates": {"application/json": '{"petId": "$input.params(\'petId\')"}'}}})
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=rid, httpMethod="GET",
                                   pathWithQueryString="/pets/123?foo=bar")
    assert out["status"] == 200 and json.loads(out["body"]) == {"petId": "123"}
    assert out["headers"] == {"Content-Type": "application/json"}
    lines = [line.split(" : ", 1)[-1] for line in out["log"].split("\n")]
    assert lines[0].startswith("Execution log for request ")
    assert lines[1:] == [
        f"Starting execution for request: {lines[0].rsplit(' ', 1)[1]}",
        "HTTP Method: GET, Resource Path: /pets/123", "Method request path: {petId=123}",
        "Method request query string: {foo=bar}", "Method request headers: {}",
        "Method request body before transformations: ",
        'Method response body after transformations: {"petId": "123"}',
        "Method response headers: {Content-Type=application/json}", "Successfully completed execution",
        "Method completed with status: 200", ""]


def test_test_invoke_method_of_an_any_method_and_an_endpoint_without_host(apigw, endpoint):
    api = Api(apigw, endpoint, "test-invoke-any")
    apigw.put_method(restApiId=api.id, resourceId=api.root, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(restApiId=api.id, resourceId=api.root, httpMethod="ANY", type="HTTP_PROXY",
                          uri="https://${stageVariables.testHost}", integrationHttpMethod="ANY")
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=api.root, httpMethod="GET")
    assert out["status"] == 500 and json.loads(out["body"]) == {"message": "Internal server error"}
    assert out["headers"] == {"x-amzn-ErrorType": "InternalServerErrorException"}
    assert "Execution failed due to configuration error: Invalid endpoint address" in out["log"]
    assert "Successfully completed execution" not in out["log"]
    # a method the resource does not have (no ANY): AWS's 404
    other = Api(apigw, endpoint, "test-invoke-none")
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.test_invoke_method(restApiId=other.id, resourceId=other.root, httpMethod="GET")


def test_canary_promotion_by_copy_and_is_canary_request(apigw, endpoint):
    api = Api(apigw, endpoint, "canary-copy")
    api.mock("/", template='{"canary": "$context.isCanaryRequest", "var": "$stageVariables.testVar"}')
    first = apigw.create_deployment(restApiId=api.id, stageName="dev", variables={"testVar": "test", "other": "x"})
    api.stage = "dev"
    promote = [{"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
               {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"}]
    with pytest.raises(apigw.exceptions.BadRequestException) as e:  # copy only promotes the canary
        apigw.update_stage(restApiId=api.id, stageName="dev", patchOperations=[
            {"op": "copy", "path": "/canarySettings/stageVariableOverrides", "from": "/variables"}])
    assert e.value.response["Error"]["Message"].startswith(
        "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from /variables.")
    with pytest.raises(apigw.exceptions.BadRequestException) as e:
        apigw.update_stage(restApiId=api.id, stageName="dev", patchOperations=promote)
    assert e.value.response["Error"]["Message"] == "Promotion not available. Canary does not exist."
    # no isCanaryRequest on a stage without a canary
    assert api.call("GET", "/").json() == {"canary": "", "var": "test"}
    second = apigw.create_deployment(restApiId=api.id, stageName="dev", canarySettings={
        "percentTraffic": 0, "stageVariableOverrides": {"testVar": "override"}})
    assert api.call("GET", "/").json() == {"canary": "false", "var": "test"}
    apigw.update_stage(restApiId=api.id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100.0"}])
    assert api.call("GET", "/").json() == {"canary": "true", "var": "override"}
    stage = apigw.update_stage(restApiId=api.id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"}, *promote])
    assert stage["deploymentId"] == second["id"] != first["id"]
    assert stage["variables"] == {"testVar": "override", "other": "x"}
    assert stage["canarySettings"]["stageVariableOverrides"] == {"testVar": "override"}


def test_get_export_answers_as_aws_exports(apigw, endpoint):
    api = Api(apigw, endpoint, "export-shape")
    apigw.create_model(restApiId=api.id, name="Unused", contentType="application/json", schema='{"type": "object"}')
    api.method("/pets", "POST", {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}},
               {"200": {"responseTemplates": {"text/html": "<p>ok</p>"}}},
               requestParameters={"method.request.querystring.q": False})
    api.deploy("local")
    swagger = apigw.get_export(restApiId=api.id, stageName="local", exportType="swagger",
                               parameters={"extensions": "apigateway"})
    # JSON answered as an octet stream, the file named after the export's version (no API
    # version: the stage's creation time, ISO 8601)
    assert swagger["contentType"] == "application/octet-stream"
    body = json.loads(swagger["body"].read())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["info"]["version"])
    assert swagger["contentDisposition"] == f'attachment; filename="swagger_{body["info"]["version"]}.json"'
    op = body["paths"]["/pets"]["post"]
    assert op["consumes"] == ["application/json"] and op["produces"] == ["text/html"]
    integration = op["x-amazon-apigateway-integration"]
    assert integration["passthroughBehavior"] == "when_no_match"
    assert "cacheNamespace" not in integration and "timeoutInMillis" not in integration
    assert "definitions" not in body  # no method uses a model
    oas = json.loads(apigw.get_export(restApiId=api.id, stageName="local", exportType="oas30")["body"].read())
    assert oas["components"] == {}
    assert oas["paths"]["/pets"]["post"]["responses"]["200"]["content"] == {}
    assert oas["paths"]["/pets"]["post"]["parameters"] == [{"name": "q", "in": "query", "schema": {"type": "string"}}]
    with pytest.raises(apigw.exceptions.BadRequestException):
        apigw.get_export(restApiId=api.id, stageName="local", exportType="raml")


def test_import_adds_undeclared_path_parameters_and_cognito_identity_source(apigw):
    spec = {
        "openapi": "3.0.1", "info": {"title": "imp", "version": "1"},
        "paths": {"/echo/{data}": {"get": {
            "security": [{"pool": []}], "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json":
                                                                                     '{"statusCode": 200}'}}}},
                  "/{proxy+}": {"get": {"responses": {"200": {"description": "ok"}},
                                        "x-amazon-apigateway-integration": {"type": "mock"}}}},
        "components": {"securitySchemes": {"pool": {
            "type": "apiKey", "name": "TestHeaderAuth", "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools",
            "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [
                "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_ABC123"]}}}},
    }
    api_id = apigw.import_rest_api(body=json.dumps(spec))["id"]
    try:
        resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}
        echo = apigw.get_method(restApiId=api_id, resourceId=resources["/echo/{data}"], httpMethod="GET")
        assert echo["requestParameters"] == {"method.request.path.data": True}
        greedy = apigw.get_method(restApiId=api_id, resourceId=resources["/{proxy+}"], httpMethod="GET")
        assert "requestParameters" not in greedy  # a greedy parameter is left as declared
        [authorizer] = apigw.get_authorizers(restApiId=api_id)["items"]
        assert authorizer["identitySource"] == "method.request.header.TestHeaderAuth"
        assert "authorizerResultTtlInSeconds" not in authorizer
    finally:
        apigw.delete_rest_api(restApiId=api_id)


ECHO_EVENT = """
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""


def test_proxy_event_spells_authorization_and_user_agent_as_aws_does(apigw, endpoint, client):
    from apigateway_support import function_arn
    from lambda_functions import create_python

    lam = client("lambda")
    create_python(lam, "apigw-payloads-echo-event", ECHO_EVENT, Timeout=10)
    api = Api(apigw, endpoint, "proxy-names")
    api.lambda_proxy("/e", "GET", function_arn(lam, "apigw-payloads-echo-event"))
    api.deploy()
    event = api.call("GET", "/e", headers={"user-Agent": "test/integration", "aUThorization": "Bearer x",
                                          "tEsT-HEADeR": "kept"}).json()
    assert event["headers"]["User-Agent"] == "test/integration" and "user-Agent" not in event["headers"]
    assert event["headers"]["Authorization"] == "Bearer x"
    assert event["headers"]["tEsT-HEADeR"] == "kept"  # other names as the client spelt them
    assert event["multiValueHeaders"]["User-Agent"] == ["test/integration"]


def test_import_warns_of_a_request_parameter_that_is_not_a_string(apigw):
    spec = {"openapi": "3.0.1", "info": {"title": "warn", "version": "1"},
            "paths": {"/test": {"get": {"responses": {"200": {"description": "ok"}},
                                        "x-amazon-apigateway-integration": {
                                            "type": "http", "httpMethod": "GET", "uri": "http://example.com",
                                            "requestParameters": {"integration.request.header.nothing": True,
                                                                  "integration.request.header.kept": "'x'"}}}}}}
    created = apigw.import_rest_api(body=json.dumps(spec))
    try:
        assert created["warnings"] == [
            "Invalid format for 'requestParameters'. Expected type string for property "
            "'integration.request.header.nothing' of resource '/test' and method 'GET' but got 'true'"]
        rid = next(r["id"] for r in apigw.get_resources(restApiId=created["id"])["items"] if r["path"] == "/test")
        integration = apigw.get_integration(restApiId=created["id"], resourceId=rid, httpMethod="GET")
        assert integration["requestParameters"] == {"integration.request.header.kept": "'x'"}
        # failOnWarnings: AWS's 400
        with pytest.raises(apigw.exceptions.BadRequestException) as e:
            apigw.put_rest_api(restApiId=created["id"], mode="overwrite", failOnWarnings=True, body=json.dumps(spec))
        assert e.value.response["Error"]["Message"].startswith("Warnings found during import:\n\tInvalid format")
        # without warnings the answer lists none
        clean = json.loads(json.dumps(spec))
        del clean["paths"]["/test"]["get"]["x-amazon-apigateway-integration"]["requestParameters"][
            "integration.request.header.nothing"]
        assert "warnings" not in apigw.put_rest_api(restApiId=created["id"], mode="overwrite", body=json.dumps(clean))
    finally:
        apigw.delete_rest_api(restApiId=created["id"])
