-- wrk script: a GraphQL query on an AppSync API (set PATH_, KEY, QUERY in the environment).
wrk.method = "POST"
wrk.path = os.getenv("GQL_PATH")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = os.getenv("KEY")
wrk.body = os.getenv("BODY")

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
