"""The real AWS CDK CLI against overcast: `cdk bootstrap` creates the CDKToolkit stack, `cdk deploy`
publishes the app's template to the staging bucket and deploys it through CloudFormation change
sets, the deployed function answers through boto3, `cdk diff` shows a code change and
`cdk deploy --hotswap` applies it without CloudFormation, `cdk destroy` removes it all. CDK's own
Node.js custom resources run on the SDK overcast's Node.js runtime provides: the bucket's
auto-delete-objects empties it on destroy, log retention sets the function's log group, an
AwsCustomResource creates and deletes an SSM parameter; BucketDeployment's Python handler copies
site/ into the bucket with the AWS CLI from its layer (/opt/awscli/aws).

The seed's examples as CDK apps in TypeScript (examples/rest-api/cdk, examples/live-stock-counter/
cdk, examples/graphql-products/cdk, examples/clickstream/cdk) deploy, behave as their READMEs say (tests/example_checks.py) and are
destroyed (`cdk destroy --app cdk.out`: the synthesised app, not synthesised again). One deploy per
app; each CDK command synthesises (~10 s, ~30 s on a loaded machine)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

from tests.deploy_tools import MODULES, aws_env, node_sdk, tool
from tests.example_checks import (
    clickstream_reports,
    graphql_products_behave,
    rest_api_behaves,
    stock_counter_pushes,
)

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
APP = os.path.join(EXAMPLES, "cdk-hello")


def run(cdk: str, env: dict, cwd: str, *args: str) -> str:
    result = subprocess.run([cdk, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"cdk {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def bootstrapped(endpoint, tmp_path_factory) -> str:
    """The CDK CLI, once `cdk bootstrap` has created the CDKToolkit stack on this test server."""
    cdk = tool("cdk")
    node_sdk()  # CDK's custom-resource handlers need it
    run(cdk, aws_env(endpoint), str(tmp_path_factory.mktemp("bootstrap")), "bootstrap", "aws://000000000000/us-east-1")
    return cdk


def example_app(tmp_path, example: str, *code: str) -> str:
    """A copy of the example's CDK app (its cdk/ folder beside its code), where the app finds
    aws-cdk-lib and ts-node."""
    shutil.copytree(os.path.join(EXAMPLES, example, "cdk"), tmp_path / "cdk")
    for name in code:
        source = os.path.join(EXAMPLES, example, name)
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, tmp_path / name)
    os.symlink(MODULES, tmp_path / "cdk" / "node_modules")
    return str(tmp_path / "cdk")


def outputs(client, stack_name: str) -> dict:
    stack = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_cdk_bootstrap_deploy_invoke_diff_destroy(bootstrapped, endpoint, client, tmp_path, unique_name):
    cdk = bootstrapped
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    stack_name = unique_name("CdkHello")
    env = aws_env(endpoint, STACK_NAME=stack_name)

    cf = client("cloudformation")
    toolkit = cf.describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    assert toolkit["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    version = client("ssm").get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]["Value"]
    assert int(version) >= 6

    run(cdk, env, str(app), "deploy", "--require-approval", "never")
    out = outputs(client, stack_name)
    answer = client("lambda").invoke(FunctionName=out["FunctionName"], Payload=b'{"id": "from-cdk"}')
    assert answer.get("FunctionError") is None, answer["Payload"].read()
    assert json.loads(answer["Payload"].read()) == {"hello": "from-cdk", "table": out["TableName"]}
    item = client("dynamodb").get_item(TableName=out["TableName"], Key={"id": {"S": "from-cdk"}})
    assert item["Item"] == {"id": {"S": "from-cdk"}}
    client("sqs").get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["QueueArn"])
    # BucketDeployment's Python handler ran `aws s3 cp` / `aws s3 sync` from its AWS CLI layer at /opt
    site = {o["Key"]: o["Size"] for o in client("s3").list_objects_v2(Bucket=out["BucketName"])["Contents"]}
    with open(os.path.join(APP, "site", "index.html"), "rb") as f:
        index = f.read()
    assert site == {"web/index.html": len(index), "web/css/site.css": os.path.getsize(os.path.join(APP, "site", "css", "site.css"))}
    page = client("s3").get_object(Bucket=out["BucketName"], Key="web/index.html")
    assert page["Body"].read() == index and page["ContentType"] == "text/html"
    client("s3").put_object(Bucket=out["BucketName"], Key="left/behind.txt", Body=b"auto-deleted on destroy")
    parameter = client("ssm").get_parameter(Name=out["ParameterName"])["Parameter"]
    assert parameter["Value"] == "from-an-sdk-call" and out["ParameterVersion"] == "1"
    group = client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{out['FunctionName']}")["logGroups"]
    assert [g.get("retentionInDays") for g in group] == [7]

    changed = {**env, "GREETING": "hotswapped"}
    assert "Number of stacks with differences: 1" in run(cdk, changed, str(app), "diff")
    run(cdk, changed, str(app), "deploy", "--hotswap", "--require-approval", "never")
    answer = client("lambda").invoke(FunctionName=out["FunctionName"], Payload=b'{"id": "again"}')
    assert json.loads(answer["Payload"].read()) == {"hotswapped": "again", "table": out["TableName"]}
    assert cf.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"  # no update

    run(cdk, env, str(app), "destroy", "--force")
    with pytest.raises(ClientError):
        cf.describe_stacks(StackName=stack_name)
    with pytest.raises(ClientError):
        client("lambda").get_function(FunctionName=out["FunctionName"])
    with pytest.raises(ClientError) as missing:
        client("s3").head_bucket(Bucket=out["BucketName"])
    assert missing.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as missing:
        client("ssm").get_parameter(Name=out["ParameterName"])
    assert missing.value.response["Error"]["Code"] == "ParameterNotFound"


@pytest.fixture
def cdk_example(bootstrapped, endpoint, client, tmp_path, unique_name):
    """with cdk_example(example, *code, **env) as outputs: the example's app deployed with `cdk deploy`
    (its stack's outputs), destroyed with `cdk destroy` of the synthesised app on the way out, and
    its stack gone."""

    @contextlib.contextmanager
    def deployed(example: str, *code: str, **extra_env: str):
        stack_name = unique_name(example.title().replace("-", ""))
        env, app = aws_env(endpoint, STACK_NAME=stack_name, **extra_env), example_app(tmp_path, example, *code)
        run(bootstrapped, env, app, "deploy", "--require-approval", "never")
        yield outputs(client, stack_name)
        run(bootstrapped, env, app, "destroy", "--force", "--app", "cdk.out")
        with pytest.raises(ClientError):
            client("cloudformation").describe_stacks(StackName=stack_name)

    return deployed


def test_the_rest_api_example_as_a_cdk_app(cdk_example, endpoint, client):
    with cdk_example("rest-api", "src") as out:
        key = client("apigateway").get_api_key(apiKey=out["ApiKeyId"], includeValue=True)["value"]
        rest_api_behaves(endpoint, f"{endpoint}/_aws/execute-api/{out['ApiId']}/prod", key, out["UserPoolId"],
                         out["UserPoolClientId"])
    with pytest.raises(ClientError):
        client("apigateway").get_rest_api(restApiId=out["ApiId"])
    with pytest.raises(ClientError):
        client("dynamodb").describe_table(TableName=out["Table"])


def test_the_live_stock_counter_as_a_cdk_app(cdk_example, endpoint, client):
    with cdk_example("live-stock-counter", "functions") as out:
        assert out["WebSocketUrl"] == f"wss://{out['ApiId']}.execute-api.us-east-1.amazonaws.com/prod"
        stock_counter_pushes(client, f"{endpoint.replace('http', 'ws', 1)}/_aws/execute-api/{out['ApiId']}/prod",
                             out["StockTable"])
    with pytest.raises(ClientError):
        client("apigatewayv2").get_api(ApiId=out["ApiId"])
    with pytest.raises(ClientError):
        client("dynamodb").describe_table(TableName=out["StockTable"])


def test_the_graphql_products_example_as_a_cdk_app(cdk_example, endpoint, client):
    with cdk_example("graphql-products", "functions", "resolvers", "schema.graphql") as out:
        api = out["ApiId"]
        graphql_products_behave(endpoint, {
            "apiKey": out["ApiKey"], "userPoolId": out["UserPoolId"], "userPoolClientId": out["UserPoolClientId"],
            "pathGraphqlUrl": f"{endpoint}/_aws/appsync/{api}/graphql",
            "pathRealtimeUrl": endpoint.replace("http", "ws", 1) + f"/_aws/appsync/{api}/graphql/realtime"})
    with pytest.raises(ClientError):
        client("appsync").get_graphql_api(apiId=api)


def test_the_clickstream_example_as_a_cdk_app(cdk_example, endpoint, client):
    with cdk_example("clickstream", "src", BUFFER_SECONDS="1") as out:
        clickstream_reports(endpoint, client, out["Stream"], out["Bucket"], out["RuleArn"], out["Database"])
    # the bucket held the clicks, the report and Athena's results: CDK's auto-delete-objects handler
    # emptied it so that CloudFormation could delete it
    with pytest.raises(ClientError):
        client("s3").head_bucket(Bucket=out["Bucket"])
    assert out["Stream"] not in client("kinesis").list_streams()["StreamNames"]
    assert out["Database"] not in [d["Name"] for d in client("glue").get_databases()["DatabaseList"]]


UNSUPPORTED_APP = """
const cdk = require('aws-cdk-lib');
const iot = require('aws-cdk-lib/aws-iot');
const sqs = require('aws-cdk-lib/aws-sqs');
const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.STACK_NAME, { env: { account: '000000000000', region: 'us-east-1' } });
const queue = new sqs.Queue(stack, 'Readings');
new iot.CfnTopicRule(stack, 'Sensors', { topicRulePayload: {
  sql: "SELECT * FROM 'sensors/#'", actions: [{ sqs: { queueUrl: queue.queueUrl, roleArn: 'arn:aws:iam::000000000000:role/r' } }] } });
"""


def test_a_resource_type_overcast_does_not_support_fails_the_deployment_naming_it(bootstrapped, endpoint, client, tmp_path,
                                                                                  unique_name):
    stack_name = unique_name("Unsupported")
    (tmp_path / "app.js").write_text(UNSUPPORTED_APP)
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "node app.js"}))
    result = subprocess.run([bootstrapped, "deploy", "--require-approval", "never"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600, env=aws_env(endpoint, STACK_NAME=stack_name))
    assert result.returncode != 0
    assert "Resource type AWS::IoT::TopicRule is not supported by overcast" in result.stdout + result.stderr
    cf = client("cloudformation")
    assert cf.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    assert not [q for q in client("sqs").list_queues().get("QueueUrls", []) if stack_name in q]  # rolled back
    cf.delete_stack(StackName=stack_name)
