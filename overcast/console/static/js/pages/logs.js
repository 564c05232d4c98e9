// A CloudWatch Logs group: tail it live (FilterLogEvents from the last event seen, every second,
// as `aws logs tail --follow` does), and read its streams.

import { call } from "../api.js";
import {
  button, clear, errorBox, facts, field, h, input, link, load, onLeave, page, route, section, table, tabs, toolbar, when,
} from "../ui.js";

const POLL_MS = 1000;
const KEEP_LINES = 2000;

export function view(service, list, group) {
  const body = h("div");
  load(body, async () => {
    const found = (await call("logs", "DescribeLogGroups", { logGroupNamePrefix: group })).logGroups
      .find((g) => g.logGroupName === group);
    if (!found) throw new Error(`No log group ${group} in this account and region (yet).`);
    return tabs([
      ["Live tail", () => tail(group)],
      ["Streams", () => streams(group)],
      ["Overview", () => section(null, facts([["ARN", found.arn], ["Created", when(found.creationTime)],
        ["Retention", found.retentionInDays ? `${found.retentionInDays} days` : "never expires"], ["Stored", found.storedBytes]]))],
    ]);
  });
  return page(group, h("span", {}, link(route("logs"), "CloudWatch Logs"), " › Log groups"), body);
}

function line(event) {
  return h("div", { class: "log-line" }, h("span", { class: "ts" }, new Date(event.timestamp).toISOString()),
    event.logStreamName ? h("span", { class: "stream" }, event.logStreamName.slice(-12)) : null, event.message);
}

function tail(group) {
  const lines = h("div", { class: "log-lines", role: "log", "aria-live": "polite" });
  const pattern = input({ placeholder: "filter pattern (optional)", "aria-label": "Filter pattern" });
  const state = h("span", { class: "live on" }, "live");
  const problem = h("div");
  let since = Date.now() - 10 * 60 * 1000;
  let seen = new Set();
  let timer = null;
  let running = true;
  let stopped = false;

  async function poll() {
    timer = null;
    if (!running || stopped) return;
    try {
      const params = { logGroupName: group, startTime: since, limit: 1000 };
      if (pattern.value.trim()) params.filterPattern = pattern.value.trim();
      const answer = await call("logs", "FilterLogEvents", params);
      const atBottom = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 8;
      const fresh = (answer.events || []).filter((e) => !seen.has(e.eventId));
      for (const event of fresh) {
        seen.add(event.eventId);
        since = Math.max(since, event.timestamp);
        lines.append(line(event));
      }
      while (lines.childElementCount > KEEP_LINES) lines.firstElementChild.remove();
      if (seen.size > 20000) seen = new Set([...seen].slice(-5000));
      if (fresh.length && atBottom) lines.scrollTop = lines.scrollHeight;
      if (!lines.childElementCount) lines.replaceChildren(h("div", { class: "muted" }, "Waiting for log events…"));
      else lines.querySelector(".muted")?.remove();
      clear(problem);
    } catch (e) {
      clear(problem, errorBox(e));
    }
    if (running && !stopped) timer = setTimeout(poll, POLL_MS);
  }

  const toggle = button("Pause", () => {
    running = !running;
    toggle.textContent = running ? "Pause" : "Resume";
    state.classList.toggle("on", running);
    state.textContent = running ? "live" : "paused";
    if (running && !timer) poll();
  });
  pattern.addEventListener("change", () => {
    lines.replaceChildren();
    seen = new Set();
    since = Date.now() - 10 * 60 * 1000;
  });
  onLeave(() => { stopped = true; clearTimeout(timer); });
  poll();
  return h("div", {}, toolbar(state, field("Filter", pattern), toggle, button("Clear", () => lines.replaceChildren())), problem, lines);
}

function streams(group) {
  const out = h("div");
  const events = h("div");
  load(out, async () => {
    const list = (await call("logs", "DescribeLogStreams", { logGroupName: group, orderBy: "LastEventTime", descending: true, limit: 50 })).logStreams || [];
    return table(list, [["Stream", (s) => s.logStreamName], ["Last event", (s) => when(s.lastEventTimestamp)],
      ["Created", (s) => when(s.creationTime)]], {
      onRow: (s) => load(events, async () => {
        const answer = await call("logs", "GetLogEvents", { logGroupName: group, logStreamName: s.logStreamName, limit: 500, startFromHead: false });
        return section(s.logStreamName, h("div", { class: "log-lines" }, (answer.events || []).map(line)));
      }),
      empty: "No streams yet.",
    });
  });
  return h("div", {}, section(null, out), events);
}
