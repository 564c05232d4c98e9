// Small DOM helpers. Every value from the server goes into the page as text (textContent), never
// as HTML: names, items and message bodies are whatever a client stored.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value") el.value = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export function button(label, onclick, cls = "") {
  return h("button", { type: "button", class: cls, onclick }, label);
}

// A button that shows it is working while `fn` runs, and shows its error next to it.
export function action(label, fn, cls = "") {
  const out = h("span", { class: "action-error" });
  const b = button(label, async () => {
    b.disabled = true;
    out.replaceChildren();
    try {
      await fn();
    } catch (e) {
      out.replaceChildren(errorText(e));
    } finally {
      b.disabled = false;
    }
  }, cls);
  return h("span", { class: "action" }, b, out);
}

export function errorText(e) {
  return h("span", { class: "error", role: "alert" }, e && e.code ? `${e.code}: ${e.detail}` : String(e && e.message || e));
}

export function errorBox(e) {
  return h("div", { class: "error-box", role: "alert" }, errorText(e));
}

// Render `fn()`'s promise into `el`: a spinner meanwhile, the error if it fails.
export async function load(el, fn) {
  clear(el, h("p", { class: "muted loading" }, "Loading…"));
  try {
    const node = await fn();
    clear(el, node);
  } catch (e) {
    clear(el, errorBox(e));
    console.error(e);
  }
}

export function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

export function json(value, cls = "") {
  return h("pre", { class: "json " + cls }, value === undefined ? "" : pretty(value));
}

// A table: columns are [title, row => value | Node]; onRow makes rows clickable.
export function table(rows, columns, { onRow, empty = "Nothing here yet.", rowClass } = {}) {
  if (!rows.length) return h("p", { class: "muted empty" }, empty);
  const head = h("tr", {}, columns.map(([title]) => h("th", {}, title)));
  const body = rows.map((row) => {
    const tr = h("tr", { class: rowClass ? rowClass(row) : "" },
      columns.map(([title, get]) => {
        const value = get(row);
        return h("td", { "data-label": title }, value instanceof Node ? value : cell(value));
      }));
    if (onRow) {
      tr.classList.add("clickable");
      tr.tabIndex = 0;
      tr.addEventListener("click", (event) => { if (!event.target.closest("a,button")) onRow(row); });
      tr.addEventListener("keydown", (event) => { if (event.key === "Enter") onRow(row); });
    }
    return tr;
  });
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

function cell(value) {
  if (value == null) return "";
  if (typeof value === "object") {
    const text = JSON.stringify(value);
    return text.length > 200 ? text.slice(0, 200) + "…" : text;
  }
  const text = String(value);
  return text.length > 300 ? text.slice(0, 300) + "…" : text;
}

// Name/value pairs, for a resource's main facts.
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v != null && v !== "")
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v instanceof Node ? v : cell(v))]));
}

export function tabs(list, selected = 0) {
  const bar = h("div", { class: "tabs", role: "tablist" });
  const panel = h("div", { class: "tab-panel", role: "tabpanel" });
  const buttons = list.map(([title, render], i) => {
    const b = h("button", { type: "button", role: "tab", class: "tab" }, title);
    b.addEventListener("click", () => show(i));
    return b;
  });
  function show(i) {
    buttons.forEach((b, j) => { b.classList.toggle("active", i === j); b.setAttribute("aria-selected", i === j); });
    clear(panel);
    const node = list[i][1](panel);
    if (node instanceof Node) panel.append(node);
  }
  bar.append(...buttons);
  show(selected);
  return h("div", { class: "tabbed" }, bar, panel);
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), input,
    hint ? h("span", { class: "hint" }, hint) : null);
}

export function input(attrs = {}) {
  return h("input", { type: "text", ...attrs });
}

export function textarea(value = "", attrs = {}) {
  const el = h("textarea", { spellcheck: "false", ...attrs });
  el.value = value;
  return el;
}

export function select(options, value, attrs = {}) {
  const el = h("select", attrs, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: v }, text);
  }));
  if (value != null) el.value = value;
  return el;
}

export function section(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, children);
}

export function page(title, subtitle, ...children) {
  return h("div", { class: "page" }, h("div", { class: "page-head" }, h("h1", {}, title),
    subtitle ? h("div", { class: "subtitle" }, subtitle) : null), children);
}

export function toolbar(...children) {
  return h("div", { class: "toolbar" }, children);
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}

export function when(value) {
  if (value == null || value === "") return "";
  const date = typeof value === "number" ? new Date(value > 1e12 ? value : value * 1000) : new Date(value);
  return isNaN(date) ? String(value) : date.toLocaleString();
}

// A moment to the millisecond: the time alone when it is today, else the date too.
export function clock(epochSeconds) {
  if (epochSeconds == null) return "";
  const date = new Date(epochSeconds * 1000);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }) +
    "." + String(date.getMilliseconds()).padStart(3, "0");
  return date.toDateString() === new Date().toDateString() ? time : `${date.toLocaleDateString()} ${time}`;
}

export function arnName(arn) {
  if (!arn) return "";
  const rest = arn.split(":").slice(5).join(":");
  return rest.split("/").pop().split(":").pop() || arn;
}

export function route(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(p)).join("/");
}

export function bytes(n) {
  if (n == null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// What a page started that must stop when the user leaves it (event streams, timers).
const leaving = [];
export function onLeave(fn) { leaving.push(fn); }
export function leave() {
  while (leaving.length) {
    try { leaving.pop()(); } catch (e) { console.error(e); }
  }
}
