// The console's shell: the header (account, region, keys), the navigation, and the hash router.
//   #/                         live traces          #/traces/{traceId}       one trace's waterfall
//   #/services                 every service        #/{service}              its resource lists
//   #/{service}/{page}         a tool (Athena's query editor)
//   #/{service}/{list}/{id}    one resource

import { info, onScopeChange, scope, setScope } from "./api.js";
import { BY_ID, SERVICES } from "./services.js";
import { clear, errorBox, h, leave, link, page, route, section } from "./ui.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let regions = ["us-east-1"];
let rendering = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  return raw ? raw.split("/").map((part) => decodeURIComponent(part)) : [];
}

// `module#fn` names a page function in ./pages/{module}.js (fn defaults to "view").
async function viewFunction(spec) {
  const [module, fn = "view"] = spec.split("#");
  const loaded = module === "traces" ? await import("./traces.js") : await import(`./pages/${module}.js`);
  return loaded[fn];
}

async function render() {
  const ticket = ++rendering;
  leave();
  const parts = parseHash();
  markNav(parts[0] || "traces");
  let node;
  try {
    node = await build(parts);
  } catch (e) {
    console.error(e);
    node = page("Something went wrong", null, errorBox(e));
  }
  if (ticket !== rendering) return; // the user moved on while this page was loading
  clear(main, node);
  if (!performance.getEntriesByName("overcast:first-page").length) performance.mark("overcast:first-page");
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  document.body.classList.remove("nav-open");
}

async function build(parts) {
  const [first, second, ...rest] = parts;
  if (!first || first === "traces") {
    const traces = await import("./traces.js");
    return second ? traces.tracePage(second) : traces.listPage();
  }
  if (first === "services") return overview();
  const service = BY_ID[first];
  const generic = await import("./pages/generic.js");
  if (!service) return generic.unknown(`overcast has no service ${first}.`);
  if (!second) return generic.servicePage(service);
  const tool = (service.pages || []).find((p) => p.id === second);
  if (tool) return (await viewFunction(tool.view))(service);
  const list = service.lists.find((l) => l.id === second);
  if (!list) return generic.unknown(`${service.title} has no ${second}.`);
  const id = rest.join("/");
  if (!id) return generic.servicePage(service);
  if (list.view) return (await viewFunction(list.view))(service, list, id);
  return generic.detailPage(service, list, id);
}

function overview() {
  const groups = groupServices();
  return page("Services", "Every service overcast runs; pick one to browse its resources.",
    [...groups].map(([group, list]) => section(group,
      h("div", { class: "grid" }, list.map((s) => link(route(s.id), s.title, { class: "tile" }))))));
}

function groupServices() {
  const groups = new Map();
  for (const s of SERVICES) {
    if (!groups.has(s.group)) groups.set(s.group, []);
    groups.get(s.group).push(s);
  }
  return groups;
}

function buildNav() {
  const items = [h("a", { href: "#/", dataset: { id: "traces" } }, "Traces"),
    h("a", { href: "#/services", dataset: { id: "services" } }, "All services")];
  for (const [group, list] of groupServices()) {
    items.push(h("div", { class: "nav-group" }, group));
    for (const s of list) items.push(h("a", { href: route(s.id), dataset: { id: s.id } }, s.title));
  }
  clear(nav, items);
}

function markNav(id) {
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.id === id);
}

function buildScope(verify) {
  const account = document.getElementById("account");
  const region = document.getElementById("region");
  const fillAccounts = () => {
    clear(account, scope.accounts.map((a) => h("option", { value: a }, a)), h("option", { value: "+" }, "Other account…"));
    account.value = scope.account;
  };
  fillAccounts();
  account.addEventListener("change", () => {
    if (account.value !== "+") return setScope({ account: account.value });
    const id = (prompt("Account id (12 digits; the access key id the SDKs use):") || "").trim();
    if (/^\d{12}$/.test(id)) setScope({ account: id });
    fillAccounts();
  });
  const known = regions.includes(scope.region) ? regions : [scope.region, ...regions];
  clear(region, known.map((r) => h("option", { value: r }, r)));
  region.value = scope.region;
  region.addEventListener("change", () => setScope({ region: region.value }));
  const keys = document.getElementById("keys");
  keys.hidden = !verify;
  keys.addEventListener("click", () => {
    const id = prompt("Access key id (overcast checks signatures):", scope.credentials?.accessKeyId || "");
    if (id === null) return;
    const secret = prompt("Secret access key:") || "";
    setScope({ credentials: id && secret ? { accessKeyId: id.trim(), secretAccessKey: secret.trim() } : null });
  });
  onScopeChange(() => { fillAccounts(); render(); });
}

document.getElementById("menu").addEventListener("click", (event) => {
  const open = document.body.classList.toggle("nav-open");
  event.currentTarget.setAttribute("aria-expanded", open);
});
main.tabIndex = -1;
buildNav();
window.addEventListener("hashchange", render);
render();
info().then((about) => {
  regions = about.regions;
  buildScope(about.verifySignatures);
  document.title = `overcast ${about.version} console`;
}).catch((e) => { buildScope(false); console.error(e); });
