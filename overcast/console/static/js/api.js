// The console's only way to the server: POST /_overcast/console/api/* with a JSON body (a page on
// another origin can send neither; overcast refuses it), and the trace endpoints.

const API = "/_overcast/console/api/";
const KEYS = "overcast.console.";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

// The account and region every call is made in (switchable in the header), remembered.
export const scope = {
  account: localStorage.getItem(KEYS + "account") || "000000000000",
  region: localStorage.getItem(KEYS + "region") || "us-east-1",
  accounts: JSON.parse(localStorage.getItem(KEYS + "accounts") || '["000000000000"]'),
  // keys to sign with, when overcast checks signatures: kept for this tab only
  credentials: JSON.parse(sessionStorage.getItem(KEYS + "credentials") || "null"),
};

const listeners = new Set();
export function onScopeChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function setScope(changes) {
  Object.assign(scope, changes);
  if (changes.account && !scope.accounts.includes(changes.account)) scope.accounts.push(changes.account);
  localStorage.setItem(KEYS + "account", scope.account);
  localStorage.setItem(KEYS + "region", scope.region);
  localStorage.setItem(KEYS + "accounts", JSON.stringify(scope.accounts));
  if ("credentials" in changes) {
    sessionStorage.setItem(KEYS + "credentials", JSON.stringify(scope.credentials));
  }
  for (const fn of listeners) fn(scope);
}

async function post(path, body) {
  const response = await fetch(API + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let answer;
  try {
    answer = await response.json();
  } catch {
    throw new ApiError(response.status, "BadAnswer", `overcast answered ${response.status} without JSON`);
  }
  if (answer.error) throw new ApiError(response.status, answer.error.code, answer.error.message);
  return answer;
}

function scoped(body) {
  const out = { ...body, account: scope.account, region: scope.region };
  if (scope.credentials) out.credentials = scope.credentials;
  return out;
}

// Run one AWS operation through overcast (the same path an SDK's request takes); its output.
// The console's own reads (listing, describing, polling a log tail) say they are not sampled
// (X-Amzn-Trace-Id: ...;Sampled=0), so browsing does not fill the trace list; what the user does
// (invoke, put, send, run a query) is traced like any client's call.
const READS = /^(List|Describe|Get|Head|BatchGet|Filter|Scan$|Query$|Search)/;
export async function call(service, operation, params = {}, { traced = !READS.test(operation) } = {}) {
  return (await post("call", scoped({ service, operation, params, traced }))).result;
}

// Every page of a paginated operation, up to `max` items.
export async function callAll(service, operation, params, itemsKey, tokenIn, tokenOut = tokenIn, max = 1000) {
  const items = [];
  let token;
  do {
    const page = await call(service, operation, token ? { ...params, [tokenIn]: token } : params);
    items.push(...(page[itemsKey] || []));
    token = page[tokenOut];
  } while (token && items.length < max);
  return items;
}

// A presigned S3 URL (GetObject to download, PutObject to upload) the browser can use itself.
export async function presign(operation, params) {
  return (await post("call", scoped({ service: "s3", operation, params, presign: true }))).url;
}

export async function peekMessages(queueUrl, after = 0, limit = 50) {
  return post("sqs/peek", scoped({ queueUrl, after, limit }));
}

export async function info() {
  return post("info", {});
}

// The trace endpoints (same origin, reads only).
export async function traces(query = {}) {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v != null));
  const response = await fetch("/_overcast/traces?" + params);
  if (response.status === 404) throw new ApiError(404, "NoTraces", "This overcast records no traces (tracing is off or not built in).");
  if (!response.ok) throw new ApiError(response.status, "TraceError", await response.text());
  return response.json();
}

export async function traceSpans(traceId, offset = 0, limit = 1000) {
  const response = await fetch(`/_overcast/traces/${encodeURIComponent(traceId)}?offset=${offset}&limit=${limit}`);
  if (response.status === 404) throw new ApiError(404, "NotFound", "No such trace (it may have left the ring).");
  if (!response.ok) throw new ApiError(response.status, "TraceError", await response.text());
  return response.json();
}
