"""CloudFormation deploys API Gateway gateway responses, custom domain names with their base path
mappings (REST) and API mappings (HTTP APIs), and the account's CloudWatch role, through API
Gateway's own providers: the domains route requests by Host, updates apply in place or replace as
the schemas say, a delete removes them."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError
from cfn_support import own_tags

FAST = {"Delay": 0.2, "MaxAttempts": 300}

REST = """
Parameters:
  Domain: {Type: String}
  BasePath: {Type: String, Default: v1}
  MissingStatus: {Type: String, Default: "404"}
  Team: {Type: String, Default: a}
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: !Sub ${AWS::StackName}-api
      Tags: [{Key: team, Value: !Ref Team}]
  Hello:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: hello}
  Get:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Hello
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses:
          - StatusCode: "200"
            ResponseTemplates: {application/json: '{"via": "domain", "stage": "$context.stage"}'}
      MethodResponses: [{StatusCode: "200"}]
  Missing:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: MISSING_AUTHENTICATION_TOKEN
      StatusCode: !Ref MissingStatus
      ResponseParameters: {gatewayresponse.header.x-why: "'nothing here'"}
      ResponseTemplates: {application/json: '{"error": "no such path"}'}
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [Get, Missing]
    Properties: {RestApiId: !Ref Api, StageName: prod}
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: !Ref Domain
      RegionalCertificateArn: !Sub arn:aws:acm:${AWS::Region}:${AWS::AccountId}:certificate/example
      EndpointConfiguration: {Types: [REGIONAL]}
      SecurityPolicy: TLS_1_2
  Mapping:
    Type: AWS::ApiGateway::BasePathMapping
    DependsOn: Deployment
    Properties: {DomainName: !Ref Domain, BasePath: !Ref BasePath, RestApiId: !Ref Api, Stage: prod}
  LogRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: apigateway.amazonaws.com}, Action: sts:AssumeRole}]
  Account:
    Type: AWS::ApiGateway::Account
    Properties: {CloudWatchRoleArn: !GetAtt LogRole.Arn}
Outputs:
  Api: {Value: !Ref Api}
  Domain: {Value: !Ref Domain}
  DomainArn: {Value: !GetAtt Domain.DomainNameArn}
  Regional: {Value: !GetAtt Domain.RegionalDomainName}
  Zone: {Value: !GetAtt Domain.RegionalHostedZoneId}
  Response: {Value: !Ref Missing}
  Role: {Value: !GetAtt LogRole.Arn}
  AccountId: {Value: !GetAtt Account.Id}
