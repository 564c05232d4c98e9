// What the resource browser knows about each service overcast has: how to list its resources,
// how to name them, and what to show for one (generic sections, or a page module of its own in
// ./pages/). Routes are #/{service}/{list}/{id}.

import { arnName, route, when } from "./ui.js";

const name = (x) => x;

export const SERVICES = [
  // -- compute and APIs ----------------------------------------------------------------------
  {
    id: "lambda", title: "Lambda", group: "Compute",
    lists: [{
      id: "functions", title: "Functions", op: "ListFunctions", items: "Functions", token: ["Marker", "NextMarker"],
      key: (f) => f.FunctionName,
      columns: [["Name", (f) => f.FunctionName], ["Runtime", (f) => f.Runtime || f.PackageType],
        ["Handler", (f) => f.Handler], ["Memory", (f) => f.MemorySize], ["Modified", (f) => when(f.LastModified)]],
      view: "lambda",
    }, {
      id: "mappings", title: "Event source mappings", op: "ListEventSourceMappings", items: "EventSourceMappings",
      token: ["Marker", "NextMarker"], key: (m) => m.UUID,
      columns: [["Source", (m) => arnName(m.EventSourceArn)], ["Function", (m) => arnName(m.FunctionArn)],
        ["State", (m) => m.State], ["Batch", (m) => m.BatchSize]],
      detail: [{ title: "Mapping", op: "GetEventSourceMapping", params: (id) => ({ UUID: id }) }],
    }],
  },
  {
    id: "apigateway", title: "API Gateway (REST)", group: "Compute",
    lists: [{
      id: "apis", title: "REST APIs", op: "GetRestApis", items: "items", token: ["position", "position"],
      key: (a) => a.id, label: (a) => a.name,
      columns: [["Name", (a) => a.name], ["Id", (a) => a.id], ["Created", (a) => when(a.createdDate)]],
      view: "apigateway#rest",
    }, {
      id: "keys", title: "API keys", op: "GetApiKeys", items: "items", token: ["position", "position"],
      key: (k) => k.id, label: (k) => k.name,
      columns: [["Name", (k) => k.name], ["Id", (k) => k.id], ["Enabled", (k) => String(k.enabled)]],
      detail: [{ title: "API key", op: "GetApiKey", params: (id) => ({ apiKey: id, includeValue: true }) }],
    }, {
      id: "plans", title: "Usage plans", op: "GetUsagePlans", items: "items", token: ["position", "position"],
      key: (p) => p.id, label: (p) => p.name,
      columns: [["Name", (p) => p.name], ["Throttle", (p) => p.throttle], ["Quota", (p) => p.quota]],
      detail: [{ title: "Usage plan", op: "GetUsagePlan", params: (id) => ({ usagePlanId: id }) },
        { title: "Keys", op: "GetUsagePlanKeys", params: (id) => ({ usagePlanId: id }), items: "items",
          columns: [["Name", (k) => k.name], ["Id", (k) => k.id], ["Type", (k) => k.type]] }],
    }],
  },
  {
    id: "apigatewayv2", title: "API Gateway (HTTP, WebSocket)", group: "Compute",
    lists: [{
      id: "apis", title: "HTTP and WebSocket APIs", op: "GetApis", items: "Items", token: ["NextToken", "NextToken"],
      key: (a) => a.ApiId, label: (a) => a.Name,
      columns: [["Name", (a) => a.Name], ["Id", (a) => a.ApiId], ["Protocol", (a) => a.ProtocolType],
        ["Endpoint", (a) => a.ApiEndpoint]],
      view: "apigateway#http",
    }],
  },
  {
    id: "appsync", title: "AppSync", group: "Compute",
    lists: [{
      id: "apis", title: "GraphQL APIs", op: "ListGraphqlApis", items: "graphqlApis", token: ["nextToken", "nextToken"],
      key: (a) => a.apiId, label: (a) => a.name,
      columns: [["Name", (a) => a.name], ["Id", (a) => a.apiId], ["Auth", (a) => a.authenticationType]],
      view: "appsync",
    }],
  },
  {
    id: "stepfunctions", title: "Step Functions", group: "Compute",
    lists: [{
      id: "machines", title: "State machines", op: "ListStateMachines", items: "stateMachines",
      token: ["nextToken", "nextToken"], key: (m) => m.stateMachineArn, label: (m) => m.name,
      columns: [["Name", (m) => m.name], ["Type", (m) => m.type], ["Created", (m) => when(m.creationDate)]],
      detail: [
        { title: "State machine", op: "DescribeStateMachine", params: (id) => ({ stateMachineArn: id }) },
        { title: "Executions", op: "ListExecutions", params: (id) => ({ stateMachineArn: id }), items: "executions",
          token: ["nextToken", "nextToken"],
          columns: [["Name", (e) => e.name], ["Status", (e) => e.status], ["Started", (e) => when(e.startDate)]],
          link: (e) => route("stepfunctions", "executions", e.executionArn) },
      ],
    }, {
      id: "executions", hidden: true, title: "Execution", key: (e) => e.executionArn,
      detail: [
        { title: "Execution", op: "DescribeExecution", params: (id) => ({ executionArn: id }) },
        { title: "History", op: "GetExecutionHistory", params: (id) => ({ executionArn: id }), items: "events",
          token: ["nextToken", "nextToken"],
          columns: [["#", (e) => e.id], ["Type", (e) => e.type], ["When", (e) => when(e.timestamp)],
            ["Details", (e) => Object.entries(e).find(([k]) => k.endsWith("EventDetails"))?.[1]]] },
      ],
    }],
  },
  // -- data ----------------------------------------------------------------------------------
  {
    id: "dynamodb", title: "DynamoDB", group: "Data",
    lists: [{
      id: "tables", title: "Tables", op: "ListTables", items: "TableNames",
      token: ["ExclusiveStartTableName", "LastEvaluatedTableName"], key: name,
      columns: [["Table", name]], view: "dynamodb",
    }],
  },
  {
    id: "dynamodbstreams", title: "DynamoDB Streams", group: "Data",
    lists: [{
      id: "streams", title: "Streams", op: "ListStreams", items: "Streams",
      token: ["ExclusiveStartStreamArn", "LastEvaluatedStreamArn"], key: (s) => s.StreamArn, label: (s) => s.TableName,
      columns: [["Table", (s) => s.TableName], ["Label", (s) => s.StreamLabel]],
      detail: [{ title: "Stream", op: "DescribeStream", params: (id) => ({ StreamArn: id }) }],
    }],
  },
  {
    id: "s3", title: "S3", group: "Data",
    lists: [{
      id: "buckets", title: "Buckets", op: "ListBuckets", items: "Buckets", token: ["ContinuationToken", "ContinuationToken"],
      key: (b) => b.Name, columns: [["Bucket", (b) => b.Name], ["Created", (b) => when(b.CreationDate)]],
      view: "s3",
    }],
  },
  {
    id: "glue", title: "Glue", group: "Data",
    lists: [{
      id: "databases", title: "Databases", op: "GetDatabases", items: "DatabaseList", token: ["NextToken", "NextToken"],
      key: (d) => d.Name, columns: [["Database", (d) => d.Name], ["Location", (d) => d.LocationUri]],
      detail: [
        { title: "Database", op: "GetDatabase", params: (id) => ({ Name: id }) },
        { title: "Tables", op: "GetTables", params: (id) => ({ DatabaseName: id }), items: "TableList",
          token: ["NextToken", "NextToken"],
          columns: [["Table", (t) => t.Name], ["Location", (t) => t.StorageDescriptor?.Location],
            ["Columns", (t) => (t.StorageDescriptor?.Columns || []).map((c) => `${c.Name} ${c.Type}`).join(", ")]],
          link: (t) => route("glue", "tables", `${t.DatabaseName}/${t.Name}`) },
      ],
    }, {
      id: "tables", hidden: true, title: "Table", key: name,
      detail: [{ title: "Table", op: "GetTable",
        params: (id) => ({ DatabaseName: id.split("/")[0], Name: id.split("/").slice(1).join("/") }) }],
    }, {
      id: "crawlers", title: "Crawlers", op: "GetCrawlers", items: "Crawlers", token: ["NextToken", "NextToken"],
      key: (c) => c.Name, columns: [["Crawler", (c) => c.Name], ["State", (c) => c.State],
        ["Database", (c) => c.DatabaseName], ["Schedule", (c) => c.Schedule?.ScheduleExpression]],
      detail: [{ title: "Crawler", op: "GetCrawler", params: (id) => ({ Name: id }) }],
    }],
  },
  {
    id: "athena", title: "Athena", group: "Data",
    pages: [{ id: "query", title: "Query editor", view: "athena" }],
    lists: [{
      id: "workgroups", title: "Workgroups", op: "ListWorkGroups", items: "WorkGroups", token: ["NextToken", "NextToken"],
      key: (w) => w.Name, columns: [["Workgroup", (w) => w.Name], ["State", (w) => w.State]],
      detail: [{ title: "Workgroup", op: "GetWorkGroup", params: (id) => ({ WorkGroup: id }) }],
    }],
  },
  // -- messaging and streams -----------------------------------------------------------------
  {
    id: "sqs", title: "SQS", group: "Messaging",
    lists: [{
      id: "queues", title: "Queues", op: "ListQueues", items: "QueueUrls", token: ["NextToken", "NextToken"],
      key: name, label: (url) => url.split("/").pop(), idLabel: (url) => url.split("/").pop(),
      columns: [["Queue", (url) => url.split("/").pop()], ["URL", name]], view: "sqs",
    }],
  },
  {
    id: "sns", title: "SNS", group: "Messaging",
    lists: [{
      id: "topics", title: "Topics", op: "ListTopics", items: "Topics", token: ["NextToken", "NextToken"],
      key: (t) => t.TopicArn, label: (t) => arnName(t.TopicArn),
      columns: [["Topic", (t) => arnName(t.TopicArn)], ["ARN", (t) => t.TopicArn]],
      detail: [
        { title: "Attributes", op: "GetTopicAttributes", params: (id) => ({ TopicArn: id }), pick: (r) => r.Attributes },
        { title: "Subscriptions", op: "ListSubscriptionsByTopic", params: (id) => ({ TopicArn: id }),
          items: "Subscriptions", token: ["NextToken", "NextToken"],
          columns: [["Protocol", (s) => s.Protocol], ["Endpoint", (s) => s.Endpoint], ["ARN", (s) => s.SubscriptionArn]] },
      ],
      actions: [{ title: "Publish", op: "Publish", params: (id) => ({ TopicArn: id, Message: "{}" }) }],
    }],
  },
  {
    id: "events", title: "EventBridge", group: "Messaging",
    lists: [{
      id: "buses", title: "Event buses", op: "ListEventBuses", items: "EventBuses", token: ["NextToken", "NextToken"],
      key: (b) => b.Name, columns: [["Bus", (b) => b.Name], ["ARN", (b) => b.Arn]],
      detail: [
        { title: "Event bus", op: "DescribeEventBus", params: (id) => ({ Name: id }) },
        { title: "Rules", op: "ListRules", params: (id) => ({ EventBusName: id }), items: "Rules",
          token: ["NextToken", "NextToken"],
          columns: [["Rule", (r) => r.Name], ["State", (r) => r.State], ["Pattern", (r) => r.EventPattern],
            ["Schedule", (r) => r.ScheduleExpression]],
          link: (r) => route("events", "rules", `${r.EventBusName || "default"}|${r.Name}`) },
      ],
      actions: [{ title: "Put event", op: "PutEvents",
        params: (id) => ({ Entries: [{ EventBusName: id, Source: "console", DetailType: "test", Detail: "{}" }] }) }],
    }, {
      id: "rules", hidden: true, title: "Rule", key: name, idLabel: (id) => id.split("|").pop(),
      detail: [
        { title: "Rule", op: "DescribeRule", params: (id) => ({ EventBusName: id.split("|")[0], Name: id.split("|").pop() }) },
        { title: "Targets", op: "ListTargetsByRule",
          params: (id) => ({ EventBusName: id.split("|")[0], Rule: id.split("|").pop() }), items: "Targets",
          columns: [["Id", (t) => t.Id], ["Target", (t) => t.Arn], ["Input", (t) => t.Input || t.InputPath]] },
      ],
    }],
  },
  {
    id: "scheduler", title: "EventBridge Scheduler", group: "Messaging",
    lists: [{
      id: "schedules", title: "Schedules", op: "ListSchedules", items: "Schedules", token: ["NextToken", "NextToken"],
      key: (s) => `${s.GroupName}|${s.Name}`, label: (s) => s.Name, idLabel: (id) => id.split("|").slice(1).join("|"),
      columns: [["Schedule", (s) => s.Name], ["Group", (s) => s.GroupName], ["State", (s) => s.State],
        ["Target", (s) => arnName(s.Target?.Arn)]],
      detail: [{ title: "Schedule", op: "GetSchedule",
        params: (id) => ({ GroupName: id.split("|")[0], Name: id.split("|").slice(1).join("|") }) }],
    }, {
      id: "groups", title: "Schedule groups", op: "ListScheduleGroups", items: "ScheduleGroups",
      token: ["NextToken", "NextToken"], key: (g) => g.Name,
      columns: [["Group", (g) => g.Name], ["State", (g) => g.State]],
      detail: [{ title: "Schedule group", op: "GetScheduleGroup", params: (id) => ({ Name: id }) }],
    }],
  },
  {
    id: "kinesis", title: "Kinesis", group: "Messaging",
    lists: [{
      id: "streams", title: "Data streams", op: "ListStreams", items: "StreamNames", token: ["NextToken", "NextToken"],
      key: name, columns: [["Stream", name]], view: "kinesis",
    }],
  },
  {
    id: "firehose", title: "Firehose", group: "Messaging",
    lists: [{
      id: "streams", title: "Delivery streams", op: "ListDeliveryStreams", items: "DeliveryStreamNames",
      token: ["ExclusiveStartDeliveryStreamName", null], key: name, columns: [["Delivery stream", name]],
      detail: [{ title: "Delivery stream", op: "DescribeDeliveryStream", params: (id) => ({ DeliveryStreamName: id }),
        pick: (r) => r.DeliveryStreamDescription }],
    }],
  },
  {
    id: "apigatewaymanagementapi", title: "API Gateway Management", group: "Messaging",
    note: "This API posts to the connections of a WebSocket API (PostToConnection); it has no resources of its " +
      "own to list. See the WebSocket APIs under API Gateway (HTTP, WebSocket).",
    lists: [],
  },
  // -- management ----------------------------------------------------------------------------
  {
    id: "cloudformation", title: "CloudFormation", group: "Management",
    lists: [{
      id: "stacks", title: "Stacks", op: "DescribeStacks", items: "Stacks", token: ["NextToken", "NextToken"],
      key: (s) => s.StackName, columns: [["Stack", (s) => s.StackName], ["Status", (s) => s.StackStatus],
        ["Created", (s) => when(s.CreationTime)], ["Updated", (s) => when(s.LastUpdatedTime)]],
      view: "cloudformation",
    }],
  },
  {
    id: "logs", title: "CloudWatch Logs", group: "Management",
    lists: [{
      id: "groups", title: "Log groups", op: "DescribeLogGroups", items: "logGroups", token: ["nextToken", "nextToken"],
      key: (g) => g.logGroupName, columns: [["Log group", (g) => g.logGroupName],
        ["Retention", (g) => g.retentionInDays ? `${g.retentionInDays} days` : "never expires"],
        ["Created", (g) => when(g.creationTime)]],
      view: "logs",
    }],
  },
  {
    id: "xray", title: "X-Ray", group: "Management",
    note: "The last hour of traces as X-Ray sees them: overcast's own spans as segments, and the segments X-Ray SDKs sent.",
    lists: [{
      id: "traces", title: "Traces", op: "GetTraceSummaries", items: "TraceSummaries", token: ["NextToken", "NextToken"],
      get params() { const now = Date.now() / 1000; return { StartTime: now - 3600, EndTime: now }; },
      key: (t) => t.Id,
      columns: [["Trace", (t) => t.Id], ["Entry point", (t) => t.EntryPoint && t.EntryPoint.Name],
        ["Duration", (t) => `${Math.round((t.Duration || 0) * 1000)} ms`],
        ["Status", (t) => (t.HasFault ? "fault" : t.HasError ? "error" : "ok") + (t.IsPartial ? " (in progress)" : "")],
        ["HTTP", (t) => t.Http && t.Http.HttpStatus], ["Started", (t) => when(t.StartTime)]],
      detail: [
        { title: "Segments", op: "BatchGetTraces", params: (id) => ({ TraceIds: [id] }),
          pick: (r) => ((r.Traces || [])[0] || { Segments: [] }).Segments.map((s) => JSON.parse(s.Document)) },
        { title: "Services", op: "GetTraceGraph", params: (id) => ({ TraceIds: [id] }), items: "Services",
          columns: [["Service", (s) => s.Name], ["Type", (s) => s.Type], ["Calls", (s) => s.Edges.length],
            ["Requests", (s) => s.SummaryStatistics.TotalCount]] },
      ],
    }, {
      id: "services", title: "Service graph", op: "GetServiceGraph", items: "Services", token: ["NextToken", "NextToken"],
      get params() { const now = Date.now() / 1000; return { StartTime: now - 3600, EndTime: now }; },
      key: (s) => `${s.Name}|${s.Type || ""}`,
      columns: [["Service", (s) => s.Name], ["Type", (s) => s.Type], ["Requests", (s) => s.SummaryStatistics.TotalCount],
        ["Faults", (s) => s.SummaryStatistics.FaultStatistics.TotalCount],
        ["Errors", (s) => s.SummaryStatistics.ErrorStatistics.TotalCount]],
    }],
  },
  {
    id: "iam", title: "IAM", group: "Security",
    lists: [{
      id: "roles", title: "Roles", op: "ListRoles", items: "Roles", token: ["Marker", "Marker"],
      key: (r) => r.RoleName, columns: [["Role", (r) => r.RoleName], ["ARN", (r) => r.Arn], ["Created", (r) => when(r.CreateDate)]],
      detail: [
        { title: "Role", op: "GetRole", params: (id) => ({ RoleName: id }), pick: (r) => r.Role },
        { title: "Attached policies", op: "ListAttachedRolePolicies", params: (id) => ({ RoleName: id }),
          items: "AttachedPolicies", columns: [["Policy", (p) => p.PolicyName], ["ARN", (p) => p.PolicyArn]] },
        { title: "Inline policies", op: "ListRolePolicies", params: (id) => ({ RoleName: id }), items: "PolicyNames",
          columns: [["Policy", name]] },
      ],
    }, {
      id: "users", title: "Users", op: "ListUsers", items: "Users", token: ["Marker", "Marker"],
      key: (u) => u.UserName, columns: [["User", (u) => u.UserName], ["ARN", (u) => u.Arn]],
      detail: [
        { title: "User", op: "GetUser", params: (id) => ({ UserName: id }), pick: (r) => r.User },
        { title: "Access keys", op: "ListAccessKeys", params: (id) => ({ UserName: id }), items: "AccessKeyMetadata",
          columns: [["Key", (k) => k.AccessKeyId], ["Status", (k) => k.Status], ["Created", (k) => when(k.CreateDate)]] },
      ],
    }, {
      id: "policies", title: "Customer managed policies", op: "ListPolicies", params: { Scope: "Local" }, items: "Policies",
      token: ["Marker", "Marker"], key: (p) => p.Arn, label: (p) => p.PolicyName,
      columns: [["Policy", (p) => p.PolicyName], ["ARN", (p) => p.Arn], ["Attachments", (p) => p.AttachmentCount]],
      detail: [{ title: "Policy", op: "GetPolicy", params: (id) => ({ PolicyArn: id }), pick: (r) => r.Policy }],
    }],
  },
  {
    id: "sts", title: "STS", group: "Security",
    pages: [{ id: "identity", title: "Caller identity", view: "generic#identity" }],
    lists: [],
  },
  {
    id: "cognito-idp", title: "Cognito user pools", group: "Security",
    lists: [{
      id: "pools", title: "User pools", op: "ListUserPools", params: { MaxResults: 60 }, items: "UserPools",
      token: ["NextToken", "NextToken"], key: (p) => p.Id, label: (p) => p.Name,
      columns: [["Pool", (p) => p.Name], ["Id", (p) => p.Id], ["Created", (p) => when(p.CreationDate)]],
      detail: [
        { title: "User pool", op: "DescribeUserPool", params: (id) => ({ UserPoolId: id }), pick: (r) => r.UserPool },
        { title: "Users", op: "ListUsers", params: (id) => ({ UserPoolId: id }), items: "Users",
          token: ["PaginationToken", "PaginationToken"],
          columns: [["User", (u) => u.Username], ["Status", (u) => u.UserStatus], ["Enabled", (u) => String(u.Enabled)],
            ["Attributes", (u) => (u.Attributes || []).map((a) => `${a.Name}=${a.Value}`).join(", ")]] },
        { title: "App clients", op: "ListUserPoolClients", params: (id) => ({ UserPoolId: id, MaxResults: 60 }),
          items: "UserPoolClients", columns: [["Client", (c) => c.ClientName], ["Id", (c) => c.ClientId]] },
      ],
    }],
  },
  {
    id: "cognito-identity", title: "Cognito identity pools", group: "Security",
    lists: [{
      id: "pools", title: "Identity pools", op: "ListIdentityPools", params: { MaxResults: 60 }, items: "IdentityPools",
      token: ["NextToken", "NextToken"], key: (p) => p.IdentityPoolId, label: (p) => p.IdentityPoolName,
      columns: [["Pool", (p) => p.IdentityPoolName], ["Id", (p) => p.IdentityPoolId]],
      detail: [{ title: "Identity pool", op: "DescribeIdentityPool", params: (id) => ({ IdentityPoolId: id }) }],
    }],
  },
  {
    id: "secretsmanager", title: "Secrets Manager", group: "Security",
    lists: [{
      id: "secrets", title: "Secrets", op: "ListSecrets", items: "SecretList", token: ["NextToken", "NextToken"],
      key: (s) => s.ARN, label: (s) => s.Name,
      columns: [["Secret", (s) => s.Name], ["Description", (s) => s.Description], ["Changed", (s) => when(s.LastChangedDate)]],
      detail: [{ title: "Secret", op: "DescribeSecret", params: (id) => ({ SecretId: id }) }],
      actions: [{ title: "Reveal value", op: "GetSecretValue", params: (id) => ({ SecretId: id }), run: true }],
    }],
  },
  {
    id: "ssm", title: "SSM Parameter Store", group: "Management",
    lists: [{
      id: "parameters", title: "Parameters", op: "DescribeParameters", items: "Parameters", token: ["NextToken", "NextToken"],
      key: (p) => p.Name, columns: [["Parameter", (p) => p.Name], ["Type", (p) => p.Type], ["Version", (p) => p.Version],
        ["Modified", (p) => when(p.LastModifiedDate)]],
      detail: [{ title: "Parameter", op: "GetParameter", params: (id) => ({ Name: id, WithDecryption: true }),
        pick: (r) => r.Parameter }],
    }],
  },
  {
    id: "ecr", title: "ECR", group: "Compute",
    lists: [{
      id: "repositories", title: "Repositories", op: "DescribeRepositories", items: "repositories",
      token: ["nextToken", "nextToken"], key: (r) => r.repositoryName,
      columns: [["Repository", (r) => r.repositoryName], ["URI", (r) => r.repositoryUri], ["Created", (r) => when(r.createdAt)]],
      detail: [{ title: "Images", op: "DescribeImages", params: (id) => ({ repositoryName: id }), items: "imageDetails",
        token: ["nextToken", "nextToken"],
        columns: [["Tags", (i) => (i.imageTags || []).join(", ")], ["Digest", (i) => i.imageDigest],
          ["Pushed", (i) => when(i.imagePushedAt)]] }],
    }],
  },
];

