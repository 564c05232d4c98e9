"""Queries and mutations at an API's GRAPHQL uri (httpx): VTL resolvers on NONE, DynamoDB,
Lambda, HTTP and EventBridge data sources, pipelines, and errors shaped as AppSync shapes them."""

from __future__ import annotations

import json

import httpx
import pytest
from appsync_support import NONE_REQUEST, RESULT_RESPONSE, create_api, graphql_url, query
from lambda_functions import create_python

SCHEMA = """
type Query {
  echo(msg: String!): String
  fail(kind: String): Item
  partial: Item
  getItem(id: ID!): Item
  itemsByOwner(owner: String!, limit: Int, nextToken: String): ItemPage
  scanItems(limit: Int, nextToken: String): ItemPage
  batchGet(ids: [ID!]!): [Item]
  fromLambda(x: Int): AWSJSON
  wrapped(wrap: Boolean): Wrapper
  getTwo(a: ID!, b: ID!): [Item]
  lambdaFails: String
  pipeline(n: Int!): AWSJSON
  health: AWSJSON
  when(d: AWSDateTime!): String
  parents: [Parent]
  broken: String
}
type Mutation {
  putItem(id: ID!, owner: String, name: String, count: Int): Item
  putIfAbsent(id: ID!, name: String): Item
  incr(id: ID!, by: Int!): Item
  deleteItem(id: ID!): Item
  putTwo(a: ID!, b: ID!): [ID]
  batchPut(ids: [ID!]!): [Item]
  batchDelete(ids: [ID!]!): [ID]
  emit(detail: AWSJSON!): AWSJSON
}
type Item { id: ID! owner: String name: String count: Int }
type ItemPage { items: [Item] nextToken: String }
type Parent { id: ID! child: String direct: AWSJSON }
type Wrapper { event: AWSJSON nested: Parent }
"""

GET = '{"version": "2017-02-28", "operation": "GetItem", "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}}'
PUT = """#set($attrs = $util.map.copyAndRemoveAllKeys($ctx.args, ["id"]))
{"version": "2017-02-28", "operation": "PutItem", "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)},
 "attributeValues": $util.dynamodb.toMapValuesJson($attrs)}"""