"""


def _deploy(cf, name: str, body: str, create: bool, **params) -> dict:
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
    if create:
        cf.create_stack(StackName=name, TemplateBody=body, Parameters=parameters, Capabilities=["CAPABILITY_IAM"])
    else:
        cf.update_stack(StackName=name, TemplateBody=body, Parameters=parameters, Capabilities=["CAPABILITY_IAM"])
    cf.get_waiter("stack_create_complete" if create else "stack_update_complete").wait(StackName=name,
                                                                                       WaiterConfig=FAST)
    return {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}


def test_rest_api_domain_base_path_gateway_response_and_account(client, endpoint, unique_name):
    cf, apigw = client("cloudformation"), client("apigateway")
    name, domain = unique_name("restdomain"), f"{unique_name('api')}.example.org"
    port = endpoint.rsplit(":", 1)[1]
    out = _deploy(cf, name, REST, True, Domain=domain)
    assert out["Domain"] == domain and out["DomainArn"] == f"arn:aws:apigateway:us-east-1::/domainnames/{domain}"
    assert out["Regional"].endswith(".execute-api.us-east-1.amazonaws.com") and out["Zone"]
    hello = httpx.get(f"{endpoint}/v1/hello", headers={"Host": f"{domain}:{port}"})
    assert (hello.status_code, hello.json()) == (200, {"via": "domain", "stage": "prod"})
    missing = httpx.get(f"{endpoint}/_aws/execute-api/{out['Api']}/prod/nothing")
    assert (missing.status_code, missing.json()) == (404, {"error": "no such path"})
    assert missing.headers["x-why"] == "nothing here"
    assert apigw.get_account()["cloudwatchRoleArn"] == out["Role"] and out["AccountId"]
    api_arn = f"arn:aws:apigateway:us-east-1::/restapis/{out['Api']}"
    assert own_tags(apigw.get_tags(resourceArn=api_arn)["tags"]) == {"team": "a"}

    # in place: the gateway response, the API's tags; replaced: the base path mapping (BasePath is createOnly)
    updated = _deploy(cf, name, REST, False, Domain=domain, BasePath="v2", MissingStatus="410", Team="b")
    assert updated["Response"] == out["Response"]
    assert apigw.get_gateway_response(restApiId=out["Api"], responseType="MISSING_AUTHENTICATION_TOKEN")[
        "statusCode"] == "410"
    assert own_tags(apigw.get_tags(resourceArn=api_arn)["tags"]) == {"team": "b"}
    assert [m["basePath"] for m in apigw.get_base_path_mappings(domainName=domain)["items"]] == ["v2"]
    assert httpx.get(f"{endpoint}/v2/hello", headers={"Host": domain}).json() == {"via": "domain", "stage": "prod"}

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        apigw.get_domain_name(domainName=domain)
    assert info.value.response["Error"]["Code"] == "NotFoundException"
    # the account keeps its role: AWS documents that a deleted stack leaves it set
    assert apigw.get_account()["cloudwatchRoleArn"] == out["Role"]


HTTP = """
Parameters:
  Domain: {Type: String}
  Key: {Type: String, Default: orders}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  Handler:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          def handler(event, context):
              return {"statusCode": 200, "body": event["rawPath"] + " via " + event["requestContext"]["domainName"]}
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: !Sub "${AWS::StackName}-http", ProtocolType: HTTP, Target: !GetAtt Handler.Arn}
  Invoke:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Handler
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*
  Domain:
    Type: AWS::ApiGatewayV2::DomainName
    Properties:
      DomainName: !Ref Domain
      DomainNameConfigurations: [{EndpointType: REGIONAL, SecurityPolicy: TLS_1_2}]
      Tags: {team: shop}
  Mapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    Properties: {DomainName: !Ref Domain, ApiId: !Ref Api, Stage: $default, ApiMappingKey: !Ref Key}
Outputs:
  Domain: {Value: !Ref Domain}
  DomainArn: {Value: !GetAtt Domain.DomainNameArn}
  Regional: {Value: !GetAtt Domain.RegionalDomainName}
  Mapping: {Value: !Ref Mapping}
"""


def test_http_api_domain_name_and_api_mapping(client, endpoint, unique_name):
    cf, gw = client("cloudformation"), client("apigatewayv2")
    name, domain = unique_name("httpdomain"), f"{unique_name('shop')}.example.com"
    port = endpoint.rsplit(":", 1)[1]
    out = _deploy(cf, name, HTTP, True, Domain=domain)
    assert out["DomainArn"] == f"arn:aws:apigateway:us-east-1::/domainnames/{domain}"
    assert out["Regional"].startswith("d-") and own_tags(gw.get_tags(ResourceArn=out["DomainArn"])["Tags"]) == {"team": "shop"}
    answer = httpx.get(f"{endpoint}/orders/7", headers={"Host": f"{domain}:{port}"}, timeout=30)
    assert (answer.status_code, answer.text) == (200, f"/7 via {domain}:{port}")

    updated = _deploy(cf, name, HTTP, False, Domain=domain, Key="shop")  # in place: the same mapping
    assert updated["Mapping"] == out["Mapping"]
    assert gw.get_api_mapping(DomainName=domain, ApiMappingId=out["Mapping"])["ApiMappingKey"] == "shop"
    assert httpx.get(f"{endpoint}/shop/x", headers={"Host": domain}, timeout=30).text == f"/x via {domain}"

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        gw.get_domain_name(DomainName=domain)
    assert info.value.response["Error"]["Code"] == "NotFoundException"
