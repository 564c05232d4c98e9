// A DynamoDB table: its items (scan, query, put, edit, delete) and its description. Items are
// edited in DynamoDB's own JSON ({"id": {"S": "..."}}), so every type round-trips exactly.

import { call } from "../api.js";
import {
  action, button, clear, errorBox, facts, field, h, input, json, link, load, page, route, section, select, tabs,
  textarea, toolbar,
} from "../ui.js";

// An attribute value as a person reads it.
export function plain(value) {
  if (value == null) return null;
  const [type, v] = Object.entries(value)[0] || [];
  switch (type) {
    case "S": case "N": case "B": return v;
    case "BOOL": return v;
    case "NULL": return null;
    case "SS": case "NS": case "BS": return v;
    case "L": return v.map(plain);
    case "M": return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    default: return value;
  }
}

function show(value) {
  const v = plain(value);
  return v !== null && typeof v === "object" ? JSON.stringify(v) : v;
}

export function view(service, list, tableName) {
  const body = h("div");
  load(body, async () => {
    const table = (await call("dynamodb", "DescribeTable", { TableName: tableName })).Table;
    return tabs([
      ["Items", (panel) => itemsTab(table, panel)],
      ["Overview", () => overview(table)],
    ]);
  });
  return page(tableName, h("span", {}, link(route("dynamodb"), "DynamoDB"), " › Tables"), body);
}

function overview(table) {
  const keys = (schema) => (schema || []).map((k) => `${k.AttributeName} (${k.KeyType === "HASH" ? "partition" : "sort"})`).join(", ");
  return h("div", {},
    section("Table", facts([
      ["Status", table.TableStatus], ["Keys", keys(table.KeySchema)], ["Items", table.ItemCount],
      ["Size", table.TableSizeBytes], ["Billing", table.BillingModeSummary?.BillingMode || "PROVISIONED"],
      ["Stream", table.StreamSpecification?.StreamEnabled ? `${table.StreamSpecification.StreamViewType} — ${table.LatestStreamArn}` : "off"],
      ["Indexes", [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])]
        .map((i) => `${i.IndexName}: ${keys(i.KeySchema)}`).join("; ")],
      ["ARN", table.TableArn],
    ])),
    section("DescribeTable", json(table)));
}

