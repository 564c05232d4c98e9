// overcast's Node.js runtime client: speaks the Lambda Runtime API over HTTP, as AWS's
// aws-lambda-ric does, for when that package (a native addon) is not installed.
"use strict";
const http = require("http");
const path = require("path");
const fs = require("fs");
const { pathToFileURL } = require("url");

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1, noDelay: true });
const PREFIX = "/2018-06-01/runtime";

function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: urlPath, agent, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

function errorPayload(err, type) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: type || e.name || "Error",
    errorMessage: e.message,
    trace: (e.stack || "").split("\n"),
  };
}

function post(urlPath, value, errorType) {
  const body = JSON.stringify(value === undefined ? null : value);
  const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) };
  if (errorType) headers["Lambda-Runtime-Function-Error-Type"] = errorType;
  return request("POST", urlPath, body, headers);
}

async function initError(err, type) {
  const payload = errorPayload(err, type);
  console.error(`${new Date().toISOString()}\tundefined\tERROR\t${JSON.stringify(payload)}`);
  await post(`${PREFIX}/init/error`, payload, payload.errorType);
  process.exit(1);
}

async function loadHandler(spec) {
  const root = process.env.LAMBDA_TASK_ROOT;
  const dot = spec.lastIndexOf(".");
  if (dot < 0) return initError(new Error(`Bad handler ${spec}`), "Runtime.MalformedHandlerName");
  const modPath = spec.slice(0, dot);
  const fnName = spec.slice(dot + 1);
  const base = path.resolve(root, modPath);
  let file = null;
  for (const ext of [".js", ".mjs", ".cjs"]) {
    if (fs.existsSync(base + ext)) { file = base + ext; break; }
  }
  if (!file) {
    const err = new Error(`Cannot find module '${modPath}'`);
    err.name = "Runtime.ImportModuleError";
    return initError(err, "Runtime.ImportModuleError");
  }
  let mod;
  try {
    if (file.endsWith(".mjs")) mod = await import(pathToFileURL(file).href);
    else {
      try { mod = require(file); } catch (e) {
        if (e && e.code === "ERR_REQUIRE_ESM") mod = await import(pathToFileURL(file).href);
        else throw e;
      }
    }
  } catch (e) {
    const type = e instanceof SyntaxError ? "Runtime.UserCodeSyntaxError" : "Runtime.ImportModuleError";
    return initError(e, type);
  }
  let fn = mod;
  for (const part of fnName.split(".")) fn = fn == null ? undefined : fn[part];
  if (typeof fn !== "function" && mod && mod.default) fn = mod.default[fnName];
  if (typeof fn !== "function") {
    const err = new Error(`${modPath}.${fnName} is undefined or not exported`);
    return initError(err, "Runtime.HandlerNotFound");
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  if (headers["lambda-runtime-client-context"]) ctx.clientContext = JSON.parse(headers["lambda-runtime-client-context"]);
  if (headers["lambda-runtime-cognito-identity"]) ctx.identity = JSON.parse(headers["lambda-runtime-cognito-identity"]);
  return ctx;
}

let currentRequestId = "undefined";
for (const level of ["log", "info", "warn", "error", "debug"]) {
  const orig = console[level].bind(console);
  const tag = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG" }[level];
  console[level] = (...args) => {
    const text = require("util").format(...args).replace(/\n/g, "\r");
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${tag}\t${text}\n`);
  };
  void orig;
}

function invokeHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err) reject(err); else resolve(result);
    };
    context.done = callback;
    context.succeed = (r) => callback(null, r);
    context.fail = (e) => callback(e || new Error("handled"));
    try {
      const out = fn(event, context, callback);
      if (out && typeof out.then === "function") {
        out.then((r) => { if (!settled) { settled = true; resolve(r); } },
                 (e) => { if (!settled) { settled = true; reject(e); } });
      } else if (fn.length < 3) {
        settled = true;
        resolve(out);
      }
    } catch (e) {
      settled = true;
      reject(e);
    }
  });
}

(async () => {
  const fn = await loadHandler(process.env._HANDLER);
  for (;;) {
    const next = await request("GET", `${PREFIX}/invocation/next`);
    const headers = next.headers;
    const id = headers["lambda-runtime-aws-request-id"];
    currentRequestId = id;
    // as AWS's runtime does: the invocation's trace header in _X_AMZN_TRACE_ID, which the SDK sends as
    // X-Amzn-Trace-Id (the function's calls join its trace and carry its Lineage: recursive loop detection)
    const trace = headers["lambda-runtime-trace-id"];
    if (trace) process.env._X_AMZN_TRACE_ID = trace; else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try { event = JSON.parse(next.body.toString("utf8") || "null"); } catch (e) { event = next.body.toString("utf8"); }
    const context = makeContext(headers);
    try {
      const result = await invokeHandler(fn, event, context);
      await post(`${PREFIX}/invocation/${id}/response`, result);
    } catch (e) {
      const payload = errorPayload(e);
      console.error(`Invoke Error \t${JSON.stringify(payload)}`);
      await post(`${PREFIX}/invocation/${id}/error`, payload, payload.errorType);
    }
  }
})();
