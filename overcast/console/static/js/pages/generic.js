// The resource browser's generic pages, driven by the descriptors in ../services.js: a service's
// lists, and one resource's sections (a JSON document, or a table of what belongs to it).

import { call } from "../api.js";
import { BY_ID } from "../services.js";
import {
  action, arnName, clear, errorBox, h, json, link, load, page, route, section, table, textarea, toolbar,
} from "../ui.js";

// One list, a page at a time ("More" asks for the next).
export function listSection(service, list, { title = list.title, params = list.params || {}, onRow } = {}) {
  const body = h("div");
  const more = h("div", { class: "more" });
  let rows = [];
  async function fetchPage(token) {
    const [tokenIn, tokenOut] = list.token || [];
    const answer = await call(service.id, list.op, token ? { ...params, [tokenIn]: token } : params);
    rows = rows.concat(answer[list.items] || []);
    const label = list.label || list.key;
    const open = onRow || ((row) => { location.hash = route(service.id, list.id, list.key(row)); });
    clear(body, table(rows, list.columns || [["Name", label]], {
      onRow: list.view || list.detail ? open : null, empty: `No ${list.title.toLowerCase()} in this account and region.`,
    }));
    const next = tokenOut && answer[tokenOut];
    clear(more, next ? action("More", () => fetchPage(next)) : null);
  }
  const sectionEl = section(title, body, more);
  sectionEl.dataset.list = `${service.id}/${list.id}`;
  load(body, async () => { await fetchPage(); return body.firstChild; });
  return sectionEl;
}

export function servicePage(service) {
  const tools = (service.pages || []).map((p) => link(route(service.id, p.id), p.title, { class: "button" }));
  const lists = service.lists.filter((l) => !l.hidden).map((l) => listSection(service, l));
  return page(service.title, service.note ? h("p", { class: "note" }, service.note) : null,
    tools.length ? toolbar(tools) : null, lists,
    operationsSection(service));
}

// A resource's page from its generic sections.
export function detailPage(service, list, id) {
  const label = list.idLabel ? list.idLabel(id) : id.startsWith("arn:") ? arnName(id) : id;
  const sections = (list.detail || []).map((d) => detailSection(service, d, id));
  const actions = (list.actions || []).map((a) => actionSection(service, a, id));
  return page(label, h("span", {}, link(route(service.id), service.title), " › ", list.title), sections, actions);
}

export function detailSection(service, d, id) {
  const body = h("div");
  load(body, async () => {
    const params = d.params(id);
    if (!d.items) {
      const answer = await call(service.id, d.op, params);
      return json(d.pick ? d.pick(answer) : answer);
    }
    let rows = [];
    const more = h("div", { class: "more" });
    const out = h("div");
    async function fetchPage(token) {
      const [tokenIn, tokenOut] = d.token || [];
      const answer = await call(service.id, d.op, token ? { ...params, [tokenIn]: token } : params);
      rows = rows.concat(answer[d.items] || []);
      clear(out, table(rows, d.columns, { onRow: d.link ? (row) => { location.hash = d.link(row); } : null }));
      const next = tokenOut && answer[tokenOut];
      clear(more, next ? action("More", () => fetchPage(next)) : null);
    }
    await fetchPage();
    return h("div", {}, out, more);
  });
  return section(d.title, body);
}

// An operation to run on the resource with editable parameters (SNS Publish, PutEvents, ...).
function actionSection(service, a, id) {
  const params = textarea(JSON.stringify(a.params(id), null, 2), { rows: 6, "aria-label": `${a.title} parameters` });
  const out = h("div");
  const run = async () => {
    clear(out);
    let parsed;
    try { parsed = JSON.parse(params.value); } catch (e) { clear(out, errorBox(e)); return; }
    clear(out, json(await call(service.id, a.op, parsed)));
  };
  return section(a.title, a.run ? null : params, toolbar(action(a.run ? a.title : `Run ${a.op}`, run, "primary")), out);
}

// Any operation of the service, by name, with JSON parameters: for what the pages do not cover.
function operationsSection(service) {
  const op = h("input", { type: "text", placeholder: "Operation, e.g. " + (service.lists[0]?.op || "GetCallerIdentity"),
    "aria-label": "Operation" });
  const params = textarea("{}", { rows: 4, "aria-label": "Parameters (JSON)" });
  const out = h("div");
  const run = async () => {
    let parsed;
    try { parsed = JSON.parse(params.value || "{}"); } catch (e) { clear(out, errorBox(e)); return; }
    clear(out, json(await call(service.id, op.value.trim(), parsed)));
  };
  const details = h("details", { class: "card" }, h("summary", {}, "Run any operation"),
    h("p", { class: "muted" }, "Runs through overcast exactly as an SDK call would (same validation and errors)."),
    op, params, toolbar(action("Run", run, "primary")), out);
  return details;
}

// STS: whose identity the console's calls have.
export function identity() {
  const out = h("div");
  load(out, async () => json(await call("sts", "GetCallerIdentity")));
  return page("Caller identity", link(route("sts"), "STS"), section(null, out));
}

export function unknown(text) {
  return page("Not found", null, h("p", {}, text));
}

export { BY_ID };
