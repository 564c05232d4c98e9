"""Invoking functions: real runtime interface clients in subprocesses, AWS's answers for every
failure mode, the environment and context functions get, logs, concurrency and function URLs."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from lambda_functions import ROLE, create_python, python_zip, source, zip_files


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def echo(lam):
    name = "echo-invoke-tests"
    create_python(lam, name, MemorySize=256, Environment={"Variables": {"MY_SETTING": "on"}})
    return name


@pytest.fixture(scope="module")
def misbehave(lam):
    name = "misbehave-invoke-tests"
    create_python(lam, name, source("misbehave.py"), Timeout=1, MemorySize=128)
    return name


def invoke(lam, name, payload=None, **kwargs):
    out = lam.invoke(FunctionName=name, Payload=json.dumps(payload if payload is not None else {}), **kwargs)
    body = out["Payload"].read()
    return out, (json.loads(body) if body else None)


def error(excinfo) -> tuple[str, str, int]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", ""), e["ResponseMetadata"]["HTTPStatusCode"]


def test_invoke_returns_the_handler_result(lam, echo):
    out, body = invoke(lam, echo, {"hello": "world"})
    assert out["StatusCode"] == 200
    assert "FunctionError" not in out
    assert out["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"hello": "world"}


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_a_python_runtime_other_than_the_hosts_runs(lam, unique_name, runtime):
    # its interpreter is chosen ahead of the first invocation (an installed python3.x with
    # awslambdaric, else the host's); either way the function runs and reports its runtime
    name = unique_name("rt")
    create_python(lam, name, "import os\ndef handler(e, c):\n    return os.environ['AWS_EXECUTION_ENV']\n",
                  runtime=runtime)
    out, body = invoke(lam, name)
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert body == f"AWS_Lambda_{runtime}"


def test_invoke_gives_the_function_aws_environment(lam, echo):
    _, body = invoke(lam, echo)
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == echo
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{echo}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["log_stream"]
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["MY_SETTING"] == "on"


def test_invoke_context_carries_request_id_memory_and_arn(lam, echo):
    out, body = invoke(lam, echo)
    assert body["request_id"] == out["ResponseMetadata"]["RequestId"]
    assert body["memory"] == "256"
    assert body["function_name"] == echo
    assert body["invoked_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{echo}"
    assert 0 < body["remaining_ms"] <= 3000
    assert body["log_group"] == f"/aws/lambda/{echo}"
    # invoked as name:$LATEST, the function sees that ARN, qualified (AWS)
    _, body = invoke(lam, echo, Qualifier="$LATEST")
    assert body["invoked_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{echo}:$LATEST"


def test_invoke_passes_client_context(lam, echo):
    context = base64.b64encode(json.dumps({"custom": {"user": "alice"}}).encode()).decode()
    _, body = invoke(lam, echo, ClientContext=context)
    assert body["client_context"] == {"user": "alice"}


def test_warm_sandbox_is_reused(lam, echo):
    _, first = invoke(lam, echo)
    _, second = invoke(lam, echo)
    assert first["pid"] == second["pid"]
    assert second["invocations"] == first["invocations"] + 1


def test_invoke_with_empty_payload_passes_an_empty_object(lam, echo):
    out = lam.invoke(FunctionName=echo)
    assert json.loads(out["Payload"].read())["event"] == {}


def test_invoke_dry_run_answers_204(lam, echo):
    out = lam.invoke(FunctionName=echo, InvocationType="DryRun")
    assert out["StatusCode"] == 204


def test_invoke_log_type_tail_returns_the_last_4kb_of_the_log(lam, echo):
    out, body = invoke(lam, echo, {"tail": 1}, LogType="Tail")
    text = base64.b64decode(out["LogResult"]).decode()
    request_id = body["request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in text
    assert 'got event {"tail": 1}' in text
    assert f"END RequestId: {request_id}" in text
    assert f"REPORT RequestId: {request_id}\tDuration: " in text
    assert "\tBilled Duration: " in text and "\tMemory Size: 256 MB\tMax Memory Used: " in text


def test_invoke_unknown_function_answers_not_found(lam, unique_name):
    name = unique_name("nope")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name)
    assert error(e) == ("ResourceNotFoundException",
                        f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST", 404)


def test_invoke_non_json_payload_answers_invalid_request_content(lam, echo):
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=echo, Payload=b"not json{")
    code, message, status = error(e)
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert message.startswith("Could not parse request body into json")


def test_invoke_payload_over_6mb_answers_request_entity_too_large(lam, echo):
    payload = json.dumps({"data": "x" * (6 * 1024 * 1024)})
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=echo, Payload=payload)
    code, message, status = error(e)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert "6291456 bytes" in message


def test_handler_exception_answers_unhandled_with_error_json(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "raise"})
    assert out["StatusCode"] == 200
    assert out["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "something went wrong"
    assert body["errorType"] == "ValueError"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]


def test_function_survives_a_handler_exception(lam, misbehave):
    invoke(lam, misbehave, {"action": "raise"})
    out, body = invoke(lam, misbehave, {})
    assert "FunctionError" not in out and body == "fine"


def test_exit_answers_runtime_exit_error(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "exit"})
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")
    assert invoke(lam, misbehave, {})[1] == "fine"


def test_segfault_answers_runtime_exit_error_with_signal(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "segfault"})
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "signal: segmentation fault" in body["errorMessage"]


def test_infinite_loop_times_out(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "loop"})
    assert out["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert invoke(lam, misbehave, {})[1] == "fine"


def test_handler_printing_megabytes_still_answers(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "print", "kb": 3 * 1024}, LogType="Tail")
    assert body == "printed"
    assert len(base64.b64decode(out["LogResult"])) <= 4096


def test_response_over_6mb_answers_response_size_too_large(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "big"})
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert body["errorMessage"] == "Response payload size exceeded maximum allowed payload size (6291556 bytes)."


def test_response_of_exactly_6mb_is_answered(lam, unique_name):
    # AWS's limit is 6 MB + 100 bytes: a 6 MB string (6291458 bytes of JSON) comes back whole
    name = unique_name("fn")
    create_python(lam, name, "def handler(event, context):\n    return 'a' * event['n']\n")
    out, body = invoke(lam, name, {"n": 6 * 1024 * 1024})
    assert "FunctionError" not in out and body == "a" * 6 * 1024 * 1024


def test_stderr_goes_to_the_log(lam, misbehave):
    out, _ = invoke(lam, misbehave, {"action": "stderr"}, LogType="Tail")
    assert "to stderr" in base64.b64decode(out["LogResult"]).decode()


def test_memory_size_limits_the_sandbox(lam, misbehave):
    out, body = invoke(lam, misbehave, {"action": "memory", "mb": 4096})
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] in ("MemoryError", "Runtime.ExitError")


FD_HOG = """
import os, resource
def handler(event, context):
    opened = []
    try:
        while len(opened) < 2000:
            opened.append(os.open("/dev/null", os.O_RDONLY))
        error = None
    except OSError as e:
        error = e.strerror
    finally:
        for fd in opened:
            os.close(fd)
    return {"limit": resource.getrlimit(resource.RLIMIT_NOFILE), "opened": len(opened), "error": error}
