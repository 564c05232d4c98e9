"""SAM's AWS::Serverless::GraphQLApi deployed through the server-side transform: the AppSync API,
schema, DynamoDB data source, APPSYNC_JS functions, pipeline resolvers and API key it becomes are
created through AppSync's provider, answer GraphQL, update in place and are deleted."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError, WaiterError

FAST = {"Delay": 0.2, "MaxAttempts": 300}

NOTES = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Prefix: {Type: String, Default: ""}
Resources:
  Notes:
    Type: AWS::Serverless::SimpleTable
  NotesApi:
    Type: AWS::Serverless::GraphQLApi
    Properties:
      SchemaInline: |
        type Note { id: ID! text: String }
        type Query { getNote(id: ID!): Note }
        type Mutation { addNote(id: ID!, text: String!): Note }
        schema { query: Query mutation: Mutation }
      Auth: {Type: API_KEY}
      ApiKeys:
        Default: {Description: notes key}
      DataSources:
        DynamoDb:
          NotesTable: {TableName: !Ref Notes, TableArn: !GetAtt Notes.Arn}
      Functions:
        putNote:
          Runtime: {Name: APPSYNC_JS, Version: 1.0.0}
          DataSource: NotesTable
          InlineCode: !Sub |
            import { util } from '@aws-appsync/utils';
            export function request(ctx) {
              return { operation: 'PutItem', key: util.dynamodb.toMapValues({id: ctx.args.id}),
                       attributeValues: util.dynamodb.toMapValues({text: '${Prefix}' + ctx.args.text}) };
            }
            export function response(ctx) { return ctx.result; }
        getNote:
          Runtime: {Name: APPSYNC_JS, Version: 1.0.0}
          DataSource: NotesTable
          InlineCode: |
            import { util } from '@aws-appsync/utils';
            export function request(ctx) {
              return { operation: 'GetItem', key: util.dynamodb.toMapValues({id: ctx.args.id}) };
            }
            export function response(ctx) { return ctx.result; }
      Resolvers:
        Mutation:
          addNote: {Runtime: {Name: APPSYNC_JS, Version: 1.0.0}, Pipeline: [putNote]}
        Query:
          getNote: {Runtime: {Name: APPSYNC_JS, Version: 1.0.0}, Pipeline: [getNote]}
Outputs:
  ApiId: {Value: !GetAtt NotesApi.ApiId}
  ApiArn: {Value: !Ref NotesApi}
  Url: {Value: !GetAtt NotesApi.GraphQLUrl}
  Key: {Value: !GetAtt NotesApiDefault.ApiKey}
  KeyArn: {Value: !Ref NotesApiDefault}
  Function: {Value: !GetAtt NotesApiputNote.FunctionId}
"""


