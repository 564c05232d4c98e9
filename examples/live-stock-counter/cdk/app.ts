// The live stock counter as an AWS CDK app (TypeScript): a WebSocket API whose $connect,
// $disconnect and $default routes run the functions in ../functions, connection ids kept in
// DynamoDB, and the stock table's DynamoDB stream feeding the function that pushes each change
// to the pages watching that product.
//   npm install && npx cdk bootstrap && npx cdk deploy     (see ../README.md)
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';

const app = new cdk.App();
const stack = new cdk.Stack(app, process.env.STACK_NAME || 'LiveStock', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT || '000000000000', region: process.env.CDK_DEFAULT_REGION || 'us-east-1' },
});

const connections = new dynamodb.Table(stack, 'Connections', {
  partitionKey: { name: 'connectionId', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});
connections.addGlobalSecondaryIndex({ indexName: 'page-index', partitionKey: { name: 'page', type: dynamodb.AttributeType.STRING } });
const stock = new dynamodb.Table(stack, 'Stock', {
  partitionKey: { name: 'productId', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  stream: dynamodb.StreamViewType.NEW_IMAGE,
  removalPolicy: cdk.RemovalPolicy.DESTROY,
});

const code = lambda.Code.fromAsset(path.join(__dirname, '..', 'functions'));
const fn = (id: string, handler: string) => {
  const f = new lambda.Function(stack, id, {
    runtime: lambda.Runtime.PYTHON_3_12, handler, code, timeout: cdk.Duration.seconds(30),
    environment: { CONNECTIONS_TABLE: connections.tableName, STOCK_TABLE: stock.tableName },
  });
  connections.grantReadWriteData(f);
  stock.grantReadData(f);
  return f;
};
const connect = fn('ConnectFunction', 'connect.handler');
const disconnect = fn('DisconnectFunction', 'disconnect.handler');
const current = fn('CurrentFunction', 'current.handler');
const push = fn('PushFunction', 'push.handler');
push.addEventSource(new DynamoEventSource(stock, { startingPosition: lambda.StartingPosition.LATEST, batchSize: 10 }));

const api = new apigwv2.WebSocketApi(stack, 'Api', {
  connectRouteOptions: { integration: new WebSocketLambdaIntegration('Connect', connect) },
  disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('Disconnect', disconnect) },
  defaultRouteOptions: { integration: new WebSocketLambdaIntegration('Current', current), returnResponse: true },
});
const stage = new apigwv2.WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'prod', autoDeploy: true });
api.grantManageConnections(push);

new cdk.CfnOutput(stack, 'ApiId', { value: api.apiId });
new cdk.CfnOutput(stack, 'WebSocketUrl', { value: stage.url });
new cdk.CfnOutput(stack, 'StockTable', { value: stock.tableName });
new cdk.CfnOutput(stack, 'ConnectionsTable', { value: connections.tableName });