export const BY_ID = Object.fromEntries(SERVICES.map((s) => [s.id, s]));

// Where the console shows a resource that a CloudFormation stack (or anything else) names by
// type and physical id; null when it has no page for the type.
export function resourceRoute(type, physicalId) {
  if (!physicalId) return null;
  const byArn = (service, list) => route(service, list, physicalId);
  const table = {
    "AWS::DynamoDB::Table": () => route("dynamodb", "tables", physicalId),
    "AWS::Lambda::Function": () => route("lambda", "functions", arnName(physicalId)),
    "AWS::Serverless::Function": () => route("lambda", "functions", arnName(physicalId)),
    "AWS::SQS::Queue": () => route("sqs", "queues", physicalId),
    "AWS::S3::Bucket": () => route("s3", "buckets", physicalId),
    "AWS::SNS::Topic": () => byArn("sns", "topics"),
    "AWS::ApiGateway::RestApi": () => route("apigateway", "apis", physicalId),
    "AWS::ApiGateway::ApiKey": () => route("apigateway", "keys", physicalId),
    "AWS::ApiGateway::UsagePlan": () => route("apigateway", "plans", physicalId),
    "AWS::ApiGatewayV2::Api": () => route("apigatewayv2", "apis", physicalId),
    "AWS::AppSync::GraphQLApi": () => route("appsync", "apis", physicalId.split("/").pop()),
    "AWS::Kinesis::Stream": () => route("kinesis", "streams", physicalId),
    "AWS::KinesisFirehose::DeliveryStream": () => route("firehose", "streams", physicalId),
    "AWS::Logs::LogGroup": () => route("logs", "groups", physicalId),
    "AWS::StepFunctions::StateMachine": () => byArn("stepfunctions", "machines"),
    "AWS::IAM::Role": () => route("iam", "roles", physicalId),
    "AWS::IAM::User": () => route("iam", "users", physicalId),
    "AWS::SSM::Parameter": () => route("ssm", "parameters", physicalId),
    "AWS::SecretsManager::Secret": () => byArn("secretsmanager", "secrets"),
    "AWS::Cognito::UserPool": () => route("cognito-idp", "pools", physicalId),
    "AWS::Cognito::IdentityPool": () => route("cognito-identity", "pools", physicalId),
    "AWS::Glue::Database": () => route("glue", "databases", physicalId),
    "AWS::Glue::Crawler": () => route("glue", "crawlers", physicalId),
    "AWS::Athena::WorkGroup": () => route("athena", "workgroups", physicalId),
    "AWS::ECR::Repository": () => route("ecr", "repositories", physicalId),
    "AWS::CloudFormation::Stack": () => route("cloudformation", "stacks", physicalId.split("/")[1] || physicalId),
    "AWS::Lambda::EventSourceMapping": () => route("lambda", "mappings", physicalId),
  };
  return table[type] ? table[type]() : null;
}
