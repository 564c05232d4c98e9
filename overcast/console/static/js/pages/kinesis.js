// A Kinesis data stream: its records shard by shard (GetShardIterator + GetRecords, as a consumer
// reads them; reading changes nothing), and a form to put one.

import { call, callAll } from "../api.js";
import {
  action, clear, facts, field, h, input, json, link, load, page, route, section, select, table, tabs,
  textarea, toolbar, when,
} from "../ui.js";

export function view(service, list, name) {
  const body = h("div");
  load(body, async () => {
    const [summary, shards] = await Promise.all([
      call("kinesis", "DescribeStreamSummary", { StreamName: name }),
      callAll("kinesis", "ListShards", { StreamName: name }, "Shards", "NextToken"),
    ]);
    const s = summary.StreamDescriptionSummary;
    return tabs([
      ["Records", () => records(name, shards)],
      ["Put record", () => put(name)],
      ["Shards", () => section(null, table(shards, [["Shard", (x) => x.ShardId], ["Parent", (x) => x.ParentShardId],
        ["Hash keys", (x) => `${x.HashKeyRange.StartingHashKey} – ${x.HashKeyRange.EndingHashKey}`],
        ["Sequence range", (x) => `${x.SequenceNumberRange.StartingSequenceNumber} – ${x.SequenceNumberRange.EndingSequenceNumber || "open"}`]]))],
      ["Overview", () => section(null, facts([["Status", s.StreamStatus], ["Mode", s.StreamModeDetails?.StreamMode],
        ["Open shards", s.OpenShardCount], ["Retention", `${s.RetentionPeriodHours} h`], ["ARN", s.StreamARN],
        ["Created", when(s.StreamCreationTimestamp)], ["Consumers", s.ConsumerCount]]), json(s))],
    ]);
  });
  return page(name, h("span", {}, link(route("kinesis"), "Kinesis"), " › Data streams"), body);
}

function records(name, shards) {
  const shard = select(shards.map((x) => x.ShardId), shards[0]?.ShardId, { "aria-label": "Shard" });
  const from = select(["TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP"], "TRIM_HORIZON",
    { "aria-label": "Start at" });
  const at = input({ placeholder: "sequence number or ISO time", "aria-label": "Start position" });
  const out = h("div");
  let iterator = null;
  let rows = [];

  async function read(next) {
    if (!next) {
      const params = { StreamName: name, ShardId: shard.value, ShardIteratorType: from.value };
      if (from.value.includes("SEQUENCE")) params.StartingSequenceNumber = at.value;
      if (from.value === "AT_TIMESTAMP") params.Timestamp = at.value;
      iterator = (await call("kinesis", "GetShardIterator", params)).ShardIterator;
      rows = [];
    }
    const answer = await call("kinesis", "GetRecords", { ShardIterator: iterator, Limit: 100 });
    iterator = answer.NextShardIterator;
    rows = rows.concat(answer.Records || []);
    clear(out, h("p", { class: "muted" }, `${rows.length} record${rows.length === 1 ? "" : "s"}; ${answer.MillisBehindLatest ?? 0} ms behind the tip.`),
      table(rows, [["Sequence", (r) => r.SequenceNumber], ["Partition key", (r) => r.PartitionKey],
        ["Arrived", (r) => when(r.ApproximateArrivalTimestamp)],
        ["Data", (r) => (typeof r.Data === "string" ? r.Data : `(binary, base64) ${r.Data.$base64}`)]], { empty: "No records from here." }),
      iterator ? toolbar(action("Read more", () => read(true))) : h("p", { class: "muted" }, "The shard is closed and read to its end."));
  }
  return h("div", {}, section(null, h("div", { class: "row" }, field("Shard", shard), field("Start at", from), field("Position", at)),
    toolbar(action("Read", () => read(false), "primary"))), out);
}

function put(name) {
  const data = textarea('{"event": "click"}', { rows: 5, "aria-label": "Data" });
  const key = input({ value: "console", "aria-label": "Partition key" });
  const out = h("div");
  const go = async () => {
    clear(out, json(await call("kinesis", "PutRecord", { StreamName: name, Data: data.value, PartitionKey: key.value })));
  };
  return section(null, field("Data", data), field("Partition key", key), toolbar(action("Put record", go, "primary")), out);
}
