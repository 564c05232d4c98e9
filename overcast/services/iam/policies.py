"""Policy documents: the syntax checks IAM applies, the URL encoding IAM answers with, and the
AWS managed policies overcast knows by name.

overcast stores policies but does not evaluate them: no request is ever denied by a policy.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson

from overcast.aws.errors import AwsError
from overcast.services.iam.common import validation_error

_VERSIONS = ("2008-10-17", "2012-10-17")
_STATEMENT_KEYS = {
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
}


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocument", message, 400)


def check_document(document: str | None, *, trust: bool = False, member: str = "PolicyDocument") -> dict:
    """Parse and check a JSON policy document the way IAM does; MalformedPolicyDocument when it
    is not one. `trust` is for a role's trust (assume-role) policy, which must name principals."""
    if document is None or document == "":
        raise validation_error([f"Value null at '{member[:1].lower() + member[1:]}' failed to satisfy constraint: Member must not be null"])
    if len(document) > 131072:
        raise AwsError("LimitExceeded", "Cannot exceed quota for PolicySize: 131072", 409)
    try:
        policy = orjson.loads(document)
    except orjson.JSONDecodeError:
        raise malformed("This policy contains invalid Json") from None
    if not isinstance(policy, dict):
        raise malformed("This policy contains invalid Json")
    version = policy.get("Version")
    if version is not None and version not in _VERSIONS:
        raise malformed("The policy failed legacy parsing")
    if "Statement" not in policy:
        raise malformed("Syntax errors in policy.")
    statements = policy["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise malformed("Syntax errors in policy.")
    for statement in statements:
        if not isinstance(statement, dict) or not set(statement) <= _STATEMENT_KEYS:
            raise malformed("Syntax errors in policy.")
        effect = statement.get("Effect")
        if trust and isinstance(effect, str):
            effect = effect.capitalize()  # AWS accepted "ALLOW" in a trust policy (a role made by a stack)
        if effect not in ("Allow", "Deny"):
            raise malformed("Syntax errors in policy." if effect is None else f"Invalid effect: {effect}")
        if "Action" not in statement and "NotAction" not in statement:
            raise malformed("Policy statement must contain actions.")
        if trust:
            if "Principal" not in statement and "NotPrincipal" not in statement:
                raise malformed("AssumeRolepolicy contained an invalid principal: Missing required field Principal")
        else:
            if "Principal" in statement or "NotPrincipal" in statement:
                raise malformed("Policy document should not specify a principal.")
            if "Resource" not in statement and "NotResource" not in statement:
                raise malformed("Policy statement must contain resources.")
    return policy


def encode_document(document: str) -> str:
    """IAM answers with policy documents URL-encoded (botocore decodes them into dicts)."""
    return quote(document, safe="")


# -- AWS managed policies ----------------------------------------------------------------------

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy"


def _doc(*statements: tuple[list[str] | str, str | list[str]]) -> str:
    return orjson.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource} for action, resource in statements],
        }
    ).decode()


_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]

