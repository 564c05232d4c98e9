-- wrk script: DynamoDB GetItem, PutItem or Query over awsJson 1.0 (set OP=GetItem|PutItem|Query,
-- TABLE, KEYS). Query reads one of KEYS partitions (part-0 ...) of 100 items each, all 100 items.
-- GetItem reads random keys among the KEYS items bench/dynamodb_bench.py loaded; PutItem writes
-- random new keys (each thread its own prefix) so every request is a durable insert.
local op = os.getenv("OP") or "GetItem"
local tbl = os.getenv("TABLE") or "bench"
local keys = tonumber(os.getenv("KEYS") or "1000")
local counter = 0
prefix = ""

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "DynamoDB_20120810." .. op
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "t" .. threads)
end

function init(args)
  math.randomseed(os.time() + (string.byte(prefix, -1) or 0))
end

function request()
  local body
  if op == "GetItem" then
    local k = math.random(0, keys - 1)
    body = '{"TableName":"' .. tbl .. '","Key":{"pk":{"S":"user-' .. k .. '"},"sk":{"N":"1"}}}'
  elseif op == "Query" then
    local k = math.random(0, keys - 1)
    body = '{"TableName":"' .. tbl .. '","KeyConditionExpression":"pk = :p",' ..
      '"ExpressionAttributeValues":{":p":{"S":"part-' .. k .. '"}}}'
  else
    counter = counter + 1
    body = '{"TableName":"' .. tbl .. '","Item":{"pk":{"S":"w-' .. prefix .. '-' .. counter ..
      '"},"sk":{"N":"1"},"name":{"S":"a short order event"},"total":{"N":"42.5"}}}'
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
