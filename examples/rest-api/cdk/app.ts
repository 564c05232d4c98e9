// The REST API example as an AWS CDK app (TypeScript): the same function (../src/handler.py)
// behind a REST API with an API key in a usage plan (throttle and quota), a Cognito authorizer on
// the methods that change items, JSON-Schema validation of request bodies and CORS for web apps.
//   npm install && npx cdk bootstrap && npx cdk deploy     (see ../README.md)
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';

const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.STACK_NAME || 'Items', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT || '000000000000', region: process.env.CDK_DEFAULT_REGION || 'us-east-1' },
});

const table = new dynamodb.Table(stack, 'ItemsTable', {
  partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});
const users = new cognito.UserPool(stack, 'UserPool', {
  signInAliases: { email: true },
  autoVerify: { email: true },
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});
const webClient = users.addClient('UserPoolClient', {
  userPoolClientName: 'items-web',
  authFlows: { userSrp: true, userPassword: true },
});

const handler = new lambda.Function(stack, 'ItemsFunction', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'handler.handler',
  code: lambda.Code.fromAsset(path.join(__dirname, '..', 'src')),
  timeout: cdk.Duration.seconds(10),
  environment: { TABLE_NAME: table.tableName },
});
table.grantReadWriteData(handler);

const api = new apigateway.RestApi(stack, 'ItemsApi', {
  deployOptions: { stageName: 'prod' },
  defaultMethodOptions: { apiKeyRequired: true },
  defaultCorsPreflightOptions: {
    allowOrigins: apigateway.Cors.ALL_ORIGINS,
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Api-Key'],
    statusCode: 200,
  },
});
for (const type of [apigateway.ResponseType.DEFAULT_4XX, apigateway.ResponseType.DEFAULT_5XX]) {
  api.addGatewayResponse(`Cors${type.responseType}`, { type, responseHeaders: { 'Access-Control-Allow-Origin': "'*'" } });
}
const plan = api.addUsagePlan('UsagePlan', {
  throttle: { rateLimit: 50, burstLimit: 20 },
  quota: { limit: 10000, period: apigateway.Period.DAY },
});
const key = api.addApiKey('ApiKey');
plan.addApiKey(key);
plan.addApiStage({ stage: api.deploymentStage });

const item = api.addModel('Item', {
  contentType: 'application/json',
  modelName: 'Item',
  schema: {
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title: 'Item',
    type: apigateway.JsonSchemaType.OBJECT,
    required: ['name', 'price'],
    properties: {
      name: { type: apigateway.JsonSchemaType.STRING, minLength: 1 },
      price: { type: apigateway.JsonSchemaType.NUMBER, minimum: 0 },
    },
    additionalProperties: false,
  },
});
const validBody = api.addRequestValidator('ValidBody', { validateRequestBody: true });
const signedIn = new apigateway.CognitoUserPoolsAuthorizer(stack, 'SignedIn', { cognitoUserPools: [users] });
const integration = new apigateway.LambdaIntegration(handler);
const changes = { authorizer: signedIn, authorizationType: apigateway.AuthorizationType.COGNITO };
const validated = { requestModels: { 'application/json': item }, requestValidator: validBody };

const items = api.root.addResource('items');
items.addMethod('GET', integration);
items.addMethod('POST', integration, { ...changes, ...validated });
const one = items.addResource('{id}');
one.addMethod('GET', integration);
one.addMethod('PUT', integration, { ...changes, ...validated });
one.addMethod('DELETE', integration, changes);

new cdk.CfnOutput(stack, 'ApiId', { value: api.restApiId });
new cdk.CfnOutput(stack, 'ApiKeyId', { value: key.keyId });
new cdk.CfnOutput(stack, 'Table', { value: table.tableName });
new cdk.CfnOutput(stack, 'Function', { value: handler.functionName });
new cdk.CfnOutput(stack, 'UserPoolId', { value: users.userPoolId });
new cdk.CfnOutput(stack, 'UserPoolClientId', { value: webClient.userPoolClientId });
