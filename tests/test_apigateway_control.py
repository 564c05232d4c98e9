"""API Gateway control-plane answers as AWS gives them: API key limits, list order and paging,
VPC links, documentation parts and versions."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


def _error(excinfo) -> tuple[str, str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_api_key_limits_answer_aws_messages(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(name="a" * 1025)
    assert _error(e) == ("BadRequestException", "Invalid API Key name, can be at most 1024 characters.", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(value="a" * 129)
    assert _error(e) == ("BadRequestException", "API Key value exceeds maximum size of 128 characters", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(description="a" * 125001)
    assert _error(e) == ("BadRequestException", "Invalid API Key description specified.", 400)
    key = apigw.create_api_key(name="")
    assert "name" not in key and len(key["value"]) >= 20
    with pytest.raises(ClientError) as e:
        apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/id", "value": "x"}])
    assert _error(e) == ("BadRequestException", "Invalid patch path  '/id' specified for op 'replace'. Must be one "
                         "of: [/description, /enabled, /name, /customerId]", 400)
    with pytest.raises(ClientError) as e:
        apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/description",
                                                                 "value": "a" * 125001}])
    assert _error(e)[1] == "Invalid API Key description specified."


def test_api_keys_list_newest_first_with_opaque_positions(apigw):
    first = apigw.create_api_key(name="order-key-1")
    second = apigw.create_api_key(name="order-key-2")
    listed = [k["id"] for k in apigw.get_api_keys(nameQuery="order-key")["items"]]
    assert listed == [second["id"], first["id"]]
    page = apigw.get_api_keys(nameQuery="order-key", limit=1)
    assert page["items"][0]["id"] == second["id"] and not page["position"].isdigit()
    rest = apigw.get_api_keys(nameQuery="order-key", limit=1, position=page["position"])
    assert [k["id"] for k in rest["items"]] == [first["id"]] and "position" not in rest
    assert apigw.get_api_keys(limit=-1)["items"] == []  # AWS answers an empty page, no error


def test_usage_plan_keys_of_unknown_plan_list_empty_and_plans_untagged(apigw):
    assert apigw.get_usage_plan_keys(usagePlanId="bad-id")["items"] == []
    plan = apigw.create_usage_plan(name="untagged-plan", throttle={"rateLimit": 10, "burstLimit": 20})
    assert "tags" not in plan and plan["throttle"] == {"rateLimit": 10.0, "burstLimit": 20}


def test_vpc_link_lifecycle(apigw):
    arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/nlb/50dc6c495c0c9188"
    created = apigw.create_vpc_link(name="link", targetArns=[arn])
    assert created["status"] == "PENDING" and created["targetArns"] == [arn] and "tags" not in created
    got = apigw.get_vpc_link(vpcLinkId=created["id"])
    assert got["status"] == "AVAILABLE" and got["statusMessage"] == "Your vpc link is ready for use"
    assert got["tags"] == {}
    listed = [link for link in apigw.get_vpc_links()["items"] if link["id"] == created["id"]]
    assert listed and "tags" not in listed[0]
    updated = apigw.update_vpc_link(vpcLinkId=created["id"],
                                    patchOperations=[{"op": "replace", "path": "/name", "value": "link-2"}])
    assert updated["name"] == "link-2"
    apigw.delete_vpc_link(vpcLinkId=created["id"])
    for call in (lambda: apigw.get_vpc_link(vpcLinkId=created["id"]),
                 lambda: apigw.delete_vpc_link(vpcLinkId=created["id"]),
                 lambda: apigw.update_vpc_link(vpcLinkId="nope", patchOperations=[])):
        with pytest.raises(ClientError) as e:
            call()
        assert _error(e) == ("NotFoundException", "Invalid Vpc Link identifier specified", 404)


def test_vpc_link_invalid_parameters(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_vpc_link(name="link", targetArns=["invalid-arn"])
    assert _error(e) == ("BadRequestException", "Invalid ARN. ARN is not well formed invalid-arn", 400)
    with pytest.raises(ClientError) as e:
        apigw.create_vpc_link(name="", targetArns=[])
    assert _error(e) == ("BadRequestException", "Name cannot be empty", 400)


def test_update_documentation_part(apigw):
    api = apigw.create_rest_api(name="docs-part")
    part = apigw.create_documentation_part(restApiId=api["id"], location={"type": "API"},
                                           properties='{"description": "one"}')
    updated = apigw.update_documentation_part(restApiId=api["id"], documentationPartId=part["id"], patchOperations=[
        {"op": "replace", "path": "/properties", "value": '{"description": "two"}'}])
    assert updated["properties"] == '{"description": "two"}'
    got = apigw.get_documentation_part(restApiId=api["id"], documentationPartId=part["id"])
    assert got["properties"] == '{"description": "two"}'
    with pytest.raises(ClientError) as e:
        apigw.update_documentation_part(restApiId=api["id"], documentationPartId=part["id"], patchOperations=[
            {"op": "add", "path": "/properties", "value": "{}"}])
    assert _error(e)[1] == "Invalid patch path  '/properties' specified for op 'add'. Please choose supported operations"
    with pytest.raises(ClientError) as e:
        apigw.update_documentation_part(restApiId=api["id"], documentationPartId=part["id"], patchOperations=[
            {"op": "replace", "path": "/invalidPath", "value": "{}"}])
    assert _error(e)[1] == "Invalid patch path  '/invalidPath' specified for op 'replace'. Must be one of: [/properties]"
    with pytest.raises(ClientError) as e:
        apigw.update_documentation_part(restApiId="nope", documentationPartId=part["id"], patchOperations=[])
    assert _error(e) == ("NotFoundException", "Invalid Documentation part identifier specified", 404)


def test_documentation_versions(apigw):
    api = apigw.create_rest_api(name="docs-version")
    apigw.create_documentation_part(restApiId=api["id"], location={"type": "API"}, properties='{"foo": "bar"}')
    created = apigw.create_documentation_version(restApiId=api["id"], documentationVersion="v123")
    assert created["version"] == "v123" and "createdDate" in created and "description" not in created
    updated = apigw.update_documentation_version(restApiId=api["id"], documentationVersion="v123", patchOperations=[
        {"op": "replace", "path": "/description", "value": "doc version new"}])
    assert updated["description"] == "doc version new"
    assert apigw.get_documentation_version(restApiId=api["id"], documentationVersion="v123")["description"] == \
        "doc version new"
    assert [v["version"] for v in apigw.get_documentation_versions(restApiId=api["id"])["items"]] == ["v123"]
    with pytest.raises(ClientError) as e:
        apigw.create_documentation_version(restApiId=api["id"], documentationVersion="v123")
    assert _error(e)[0] == "ConflictException"
    apigw.delete_documentation_version(restApiId=api["id"], documentationVersion="v123")
    with pytest.raises(ClientError) as e:
        apigw.get_documentation_version(restApiId=api["id"], documentationVersion="v123")
    assert _error(e) == ("NotFoundException", "Invalid Documentation version identifier specified", 404)


def _api_with_get(apigw, name):
    api = apigw.create_rest_api(name=name)
    root = api["rootResourceId"]
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    return api["id"], root


def test_request_validator_patch_rules(apigw):
    api_id, _ = _api_with_get(apigw, "validator-patch")
    v = apigw.create_request_validator(restApiId=api_id, name="v", validateRequestBody=True)
    out = apigw.update_request_validator(restApiId=api_id, requestValidatorId=v["id"], patchOperations=[
        {"op": "replace", "path": "/validateRequestBody"}])
    assert out["validateRequestBody"] is False
    for op, message in (
            ({"op": "add", "path": "/validateRequestBody", "value": "true"},
             "Invalid patch path  '/validateRequestBody' specified for op 'add'. Please choose supported operations"),
            ({"op": "replace", "path": "/invalidPath", "value": "x"},
             "Invalid patch path  '/invalidPath' specified for op 'replace'. Must be one of: [/name, "
             "/validateRequestParameters, /validateRequestBody]"),
            ({"op": "replace", "path": "/name"}, "Request Validator name cannot be blank")):
        with pytest.raises(ClientError) as e:
            apigw.update_request_validator(restApiId=api_id, requestValidatorId=v["id"], patchOperations=[op])
        assert _error(e) == ("BadRequestException", message, 400)


def test_update_resource_refuses_cycles_and_sibling_names(apigw):
    api = apigw.create_rest_api(name="resource-patch")
    root = api["rootResourceId"]
    pets = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart="pets")
    sub = apigw.create_resource(restApiId=api["id"], parentId=pets["id"], pathPart="sub")
    child = apigw.create_resource(restApiId=api["id"], parentId=sub["id"], pathPart="pets")
    move = [{"op": "replace", "path": "/parentId", "value": root}]
    with pytest.raises(ClientError) as e:
        apigw.update_resource(restApiId=api["id"], resourceId=child["id"], patchOperations=move)
    assert _error(e) == ("ConflictException", "Another resource with the same parent already has this name: pets", 409)
    with pytest.raises(ClientError) as e:
        apigw.update_resource(restApiId=api["id"], resourceId=pets["id"],
                              patchOperations=[{"op": "replace", "path": "/parentId", "value": child["id"]}])
    assert _error(e) == ("BadRequestException", "Resources cannot be cyclical.", 400)
    with pytest.raises(ClientError) as e:
        apigw.update_resource(restApiId=api["id"], resourceId=sub["id"], patchOperations=[{"op": "remove", "path": "/pathPart"}])
    assert _error(e)[1] == "Invalid patch path  '/pathPart' specified for op 'remove'. Please choose supported operations"
    moved = apigw.update_resource(restApiId=api["id"], resourceId=sub["id"], patchOperations=move)
    assert moved["path"] == "/sub"


def test_update_method_patch_rules(apigw):
    api_id, root = _api_with_get(apigw, "method-patch")

    def update(*ops):
        return apigw.update_method(restApiId=api_id, resourceId=root, httpMethod="GET", patchOperations=list(ops))

    for op, message in (
            ({"op": "add", "path": "/operationName", "value": "x"}, "Invalid patch operation specified. Must be one of: [replace]"),
            ({"op": "add", "path": "/httpMethod", "value": "PUT"}, "Invalid patch path /httpMethod"),
            ({"op": "replace", "path": "/requestParameters", "value": "x"}, "Invalid patch path /requestParameters"),
            ({"op": "add", "path": "/requestModels/application/json", "value": "Empty"},
             "Invalid patch path /requestModels/application/json"),
            ({"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
             "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires "
             "a valid authorizer."),
            ({"op": "replace", "path": "/requestValidatorId", "value": "fake"}, "Invalid Request Validator identifier specified")):
        with pytest.raises(ClientError) as e:
            update(op)
        assert _error(e) == ("BadRequestException", message, 400)
    out = update({"op": "replace", "path": "/authorizerId", "value": "abc123"})
    assert "authorizerId" not in out  # ignored for NONE


def test_update_method_response_unknown_entries(apigw):
    api_id, root = _api_with_get(apigw, "method-response-patch")
    apigw.put_method_response(restApiId=api_id, resourceId=root, httpMethod="GET", statusCode="200")

    def update(op):
        return apigw.update_method_response(restApiId=api_id, resourceId=root, httpMethod="GET", statusCode="200",
                                            patchOperations=[op])
    for op, expected in (
            ({"op": "remove", "path": "/responseParameters/method.response.header.h"},
             ("NotFoundException", "Invalid parameter name specified", 404)),
            ({"op": "remove", "path": "/responseModels/application~1json"},
             ("NotFoundException", "Content-Type specified was not found", 404)),
            ({"op": "remove", "path": "/wrong/x"}, ("BadRequestException", "Invalid patch path /wrong/x", 400))):
        with pytest.raises(ClientError) as e:
            update(op)
        assert _error(e) == expected
    out = update({"op": "add", "path": "/responseParameters/method.response.header.h", "value": "true"})
    assert out["responseParameters"] == {"method.response.header.h": True}


def test_update_gateway_response_patch_rules(apigw):
    api = apigw.create_rest_api(name="gateway-response-patch")
    for op, message in (
            ({"op": "add", "path": "/statusCode", "value": "444"}, "Invalid patch path /statusCode"),
            ({"op": "add", "path": "/wrongPath", "value": "x"}, "Invalid patch path /wrongPath"),
            ({"op": "replace", "path": "/responseTemplates/application~1xml", "value": ""},
             "Invalid null or empty value in responseTemplates")):
        with pytest.raises(ClientError) as e:
            apigw.update_gateway_response(restApiId=api["id"], responseType="DEFAULT_4XX", patchOperations=[op])
        assert _error(e) == ("BadRequestException", message, 400)
    with pytest.raises(ClientError) as e:
        apigw.update_gateway_response(restApiId=api["id"], responseType="DEFAULT_5XX", patchOperations=[
            {"op": "replace", "path": "/responseParameters/gatewayresponse.header.x", "value": "'a'"}])
    assert _error(e) == ("NotFoundException", "Invalid parameter name specified", 404)


def test_update_stage_paths_and_access_log_settings(apigw):
    api_id, root = _api_with_get(apigw, "stage-patch")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="dev")

    def update(*ops):
        return apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=list(ops))

    with pytest.raises(ClientError) as e:
        update({"op": "replace", "path": "/tags/tag1", "value": "v"})
    assert _error(e)[1].startswith("Invalid method setting path: /tags/tag1. Must be one of: [/deploymentId, ")
    with pytest.raises(ClientError) as e:
        update({"op": "remove", "path": "/*/*"})
    assert _error(e)[1] == "Cannot remove method setting */* because there is no method setting for this method "
    assert update({"op": "replace", "path": "/*/*/caching/enabled", "value": "true"})["methodSettings"]["*/*"][
        "cachingEnabled"] is True
    assert update({"op": "remove", "path": "/*/*"})["methodSettings"] == {}
    for op, message in (
            ({"op": "add", "path": "/accessLogSettings/randomValue", "value": "x"},
             "Invalid accessLogSettings path. Must be one of : [/accessLogSettings/destinationArn, /accessLogSettings/format]"),
            ({"op": "replace", "path": "/accessLogSettings/format", "value": ""}, "Access Log value must not be empty"),
            ({"op": "remove", "path": "/accessLogSettings/destinationArn"},
             "Cannot remove method setting accessLogSettings/destinationArn because there is no method setting for this method ")):
        with pytest.raises(ClientError) as e:
            update(op)
        assert _error(e) == ("BadRequestException", message, 400)
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:access"
    out = update({"op": "add", "path": "/accessLogSettings/destinationArn", "value": arn})
    assert out["accessLogSettings"] == {"destinationArn": arn}
    assert "accessLogSettings" not in update({"op": "remove", "path": "/accessLogSettings"})


def test_usage_plan_stage_patch_errors_and_tags(apigw):
    plan = apigw.create_usage_plan(name="stage-patch-plan")
    assert "tags" not in plan and apigw.get_usage_plan(usagePlanId=plan["id"])["tags"] == {}
    for value, expected in ((None, ("BadRequestException", "Invalid API Stage specified", 400)),
                            ("fakevalue", ("BadRequestException", "Invalid API Stage specified", 400)),
                            ("abc:dev", ("NotFoundException",
                                         f"Invalid API Stage {{api: abc, stage: dev}} specified for usageplan {plan['id']}", 404))):
        op = {"op": "remove", "path": "/apiStages", **({"value": value} if value else {})}
        with pytest.raises(ClientError) as e:
            apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[op])
        assert _error(e) == expected
    out = apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": "/quota/limit", "value": "5000"}, {"op": "replace", "path": "/quota/period", "value": "MONTH"}])
    assert out["quota"] == {"limit": 5000, "offset": 0, "period": "MONTH"} and out["tags"] == {}


def test_rest_api_endpoint_configuration_rules(apigw):
    def create_error(**kwargs):
        with pytest.raises(ClientError) as e:
            apigw.create_rest_api(name="endpoint-rules", **kwargs)
        return _error(e)

    assert create_error(endpointConfiguration={"types": []}) == (
        "BadRequestException", "REGIONAL Configuration and EDGE Configuration cannot be both DISABLED.", 400)
    assert create_error(endpointConfiguration={"types": ["EDGE", "REGIONAL"]}) == (
        "BadRequestException", "Cannot create an api with multiple Endpoint Types.", 400)
    assert create_error(endpointConfiguration={"types": ["PRIVATE"], "ipAddressType": "ipv4"}) == (
        "BadRequestException", "Only dualstack ipAddressType is supported for Private APIs.", 400)
    assert create_error(endpointConfiguration={"ipAddressType": "wrong", "types": ["wrong"]}) == (  # model order
        "ValidationException", "2 validation errors detected: Value '[wrong]' at 'createRestApiInput.endpointConfiguration."
        "types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
        "[PRIVATE, EDGE, REGIONAL]]; Value 'wrong' at 'createRestApiInput.endpointConfiguration.ipAddressType' failed "
        "to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack]", 400)
    api = apigw.create_rest_api(name="endpoint-rules")
    out = apigw.update_rest_api(restApiId=api["id"], patchOperations=[
        {"op": "replace", "path": "/endpointConfiguration/types/0", "value": "REGIONAL"},
        {"op": "replace", "path": "/endpointConfiguration/types/0", "value": "PRIVATE"}])
    assert out["endpointConfiguration"] == {"types": ["PRIVATE"], "ipAddressType": "dualstack"}
    for op, message in (
            ({"op": "replace", "path": "/endpointConfiguration/ipAddressType", "value": "ipv4"},
             "Only dualstack ipAddressType is supported for Private APIs."),
            ({"op": "replace", "path": "/endpointConfiguration/ipAddressType", "value": "wrong"},
             "ipAddressType must be either ipv4 or dualstack."),
            ({"op": "replace", "path": "/endpointConfiguration/types/0", "value": "wrong"},
             "Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE"),
            ({"op": "remove", "path": "/endpointConfiguration/ipAddressType"},
             "Invalid patch operation specified. Must be one of: [replace]")):
        with pytest.raises(ClientError) as e:
            apigw.update_rest_api(restApiId=api["id"], patchOperations=[op])
        assert _error(e) == ("BadRequestException", message, 400)


def test_rest_api_binary_media_types_and_compression_patch(apigw):
    api = apigw.create_rest_api(name="binary-patch", description="d")

    def update(*ops):
        return apigw.update_rest_api(restApiId=api["id"], patchOperations=list(ops))

    update({"op": "add", "path": "/binaryMediaTypes/image~1png"}, {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"})
    out = update({"op": "replace", "path": "/binaryMediaTypes/image~1png", "value": "image/gif"})
    assert out["binaryMediaTypes"] == ["image/jpeg", "image/gif"]
    with pytest.raises(ClientError) as e:
        update({"op": "add", "path": "/binaryMediaTypes", "value": "image/gif"})
    assert _error(e)[1] == "Invalid patch path /binaryMediaTypes"
    assert update({"op": "replace", "path": "/minimumCompressionSize", "value": "10"})["minimumCompressionSize"] == 10
    assert "minimumCompressionSize" not in update({"op": "replace", "path": "/minimumCompressionSize", "value": ""})
    for value in ("-1", "test"):
        with pytest.raises(ClientError) as e:
            update({"op": "replace", "path": "/minimumCompressionSize", "value": value})
        assert _error(e)[1] == "Invalid minimum compression size, must be between 0 and 10485760"


def test_method_parameter_names_unique_and_integration_response_errors(apigw):
    api = apigw.create_rest_api(name="params-unique")
    root = api["rootResourceId"]
    with pytest.raises(ClientError) as e:
        apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE",
                         requestParameters={"method.request.querystring.x": False, "method.request.header.x": False})
    assert _error(e)[1] == "Parameter names must be unique across querystring, header and path"
    apigw.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    out = apigw.put_integration_response(restApiId=api["id"], resourceId=root, httpMethod="GET", statusCode="200",
                                         responseTemplates={"application/json": ""})
    assert out["responseTemplates"] == {"application/json": None}
    with pytest.raises(ClientError) as e:
        apigw.delete_integration_response(restApiId=api["id"], resourceId=root, httpMethod="POST", statusCode="200")
    assert _error(e) == ("NotFoundException", "Invalid Integration identifier specified", 404)


def test_canary_settings_control_plane(apigw):
    api_id, root = _api_with_get(apigw, "canary-control")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    for kwargs, message in (
            ({}, "Invalid deployment content specified.Non null and non empty stageName must be provided for canary "
                 "deployment. Provided value is null"),
            ({"stageName": "nope"}, "Invalid deployment content specified.Stage nope must already be created before "
                                    "making a canary release deployment")):
        with pytest.raises(ClientError) as e:
            apigw.create_deployment(restApiId=api_id, canarySettings={"percentTraffic": 50}, **kwargs)
        assert _error(e) == ("BadRequestException", message, 400)
    first = apigw.create_deployment(restApiId=api_id, stageName="dev")["id"]
    second = apigw.create_deployment(restApiId=api_id, stageName="dev", canarySettings={
        "percentTraffic": 50, "stageVariableOverrides": {"v": "canary"}})["id"]
    stage = apigw.get_stage(restApiId=api_id, stageName="dev")
    assert stage["deploymentId"] == first
    assert stage["canarySettings"] == {"deploymentId": second, "percentTraffic": 50.0,
                                       "stageVariableOverrides": {"v": "canary"}, "useStageCache": False}

    def update(*ops):
        return apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=list(ops))

    out = update({"op": "replace", "path": "/canarySettings/stageVariableOverrides/v", "value": "updated"})
    assert out["canarySettings"]["stageVariableOverrides"] == {"v": "updated"}
    assert "canarySettings" not in update({"op": "remove", "path": "/canarySettings"})
    out = update({"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"})
    assert out["canarySettings"] == {"deploymentId": first, "percentTraffic": 50.0, "useStageCache": False}
    for op, message in (
            ({"op": "remove", "path": "/canarySettings/badPath"},
             "Cannot remove method setting canarySettings/badPath because there is no method setting for this method "),
            ({"op": "add", "path": "/canarySettings/deploymentId", "value": second},
             "Invalid add operation with path: /canarySettings/deploymentId"),
            ({"op": "replace", "path": "/canarySettings/deploymentId", "value": "deploy"}, "Deployment id does not exist")):
        with pytest.raises(ClientError) as e:
            update(op)
        assert _error(e) == ("BadRequestException", message, 400)
    with pytest.raises(ClientError) as e:
        update({"op": "replace", "path": "/canarySettings/badPath", "value": "x"})
    assert _error(e)[1].startswith("Invalid method setting path: /canarySettings/badPath. Must be one of: ")
    with pytest.raises(ClientError) as e:
        apigw.create_stage(restApiId=api_id, stageName="dev3", deploymentId=first, canarySettings={"deploymentId": "deploy"})
    assert _error(e) == ("BadRequestException", "Deployment id does not exist", 400)


def test_imported_api_has_exactly_the_documents_models(apigw):
    # AWS's recorded imports: the models are the document's, kept as given; a document without
    # definitions gives an API without models (no default Empty or Error model)
    import json

    spec = {"swagger": "2.0", "info": {"title": "imported-models", "version": "1"},
            "paths": {"/": {"get": {"responses": {"200": {"description": "ok"}},
                                    "x-amazon-apigateway-integration": {"type": "mock"}}}},
            "definitions": {"Pet": {"type": "object", "properties": {"id": {"type": "integer"}}}}}
    api = apigw.import_rest_api(body=json.dumps(spec).encode())
    models = {m["name"]: json.loads(m["schema"]) for m in apigw.get_models(restApiId=api["id"])["items"]}
    assert models == {"Pet": {"type": "object", "properties": {"id": {"type": "integer"}}}}
    del spec["definitions"]
    api = apigw.import_rest_api(body=json.dumps(spec).encode())
    assert apigw.get_models(restApiId=api["id"])["items"] == []


def test_put_rest_api_merge_and_bad_document(apigw):
    import json

    api = apigw.create_rest_api(name="merge-me", binaryMediaTypes=["image/heif"])
    spec = {"swagger": "2.0", "info": {"title": "merged", "version": "1.0.0"}, "paths": {},
            "x-amazon-apigateway-binary-media-types": ["image/png", "image/heif"],
            "definitions": {"House": {"type": "object", "description": "Where a Person can live"}}}
    out = apigw.put_rest_api(restApiId=api["id"], mode="merge", body=json.dumps(spec).encode())
    assert out["name"] == "merged" and out["version"] == "1.0.0"
    assert out["binaryMediaTypes"] == ["image/heif", "image/png"]
    house = apigw.get_model(restApiId=api["id"], modelName="House")
    assert house["description"] == "Where a Person can live"
    with pytest.raises(ClientError) as e:
        apigw.put_rest_api(restApiId="nope", body=b"{not json")
    assert _error(e) == ("BadRequestException", "Invalid OpenAPI input.", 400)


def test_method_settings_start_from_the_stage_wide_ones(apigw):
    api_id, root = _api_with_get(apigw, "method-settings-inherit")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    out = apigw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
        {"op": "replace", "path": "/test/GET/throttling/burstLimit", "value": "124"}])
    assert out["methodSettings"]["test/GET"]["cachingEnabled"] is True
    assert out["methodSettings"]["test/GET"]["throttlingBurstLimit"] == 124


def test_gateway_responses_inherit_their_family_customization(apigw):
    api = apigw.create_rest_api(name="gateway-response-family")
    apigw.put_gateway_response(restApiId=api["id"], responseType="DEFAULT_5XX", statusCode="599",
                               responseParameters={"gatewayresponse.header.x": "'y'"},
                               responseTemplates={"application/json": '{"m": "custom"}'})
    inherited = apigw.get_gateway_response(restApiId=api["id"], responseType="API_CONFIGURATION_ERROR")
    assert inherited["defaultResponse"] is True and inherited["statusCode"] == "599"
    assert inherited["responseParameters"] == {"gatewayresponse.header.x": "'y'"}
    assert inherited["responseTemplates"] == {"application/json": '{"m": "custom"}'}
    own = apigw.put_gateway_response(restApiId=api["id"], responseType="AUTHORIZER_FAILURE",
                                     responseParameters={"gatewayresponse.header.foo": "'bar'"})
    assert own["statusCode"] == "500"
    assert own["responseTemplates"] == {"application/json": '{"message":$context.error.messageString}'}
    assert apigw.get_gateway_response(restApiId=api["id"], responseType="THROTTLED")["statusCode"] == "429"


def test_create_authorizer_on_missing_api_answers_aws_conflict(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_authorizer(restApiId="nope", name="a", type="TOKEN", identitySource="method.request.header.A",
                                authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                              "arn:aws:lambda:us-east-1:000000000000:function:f/invocations")
    assert _error(e) == ("ConflictException",
                         "Unable to complete operation due to concurrent modification. Please try again later.", 409)


def test_an_import_with_an_endpoint_type_answers_its_ip_address_type(apigw):
    spec = {"swagger": "2.0", "info": {"title": "regional", "version": "1"}, "paths": {}}
    api = apigw.import_rest_api(body=json.dumps(spec).encode(), parameters={"endpointConfigurationTypes": "REGIONAL"})
    assert api["endpointConfiguration"] == {"types": ["REGIONAL"], "ipAddressType": "ipv4"}
    assert apigw.get_rest_api(restApiId=api["id"])["endpointConfiguration"] == api["endpointConfiguration"]