@pytest.fixture(scope="module")
def api(client, endpoint):
    import uuid

    appsync, ddb, lam = client("appsync"), client("dynamodb"), client("lambda")
    table = f"appsync-items-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                           {"AttributeName": "owner", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     GlobalSecondaryIndexes=[{"IndexName": "byOwner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                                              "Projection": {"ProjectionType": "ALL"}}])
    fn = f"appsync-echo-{uuid.uuid4().hex[:8]}"
    create_python(lam, fn, "def handler(event, context):\n"
                           "    if isinstance(event, list):\n"
                           "        return [{'id': e['source']['id'], 'n': i} for i, e in enumerate(event)]\n"
                           "    if event.get('arguments', {}).get('wrap'):\n"
                           "        return {'event': event, 'nested': {'id': 'n'}}\n"
                           "    if event.get('arguments', {}).get('x') == -1:\n"
                           "        raise ValueError('negative')\n"
                           "    return event\n")
    api_id, key = create_api(appsync, f"graphql-{uuid.uuid4().hex[:8]}", SCHEMA)

    def ds(name, kind, **config):
        appsync.create_data_source(apiId=api_id, name=name, type=kind, **config)

    def resolve(type_name, field, source, request=None, response=RESULT_RESPONSE, **extra):
        args = {"apiId": api_id, "typeName": type_name, "fieldName": field, "dataSourceName": source, **extra}
        if request is not None:
            args["requestMappingTemplate"] = request
        if response is not None:
            args["responseMappingTemplate"] = response
        appsync.create_resolver(**args)

    fn_arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    ds("none", "NONE")
    ds("items", "AMAZON_DYNAMODB", dynamodbConfig={"tableName": table, "awsRegion": "us-east-1"})
    ds("fn", "AWS_LAMBDA", lambdaConfig={"lambdaFunctionArn": fn_arn})
    ds("web", "HTTP", httpConfig={"endpoint": endpoint})
    ds("bus", "AMAZON_EVENTBRIDGE", eventBridgeConfig={"eventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/default"})
    resolve("Query", "echo", "none", NONE_REQUEST, "$util.toJson($ctx.result.msg)")
    resolve("Query", "fail", "none", NONE_REQUEST,
            '#if($ctx.result.kind == "error")$util.error("Item is gone", "ItemGone", {"id": "x"}, {"hint": 1})#end'
            '#if($ctx.result.kind == "unauthorized")$util.unauthorized()#end{}')
    resolve("Query", "partial", "none", NONE_REQUEST,
            '$util.appendError("careful", "Warning"){"id": "p1", "name": "partial"}')
    resolve("Query", "broken", "none", '{"version": "2017-02-28", "payload": #if(}', None)
    resolve("Query", "getItem", "items", GET)
    resolve("Query", "itemsByOwner", "items",
            '{"version": "2017-02-28", "operation": "Query", "index": "byOwner", '
            '"query": {"expression": "#o = :o", "expressionNames": {"#o": "owner"}, '
            '"expressionValues": {":o": $util.dynamodb.toDynamoDBJson($ctx.args.owner)}}, '
            '"limit": $util.defaultIfNull($ctx.args.limit, 20), "nextToken": $util.toJson($ctx.args.nextToken)}')
    resolve("Query", "scanItems", "items",
            '{"version": "2017-02-28", "operation": "Scan", "limit": $ctx.args.limit, "nextToken": $util.toJson($ctx.args.nextToken)}')
    resolve("Query", "batchGet", "items",
            '#set($keys = [])#foreach($id in $ctx.args.ids)$util.qr($keys.add({"id": $util.dynamodb.toDynamoDB($id)}))#end'
            f'{{"version": "2018-05-29", "operation": "BatchGetItem", "tables": {{"{table}": {{"keys": $util.toJson($keys)}}}}}}',
            f'$util.toJson($ctx.result.data["{table}"])')
    resolve("Mutation", "putItem", "items", PUT)
    resolve("Mutation", "putIfAbsent", "items",
            '{"version": "2018-05-29", "operation": "PutItem", "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}, '
            '"attributeValues": {"name": $util.dynamodb.toDynamoDBJson($ctx.args.name)}, '
            '"condition": {"expression": "attribute_not_exists(id)"}}',
            '#if($ctx.error)$util.error($ctx.error.message, $ctx.error.type, $ctx.result)#end$util.toJson($ctx.result)')
    resolve("Mutation", "incr", "items",
            '{"version": "2017-02-28", "operation": "UpdateItem", "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}, '
            '"update": {"expression": "ADD #c :by", "expressionNames": {"#c": "count"}, '
            '"expressionValues": {":by": $util.dynamodb.toDynamoDBJson($ctx.args.by)}}}')
    resolve("Mutation", "deleteItem", "items",
            '{"version": "2017-02-28", "operation": "DeleteItem", "key": {"id": $util.dynamodb.toDynamoDBJson($ctx.args.id)}}')
    resolve("Mutation", "putTwo", "items",
            '{"version": "2018-05-29", "operation": "TransactWriteItems", "transactItems": ['
            f'{{"table": "{table}", "operation": "PutItem", "key": {{"id": $util.dynamodb.toDynamoDBJson($ctx.args.a)}}}},'
            f'{{"table": "{table}", "operation": "PutItem", "key": {{"id": $util.dynamodb.toDynamoDBJson($ctx.args.b)}}}}]}}',
            "#set($ids = [])#foreach($k in $ctx.result.keys)$util.qr($ids.add($k.id))#end$util.toJson($ids)")
    resolve("Query", "fromLambda", "fn", None, None)  # direct Lambda resolver
    resolve("Query", "wrapped", "fn", None, None)
    keys = '#set($keys = [])#foreach($id in $ctx.args.ids)$util.qr($keys.add({"id": $util.dynamodb.toDynamoDB($id)}))#end'
    resolve("Mutation", "batchPut", "items", keys +
            f'{{"version": "2018-05-29", "operation": "BatchPutItem", "tables": {{"{table}": $util.toJson($keys)}}}}',
            f'$util.toJson($ctx.result.data["{table}"])')
    resolve("Mutation", "batchDelete", "items", keys +
            f'{{"version": "2018-05-29", "operation": "BatchDeleteItem", "tables": {{"{table}": $util.toJson($keys)}}}}',
            f'#set($ids = [])#foreach($k in $ctx.result.data["{table}"])$util.qr($ids.add($k.id))#end$util.toJson($ids)')
    resolve("Query", "getTwo", "items",
            '{"version": "2018-05-29", "operation": "TransactGetItems", "transactItems": ['
            f'{{"table": "{table}", "key": {{"id": $util.dynamodb.toDynamoDBJson($ctx.args.a)}}}},'
            f'{{"table": "{table}", "key": {{"id": $util.dynamodb.toDynamoDBJson($ctx.args.b)}}}}]}}',
            "$util.toJson($ctx.result.items)")
    resolve("Query", "lambdaFails", "fn", '{"version": "2018-05-29", "operation": "Invoke", "payload": {"arguments": {"x": -1}}}',
            '#if($ctx.error)$util.error($ctx.error.message, $ctx.error.type)#end$util.toJson($ctx.result)')
    resolve("Query", "parents", "none", '{"version": "2018-05-29", "payload": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}')
    resolve("Parent", "child", "fn", '{"version": "2018-05-29", "operation": "BatchInvoke", "payload": {"source": $util.toJson($ctx.source)}}',
            '$util.toJson("${ctx.result.id}-${ctx.result.n}")')
    resolve("Parent", "direct", "fn", None, None, maxBatchSize=10)  # direct Lambda resolver, batched
    resolve("Query", "health", "web", '{"version": "2018-05-29", "method": "GET", "resourcePath": "/_overcast/health", '
            '"params": {"headers": {"accept": "application/json"}}}',
            '$util.toJson({"status": $ctx.result.statusCode, "body": $util.parseJson($ctx.result.body).status})')
    resolve("Query", "when", "none", '{"version": "2018-05-29", "payload": $util.toJson($ctx.args.d)}',
            '$util.toJson($util.time.epochMilliSecondsToISO8601($util.time.parseISO8601ToEpochMilliSeconds($ctx.result)))')
    resolve("Mutation", "emit", "bus",
            '{"version": "2018-05-29", "operation": "PutEvents", "events": [{"source": "graphql", "detailType": "emitted", '
            '"detail": $ctx.args.detail}]}')
    stash = appsync.create_function(apiId=api_id, name="stash", dataSourceName="none", functionVersion="2018-05-29",
                                    requestMappingTemplate='#set($n2 = $ctx.args.n * 2)$util.qr($ctx.stash.put("n2", $n2)){"version": "2018-05-29", "payload": {"first": true}}',
                                    responseMappingTemplate=RESULT_RESPONSE)["functionConfiguration"]["functionId"]
    second = appsync.create_function(apiId=api_id, name="second", dataSourceName="none", functionVersion="2018-05-29",
                                     requestMappingTemplate='{"version": "2018-05-29", "payload": {"prev": $util.toJson($ctx.prev.result), "n2": $ctx.stash.n2}}',
                                     responseMappingTemplate=RESULT_RESPONSE)["functionConfiguration"]["functionId"]
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="pipeline", kind="PIPELINE",
                            pipelineConfig={"functions": [stash, second]},
                            requestMappingTemplate='$util.qr($ctx.stash.put("before", true)){}',
                            responseMappingTemplate='$util.toJson({"last": $ctx.prev.result, "before": $ctx.stash.before})')
    return {"id": api_id, "key": key, "endpoint": endpoint, "table": table, "function": fn}


