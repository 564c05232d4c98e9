-- wrk script: SNS Publish over awsQuery to the topic in TOPIC_ARN (bench/sns_fanout.py sets it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=0"
local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
wrk.body = "Action=Publish&Version=2010-03-31&TopicArn=" .. encode(os.getenv("TOPIC_ARN")) ..
  "&Message=" .. encode("a short order event, fanned out")

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
