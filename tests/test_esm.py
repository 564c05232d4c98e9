"""Lambda event source mappings through boto3: SQS and DynamoDB Streams pollers, batching, partial
batch failures, filters, retries, dead-letter queues and OnFailure destinations, state
transitions, and surviving a restart."""

from __future__ import annotations

import json
import re
import time

import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client
from messaging_support import forwarder, make_queue, receive

PARTIAL = """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(event))
    failures = []
    for record in event["Records"]:
        body = record.get("body")
        if body is None:
            body = json.dumps(record["dynamodb"].get("NewImage", {}))
        if "bad" in body:
            failures.append({"itemIdentifier": record.get("messageId") or record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failures}
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


def records_in(sqs, sink_url, count, timeout=20.0) -> list[dict]:
    """Every record the forwarder function saw, until `count` arrived."""
    records, deadline = [], time.time() + timeout
    while len(records) < count and time.time() < deadline:
        for message in receive(sqs, sink_url, count=1, timeout=max(0.5, deadline - time.time())):
            records += json.loads(message["Body"])["Records"]
    return records


def wait_state(lam, mapping_id, state, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = lam.get_event_source_mapping(UUID=mapping_id)["State"]
        if current == state:
            return current
        time.sleep(0.05)
    return current


def test_sqs_messages_reach_the_function_in_batches(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    url, arn = make_queue(sqs, unique_name("src"))
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=5)
    assert mapping["State"] == "Creating"
    assert (mapping["BatchSize"], mapping["EventSourceArn"], mapping["FunctionArn"]) == (5, arn, function)
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"m{i}", "MessageAttributes": {"n": {"DataType": "Number",
                                                                         "StringValue": str(i)}}}
        for i in range(8)])
    records = records_in(sqs, sink, 8)
    assert sorted(r["body"] for r in records) == [f"m{i}" for i in range(8)]
    record = records[0]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", arn, "us-east-1")
    assert record["messageAttributes"]["n"]["dataType"] == "Number"
    assert len(record["md5OfMessageAttributes"]) == 32  # the attributes' digest, as SQS answers it
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId"} <= set(record["attributes"])
    assert wait_state(lam, mapping["UUID"], "Enabled") == "Enabled"
    # AWS shows no LastProcessingResult for an SQS queue's mapping
    assert "LastProcessingResult" not in lam.get_event_source_mapping(UUID=mapping["UUID"])
    time.sleep(0.3)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_report_batch_item_failures_keeps_only_failed_messages(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink, code=PARTIAL, timeout=2)
    url, arn = make_queue(sqs, unique_name("src"), VisibilityTimeout=2)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "good"},
                                                  {"Id": "b", "MessageBody": "bad"}])
    records = records_in(sqs, sink, 3, timeout=12)
    bodies = [r["body"] for r in records]
    assert bodies.count("bad") >= 2  # the failed message comes back after the visibility timeout
    assert bodies.count("good") == 1


def test_poison_message_goes_to_the_queue_dead_letter_queue(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink, timeout=2, FAIL="1")
    dlq_url, dlq_arn = make_queue(sqs, unique_name("dlq"))
    url, arn = make_queue(sqs, unique_name("src"), VisibilityTimeout=2,
                          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    message = receive(sqs, dlq_url, timeout=20)[0]
    assert message["Body"] == "poison"
    assert len(records_in(sqs, sink, 2, timeout=1)) >= 2


def test_filter_criteria_drop_unmatched_messages(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    url, arn = make_queue(sqs, unique_name("src"))
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1, FilterCriteria={
        "Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]})
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "noise"}))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order"}))
    records = records_in(sqs, sink, 2, timeout=4)
    assert [json.loads(r["body"]) for r in records] == [{"kind": "order"}]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_disable_and_enable_state_transitions(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    url, arn = make_queue(sqs, unique_name("src"))
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, Enabled=False)
    assert created["State"] == "Disabled"  # at once, as AWS answers it
    # AWS words a user's change of an SQS mapping USER_INITIATED (a stream's: "User action")
    assert created["StateTransitionReason"] == "USER_INITIATED"
    mapping_id = created["UUID"]
    assert lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Disabled"
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    assert records_in(sqs, sink, 1, timeout=1) == []
    enabling = lam.update_event_source_mapping(UUID=mapping_id, Enabled=True)
    assert (enabling["State"], enabling["StateTransitionReason"]) == ("Enabling", "USER_INITIATED")
    assert [r["body"] for r in records_in(sqs, sink, 1)] == ["waiting"]
    assert lam.update_event_source_mapping(UUID=mapping_id, Enabled=False)["State"] == "Disabling"
    assert wait_state(lam, mapping_id, "Disabled") == "Disabled"
    assert lam.delete_event_source_mapping(UUID=mapping_id)["State"] == "Deleting"
    with pytest.raises(ClientError) as info:
        lam.get_event_source_mapping(UUID=mapping_id)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_mapping_errors(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    url, arn = make_queue(sqs, unique_name("src"))
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=unique_name("nofn"))
    assert info.value.response["Error"] == {"Code": "InvalidParameterValueException", "Message": "Function does not exist"}
    short_url, short_arn = make_queue(sqs, unique_name("short"), VisibilityTimeout=5)
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=short_arn, FunctionName=function)
    assert info.value.response["Error"]["Message"] == \
        "Queue visibility timeout: 5 seconds is less than Function timeout: 30 seconds"
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=50)
    assert info.value.response["Error"]["Message"] == \
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
    for pattern in ("simple string", json.dumps({"eventSource": "aws:sqs"}), json.dumps({"body": []})):
        with pytest.raises(ClientError) as info:
            lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function,
                                            FilterCriteria={"Filters": [{"Pattern": pattern}]})
        assert info.value.response["Error"] == {"Code": "InvalidParameterValueException",
                                                "Message": "Invalid filter pattern definition."}
    first = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)
    assert info.value.response["Error"] == {
        "Code": "ResourceConflictException",
        "Message": f'An event source mapping with SQS arn (" {arn} ") and function (" {function.split(":")[6]} ") '
                   f'already exists. Please update or delete the existing mapping with UUID {first["UUID"]}'}
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=arn + "-missing", FunctionName=function)
    assert info.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
                   "SQS Error Message: The specified queue does not exist."}
    mappings = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert [m["EventSourceArn"] for m in mappings] == [arn]


def stream_table(ddb, name):
    return ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                            )["TableDescription"]["LatestStreamArn"]


def test_dynamodb_stream_records_reach_the_function_in_order(lam, sqs, ddb, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    table = unique_name("tbl")
    stream = stream_table(ddb, table)
    ddb.put_item(TableName=table, Item={"pk": {"S": "before"}})
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    BatchSize=100, MaximumBatchingWindowInSeconds=1)
    for i in range(5):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
    records = records_in(sqs, sink, 6)
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
    assert keys == ["before"] + [f"k{i}" for i in range(5)]
    record = records[1]
    assert (record["eventSource"], record["eventName"], record["eventSourceARN"]) == ("aws:dynamodb", "INSERT", stream)
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "k0"}, "v": {"N": "0"}}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)  # as AWS's events carry it


def test_dynamodb_stream_binary_attributes_reach_the_function_as_base64(lam, sqs, ddb, unique_name):
    """B and BS values (a binary key too) are base64 text in the function's event, as in
    GetRecords' answer (a record holding one used to stop the mapping)."""
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    table = unique_name("tbl")
    stream = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "B"}],
                              BillingMode="PAY_PER_REQUEST",
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                              )["TableDescription"]["LatestStreamArn"]
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    BatchSize=1)
    ddb.put_item(TableName=table, Item={"pk": {"B": b"\x00key"}, "data": {"B": b"foobar"}, "set": {"BS": [b"a", b"b"]}})
    ddb.put_item(TableName=table, Item={"pk": {"B": b"\x00key"}, "data": {"B": b"\xff"}})
    first, second = records_in(sqs, sink, 2)
    assert first["dynamodb"]["Keys"] == {"pk": {"B": "AGtleQ=="}}
    assert first["dynamodb"]["NewImage"] == {"pk": {"B": "AGtleQ=="}, "data": {"B": "Zm9vYmFy"}, "set": {"BS": ["YQ==", "Yg=="]}}
    assert second["eventName"] == "MODIFY"
    assert second["dynamodb"]["OldImage"]["data"] == {"B": "Zm9vYmFy"}
    assert second["dynamodb"]["NewImage"]["data"] == {"B": "/w=="}


