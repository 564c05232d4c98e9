// The clickstream example as an AWS CDK app (TypeScript): page clicks go into a Kinesis stream, a
// Firehose delivery stream buffers them into GZIP JSON-lines objects in S3 under
// clicks/dt=YYYY-MM-DD/, and every hour a scheduled function (../src/report.py) starts the Glue
// crawler over them and asks Athena for the top pages, keeping the answer in S3.
//   npm install && npx cdk bootstrap && npx cdk deploy     (see ../README.md)
// BUFFER_SECONDS (default 60) is how long Firehose buffers clicks before it writes an object.
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';

const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.STACK_NAME || 'Clickstream', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT || '000000000000', region: process.env.CDK_DEFAULT_REGION || 'us-east-1' },
});

const bucket = new s3.Bucket(stack, 'Clicks', { removalPolicy: cdk.RemovalPolicy.DESTROY, autoDeleteObjects: true });
const stream = new kinesis.Stream(stack, 'ClickStream', {
  shardCount: 2, retentionPeriod: cdk.Duration.hours(24), removalPolicy: cdk.RemovalPolicy.DESTROY,  // CDK's default: Retain
});

const delivery = new firehose.DeliveryStream(stack, 'ClicksToS3', {
  source: new firehose.KinesisStreamSource(stream),
  destination: new firehose.S3Bucket(bucket, {
    compression: firehose.Compression.GZIP,
    dataOutputPrefix: 'clicks/dt=!{timestamp:yyyy-MM-dd}/',
    errorOutputPrefix: 'errors/!{firehose:error-output-type}/',
    bufferingInterval: cdk.Duration.seconds(Number(process.env.BUFFER_SECONDS || 60)),
    bufferingSize: cdk.Size.mebibytes(1),
    loggingConfig: new firehose.DisableLogging(),
  }),
});

const catalog = new glue.CfnDatabase(stack, 'Catalog', {
  catalogId: stack.account,
  databaseInput: { description: 'page clicks, crawled from the Firehose output' },
});
const crawlerRole = new iam.Role(stack, 'CrawlerRole', {
  assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
  managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSGlueServiceRole')],
});
bucket.grantRead(crawlerRole, 'clicks/*');
const crawler = new glue.CfnCrawler(stack, 'ClicksCrawler', {
  role: crawlerRole.roleArn,
  databaseName: catalog.ref,
  targets: { s3Targets: [{ path: `s3://${bucket.bucketName}/clicks/` }] },
  schemaChangePolicy: { updateBehavior: 'UPDATE_IN_DATABASE', deleteBehavior: 'LOG' },
});

const workGroup = new athena.CfnWorkGroup(stack, 'Reports', {
  name: `${stack.stackName}-reports`,
  description: "the hourly report's queries",
  recursiveDeleteOption: true,
  workGroupConfiguration: {
    enforceWorkGroupConfiguration: false,
    resultConfiguration: { outputLocation: `s3://${bucket.bucketName}/athena/` },
  },
});
const topPages = new athena.CfnNamedQuery(stack, 'TopPages', {
  name: 'top pages',
  database: catalog.ref,
  workGroup: workGroup.ref,
  queryString: 'SELECT page, count(*) AS clicks FROM clicks GROUP BY page ORDER BY clicks DESC LIMIT 10',
});

const report = new lambda.Function(stack, 'Report', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'report.handler',
  code: lambda.Code.fromAsset(path.join(__dirname, '..', 'src')),
  timeout: cdk.Duration.seconds(120),
  environment: { DATABASE: catalog.ref, CRAWLER: crawler.ref, BUCKET: bucket.bucketName, WORKGROUP: workGroup.ref },
});
bucket.grantReadWrite(report);
report.addToRolePolicy(new iam.PolicyStatement({
  actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults',
            'glue:StartCrawler', 'glue:GetCrawler', 'glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
  resources: ['*'],
}));
const hourly = new events.Rule(stack, 'Hourly', { schedule: events.Schedule.rate(cdk.Duration.hours(1)) });
hourly.addTarget(new targets.LambdaFunction(report));

new cdk.CfnOutput(stack, 'Bucket', { value: bucket.bucketName });
new cdk.CfnOutput(stack, 'Stream', { value: stream.streamName });
new cdk.CfnOutput(stack, 'DeliveryStream', { value: delivery.deliveryStreamName });
new cdk.CfnOutput(stack, 'Database', { value: catalog.ref });
new cdk.CfnOutput(stack, 'Crawler', { value: crawler.ref });
new cdk.CfnOutput(stack, 'WorkGroup', { value: workGroup.ref });
new cdk.CfnOutput(stack, 'TopPagesQuery', { value: topPages.ref });
new cdk.CfnOutput(stack, 'Function', { value: report.functionName });
new cdk.CfnOutput(stack, 'RuleArn', { value: hourly.ruleArn });
