"""Cluster mode (docs/cluster.md, "Caches of stored configuration"): what a node keeps in memory
of stored configuration (an SQS queue's attributes, an API Gateway stage, an HTTP API's routes, an
EventBridge bus's rules, a DynamoDB table's definition) is dropped on every node when any node
changes it, so the very next request to another node applies the change. And a usage plan's
quota admits exactly its limit across nodes racing for it. Three nodes over one fresh PostgreSQL
database; skips without one, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from apigatewayv2_support import api_url
from appsync_support import create_api, query
from botocore.exceptions import ClientError
from cluster_support import create_database, start_nodes, stop_nodes
from conftest import make_client


@pytest.fixture(scope="module")
def database():
    url, drop = create_database()
    yield url
    drop()


@pytest.fixture(scope="module")
def nodes(database):
    started = start_nodes(database, 3)
    yield started
    stop_nodes(started)


@pytest.fixture
def endpoints(nodes):
    return [node.endpoint for node in nodes]  # (the nodes' logs in the report of a failure: conftest.py)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- SQS -----------------------------------------------------------------------------------------


def test_queue_attributes_set_on_one_node_apply_on_the_next_request_to_another(endpoints):
    a, b, _ = (make_client(e, "sqs") for e in endpoints)
    url = a.create_queue(QueueName=name("q"))["QueueUrl"]
    dlq_url = a.create_queue(QueueName=name("dlq"))["QueueUrl"]
    dlq_arn = a.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # node B reads the queue (and keeps its attributes): no delay, visible at once
    b.send_message(QueueUrl=url, MessageBody="before")
    got = b.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    assert [m["Body"] for m in got] == ["before"]
    b.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])

    a.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "30"})
    assert b.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "30"}
    b.send_message(QueueUrl=url, MessageBody="delayed")  # delayed by the queue's new DelaySeconds
    assert b.receive_message(QueueUrl=url).get("Messages", []) == []
    a.purge_queue(QueueUrl=url)

    a.set_queue_attributes(QueueUrl=url, Attributes={
        "DelaySeconds": "0", "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
    b.send_message(QueueUrl=url, MessageBody="poison")
    first = b.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in first] == ["poison"]
    # invisible for the queue's new VisibilityTimeout (1 s, not the 30 s node B first read) ...
    assert b.receive_message(QueueUrl=url).get("Messages", []) == []
    time.sleep(1.5)
    # ... then, received once already (maxReceiveCount 1), moved to the dead-letter queue by B
    assert b.receive_message(QueueUrl=url).get("Messages", []) == []
    moved = b.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in moved] == ["poison"]


def test_a_queue_deleted_on_one_node_is_gone_on_another(endpoints):
    a, b, _ = (make_client(e, "sqs") for e in endpoints)
    url = a.create_queue(QueueName=name("gone"))["QueueUrl"]
    b.send_message(QueueUrl=url, MessageBody="x")
    a.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        b.send_message(QueueUrl=url, MessageBody="y")
    assert e.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


# -- API Gateway REST ----------------------------------------------------------------------------


def _mock_api(apigw, template: str, key_required: bool = False) -> str:
    api_id = apigw.create_rest_api(name=name("rest"))["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE",
                     apiKeyRequired=key_required)
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api_id, resourceId=root, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api_id, resourceId=root, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": template})
    return api_id


def test_stage_variable_and_redeployment_on_one_node_serve_on_another(endpoints):
    a = make_client(endpoints[0], "apigateway")
    api_id = _mock_api(a, '{"v": "$stageVariables.v", "from": "first"}')
    a.create_deployment(restApiId=api_id, stageName="prod", variables={"v": "1"})
    through_b = f"{endpoints[1]}/_aws/execute-api/{api_id}/prod/"
    assert httpx.get(through_b).json() == {"v": "1", "from": "first"}  # node B compiles the stage

    a.update_stage(restApiId=api_id, stageName="prod",
                   patchOperations=[{"op": "replace", "path": "/variables/v", "value": "2"}])
    assert httpx.get(through_b).json() == {"v": "2", "from": "first"}

    root = a.get_resources(restApiId=api_id)["items"][0]["id"]
    a.put_integration_response(restApiId=api_id, resourceId=root, httpMethod="GET", statusCode="200",
                               responseTemplates={"application/json": '{"v": "$stageVariables.v", "from": "second"}'})
    assert httpx.get(through_b).json() == {"v": "2", "from": "first"}  # not deployed yet
    a.create_deployment(restApiId=api_id, stageName="prod")
    assert httpx.get(through_b).json() == {"v": "2", "from": "second"}

    a.delete_stage(restApiId=api_id, stageName="prod")
    assert httpx.get(through_b).status_code == 403  # AWS's answer for a stage that is not deployed


def test_an_api_key_disabled_on_one_node_is_refused_by_another(endpoints):
    a = make_client(endpoints[0], "apigateway")
    api_id = _mock_api(a, '{"ok": true}', key_required=True)
    a.create_deployment(restApiId=api_id, stageName="prod")
    key = a.create_api_key(name=name("key"), enabled=True)
    plan = a.create_usage_plan(name=name("plan"), apiStages=[{"apiId": api_id, "stage": "prod"}])
    a.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    through_c = f"{endpoints[2]}/_aws/execute-api/{api_id}/prod/"
    assert httpx.get(through_c, headers={"x-api-key": key["value"]}).status_code == 200
    a.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    refused = httpx.get(through_c, headers={"x-api-key": key["value"]})
    assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}


def test_a_quota_shared_by_three_nodes_admits_exactly_its_limit(endpoints):
    a = make_client(endpoints[0], "apigateway")
    api_id = _mock_api(a, '{"ok": true}', key_required=True)
    a.create_deployment(restApiId=api_id, stageName="prod")
    key = a.create_api_key(name=name("key"), enabled=True)
    limit = 7
    plan = a.create_usage_plan(name=name("plan"), apiStages=[{"apiId": api_id, "stage": "prod"}],
                               quota={"limit": limit, "period": "DAY"})
    a.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    urls = [f"{e}/_aws/execute-api/{api_id}/prod/" for e in endpoints]
    start = threading.Barrier(24)

    def call(i: int) -> httpx.Response:
        start.wait(10)  # all at once, round-robin over the nodes
        return httpx.get(urls[i % 3], headers={"x-api-key": key["value"]}, timeout=30)

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(call, range(24)))
    assert sorted(r.status_code for r in answers) == [200] * limit + [429] * (24 - limit)
    assert all(r.json() == {"message": "Limit Exceeded"} for r in answers if r.status_code == 429)
    for url in urls:  # used up, on every node
        assert httpx.get(url, headers={"x-api-key": key["value"]}).status_code == 429
    usage = a.get_usage(usagePlanId=plan["id"], keyId=key["id"], startDate=time.strftime("%Y-%m-%d"),
                        endDate=time.strftime("%Y-%m-%d"))
    assert usage["items"][key["id"]][0][0] == limit


def test_two_nodes_racing_for_the_last_request_of_a_quota_admit_one(endpoints, database):
    """Both nodes' requests wait on today's usage row (locked here), as two nodes admitting at the
    same moment would wait on each other: the one that gets the row second sees the quota used up."""
    import psycopg

    a = make_client(endpoints[0], "apigateway")
    api_id = _mock_api(a, '{"ok": true}', key_required=True)
    a.create_deployment(restApiId=api_id, stageName="prod")
    key = a.create_api_key(name=name("key"), enabled=True)
    plan = a.create_usage_plan(name=name("plan"), apiStages=[{"apiId": api_id, "stage": "prod"}],
                               quota={"limit": 3, "period": "MONTH"})
    a.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    urls = [f"{e}/_aws/execute-api/{api_id}/prod/" for e in endpoints]
    headers = {"x-api-key": key["value"]}
    assert [httpx.get(url, headers=headers).status_code for url in urls[:2]] == [200, 200]
    with psycopg.connect(database) as lock:  # one request of the quota left
        lock.execute("UPDATE apigw_usage SET used = used WHERE plan_id = %s", (plan["id"],))
        with ThreadPoolExecutor(2) as pool:
            racing = [pool.submit(httpx.get, url, headers=headers, timeout=30) for url in urls[1:]]
            time.sleep(1.0)  # both nodes are at their admission, waiting for the row
            lock.commit()
            answers = sorted(f.result().status_code for f in racing)
    assert answers == [200, 429]
    assert httpx.get(urls[0], headers=headers).status_code == 429


# -- API Gateway HTTP APIs -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def backend():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_route_changed_on_one_node_is_served_by_another(endpoints, backend):
    a = make_client(endpoints[0], "apigatewayv2")
    api_id = a.create_api(Name=name("http"), ProtocolType="HTTP")["ApiId"]
    integration = a.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                       IntegrationUri=backend + "/backend", PayloadFormatVersion="1.0")
    route = a.create_route(ApiId=api_id, RouteKey="GET /a", Target="integrations/" + integration["IntegrationId"])
    a.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    b = api_url(endpoints[1], api_id)
    assert httpx.get(b + "/a").json() == {"path": "/backend"}
    assert httpx.get(b + "/b").status_code == 404

    a.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="GET /b")
    assert httpx.get(b + "/b").json() == {"path": "/backend"}
    assert httpx.get(b + "/a").json() == {"message": "Not Found"}

    a.update_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"], IntegrationUri=backend + "/other")
    assert httpx.get(b + "/b").json() == {"path": "/other"}


# -- AppSync -------------------------------------------------------------------------------------


def test_a_resolver_updated_on_one_node_answers_on_another(endpoints):
    a = make_client(endpoints[0], "appsync")
    api_id, key = create_api(a, name("gql"), "type Query { hello: String }")
    a.create_data_source(apiId=api_id, name="none", type="NONE")

    def resolve(text: str, create: bool = False) -> None:
        (a.create_resolver if create else a.update_resolver)(
            apiId=api_id, typeName="Query", fieldName="hello", dataSourceName="none",
            requestMappingTemplate='{"version": "2018-05-29", "payload": {}}',
            responseMappingTemplate=json.dumps(text))

    resolve("first", create=True)
    assert query(endpoints[1], api_id, key, "{ hello }").json() == {"data": {"hello": "first"}}
    resolve("second")
    assert query(endpoints[1], api_id, key, "{ hello }").json() == {"data": {"hello": "second"}}


# -- EventBridge, SNS, DynamoDB ------------------------------------------------------------------


def test_a_rule_changed_on_one_node_routes_on_another(endpoints):
    ev_a, ev_b = make_client(endpoints[0], "events"), make_client(endpoints[1], "events")
    sqs = make_client(endpoints[2], "sqs")
    url = sqs.create_queue(QueueName=name("ev"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = name("rule")
    ev_a.put_rule(Name=rule, EventPattern=json.dumps({"source": ["first"]}))
    ev_a.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])

    def put(source: str) -> None:
        assert ev_b.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": "{}"}])["FailedEntryCount"] == 0

    put("first")  # node B compiles the bus's rules
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert json.loads(got[0]["Body"])["source"] == "first"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    ev_a.put_rule(Name=rule, EventPattern=json.dumps({"source": ["second"]}))
    put("first")
    put("second")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert [json.loads(m["Body"])["source"] for m in got] == ["second"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_a_subscription_removed_on_one_node_is_not_delivered_by_another(endpoints):
    sns_a, sns_b = make_client(endpoints[0], "sns"), make_client(endpoints[1], "sns")
    sqs = make_client(endpoints[2], "sqs")
    url = sqs.create_queue(QueueName=name("sub"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns_a.create_topic(Name=name("topic"))["TopicArn"]
    sub = sns_a.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                          Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    sns_b.publish(TopicArn=topic, Message="one")  # node B reads the topic's subscribers
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]] == ["one"]
    sns_a.unsubscribe(SubscriptionArn=sub)
    sns_b.publish(TopicArn=topic, Message="two")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []) == []


def test_a_table_deleted_on_one_node_is_not_found_on_another(endpoints):
    a, b, _ = (make_client(e, "dynamodb") for e in endpoints)
    table = name("t")
    a.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    b.put_item(TableName=table, Item={"pk": {"S": "k"}})
    a.update_table(TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    b.put_item(TableName=table, Item={"pk": {"S": "k2"}})  # recorded in the stream enabled on node A
    streams = make_client(endpoints[2], "dynamodbstreams")
    stream_arn = a.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["k2"]
    a.delete_table(TableName=table)
    with pytest.raises(ClientError) as e:
        b.get_item(TableName=table, Key={"pk": {"S": "k"}})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_node_cut_off_from_the_database_forgets_what_it_cached(database, request):
    """Node B misses the invalidations sent while its notification connection is down: it drops
    every cache when the connection is lost (and again when it is back), so what node A changed
    meanwhile is read anew."""
    from cluster_support import TcpProxy

    proxy = TcpProxy()
    nodes = start_nodes(database, 1) + start_nodes(proxy.url(database), 1)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        a, b = (make_client(n.endpoint, "sqs") for n in nodes)
        url = a.create_queue(QueueName=name("cut"))["QueueUrl"]
        b.send_message(QueueUrl=url, MessageBody="cached")  # node B keeps the queue's attributes
        proxy.cut()
        time.sleep(0.5)
        a.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "30"})
        proxy.restore()
        restored = time.monotonic()
        while True:
            try:
                attributes = b.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]
                break
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ServiceUnavailable"
                assert time.monotonic() - restored < 15, "no recovery"
                time.sleep(0.2)
        assert attributes == {"DelaySeconds": "30"}
    finally:
        stop_nodes(nodes)
        proxy.close()


def test_a_node_that_has_just_joined_applies_a_change_made_on_another_at_once(endpoints, database):
    """A joining node tells the others (they would otherwise see it at their next heartbeat, up
    to 2 s later, and answer a change meanwhile without waiting for it to drop what it kept)."""
    a = make_client(endpoints[0], "sqs")
    url = a.create_queue(QueueName=name("join"))["QueueUrl"]
    joined = start_nodes(database, 1)[0]
    try:
        b = make_client(joined.endpoint, "sqs")
        b.send_message(QueueUrl=url, MessageBody="x")  # the new node keeps the queue's attributes
        a.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "7"})
        assert b.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "7"}
    finally:
        stop_nodes([joined])


def test_a_dead_node_holds_one_change_for_at_most_the_ack_time_not_every_change(endpoints, database):
    """A node killed with kill -9 answers no invalidation until the others know it dead (its
    heartbeat LEASE_SECONDS old): the first change waits ACK_SECONDS for it, the next ones not."""
    from overcast.storage.coordination import ACK_SECONDS, HEARTBEAT_SECONDS

    extra = start_nodes(database, 1)[0]
    a = make_client(endpoints[0], "sqs")
    url = a.create_queue(QueueName=name("dead"))["QueueUrl"]
    make_client(extra.endpoint, "sqs").send_message(QueueUrl=url, MessageBody="x")  # the extra node knows the queue
    time.sleep(HEARTBEAT_SECONDS * 1.5)  # node A sees the nodes alive at its heartbeats: the extra one too by now
    extra.stop(kill=True)
    timings = []
    for delay in ("1", "2", "3"):
        started = time.monotonic()
        a.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": delay})
        timings.append(time.monotonic() - started)
    assert ACK_SECONDS - 0.5 < timings[0] < ACK_SECONDS + 3, timings
    assert max(timings[1:]) < 1.5, timings
    # the live nodes still apply a change at once
    assert make_client(endpoints[1], "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "3"}


def test_a_reset_on_one_node_is_seen_by_the_others(endpoints):
    """`overcast reset` deletes every service's rows: the other nodes drop what they kept of them
    (last in this file: it empties the database the other tests use)."""
    a, b, _ = (make_client(e, "sqs") for e in endpoints)
    url = a.create_queue(QueueName=name("reset"))["QueueUrl"]
    b.send_message(QueueUrl=url, MessageBody="cached")  # node B keeps the queue's attributes
    assert httpx.post(f"{endpoints[0]}/_overcast/reset", json={}, timeout=30).json() == {"reset": True}
    with pytest.raises(ClientError) as e:
        b.send_message(QueueUrl=url, MessageBody="after")
    assert e.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
