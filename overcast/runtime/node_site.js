// Loaded first (`node --require`) by every Node.js sandbox: what site/sitecustomize.py does for
// Python sandboxes, so that the URLs overcast hands out work from inside functions with no DNS and
// no TLS, and AWS's ES-module search path.
//
// - `*.localhost.localstack.cloud` resolves to 127.0.0.1, as the public DNS record does.
// - An https:// request to overcast's own host (AWS_ENDPOINT_URL's, or *.localhost.localstack.cloud)
//   on overcast's port or on the default port 443 goes over plain HTTP to overcast's port: CDK's
//   custom-resource handlers PUT their answer to the ResponseURL with `https.request` and keep only
//   its hostname and path, and the SDK's https:// endpoints (an API's management endpoint) get the
//   same treatment. Requests to other hosts are untouched.
// - ES modules: AWS's nodejs18.x and later runtimes search NODE_PATH (layers, the runtime's AWS
//   SDK) for `import` as Node does only for `require`; when the handler is an ES module, a resolve
//   hook (node_esm_paths.mjs) does the same. Only then: the hook thread costs a cold start ~70 ms.
"use strict";
const dns = require("dns");
const fs = require("fs");
const http = require("http");
const https = require("https");
const path = require("path");

const SUFFIX = ".localhost.localstack.cloud";
let overcast = null;
try {
  overcast = new URL(process.env.AWS_ENDPOINT_URL);
} catch (e) {
  overcast = null;
}
const overcastPort = overcast ? Number(overcast.port || (overcast.protocol === "https:" ? 443 : 80)) : 0;
const LOOPBACK = ["localhost", "127.0.0.1", "::1"];
// overcast's own names: its endpoint's, and every loopback name when it listens on loopback
const overcastNames = !overcast ? [] : LOOPBACK.includes(overcast.hostname.replace(/^\[|\]$/g, ""))
  ? LOOPBACK : [overcast.hostname];

function isLocalName(host) {
  return typeof host === "string" && (host.endsWith(SUFFIX) || host === SUFFIX.slice(1));
}

const originalLookup = dns.lookup;
dns.lookup = function lookup(host, ...rest) {
  return originalLookup.call(this, isLocalName(host) ? "127.0.0.1" : host, ...rest);
};

function isOvercast(host, port) {
  if (!overcast || typeof host !== "string") return false;
  const name = host.replace(/^\[|\]$/g, "");
  if (!overcastNames.includes(name) && !isLocalName(name)) return false;
  return port === undefined || port === null || port === "" || Number(port) === 443 || Number(port) === overcastPort;
}

// https.request(url[, options][, callback]) or https.request(options[, callback]): the same request
// as options for http.request when it is for overcast, else null.
function overHttp(args) {
  let options;
  let callback;
  if (typeof args[0] === "string" || args[0] instanceof URL) {
    const url = new URL(args[0]);
    options = { protocol: url.protocol, hostname: url.hostname, port: url.port, path: url.pathname + url.search };
    if (url.username || url.password) options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    if (args[1] && typeof args[1] === "object") Object.assign(options, args[1]);
    callback = typeof args[1] === "function" ? args[1] : args[2];
  } else {
    options = { ...(args[0] || {}) };
    callback = args[1];
  }
  const host = options.hostname || (options.host || "").replace(/:\d+$/, "");
  if (!isOvercast(host, options.port)) return null;
  options.protocol = "http:";
  options.port = overcastPort;
  if (options.host && !options.hostname) options.hostname = host;
  delete options.host;
  if (options.agent instanceof https.Agent) delete options.agent; // an https agent cannot speak http
  delete options._defaultAgent;
  return [options, callback];
}

const originalRequest = https.request;
https.request = function request(...args) {
  const plain = overHttp(args);
  return plain ? http.request(...plain) : originalRequest.apply(this, args);
};
https.get = function get(...args) {
  const req = https.request(...args);
  req.end();
  return req;
};
require("module").syncBuiltinESMExports();

// fetch (Node's undici, not the https module): the same for a URL to overcast over https, and for
// redirects (fetch follows them itself, where the wrapper would not see an https:// Location to
// overcast): a request to overcast is sent with redirect "manual" and its redirects are followed
// here, as the Fetch standard follows them (303, and 301/302 after a POST, become GET without a
// body; at most 20).
const originalFetch = globalThis.fetch;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function plainUrl(url) {
  if (url.protocol !== "https:" || !isOvercast(url.hostname, url.port)) return null;
  const plain = new URL(url.href);
  plain.protocol = "http:";
  plain.port = String(overcastPort);
  return plain;
}

if (typeof originalFetch === "function" && overcast) {
  globalThis.fetch = async function fetch(input, init) {
    let url;
    try {
      url = new URL(input instanceof Request ? input.url : String(input));
    } catch (e) {
      return originalFetch(input, init);
    }
    let target = plainUrl(url);
    if (!target) return originalFetch(input, init);
    const request = new Request(input, init);
    const mode = request.redirect;
    let method = request.method;
    let body = init && init.body !== undefined ? init.body : (request.body ? await request.arrayBuffer() : undefined);
    const headers = new Headers(request.headers);
    for (let hops = 0; ; hops++) {
      const response = await originalFetch(target, {
        method, headers, body, redirect: "manual", signal: request.signal, duplex: "half",
        credentials: request.credentials, cache: request.cache, referrer: request.referrer, integrity: request.integrity,
      });
      const location = response.headers.get("location");
      if (mode !== "follow" || !REDIRECTS.has(response.status) || location === null) {
        if (mode === "error" && REDIRECTS.has(response.status)) throw new TypeError("fetch failed: unexpected redirect");
        return response;
      }
      if (hops >= 20) throw new TypeError("fetch failed: redirect count exceeded");
      await response.arrayBuffer();
      url = new URL(location, url);
      if (response.status === 303 ? method !== "HEAD" : ([301, 302].includes(response.status) && method === "POST")) {
        method = "GET";
        body = undefined;
        for (const name of ["content-type", "content-length", "content-encoding", "content-language", "content-location"]) {
          headers.delete(name);
        }
      }
      target = plainUrl(url);
      if (!target) return originalFetch(url, { method, headers, body, signal: request.signal });
    }
  };
}

function handlerIsEsModule() {
  const root = process.env.LAMBDA_TASK_ROOT;
  const handler = process.env._HANDLER || "";
  const dot = handler.lastIndexOf(".");
  if (!root || dot < 0) return false;
  const base = path.resolve(root, handler.slice(0, dot));
  if (fs.existsSync(`${base}.mjs`)) return true;
  if (!fs.existsSync(`${base}.js`)) return false;
  for (let dir = path.dirname(base); dir.startsWith(root); dir = path.dirname(dir)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).type === "module";
    } catch (e) {
      if (e.code !== "ENOENT") return false;
    }
    if (dir === path.dirname(dir)) break;
  }
  return false;
}

const register = require("module").register;
if (typeof register === "function" && process.env.NODE_PATH && handlerIsEsModule()) {
  register(require("url").pathToFileURL(path.join(__dirname, "node_esm_paths.mjs")),
           { data: process.env.NODE_PATH.split(path.delimiter).filter(Boolean) });
}
