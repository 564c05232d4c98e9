// An AppSync GraphQL API: a query editor that runs queries and mutations against the API's
// endpoint (overcast's path form, same origin: /_aws/appsync/{apiId}/graphql), with an API key
// or a token as the API's authorization needs; its schema, data sources and resolvers.

import { call, callAll } from "../api.js";
import {
  action, clear, errorBox, facts, field, h, json, link, load, page, route, section, select, table, tabs, textarea,
  toolbar,
} from "../ui.js";

export function view(service, list, apiId) {
  const body = h("div");
  load(body, async () => {
    const api = (await call("appsync", "GetGraphqlApi", { apiId })).graphqlApi;
    const keys = api.authenticationType === "API_KEY" || (api.additionalAuthenticationProviders || [])
      .some((p) => p.authenticationType === "API_KEY")
      ? await callAll("appsync", "ListApiKeys", { apiId }, "apiKeys", "nextToken") : [];
    return tabs([
      ["Query", () => editor(api, keys)],
      ["Schema", () => schema(apiId)],
      ["Data sources", () => dataSources(apiId)],
      ["Overview", () => section(null, facts([["Name", api.name], ["Id", api.apiId], ["Auth", api.authenticationType],
        ["GraphQL", api.uris?.GRAPHQL], ["Real-time", api.uris?.REALTIME]]), json(api))],
    ]);
  });
  return page(`GraphQL API ${apiId}`, h("span", {}, link(route("appsync"), "AppSync"), " › APIs"), body);
}

function editor(api, keys) {
  const query = textarea("query {\n  __typename\n}", { rows: 12, class: "graphql", "aria-label": "GraphQL query" });
  const variables = textarea("{}", { rows: 4, "aria-label": "Variables (JSON)" });
  const key = select(keys.length ? keys.map((k) => [k.id, k.id]) : [["", "no API key"]], keys[0]?.id, { "aria-label": "API key" });
  const token = h("input", { type: "text", placeholder: "Authorization header (Cognito/OIDC token, or Lambda authorizer value)",
    "aria-label": "Authorization" });
  const out = h("div");
  const run = async () => {
    let vars;
    try { vars = JSON.parse(variables.value || "{}"); } catch (e) { clear(out, errorBox(e)); return; }
    const headers = { "Content-Type": "application/json" };
    if (key.value) headers["x-api-key"] = key.value;
    if (token.value.trim()) headers.Authorization = token.value.trim();
    const started = performance.now();
    const response = await fetch(`/_aws/appsync/${encodeURIComponent(api.apiId)}/graphql`, {
      method: "POST", headers, body: JSON.stringify({ query: query.value, variables: vars }),
    });
    const text = await response.text();
    clear(out, section(`${response.status} · ${(performance.now() - started).toFixed(0)} ms`, json(text, "graphql-result")));
  };
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
  });
  return h("div", { class: "cols" },
    section(null, field("Query", query, "Ctrl+Enter runs it"), field("Variables", variables),
      h("div", { class: "row" }, field("API key", key), field("Authorization", token)),
      toolbar(action("Run", run, "primary"))),
    h("div", {}, out));
}

function schema(apiId) {
  const out = h("div");
  load(out, async () => {
    const answer = await call("appsync", "GetIntrospectionSchema", { apiId, format: "SDL" });
    return section(null, h("pre", { class: "json" }, answer.schema || ""));
  });
  return out;
}

function dataSources(apiId) {
  const out = h("div");
  load(out, async () => {
    const sources = await callAll("appsync", "ListDataSources", { apiId }, "dataSources", "nextToken");
    return section(null, table(sources, [["Name", (d) => d.name], ["Type", (d) => d.type],
      ["Target", (d) => d.lambdaConfig?.lambdaFunctionArn || d.dynamodbConfig?.tableName || d.httpConfig?.endpoint || ""]],
    { empty: "No data sources." }));
  });
  return out;
}
