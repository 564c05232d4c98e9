"""The web console, walked as a user in headless Chromium (Debian's package, driven by
Playwright): an example (REST API → Lambda → DynamoDB) is deployed and triggered, its trace
appears live and opens as a waterfall, the table is browsed and edited, the function invoked;
queues, buckets, the other pages, a narrow window, and a page on another origin that tries to
use the console's API.

Figures (first page load, trace latency) are printed; run with -s to see them. With
OVERCAST_CONSOLE_SCREENSHOTS=docs/images the main pages are saved as PNGs for docs/console.md."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
import urllib.parse

import httpx
import pytest
from browser_support import served
from cognito_support import signed_up_user

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = os.environ.get("OVERCAST_CONSOLE_SCREENSHOTS")
FIRST_PAGE_BUDGET_MS = 500
TRACE_BUDGET_MS = 200


@pytest.fixture
def browser_page(browser):
    """A page in a fresh browser context (no cache, no storage: a cold browser). `page.problems`
    collects uncaught exceptions and console errors other than failed loads (an AWS error is a
    4xx answer the page shows)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"uncaught: {error}"))
    page.on("console", lambda message: page.problems.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text else None)
    try:
        yield page
    finally:
        context.close()


def _shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(os.path.join(ROOT, SHOTS), exist_ok=True)
        page.screenshot(path=os.path.join(ROOT, SHOTS, f"console-{name}.png"))


def _console(endpoint: str, hash_route: str = "") -> str:
    return f"{endpoint}/_overcast/console/{hash_route}"


def _route(*parts: str) -> str:
    return "#/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)


