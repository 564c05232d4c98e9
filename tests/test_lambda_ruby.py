"""Ruby functions (ruby3.2, ruby3.3, ruby3.4) on overcast's own Ruby runtime client
(overcast/runtime/ruby_bootstrap.rb; docs/lambda.md, "Ruby"): the handler forms, context and
environment AWS documents for Ruby, errors as AWS's Ruby runtime reports them, logs, bundled gems
and layers. Skipped without Ruby, except in CI (OVERCAST_REQUIRE_RUBY=1), which installs it."""

from __future__ import annotations

import base64
import json
import os
import shutil

import pytest
from botocore.exceptions import ClientError
from lambda_functions import ROLE, zip_files

if shutil.which("ruby") is None:
    if os.environ.get("OVERCAST_REQUIRE_RUBY") == "1":
        pytest.fail("OVERCAST_REQUIRE_RUBY=1 but ruby is not installed", pytrace=False)
    pytest.skip("ruby is not installed (apt-get install ruby)", allow_module_level=True)

ECHO = """
require "json"

def handler(event:, context:)
  puts "got #{event.to_json}"
  {
    "event" => event,
    "request_id" => context.aws_request_id,
    "function_name" => context.function_name,
    "function_version" => context.function_version,
    "invoked_function_arn" => context.invoked_function_arn,
    "memory_limit_in_mb" => context.memory_limit_in_mb,
    "log_group_name" => context.log_group_name,
    "log_stream_name" => context.log_stream_name,
    "remaining" => context.get_remaining_time_in_millis,
    "client_context" => context.client_context,
    "env" => ENV.to_h.slice("AWS_EXECUTION_ENV", "RUBYLIB", "GEM_PATH", "LAMBDA_TASK_ROOT", "_HANDLER",
                            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_X_AMZN_TRACE_ID"),
  }
end
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def create(lam, name: str, files: dict[str, str], handler: str = "app.handler", runtime: str = "ruby3.3", **kwargs):
    return lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                               Code={"ZipFile": zip_files(files)}, **kwargs)


def invoke(lam, name: str, payload, **kwargs):
    out = lam.invoke(FunctionName=name, Payload=json.dumps(payload), **kwargs)
    body = out["Payload"].read()
    return out, json.loads(body) if body else None


@pytest.mark.parametrize("runtime", ["ruby3.2", "ruby3.3", "ruby3.4"])
def test_a_ruby_function_gets_its_event_context_and_environment(lam, unique_name, runtime):
    name = unique_name("rb")
    create(lam, name, {"app.rb": ECHO}, runtime=runtime, MemorySize=256, Timeout=7)
    client_context = base64.b64encode(json.dumps({"custom": {"who": "test"}}).encode()).decode()
    out, body = invoke(lam, name, {"hello": ["world", 1, None]}, ClientContext=client_context)
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert body["event"] == {"hello": ["world", 1, None]}
    assert body["request_id"] == out["ResponseMetadata"]["RequestId"]
    assert body["function_name"] == name and body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"].endswith(f":function:{name}")
    assert body["memory_limit_in_mb"] == "256"  # a string, as AWS's Ruby context answers it
    assert body["log_group_name"] == f"/aws/lambda/{name}" and body["log_stream_name"]
    assert 0 < body["remaining"] <= 7000
    assert body["client_context"] == {"custom": {"who": "test"}}
    env = body["env"]
    version = runtime[len("ruby"):]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}" and env["_HANDLER"] == "app.handler"
    assert env["RUBYLIB"].split(":")[0] == env["LAMBDA_TASK_ROOT"]
    assert env["GEM_PATH"].split(":")[0] == os.path.join(env["LAMBDA_TASK_ROOT"], "vendor/bundle/ruby", f"{version}.0")
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_results_are_answered_as_json(lam, unique_name):
    name = unique_name("rb")
    create(lam, name, {"app.rb": "def handler(event:, context:)\n  event['give']\nend\n"})
    for value in ("text", 42, 1.5, None, True, [1, "two"], {"nested": {"a": [1]}}):
        out, body = invoke(lam, name, {"give": value})
        assert out["StatusCode"] == 200 and body == value


def test_a_handler_in_a_module_or_class(lam, unique_name):
    name = unique_name("rb")
    source = """
module Shop
  class Orders
    def self.process(event:, context:)
      { "total" => event["items"].sum }
    end
  end