def test_dynamodb_latest_skips_earlier_records(lam, sqs, ddb, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    table = unique_name("tbl")
    stream = stream_table(ddb, table)
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}})
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST")
    time.sleep(0.2)
    ddb.put_item(TableName=table, Item={"pk": {"S": "new"}})
    records = records_in(sqs, sink, 2, timeout=4)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["new"]


def test_stream_failure_retries_then_on_failure_destination(lam, sqs, ddb, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink, FAIL="1")
    failures_url, failures_arn = make_queue(sqs, unique_name("onfail"))
    table = unique_name("tbl")
    stream = stream_table(ddb, table)
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    MaximumRetryAttempts=1, BisectBatchOnFunctionError=False,
                                    DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "x"}})
    record = json.loads(receive(sqs, failures_url, timeout=15)[0]["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    info = record["DDBStreamBatchInfo"]
    assert (info["streamArn"], info["batchSize"]) == (stream, 1)
    # a DynamoDB record's time is to the second, and AWS prints it so (Kinesis's with milliseconds)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["approximateArrivalOfFirstRecord"])
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}


def test_stream_failure_to_an_s3_bucket_destination_carries_the_batch(lam, sqs, ddb, client, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink, FAIL="1")
    s3 = client("s3")
    bucket = unique_name("onfail-bucket").lower()
    s3.create_bucket(Bucket=bucket)
    table = unique_name("tbl")
    stream = stream_table(ddb, table)
    mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function,
                                              StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=0,
                                              DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "x"}, "data": {"B": b"raw"}})
    deadline = time.time() + 15
    while not (objects := s3.list_objects_v2(Bucket=bucket).get("Contents")) and time.time() < deadline:
        time.sleep(0.2)
    assert objects and len(objects) == 1
    record = json.loads(s3.get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read())
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    shard = record["DDBStreamBatchInfo"]["shardId"]
    moment = record["timestamp"][:19].replace("-", "/", 2)[:10], record["timestamp"][:19].replace(":", ".")
    assert objects[0]["Key"].startswith(f"aws/lambda/{mapping['UUID']}/{shard}/{moment[0]}/{moment[1]}-")
    assert [r["dynamodb"]["NewImage"] for r in record["payload"]["Records"]] == [{"pk": {"S": "x"}, "data": {"B": "cmF3"}}]


