"""The services overcast implements, and how requests find them.

Each entry is data only: providers are imported when their service is first called, so start-up
pays for none of them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

MiB = 1024 * 1024
# The largest request body a service without a documented limit of its own accepts. Bodies are
# refused above their service's limit before they are read whole (server.py), so that one client
# cannot exhaust memory or stall the others.
DEFAULT_MAX_REQUEST_BYTES = 20 * MiB


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str  # botocore model name
    provider: str  # "module:Class"
    signing_names: tuple[str, ...]  # SigV4 credential-scope service names
    target_prefixes: tuple[str, ...] = ()  # X-Amz-Target prefixes (JSON protocols)
    host_prefixes: tuple[str, ...] = ()  # first label of a service host name (sqs.us-east-1...)
    # Protocols accepted besides the model's own: SQS still takes awsQuery from older SDKs,
    # parsed and answered with the last awsQuery model of the service (see aws/legacy_models).
    legacy_query_model: str | None = None
    # The request body is handed over as a stream (HttpRequest.stream) instead of being read
    # into memory first (S3 objects).
    stream_body: bool = False
    # "module:Class" of a front door that takes the service's requests instead of the generic
    # gateway path (S3: bucket-in-host addressing, websites, CORS, POST uploads, streaming).
    front: str | None = None
    # Work that waits for no request (deliveries to retry, timers to arm, pollers to run): pairs of
    # (schema name, "module:function(db) -> bool") in the service's stores. At start-up, a service
    # whose schema exists and whose function answers True is started at once.
    pending_work: tuple[tuple[str, str], ...] = ()
    # Request paths that pick this service when its signing name is shared with others
    # (apigatewayv2's control plane is /v2/...; API Gateway v1 signs as "apigateway" too).
    path_prefixes: tuple[str, ...] = ()
    # The largest request body the service accepts, from its documented payload limits (with room
    # for the protocol's encoding: base64 blobs grow by 4/3, escaped text up to 3x). Larger bodies
    # get `too_large_error` (code, HTTP status) before they are read whole; per-operation limits
    # below this one are the providers' (Lambda Invoke's 6 MB, SQS's 1 MiB message).
    # Blob files the service writes under blobs/<prefix>, and "module:function(db, keys) -> set"
    # in its store answering which of those keys its rows still reference: as (schema name,
    # prefix, function). At start-up, blobs no row references (a crash between the file and its
    # row) are removed (engine/startup.py).
    blob_prefixes: tuple[tuple[str, str, str], ...] = ()
    # On a cluster, the service's timed work (its provider's start and stop, its Timers) runs on
    # the one node holding the lease "service:<name>" (storage/coordination.py).
    leased: bool = False
    # On a cluster, the provider spreads its work over the nodes itself (a lease per resource,
    # storage/coordination.WorkKind, or a queue every node takes from): its `start` runs on every
    # node, and every node loads it at start-up, to take over what a dead node held.
    shares_work: bool = False
    # Request paths that name this service when the request is unsigned (POST): X-Ray's sampling
    # calls, which the X-Ray SDKs send without a signature through the daemon's proxy.
    unsigned_paths: tuple[str, ...] = ()
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    too_large_error: tuple[str, int] = ("RequestEntityTooLarge", 413)


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            "sqs",
            "overcast.services.sqs.provider:SqsProvider",
            signing_names=("sqs",),
            target_prefixes=("AmazonSQS",),
            host_prefixes=("sqs", "queue"),
            legacy_query_model="sqs-2012-11-05-query",
            max_request_bytes=3 * MiB + 64 * 1024,  # a 1 MiB message or batch, escaped
        ),
        ServiceSpec(
            "sts",
            "overcast.services.sts.provider:StsProvider",
            signing_names=("sts",),
            host_prefixes=("sts",),
        ),
        ServiceSpec(
            "iam",
            "overcast.services.iam.provider:IamProvider",
            signing_names=("iam",),
            host_prefixes=("iam",),
        ),
        ServiceSpec(
            "lambda",
            "overcast.services.lambda_.provider:LambdaProvider",
            signing_names=("lambda",),
            host_prefixes=("lambda",),
            shares_work=True,
            pending_work=(("lambda", "overcast.services.lambda_.store:has_pending_work"),
                          ("esm", "overcast.services.lambda_.mappings_store:has_pending_work")),
            # CreateFunction: a 50 MB zip, base64 in JSON, is AWS's own figure for the request
            max_request_bytes=70_167_211,
            too_large_error=("RequestEntityTooLargeException", 413),
        ),
        ServiceSpec(
            "cloudwatch",
            "overcast.services.cloudwatch.provider:CloudWatchProvider",
            signing_names=("monitoring",),
            target_prefixes=("GraniteServiceVersion20100801",),
            host_prefixes=("monitoring",),
            pending_work=(("cloudwatch", "overcast.services.cloudwatch.store:has_pending_work"),),
            leased=True,
        ),
        ServiceSpec(
            "logs",
            "overcast.services.logs.provider:LogsProvider",
            signing_names=("logs",),
            target_prefixes=("Logs_20140328",),
            host_prefixes=("logs",),
            pending_work=(("logs", "overcast.services.logs.store:has_pending_work"),),
        ),
        ServiceSpec(
            "s3",
            "overcast.services.s3.provider:S3Provider",
            signing_names=("s3",),
            host_prefixes=("s3",),
            stream_body=True,
            front="overcast.services.s3.front:S3Front",
            shares_work=True,
            pending_work=(("s3", "overcast.services.s3.store:has_pending_work"),),
            blob_prefixes=(("s3", "s3", "overcast.services.s3.store:blobs_in_use"),),
        ),
        ServiceSpec(
            "dynamodb",
            "overcast.services.dynamodb.provider:DynamoDbProvider",
            signing_names=("dynamodb",),
            target_prefixes=("DynamoDB_20120810",),
            host_prefixes=("dynamodb",),
            max_request_bytes=16 * MiB + 64 * 1024,  # BatchWriteItem: 16 MB over the network
        ),
        ServiceSpec(
            "dynamodbstreams",
            "overcast.services.dynamodbstreams.provider:DynamoDbStreamsProvider",
            signing_names=("dynamodb",),
            target_prefixes=("DynamoDBStreams_20120810",),
        ),
        ServiceSpec(
            "sns",
            "overcast.services.sns.provider:SnsProvider",
            signing_names=("sns",),
            host_prefixes=("sns",),
            pending_work=(("sns", "overcast.services.sns.store:has_pending_work"),),
            leased=True,
            max_request_bytes=MiB,  # a 256 KiB message (or batch), escaped
        ),
        ServiceSpec(
            "events",
            "overcast.services.events.provider:EventsProvider",
            signing_names=("events",),
            target_prefixes=("AWSEvents",),
            host_prefixes=("events",),
            pending_work=(("events", "overcast.services.events.store:has_pending_work"),),
            leased=True,
        ),
        ServiceSpec(
            "apigateway",
            "overcast.services.apigateway.provider:ApiGatewayProvider",
            signing_names=("apigateway",),
            host_prefixes=("apigateway",),
        ),
        ServiceSpec(
            "apigatewayv2",
            "overcast.services.apigatewayv2.provider:ApiGatewayV2Provider",
            signing_names=("apigateway",),
            path_prefixes=("/v2/",),
            pending_work=(("apigatewayv2", "overcast.services.apigatewayv2.store:has_pending_work"),),
        ),
        ServiceSpec(
            "apigatewaymanagementapi",
            "overcast.services.apigatewaymanagementapi.provider:ApiGatewayManagementApiProvider",
            signing_names=("execute-api",),
            front="overcast.services.apigatewaymanagementapi.provider:ManagementFront",
        ),
        ServiceSpec(
            "scheduler",
            "overcast.services.scheduler.provider:SchedulerProvider",
            signing_names=("scheduler",),
            host_prefixes=("scheduler",),
            pending_work=(("scheduler", "overcast.services.scheduler.store:has_pending_work"),),
            leased=True,
        ),
        ServiceSpec(
            "kinesis",
            "overcast.services.kinesis.provider:KinesisProvider",
            signing_names=("kinesis",),
            target_prefixes=("Kinesis_20131202",),
            host_prefixes=("kinesis",),
            max_request_bytes=14 * MiB,  # PutRecords: 10 MiB of records, base64 in JSON
        ),
        ServiceSpec(
            "firehose",
            "overcast.services.firehose.provider:FirehoseProvider",
            signing_names=("firehose",),
            target_prefixes=("Firehose_20150804",),
            host_prefixes=("firehose",),
            shares_work=True,
            pending_work=(("firehose", "overcast.services.firehose.store:has_pending_work"),),
        ),
        ServiceSpec(
            "glue",
            "overcast.services.glue.provider:GlueProvider",
            signing_names=("glue",),
            target_prefixes=("AWSGlue",),
            host_prefixes=("glue",),
            shares_work=True,
            pending_work=(("glue", "overcast.services.glue.store:has_pending_work"),),
        ),
        ServiceSpec(
            "athena",
            "overcast.services.athena.provider:AthenaProvider",
            signing_names=("athena",),
            target_prefixes=("AmazonAthena",),
            host_prefixes=("athena",),
        ),
        ServiceSpec(
            "cloudformation",
            "overcast.services.cloudformation.provider:CloudFormationProvider",
            signing_names=("cloudformation",),
            host_prefixes=("cloudformation",),
            shares_work=True,
            pending_work=(("cloudformation", "overcast.services.cloudformation.store:has_pending_work"),),
        ),
        ServiceSpec(
            "appsync",
            "overcast.services.appsync.provider:AppSyncProvider",
            signing_names=("appsync",),
            host_prefixes=("appsync",),
        ),
        ServiceSpec(
            "kms",
            "overcast.services.kms.provider:KmsProvider",
            signing_names=("kms",),
            target_prefixes=("TrentService",),
            host_prefixes=("kms",),
        ),
        ServiceSpec(
            "ssm",
            "overcast.services.ssm.provider:SsmProvider",
            signing_names=("ssm",),
            target_prefixes=("AmazonSSM",),
            host_prefixes=("ssm",),
        ),
        ServiceSpec(
            "cognito-idp",
            "overcast.services.cognitoidp.provider:CognitoIdpProvider",
            signing_names=("cognito-idp",),
            target_prefixes=("AWSCognitoIdentityProviderService",),
            host_prefixes=("cognito-idp",),
        ),
        ServiceSpec(
            "cognito-identity",
            "overcast.services.cognitoidentity.provider:CognitoIdentityProvider",
            signing_names=("cognito-identity",),
            target_prefixes=("AWSCognitoIdentityService",),
            host_prefixes=("cognito-identity",),
        ),
        ServiceSpec(
            "resourcegroupstaggingapi",
            "overcast.services.resourcegroupstaggingapi.provider:ResourceGroupsTaggingApiProvider",
            signing_names=("tagging",),
            target_prefixes=("ResourceGroupsTaggingAPI_20170126",),
            host_prefixes=("tagging",),
        ),
        ServiceSpec(
            "stepfunctions",
            "overcast.services.stepfunctions.provider:StepFunctionsProvider",
            signing_names=("states",),
            target_prefixes=("AWSStepFunctions",),
            host_prefixes=("states", "sync-states"),
            pending_work=(("stepfunctions", "overcast.services.stepfunctions.store:has_pending_work"),),
        ),
        ServiceSpec(
            "secretsmanager",
            "overcast.services.secretsmanager.provider:SecretsManagerProvider",
            signing_names=("secretsmanager",),
            target_prefixes=("secretsmanager",),
            host_prefixes=("secretsmanager",),
            pending_work=(("secretsmanager", "overcast.services.secretsmanager.store:has_pending_work"),),
            leased=True,
        ),
        ServiceSpec(
            "ecr",
            "overcast.services.ecr.provider:EcrProvider",
            signing_names=("ecr",),
            target_prefixes=("AmazonEC2ContainerRegistry_V20150921",),
        ),
        ServiceSpec(
            "xray",
            "overcast.services.xray.provider:XRayProvider",
            signing_names=("xray",),
            host_prefixes=("xray",),
            unsigned_paths=("/GetSamplingRules", "/SamplingTargets"),
        ),
        ServiceSpec(
            "cloudcontrol",
            "overcast.services.cloudcontrol.provider:CloudControlProvider",
            signing_names=("cloudcontrolapi",),
            target_prefixes=("CloudApiService",),
            host_prefixes=("cloudcontrolapi",),
        ),
    )
}

BY_SIGNING_NAME: dict[str, list[str]] = {}
BY_TARGET_PREFIX: dict[str, str] = {}
BY_HOST_PREFIX: dict[str, str] = {}
BY_UNSIGNED_PATH: dict[str, str] = {p: s.name for s in SERVICES.values() for p in s.unsigned_paths}
# (path prefix, service) for signing names several services share; see ServiceSpec.path_prefixes
BY_PATH_PREFIX: tuple[tuple[str, str], ...] = tuple(
    (p, s.name) for s in SERVICES.values() for p in s.path_prefixes
)
STREAMING_SERVICES: frozenset[str] = frozenset(s.name for s in SERVICES.values() if s.stream_body)
# "/s3/aws4_request": found in a SigV4 Authorization header of a service whose bodies stream
STREAMING_SCOPES: tuple[str, ...] = tuple(
    f"/{n}/aws4_request" for s in SERVICES.values() if s.stream_body for n in s.signing_names
)
for _spec in SERVICES.values():
    for _n in _spec.signing_names:
        BY_SIGNING_NAME.setdefault(_n, []).append(_spec.name)
    for _p in _spec.target_prefixes:
        BY_TARGET_PREFIX[_p] = _spec.name
    for _h in _spec.host_prefixes:
        BY_HOST_PREFIX[_h] = _spec.name


def load_provider_class(spec: ServiceSpec):
    module_name, _, class_name = spec.provider.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
