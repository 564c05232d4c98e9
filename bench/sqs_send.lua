-- wrk script: SQS SendMessage over the awsJson 1.0 protocol (what current SDKs send).
-- The queue URL comes from the QUEUE_URL environment variable (bench/sqs_send.py sets it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AmazonSQS.SendMessage"
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
wrk.body = '{"QueueUrl":"' .. os.getenv("QUEUE_URL") .. '","MessageBody":"hello from wrk, a short order event"}'

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
