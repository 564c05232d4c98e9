"""APPSYNC_JS resolvers and pipeline functions: `@aws-appsync/utils` imports, `util`, the
DynamoDB helpers of `@aws-appsync/utils/dynamodb`, runtime.earlyReturn, errors."""

from __future__ import annotations

import pytest
from appsync_support import create_api, query

JS = {"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}

SCHEMA = """
type Query { getNote(id: ID!): Note notesFor(owner: String!): [Note] hello(name: String): String
  early: String boom: String pipe(n: Int!): Int }
type Mutation { addNote(id: ID!, owner: String!, text: String): Note bump(id: ID!): Note removeNote(id: ID!): Note }
type Note { id: ID! owner: String text: String views: Int }
"""

DDB_CODE = """import { util } from '@aws-appsync/utils';
import * as ddb from '@aws-appsync/utils/dynamodb';

export function request(ctx) {
  const { id, owner, text } = ctx.args;
  switch (ctx.info.fieldName) {
    case 'getNote': return ddb.get({ key: { id } });
    case 'addNote': return ddb.put({ key: { id }, item: { owner, text, views: 0 }, condition: { id: { attributeExists: false } } });
    case 'bump': return ddb.update({ key: { id }, update: { views: ddb.operations.increment(1) } });
    case 'removeNote': return ddb.remove({ key: { id } });
    case 'notesFor': return ddb.query({ index: 'byOwner', query: { owner: { eq: owner } } });
  }
}

export function response(ctx) {
  if (ctx.error) util.error(ctx.error.message, ctx.error.type);
  return ctx.info.fieldName === 'notesFor' ? ctx.result.items : ctx.result;
}
"""


@pytest.fixture(scope="module")
def api(client, endpoint):
    import uuid

    appsync, ddb = client("appsync"), client("dynamodb")
    table = f"appsync-notes-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                           {"AttributeName": "owner", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     GlobalSecondaryIndexes=[{"IndexName": "byOwner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                                              "Projection": {"ProjectionType": "ALL"}}])
    api_id, key = create_api(appsync, f"js-{uuid.uuid4().hex[:8]}", SCHEMA)
    appsync.create_data_source(apiId=api_id, name="notes", type="AMAZON_DYNAMODB", dynamodbConfig={"tableName": table, "awsRegion": "us-east-1"})
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    for type_name, field in (("Query", "getNote"), ("Query", "notesFor"), ("Mutation", "addNote"), ("Mutation", "bump"),
                             ("Mutation", "removeNote")):
        appsync.create_resolver(apiId=api_id, typeName=type_name, fieldName=field, dataSourceName="notes", runtime=JS,
                                code=DDB_CODE)
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="hello", dataSourceName="none", runtime=JS, code="""
import { util } from '@aws-appsync/utils';
export const request = (ctx) => ({ payload: { greeting: `hello ${ctx.args.name ?? 'world'}`, id: util.autoId() } });
export const response = (ctx) => ctx.result.greeting + (ctx.result.id.length === 36 ? '!' : '?');
""")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="early", dataSourceName="none", runtime=JS, code="""
import { runtime } from '@aws-appsync/utils';
export function request(ctx) { runtime.earlyReturn('returned early'); }
export function response(ctx) { return 'not reached'; }
""")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="boom", dataSourceName="none", runtime=JS, code="""
import { util } from '@aws-appsync/utils';
export function request(ctx) { util.appendError('first', 'Warn'); return {}; }
export function response(ctx) { util.error('kaboom', 'Custom', { a: 1 }); }
""")
    double = appsync.create_function(apiId=api_id, name="double", dataSourceName="none", runtime=JS, code="""
export function request(ctx) { return { payload: ctx.prev.result * 2 }; }
export function response(ctx) { ctx.stash.calls = (ctx.stash.calls || 0) + 1; return ctx.result; }
""")["functionConfiguration"]["functionId"]
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="pipe", kind="PIPELINE", runtime=JS,
                            pipelineConfig={"functions": [double, double]}, code="""
export function request(ctx) { return ctx.args.n; }
export function response(ctx) { return ctx.prev.result + ctx.stash.calls; }
""")
    return {"id": api_id, "key": key, "endpoint": endpoint}


def gql(api, text, variables=None):
    return query(api["endpoint"], api["id"], api["key"], text, variables).json()


def test_js_resolver_with_none_data_source(api):
    assert gql(api, '{ hello(name: "js") }') == {"data": {"hello": "hello js!"}}


def test_js_dynamodb_helpers_put_get_update_remove(api):
    added = gql(api, 'mutation { addNote(id: "n1", owner: "amy", text: "hi") { id owner text views } }')
    assert added == {"data": {"addNote": {"id": "n1", "owner": "amy", "text": "hi", "views": 0}}}
    assert gql(api, 'mutation { bump(id: "n1") { views } }') == {"data": {"bump": {"views": 1}}}
    assert gql(api, '{ getNote(id: "n1") { text views } }') == {"data": {"getNote": {"text": "hi", "views": 1}}}
    assert gql(api, 'mutation { removeNote(id: "n1") { id } }') == {"data": {"removeNote": {"id": "n1"}}}
    assert gql(api, '{ getNote(id: "n1") { id } }') == {"data": {"getNote": None}}


def test_js_put_condition_failure_reaches_ctx_error(api):
    # (a second put of the same item would succeed: AppSync compares the current value with the desired one)
    gql(api, 'mutation { addNote(id: "n2", owner: "amy", text: "one") { id } }')
    body = gql(api, 'mutation { addNote(id: "n2", owner: "amy", text: "two") { id } }')
    assert body["data"] == {"addNote": None}
    assert body["errors"][0]["errorType"] == "DynamoDB:ConditionalCheckFailedException"


def test_js_dynamodb_query_helper(api):
    gql(api, 'mutation { addNote(id: "q1", owner: "zed") { id } }')
    gql(api, 'mutation { addNote(id: "q2", owner: "zed") { id } }')
    body = gql(api, '{ notesFor(owner: "zed") { id } }')
    assert sorted(n["id"] for n in body["data"]["notesFor"]) == ["q1", "q2"]


def test_js_runtime_early_return_skips_the_data_source(api):
    assert gql(api, "{ early }") == {"data": {"early": "returned early"}}


def test_js_util_error_and_append_error(api):
    body = gql(api, "{ boom }")
    assert body["data"] == {"boom": None}
    errors = {e["message"]: e for e in body["errors"]}
    assert errors["kaboom"]["errorType"] == "Custom" and errors["kaboom"]["data"] == {"a": 1}
    assert errors["first"]["errorType"] == "Warn"


def test_js_pipeline_functions_share_the_stash(api):
    assert gql(api, "{ pipe(n: 5) }") == {"data": {"pipe": 22}}
