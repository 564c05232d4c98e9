"""Athena in both of its wire protocols, whichever botocore is installed.

AWS answers Athena in awsJson 1.1 (`POST /`, `X-Amz-Target: AmazonAthena.<Operation>`: the AWS CLI
v1, boto3 before 1.44.18 and older SDKs) and in restJson1 (`POST /query-executions`, `GET
/workgroups`...: boto3 1.44.18 and later). Each test runs a botocore client built from one of the two
models overcast vendors (overcast/aws/legacy_models), so botocore's own serializer, signer and parser
speak that protocol, and checks on the wire that it did.
"""

from __future__ import annotations

import json
import time

import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.aws.legacy_models import PROTOCOL_MODELS, _read

PROTOCOLS = ("json", "rest-json")


@pytest.fixture(scope="module", params=PROTOCOLS)
def speaking(request, endpoint, tmp_path_factory):
    """(protocol, client, sent): a botocore Athena client on the vendored model of `protocol`, and
    the list of the requests it sent (method, path, headers)."""
    protocol = request.param
    root = tmp_path_factory.mktemp(f"athena-{protocol}")
    folder = root / "athena" / "2017-05-18"
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(_read(PROTOCOL_MODELS["athena"][protocol])))
    session = botocore.session.Session()
    session.get_component("data_loader").search_paths.insert(0, str(root))
    client = session.create_client(
        "athena",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, parameter_validation=False),
    )
    assert client.meta.service_model.protocol == protocol
    sent = []

    def record(request, **_):
        path = request.url.split("://", 1)[1].partition("/")[2]
        sent.append(
            (
                request.method,
                "/" + path,
                {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()},
            )
        )

    client.meta.events.register("before-send.athena", record)
    return protocol, client, sent


def _last(sent):
    return sent[-1]


def _on_the_wire(protocol, sent, operation, path):
    method, sent_path, headers = _last(sent)
    if protocol == "json":
        assert (method, sent_path, headers["x-amz-target"]) == ("POST", "/", f"AmazonAthena.{operation}")
    else:
        assert "x-amz-target" not in headers
        assert sent_path.split("?")[0] == path, sent_path


def _finished(client, qid):
    deadline = time.time() + 30
    while time.time() < deadline:
        execution = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.05)
    raise AssertionError("query did not finish")


@pytest.fixture
def output(client, unique_name):
    bucket = unique_name("athp")
    client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/results/"


def test_start_get_and_read_results(speaking, output):
    protocol, client, sent = speaking
    qid = client.start_query_execution(
        QueryString="SELECT n, 'x' || CAST(n AS varchar) AS s FROM (VALUES 1, 2, 3) AS t(n) ORDER BY n",
        ResultConfiguration={"OutputLocation": output},
    )["QueryExecutionId"]
    _on_the_wire(protocol, sent, "StartQueryExecution", "/query-executions")
    execution = _finished(client, qid)
    _on_the_wire(protocol, sent, "GetQueryExecution", f"/query-executions/{qid}")
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert (
        execution["QueryExecutionId"] == qid
        and execution["ResultConfiguration"]["OutputLocation"] == f"{output}{qid}.csv"
    )
    assert execution["Status"]["SubmissionDateTime"].year >= 2024  # a timestamp, parsed as one

    # paged: MaxResults and NextToken are query string members in restJson1
    first = client.get_query_results(QueryExecutionId=qid, MaxResults=2)
    _on_the_wire(protocol, sent, "GetQueryResults", f"/query-executions/{qid}/results")
    if protocol == "rest-json":
        assert "MaxResults=2" in _last(sent)[1]
    rows = [[c.get("VarCharValue") for c in r["Data"]] for r in first["ResultSet"]["Rows"]]
    assert rows == [["n", "s"], ["1", "x1"]]
    assert [c["Name"] for c in first["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]] == ["n", "s"]
    rest = client.get_query_results(QueryExecutionId=qid, NextToken=first["NextToken"])
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in rest["ResultSet"]["Rows"]] == [
        ["2", "x2"],
        ["3", "x3"],
    ]
    assert "NextToken" not in rest


def test_a_query_started_in_one_protocol_is_read_in_the_other(speaking, output, client):
    protocol, athena, _sent = speaking
    qid = athena.start_query_execution(
        QueryString="SELECT 42 AS answer", ResultConfiguration={"OutputLocation": output}
    )["QueryExecutionId"]
    _finished(athena, qid)
    other = client("athena")  # the installed botocore's client, whichever protocol its model has
    out = other.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in out] == [["answer"], ["42"]]