"""

NODE_FD_HOG = """
const fs = require("fs");
exports.handler = async () => {
  const opened = [];
  let error = null;
  try {
    while (opened.length < 2000) opened.push(fs.openSync("/dev/null", "r"));
  } catch (e) { error = e.code; }
  opened.forEach((fd) => fs.closeSync(fd));
  return {opened: opened.length, error};
};
"""


@pytest.mark.parametrize("env", [{}, {"LANG": "C.UTF-8"}], ids=["spare", "cold"])  # (LANG: no spare fits)
def test_a_function_has_lambdas_1024_file_descriptors(lam, unique_name, env):
    """AWS: 1,024 file descriptors per execution environment (RLIMIT_NOFILE 1024:1024); a function
    that leaks them fails here as it will there, whether it ran in a spare or a fresh process."""
    name = unique_name("fds")
    create_python(lam, name, FD_HOG, Environment={"Variables": env})
    out, body = invoke(lam, name)
    assert "FunctionError" not in out, body
    assert body["limit"] == [1024, 1024]
    assert body["error"] == "Too many open files" and 1000 < body["opened"] < 1024


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_node_function_has_lambdas_1024_file_descriptors(lam, unique_name):
    name = unique_name("nodefds")
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.js": NODE_FD_HOG})})
    out, body = invoke(lam, name)
    assert "FunctionError" not in out, body
    assert body["error"] == "EMFILE" and 900 < body["opened"] < 1024


def test_missing_module_answers_import_module_error(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, handler="nothere.handler")
    out, body = invoke(lam, name)
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'nothere'" in body["errorMessage"]


def test_missing_handler_function_answers_handler_not_found(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, handler="app.missing")
    out, body = invoke(lam, name)
    assert body["errorType"] == "Runtime.HandlerNotFound"


def test_syntax_error_answers_user_code_syntax_error(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "def handler(e, c)\n    return 1\n")
    out, body = invoke(lam, name)
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"


def test_init_error_is_logged(client, lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "raise RuntimeError('init failed here')\n")
    out, body = invoke(lam, name, LogType="Tail")
    assert body["errorType"] == "RuntimeError"
    assert "init failed here" in base64.b64decode(out["LogResult"]).decode()


def test_reserved_concurrency_zero_throttles(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name)
    assert error(e)[0] == "TooManyRequestsException" and error(e)[2] == 429
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_reserved_concurrency_one_throttles_the_second_concurrent_invoke(lam, misbehave, unique_name):
    name = unique_name("fn")
    create_python(lam, name, source("misbehave.py"), Timeout=5)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)

    def call(_):
        try:
            lam.invoke(FunctionName=name, Payload=json.dumps({"action": "sleep", "seconds": 1}))
            return "ok"
        except ClientError as e:
            return e.response["Reason"]

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(call, range(2)))
    assert results == ["ReservedFunctionConcurrentInvocationLimitExceeded", "ok"]


def test_concurrent_invokes_start_more_sandboxes(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "import os, time\ndef handler(e, c):\n    time.sleep(0.3)\n    return os.getpid()\n")
    with ThreadPoolExecutor(3) as pool:
        pids = set(pool.map(lambda _: invoke(lam, name)[1], range(3)))
    assert len(pids) == 3


def test_function_uses_the_sdk_against_overcast(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, source("with_sdk.py"), Timeout=10)
    out, body = invoke(lam, name)
    assert "FunctionError" not in out, body
    assert body["account"] == "000000000000"


def test_function_sends_to_sqs_with_the_sdk(client, lam, unique_name):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    name = unique_name("fn")
    create_python(lam, name, source("with_sdk.py"), Timeout=10)
    out, body = invoke(lam, name, {"queue_url": url, "body": "from lambda"})
    assert body == {"sent": True}
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert messages[0]["Body"] == "from lambda"


def test_invoke_by_version_qualifier(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, "def handler(e, c):\n    return c.function_version\n")
    lam.publish_version(FunctionName=name)
    out, body = invoke(lam, name, Qualifier="1")
    assert body == "1" and out["ExecutedVersion"] == "1"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Qualifier="9")
    assert error(e)[0] == "ResourceNotFoundException"


def test_invoke_event_answers_202(lam, echo):
    out = lam.invoke(FunctionName=echo, InvocationType="Event", Payload=b"{}")
    assert out["StatusCode"] == 202
    assert out["Payload"].read() == b""


def test_cli_invoke_writes_the_payload(aws_cli, echo, tmp_path):
    outfile = tmp_path / "out.json"
    out = aws_cli("lambda", "invoke", "--function-name", echo, "--payload", '{"from": "cli"}', str(outfile))
    assert out["StatusCode"] == 200
    assert json.loads(outfile.read_text())["event"] == {"from": "cli"}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_function_runs(lam, unique_name):
    name = unique_name("node")
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.js": source("echo.js")})})
    out, body = invoke(lam, name, {"n": 1}, LogType="Tail")
    assert body["event"] == {"n": 1} and body["name"] == name and body["memory"] == "128"
    assert body["node"].startswith("v")
    assert "node got" in base64.b64decode(out["LogResult"]).decode()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_function_error_answers_unhandled(lam, unique_name):
    name = unique_name("node")
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.js": source("echo.js")})})
    out, body = invoke(lam, name, {"fail": True})
    assert out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Error" and body["errorMessage"] == "node failure"


def test_provided_runtime_runs_the_bootstrap(lam, unique_name):
    name = unique_name("custom")
    code = zip_files({"bootstrap": source("bootstrap")}, modes={"bootstrap": 0o755})
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="my.handler",
                        Code={"ZipFile": code})
    _, body = invoke(lam, name, {"x": 1})
    assert body == {"custom": True, "handler": "my.handler", "event": {"x": 1}}


def test_provided_bootstrap_for_bin_sh_runs_as_on_amazon_linux(lam, unique_name):
    """Amazon Linux's /bin/sh is bash: a `#!/bin/sh` bootstrap may use `set -o pipefail`."""
    name = unique_name("custom-sh")
    wrapper = '#!/bin/sh\nset -euo pipefail\necho "$0" | cat\nexec python3 "$LAMBDA_TASK_ROOT/runtime.py"\n'
    code = zip_files({"bootstrap": wrapper, "runtime.py": source("bootstrap")}, modes={"bootstrap": 0o755})
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="sh.handler",
                        Code={"ZipFile": code})
    out, body = invoke(lam, name, {"x": 2})
    assert body == {"custom": True, "handler": "sh.handler", "event": {"x": 2}}, out