def _deploy(cf, name: str, kind: str, prefix: str = "") -> dict:
    change_set = cf.create_change_set(StackName=name, ChangeSetName=f"cs-{kind.lower()}", ChangeSetType=kind,
                                      TemplateBody=NOTES, Capabilities=["CAPABILITY_IAM"],
                                      Parameters=[{"ParameterKey": "Prefix", "ParameterValue": prefix}])["Id"]
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig=FAST)
    cf.execute_change_set(ChangeSetName=change_set)
    cf.get_waiter("stack_create_complete" if kind == "CREATE" else "stack_update_complete").wait(
        StackName=name, WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_sam_graphql_api_deploys_answers_updates_and_deletes(client, endpoint, unique_name):
    cf, appsync = client("cloudformation"), client("appsync")
    name = unique_name("notes")
    out = _deploy(cf, name, "CREATE")
    api_id = out["ApiId"]
    assert out["ApiArn"] == f"arn:aws:appsync:us-east-1:000000000000:apis/{api_id}"
    assert out["KeyArn"] == f"{out['ApiArn']}/apikeys/{out['Key']}"
    types = {r["ResourceType"] for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    assert {"AWS::AppSync::GraphQLApi", "AWS::AppSync::GraphQLSchema", "AWS::AppSync::DataSource",
            "AWS::AppSync::FunctionConfiguration", "AWS::AppSync::Resolver", "AWS::AppSync::ApiKey"} <= types
    url, headers = f"{endpoint}/_aws/appsync/{api_id}/graphql", {"x-api-key": out["Key"]}

    def gql(query: str) -> dict:
        answer = httpx.post(url, json={"query": query}, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert gql('mutation { addNote(id: "1", text: "hello") { id text } }') == {
        "data": {"addNote": {"id": "1", "text": "hello"}}}
    assert gql('{ getNote(id: "1") { text } }') == {"data": {"getNote": {"text": "hello"}}}
    assert httpx.post(url, json={"query": "{ getNote(id: \"1\") { text } }"}, headers={"x-api-key": "da2-nope"}
                      ).status_code == 401

    # the function's code changes: the same function, updated in place
    updated = _deploy(cf, name, "UPDATE", prefix="v2:")
    assert updated == out
    assert gql('mutation { addNote(id: "2", text: "again") { text } }') == {"data": {"addNote": {"text": "v2:again"}}}

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError) as info:
        appsync.get_graphql_api(apiId=api_id)
    assert info.value.response["Error"]["Code"] == "NotFoundException"


BAD_SCHEMA = """
Resources:
  Api:
    Type: AWS::AppSync::GraphQLApi
    Properties: {Name: broken, AuthenticationType: API_KEY}
  Schema:
    Type: AWS::AppSync::GraphQLSchema
    Properties:
      ApiId: !GetAtt Api.ApiId
      Definition: "type Query { broken: Nope }"
"""


def test_an_invalid_schema_fails_the_schema_resource_and_rolls_back(client, unique_name):
    cf = client("cloudformation")
    name = unique_name("badschema")
    cf.create_stack(StackName=name, TemplateBody=BAD_SCHEMA)
    with pytest.raises(WaiterError):  # the waiter's failure state: ROLLBACK_COMPLETE
        cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["LogicalResourceId"] == "Schema"
    assert failed[0]["ResourceStatusReason"].startswith("Schema Creation Status is FAILED with details: ")
    assert "Nope" in failed[0]["ResourceStatusReason"]


LOGGED = """
Resources:
  Api:
    Type: AWS::AppSync::GraphQLApi
    Properties:
      Name: logged
      AuthenticationType: API_KEY
      LogConfig:
        CloudWatchLogsRoleArn: arn:aws:iam::000000000000:role/appsync-logs
        FieldLogLevel: ALL
        ExcludeVerboseContent: true
  Schema:
    Type: AWS::AppSync::GraphQLSchema
    Properties:
      ApiId: !GetAtt Api.ApiId
      Definition: "type Query { hello: String }"
  Key:
    Type: AWS::AppSync::ApiKey
    Properties:
      ApiId: !GetAtt Api.ApiId
Outputs:
  ApiId: {Value: !GetAtt Api.ApiId}
  Url: {Value: !GetAtt Api.GraphQLUrl}
  Key: {Value: !GetAtt Key.ApiKey}
"""


def test_graphql_api_log_config_is_applied(client, endpoint, unique_name):
    import time

    from appsync_support import graphql_url

    cf, appsync, logs = client("cloudformation"), client("appsync"), client("logs")
    name = unique_name("logged")
    cf.create_stack(StackName=name, TemplateBody=LOGGED)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    assert appsync.get_graphql_api(apiId=out["ApiId"])["graphqlApi"]["logConfig"] == {
        "cloudWatchLogsRoleArn": "arn:aws:iam::000000000000:role/appsync-logs", "fieldLogLevel": "ALL",
        "excludeVerboseContent": True}
    answer = httpx.post(graphql_url(endpoint, out["ApiId"]), json={"query": "{ hello }"}, headers={"x-api-key": out["Key"]})
    assert answer.status_code == 200
    request_id = answer.headers["x-amzn-RequestId"]
    group = f"/aws/appsync/apis/{out['ApiId']}"
    for _ in range(40):
        if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            break
        time.sleep(0.05)
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert any(f'"requestId":"{request_id}"' in m and '"logType":"RequestSummary"' in m for m in messages)
    assert any('"logType":"Tracing"' in m and '"fieldName":"hello"' in m for m in messages)
    cf.delete_stack(StackName=name)
