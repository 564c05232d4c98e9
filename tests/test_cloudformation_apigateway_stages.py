"""AWS::ApiGateway::RestApi's EndpointConfiguration, a Stage's AccessLogSetting and a Deployment's
DeploymentCanarySettings, as LocalStack's resources/test_apigateway.py records AWS answering them."""

from __future__ import annotations

import json

import pytest
from cfn_support import wait


@pytest.fixture
def cf(client):
    return client("cloudformation")


def _api(extra: dict, rest_api_props: dict | None = None) -> str:
    return json.dumps({"Resources": {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api", **(rest_api_props or {})}},
        "Mock": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "HttpMethod": "GET", "AuthorizationType": "NONE", "Integration": {"Type": "MOCK"}}},
        "Basic": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": ["Mock"], "Properties": {
            "RestApiId": {"Ref": "Api"}, "Description": "basic deployment"}},
        **extra}, "Outputs": {"Api": {"Value": {"Ref": "Api"}}}})


def test_endpoint_configuration_and_a_change_of_it(cf, client, unique_name):
    name = unique_name("endpoint")
    cf.create_stack(StackName=name, TemplateBody=_api({}, {"EndpointConfiguration": {"Types": ["REGIONAL"]}}))
    api_id = wait(cf, "stack_create_complete", name)["Outputs"][0]["OutputValue"]
    apigateway = client("apigateway")
    assert apigateway.get_rest_api(restApiId=api_id)["endpointConfiguration"] == {
        "types": ["REGIONAL"], "ipAddressType": "ipv4"}
    cf.update_stack(StackName=name, TemplateBody=_api({}, {"EndpointConfiguration": {"Types": ["EDGE"]}}))
    wait(cf, "stack_update_complete", name)
    assert apigateway.get_rest_api(restApiId=api_id)["endpointConfiguration"]["types"] == ["EDGE"]


def test_a_body_api_takes_the_endpoint_type(cf, client, unique_name):
    name = unique_name("bodyapi")
    body = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
            "Body": body, "EndpointConfiguration": {"Types": ["REGIONAL"]}}}},
        "Outputs": {"Api": {"Value": {"Ref": "Api"}}}}))
    api_id = wait(cf, "stack_create_complete", name)["Outputs"][0]["OutputValue"]
    assert client("apigateway").get_rest_api(restApiId=api_id)["endpointConfiguration"] == {
        "types": ["REGIONAL"], "ipAddressType": "ipv4"}


def test_a_stage_access_log_setting(cf, client, unique_name):
    name = unique_name("accesslog")
    stage = {"Type": "AWS::ApiGateway::Stage", "Properties": {
        "StageName": "test", "RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Basic"},
        "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["Group", "Arn"]}, "Format": "$context.requestId"}}}
    group = {"Type": "AWS::Logs::LogGroup"}
    cf.create_stack(StackName=name, TemplateBody=_api({"Stage": stage, "Group": group}))
    api_id = wait(cf, "stack_create_complete", name)["Outputs"][0]["OutputValue"]
    apigateway = client("apigateway")
    settings = apigateway.get_stage(restApiId=api_id, stageName="test")["accessLogSettings"]
    assert settings["format"] == "$context.requestId" and settings["destinationArn"].startswith("arn:aws:logs:")
    del stage["Properties"]["AccessLogSetting"]
    cf.update_stack(StackName=name, TemplateBody=_api({"Stage": stage, "Group": group}))
    wait(cf, "stack_update_complete", name)
    assert "accessLogSettings" not in apigateway.get_stage(restApiId=api_id, stageName="test")


def test_a_canary_deployment_of_a_stage(cf, client, unique_name):
    name = unique_name("canary")
    cf.create_stack(StackName=name, TemplateBody=_api({
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "StageName": "prod", "RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Basic"},
            "Variables": {"lambdaAlias": "Prod"}}},
        "Canary": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": ["Mock", "Stage"], "Properties": {
            "RestApiId": {"Ref": "Api"}, "Description": "canary description", "StageName": "prod",
            "DeploymentCanarySettings": {"PercentTraffic": 50, "StageVariableOverrides": {"lambdaAlias": "Dev"}}}}}))
    api_id = wait(cf, "stack_create_complete", name)["Outputs"][0]["OutputValue"]
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cf.describe_stack_resources(StackName=name)["StackResources"]}
    stage = client("apigateway").get_stage(restApiId=api_id, stageName="prod")
    assert stage["deploymentId"] == resources["Basic"]
    assert stage["canarySettings"] == {"deploymentId": resources["Canary"], "percentTraffic": 50.0,
                                       "stageVariableOverrides": {"lambdaAlias": "Dev"}, "useStageCache": False}