def test_function_url_invokes_with_payload_2_0(lam, endpoint, unique_name):
    name = unique_name("url")
    create_python(lam, name, source("url.py"))
    config = lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    url = config["FunctionUrl"]
    assert ".lambda-url.us-east-1.localhost.localstack.cloud:" in url
    host = url.split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/some/path?a=1", data=b"hi", method="POST",
                                     headers={"Host": host})
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
        assert response.headers["x-custom"] == "yes"
        body = json.loads(response.read())
    assert body == {"method": "POST", "path": "/some/path", "query": {"a": "1"}, "body": "hi", "version": "2.0"}
    assert lam.get_function_url_config(FunctionName=name)["AuthType"] == "NONE"
    # a body of a binary media type comes base64-encoded, even when it is ASCII (AWS)
    form = b'\r\n--b0\r\nContent-Disposition: form-data; name="f"\r\n\r\nvalue\r\n--b0--\r\n'
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=form, method="POST",
                                     headers={"Host": host, "Content-Type": "multipart/form-data; boundary=b0"})
    with urllib.request.urlopen(request) as response:
        assert base64.b64decode(json.loads(response.read())["body"]) == form


def test_unzipped_code_keeps_file_modes(lam, unique_name):
    name = unique_name("fn")
    code = zip_files({"app.py": "import os\ndef handler(e, c):\n    return os.access('tool.sh', os.X_OK)\n",
                      "tool.sh": "#!/bin/sh\n"}, modes={"tool.sh": 0o755})
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code})
    assert invoke(lam, name)[1] is True