@pytest.fixture(scope="module")
def example(endpoint):
    """examples/rest-api deployed once: a REST API with an API key and a user pool authorizer, a
    function, a table; one item created by a signed-in user."""
    spec = importlib.util.spec_from_file_location("example_rest_api", os.path.join(ROOT, "examples", "rest-api", "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.deploy(endpoint)
    out["function"] = out["table"]  # deploy.py names both items-{suffix}
    user = signed_up_user(endpoint, out["userPoolId"], out["userPoolClientId"], "console@example.com")
    out["headers"] = {"x-api-key": out["apiKey"], "Authorization": user["IdToken"]}  # what changes items needs
    created = httpx.post(f"{out['url']}/items", json={"name": "lamp", "price": 12.5}, headers=out["headers"],
                         timeout=60)
    assert created.status_code == 201, created.text
    return out


def test_console_first_page_loads_within_budget_from_a_cold_browser(endpoint, browser):
    """Each try is a fresh browser context (empty cache, no storage); the best of up to five
    counts, so that a moment of load on a shared machine does not decide it."""
    figures = []
    while len(figures) < 5 and (not figures or min(r for r, _ in figures) > FIRST_PAGE_BUDGET_MS):
        context = browser.new_context()
        page = context.new_page()
        try:
            started = time.perf_counter()
            page.goto(_console(endpoint, "#/services"))
            page.wait_for_selector("main h1:has-text('Services')")
            wall_ms = (time.perf_counter() - started) * 1000
            rendered_ms = page.evaluate("performance.getEntriesByName('overcast:first-page')[0].startTime")
            figures.append((rendered_ms, wall_ms))
        finally:
            context.close()
    report = ("console first page, cold context: rendered " + ", ".join(f"{r:.0f}" for r, _ in figures) +
              " ms after navigation start; " + ", ".join(f"{w:.0f}" for _, w in figures) + " ms from goto() to visible")
    print("\n" + report)
    best = min(r for r, _ in figures)
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if best > FIRST_PAGE_BUDGET_MS and load > 2:  # the browser was starved of CPU: no figure to judge by
        pytest.skip(f"{report}; not judged: load average {load:.1f} per CPU")
    assert best <= FIRST_PAGE_BUDGET_MS, report


def test_console_browses_and_edits_a_dynamodb_table(endpoint, browser_page, example, client):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(_console(endpoint, _route("dynamodb")))
    page.get_by_role("cell", name=example["table"], exact=True).click()
    page.wait_for_selector("table.items >> text=lamp")
    _shot(page, "dynamodb")
    # create an item in DynamoDB JSON
    page.get_by_role("button", name="Create item").click()
    item = {"id": {"S": "from-console"}, "name": {"S": "shelf"}, "price": {"N": "30"}, "tags": {"SS": ["a", "b"]}}
    page.get_by_label("Item (DynamoDB JSON)").fill(json.dumps(item))
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_selector("table.items >> text=shelf")
    ddb = client("dynamodb")
    stored = ddb.get_item(TableName=example["table"], Key={"id": {"S": "from-console"}})["Item"]
    assert stored["price"] == {"N": "30"} and sorted(stored["tags"]["SS"]) == ["a", "b"]
    # edit it
    page.locator("table.items tr", has_text="shelf").click()
    editor = page.get_by_label("Item (DynamoDB JSON)")
    edited = json.loads(editor.input_value())
    edited["price"] = {"N": "35"}
    editor.fill(json.dumps(edited))
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("table.items >> text=35")
    assert ddb.get_item(TableName=example["table"], Key={"id": {"S": "from-console"}})["Item"]["price"] == {"N": "35"}
    # query by key, then delete
    page.get_by_label("Scan or query").select_option("query")
    page.get_by_label("Partition key value").fill("from-console")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("text=1 item,")
    page.locator("table.items tr", has_text="shelf").click()
    page.get_by_role("button", name="Delete").click()
    page.wait_for_selector("text=No items.")
    assert "Item" not in ddb.get_item(TableName=example["table"], Key={"id": {"S": "from-console"}})
    assert page.problems == []


def test_console_invokes_a_function_and_shows_that_invocations_logs(endpoint, browser_page, example):
    page = browser_page
    page.goto(_console(endpoint, _route("lambda", "functions", example["function"])))
    event = {"httpMethod": "GET", "path": "/items", "pathParameters": None, "headers": {}, "body": None}
    page.get_by_label("Payload").fill(json.dumps(event))
    page.get_by_role("button", name="Invoke", exact=True).click()
    logs = page.wait_for_selector(".invocation-logs", timeout=60_000)
    text = logs.inner_text()
    assert "START RequestId:" in text and "END RequestId:" in text and "REPORT RequestId:" in text
    payload = json.loads(page.inner_text("pre.payload"))
    assert payload["statusCode"] == 200 and "lamp" in json.loads(payload["body"])["items"][0]["name"]
    _shot(page, "lambda")
    assert page.problems == []


def test_console_sqs_peek_send_purge_and_dead_letter_redrive(endpoint, browser_page, client, unique_name):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())
    sqs = client("sqs")
    dlq = sqs.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(QueueName=unique_name("src"), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    sqs.send_message(QueueUrl=source, MessageBody="<script>window.pwned = 1</script>")
    # send one from the console, on the source queue's page
    page.goto(_console(endpoint, _route("sqs", "queues", source)))
    page.get_by_role("tab", name="Send").click()
    page.get_by_label("Message body").fill("sent from the console")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_selector("text=MessageId")
    # both fail once: the second receive moves them to the dead-letter queue
    for _ in range(2):
        sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages") is None
    page.goto(_console(endpoint, _route("sqs", "queues", dlq)))
    page.wait_for_selector("td >> text=<script>window.pwned = 1</script>")  # shown as text, never run
    page.wait_for_selector("td >> text=sent from the console")
    assert page.evaluate("window.pwned") is None
    _shot(page, "sqs")
    # peeking received nothing
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
    # move them back to their source (StartMessageMoveTask)
    page.get_by_role("tab", name="Dead letters").click()
    page.get_by_role("button", name="Move messages back to their source (redrive)").click()
    page.locator("td", has_text=re.compile("^(RUNNING|COMPLETED)$")).first.wait_for()
    deadline = time.monotonic() + 20
    bodies: list[str] = []
    while time.monotonic() < deadline and len(bodies) < 2:
        bodies += [m["Body"] for m in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10,
                                                          WaitTimeSeconds=1).get("Messages", [])]
    assert sorted(bodies) == sorted(["<script>window.pwned = 1</script>", "sent from the console"])
    # purge the source queue from its page
    page.goto(_console(endpoint, _route("sqs", "queues", source)))
    page.wait_for_selector("td >> text=sent from the console")
    page.get_by_role("button", name="Purge").click()
    page.wait_for_selector("text=The queue is empty.")
    assert sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert page.problems == []


def test_console_uploads_browses_and_downloads_s3_objects(endpoint, browser_page, client, unique_name, tmp_path):
    page = browser_page
    bucket = unique_name("console")
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"read me")
    page.goto(_console(endpoint, _route("s3", "buckets", bucket)))
    page.get_by_role("link", name="docs/").click()
    page.wait_for_selector("td >> text=readme.txt")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(bytes(range(256)) * 40)
    page.get_by_label("Files to upload").set_input_files(str(upload))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_selector("td >> text=upload.bin")
    assert s3.get_object(Bucket=bucket, Key="docs/upload.bin")["Body"].read() == upload.read_bytes()
    page.locator("tr", has_text="upload.bin").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert open(download.value.path(), "rb").read() == upload.read_bytes()
    assert download.value.suggested_filename == "upload.bin"
    page.locator("tr", has_text="readme.txt").click()
    page.wait_for_selector("pre.json >> text=read me")
    _shot(page, "s3")
    # a key with characters URLs treat specially: listed, previewed and downloaded as itself
    odd = "docs/ünï cöde & #hash?.txt"
    s3.put_object(Bucket=bucket, Key=odd, Body=b"odd one", ContentType="text/plain")
    page.get_by_role("button", name="Refresh").click()
    page.locator("tr", has_text="ünï cöde & #hash?.txt").click()
    page.wait_for_selector("pre.json >> text=odd one")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert open(download.value.path(), "rb").read() == b"odd one"
    assert page.problems == []


