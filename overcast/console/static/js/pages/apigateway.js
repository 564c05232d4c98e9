// API Gateway REST APIs (v1) and HTTP/WebSocket APIs (v2): routes, stages, and a "try it" that
// calls the deployed API from the browser at overcast's path form of its URL (same origin):
//   /_aws/execute-api/{apiId}/{stage}/{path}   ($default stage: /_aws/execute-api/{apiId}/{path})

import { call, callAll } from "../api.js";
import {
  action, badge, clear, errorBox, facts, field, h, input, json, link, load, page, route, section, select, table,
  tabs, textarea, toolbar, when,
} from "../ui.js";

export function apiUrl(apiId, stage, path) {
  const base = `${location.origin}/_aws/execute-api/${apiId}`;
  const clean = path.startsWith("/") ? path : "/" + path;
  return stage === "$default" ? base + clean : `${base}/${stage}${clean}`;
}

// -- REST APIs -----------------------------------------------------------------------------

export function rest(service, list, apiId) {
  const body = h("div");
  load(body, async () => {
    const [api, resources, stages] = await Promise.all([
      call("apigateway", "GetRestApi", { restApiId: apiId }),
      callAll("apigateway", "GetResources", { restApiId: apiId, embed: ["methods"], limit: 500 }, "items", "position"),
      call("apigateway", "GetStages", { restApiId: apiId }),
    ]);
    const routes = [];
    for (const r of resources) {
      for (const [method, m] of Object.entries(r.resourceMethods || {})) {
        routes.push({ method, path: r.path, resourceId: r.id, apiKey: m.apiKeyRequired, auth: m.authorizationType,
          integration: m.methodIntegration?.type, uri: m.methodIntegration?.uri });
      }
    }
    routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
    const stageNames = (stages.item || []).map((s) => s.stageName);
    const tryIt = tryPanel(apiId, stageNames, routes.map((r) => [r.method, r.path, r.apiKey]));
    return tabs([
      ["Routes", () => h("div", {}, section(null, table(routes, [
        ["Method", (r) => badge(r.method)], ["Path", (r) => r.path], ["Integration", (r) => r.integration],
        ["Auth", (r) => r.auth], ["API key", (r) => (r.apiKey ? "required" : "")], ["Target", (r) => r.uri],
      ], { onRow: (r) => tryIt.choose(r.method, r.path), empty: "No methods yet." })), tryIt.node)],
      ["Stages", () => section(null, table(stages.item || [], [["Stage", (s) => s.stageName],
        ["Deployment", (s) => s.deploymentId], ["URL", (s) => apiUrl(apiId, s.stageName, "/")],
        ["Created", (s) => when(s.createdDate)]], { empty: "Not deployed yet (CreateDeployment)." }))],
      ["Overview", () => section(null, facts([["Name", api.name], ["Id", api.id], ["Description", api.description],
        ["Endpoint", api.endpointConfiguration?.types], ["Created", when(api.createdDate)]]), json(api))],
    ]);
  });
  return page(`REST API ${apiId}`, h("span", {}, link(route("apigateway"), "API Gateway"), " › REST APIs"), body);
}

// -- HTTP and WebSocket APIs ---------------------------------------------------------------