def test_python_zip_helper_builds_valid_code():
    assert python_zip("x = 1")[:2] == b"PK"


def test_provisioned_concurrency_prewarms_the_version(client, lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.publish_version(FunctionName=name)
    out = lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    assert out["RequestedProvisionedConcurrentExecutions"] == 1
    assert out["Status"] == "IN_PROGRESS" and out["AllocatedProvisionedConcurrentExecutions"] == 0
    # READY once the sandbox has started in the background, as AWS reports it
    deadline = time.monotonic() + 30
    while (got := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1"))["Status"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "provisioned concurrency still IN_PROGRESS after 30 s"
        time.sleep(0.05)
    assert got["Status"] == "READY" and got["AvailableProvisionedConcurrentExecutions"] == 1
    assert got["AllocatedProvisionedConcurrentExecutions"] == 1
    out = lam.invoke(FunctionName=name, Qualifier="1", LogType="Tail")
    text = base64.b64decode(out["LogResult"]).decode()
    assert "REPORT RequestId" in text and "Init Duration" not in text


INIT_TYPE = "import os\ndef handler(event, context):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"


def wait_ready(lam, name, qualifier):
    deadline = time.monotonic() + 30
    while (got := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier))["Status"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "provisioned concurrency still IN_PROGRESS after 30 s"
        time.sleep(0.05)
    assert got["Status"] == "READY"



def test_provisioned_concurrency_of_a_function_whose_init_fails_is_failed(lam, unique_name):
    # AWS's recorded answer: FAILED, nothing allocated, StatusReason FUNCTION_ERROR_INIT_FAILURE
    name = unique_name("fn")
    create_python(lam, name, "raise Exception('init fails')\ndef handler(e, c):\n    return 1\n")
    lam.publish_version(FunctionName=name)
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    deadline = time.monotonic() + 30
    while (got := lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1"))["Status"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "provisioned concurrency still IN_PROGRESS after 30 s"
        time.sleep(0.05)
    assert (got["Status"], got["StatusReason"]) == ("FAILED", "FUNCTION_ERROR_INIT_FAILURE")
    assert got["AllocatedProvisionedConcurrentExecutions"] == got["AvailableProvisionedConcurrentExecutions"] == 0


@pytest.mark.parametrize("through_alias", [False, True])
def test_provisioned_sandboxes_say_so_in_initialization_type(lam, unique_name, through_alias):
    # AWS_LAMBDA_INITIALIZATION_TYPE is "provisioned-concurrency" in a provisioned sandbox and
    # "on-demand" elsewhere ($LATEST here), as AWS documents for the runtime environment
    name = unique_name("fn")
    create_python(lam, name, INIT_TYPE)
    lam.publish_version(FunctionName=name)
    qualifier = "1"
    if through_alias:
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        qualifier = "live"
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=2)
    wait_ready(lam, name, qualifier)
    assert invoke(lam, name, Qualifier=qualifier)[1] == "provisioned-concurrency"
    assert invoke(lam, name, Qualifier="$LATEST")[1] == "on-demand"


def test_reservation_all_provisioned_throttles_the_unprovisioned_versions(lam, unique_name):
    # reserved 1 and 1 provisioned on version 1: nothing is left for $LATEST (AWS's 429), while
    # version 1 runs on its provisioned sandbox
    name = unique_name("fn")
    create_python(lam, name, INIT_TYPE)
    lam.publish_version(FunctionName=name)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert invoke(lam, name, Qualifier="$LATEST")[1] == "on-demand"
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    wait_ready(lam, name, "1")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Qualifier="$LATEST")
    assert error(e) == ("TooManyRequestsException", "Rate Exceeded.", 429)
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert "retryAfterSeconds" not in e.value.response  # AWS sends no Retry-After here
    assert invoke(lam, name, Qualifier="1")[1] == "provisioned-concurrency"


def test_reserved_and_provisioned_concurrency_limit_each_other(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, INIT_TYPE)
    lam.publish_version(FunctionName=name)
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2)
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert error(e) == ("InvalidParameterValueException", " ReservedConcurrentExecutions  1 should not be lower than "
                        "function's total provisioned concurrency [2].", 400)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    lam.update_function_configuration(FunctionName=name, Timeout=15)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    for qualifier, count in (("2", 1), ("1", 3)):
        with pytest.raises(ClientError) as e:
            lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier,
                                                   ProvisionedConcurrentExecutions=count)
        assert error(e) == ("InvalidParameterValueException", "Requested Provisioned Concurrency should not be greater "
                            "than the reservedConcurrentExecution for function", 400)


