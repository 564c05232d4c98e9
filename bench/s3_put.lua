-- wrk script: PUT 1 KiB objects under unique keys (bench/s3_bench.py runs it)
local counter = 0
local prefix = ""
local body = string.rep("x", 1024)

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end

function init(args)
  prefix = prefix ~= "" and prefix or tostring(math.random(1, 1000000000))
end

request = function()
  counter = counter + 1
  return wrk.format("PUT", "/" .. os.getenv("BUCKET") .. "/obj/" .. prefix .. "-" .. counter, {
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
    ["Content-Type"] = "application/octet-stream",
  }, body)
end