def test_stream_item_failures_exhausted_name_no_function_error(lam, sqs, ddb, unique_name):
    # the function answered (an invalid item failure: the whole batch fails), so AWS's OnFailure
    # record says functionError null, not Unhandled
    function = forwarder(lam, unique_name("fn"), make_queue(sqs, unique_name("sink"))[0],
                         code="def handler(event, context):\n    return {'batchItemFailures': [{'itemIdentifier': None}]}\n")
    failures_url, failures_arn = make_queue(sqs, unique_name("onfail"))
    table = unique_name("tbl")
    stream = stream_table(ddb, table)
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    MaximumRetryAttempts=1, FunctionResponseTypes=["ReportBatchItemFailures"],
                                    DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "x"}})
    record = json.loads(receive(sqs, failures_url, timeout=15)[0]["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None}


def test_mapping_survives_restart(tmp_path, unique_name):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint, "sqs")
        sink, _ = make_queue(sqs, "sink")
        function = forwarder(lam, "fn", sink)
        url, arn = make_queue(sqs, "src")
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=1)
        server.stop(kill=True)
        server = OvercastProcess(data_dir=str(tmp_path))
        lam, sqs = make_client(server.endpoint, "lambda"), make_client(server.endpoint, "sqs")
        sink = sink.replace(sink.split("/000000000000/")[0], server.endpoint)
        lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"SINK": sink}})
        sqs.send_message(QueueUrl=url.replace(url.split("/000000000000/")[0], server.endpoint), MessageBody="after")
        assert [r["body"] for r in records_in(sqs, sink, 1)] == ["after"]
    finally:
        server.stop()