def test_provisioned_concurrency_on_latest_answers_invalid_parameter(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)
    assert error(e)[0] == "InvalidParameterValueException"


def test_tail_log_of_a_cold_start_leaves_init_start_out(lam, unique_name):
    # AWS's LogResult starts at START; INIT_START is in the log group only
    name = unique_name("fn")
    create_python(lam, name)
    out = lam.invoke(FunctionName=name, LogType="Tail")
    text = base64.b64decode(out["LogResult"]).decode()
    assert text.startswith("START RequestId: ") and "INIT_START" not in text


def test_update_function_code_with_publish_answers_the_pending_version(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    out = lam.update_function_code(FunctionName=name, ZipFile=python_zip("def handler(e, c):\n    return 3\n"),
                                   Publish=True)
    assert out["Version"] == "1" and out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert out["StateReason"] == "The function is being created." and "LastUpdateStatus" not in out
    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["State"] == "Active"


def test_function_url_answers_502_when_the_function_fails(lam, endpoint, unique_name):
    name = unique_name("url")
    create_python(lam, name, "def handler(e, c):\n    raise ValueError('no')\n")
    host = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"].split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request)
    assert e.value.code == 502
    assert e.value.read() == b"Internal Server Error"  # AWS's plain text body


def test_function_url_returning_a_plain_value_answers_200_json(lam, endpoint, unique_name):
    name = unique_name("url")
    create_python(lam, name, "def handler(e, c):\n    return {'plain': True, 'list': ['a', 3]}\n")
    host = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"].split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})) as response:
        assert response.status == 200
        # AWS answers the value's JSON compactly, whatever spacing the runtime used
        assert response.read() == b'{"plain":true,"list":["a",3]}'
        assert response.headers["X-Amzn-Trace-Id"].startswith("Root=1-")  # as AWS's function URLs answer
    # and a connection kept open is said to be (urllib asks for it to be closed)
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    connection.request("GET", "/", headers={"Host": host})
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("Connection")) == (200, "keep-alive")
    connection.close()