def gql(api, text, variables=None, **kwargs):
    return query(api["endpoint"], api["id"], api["key"], text, variables, **kwargs)


def test_query_resolved_by_a_none_data_source(api):
    r = gql(api, 'query($m: String!) { echo(msg: $m) }', {"m": "hello"})
    assert r.status_code == 200
    assert r.json() == {"data": {"echo": "hello"}}


def test_host_form_url_routes_to_the_api(api):
    r = httpx.post(f"{api['endpoint']}/graphql", json={"query": '{ echo(msg: "h") }'},
                   headers={"x-api-key": api["key"], "host": f"{api['id']}.appsync-api.us-east-1.localhost.localstack.cloud"})
    assert r.json() == {"data": {"echo": "h"}}


@pytest.mark.postgres_e2e
def test_missing_api_key_answers_401(api):
    r = query(api["endpoint"], api["id"], None, '{ echo(msg: "x") }')
    assert r.status_code == 401
    assert r.json() == {"errors": [{"errorType": "UnauthorizedException", "message": "You are not authorized to make this call."}]}


def test_wrong_api_key_answers_401(api):
    assert query(api["endpoint"], api["id"], "da2-nope", '{ echo(msg: "x") }').status_code == 401


def test_invalid_query_answers_400_with_validation_errors(api):
    r = gql(api, "{ nope }")
    assert r.status_code == 400
    error = r.json()["errors"][0]
    assert "nope" in error["message"] and error["locations"] == [{"line": 1, "column": 3, "sourceName": None}]


