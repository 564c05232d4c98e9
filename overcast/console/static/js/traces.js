// The live trace view: traces arriving as their spans end (server-sent events from
// /_overcast/traces/stream), and one trace's waterfall across services. A trace may have
// thousands of spans: they are fetched a page at a time and only the rows in view are drawn.

import { traceSpans, traces } from "./api.js";
import { BY_ID, resourceRoute } from "./services.js";
import {
  badge, button, clear, clock, errorBox, facts, h, input, json, link, onLeave, page, route, section, select, toolbar,
} from "./ui.js";

const MAX_ROWS = 300; // traces kept in the live list
const ROW = 26; // waterfall row height, px (.wf-row in console.css)
const MAX_SPANS = 100000; // spans fetched for one trace

function stream(filters, onSpan, onState) {
  const params = new URLSearchParams(Object.entries(filters).filter(([k, v]) => v && k !== "resource"));
  const source = new EventSource("/_overcast/traces/stream" + (params.size ? "?" + params : ""));
  source.addEventListener("open", () => onState(true));
  source.addEventListener("error", () => onState(false));
  source.addEventListener("span", (event) => {
    try {
      onSpan(JSON.parse(event.data));
    } catch (e) {
      console.error("bad span", e);
    }
  });
  return source;
}

function statusBadge(status) {
  return badge(status || "open", status === "error" ? "error" : status === "ok" ? "ok" : "warn");
}

function duration(ms) {
  if (ms == null) return "…";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

// -- the list of traces ---------------------------------------------------------------------

export function listPage() {
  const filters = { service: "", status: "", resource: "" };
  const summaries = new Map(); // traceId -> summary (the contract's trace shape)
  const rows = new Map(); // traceId -> <tr>
  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty" }, "No traces yet. Call any AWS API on this overcast and it appears here.");
  const liveLabel = h("span", { class: "live" }, "connecting");
  let paused = false;
  let source = null;
  const pending = [];

  const serviceFilter = select([["", "all services"], ...Object.keys(BY_ID).sort()], "", { "aria-label": "Service" });
  const statusFilter = select([["", "any status"], ["ok", "ok"], ["error", "error"]], "", { "aria-label": "Status" });
  const resourceFilter = input({ placeholder: "resource ARN contains…", "aria-label": "Resource" });
  const pause = button("Pause", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) { pending.splice(0).forEach(addSpan); }
  });
  for (const el of [serviceFilter, statusFilter]) el.addEventListener("change", restart);
  resourceFilter.addEventListener("change", restart);

  function row(summary) {
    const tr = h("tr", { class: "clickable fresh", tabIndex: 0, dataset: { trace: summary.traceId } });
    tr.addEventListener("click", () => { location.hash = route("traces", summary.traceId); });
    tr.addEventListener("keydown", (event) => { if (event.key === "Enter") tr.click(); });
    fill(tr, summary);
    return tr;
  }

  function fill(tr, s) {
    const root = s.root || {};
    clear(tr,
      h("td", { "data-label": "When", class: "mono nowrap" }, clock(s.start)),
      h("td", { "data-label": "Trace" }, h("div", {}, root.name || "…"),
        root.resource ? h("div", { class: "muted mono" }, root.resource) : null),
      h("td", { "data-label": "Services" }, h("div", { class: "services" }, (s.services || []).map((x) => badge(x)))),
      h("td", { "data-label": "Spans" }, String(s.spanCount)),
      h("td", { "data-label": "Duration" }, duration(s.durationMs)),
      h("td", { "data-label": "Status" }, statusBadge(s.status)));
    tr.dataset.spans = s.spanCount;
    tr.classList.toggle("error", s.status === "error");
  }

  function show(summary) {
    let tr = rows.get(summary.traceId);
    if (tr) {
      fill(tr, summary);
      return;
    }
    tr = row(summary);
    rows.set(summary.traceId, tr);
    // newest first: a trace goes above the first one that started before it
    const after = [...tbody.children].find((other) => summaries.get(other.dataset.trace)?.start < summary.start);
    tbody.insertBefore(tr, after || null);
    empty.hidden = true;
    while (tbody.children.length > MAX_ROWS) {
      const last = tbody.lastElementChild;
      rows.delete(last.dataset.trace);
      summaries.delete(last.dataset.trace);
      last.remove();
    }
  }

  function addSpan(span) {
    if (filters.resource && !(span.resource || "").includes(filters.resource)) return;
    if (paused) { pending.push(span); return; }
    let s = summaries.get(span.traceId);
    if (!s) {
      s = { traceId: span.traceId, start: span.start, end: span.end, spanCount: 0, status: "ok", services: [], root: null };
      summaries.set(span.traceId, s);
    }
    s.spanCount += 1;
    s.start = Math.min(s.start, span.start);
    s.end = Math.max(s.end || 0, span.end || 0) || null;
    s.durationMs = s.end ? (s.end - s.start) * 1000 : null;
    if (span.status === "error") s.status = "error";
    if (span.service) { // the services in the order they joined the trace (by start), the root's first
      s.began = s.began || Object.fromEntries((s.services || []).map((x, i) => [x, -1e12 + i]));
      s.began[span.service] = Math.min(s.began[span.service] ?? Infinity, span.start);
      s.services = Object.keys(s.began).sort((a, b) => s.began[a] - s.began[b]);
    }
    if (!span.parentId || !s.root) s.root = { name: span.name, service: span.service, operation: span.operation, resource: span.resource };
    show(s);
  }

  async function restart() {
    filters.service = serviceFilter.value;
    filters.status = statusFilter.value;
    filters.resource = resourceFilter.value.trim();
    if (source) source.close();
    summaries.clear();
    rows.clear();
    clear(tbody);
    empty.hidden = false;
    clear(problem);
    source = stream(filters, addSpan, (on) => {
      liveLabel.classList.toggle("on", on);
      liveLabel.textContent = on ? "live" : "reconnecting";
    });
    try {
      const answer = await traces({ limit: 100, ...filters });
      for (const t of answer.traces.slice().reverse()) {
        if (!summaries.has(t.traceId)) summaries.set(t.traceId, { ...t, services: [...(t.services || [])] });
        show(summaries.get(t.traceId));
      }
    } catch (e) {
      clear(problem, errorBox(e));
    }
  }

  const problem = h("div");
  const table = h("div", { class: "table-wrap" }, h("table", { class: "trace-list" },
    h("thead", {}, h("tr", {}, ["When", "Trace", "Services", "Spans", "Duration", "Status"].map((t) => h("th", {}, t)))),
    tbody));
  onLeave(() => source && source.close());
  restart();
  return page("Traces", h("span", {}, "Every AWS call and every hop overcast makes, as it happens. ", liveLabel),
    toolbar(serviceFilter, statusFilter, resourceFilter, pause), problem, section(null, table, empty));
}