def test_function_url_of_a_deleted_alias_answers_403(lam, endpoint, unique_name):
    name = unique_name("url")
    create_python(lam, name)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    host = lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")["FunctionUrl"]
    host = host.split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"text", headers={"Host": host})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        # the invocation's request id, as START/END name it in the function's log (AWS)
        request_id = response.headers["x-amzn-RequestId"]
        assert json.loads(response.read())["request_id"] == request_id
    lam.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request)
    assert e.value.code == 403 and e.value.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert json.loads(e.value.read())["Message"].startswith("Forbidden. For troubleshooting Function URL authorization")


def test_function_url_no_function_has_answers_403(endpoint):
    port = endpoint.rsplit(":", 1)[1]
    host = "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.localhost.localstack.cloud"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host}))
    assert e.value.code == 403 and e.value.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert e.value.headers["Content-Type"] == "application/json" and e.value.read() == b'{"Message":null}'


def test_update_function_url_config_names_a_streaming_invoke_mode_it_keeps(lam, unique_name):
    name = unique_name("url")
    create_python(lam, name)
    lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert "InvokeMode" not in lam.update_function_url_config(FunctionName=name, AuthType="NONE")
    lam.update_function_url_config(FunctionName=name, InvokeMode="RESPONSE_STREAM")
    assert lam.update_function_url_config(FunctionName=name, AuthType="NONE")["InvokeMode"] == "RESPONSE_STREAM"


def test_function_url_with_aws_iam_auth_rejects_unsigned_requests(lam, endpoint, unique_name):
    name = unique_name("url")
    create_python(lam, name, source("url.py"))
    host = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"].split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host}))
    assert e.value.code == 403


def test_function_url_cors_answers_preflight_and_adds_headers(lam, endpoint, unique_name):
    name = unique_name("url")
    create_python(lam, name, source("url.py"))
    config = lam.create_function_url_config(
        FunctionName=name, AuthType="NONE",
        Cors={"AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET", "POST"],
              "AllowHeaders": ["content-type"], "MaxAge": 60})
    host = config["FunctionUrl"].split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    preflight = urllib.request.Request(f"http://127.0.0.1:{port}/", method="OPTIONS", headers={
        "Host": host, "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    with urllib.request.urlopen(preflight) as response:
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
        assert response.headers["access-control-allow-methods"] == "GET,POST"
        assert response.headers["access-control-max-age"] == "60"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host, "Origin": "https://app.example.com"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    other = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host, "Origin": "https://evil.example"})
    with urllib.request.urlopen(other) as response:
        assert response.headers["access-control-allow-origin"] is None


def test_init_error_logs_init_report_with_error_type(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, handler="nothere.handler")
    out, _ = invoke(lam, name, LogType="Tail")
    text = base64.b64decode(out["LogResult"]).decode()
    assert "INIT_REPORT Init Duration: " in text
    assert "\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError" in text
    report = [line for line in text.splitlines() if line.startswith("REPORT")][0]
    assert report.endswith("\tStatus: error\tError Type: Runtime.ImportModuleError\t")


def test_log_events_are_lines_with_their_newline(client, lam, unique_name):
    # as AWS delivers them: each event ends with its newline, an empty line printed is no event, a
    # carriage return stays inside its line, and REPORT ends with a tab
    name = unique_name("fn")
    create_python(lam, name, "def handler(event, context):\n    print(event['body'])\n")
    out, _ = invoke(lam, name, {"body": "\nmulti\nline\nanother\rline\n"})
    request_id = out["ResponseMetadata"]["RequestId"]
    events = client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [e["message"] for e in events if not e["message"].startswith("INIT_START")]
    assert messages[:5] == [f"START RequestId: {request_id} Version: $LATEST\n", "multi\n", "line\n",
                            "another\rline\n", f"END RequestId: {request_id}\n"]
    assert messages[5].startswith(f"REPORT RequestId: {request_id}\t") and messages[5].endswith(" ms\t\n")
    assert len(messages) == 6