def test_work_groups_and_their_tags(speaking, unique_name):
    protocol, client, sent = speaking
    names = [w["Name"] for w in client.list_work_groups()["WorkGroups"]]
    _on_the_wire(protocol, sent, "ListWorkGroups", "/workgroups")
    assert "primary" in names
    name = unique_name("wg")
    client.create_work_group(
        Name=name,
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://b/o/"}},
        Tags=[{"Key": "team", "Value": "a"}],
    )
    group = client.get_work_group(WorkGroup=name)["WorkGroup"]
    _on_the_wire(protocol, sent, "GetWorkGroup", f"/workgroups/{name}")
    assert group["Configuration"]["ResultConfiguration"]["OutputLocation"] == "s3://b/o/"
    # an ARN (colons and a slash) as a path label; the keys to remove as a query string list
    arn = f"arn:aws:athena:us-east-1:000000000000:workgroup/{name}"
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "x", "Value": "1"}])
    client.untag_resource(ResourceARN=arn, TagKeys=["team", "x"])
    if protocol == "rest-json":
        assert _last(sent)[0] == "DELETE" and "TagKeys=team" in _last(sent)[1]
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    client.delete_work_group(WorkGroup=name, RecursiveDeleteOption=True)
    assert name not in [w["Name"] for w in client.list_work_groups()["WorkGroups"]]


def test_errors_in_each_protocol(speaking):
    """An unknown query execution: InvalidRequestException, 400, in the request's protocol (awsJson:
    `__type` in the body; restJson1: the X-Amzn-ErrorType header)."""
    protocol, client, sent = speaking
    with pytest.raises(ClientError) as e:
        client.get_query_execution(QueryExecutionId="00000000-0000-0000-0000-000000000000")
    _on_the_wire(
        protocol, sent, "GetQueryExecution", "/query-executions/00000000-0000-0000-0000-000000000000"
    )
    response = e.value.response
    assert response["Error"]["Code"] == "InvalidRequestException"
    assert response["Error"]["Message"] == "QueryExecution 00000000-0000-0000-0000-000000000000 was not found"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    if protocol == "rest-json":
        assert headers["x-amzn-errortype"] == "InvalidRequestException"
        assert headers["content-type"] == "application/json"
    else:
        assert "x-amzn-errortype" not in headers
        assert headers["content-type"] == "application/x-amz-json-1.1"
    # a member breaking the model's constraints (the client's own check is off): the same
    # ValidationException in either protocol
    with pytest.raises(ClientError) as e:
        client.start_query_execution(QueryString="", ResultConfiguration={"OutputLocation": "s3://b/"})
    assert e.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '' at 'queryString' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    }
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if protocol == "rest-json":  # an operation only restJson1 has, which overcast lacks
        with pytest.raises(ClientError) as e:
            client.get_query_result_stream(QueryExecutionId="00000000-0000-0000-0000-000000000000")
        assert e.value.response["Error"]["Code"] == "NotImplemented"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


RAW_AUTH = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/athena/aws4_request, "
    "SignedHeaders=host, Signature=x"
}


def test_raw_answers_of_each_protocol(endpoint):
    """The two forms side by side on the wire, whichever botocore is installed."""
    missing = "11111111-1111-1111-1111-111111111111"
    answer = httpx.post(
        endpoint,
        content=json.dumps({"QueryExecutionId": missing}),
        headers={
            **RAW_AUTH,
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonAthena.GetQueryExecution",
        },
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "__type": "com.amazonaws.athena#InvalidRequestException",
        "Message": f"QueryExecution {missing} was not found",
    }

    answer = httpx.get(f"{endpoint}/query-executions/{missing}", headers=RAW_AUTH)
    assert answer.status_code == 400
    assert answer.headers["x-amzn-errortype"] == "InvalidRequestException"
    assert answer.json() == {"Message": f"QueryExecution {missing} was not found"}

    answer = httpx.get(f"{endpoint}/workgroups", params={"MaxResults": "50"}, headers=RAW_AUTH)
    assert answer.status_code == 200 and "primary" in [w["Name"] for w in answer.json()["WorkGroups"]]
    answer = httpx.post(
        endpoint,
        content=b"{}",
        headers={
            **RAW_AUTH,
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonAthena.ListWorkGroups",
        },
    )
    assert answer.status_code == 200 and "primary" in [w["Name"] for w in answer.json()["WorkGroups"]]

    answer = httpx.get(f"{endpoint}/no-such-resource", headers=RAW_AUTH)
    assert answer.status_code == 404 and answer.headers["x-amzn-errortype"] == "UnknownOperationException"
