// A small CDK app in plain JavaScript (no compile step): a Python Lambda writing to a DynamoDB
// table, an SQS queue, an S3 bucket, and four of CDK's own custom resources: Node.js functions that
// use the AWS SDK for JavaScript v3 the runtime provides (the bucket's auto-delete-objects, the
// function's log retention and an AwsCustomResource), and BucketDeployment's Python function, which
// copies site/ into the bucket with the AWS CLI from its layer (/opt/awscli/aws).
// tests/test_cdk.py deploys it with the real CDK CLI.
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const sqs = require('aws-cdk-lib/aws-sqs');
const ddb = require('aws-cdk-lib/aws-dynamodb');
const s3 = require('aws-cdk-lib/aws-s3');
const s3deploy = require('aws-cdk-lib/aws-s3-deployment');
const logs = require('aws-cdk-lib/aws-logs');
const cr = require('aws-cdk-lib/custom-resources');

const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.STACK_NAME || 'CdkHello', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT || '000000000000', region: process.env.CDK_DEFAULT_REGION || 'us-east-1' },
});
const table = new ddb.Table(stack, 'Items', {
  partitionKey: { name: 'id', type: ddb.AttributeType.STRING },
  billingMode: ddb.BillingMode.PAY_PER_REQUEST,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});
const queue = new sqs.Queue(stack, 'Jobs');
const fn = new lambda.Function(stack, 'Hello', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.handler',
  code: lambda.Code.fromInline([
    'import os, boto3',
    'def handler(event, context):',
    '    boto3.resource("dynamodb").Table(os.environ["TABLE"]).put_item(Item={"id": event["id"]})',
    `    return {"${process.env.GREETING || 'hello'}": event["id"], "table": os.environ["TABLE"]}`,
  ].join('\n')),
  environment: { TABLE: table.tableName },
  logRetention: logs.RetentionDays.ONE_WEEK,
});
table.grantReadWriteData(fn);
const bucket = new s3.Bucket(stack, 'Site', { removalPolicy: cdk.RemovalPolicy.DESTROY, autoDeleteObjects: true });
new s3deploy.BucketDeployment(stack, 'SiteFiles', {
  sources: [s3deploy.Source.asset(`${__dirname}/site`)],
  destinationBucket: bucket,
  destinationKeyPrefix: 'web/',
});
// an SSM parameter created and deleted through SDK calls made by CDK's handler
const parameterName = `/${stack.stackName}/greeting`;
const sdkCall = new cr.AwsCustomResource(stack, 'Greeting', {
  onCreate: {
    service: 'SSM', action: 'putParameter', parameters: { Name: parameterName, Value: 'from-an-sdk-call', Type: 'String' },
    physicalResourceId: cr.PhysicalResourceId.of(parameterName),
  },
  onDelete: { service: 'SSM', action: 'deleteParameter', parameters: { Name: parameterName } },
  policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
  installLatestAwsSdk: false,  // the SDK the runtime provides (true: `npm install` it inside the function first)
});
new cdk.CfnOutput(stack, 'FunctionName', { value: fn.functionName });
new cdk.CfnOutput(stack, 'TableName', { value: table.tableName });
new cdk.CfnOutput(stack, 'QueueUrl', { value: queue.queueUrl });
new cdk.CfnOutput(stack, 'BucketName', { value: bucket.bucketName });
new cdk.CfnOutput(stack, 'ParameterName', { value: parameterName });
new cdk.CfnOutput(stack, 'ParameterVersion', { value: sdkCall.getResponseField('Version') });
