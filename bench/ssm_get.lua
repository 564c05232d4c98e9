-- wrk script: SSM GetParameter over awsJson 1.1 on random names among the KEYS parameters
-- bench/ssm_get.py created (/bench/p-0 ... /bench/p-{KEYS-1}).
local keys = tonumber(os.getenv("KEYS") or "100")
local secure = os.getenv("SECURE") == "1"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AmazonSSM.GetParameter"
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0"

function request()
  local k = math.random(0, keys - 1)
  local prefix = secure and "/bench/s-" or "/bench/p-"
  local body = '{"Name":"' .. prefix .. k .. '"' .. (secure and ',"WithDecryption":true' or '') .. '}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
