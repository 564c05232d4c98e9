// The GraphQL products example as an AWS CDK app (TypeScript): a DynamoDB table, the pricing
// function (../functions/pricing.py) and an AppSync API (../schema.graphql) with VTL resolvers for
// the queries, an APPSYNC_JS resolver for the mutations, a direct Lambda resolver for
// Product.priceWithTax and a subscription; users sign in with a Cognito user pool (only its
// editors group changes the catalogue) and an API key reads it.
//   npm install && npx cdk bootstrap && npx cdk deploy     (see ../README.md)
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import * as appsync from 'aws-cdk-lib/aws-appsync';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';

const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.STACK_NAME || 'Products', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT || '000000000000', region: process.env.CDK_DEFAULT_REGION || 'us-east-1' },
});
const example = (...parts: string[]) => path.join(__dirname, '..', ...parts);

const table = new dynamodb.Table(stack, 'ProductsTable', {
  partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});
table.addGlobalSecondaryIndex({ indexName: 'byCategory', partitionKey: { name: 'category', type: dynamodb.AttributeType.STRING } });
const pricing = new lambda.Function(stack, 'Pricing', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'pricing.handler',
  code: lambda.Code.fromAsset(example('functions')),
});

const users = new cognito.UserPool(stack, 'UserPool', {
  signInAliases: { email: true },
  autoVerify: { email: true },
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});
const webClient = users.addClient('UserPoolClient', {
  userPoolClientName: 'products-web',
  authFlows: { userSrp: true, userPassword: true },
});
new cognito.CfnUserPoolGroup(stack, 'Editors', {
  userPoolId: users.userPoolId, groupName: 'editors', description: 'may change the catalogue',
});

const api = new appsync.GraphqlApi(stack, 'ProductsApi', {
  name: `${stack.stackName}-products`,
  definition: appsync.Definition.fromFile(example('schema.graphql')),
  authorizationConfig: {
    defaultAuthorization: { authorizationType: appsync.AuthorizationType.USER_POOL, userPoolConfig: { userPool: users } },
    additionalAuthorizationModes: [{ authorizationType: appsync.AuthorizationType.API_KEY }],
  },
});
const products = api.addDynamoDbDataSource('products', table);
const priced = api.addLambdaDataSource('pricing', pricing);

const vtl = (query: string, field: string) => products.createResolver(`${query}${field}`, {
  typeName: query, fieldName: field,
  requestMappingTemplate: appsync.MappingTemplate.fromFile(example('resolvers', `${field}.vtl.request`)),
  responseMappingTemplate: appsync.MappingTemplate.fromFile(example('resolvers', 'result.vtl.response')),
});
vtl('Query', 'getProduct');
vtl('Query', 'productsByCategory');
for (const field of ['createProduct', 'updatePrice']) {
  products.createResolver(`Mutation${field}`, {
    typeName: 'Mutation', fieldName: field,
    runtime: appsync.FunctionRuntime.JS_1_0_0,
    code: appsync.Code.fromAsset(example('resolvers', 'products.js')),
  });
}
priced.createResolver('PriceWithTax', { typeName: 'Product', fieldName: 'priceWithTax' });  // direct Lambda

new cdk.CfnOutput(stack, 'ApiId', { value: api.apiId });
new cdk.CfnOutput(stack, 'ApiKey', { value: api.apiKey! });
new cdk.CfnOutput(stack, 'GraphQLUrl', { value: api.graphqlUrl });
new cdk.CfnOutput(stack, 'Table', { value: table.tableName });
new cdk.CfnOutput(stack, 'UserPoolId', { value: users.userPoolId });
new cdk.CfnOutput(stack, 'UserPoolClientId', { value: webClient.userPoolClientId });
