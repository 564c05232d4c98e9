// A Lambda function: invoke it with a payload and see its answer and that invocation's logs
// (Invoke with LogType=Tail, as AWS's console does), its configuration and event sources.

import { call } from "../api.js";
import {
  action, badge, clear, facts, field, h, json, link, load, page, route, section, select, table, tabs, textarea, toolbar,
  when,
} from "../ui.js";

function decodeBase64(text) {
  const raw = atob(text);
  return new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
}

export function view(service, list, name) {
  const body = h("div");
  load(body, async () => {
    const fn = await call("lambda", "GetFunction", { FunctionName: name });
    return tabs([
      ["Invoke", () => invoke(name)],
      ["Configuration", () => configuration(fn)],
      ["Event sources", () => eventSources(name)],
    ]);
  });
  return page(name, h("span", {}, link(route("lambda"), "Lambda"), " › Functions"), body);
}

function invoke(name) {
  const payload = textarea('{\n  "hello": "from the console"\n}', { rows: 8, "aria-label": "Payload" });
  const type = select([["RequestResponse", "synchronous (RequestResponse)"], ["Event", "asynchronous (Event)"],
    ["DryRun", "DryRun"]], "RequestResponse", { "aria-label": "Invocation type" });
  const qualifier = h("input", { type: "text", placeholder: "$LATEST", "aria-label": "Qualifier" });
  const out = h("div", { class: "invoke-result" });
  const go = async () => {
    clear(out, h("p", { class: "muted" }, "Invoking…"));
    const params = { FunctionName: name, Payload: payload.value, InvocationType: type.value };
    if (type.value === "RequestResponse") params.LogType = "Tail";
    if (qualifier.value.trim()) params.Qualifier = qualifier.value.trim();
    const started = performance.now();
    const answer = await call("lambda", "Invoke", params);
    const took = performance.now() - started;
    clear(out,
      section("Result", facts([
        ["Status", badge(String(answer.StatusCode), answer.FunctionError ? "error" : "ok")],
        ["Function error", answer.FunctionError], ["Version", answer.ExecutedVersion],
        ["Round trip", `${took.toFixed(0)} ms`],
      ]), h("h2", {}, "Response"), json(answer.Payload ?? "", "payload"),
      answer.LogResult ? [h("h2", {}, "Logs of this invocation"),
        h("pre", { class: "log-lines invocation-logs" }, decodeBase64(answer.LogResult))] : null));
  };
  return h("div", {}, section(null, field("Payload (JSON)", payload),
    h("div", { class: "row" }, field("Invocation", type), field("Qualifier", qualifier)),
    toolbar(action("Invoke", go, "primary"),
      link(route("logs", "groups", `/aws/lambda/${name}`), "All logs"))), out);
}

function configuration(fn) {
  const c = fn.Configuration;
  return h("div", {},
    section("Function", facts([
      ["Runtime", c.Runtime || c.PackageType], ["Handler", c.Handler], ["Memory", `${c.MemorySize} MB`],
      ["Timeout", `${c.Timeout} s`], ["Role", c.Role], ["State", c.State], ["Modified", when(c.LastModified)],
      ["Code size", c.CodeSize], ["Architectures", (c.Architectures || []).join(", ")], ["ARN", c.FunctionArn],
      ["Environment", c.Environment?.Variables], ["Layers", (c.Layers || []).map((l) => l.Arn).join(", ")],
    ])),
    section("GetFunction", json(fn)));
}

function eventSources(name) {
  const out = h("div");
  load(out, async () => {
    const mappings = (await call("lambda", "ListEventSourceMappings", { FunctionName: name })).EventSourceMappings || [];
    return section(null, table(mappings, [
      ["Source", (m) => m.EventSourceArn], ["State", (m) => m.State], ["Batch size", (m) => m.BatchSize],
      ["Last result", (m) => m.LastProcessingResult],
    ], { onRow: (m) => { location.hash = route("lambda", "mappings", m.UUID); }, empty: "No event source mappings." }),
    toolbar(action("Refresh", async () => clear(out, eventSources(name)))));
  });
  return out;
}