export function http(service, list, apiId) {
  const body = h("div");
  load(body, async () => {
    const [api, routes, stages, integrations] = await Promise.all([
      call("apigatewayv2", "GetApi", { ApiId: apiId }),
      callAll("apigatewayv2", "GetRoutes", { ApiId: apiId }, "Items", "NextToken"),
      callAll("apigatewayv2", "GetStages", { ApiId: apiId }, "Items", "NextToken"),
      callAll("apigatewayv2", "GetIntegrations", { ApiId: apiId }, "Items", "NextToken"),
    ]);
    const byId = Object.fromEntries(integrations.map((i) => [i.IntegrationId, i]));
    const target = (r) => {
      const i = byId[(r.Target || "").replace("integrations/", "")];
      return i ? `${i.IntegrationType} ${i.IntegrationUri || ""}` : r.Target;
    };
    const websocket = api.ProtocolType === "WEBSOCKET";
    const split = (key) => (key.includes(" ") ? key.split(" ") : ["ANY", "/"]);
    const tryIt = websocket ? null : tryPanel(apiId, stages.map((s) => s.StageName),
      routes.map((r) => [...split(r.RouteKey), false]));
    return tabs([
      ["Routes", () => h("div", {}, section(null, table(routes, [
        ["Route", (r) => r.RouteKey], ["Target", target], ["Auth", (r) => r.AuthorizationType],
      ], { onRow: tryIt ? (r) => tryIt.choose(...split(r.RouteKey)) : null, empty: "No routes yet." })),
      websocket ? section("Connect", h("p", {}, "A WebSocket client connects at ", h("span", { class: "mono" }, api.ApiEndpoint),
        " (with the stage as its path).")) : tryIt.node)],
      ["Stages", () => section(null, table(stages, [["Stage", (s) => s.StageName], ["Auto deploy", (s) => String(!!s.AutoDeploy)],
        ["URL", (s) => (websocket ? `${api.ApiEndpoint}/${s.StageName}` : apiUrl(apiId, s.StageName, "/"))],
        ["Created", (s) => when(s.CreatedDate)]], { empty: "No stages." }))],
      ["Overview", () => section(null, facts([["Name", api.Name], ["Id", api.ApiId], ["Protocol", api.ProtocolType],
        ["Endpoint", api.ApiEndpoint], ["CORS", api.CorsConfiguration], ["Created", when(api.CreatedDate)]]), json(api))],
    ]);
  });
  return page(`API ${apiId}`, h("span", {}, link(route("apigatewayv2"), "API Gateway"), " › HTTP and WebSocket APIs"), body);
}

// -- try it --------------------------------------------------------------------------------

function tryPanel(apiId, stages, routes) {
  const stage = select(stages.length ? stages : [["", "no stage: deploy first"]], stages[0], { "aria-label": "Stage" });
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
  const method = select(methods, "GET", { "aria-label": "Method" });
  const path = input({ value: routes[0]?.[1] && !routes[0][1].includes("{") ? routes[0][1] : "/", "aria-label": "Path" });
  const headers = textarea("{}", { rows: 3, "aria-label": "Headers (JSON)" });
  const body = textarea("", { rows: 5, "aria-label": "Body" });
  const url = h("div", { class: "mono muted" });
  const out = h("div");
  const showUrl = () => { url.textContent = stage.value ? apiUrl(apiId, stage.value, path.value) : ""; };
  for (const el of [stage, path]) el.addEventListener("input", showUrl);
  stage.addEventListener("change", showUrl);
  showUrl();
  const send = async () => {
    let extra;
    try { extra = JSON.parse(headers.value || "{}"); } catch (e) { clear(out, errorBox(e)); return; }
    const init = { method: method.value, headers: extra };
    if (!["GET", "HEAD"].includes(method.value) && body.value) {
      init.body = body.value;
      if (!Object.keys(extra).some((k) => k.toLowerCase() === "content-type")) init.headers["Content-Type"] = "application/json";
    }
    const started = performance.now();
    const response = await fetch(apiUrl(apiId, stage.value, path.value), init);
    const text = await response.text();
    const took = performance.now() - started;
    clear(out, section(`${response.status} ${response.statusText}`,
      facts([["Time", `${took.toFixed(0)} ms`], ["Headers", Object.fromEntries(response.headers.entries())]]),
      json(text, "try-response")));
  };
  const node = section("Try it", h("div", { class: "row" }, field("Stage", stage), field("Method", method), field("Path", path)),
    url, field("Headers", headers, 'e.g. {"x-api-key": "..."}'), field("Body", body),
    toolbar(action("Send", send, "primary")), out);
  return {
    node,
    choose(m, p) {
      method.value = methods.includes(m) ? m : "GET";
      path.value = p; // {path parameters} stay for the user to fill in
      showUrl();
      node.scrollIntoView({ block: "nearest" });
    },
  };
}