def test_cli_create_event_source_mapping(aws_cli, lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    url, arn = make_queue(sqs, unique_name("src"))
    out = aws_cli("lambda", "create-event-source-mapping", "--function-name", function, "--event-source-arn", arn,
                  "--batch-size", "3")
    assert (out["BatchSize"], out["State"]) == (3, "Creating")
    sqs.send_message(QueueUrl=url, MessageBody="via cli")
    assert [r["body"] for r in records_in(sqs, sink, 1)] == ["via cli"]


WINDOWED = """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SINK"], MessageBody=json.dumps(event))
    total = (event.get("state") or {}).get("total", 0)
    total += sum(int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in event["Records"])
    return {"state": {"total": total}}
"""


def test_tumbling_window_aggregates_state_and_ends_with_a_final_invoke(lam, sqs, ddb, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink, code=WINDOWED)
    table = unique_name("tbl")
    stream = stream_table(ddb, table)
    lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON",
                                    TumblingWindowInSeconds=2, BatchSize=1)
    for i in (1, 2, 3):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
    events, deadline = [], time.time() + 10
    while time.time() < deadline:
        events += [json.loads(m["Body"]) for m in receive(sqs, sink, count=1, timeout=1)]
        finals = [e for e in events if e["isFinalInvokeForWindow"]]
        if sum(e["state"].get("total", 0) for e in finals) == 6:
            break
    finals = [e for e in events if e["isFinalInvokeForWindow"]]
    assert sum(e["state"]["total"] for e in finals) == 6
    assert all(e["Records"] == [] for e in finals)
    regular = [e for e in events if not e["isFinalInvokeForWindow"]]
    assert len(regular) == 3
    assert {"start", "end"} <= set(regular[0]["window"]) and regular[0]["shardId"]
    assert regular[0]["eventSourceARN"] == stream


def test_stream_mapping_starting_position_and_empty_filters(lam, sqs, ddb, unique_name):
    # AWS's recorded answers (LocalStack's test_create_event_source_validation, ..._filter_criteria_validation)
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    stream = stream_table(ddb, unique_name("tbl"))
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function)
    assert info.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
                   "Member must not be null."}
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="invalid")
    assert info.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'invalid' at 'startingPosition' failed to satisfy constraint: Member "
        "must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]")
    with pytest.raises(ClientError) as info:
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="AT_TIMESTAMP",
                                        StartingPositionTimestamp=time.time())
    assert info.value.response["Error"]["Message"] == f"Unsupported starting position for arn type: {stream}"
    mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST",
                                              FilterCriteria={"Filters": []})
    assert "FilterCriteria" not in mapping
    assert "FilterCriteria" not in lam.get_event_source_mapping(UUID=mapping["UUID"])
    assert mapping["StateTransitionReason"] == "User action"  # a stream's (an SQS queue's: USER_INITIATED)


def test_a_destination_a_stream_mapping_cannot_deliver_to_is_refused(lam, sqs, ddb, unique_name):
    """AWS keeps a stream's failed batches in an SQS queue, an SNS topic or an S3 bucket only, and
    a mapping has no OnSuccess destination: anything else is refused, on create and on update,
    rather than kept and never delivered to."""
    sink, _ = make_queue(sqs, unique_name("sink"))
    function = forwarder(lam, unique_name("fn"), sink)
    stream = stream_table(ddb, unique_name("tbl"))
    other = f"arn:aws:lambda:us-east-1:000000000000:function:{function}"
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST",
                                        DestinationConfig={"OnFailure": {"Destination": other}})
    assert e.value.response["Error"]["Message"] == (
        f"The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={other})) is invalid.")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST",
                                        DestinationConfig={"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}})
    assert e.value.response["Error"]["Message"] == "Unsupported DestinationConfig parameter for given event source mapping type."
    mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST")
    wait_state(lam, mapping["UUID"], "Enabled")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_event_source_mapping(UUID=mapping["UUID"], DestinationConfig={"OnFailure": {"Destination": other}})
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["DestinationConfig"] == {"OnFailure": {}}
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