def test_query_syntax_error_answers_400(api):
    r = gql(api, "{ echo(msg: ")
    assert r.status_code == 400 and "Syntax" in r.json()["errors"][0]["message"]


def test_malformed_json_body_answers_400(api):
    r = httpx.post(graphql_url(api["endpoint"], api["id"]), content=b"{nope", headers={"x-api-key": api["key"]})
    assert r.status_code == 400
    assert r.json()["errors"][0]["errorType"] == "MalformedHttpRequestException"


def test_unknown_api_answers_404(api):
    assert query(api["endpoint"], "doesnotexist", api["key"], "{ a }").status_code == 404


def test_util_error_is_shaped_as_appsync_shapes_it(api):
    r = gql(api, '{ fail(kind: "error") { id } }')
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"fail": None}
    assert body["errors"] == [{"path": ["fail"], "data": {"id": "x"}, "errorType": "ItemGone", "errorInfo": {"hint": 1},
                               "locations": [{"line": 1, "column": 3, "sourceName": None}], "message": "Item is gone"}]


def test_util_unauthorized_names_field_and_type(api):
    error = gql(api, '{ fail(kind: "unauthorized") { id } }').json()["errors"][0]
    assert error["errorType"] == "Unauthorized"
    assert error["message"] == "Not Authorized to access fail on type Query"


def test_append_error_keeps_the_data(api):
    body = gql(api, "{ partial { id name } }").json()
    assert body["data"] == {"partial": {"id": "p1", "name": "partial"}}
    assert body["errors"][0]["message"] == "careful" and body["errors"][0]["errorType"] == "Warning"
    assert body["errors"][0]["path"] == ["partial"]


def test_template_that_does_not_parse_is_a_field_error(api):
    body = gql(api, "{ broken }").json()
    assert body["data"] == {"broken": None}
    assert body["errors"][0]["errorType"] == "MappingTemplate"


@pytest.mark.postgres_e2e
def test_dynamodb_put_item_then_get_item(api):
    put = gql(api, 'mutation { putItem(id: "i1", owner: "ann", name: "first", count: 1) { id owner name count } }').json()
    assert put == {"data": {"putItem": {"id": "i1", "owner": "ann", "name": "first", "count": 1}}}
    got = gql(api, '{ getItem(id: "i1") { id name count } }').json()
    assert got == {"data": {"getItem": {"id": "i1", "name": "first", "count": 1}}}


def test_dynamodb_get_item_of_a_missing_key_is_null(api):
    assert gql(api, '{ getItem(id: "missing") { id } }').json() == {"data": {"getItem": None}}


@pytest.mark.postgres_e2e
def test_dynamodb_query_on_an_index_pages_with_next_token(api):
    for i in range(3):
        gql(api, f'mutation {{ putItem(id: "q{i}", owner: "qowner", name: "n{i}") {{ id }} }}')
    first = gql(api, '{ itemsByOwner(owner: "qowner", limit: 2) { items { id } nextToken } }').json()["data"]["itemsByOwner"]
    assert len(first["items"]) == 2 and first["nextToken"]
    rest = gql(api, 'query($t: String) { itemsByOwner(owner: "qowner", limit: 2, nextToken: $t) { items { id } nextToken } }',
               {"t": first["nextToken"]}).json()["data"]["itemsByOwner"]
    ids = {i["id"] for i in first["items"] + rest["items"]}
    assert ids == {"q0", "q1", "q2"} and rest["nextToken"] is None


