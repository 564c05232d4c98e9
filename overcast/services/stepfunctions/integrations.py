"""Task states: what a Task's Resource names, performed through overcast's own providers.

- a Lambda function ARN, and `arn:aws:states:::lambda:invoke` (the optimized integration);
- `arn:aws:states:::aws-sdk:<service>:<action>` for every service overcast has;
- the optimized integrations for SQS, SNS, DynamoDB, EventBridge, API Gateway, Athena, Glue and
  Step Functions itself (`states:startExecution`, with `.sync`, `.sync:2`);
- `.waitForTaskToken` on any of them, answered by SendTaskSuccess / SendTaskFailure;
- activities (`arn:aws:states:...:activity:name`), served to GetActivityTask workers;
- the HTTP task (`arn:aws:states:::http:invoke`).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import uuid
from datetime import UTC, datetime

import httpx
import orjson

from overcast.aws.errors import AwsError
from overcast.aws.legacy_models import query_error_code
from overcast.aws.models import fill_idempotency_tokens, load_service_model
from overcast.aws.protocols.shapes import parse_timestamp
from overcast.aws.protocols.validate import validate_input
from overcast.engine.targets import SDK_SERVICES, internal_ctx, operation_method
from overcast.services import SERVICES
from overcast.services.s3.request_ids import s3_ids
from overcast.services.stepfunctions import jsonata_query, paths
from overcast.services.stepfunctions.errors import StatesError, result_too_large
from overcast.services.stepfunctions.history import dumps

# The SDK service names Step Functions uses, where they differ from botocore's model names.
# How a service's errors are prefixed (the SDK's client name in Pascal case).
ERROR_PREFIXES = {"dynamodb": "DynamoDb", "sqs": "Sqs", "sns": "Sns", "s3": "S3", "lambda": "Lambda",
                  "sfn": "Sfn", "eventbridge": "EventBridge", "kinesis": "Kinesis", "firehose": "Firehose",
                  "athena": "Athena", "glue": "Glue", "iam": "Iam", "sts": "Sts", "cloudwatchlogs": "CloudWatchLogs",
                  "secretsmanager": "SecretsManager", "ssm": "Ssm", "apigateway": "ApiGateway",
                  "appsync": "AppSync", "scheduler": "Scheduler", "ecr": "Ecr"}
# Optimized integrations: (service, action) -> (botocore service, operation, error prefix).
OPTIMIZED = {
    ("sqs", "sendMessage"): ("sqs", "SendMessage", "SQS"),
    ("sns", "publish"): ("sns", "Publish", "SNS"),
    ("dynamodb", "getItem"): ("dynamodb", "GetItem", "DynamoDB"),
    ("dynamodb", "putItem"): ("dynamodb", "PutItem", "DynamoDB"),
    ("dynamodb", "updateItem"): ("dynamodb", "UpdateItem", "DynamoDB"),
    ("dynamodb", "deleteItem"): ("dynamodb", "DeleteItem", "DynamoDB"),
    ("events", "putEvents"): ("events", "PutEvents", "EventBridge"),
    ("athena", "startQueryExecution"): ("athena", "StartQueryExecution", "Athena"),
    ("athena", "getQueryExecution"): ("athena", "GetQueryExecution", "Athena"),
    ("athena", "getQueryResults"): ("athena", "GetQueryResults", "Athena"),
    ("athena", "stopQueryExecution"): ("athena", "StopQueryExecution", "Athena"),
    ("glue", "startCrawler"): ("glue", "StartCrawler", "Glue"),
    ("kinesis", "putRecord"): ("kinesis", "PutRecord", "Kinesis"),
    ("firehose", "putRecord"): ("firehose", "PutRecord", "Firehose"),
    ("states", "startExecution"): ("stepfunctions", "StartExecution", "StepFunctions"),
}
HTTP_METADATA = {"AllHttpHeaders": {}, "HttpHeaders": {}, "HttpStatusCode": 200}
DEFAULT_TIMEOUT = 99999999


class Tasks:
    def __init__(self, provider):
        self.provider = provider
        self.providers = provider.providers

    async def run(self, interp, name, state, params, scope, context, language):
        resource = state["Resource"]
        if language == "JSONata" and isinstance(resource, str) and resource.startswith("{%"):
            resource = jsonata_query.evaluate(resource, {"input": params, "context": context}, scope.variables,
                                              "Resource")
        timeout = self._seconds(state, "TimeoutSeconds", params, scope, context, language)
        heartbeat = self._seconds(state, "HeartbeatSeconds", params, scope, context, language)
        run = interp.run
        arn_parts = resource.split(":")
        if resource.startswith("arn:") and len(arn_parts) >= 7 and arn_parts[2] == "lambda" and arn_parts[5] == "function":
            call = self._lambda_function(interp, scope, resource, params, timeout)
        elif len(arn_parts) >= 7 and arn_parts[2] == "states" and arn_parts[5] == "activity":
            call = self._activity(interp, name, scope, resource, params, heartbeat, context)
        elif resource.startswith("arn:aws:states:::") or (len(arn_parts) > 5 and arn_parts[2] == "states"
                                                          and arn_parts[3] == "" and arn_parts[4] == ""):
            call = self._service(interp, name, scope, resource, params, timeout, heartbeat, context)
        else:
            raise StatesError("States.Runtime", f"The resource {resource} is not supported by overcast yet.")
        if timeout:
            try:
                return await asyncio.wait_for(call, timeout)
            except TimeoutError:
                scope.last_event = run.history.add("TaskTimedOut", scope.last_event, taskTimedOutEventDetails={
                    "resourceType": _resource_type(resource), "resource": _resource_name(resource),
                    "error": "States.Timeout"})
                raise StatesError("States.Timeout", "") from None
        return await call

    @staticmethod
    def _seconds(state, field, params, scope, context, language) -> float | None:
        value = state.get(field)
        if language == "JSONata" and isinstance(value, str):
            value = jsonata_query.evaluate(value, {"input": params, "context": context}, scope.variables, field)
        elif value is None and f"{field}Path" in state:
            value = paths.evaluate_value(state[f"{field}Path"], params, context, f"{field}Path")
        if value is None:
            return None
        if not paths.is_number(value) or value <= 0:
            raise StatesError("States.Runtime", f"The {field} value must be a positive integer, but was {value!r}")
        return None if value >= DEFAULT_TIMEOUT else float(value)

    # -- a Lambda function as the Resource ------------------------------------------------------

    async def _lambda_function(self, interp, scope, arn, params, timeout):
        history = interp.run.history
        scope.last_event = history.add("LambdaFunctionScheduled", scope.last_event,
                                       lambdaFunctionScheduledEventDetails={
                                           "resource": arn, "input": dumps(params),
                                           "inputDetails": {"truncated": False},
                                           **({"timeoutInSeconds": int(timeout)} if timeout else {})})
        scope.last_event = history.add("LambdaFunctionStarted", scope.last_event)
        await interp.flush()
        try:
            result = await self._invoke(arn, dumps(params), interp.run)  # (a state's input may be a JSON string)
        except StatesError as e:
            scope.last_event = history.add("LambdaFunctionFailed", scope.last_event,
                                           lambdaFunctionFailedEventDetails={"error": e.error, "cause": e.cause})
            raise
        payload = result.payload.decode() or "null"
        failure = StatesError(*_function_error(payload)) if result.function_error else result_too_large(payload, arn)
        if failure is not None:
            scope.last_event = history.add("LambdaFunctionFailed", scope.last_event,
                                           lambdaFunctionFailedEventDetails={"error": failure.error,
                                                                             "cause": failure.cause})
            raise failure
        scope.last_event = history.add("LambdaFunctionSucceeded", scope.last_event,
                                       lambdaFunctionSucceededEventDetails={
                                           "output": payload, "outputDetails": {"truncated": False}})
        return _json_or_text(payload)

    async def _invoke(self, arn, payload: str, run, invocation_type="RequestResponse", qualifier=None):
        lam = await self.providers.get("lambda")
        try:
            return await lam.invoke_function(run.account, run.region, arn, payload.encode(),
                                             invocation_type=invocation_type, qualifier=qualifier)
        except AwsError as e:
            raise service_error(e, "lambda", "Lambda", sdk2=False) from None

    # -- activities ------------------------------------------------------------------------------

    async def _activity(self, interp, name, scope, arn, params, heartbeat, context):
        if self.provider.store.get_activity(arn) is None:
            raise StatesError("States.Runtime", f"Activity does not exist: {arn}")
        history = interp.run.history
        scope.last_event = history.add("ActivityScheduled", scope.last_event, activityScheduledEventDetails={
            "resource": arn, "input": dumps(params), "inputDetails": {"truncated": False},
            **({"heartbeatInSeconds": int(heartbeat)} if heartbeat else {})})
        token = self.provider.new_token(interp.run, name, context, activity=arn, task_input=params)
        await interp.flush()
        self.provider.activity_ready(arn)
        try:
            output = await self.provider.wait_token(token, heartbeat)
        except StatesError as e:
            scope.last_event = history.add("ActivityFailed", scope.last_event,
                                           activityFailedEventDetails={"error": e.error, "cause": e.cause})
            raise
        scope.last_event = history.add("ActivitySucceeded", scope.last_event, activitySucceededEventDetails={
            "output": dumps(output), "outputDetails": {"truncated": False}})
        return output

    # -- arn:aws:states:::<service>:<action>[.pattern] -------------------------------------------

    async def _service(self, interp, name, scope, resource, params, timeout, heartbeat, context):
        rest = resource.split(":::", 1)[1]
        pattern = ""
        if ".waitForTaskToken" in rest:
            rest, pattern = rest.replace(".waitForTaskToken", ""), "token"
        elif rest.endswith(".sync:2"):
            rest, pattern = rest[:-7], "sync2"
        elif rest.endswith(".sync"):
            rest, pattern = rest[:-5], "sync"
        kind, _, action = rest.partition(":")
        resource_type, resource_name = _resource_type(resource), _resource_name(resource)
        history, run = interp.run.history, interp.run
        scope.last_event = history.add("TaskScheduled", scope.last_event, taskScheduledEventDetails={
            "resourceType": resource_type, "resource": resource_name, "region": run.region,
            "parameters": dumps(params), **({"timeoutInSeconds": int(timeout)} if timeout else {}),
            **({"heartbeatInSeconds": int(heartbeat)} if heartbeat else {})})
        scope.last_event = history.add("TaskStarted", scope.last_event, taskStartedEventDetails={
            "resourceType": resource_type, "resource": resource_name})
        token = None
        if pattern == "token":
            token = run.resumed_token(name) or context.get("Task", {}).get("Token")
            if not token:
                raise StatesError("States.Runtime", "The .waitForTaskToken pattern needs $$.Task.Token in the "
                                                    "task's parameters")
        if pattern == "token":
            self.provider.register_token(run, name, token)
        await interp.flush()
        try:
            if pattern == "token" and run.resumed_token(name):
                output = await self.provider.wait_token(token, heartbeat)
            else:
                output = await self._perform(kind, action, params, run, pattern, token, heartbeat, scope, interp,
                                             resource_type, resource_name)
            text = dumps(output)
            too_large = result_too_large(text, resource_type)
            if too_large is not None:
                raise too_large
        except StatesError as e:
            scope.last_event = history.add("TaskFailed", scope.last_event, taskFailedEventDetails={
                "resourceType": resource_type, "resource": resource_name, "error": e.error, "cause": e.cause})
            raise
        scope.last_event = history.add("TaskSucceeded", scope.last_event, taskSucceededEventDetails={
            "resourceType": resource_type, "resource": resource_name, "output": text,
            "outputDetails": {"truncated": False}})
        return output

    async def _perform(self, kind, action, params, run, pattern, token, heartbeat, scope, interp, rtype, rname):
        if not isinstance(params, dict):
            raise StatesError("States.Runtime", "The parameters of a service integration must be a JSON object")
        if kind == "aws-sdk":
            service, _, api = action.partition(":")
            output = await self.sdk_call(service, api, params, run)
        elif kind == "lambda" and action == "invoke":
            output = await self._lambda_invoke(params, run)
        elif kind == "http" and action == "invoke":
            output = await self._http(params)
        elif kind == "apigateway" and action == "invoke":
            output = await self._apigateway(params, run)
        elif (kind, action) in OPTIMIZED:
            service, operation, prefix = OPTIMIZED[(kind, action)]
            output = await self._optimized(service, operation, prefix, params, run, pattern)
        else:
            raise StatesError("States.Runtime", f"The resource arn:aws:states:::{kind}:{action} is not supported "
                                                "by overcast yet.")
        if pattern == "token":
            scope.last_event = run.history.add("TaskSubmitted", scope.last_event, taskSubmittedEventDetails={
                "resourceType": rtype, "resource": rname, "output": dumps(output),
                "outputDetails": {"truncated": False}})
            await interp.flush()
            return await self.provider.wait_token(token, heartbeat)
        if pattern in ("sync", "sync2"):
            scope.last_event = run.history.add("TaskSubmitted", scope.last_event, taskSubmittedEventDetails={
                "resourceType": rtype, "resource": rname, "output": dumps(output),
                "outputDetails": {"truncated": False}})
            await interp.flush()
            return await self._sync(kind, action, output, run, pattern)
        return output

    # -- optimized integrations ------------------------------------------------------------------

    async def _lambda_invoke(self, params, run):
        function = params.get("FunctionName")
        if not isinstance(function, str):
            raise StatesError("States.Runtime", "The field 'FunctionName' is required")
        payload = params.get("Payload", {})
        if isinstance(payload, str):
            payload_text = payload
        else:
            payload_text = dumps(payload)
        invocation_type = params.get("InvocationType", "RequestResponse")
        result = await self._invoke(function, payload_text, run, invocation_type, params.get("Qualifier"))
        text = result.payload.decode()
        if result.function_error:
            error, cause = _function_error(text or "null")
            raise StatesError(error, cause)
        return {"ExecutedVersion": result.executed_version, "Payload": _json_or_text(text) if text else None,
                "SdkHttpMetadata": {**HTTP_METADATA, "HttpStatusCode": result.status},
                "SdkResponseMetadata": {"RequestId": result.request_id}, "StatusCode": result.status}

    async def _optimized(self, service, operation, prefix, params, run, pattern):
        params = dict(params)
        if service == "sqs" and not isinstance(params.get("MessageBody", ""), str):
            params["MessageBody"] = dumps(params["MessageBody"])
        if service == "sns" and not isinstance(params.get("Message", ""), str):
            params["Message"] = dumps(params["Message"])
        if service == "events":
            entries = []
            for entry in params.get("Entries") or []:
                entry = dict(entry)
                if not isinstance(entry.get("Detail", ""), str):
                    entry["Detail"] = dumps(entry["Detail"])
                entries.append(entry)
            params["Entries"] = entries
        if service == "stepfunctions" and not isinstance(params.get("Input", ""), str):
            params["Input"] = dumps(params["Input"])
        if service == "stepfunctions" and "Input" not in params:
            params["Input"] = "{}"
        output = await self._call(service, operation, params, run, prefix, sdk2=False)
        if service in ("sqs", "sns", "dynamodb", "events", "kinesis", "firehose", "athena", "glue"):
            output = {**output, "SdkHttpMetadata": dict(HTTP_METADATA),
                      "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())}}
        return output

    async def _sync(self, kind, action, submitted, run, pattern):
        if kind == "states" and action == "startExecution":
            result = await self.provider.wait_execution(submitted["ExecutionArn"])
            if result["status"] != "SUCCEEDED":
                error = {"FAILED": "States.TaskFailed", "TIMED_OUT": "States.Timeout",
                         "ABORTED": "States.TaskFailed"}.get(result["status"], "States.TaskFailed")
                raise StatesError(error, dumps(self.provider.describe_for_sync(result, pattern)))
            return self.provider.describe_for_sync(result, pattern)
        if kind == "athena" and action == "startQueryExecution":
            athena_id = submitted["QueryExecutionId"]
            athena = await self.providers.get("athena")
            ctx = internal_ctx("athena", run.account, run.region, "GetQueryExecution")
            waiter = getattr(athena, "wait_for_query", None)
            if waiter is not None:
                await waiter(run.account, run.region, athena_id)
            described = athena.get_query_execution(ctx, {"QueryExecutionId": athena_id})
            if inspect.isawaitable(described):
                described = await described
            described = to_json(load_service_model("athena"), "GetQueryExecutionOutput", described)
            status = described["QueryExecution"]["Status"]["State"]
            if status != "SUCCEEDED":
                raise StatesError("States.TaskFailed", dumps(described))
            return described
        raise StatesError("States.Runtime", f"The .sync pattern is not supported for {kind}:{action} by overcast yet.")

    async def _apigateway(self, params, run):
        """arn:aws:states:::apigateway:invoke: the request goes through the deployed API's own front
        door, in process (no socket)."""
        from urllib.parse import urlencode

        from overcast import execute_api
        from overcast.aws.context import HttpRequest

        endpoint = params.get("ApiEndpoint")
        if not isinstance(endpoint, str):
            raise StatesError("States.Runtime", "The field 'ApiEndpoint' is required")
        host = endpoint.split("://", 1)[-1].split("/", 1)[0]
        api_id = host.split(".", 1)[0]
        stage = params.get("Stage")
        path = params.get("Path", "/") or "/"
        full_path = (f"/{stage}" if stage else "") + (path if path.startswith("/") else "/" + path)
        headers = {k.lower(): (v[0] if isinstance(v, list) else str(v)) for k, v in
                   (params.get("Headers") or {}).items()}
        headers["host"] = f"{api_id}.execute-api.localhost.localstack.cloud"
        body = params.get("RequestBody")
        content = b"" if body is None else (body if isinstance(body, str) else dumps(body)).encode()
        if body is not None:
            headers.setdefault("content-type", "application/json")
        query = urlencode([(k, v) for k, values in (params.get("QueryParameters") or {}).items()
                           for v in (values if isinstance(values, list) else [values])])
        request = HttpRequest(params.get("Method", "GET"), full_path, full_path, query, headers, content)
        found = execute_api.match(headers["host"], full_path)
        if found is None:
            raise StatesError("ApiGateway.NotFoundException", f"No API {api_id} is deployed")
        response = await execute_api.dispatch(self.providers, request, found)
        text = response.body.decode(errors="replace") if response is not None else ""
        status = response.status if response is not None else 404
        output = {"Headers": {k: [v] for k, v in (response.headers if response is not None else [])},
                  "ResponseBody": _json_or_text(text), "StatusCode": status,
                  "StatusText": _reason(status)}
        if status >= 400:
            raise StatesError(f"ApiGateway.{status}", dumps(output))
        return output

    async def _http(self, params):
        endpoint = params.get("ApiEndpoint")
        if not isinstance(endpoint, str):
            raise StatesError("States.Runtime", "The field 'ApiEndpoint' is required")
        return await self._http_call(endpoint, params.get("Method", "GET"), params.get("Headers") or {},
                                     params.get("QueryParameters") or {}, params.get("RequestBody"),
                                     result_key="ResponseBody", prefix="States.Http")

    async def _http_call(self, url, method, headers, query, body, result_key, prefix):
        headers = {k: v[0] if isinstance(v, list) else str(v) for k, v in headers.items()}
        content = None
        if body is not None:
            content = body if isinstance(body, str) else dumps(body)
            headers.setdefault("content-type", "application/json")
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                response = await client.request(method, url, headers=headers, params=query, content=content)
        except httpx.HTTPError as e:
            raise StatesError(f"{prefix}.ConnectionError" if prefix != "States.Http" else "States.Http.Socket",
                              str(e)) from None
        text = response.text
        output = {"Headers": {k: [v] for k, v in response.headers.items()}, result_key: _json_or_text(text),
                  "StatusCode": response.status_code, "StatusText": response.reason_phrase}
        if response.status_code >= 400:
            error = f"{prefix}.StatusCode.{response.status_code}" if prefix == "States.Http" else \
                f"{prefix}.{response.status_code}"
            raise StatesError(error, dumps(output))
        return output

    # -- AWS SDK integrations ----------------------------------------------------------------------

    async def sdk_call(self, sdk_service: str, api: str, params: dict, run) -> dict:
        service = SDK_SERVICES.get(sdk_service, sdk_service)
        prefix = ERROR_PREFIXES.get(sdk_service, sdk_service[:1].upper() + sdk_service[1:])
        operation = api[:1].upper() + api[1:]
        return await self._call(service, operation, params, run, prefix, sdk2=True)

    async def _call(self, service, operation_name, params, run, prefix, sdk2: bool) -> dict:
        if service not in SERVICES:
            raise StatesError("States.Runtime", f"The service {service} is not supported by overcast yet.")
        operation, method = await operation_method(self.providers, service, operation_name)
        if operation is None:
            raise StatesError("States.Runtime", f"The API action {operation_name} does not exist for {service}.")
        model = load_service_model(service)
        if method is None:
            raise StatesError(f"{prefix}.NotImplemented", f"{service} {operation_name} is not implemented by "
                                                          "overcast yet.")
        try:
            args = from_json(model, operation.input_shape, params) if operation.input_shape else {}
        except ValueError as e:
            raise StatesError("States.Runtime", f"Invalid parameters for {service}:{operation_name}: {e}") from None
        fill_idempotency_tokens(service, operation_name, args)  # as the SDK Step Functions calls with does
        ctx = internal_ctx(service, run.account, run.region, operation_name)
        try:
            # the service checks the request against its model first, as it does a request over HTTP
            validate_input(model, operation, args)
            result = method(ctx, args)
            if inspect.isawaitable(result):
                result = await result
        except AwsError as e:
            raise service_error(e, service, prefix, sdk2) from None
        if not isinstance(result, dict):
            return {}
        return to_json(model, operation.output_shape, result) if operation.output_shape else {}


# -- a service's error as the SDK Step Functions calls it with reports it -----------------------

# The optimized integrations call services with AWS's Java SDK 1, which names a service (in an
# error's cause) and its exception for errors the service's model does not list as these; the
# forms of the services AWS's recorded histories show (LocalStack's AWS-validated snapshots).
_SDK1_SERVICES = {"lambda": ("AWSLambda", "AWSLambdaException"), "sqs": ("AmazonSQS", "AmazonSQSException"),
                  "sns": ("AmazonSNS", "AmazonSNSException"),
                  "dynamodb": ("AmazonDynamoDBv2", "AmazonDynamoDBException"),
                  "stepfunctions": ("AWSStepFunctions", "AWSStepFunctionsException")}


def service_error(e: AwsError, service: str, prefix: str, sdk2: bool) -> StatesError:
    """A task's Error and Cause for a service's error, as AWS's Step Functions writes them: Error is
    `Prefix.ExceptionName`, the SDK's exception for the error (its shape's name, with "Exception"
    added where it lacks it: AWS's documented rule), or the SDK's exception for the service when its
    model does not list the error (`SecretsManager.SecretsManagerException` for a ValidationException).
    Cause is the message and what the SDK adds to it: for the AWS SDK integrations (Java SDK 2)
    `(Service: S3, Status Code: 404, Request ID: ...)` (S3's also its Extended Request ID), for the
    optimized ones (Java SDK 1, which speaks awsQuery to SQS and SNS) `(Service: AmazonSQS; Status
    Code: 400; Error Code: ...; Request ID: ...; Proxy: null)`. Services whose Java SDK 1 forms are
    not known keep the SDK 2 form."""
    model = load_service_model(service)
    shape_name = _error_shape_names(model).get(e.code)
    request_id = str(uuid.uuid4())
    sdk1 = None if sdk2 else _SDK1_SERVICES.get(service)
    if shape_name is None:
        name = sdk1[1] if sdk1 else f"{prefix}Exception"
    else:
        name = shape_name if shape_name.endswith("Exception") else shape_name + "Exception"
    if sdk1:
        query = query_error_code(model, shape_name) if shape_name is not None else None
        cause = (f"{e.message} (Service: {sdk1[0]}; Status Code: {e.status}; Error Code: "
                 f"{query[0] if query else e.code}; Request ID: {request_id}; Proxy: null)")
    elif service == "s3":
        request_id, host_id = s3_ids(request_id)
        cause = (f"{e.message} (Service: {prefix}, Status Code: {e.status}, Request ID: {request_id}, "
                 f"Extended Request ID: {host_id})")
    else:
        cause = f"{e.message} (Service: {prefix}, Status Code: {e.status}, Request ID: {request_id})"
    return StatesError(f"{prefix}.{name}", cause)


def _error_shape_names(model) -> dict[str, str]:
    """The model's error shapes' names, by name and by the awsQuery code a service may answer with
    (SNS's NotFoundException is NotFound)."""
    names = model.cache("sfn_error_shapes")
    if not names:
        for name, shape in model.shapes.items():
            if shape.get("exception"):
                names[name] = name
                names.setdefault((shape.get("error") or {}).get("code", name), name)
    return names


# -- shapes <-> JSON ------------------------------------------------------------------------------

def from_json(model, shape_name: str, value):
    """A task's JSON parameters as the provider takes them: members matched case-insensitively (Step
    Functions takes PascalCase for camelCase APIs too), blobs as bytes, timestamps parsed."""
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValueError(f"expected an object for {shape_name}")
        members = shape.get("members", {})
        lower = {name.lower(): name for name in members}
        out = {}
        for key, item in value.items():
            name = key if key in members else lower.get(key.lower())
            if name is None:
                raise ValueError(f"unknown parameter {key!r}")
            out[name] = from_json(model, members[name]["shape"], item) if item is not None else None
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError(f"expected a list for {shape_name}")
        return [from_json(model, shape["member"]["shape"], v) for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise ValueError(f"expected an object for {shape_name}")
        return {k: from_json(model, shape["value"]["shape"], v) for k, v in value.items()}
    if kind == "blob":
        return value.encode() if isinstance(value, str) else value
    if kind == "timestamp" and isinstance(value, str | int | float):
        return parse_timestamp(value, None)
    return value


def to_json(model, shape_name: str, value):
    """A provider's output as Step Functions hands it on: members in Pascal case (as the SDK Step
    Functions uses names them, whatever the API's own case), JSON only (timestamps as ISO text,
    blobs as text when UTF-8, else base64)."""
    if value is None:
        return None
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure" and isinstance(value, dict):
        members = shape.get("members", {})
        return {k[:1].upper() + k[1:]: to_json(model, members[k]["shape"], v) if k in members else _plain(v)
                for k, v in value.items() if v is not None}
    if kind == "list" and isinstance(value, list):
        return [to_json(model, shape["member"]["shape"], v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: to_json(model, shape["value"]["shape"], v) for k, v in value.items()}
    return _plain(value, kind)


def _plain(value, kind: str = ""):
    if kind == "timestamp" or isinstance(value, datetime):
        if isinstance(value, int | float):
            value = datetime.fromtimestamp(value, UTC)
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return data.decode()
        except UnicodeDecodeError:
            return base64.b64encode(data).decode()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _function_error(payload: str) -> tuple[str, str]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        body = None
    error = body.get("errorType") if isinstance(body, dict) else None
    return (error or "Lambda.Unknown"), payload


def _json_or_text(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _resource_type(resource: str) -> str:
    if ":::" in resource:
        rest = resource.split(":::", 1)[1]
        kind, _, action = rest.partition(":")
        if kind == "aws-sdk":
            return f"aws-sdk:{action.partition(':')[0]}"
        return kind
    parts = resource.split(":")
    return parts[2] if len(parts) > 2 else resource


def _resource_name(resource: str) -> str:
    if ":::" in resource:
        rest = resource.split(":::", 1)[1]
        kind, _, action = rest.partition(":")
        return action.partition(":")[2] if kind == "aws-sdk" else action
    return resource


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