def test_logs_of_an_invocation_are_readable_right_after_its_answer(client, lam, unique_name):
    # the lines are written just after the answer is sent (as AWS delivers them asynchronously),
    # but before any later request is read: a FilterLogEvents right after each Invoke sees them
    name = unique_name("fn")
    create_python(lam, name)
    logs = client("logs")
    for i in range(5):
        out, body = invoke(lam, name, {"n": i})
        request_id = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"{request_id}"')["events"]
        messages = [e["message"] for e in events]
        assert any(m.startswith(f"START RequestId: {request_id}") for m in messages)
        assert any(m.startswith(f"REPORT RequestId: {request_id}") for m in messages)
        printed = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"got event" "{i}"')
        assert printed["events"]


def test_a_configuration_update_is_seen_by_the_next_invocation(lam, unique_name):
    # a warm invocation reuses what it resolved for the function's revision: every update is a
    # new revision, so the very next invocation runs with the new settings (in a new sandbox)
    name = unique_name("fn")
    create_python(lam, name, Environment={"Variables": {"MY_SETTING": "one"}})
    _, first = invoke(lam, name)
    assert first["env"]["MY_SETTING"] == "one"
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"MY_SETTING": "two"}},
                                      MemorySize=256)
    _, second = invoke(lam, name)
    assert second["env"]["MY_SETTING"] == "two" and str(second["memory"]) == "256"
    assert second["pid"] != first["pid"]
    lam.update_function_code(FunctionName=name, ZipFile=python_zip(source("echo.py") + "\n# changed\n"))
    _, third = invoke(lam, name)
    assert third["pid"] != second["pid"] and third["env"]["MY_SETTING"] == "two"
    lam.delete_function(FunctionName=name)
    create_python(lam, name, Environment={"Variables": {"MY_SETTING": "three"}})
    _, fourth = invoke(lam, name)
    assert fourth["env"]["MY_SETTING"] == "three"


SEES = """import ctypes, os, random, resource, signal as signals, sys, threading
def signal_main_from_a_thread():
    outcome = []
    def run():
        try:
            signals.pthread_kill(threading.main_thread().ident, 0)
            outcome.append("ok")
        except OSError as e:
            outcome.append(repr(e))
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return outcome[0]
def handler(event, context):
    libc = ctypes.CDLL(None)
    signal = ctypes.c_int()
    libc.prctl(2, ctypes.byref(signal), 0, 0, 0)  # PR_GET_PDEATHSIG
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    return {"path": sys.path, "env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv,
            "ids": [os.getresuid(), os.getresgid(), os.getgroups()], "stdin": os.readlink("/proc/self/fd/0"),
            "limit": resource.getrlimit(resource.RLIMIT_AS), "pdeathsig": signal.value,
            "no_new_privs": status["NoNewPrivs"].strip(), "umask": os.umask(0o077),
            "own_proc": os.stat("/proc/self/status").st_uid == os.getuid(), "tz": __import__("time").tzname,
            "ppid": os.getppid(), "session_leader": os.getsid(0) == os.getpid() == os.getpgrp(),
            "signal_masks": [status[k].strip() for k in ("SigBlk", "SigIgn")],
            "handlers": {int(n): repr(signals.getsignal(n)) for n in signals.valid_signals() if signals.getsignal(n)},
            "threads": [status["Threads"].strip(), threading.active_count(), threading.get_native_id() == os.getpid()],
            "random": random.random(), "signal_main_from_a_thread": signal_main_from_a_thread(),
            "fds": {fd: os.readlink(f"/proc/self/fd/{fd}").split(":")[0] for fd in os.listdir("/proc/self/fd")
                    if os.path.exists(f"/proc/self/fd/{fd}")},
            "spare": "spare_runtime.py" in open("/proc/self/cmdline").read()}
"""