def test_every_service_page_renders(endpoint, browser_page, example):
    page = browser_page
    page.goto(_console(endpoint, "#/services"))
    services = page.eval_on_selector_all(".tile", "tiles => tiles.map(t => t.getAttribute('href'))")
    assert len(services) >= 26
    for href in services:
        page.goto(_console(endpoint, href))
        page.wait_for_selector("main h1")
        page.locator("main .loading").first.wait_for(state="detached", timeout=15_000)
        assert page.locator("main .error-box").count() == 0, (href, page.inner_text("main"))
    assert page.problems == []


def test_console_api_gateway_try_it_calls_the_deployed_api(endpoint, browser_page, example):
    page = browser_page
    page.goto(_console(endpoint, _route("apigateway", "apis", example["apiId"])))
    page.locator("tr", has_text="/items").filter(has_text="GET").first.click()
    page.get_by_label("Headers (JSON)").fill(json.dumps({"x-api-key": example["apiKey"]}))
    page.get_by_role("button", name="Send").click()
    answer = page.wait_for_selector("pre.try-response")
    assert "lamp" in answer.inner_text()
    assert page.locator("h2", has_text="200").count() == 1
    assert page.problems == []


def test_console_works_in_a_narrow_window(endpoint, browser, example):
    context = browser.new_context(viewport={"width": 380, "height": 760}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        for hash_route in ("#/", "#/services", _route("dynamodb", "tables", example["table"]),
                           _route("lambda", "functions", example["function"])):
            page.goto(_console(endpoint, hash_route))
            page.wait_for_selector("main h1")
            page.locator("main .loading").first.wait_for(state="detached")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{hash_route} is {overflow}px wider than the window"
        assert page.evaluate("document.getElementById('nav').getBoundingClientRect().right") <= 0  # slid away
        page.get_by_role("button", name="Menu").click()
        page.get_by_role("link", name="DynamoDB", exact=True).click()
        page.wait_for_selector(f"td >> text={example['table']}")
        _shot(page, "narrow")
    finally:
        context.close()


PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
const api = %(api)r;
const body = JSON.stringify({service: "sqs", operation: "CreateQueue", params: {QueueName: %(queue)r}});
const results = [];
fetch(api, {method: "POST", headers: {"Content-Type": "application/json"}, body})
  .then(r => r.text().then(t => results.push("json " + r.status + " " + t)))
  .catch(e => results.push("json blocked"))
  .then(() => fetch(api, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body}))
  .then(r => results.push("no-cors " + r.type))
  .catch(e => results.push("no-cors blocked"))
  .then(() => fetch(%(info)r).then(r => r.text()).then(t => results.push("read " + t)).catch(e => results.push("read blocked")))
  .then(() => { document.getElementById("out").textContent = results.join("\\n"); });
