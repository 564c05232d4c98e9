"""examples/live-stock-counter deployed and exercised: browsers (websocket clients) on product
pages get the new stock count when it changes in DynamoDB; $disconnect forgets them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import boto3
import pytest
import websockets
import websockets.exceptions

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "live-stock-counter")


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, EXAMPLE)
    try:
        import deploy
    finally:
        sys.path.remove(EXAMPLE)
    return deploy


@pytest.fixture(scope="module")
def deployed(example, endpoint):
    return example.deploy(endpoint)


def _connections(endpoint, table):
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")
    return ddb.scan(TableName=table)["Items"]


def test_stock_change_is_pushed_to_watchers_of_that_page(example, deployed, endpoint):
    async def go():
        url = deployed["path_url"]
        async with websockets.connect(url + "?page=p1") as a, websockets.connect(url + "?page=p1") as b, \
                websockets.connect(url + "?page=p2") as other:
            loop = asyncio.get_running_loop()
            if deployed["streaming"]:
                await loop.run_in_executor(None, example.set_stock, endpoint, deployed["stock_table"], "p1", 7)
            else:
                lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="test", aws_secret_access_key="test")
                await loop.run_in_executor(None, lambda: lam.invoke(
                    FunctionName=deployed["push_function"], Payload=json.dumps({"productId": "p1", "stock": 7})))
            first = json.loads(await asyncio.wait_for(a.recv(), 60))
            second = json.loads(await asyncio.wait_for(b.recv(), 60))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(other.recv(), 0.5)
            return first, second
    first, second = asyncio.run(go())
    assert first == second == {"productId": "p1", "stock": 7}


def test_current_count_is_answered_on_request(example, deployed, endpoint):
    # The page's watcher connects before the count changes: a stream push racing the handshake
    # would find the connection still in $connect (GoneException, on AWS too), and the push
    # function would forget the connection as gone.
    async def go():
        async with websockets.connect(deployed["path_url"] + "?page=p3") as ws:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, example.set_stock, endpoint, deployed["stock_table"], "p3", 12)
            pushed = json.loads(await asyncio.wait_for(ws.recv(), 60))
            await ws.send(json.dumps({"action": "current"}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 60))
            return pushed, answer
    pushed, answer = asyncio.run(go())
    assert pushed == {"productId": "p3", "stock": 12}
    assert answer == {"productId": "p3", "stock": 12}  # not {"message": "Internal server error", ...}


def test_connect_stores_and_disconnect_removes_the_connection(deployed, endpoint):
    async def go():
        async with websockets.connect(deployed["path_url"] + "?page=p9"):
            return [i for i in _connections(endpoint, deployed["connections_table"]) if i["page"]["S"] == "p9"]
    assert len(asyncio.run(go())) == 1
    deadline = time.time() + 20
    while time.time() < deadline:
        if not [i for i in _connections(endpoint, deployed["connections_table"]) if i["page"]["S"] == "p9"]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("$disconnect did not remove the connection")


def test_connect_without_page_is_refused(deployed):
    async def go():
        async with websockets.connect(deployed["path_url"]):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        asyncio.run(go())
    assert error.value.response.status_code == 400