def test_a_runtime_started_ahead_of_need_gives_the_function_what_a_fresh_start_would(lam, unique_name):
    # a cold start hands the function to a Python runtime started ahead (runtime/pool.py: Spares);
    # a function with a shared library in its code gets a runtime started for it. Both must see
    # the same environment, paths, ids, limits and death signal, their own names aside.
    def run(extra: dict[str, str]):
        name = unique_name("sees")
        code = zip_files({"app.py": SEES, **extra})
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": code}, MemorySize=256, Environment={"Variables": {"MINE": "1"}})
        out, body = invoke(lam, name)
        assert "FunctionError" not in out, body
        text = json.dumps(body).replace(body["cwd"], "CODE").replace(name, "NAME")
        stream = body["env"]["AWS_LAMBDA_LOG_STREAM_NAME"].split("]")[-1]
        uid = body["ids"][0][0]  # each function runs as a user of its own (when overcast runs as root)
        text = text.replace(stream, "STREAM").replace(body["env"]["AWS_LAMBDA_RUNTIME_API"], "API")
        seen = json.loads(text.replace(f"/{uid}/", "/UID/"))
        seen["ids"] = json.loads(json.dumps(seen["ids"]).replace(str(uid), '"UID"'))
        seen["env"].pop("_X_AMZN_TRACE_ID")  # the invocation's own
        return seen

    fresh = run({"libnothing.so": ""})
    assert fresh["spare"] is False
    for _ in range(20):  # the first spare may still be starting: then this start made one
        ahead = run({})
        if ahead["spare"]:
            break
        time.sleep(0.5)
    assert ahead["spare"] is True
    # spares forked from one zygote (runtime/spare_runtime.py) are re-seeded as a fork is
    other = run({})
    assert other["spare"] is True and len({fresh.pop("random"), ahead.pop("random"), other.pop("random")}) == 3
    fresh.pop("spare"), ahead.pop("spare"), other.pop("spare")
    assert other == ahead
    assert {k: v for k, v in ahead["env"].items() if fresh["env"].get(k) != v} == {}
    assert ahead["env"] == fresh["env"]
    assert ahead == fresh
    assert ahead["env"]["MINE"] == "1" and ahead["argv"][1:] == ["app.handler"] and ahead["stdin"] == "/dev/null"
    assert ahead["pdeathsig"] == 9 and ahead["limit"][0] == (256 + 1024) * 1024 * 1024
    # the server's child (as a runtime it spawns), in a session of its own, one thread
    assert ahead["session_leader"] is True and ahead["threads"] == ["1", 1, True]
    assert ahead["signal_main_from_a_thread"] == "ok"  # the C library's thread id is the spare's own


@pytest.mark.parametrize("runtime", ["python3.11", "nodejs20.x"])
def test_exec_wrapper_starts_the_runtime(lam, unique_name, runtime):
    # AWS_LAMBDA_EXEC_WRAPPER: a script that runs the runtime's command (its arguments), named by its
    # path under /var/task as on AWS
    if runtime.startswith("nodejs") and shutil.which("node") is None:
        pytest.skip("node is not installed")
    name = unique_name("fn")
    wrapper = "#!/bin/bash\nexport WRAPPER_VAR=wrapped\nexec \"$@\"\n"
    handler = ("import os\ndef handler(event, context):\n    return os.environ.get('WRAPPER_VAR')\n"
               if runtime.startswith("python") else
               "exports.handler = async () => process.env.WRAPPER_VAR;\n")
    module = "app.py" if runtime.startswith("python") else "app.js"
    code = zip_files({module: handler, "wrapper.sh": wrapper}, modes={"wrapper.sh": 0o755})
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler", Code={"ZipFile": code},
                        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper.sh"}})
    out, body = invoke(lam, name)
    assert "FunctionError" not in out and body == "wrapped"


def test_function_url_event_has_the_headers_awss_front_end_adds(lam, endpoint, unique_name):
    # AWS's recorded events: X-Forwarded-For/-Port/-Proto and X-Amzn-Trace-Id added (in place of
    # any the client sent), no Connection (hop-by-hop); the rest as the client sent them
    name = unique_name("url")
    create_python(lam, name, "import json\ndef handler(e, c):\n    return {'statusCode': 200, 'body': json.dumps(e['headers'])}\n")
    host = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"].split("//", 1)[1].rstrip("/")
    port = endpoint.rsplit(":", 1)[1]
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    connection.request("POST", "/", body=b"{}", headers={"Host": host, "Connection": "keep-alive", "Extra": "With CapS",
                                                         "X-Forwarded-Proto": "ftp", "X-Amzn-Trace-Id": "nope"})
    answer = connection.getresponse()
    headers = json.loads(answer.read())
    assert answer.status == 200
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-port"] == port and headers["x-forwarded-proto"] == "http"
    assert headers["x-amzn-trace-id"] == answer.getheader("X-Amzn-Trace-Id") and headers["x-amzn-trace-id"].startswith("Root=1-")
    assert "connection" not in headers and headers["extra"] == "With CapS" and headers["host"] == host


def test_function_url_invoke_mode_is_checked_with_awss_message(lam, unique_name):
    name = unique_name("url")
    create_python(lam, name, "def handler(e, c):\n    return 1\n")
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="UNKNOWN")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: Member must "
        "satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