# (path, name, description, document). The documents are close to, but simpler than, AWS's
# current versions: overcast does not evaluate policies, so only their presence matters.
AWS_MANAGED: list[tuple[str, str, str, str]] = [
    ("/", "AdministratorAccess", "Provides full access to AWS services and resources.", _doc(("*", "*"))),
    ("/", "PowerUserAccess", "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
     orjson.dumps({"Version": "2012-10-17", "Statement": [
         {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
         {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
                                        "organizations:DescribeOrganization", "account:ListRegions"], "Resource": "*"},
     ]}).decode()),
    ("/", "ReadOnlyAccess", "Provides read-only access to AWS services and resources.",
     _doc((["*:Describe*", "*:Get*", "*:List*"], "*"))),
    ("/", "IAMFullAccess", "Provides full access to IAM via the AWS Management Console.", _doc(("iam:*", "*"))),
    ("/", "IAMReadOnlyAccess", "Provides read only access to IAM via the AWS Management Console.",
     _doc((["iam:Get*", "iam:List*"], "*"))),
    ("/service-role/", "AWSLambdaBasicExecutionRole", "Provides write permissions to CloudWatch Logs.", _doc((_LOGS, "*"))),
    ("/service-role/", "AWSLambdaVPCAccessExecutionRole",
     "Provides minimum permissions for a Lambda function to execute while accessing a resource within a VPC - create, describe, delete network interfaces and write permissions to CloudWatch Logs.",
     _doc((_LOGS + ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], "*"))),
    ("/service-role/", "AWSLambdaSQSQueueExecutionRole", "Provides receive message, delete message, and read attribute access to SQS queues, and write permissions to CloudWatch logs.",
     _doc((["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] + _LOGS, "*"))),
    ("/service-role/", "AWSLambdaDynamoDBExecutionRole", "Provides list and read access to DynamoDB streams and write permissions to CloudWatch logs.",
     _doc((["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"] + _LOGS, "*"))),
    ("/service-role/", "AWSLambdaKinesisExecutionRole", "Provides list and read access to Kinesis streams and write permissions to CloudWatch logs.",
     _doc((["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator",
            "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard"] + _LOGS, "*"))),
    ("/service-role/", "AWSLambdaRole", "Default policy for AWS Lambda service role.", _doc(("lambda:InvokeFunction", "*"))),
    ("/service-role/", "AWSLambdaMSKExecutionRole", "Provides permissions required to access MSK Cluster within a VPC, manage ENIs (create, describe, delete) in the VPC and write permissions to CloudWatch Logs.",
     _doc((["kafka:DescribeCluster", "kafka:GetBootstrapBrokers"] + _LOGS, "*"))),
    ("/", "AWSLambdaExecute", "Provides Put, Get access to S3 and full access to CloudWatch Logs.",
     _doc(("logs:*", "arn:aws:logs:*:*:*"), (["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::*"))),
    ("/", "AWSLambda_FullAccess", "Grants full access to AWS Lambda service, AWS Lambda console features, and other related AWS services.",
     _doc(("lambda:*", "*"))),
    ("/", "AWSLambda_ReadOnlyAccess", "Grants read-only access to AWS Lambda service, AWS Lambda console features, and other related AWS services.",
     _doc((["lambda:Get*", "lambda:List*"], "*"))),
    ("/", "AmazonDynamoDBFullAccess", "Provides full access to Amazon DynamoDB via the AWS Management Console.", _doc(("dynamodb:*", "*"))),
    ("/", "AmazonDynamoDBReadOnlyAccess", "Provides read only access to Amazon DynamoDB via the AWS Management Console.",
     _doc((["dynamodb:BatchGetItem", "dynamodb:Describe*", "dynamodb:List*", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], "*"))),
    ("/", "AmazonS3FullAccess", "Provides full access to all buckets via the AWS Management Console.",
     _doc((["s3:*", "s3-object-lambda:*"], "*"))),
    ("/", "AmazonS3ReadOnlyAccess", "Provides read only access to all buckets via the AWS Management Console.",
     _doc((["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"], "*"))),
    ("/", "AmazonSQSFullAccess", "Provides full access to Amazon SQS via the AWS Management Console.", _doc(("sqs:*", "*"))),
    ("/", "AmazonSQSReadOnlyAccess", "Provides read only access to Amazon SQS via the AWS Management Console.",
     _doc((["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:ListQueues", "sqs:ListQueueTags"], "*"))),
    ("/", "AmazonSNSFullAccess", "Provides full access to Amazon SNS via the AWS Management Console.", _doc(("sns:*", "*"))),
    ("/", "AmazonSNSReadOnlyAccess", "Provides read only access to Amazon SNS via the AWS Management Console.",
     _doc((["sns:GetTopicAttributes", "sns:List*"], "*"))),
    ("/", "AmazonKinesisFullAccess", "Provides full access to all streams via the AWS Management Console.", _doc(("kinesis:*", "*"))),
    ("/", "AmazonKinesisFirehoseFullAccess", "Provides full access to all Amazon Kinesis Firehose Delivery Streams.", _doc(("firehose:*", "*"))),
    ("/", "AmazonEventBridgeFullAccess", "Provides full access to Amazon EventBridge.", _doc(("events:*", "*"))),
    ("/", "AmazonAPIGatewayAdministrator", "Provides full access to create/edit/delete APIs in Amazon API Gateway via the AWS Management Console.",
     _doc(("apigateway:*", "arn:aws:apigateway:*::/*"))),
    ("/", "AmazonAPIGatewayInvokeFullAccess", "Provides full access to invoke APIs in Amazon API Gateway.",
     _doc(("execute-api:*", "arn:aws:execute-api:*:*:*"))),
    ("/service-role/", "AmazonAPIGatewayPushToCloudWatchLogs", "Allows API Gateway to push logs to user's account.",
     _doc((_LOGS + ["logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"], "*"))),
    ("/service-role/", "AWSAppSyncPushToCloudWatchLogs", "Allows AppSync to push logs to user's CloudWatch account.", _doc((_LOGS, "*"))),
    ("/", "AWSAppSyncAdministrator", "Provides administrative access to the AppSync service.", _doc(("appsync:*", "*"))),
    ("/", "CloudWatchLogsFullAccess", "Provides full access to CloudWatch Logs", _doc(("logs:*", "*"))),
    ("/", "CloudWatchFullAccess", "Provides full access to CloudWatch.", _doc((["cloudwatch:*", "logs:*"], "*"))),
    ("/", "AWSXrayWriteOnlyAccess", "AWS X-Ray write only managed policy",
     _doc((["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"], "*"))),
    ("/", "AWSStepFunctionsFullAccess", "An access policy for providing a user/role/etc access to the AWS StepFunctions API.",
     _doc(("states:*", "*"))),
    ("/service-role/", "AWSGlueServiceRole", "Policy for AWS Glue service role which allows access to related services including EC2, S3, and Cloudwatch Logs",
     _doc((["glue:*", "s3:GetBucketLocation", "s3:ListBucket", "s3:ListAllMyBuckets", "s3:GetBucketAcl", "iam:ListRolePolicies",
            "iam:GetRole", "iam:GetRolePolicy", "cloudwatch:PutMetricData"], "*"))),
    ("/", "AmazonAthenaFullAccess", "Provide full access to Amazon Athena and scoped access to the dependencies needed to enable querying, writing results, and data management.",
     _doc((["athena:*", "glue:*"], "*"))),
    ("/", "SecretsManagerReadWrite", "Provides read/write access to AWS Secrets Manager via the AWS Management Console.",
     _doc(("secretsmanager:*", "*"))),
    ("/", "AmazonSSMReadOnlyAccess", "Provides read only access to Amazon SSM.", _doc((["ssm:Describe*", "ssm:Get*", "ssm:List*"], "*"))),
    ("/", "AWSKeyManagementServicePowerUser", "Provides access to AWS Key Management Service (KMS).",
     _doc((["kms:CreateAlias", "kms:CreateKey", "kms:Describe*", "kms:Get*", "kms:List*", "kms:TagResource", "kms:UntagResource"], "*"))),
    ("/", "AmazonEC2FullAccess", "Provides full access to Amazon EC2 via the AWS Management Console.", _doc(("ec2:*", "*"))),
    ("/", "AmazonECS_FullAccess", "Provides administrative access to Amazon ECS resources.", _doc(("ecs:*", "*"))),
    ("/", "AmazonEC2ContainerRegistryReadOnly", "Provides read-only access to Amazon EC2 Container Registry repositories.",
     _doc((["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], "*"))),
    ("/service-role/", "AmazonECSTaskExecutionRolePolicy", "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
     _doc((["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
            "logs:CreateLogStream", "logs:PutLogEvents"], "*"))),
]

AWS_MANAGED_BY_ARN: dict[str, tuple[str, str, str, str]] = {f"{AWS_POLICY_PREFIX}{p}{n}": (p, n, d, doc) for p, n, d, doc in AWS_MANAGED}


def is_aws_managed(arn: str) -> bool:
    return arn.startswith(AWS_POLICY_PREFIX + "/")


def aws_managed(arn: str) -> tuple[str, str, str | None, str]:
    """(path, name, description, document) of an AWS managed policy. Any arn:aws:iam::aws:policy/...
    ARN is accepted: one overcast does not know gets an allow-nothing placeholder document."""
    known = AWS_MANAGED_BY_ARN.get(arn)
    if known is not None:
        return known
    rest = arn[len(AWS_POLICY_PREFIX):]
    path, _, name = rest.rpartition("/")
    return path + "/", name, None, orjson.dumps({"Version": "2012-10-17", "Statement": []}).decode()
