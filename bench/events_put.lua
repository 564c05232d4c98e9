-- wrk script: EventBridge PutEvents (awsJson 1.1), 10 entries per request, to the bus in BUS.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSEvents.PutEvents"
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0"
local entry = '{"EventBusName":"' .. os.getenv("BUS") .. '","Source":"app.orders","DetailType":"OrderPlaced",' ..
  '"Detail":"{\\"order\\":{\\"id\\":\\"o-1\\",\\"total\\":42.5,\\"state\\":\\"placed\\"},\\"customer\\":\\"c-7\\"}"}'
local entries = {}
for i = 1, 10 do entries[i] = entry end
wrk.body = '{"Entries":[' .. table.concat(entries, ",") .. ']}'

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
