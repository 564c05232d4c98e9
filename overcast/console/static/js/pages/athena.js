// Athena's query editor: run SQL (StartQueryExecution, then GetQueryExecution until it is done)
// and show the results as a table (GetQueryResults), with the recent queries of the workgroup.

import { call, callAll } from "../api.js";
import {
  action, badge, clear, errorBox, facts, field, h, input, link, load, page, route, section, select, table, textarea,
  toolbar, when,
} from "../ui.js";

const OUTPUT = "overcast.console.athena.output";

export function view() {
  const sql = textarea("SHOW DATABASES", { rows: 8, class: "sql", "aria-label": "SQL" });
  const workgroup = select(["primary"], "primary", { "aria-label": "Workgroup" });
  const database = select([["", "(none)"]], "", { "aria-label": "Database" });
  const output = input({ placeholder: "s3://bucket/prefix/ (unless the workgroup sets one)", value: localStorage.getItem(OUTPUT) || "",
    "aria-label": "Results location" });
  const out = h("div");
  const history = h("div");

  (async () => {
    try {
      const groups = await callAll("athena", "ListWorkGroups", {}, "WorkGroups", "NextToken");
      clear(workgroup, groups.map((g) => h("option", { value: g.Name }, g.Name)));
      workgroup.value = groups.some((g) => g.Name === "primary") ? "primary" : groups[0]?.Name;
      const dbs = await callAll("athena", "ListDatabases", { CatalogName: "AwsDataCatalog" }, "DatabaseList", "NextToken");
      for (const d of dbs) database.append(h("option", { value: d.Name }, d.Name));
      if (dbs.length) database.value = dbs[0].Name;
    } catch (e) {
      clear(out, errorBox(e));
    }
    showHistory();
  })();

  async function run() {
    const params = { QueryString: sql.value, WorkGroup: workgroup.value };
    if (database.value) params.QueryExecutionContext = { Database: database.value, Catalog: "AwsDataCatalog" };
    if (output.value.trim()) {
      params.ResultConfiguration = { OutputLocation: output.value.trim() };
      localStorage.setItem(OUTPUT, output.value.trim());
    }
    clear(out, h("p", { class: "muted" }, "Running…"));
    const id = (await call("athena", "StartQueryExecution", params)).QueryExecutionId;
    await results(id);
    showHistory();
  }

  async function results(id) {
    let execution;
    for (let wait = 100; ; wait = Math.min(wait * 1.5, 1000)) {
      execution = (await call("athena", "GetQueryExecution", { QueryExecutionId: id })).QueryExecution;
      if (!["QUEUED", "RUNNING"].includes(execution.Status.State)) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const stats = execution.Statistics || {};
    const head = facts([["State", badge(execution.Status.State, execution.Status.State === "SUCCEEDED" ? "ok" : "error")],
      ["Reason", execution.Status.StateChangeReason], ["Query id", id],
      ["Engine time", stats.EngineExecutionTimeInMillis != null ? `${stats.EngineExecutionTimeInMillis} ms` : null],
      ["Data scanned", stats.DataScannedInBytes], ["Output", execution.ResultConfiguration?.OutputLocation]]);
    if (execution.Status.State !== "SUCCEEDED") {
      clear(out, section("Result", head));
      return;
    }
    let rows = [];
    let columns = [];
    let token;
    do {
      const page_ = await call("athena", "GetQueryResults", { QueryExecutionId: id, MaxResults: 1000, ...(token ? { NextToken: token } : {}) });
      columns = page_.ResultSet.ResultSetMetadata.ColumnInfo.map((c) => c.Name);
      rows = rows.concat(page_.ResultSet.Rows.map((r) => r.Data.map((d) => d.VarCharValue)));
      token = page_.NextToken;
    } while (token && rows.length < 5000);
    // a SELECT's first row repeats the column names
    if (rows.length && columns.length && rows[0].every((v, i) => v === columns[i])) rows = rows.slice(1);
    clear(out, section(`${rows.length} row${rows.length === 1 ? "" : "s"}`, head,
      table(rows, columns.map((name, i) => [name, (r) => r[i] ?? "NULL"]), { empty: "No rows." })));
  }

  function showHistory() {
    load(history, async () => {
      const ids = (await call("athena", "ListQueryExecutions", { WorkGroup: workgroup.value, MaxResults: 20 })).QueryExecutionIds || [];
      const list = ids.length ? (await call("athena", "BatchGetQueryExecution", { QueryExecutionIds: ids })).QueryExecutions : [];
      return table(list, [["Submitted", (q) => when(q.Status.SubmissionDateTime)], ["State", (q) => q.Status.State],
        ["Query", (q) => q.Query]], { onRow: (q) => { sql.value = q.Query; results(q.QueryExecutionId).catch((e) => clear(out, errorBox(e))); },
        empty: "No queries yet." });
    });
  }

  sql.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run().catch((e) => clear(out, errorBox(e))); }
  });
  return page("Athena query editor", h("span", {}, link(route("athena"), "Athena"), " › Query editor"),
    section(null, field("SQL", sql, "Ctrl+Enter runs it"),
      h("div", { class: "row" }, field("Workgroup", workgroup), field("Database", database), field("Results location", output)),
      toolbar(action("Run", run, "primary"))),
    out, section("Recent queries", history));
}