end
"""
    create(lam, name, {"lib_orders.rb": source}, handler="lib_orders.Shop::Orders.process")
    _out, body = invoke(lam, name, {"items": [1, 2, 3]})
    assert body == {"total": 6}


def test_an_error_is_reported_as_aws_ruby_runtime_reports_it(lam, unique_name):
    name = unique_name("rb")
    source = "class OrderError < StandardError; end\n\ndef handler(event:, context:)\n" \
             "  raise OrderError, 'order 7 failed' if event['custom']\n  raise 'boom'\nend\n"
    create(lam, name, {"app.rb": source})
    out, body = invoke(lam, name, {}, LogType="Tail")
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function<RuntimeError>" and body["errorMessage"] == "boom"
    assert body["stackTrace"][0].endswith("app.rb:5:in `handler'") or "app.rb:5:in" in body["stackTrace"][0]
    assert "Function<RuntimeError>" in base64.b64decode(out["LogResult"]).decode()
    _out, body = invoke(lam, name, {"custom": True})
    assert body["errorType"] == "Function<OrderError>" and body["errorMessage"] == "order 7 failed"
    # the runtime goes on: the next invocation is served
    out, body = invoke(lam, name, {})
    assert out["FunctionError"] == "Unhandled" and body["errorMessage"] == "boom"


@pytest.mark.parametrize(("files", "handler", "error_type"), [
    ({"app.rb": "def handler(event:, context:\n  1\n"}, "app.handler", "Init<SyntaxError>"),
    ({"app.rb": "raise 'no config'\n"}, "app.handler", "Init<RuntimeError>"),
    ({"app.rb": "def other(event:, context:); end\n"}, "app.handler", "Init<NoMethodError>"),
    ({"app.rb": "def handler(event:, context:); end\n"}, "missing.handler", "Init<LoadError>"),
    ({"app.rb": "def handler(event:, context:); end\n"}, "app.Nope::Handler.run", "Init<NameError>"),
], ids=["syntax", "raises", "no-method", "no-file", "no-class"])
def test_code_that_cannot_be_loaded_is_an_init_error(lam, unique_name, files, handler, error_type):
    name = unique_name("rb")
    create(lam, name, files, handler=handler)
    out, body = invoke(lam, name, {})
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type, body
    assert body["errorMessage"]


def test_logs_reach_cloudwatch(lam, client, unique_name):
    name = unique_name("rb")
    create(lam, name, {"app.rb": ECHO})
    out, _body = invoke(lam, name, {"n": 1}, LogType="Tail")
    tail = base64.b64decode(out["LogResult"]).decode()
    assert 'got {"n":1}' in tail and "REPORT RequestId:" in tail


def test_bundled_gems_and_layers_are_found(lam, client, unique_name):
    """`bundle install --path vendor/bundle` puts gems under vendor/bundle/ruby/3.3.0 (on GEM_PATH);
    a layer's ruby/lib is on RUBYLIB and its ruby/gems/3.3.0 on GEM_PATH, as on AWS."""
    spec = ('Gem::Specification.new do |s|\n  s.name = "{name}"\n  s.version = "1.0.0"\n  s.summary = "t"\n'
            '  s.authors = ["t"]\n  s.files = ["lib/{name}.rb"]\n  s.require_paths = ["lib"]\nend\n')
    vendor = "vendor/bundle/ruby/3.3.0"
    layer_zip = zip_files({
        "ruby/lib/layer_helper.rb": "module LayerHelper\n  def self.greet = 'from the layer'\nend\n",
        "ruby/gems/3.3.0/specifications/layergem-1.0.0.gemspec": spec.replace("{name}", "layergem"),
        "ruby/gems/3.3.0/gems/layergem-1.0.0/lib/layergem.rb": "module Layergem\n  VALUE = 'layer gem'\nend\n",
    })
    layer = lam.publish_layer_version(LayerName=unique_name("rblayer"), Content={"ZipFile": layer_zip},
                                      CompatibleRuntimes=["ruby3.3"])
    source = ("require 'vendored'\nrequire 'layergem'\nrequire 'layer_helper'\n\n"
              "def handler(event:, context:)\n  [Vendored::VALUE, Layergem::VALUE, LayerHelper.greet]\nend\n")
    name = unique_name("rb")
    create(lam, name, {
        "app.rb": source,
        f"{vendor}/specifications/vendored-1.0.0.gemspec": spec.replace("{name}", "vendored"),
        f"{vendor}/gems/vendored-1.0.0/lib/vendored.rb": "module Vendored\n  VALUE = 'vendored gem'\nend\n",
    }, Layers=[layer["LayerVersionArn"]])
    out, body = invoke(lam, name, {})
    assert "FunctionError" not in out, body
    assert body == ["vendored gem", "layer gem", "from the layer"]


def test_ruby_runtimes_are_listed_as_supported(lam, unique_name):
    name = unique_name("rb")
    created = create(lam, name, {"app.rb": ECHO}, runtime="ruby3.4")
    assert created["Runtime"] == "ruby3.4"
    with pytest.raises(ClientError) as excinfo:
        create(lam, unique_name("rb"), {"app.rb": ECHO}, runtime="ruby2.7")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_other_runtimes_get_no_ruby_variables(lam, unique_name):
    from lambda_functions import create_python

    name = unique_name("py")
    create_python(lam, name, "import os\n\ndef handler(event, context):\n"
                             "    return [os.environ.get('RUBYLIB'), os.environ.get('GEM_PATH')]\n")
    _out, body = invoke(lam, name, {})
    assert body == [None, None]


def test_a_sam_template_with_a_ruby_function_deploys_and_runs(client, unique_name):
    """As `sam deploy` does it: the code zipped into S3, a change set of the template with the SAM
    transform, executed; then the function behind its HTTP API answers."""
    import httpx
    from cfn_support import FAST, deploy_change_set

    s3, cf = client("s3"), client("cloudformation")
    bucket = unique_name("rbsam")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="app.zip", Body=zip_files({"app.rb": (
        "require 'json'\n\ndef handler(event:, context:)\n"
        "  { statusCode: 200, body: JSON.generate({ path: event['rawPath'], runtime: ENV['AWS_EXECUTION_ENV'] }) }\n"
        "end\n")}))
    template = f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: ruby3.3
      Handler: app.handler
      CodeUri: s3://{bucket}/app.zip
      Events:
        Api:
          Type: HttpApi
          Properties:
            Path: /hello
            Method: GET
Outputs:
  ApiId:
    Value: !Ref ServerlessHttpApi
"""
    name = unique_name("rbstack")
    deploy_change_set(cf, name, template, "CREATE")
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    api_id = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "ApiId")
    endpoint = client("lambda").meta.endpoint_url
    answer = httpx.get(f"{endpoint}/_aws/execute-api/{api_id}/$default/hello", timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": "/hello", "runtime": "AWS_Lambda_ruby3.3"}
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