def test_dynamodb_scan_returns_items(api):
    gql(api, 'mutation { putItem(id: "s1", owner: "s") { id } }')
    page = gql(api, "{ scanItems(limit: 100) { items { id } } }").json()["data"]["scanItems"]
    assert "s1" in {i["id"] for i in page["items"]}


def test_dynamodb_update_item_returns_the_new_item(api):
    gql(api, 'mutation { putItem(id: "u1", count: 1) { id } }')
    out = gql(api, 'mutation { incr(id: "u1", by: 5) { id count } }').json()
    assert out == {"data": {"incr": {"id": "u1", "count": 6}}}


def test_dynamodb_delete_item_returns_the_old_item(api):
    gql(api, 'mutation { putItem(id: "d1", name: "gone") { id } }')
    assert gql(api, 'mutation { deleteItem(id: "d1") { name } }').json() == {"data": {"deleteItem": {"name": "gone"}}}
    assert gql(api, '{ getItem(id: "d1") { id } }').json() == {"data": {"getItem": None}}


def test_dynamodb_condition_failure_has_its_error_type_and_current_item(api):
    assert gql(api, 'mutation { putIfAbsent(id: "c1", name: "one") { name } }').json()["data"]["putIfAbsent"] == {"name": "one"}
    body = gql(api, 'mutation { putIfAbsent(id: "c1", name: "two") { name } }').json()
    assert body["data"] == {"putIfAbsent": None}
    assert body["errors"][0]["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    assert body["errors"][0]["message"].startswith("The conditional request failed")


def test_dynamodb_batch_get_item_keeps_the_keys_order(api):
    gql(api, 'mutation { putItem(id: "b1", name: "one") { id } }')
    gql(api, 'mutation { putItem(id: "b2", name: "two") { id } }')
    body = gql(api, '{ batchGet(ids: ["b2", "nope", "b1"]) { id name } }').json()
    assert body == {"data": {"batchGet": [{"id": "b2", "name": "two"}, None, {"id": "b1", "name": "one"}]}}


@pytest.mark.postgres_e2e
def test_dynamodb_transact_write_items(api):
    assert gql(api, 'mutation { putTwo(a: "t1", b: "t2") }').json() == {"data": {"putTwo": ["t1", "t2"]}}
    assert gql(api, '{ getItem(id: "t2") { id } }').json() == {"data": {"getItem": {"id": "t2"}}}


@pytest.mark.postgres_e2e
def test_direct_lambda_resolver_receives_appsync_event(api):
    body = gql(api, "query Q($x: Int) { fromLambda(x: $x) }", {"x": 3}, headers={"x-trace": "t1"}).json()
    event = json.loads(body["data"]["fromLambda"])
    assert event["arguments"] == {"x": 3}
    assert event["info"]["fieldName"] == "fromLambda" and event["info"]["parentTypeName"] == "Query"
    assert event["info"]["variables"] == {"x": 3}
    assert event["identity"] is None and event["source"] is None
    assert event["request"]["headers"]["x-trace"] == "t1"
    assert "x-api-key" not in event["request"]["headers"]
    assert event["stash"] == {} and event["prev"] is None


def test_lambda_event_info_lists_the_selection_set(api):
    body = gql(api, "{ wrapped(wrap: true) { event nested { id } } }").json()
    event = json.loads(body["data"]["wrapped"]["event"])
    assert event["info"]["selectionSetList"] == ["event", "nested", "nested/id"]
    assert "nested" in event["info"]["selectionSetGraphQL"]
    assert body["data"]["wrapped"]["nested"] == {"id": "n"}


@pytest.mark.postgres_e2e
def test_dynamodb_batch_put_and_batch_delete(api):
    put = gql(api, 'mutation { batchPut(ids: ["bp1", "bp2"]) { id } }').json()
    assert put == {"data": {"batchPut": [{"id": "bp1"}, {"id": "bp2"}]}}
    assert gql(api, '{ getTwo(a: "bp1", b: "bp2") { id } }').json() == {"data": {"getTwo": [{"id": "bp1"}, {"id": "bp2"}]}}
    assert gql(api, 'mutation { batchDelete(ids: ["bp1", "bp2"]) }').json() == {"data": {"batchDelete": ["bp1", "bp2"]}}
    assert gql(api, '{ getTwo(a: "bp1", b: "bp2") { id } }').json() == {"data": {"getTwo": [None, None]}}


def test_lambda_error_reaches_the_response_template(api):
    body = gql(api, "{ lambdaFails }").json()
    assert body["data"] == {"lambdaFails": None}
    assert body["errors"][0]["message"] == "negative" and body["errors"][0]["errorType"] == "ValueError"


def test_lambda_batch_invoke_makes_one_call_for_a_list(api):
    body = gql(api, "{ parents { id child } }").json()
    assert body == {"data": {"parents": [{"id": "a", "child": "a-0"}, {"id": "b", "child": "b-1"}, {"id": "c", "child": "c-2"}]}}


def test_direct_lambda_resolver_with_max_batch_size_gets_a_list_of_events(api):
    body = gql(api, "{ parents { id direct } }").json()
    assert [json.loads(p["direct"]) for p in body["data"]["parents"]] == [{"id": "a", "n": 0}, {"id": "b", "n": 1},
                                                                          {"id": "c", "n": 2}]


@pytest.mark.postgres_e2e
def test_pipeline_runs_functions_in_order_with_stash(api):
    body = gql(api, "{ pipeline(n: 21) }").json()
    assert json.loads(body["data"]["pipeline"]) == {"last": {"prev": {"first": True}, "n2": 42}, "before": True}


@pytest.mark.postgres_e2e
def test_http_data_source_makes_a_real_call(api):
    body = gql(api, "{ health }").json()

    assert json.loads(body["data"]["health"]) == {"status": 200, "body": "running"}


@pytest.mark.postgres_e2e
def test_eventbridge_data_source_puts_events(api):
    body = gql(api, 'mutation($d: AWSJSON!) { emit(detail: $d) }', {"d": json.dumps({"a": 1})}).json()
    result = json.loads(body["data"]["emit"])
    assert result["FailedEntryCount"] == 0 and result["Entries"][0]["EventId"]


def test_appsync_scalars_validate_their_input(api):
    ok = gql(api, '{ when(d: "2024-02-03T04:05:06.789Z") }').json()
    assert ok == {"data": {"when": "2024-02-03T04:05:06.789Z"}}
    bad = gql(api, '{ when(d: "yesterday") }')
    assert bad.status_code == 400


def test_api_without_schema_answers_an_error(client, endpoint, unique_name):
    appsync = client("appsync")
    api_id = appsync.create_graphql_api(name=unique_name("api"), authenticationType="API_KEY")["graphqlApi"]["apiId"]
    key = appsync.create_api_key(apiId=api_id)["apiKey"]["id"]
    r = query(endpoint, api_id, key, "{ a }")
    assert r.status_code == 400 and r.json()["errors"][0]["errorType"] == "BadRequestException"


@pytest.mark.postgres_e2e
def test_resolver_change_takes_effect_on_next_query(client, endpoint, unique_name):
    appsync = client("appsync")
    api_id, key = create_api(appsync, unique_name("api"), "type Query { v: Int }")
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="v", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": 1}', responseMappingTemplate=RESULT_RESPONSE)
    assert query(endpoint, api_id, key, "{ v }").json() == {"data": {"v": 1}}
    appsync.update_resolver(apiId=api_id, typeName="Query", fieldName="v", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": 2}', responseMappingTemplate=RESULT_RESPONSE)
    assert query(endpoint, api_id, key, "{ v }").json() == {"data": {"v": 2}}



def test_variables_of_the_wrong_type_answer_400(api):
    r = gql(api, "query($m: String!) { echo(msg: $m) }", {"m": 5})
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"].startswith("Variable validation error: Variable '$m'")