</script></body></html>"""


def test_a_page_on_another_origin_can_neither_use_nor_read_the_console_api(endpoint, browser_page, client, unique_name):
    queue = unique_name("csrf")
    html = PAGE % {"api": f"{endpoint}/_overcast/console/api/call", "queue": queue,
                   "info": f"{endpoint}/_overcast/console/api/info"}

    # another origin: another host name than overcast's (127.0.0.1 vs localhost), another port
    with served({"/index.html": ("text/html", html)}) as port:
        browser_page.goto(f"http://127.0.0.1:{port}/")
        browser_page.locator("#out").filter(has_not_text="pending").wait_for()
        lines = browser_page.inner_text("#out").splitlines()
    assert lines == ["json blocked", "no-cors opaque", "read blocked"], lines
    sqs = client("sqs")
    assert not any(url.endswith("/" + queue) for url in sqs.list_queues(QueueNamePrefix=queue).get("QueueUrls", []))


def test_console_switches_accounts_and_regions(endpoint, browser_page, client, unique_name):
    page = browser_page
    name = unique_name("theirs")
    client("sqs", region="eu-west-1", access_key="111111111111").create_queue(QueueName=name)
    page.goto(_console(endpoint, _route("sqs")))
    page.locator("[data-list='sqs/queues'] .empty, [data-list='sqs/queues'] table").first.wait_for()
    assert page.locator(f"td >> text={name}").count() == 0
    page.once("dialog", lambda dialog: dialog.accept("111111111111"))
    page.get_by_label("Account").select_option("+")
    page.get_by_label("Region").select_option("eu-west-1")
    page.wait_for_selector(f"td >> text={name}")
    page.get_by_label("Region").select_option("us-east-1")
    page.locator("[data-list='sqs/queues'] .empty, [data-list='sqs/queues'] table").first.wait_for()
    assert page.locator(f"td >> text={name}").count() == 0
    page.reload()  # remembered
    # (the page's script restores the choice after the reload: waited for, as a user sees it, rather
    # than read at once, which raced it)
    from playwright.sync_api import expect

    expect(page.get_by_label("Account")).to_have_value("111111111111")


def test_console_graphql_editor_runs_a_query_against_the_api(endpoint, browser_page, client, unique_name):
    from appsync_support import NONE_REQUEST, create_api

    appsync = client("appsync")
    api_id, _key = create_api(appsync, unique_name("gql"), "type Query { hello(name: String!): String }")
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="hello", dataSourceName="none",
                            requestMappingTemplate=NONE_REQUEST,
                            responseMappingTemplate='"Hello, $ctx.result.name!"')
    page = browser_page
    page.goto(_console(endpoint, _route("appsync", "apis", api_id)))
    page.get_by_label("GraphQL query").fill('query Hi($n: String!) { hello(name: $n) }')
    page.get_by_label("Variables (JSON)").fill('{"n": "console"}')
    page.get_by_role("button", name="Run").click()
    result = page.wait_for_selector("pre.graphql-result")
    assert json.loads(result.inner_text()) == {"data": {"hello": "Hello, console!"}}
    _shot(page, "appsync")
    assert page.problems == []


def test_console_reads_kinesis_records_by_shard(endpoint, browser_page, client, unique_name):
    kinesis = client("kinesis")
    stream = unique_name("clicks")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    for i in range(3):
        kinesis.put_record(StreamName=stream, Data=json.dumps({"click": i}).encode(), PartitionKey=f"user-{i}")
    page = browser_page
    page.goto(_console(endpoint, _route("kinesis", "streams", stream)))
    page.get_by_role("button", name="Read", exact=True).click()
    page.wait_for_selector("text=3 records;")
    for i in range(3):
        assert page.locator("td", has_text=f'{{"click": {i}}}').count() == 1
    assert page.problems == []


def test_console_athena_editor_shows_results_as_a_table(endpoint, browser_page, client, unique_name):
    bucket = unique_name("athena")
    client("s3").create_bucket(Bucket=bucket)
    page = browser_page
    page.goto(_console(endpoint, _route("athena", "query")))
    page.get_by_label("SQL").fill("SELECT 1 AS one, 'two' AS two UNION ALL SELECT 3, 'four'")
    page.get_by_label("Results location").fill(f"s3://{bucket}/results/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("h2:has-text('2 rows')", timeout=60_000)
    headers = page.locator("section:has(h2:has-text('2 rows')) th").all_inner_texts()
    assert headers == ["one", "two"]
    cells = page.locator("section:has(h2:has-text('2 rows')) td").all_inner_texts()
    assert cells == ["1", "two", "3", "four"]
    _shot(page, "athena")
    assert page.problems == []


def test_console_tails_a_log_group_live(endpoint, browser_page, client, unique_name):
    logs = client("logs")
    group = f"/console/{unique_name('tail')}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="one")
    page = browser_page
    page.goto(_console(endpoint, _route("logs", "groups", group)))
    page.wait_for_selector("text=Waiting for log events…")
    logs.put_log_events(logGroupName=group, logStreamName="one",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "first line"}])
    page.wait_for_selector(".log-line >> text=first line", timeout=10_000)
    logs.put_log_events(logGroupName=group, logStreamName="one",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "second line"}])
    page.wait_for_selector(".log-line >> text=second line", timeout=10_000)
    assert page.locator(".log-line").count() == 2  # each event once
    assert page.problems == []


def test_console_stack_resources_link_to_their_pages(endpoint, browser_page, client, unique_name):
    cfn = client("cloudformation")
    stack = unique_name("console")
    template = {"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}}}}
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    table = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="Table")["StackResourceDetail"]["PhysicalResourceId"]
    page = browser_page
    page.goto(_console(endpoint, _route("cloudformation", "stacks", stack)))
    page.wait_for_selector("td >> text=AWS::SQS::Queue")
    page.get_by_role("tab", name="Events").click()
    page.locator("td", has_text="CREATE_COMPLETE").first.wait_for()
    page.get_by_role("tab", name="Resources").click()
    _shot(page, "cloudformation")
    page.get_by_role("link", name=table).click()
    page.wait_for_selector(f"main h1:text-is('{table}')")
    page.wait_for_selector("text=No items.")
    page.go_back()
    page.locator("a.resource-link", has_text="/000000000000/").click()
    page.wait_for_selector("main h1:has-text('Queue')")
    page.wait_for_selector("text=The queue is empty.")
    assert page.problems == []


# -- traces -------------------------------------------------------------------------------------------


# Installed in the page before it loads: when each trace's row was added or last changed (its
# span count), by the browser's clock.
SEEN = """
window.__seen = {};
const note = (el) => { if (el.nodeType === 1 && el.dataset && el.dataset.trace) window.__seen[el.dataset.trace] = Date.now(); };
new MutationObserver((records) => {
  for (const r of records) { if (r.type === "attributes") note(r.target); else r.addedNodes.forEach(note); }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-spans"] });
"""


def _trace_header() -> tuple[str, str]:
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    return root, f"Root={root};Sampled=1"


def _spans(endpoint: str, trace_id: str) -> list[dict]:
    spans, offset = [], 0
    while offset is not None:
        page = httpx.get(f"{endpoint}/_overcast/traces/{trace_id}", params={"offset": offset, "limit": 1000}).json()
        spans += page["spans"]
        offset = page["nextOffset"]
    return spans


def _sqs_calls(endpoint: str, header: str, queue_url: str, count: int) -> None:
    """`count` SendMessage calls in one trace, over one keep-alive connection (the JSON protocol,
    as the SDKs speak it; the trace header as AWS carries it)."""
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage",
               "X-Amzn-Trace-Id": header,
               "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, "
                                "SignedHeaders=host, Signature=0"}
    with httpx.Client(base_url=endpoint, headers=headers) as http:
        for i in range(count):
            r = http.post("/", content=json.dumps({"QueueUrl": queue_url, "MessageBody": f"message {i}"}))
            assert r.status_code == 200, r.text


def test_a_trace_appears_in_the_console_as_its_spans_end(endpoint, browser_page, client, unique_name):
    """The figure: from a trace's last span ending (the server's clock) to its row showing it in
    the page (the browser's clock, same machine), for a few traces of five calls each."""
    page = browser_page
    url = client("sqs").create_queue(QueueName=unique_name("traced"))["QueueUrl"]
    page.add_init_script(SEEN)
    page.goto(_console(endpoint, "#/"))
    page.wait_for_selector(".live.on")
    latencies = []
    for _ in range(5):
        trace_id, header = _trace_header()
        _sqs_calls(endpoint, header, url, 5)
        page.wait_for_selector(f"tr[data-trace='{trace_id}'][data-spans='5']")
        last_end = max(span["end"] for span in _spans(endpoint, trace_id))
        seen = page.evaluate(f"window.__seen[{trace_id!r}]")
        latencies.append(seen - last_end * 1000)
    latencies.sort()
    print(f"\ntrace in the console after its last span ended: {', '.join(f'{x:.0f}' for x in latencies)} ms "
          f"(median {latencies[2]:.0f} ms)")
    assert latencies[2] <= TRACE_BUDGET_MS
    assert page.problems == []


def test_the_example_request_is_one_trace_across_services_with_a_waterfall(endpoint, browser_page, example):
    """POST /items of the REST API example: API Gateway → Lambda → DynamoDB, one trace, seen live,
    opened as a waterfall; a span shows its request and response."""
    page = browser_page
    page.goto(_console(endpoint, "#/"))
    page.wait_for_selector(".live.on")
    trace_id, header = _trace_header()
    created = httpx.post(f"{example['url']}/items", json={"name": "traced lamp", "price": 3},
                         headers={**example["headers"], "X-Amzn-Trace-Id": header}, timeout=60)
    assert created.status_code == 201, created.text
    row = page.wait_for_selector(f"tr[data-trace='{trace_id}']")
    for service in ("apigateway", "lambda", "dynamodb"):
        row.wait_for_selector(f".badge:text-is('{service}')")
    _shot(page, "traces")
    row.click()
    page.wait_for_selector(".wf-row")
    names = page.locator(".wf-name").all_inner_texts()
    assert any(n.startswith("DynamoDB.PutItem") for n in names), names
    _shot(page, "waterfall")
    page.locator(".wf-row", has_text="DynamoDB.PutItem").first.click()
    request = page.locator(".span-detail pre.request").inner_text()
    assert "traced lamp" in request
    _shot(page, "span")
    assert page.problems == []


def test_a_trace_of_thousands_of_spans_stays_responsive(endpoint, browser_page, client, unique_name):
    page = browser_page
    url = client("sqs").create_queue(QueueName=unique_name("big"))["QueueUrl"]
    trace_id, header = _trace_header()
    _sqs_calls(endpoint, header, url, 2500)
    started = time.perf_counter()
    page.goto(_console(endpoint, _route("traces", trace_id)))
    page.wait_for_selector(".wf-row")
    first_rows_ms = (time.perf_counter() - started) * 1000
    # every span loaded: "2500" alone (while the pages load it reads "1000 of 2500", and a scroll
    # to the end made then is overtaken by the rows the next pages add)
    page.locator(".facts dd", has_text=re.compile(r"^2500$")).first.wait_for()
    all_ms = (time.perf_counter() - started) * 1000
    drawn = page.locator(".wf-row").count()
    assert drawn < 120, f"{drawn} rows in the DOM: the waterfall is not virtualized"
    # scroll to the end: the last span is drawn at once
    started = time.perf_counter()
    page.locator(".wf-viewport").evaluate("v => { v.scrollTop = v.scrollHeight; }")
    # the rows are redrawn on the next animation frame after the scroll: wait until the last row
    # drawn is the trace's last (rows sit at top = index * row height in a box of all rows' height)
    page.wait_for_function("""() => {
        const rows = document.querySelectorAll('.wf-row');
        const last = rows[rows.length - 1];
        return !!last && parseInt(last.style.top) + last.offsetHeight >= parseInt(last.parentElement.style.height);
    }""")
    page.locator(".wf-row").last.click()
    page.wait_for_selector(".span-detail pre.request >> text=message 2499")
    scroll_ms = (time.perf_counter() - started) * 1000
    print(f"\n2,500-span trace: first rows drawn {first_rows_ms:.0f} ms after navigation, all spans in "
          f"{all_ms:.0f} ms ({drawn} rows in the DOM); scrolled to the last span and opened it in {scroll_ms:.0f} ms")
    assert page.locator(".wf-row").count() < 120
    assert page.problems == []