// -- one trace -------------------------------------------------------------------------------

export function tracePage(traceId) {
  const spans = new Map(); // spanId -> span
  let order = []; // spans in waterfall order, with depth
  let selected = null;
  let expected = null;
  const head = h("div");
  const progress = h("span", { class: "muted" });
  const viewport = h("div", { class: "wf-viewport", role: "list" });
  const inner = h("div", { class: "wf-inner" });
  viewport.append(inner);
  const detail = h("div", { class: "span-detail" });
  const problem = h("div");
  let frame = 0;

  function layout() {
    const children = new Map();
    const roots = [];
    for (const span of spans.values()) {
      if (span.parentId && spans.has(span.parentId)) {
        if (!children.has(span.parentId)) children.set(span.parentId, []);
        children.get(span.parentId).push(span);
      } else {
        roots.push(span);
      }
    }
    const byStart = (a, b) => a.start - b.start;
    roots.sort(byStart);
    for (const list of children.values()) list.sort(byStart);
    order = [];
    const stack = roots.reverse().map((span) => [span, 0]);
    while (stack.length) {
      const [span, depth] = stack.pop();
      order.push([span, depth]);
      const kids = children.get(span.spanId);
      if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
    }
    inner.style.height = `${order.length * ROW}px`;
    summary();
    draw();
  }

  function bounds() {
    let start = Infinity;
    let end = 0;
    for (const span of spans.values()) {
      start = Math.min(start, span.start);
      end = Math.max(end, span.end || Date.now() / 1000);
    }
    return [start, Math.max(end, start + 1e-6)];
  }

  function draw() {
    frame = 0;
    const [t0, t1] = bounds();
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 10);
    const last = Math.min(order.length, first + Math.ceil((viewport.clientHeight || 600) / ROW) + 20);
    const rows = [];
    for (let i = first; i < last; i++) {
      const [span, depth] = order[i];
      const bar = h("div", { class: `wf-bar ${span.kind === "hop" ? "hop" : ""} ${span.status === "error" ? "error" : ""} ${span.end == null ? "open" : ""}` });
      bar.style.left = `${((span.start - t0) / (t1 - t0)) * 100}%`;
      bar.style.width = `${(((span.end || t1) - span.start) / (t1 - t0)) * 100}%`;
      const name = h("div", { class: "wf-name", title: span.resource || span.name }, span.name);
      name.style.paddingLeft = `${Math.min(depth, 24) * 12}px`;
      const rowEl = h("div", { class: "wf-row" + (selected === span.spanId ? " selected" : ""), role: "listitem",
        tabIndex: 0, dataset: { span: span.spanId } }, name, h("div", { class: "wf-track" }, bar),
      h("div", { class: "wf-dur" }, duration(span.durationMs)));
      rowEl.style.top = `${i * ROW}px`;
      rowEl.addEventListener("click", () => choose(span.spanId));
      rowEl.addEventListener("keydown", (event) => { if (event.key === "Enter") choose(span.spanId); });
      rows.push(rowEl);
    }
    inner.replaceChildren(...rows);
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function summary() {
    const [t0, t1] = bounds();
    const root = order.length ? order[0][0] : null;
    const errors = [...spans.values()].filter((s) => s.status === "error").length;
    const services = [...new Set([...spans.values()].map((s) => s.service).filter(Boolean))];
    clear(head, facts([
      ["Trace", h("span", { class: "mono" }, traceId)],
      ["Root", root ? root.name : ""],
      ["Started", order.length ? clock(t0) : ""],
      ["Duration", order.length ? duration((t1 - t0) * 1000) : ""],
      ["Spans", `${spans.size}${expected && expected > spans.size ? ` of ${expected}` : ""}`],
      ["Services", h("div", { class: "services" }, services.map((s) => badge(s)))],
      ["Status", errors ? badge(`${errors} error${errors > 1 ? "s" : ""}`, "error") : badge("ok", "ok")],
    ]));
  }

  function choose(spanId) {
    selected = spanId;
    const span = spans.get(spanId);
    const target = span.resource ? resourceLink(span) : null;
    clear(detail, section(span.name,
      facts([
        ["Service", span.service], ["Operation", span.operation], ["Kind", span.kind],
        ["Resource", target || span.resource], ["Account", span.account], ["Region", span.region],
        ["Started", clock(span.start)], ["Duration", duration(span.durationMs)],
        ["Status", statusBadge(span.status)], ["Error", span.error], ["Span", span.spanId], ["Parent", span.parentId],
      ]),
      span.attributes && Object.keys(span.attributes).length ? [h("h2", {}, "Attributes"), json(span.attributes)] : null,
      h("div", { class: "cols" },
        h("div", {}, h("h2", {}, "Request"), json(span.request ?? "(none)", "request")),
        h("div", {}, h("h2", {}, "Response"), json(span.response ?? "(none)", "response"))),
      span.truncated ? h("p", { class: "muted" }, "The payloads were truncated when recorded.") : null));
    draw();
    detail.scrollIntoView({ block: "nearest" });
  }

  async function fetchAll() {
    let offset = 0;
    try {
      while (offset != null && spans.size < MAX_SPANS) {
        const answer = await traceSpans(traceId, offset, 1000);
        expected = answer.spanCount;
        for (const span of answer.spans) spans.set(span.spanId, span);
        layout();
        offset = answer.nextOffset;
        progress.textContent = offset != null ? `loading spans… ${spans.size} of ${expected}` : "";
      }
    } catch (e) {
      clear(problem, errorBox(e));
    }
  }

  viewport.addEventListener("scroll", schedule, { passive: true });
  let relayout = 0;
  const live = stream({}, (span) => {
    if (span.traceId !== traceId) return;
    spans.set(span.spanId, span);
    if (!relayout) relayout = requestAnimationFrame(() => { relayout = 0; layout(); }); // one per frame
  }, () => {});
  onLeave(() => live.close());
  fetchAll();
  const waterfall = h("div", { class: "waterfall" },
    h("div", { class: "wf-head" }, h("span", {}, "Span"), h("span", {}, "Timeline"), h("span", { class: "wf-dur" }, "Duration")),
    viewport);
  return page("Trace", h("span", {}, link("#/", "Traces"), " › ", h("span", { class: "mono" }, traceId)),
    problem, section(null, head), toolbar(progress), waterfall, detail);
}

function resourceLink(span) {
  const types = {
    sqs: "AWS::SQS::Queue", dynamodb: "AWS::DynamoDB::Table", lambda: "AWS::Lambda::Function", sns: "AWS::SNS::Topic",
    kinesis: "AWS::Kinesis::Stream", s3: "AWS::S3::Bucket", states: "AWS::StepFunctions::StateMachine",
    stepfunctions: "AWS::StepFunctions::StateMachine", logs: "AWS::Logs::LogGroup", secretsmanager: "AWS::SecretsManager::Secret",
  };
  const arn = span.resource;
  let id = arn;
  const parts = arn.split(":");
  if (span.service === "sqs" && parts.length >= 6) id = `${location.origin}/${parts[4]}/${parts[5]}`;
  else if (span.service === "dynamodb") id = arn.split("/")[1];
  else if (span.service === "kinesis") id = arn.split("/")[1];
  else if (span.service === "s3") id = parts.slice(5).join(":").split("/")[0];
  else if (span.service === "logs") id = parts[6] || arn;
  const href = types[span.service] ? resourceRoute(types[span.service], id) : null;
  return href ? link(href, arn) : null;
}
