"""examples/graphql-products, deployed by deploy.py and as a CloudFormation stack, and exercised:
users of its Cognito pool sign in; queries, mutations (VTL, JS, Lambda) by the "editors" group
only, reads with the API key, and a subscription over the real-time endpoint with a user's token."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.example_checks import graphql_products_behave

FAST = {"Delay": 0.2, "MaxAttempts": 300}

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "graphql-products")


def _deploy(endpoint):
    spec = importlib.util.spec_from_file_location("example_graphql_products", os.path.join(ROOT, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.deploy(endpoint)


def test_graphql_products_example_end_to_end(endpoint):
    graphql_products_behave(endpoint, _deploy(endpoint))


def _package(client, bucket: str) -> str:
    """What `sam deploy` does before it deploys: the function's code zipped, and the schema, mapping
    templates and resolver code uploaded, the template pointing at them in S3."""
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.write(os.path.join(ROOT, "functions", "pricing.py"), "pricing.py")
    s3.put_object(Bucket=bucket, Key="functions.zip", Body=buffer.getvalue())
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = f.read().replace("CodeUri: functions/", f"CodeUri: s3://{bucket}/functions.zip")

    def upload(match: re.Match) -> str:
        with open(os.path.join(ROOT, match.group(2)), "rb") as f:
            s3.put_object(Bucket=bucket, Key=match.group(2), Body=f.read())
        return f"{match.group(1)}S3Location: s3://{bucket}/{match.group(2)}"

    return re.sub(r"(\w*)S3Location: (\S+)", upload, template)


def test_graphql_products_template_deployed_as_a_stack(endpoint, client, unique_name):
    cf = client("cloudformation")
    name = unique_name("products")
    change_set = cf.create_change_set(StackName=name, ChangeSetName="deploy", ChangeSetType="CREATE",
                                      TemplateBody=_package(client, unique_name("products-artifacts")),
                                      Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])["Id"]
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig=FAST)
    cf.execute_change_set(ChangeSetName=change_set)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    api_id = out["ApiId"]
    assert out["GraphQLUrl"].startswith(f"http://{api_id}.appsync-api.us-east-1.") and out["ApiKey"].startswith("da2-")
    graphql_products_behave(endpoint, {"apiKey": out["ApiKey"], "userPoolId": out["UserPoolId"], "userPoolClientId": out["UserPoolClientId"],
                        "pathGraphqlUrl": f"{endpoint}/_aws/appsync/{api_id}/graphql",
                        "pathRealtimeUrl": endpoint.replace("http", "ws", 1) + f"/_aws/appsync/{api_id}/graphql/realtime"})
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        client("appsync").get_graphql_api(apiId=api_id)