function itemsTab(table, panel) {
  const keyNames = table.KeySchema.map((k) => k.AttributeName);
  const types = Object.fromEntries(table.AttributeDefinitions.map((a) => [a.AttributeName, a.AttributeType]));
  const indexes = [["", "table"], ...[...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])]
    .map((i) => [i.IndexName, i.IndexName])];
  const mode = select([["scan", "Scan"], ["query", "Query"]], "scan", { "aria-label": "Scan or query" });
  const index = select(indexes, "", { "aria-label": "Index" });
  const pk = input({ placeholder: "partition key value", "aria-label": "Partition key value" });
  const skOp = select(["=", "<", "<=", ">", ">=", "begins_with", "between"], "=", { "aria-label": "Sort key condition" });
  const sk = input({ placeholder: "sort key value (optional)", "aria-label": "Sort key value" });
  const sk2 = input({ placeholder: "and", "aria-label": "Sort key upper value", hidden: true });
  const limit = h("input", { type: "number", value: "25", min: "1", max: "1000", "aria-label": "Limit" });
  const queryFields = h("div", { class: "row", hidden: true }, field("Partition key", pk), field("Sort key", h("div", { class: "row" }, skOp, sk, sk2)));
  const results = h("div");
  const editor = h("div");
  let lastKey = null;
  let items = [];

  const schemaOf = () => {
    const chosen = [...(table.GlobalSecondaryIndexes || []), ...(table.LocalSecondaryIndexes || [])]
      .find((i) => i.IndexName === index.value);
    return (chosen || table).KeySchema;
  };
  const typed = (name, value) => ({ [types[name] || "S"]: value });

  function params(startKey) {
    const p = { TableName: table.TableName, Limit: Number(limit.value) || 25 };
    if (index.value) p.IndexName = index.value;
    if (startKey) p.ExclusiveStartKey = startKey;
    if (mode.value === "query") {
      const schema = schemaOf();
      const hash = schema.find((k) => k.KeyType === "HASH").AttributeName;
      const range = schema.find((k) => k.KeyType === "RANGE")?.AttributeName;
      p.KeyConditionExpression = "#pk = :pk";
      p.ExpressionAttributeNames = { "#pk": hash };
      p.ExpressionAttributeValues = { ":pk": typed(hash, pk.value) };
      if (range && sk.value !== "") {
        p.ExpressionAttributeNames["#sk"] = range;
        p.ExpressionAttributeValues[":sk"] = typed(range, sk.value);
        if (skOp.value === "begins_with") p.KeyConditionExpression += " AND begins_with(#sk, :sk)";
        else if (skOp.value === "between") {
          p.ExpressionAttributeValues[":sk2"] = typed(range, sk2.value);
          p.KeyConditionExpression += " AND #sk BETWEEN :sk AND :sk2";
        } else p.KeyConditionExpression += ` AND #sk ${skOp.value} :sk`;
      }
    }
    return p;
  }

  async function run(more = false) {
    const answer = await call("dynamodb", mode.value === "query" ? "Query" : "Scan", params(more ? lastKey : null));
    items = more ? items.concat(answer.Items || []) : answer.Items || [];
    lastKey = answer.LastEvaluatedKey || null;
    drawResults(answer);
  }

  function drawResults(answer) {
    const names = [...keyNames];
    for (const item of items) for (const n of Object.keys(item)) if (!names.includes(n) && names.length < 24) names.push(n);
    clear(results,
      h("p", { class: "muted" }, `${items.length} item${items.length === 1 ? "" : "s"}` +
        (answer ? `, ${answer.ScannedCount} scanned in the last page` : "")),
      resultTable(names),
      lastKey ? toolbar(action("Next page", () => run(true))) : null);
  }

  function resultTable(names) {
    if (!items.length) return h("p", { class: "muted empty" }, "No items.");
    const rows = items.map((item) => {
      const tr = h("tr", { class: "clickable", tabIndex: 0 }, names.map((n) => h("td", { "data-label": n }, n in item ? show(item[n]) : "")));
      tr.addEventListener("click", () => edit(item));
      tr.addEventListener("keydown", (event) => { if (event.key === "Enter") edit(item); });
      return tr;
    });
    return h("div", { class: "table-wrap" }, h("table", { class: "items" },
      h("thead", {}, h("tr", {}, names.map((n) => h("th", {}, n)))), h("tbody", {}, rows)));
  }

  function edit(item) {
    const creating = !item;
    const template = item || Object.fromEntries(keyNames.map((n) => [n, typed(n, "")]));
    const text = textarea(JSON.stringify(template, null, 2), { rows: 12, "aria-label": "Item (DynamoDB JSON)" });
    const out = h("div");
    const key = item ? Object.fromEntries(keyNames.map((n) => [n, item[n]])) : null;
    const save = async () => {
      let parsed;
      try { parsed = JSON.parse(text.value); } catch (e) { clear(out, errorBox(e)); return; }
      await call("dynamodb", "PutItem", { TableName: table.TableName, Item: parsed });
      clear(editor);
      await run();
    };
    const remove = async () => {
      if (!confirm("Delete this item?")) return;
      await call("dynamodb", "DeleteItem", { TableName: table.TableName, Key: key });
      clear(editor);
      await run();
    };
    clear(editor, section(creating ? "New item" : "Edit item",
      h("p", { class: "muted" }, "DynamoDB JSON: every value is typed ({\"S\": \"text\"}, {\"N\": \"12\"}, {\"M\": {...}}). Saving puts the whole item."),
      text, out,
      toolbar(action(creating ? "Create" : "Save", save, "primary"), creating ? null : action("Delete", remove, "danger"),
        button("Close", () => clear(editor)))));
    editor.scrollIntoView({ block: "nearest" });
  }

  mode.addEventListener("change", () => { queryFields.hidden = mode.value !== "query"; });
  skOp.addEventListener("change", () => { sk2.hidden = skOp.value !== "between"; });
  panel.append(
    section(null, h("div", { class: "row" }, field("Operation", mode), field("Index", index), field("Limit", limit)), queryFields,
      toolbar(action("Run", () => run(), "primary"), button("Create item", () => edit(null)))),
    editor, results);
  run().catch((e) => clear(results, errorBox(e)));
}
