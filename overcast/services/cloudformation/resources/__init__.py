"""The resource types overcast deploys: CloudFormation type name -> "module:Class" of its
ResourceType (base.py). A module is imported the first time a template uses one of its types."""

from __future__ import annotations

import functools
import importlib

_P = "overcast.services.cloudformation.resources."

TYPES: dict[str, str] = {
    "AWS::ApiGateway::Account": _P + "apigateway:Account",
    "AWS::ApiGateway::ApiKey": _P + "apigateway:ApiKey",
    "AWS::ApiGateway::Authorizer": _P + "apigateway:Authorizer",
    "AWS::ApiGateway::BasePathMapping": _P + "apigateway:BasePathMapping",
    "AWS::ApiGateway::Deployment": _P + "apigateway:Deployment",
    "AWS::ApiGateway::DomainName": _P + "apigateway:DomainName",
    "AWS::ApiGateway::GatewayResponse": _P + "apigateway:GatewayResponse",
    "AWS::ApiGateway::Method": _P + "apigateway:Method",
    "AWS::ApiGateway::Model": _P + "apigateway:Model",
    "AWS::ApiGateway::RequestValidator": _P + "apigateway:RequestValidator",
    "AWS::ApiGateway::Resource": _P + "apigateway:Resource",
    "AWS::ApiGateway::RestApi": _P + "apigateway:RestApi",
    "AWS::ApiGateway::Stage": _P + "apigateway:Stage",
    "AWS::ApiGateway::UsagePlan": _P + "apigateway:UsagePlan",
    "AWS::ApiGateway::UsagePlanKey": _P + "apigateway:UsagePlanKey",
    "AWS::ApiGatewayV2::Api": _P + "apigatewayv2:Api",
    "AWS::ApiGatewayV2::ApiMapping": _P + "apigatewayv2:ApiMapping",
    "AWS::ApiGatewayV2::Authorizer": _P + "apigatewayv2:Authorizer",
    "AWS::ApiGatewayV2::Deployment": _P + "apigatewayv2:Deployment",
    "AWS::ApiGatewayV2::DomainName": _P + "apigatewayv2:DomainName",
    "AWS::ApiGatewayV2::Integration": _P + "apigatewayv2:Integration",
    "AWS::ApiGatewayV2::IntegrationResponse": _P + "apigatewayv2:IntegrationResponse",
    "AWS::ApiGatewayV2::Route": _P + "apigatewayv2:Route",
    "AWS::ApiGatewayV2::RouteResponse": _P + "apigatewayv2:RouteResponse",
    "AWS::ApiGatewayV2::Stage": _P + "apigatewayv2:Stage",
    "AWS::AppSync::ApiKey": _P + "appsync:ApiKey",
    "AWS::AppSync::DataSource": _P + "appsync:DataSource",
    "AWS::AppSync::FunctionConfiguration": _P + "appsync:FunctionConfiguration",
    "AWS::AppSync::GraphQLApi": _P + "appsync:GraphQLApi",
    "AWS::AppSync::GraphQLSchema": _P + "appsync:GraphQLSchema",
    "AWS::AppSync::Resolver": _P + "appsync:Resolver",
    "AWS::Athena::NamedQuery": _P + "athena:NamedQuery",
    "AWS::Athena::WorkGroup": _P + "athena:WorkGroup",
    "AWS::CDK::Metadata": _P + "cloudformation:CdkMetadata",
    "AWS::CloudFormation::CustomResource": _P + "cloudformation:CustomResource",
    "AWS::CloudFormation::Macro": _P + "cloudformation:Macro",
    "AWS::CloudFormation::Stack": _P + "cloudformation:Stack",
    "AWS::CloudFormation::WaitCondition": _P + "cloudformation:WaitCondition",
    "AWS::CloudFormation::WaitConditionHandle": _P + "cloudformation:WaitConditionHandle",
    "AWS::CloudWatch::Alarm": _P + "cloudwatch:Alarm",
    "AWS::Cognito::IdentityPool": _P + "cognito:IdentityPool",
    "AWS::Cognito::IdentityPoolRoleAttachment": _P + "cognito:IdentityPoolRoleAttachment",
    "AWS::Cognito::UserPool": _P + "cognito:UserPool",
    "AWS::Cognito::UserPoolClient": _P + "cognito:UserPoolClient",
    "AWS::Cognito::UserPoolDomain": _P + "cognito:UserPoolDomain",
    "AWS::Cognito::UserPoolGroup": _P + "cognito:UserPoolGroup",
    "AWS::Cognito::UserPoolResourceServer": _P + "cognito:UserPoolResourceServer",
    "AWS::DynamoDB::GlobalTable": _P + "dynamodb:GlobalTable",
    "AWS::DynamoDB::Table": _P + "dynamodb:Table",
    "AWS::ECR::Repository": _P + "ecr:Repository",
    "AWS::Events::ApiDestination": _P + "events:ApiDestination",
    "AWS::Events::Archive": _P + "events:Archive",
    "AWS::Events::Connection": _P + "events:Connection",
    "AWS::Events::EventBus": _P + "events:EventBus",
    "AWS::Events::EventBusPolicy": _P + "events:EventBusPolicy",
    "AWS::Events::Rule": _P + "events:Rule",
    "AWS::Glue::Crawler": _P + "glue:Crawler",
    "AWS::Glue::Database": _P + "glue:Database",
    "AWS::Glue::Table": _P + "glue:Table",
    "AWS::IAM::AccessKey": _P + "iam:AccessKey",
    "AWS::IAM::Group": _P + "iam:Group",
    "AWS::IAM::InstanceProfile": _P + "iam:InstanceProfile",
    "AWS::IAM::ManagedPolicy": _P + "iam:ManagedPolicy",
    "AWS::IAM::Policy": _P + "iam:Policy",
    "AWS::IAM::Role": _P + "iam:Role",
    "AWS::IAM::ServerCertificate": _P + "iam:ServerCertificate",
    "AWS::IAM::ServiceLinkedRole": _P + "iam:ServiceLinkedRole",
    "AWS::IAM::User": _P + "iam:User",
    "AWS::Kinesis::Stream": _P + "kinesis:Stream",
    "AWS::Kinesis::StreamConsumer": _P + "kinesis:StreamConsumer",
    "AWS::KinesisFirehose::DeliveryStream": _P + "firehose:DeliveryStream",
    "AWS::Lambda::Alias": _P + "lambda_:Alias",
    "AWS::Lambda::EventInvokeConfig": _P + "lambda_:EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping": _P + "lambda_:EventSourceMapping",
    "AWS::Lambda::Function": _P + "lambda_:Function",
    "AWS::Lambda::LayerVersion": _P + "lambda_:LayerVersion",
    "AWS::Lambda::LayerVersionPermission": _P + "lambda_:LayerVersionPermission",
    "AWS::Lambda::Permission": _P + "lambda_:Permission",
    "AWS::Lambda::Url": _P + "lambda_:Url",
    "AWS::Lambda::Version": _P + "lambda_:Version",
    "AWS::Logs::Destination": _P + "logs:Destination",
    "AWS::Logs::LogGroup": _P + "logs:LogGroup",
    "AWS::Logs::ResourcePolicy": _P + "logs:ResourcePolicy",
    "AWS::Logs::SubscriptionFilter": _P + "logs:SubscriptionFilter",
    "AWS::S3::Bucket": _P + "s3:Bucket",
    "AWS::S3::BucketPolicy": _P + "s3:BucketPolicy",
    "AWS::Scheduler::Schedule": _P + "scheduler:Schedule",
    "AWS::Scheduler::ScheduleGroup": _P + "scheduler:ScheduleGroup",
    "AWS::SecretsManager::RotationSchedule": _P + "secretsmanager:RotationSchedule",
    "AWS::SecretsManager::Secret": _P + "secretsmanager:Secret",
    "AWS::SNS::Subscription": _P + "sns:Subscription",
    "AWS::SNS::Topic": _P + "sns:Topic",
    "AWS::SNS::TopicPolicy": _P + "sns:TopicPolicy",
    "AWS::SQS::Queue": _P + "sqs:Queue",
    "AWS::SQS::QueuePolicy": _P + "sqs:QueuePolicy",
    "AWS::SQS::QueueInlinePolicy": _P + "sqs:QueueInlinePolicy",
    "AWS::SSM::Parameter": _P + "ssm:Parameter",
    "AWS::StepFunctions::Activity": _P + "stepfunctions:Activity",
    "AWS::StepFunctions::StateMachine": _P + "stepfunctions:StateMachine",
}


@functools.cache
def resource_type(type_name: str):
    """The ResourceType instance for a type, or None when overcast does not support it."""
    target = TYPES.get(type_name)
    if target is None and type_name.startswith("Custom::"):
        target = TYPES.get("AWS::CloudFormation::CustomResource")
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
