"""The SAM transform server-side: examples/rest-api/template.yaml deployed the way `sam deploy`
does it (code zipped into S3, a change set of the template with Transform, executed), then used,
updated and deleted."""

from __future__ import annotations

import io
import os
import zipfile

import httpx
import pytest
from botocore.exceptions import ClientError
from cfn_support import FAST
from cfn_support import deploy_change_set as _deploy
from cognito_support import signed_up_user

from tests.example_checks import stock_counter_pushes, webhooks_behave

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "rest-api")


def outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("handler.py", source)
    return buffer.getvalue()



def test_the_rest_api_example_as_a_sam_application(client, endpoint, unique_name):
    cf, s3, apigw = client("cloudformation"), client("s3"), client("apigateway")
    bucket, name = unique_name("sam-artifacts"), unique_name("items")
    s3.create_bucket(Bucket=bucket)
    with open(os.path.join(EXAMPLE, "src", "handler.py")) as f:
        source = f.read()
    s3.put_object(Bucket=bucket, Key="v1.zip", Body=_zip(source))
    with open(os.path.join(EXAMPLE, "template.yaml")) as f:
        template = f.read().replace("CodeUri: src/", f"CodeUri: s3://{bucket}/v1.zip")

    changes = _deploy(cf, name, template, "CREATE")
    types = sorted({c["ResourceChange"]["ResourceType"] for c in changes})
    assert "AWS::ApiGateway::RestApi" in types and "AWS::Lambda::Function" in types
    assert "AWS::Serverless::Function" not in types
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(stack)
    key = apigw.get_api_key(apiKey=out["ApiKeyId"], includeValue=True)["value"]
    url, h = f"{endpoint}/_aws/execute-api/{out['ApiId']}/prod", {"x-api-key": key}
    signed_in = signed_up_user(endpoint, out["UserPoolId"], out["UserPoolClientId"], f"{name}@example.com")
    writer = {**h, "Authorization": signed_in["IdToken"]}
    assert httpx.get(f"{url}/items").status_code == 403
    bad = httpx.post(f"{url}/items", json={"name": ""}, headers=writer)
    assert bad.status_code == 400 and bad.json() == {"message": "Invalid request body"}
    assert httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=h).status_code == 401
    created = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=writer, timeout=30)
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    assert httpx.get(f"{url}/items/{item_id}", headers=h).json()["name"] == "lamp"
    preflight = httpx.options(f"{url}/items", headers={"Origin": "http://localhost:3000",
                                                       "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and "Authorization" in preflight.headers["access-control-allow-headers"]
    processed = cf.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"]
    assert "AWS::Serverless::Function" not in str(processed)
    assert "AWS::Serverless-2016-10-31" in str(cf.get_template(StackName=name)["TemplateBody"])

    # a code-only update: the same function, the new code
    s3.put_object(Bucket=bucket, Key="v2.zip", Body=_zip(source.replace('{"items": ', '{"version": 2, "items": ')))
    changes = _deploy(cf, name, template.replace("v1.zip", "v2.zip"), "UPDATE")
    modified = [c["ResourceChange"] for c in changes if c["ResourceChange"]["Action"] == "Modify"]
    function = [c for c in modified if c["ResourceType"] == "AWS::Lambda::Function"]
    assert function and function[0]["Replacement"] == "False"
    listed = httpx.get(f"{url}/items", headers=h).json()
    assert listed["version"] == 2 and [i["name"] for i in listed["items"]] == ["lamp"]

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        apigw.get_rest_api(restApiId=out["ApiId"])
    with pytest.raises(ClientError):
        client("dynamodb").describe_table(TableName=out["Table"])


def test_a_sam_error_fails_the_change_set_with_the_translators_reason(client, unique_name):
    cf = client("cloudformation")
    name = unique_name("badsam")
    body = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.handler, Runtime: python3.12}
"""
    change_set = cf.create_change_set(StackName=name, ChangeSetName="bad", ChangeSetType="CREATE",
                                      TemplateBody=body)["Id"]
    described = cf.describe_change_set(ChangeSetName=change_set)
    assert described["Status"] == "FAILED"
    assert described["StatusReason"].startswith("Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless "
                                                "Application Specification document.")
    assert "CodeUri" in described["StatusReason"] or "InlineCode" in described["StatusReason"]
    code, message = error_of(lambda: cf.create_stack(StackName=unique_name("badsam"), TemplateBody=body))
    assert code == "InsufficientCapabilitiesException"


SAM_EVENTS = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            return {"statusCode": 200, "body": "hi " + event.get("rawPath", "?")}
      AutoPublishAlias: live
      Layers: [!Ref Layer]
      Events:
        Http: {Type: HttpApi, Properties: {Path: /hello, Method: GET}}
        Queue: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 5}}
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
        Topic: {Type: SNS, Properties: {Topic: !Ref T}}
        Stream: {Type: DynamoDB, Properties: {Stream: !GetAtt Tbl.StreamArn, StartingPosition: LATEST}}
        Bus: {Type: EventBridgeRule, Properties: {Pattern: {source: [demo]}}}
  Q: {Type: AWS::SQS::Queue}
  T: {Type: AWS::SNS::Topic}
  Tbl:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: s3://%s/layer.zip, CompatibleRuntimes: [python3.12]}
Outputs:
  Api: {Value: !Ref ServerlessHttpApi}
  Function: {Value: !Ref Fn}
"""


def test_sam_http_api_and_event_sources(client, endpoint, unique_name):
    cf, s3 = client("cloudformation"), client("s3")
    bucket, name = unique_name("layers"), unique_name("events")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("python/shared.py", "VALUE = 1\n")
    s3.put_object(Bucket=bucket, Key="layer.zip", Body=buffer.getvalue())
    _deploy(cf, name, SAM_EVENTS % bucket, "CREATE")
    out = outputs(cf.describe_stacks(StackName=name)["Stacks"][0])
    answer = httpx.get(f"{endpoint}/_aws/execute-api/{out['Api']}/hello", timeout=30)
    assert (answer.status_code, answer.text) == (200, "hi /hello")
    lam = client("lambda")
    sources = {m["EventSourceArn"].split(":")[2] for m in lam.list_event_source_mappings(
        FunctionName=out["Function"])["EventSourceMappings"]}
    assert sources == {"sqs", "dynamodb"}
    assert [a["Name"] for a in lam.list_aliases(FunctionName=out["Function"])["Aliases"]] == ["live"]
    subscriptions = client("sns").list_subscriptions()["Subscriptions"]
    assert any(s["Endpoint"].startswith(f"arn:aws:lambda:us-east-1:000000000000:function:{out['Function']}")
               for s in subscriptions)
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_the_webhook_example_as_a_sam_application(client, endpoint, unique_name):
    cf, s3 = client("cloudformation"), client("s3")
    bucket, name = unique_name("webhook-artifacts"), unique_name("webhooks")
    s3.create_bucket(Bucket=bucket)
    examples = os.path.dirname(EXAMPLE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.write(os.path.join(examples, "webhook-queue", "functions", "consumer.py"), "consumer.py")
    s3.put_object(Bucket=bucket, Key="consumer.zip", Body=buffer.getvalue())
    with open(os.path.join(examples, "webhook-queue", "template.yaml")) as f:
        template = f.read().replace("CodeUri: functions/", f"CodeUri: s3://{bucket}/consumer.zip")
    _deploy(cf, name, template, "CREATE")
    out = outputs(cf.describe_stacks(StackName=name)["Stacks"][0])
    webhooks_behave(client, f"{endpoint}/_aws/execute-api/{out['ApiId']}/live/webhook", out["QueueUrl"], out["Table"],
                    out["DeadLetterQueueUrl"])
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_the_live_stock_counter_as_a_sam_application(client, endpoint, unique_name):
    cf, s3 = client("cloudformation"), client("s3")
    bucket, name = unique_name("stock-artifacts"), unique_name("stock")
    s3.create_bucket(Bucket=bucket)
    folder = os.path.join(os.path.dirname(EXAMPLE), "live-stock-counter")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for module in ("connect", "disconnect", "current", "push"):
            z.write(os.path.join(folder, "functions", f"{module}.py"), f"{module}.py")
    s3.put_object(Bucket=bucket, Key="functions.zip", Body=buffer.getvalue())
    with open(os.path.join(folder, "template.yaml")) as f:
        template = f.read().replace("CodeUri: functions/", f"CodeUri: s3://{bucket}/functions.zip")
    _deploy(cf, name, template, "CREATE")
    out = outputs(cf.describe_stacks(StackName=name)["Stacks"][0])
    stock_counter_pushes(client, f"{endpoint.replace('http', 'ws', 1)}/_aws/execute-api/{out['ApiId']}/prod",
                         out["StockTable"])
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_the_order_workflow_as_a_sam_application(client, endpoint, unique_name):
    from sfn_support import sfn_client

    from tests.example_checks import order_workflow_behaves

    cf, s3 = client("cloudformation"), client("s3")
    bucket, name = unique_name("orders-artifacts"), unique_name("orders")
    s3.create_bucket(Bucket=bucket)
    folder = os.path.join(os.path.dirname(EXAMPLE), "order-workflow")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for module in ("reserve", "notify", "price_rows"):
            z.write(os.path.join(folder, "functions", f"{module}.py"), f"{module}.py")
    s3.put_object(Bucket=bucket, Key="functions.zip", Body=buffer.getvalue())
    with open(os.path.join(folder, "template.yaml")) as f:
        template = f.read().replace("CodeUri: functions/", f"CodeUri: s3://{bucket}/functions.zip")
    changes = _deploy(cf, name, template, "CREATE")
    assert {"AWS::StepFunctions::StateMachine", "AWS::ApiGatewayV2::Integration"} <= {
        c["ResourceChange"]["ResourceType"] for c in changes}
    out = outputs(cf.describe_stacks(StackName=name)["Stacks"][0])
    order_workflow_behaves(client, sfn_client(endpoint), f"{endpoint}/_aws/execute-api/{out['ApiId']}/orders",
                           out["ApprovalsUrl"], out["Table"], out["PricingMachine"], out["Bucket"])
    for obj in s3.list_objects_v2(Bucket=out["Bucket"])["Contents"]:  # a bucket must be empty to be deleted
        s3.delete_object(Bucket=out["Bucket"], Key=obj["Key"])
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


SAM_STREAM_EVENTS = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Inbox: {Type: AWS::SQS::Queue}
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Uploads: {Type: AWS::S3::Bucket}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Timeout: 10
      Environment: {Variables: {INBOX: !Ref Inbox}}
      InlineCode: |
        import os, boto3
        def handler(event, context):
            for record in event["Records"]:
                source = record.get("eventSource")
                detail = record["s3"]["object"]["key"] if source == "aws:s3" else record["kinesis"]["partitionKey"]
                boto3.client("sqs").send_message(QueueUrl=os.environ["INBOX"], MessageBody=f"{source} {detail}")
      Events:
        Clicks:
          Type: Kinesis
          Properties: {Stream: !GetAtt Stream.Arn, StartingPosition: TRIM_HORIZON, BatchSize: 10}
        Upload:
          Type: S3
          Properties: {Bucket: !Ref Uploads, Events: "s3:ObjectCreated:*"}
Outputs:
  Inbox: {Value: !Ref Inbox}
  Stream: {Value: !Ref Stream}
  Bucket: {Value: !Ref Uploads}
"""


def test_sam_kinesis_and_s3_events_invoke_the_function(client, unique_name):
    from messaging_support import receive

    cf, s3 = client("cloudformation"), client("s3")
    name = unique_name("streams")
    changes = _deploy(cf, name, SAM_STREAM_EVENTS, "CREATE")
    assert {"AWS::Lambda::EventSourceMapping", "AWS::Lambda::Permission"} <= {
        c["ResourceChange"]["ResourceType"] for c in changes}
    out = outputs(cf.describe_stacks(StackName=name)["Stacks"][0])
    client("kinesis").put_record(StreamName=out["Stream"], PartitionKey="visitor-7", Data=b"{}")
    s3.put_object(Bucket=out["Bucket"], Key="photo.jpg", Body=b"jpeg")
    got = sorted(m["Body"] for m in receive(client("sqs"), out["Inbox"], count=2, timeout=60))
    assert got == ["aws:kinesis visitor-7", "aws:s3 photo.jpg"]
    s3.delete_object(Bucket=out["Bucket"], Key="photo.jpg")
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


SSM_AUTHORIZER = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  AuthorizerArn:
    Type: AWS::SSM::Parameter::Value<String>
    Default: {parameter}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: local
      Auth:
        Authorizers:
          Token:
            FunctionArn: !Ref AuthorizerArn
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(event, context): return {{'statusCode': 200}}"
      Events:
        Get:
          Type: Api
          Properties:
            Path: /
            Method: get
            RestApiId: !Ref Api
Outputs:
  Api:
    Value: !Ref Api
"""


def test_sam_reads_the_value_of_an_ssm_parameter_type(client, unique_name):
    from lambda_functions import create_python

    cf, parameter = client("cloudformation"), "/" + unique_name("sam") + "/authorizer-arn"
    function = create_python(client("lambda"), unique_name("authorizer"))
    client("ssm").put_parameter(Name=parameter, Value=function["FunctionArn"], Type="String")
    name = unique_name("samssm")
    cf.create_stack(StackName=name, TemplateBody=SSM_AUTHORIZER.format(parameter=parameter),
                    Capabilities=["CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"])
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    api_id = outputs(cf.describe_stacks(StackName=name)["Stacks"][0])["Api"]
    authorizers = client("apigateway").get_authorizers(restApiId=api_id)["items"]
    assert [function["FunctionArn"] in a["authorizerUri"] for a in authorizers] == [True]
