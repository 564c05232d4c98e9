// An SQS queue: its messages without receiving them (peek), send, purge, and — for a dead-letter
// queue — moving its messages back to their source (StartMessageMoveTask, as AWS's DLQ redrive).

import { call, peekMessages } from "../api.js";
import {
  action, badge, clear, errorBox, facts, field, h, input, json, link, load, page, route, section, table, tabs,
  textarea, toolbar, when,
} from "../ui.js";

export function view(service, list, queueUrl) {
  const name = queueUrl.split("/").pop();
  const body = h("div");
  load(body, async () => {
    const attributes = (await call("sqs", "GetQueueAttributes", { QueueUrl: queueUrl, AttributeNames: ["All"] })).Attributes;
    return tabs([
      ["Messages", (panel) => messages(queueUrl, attributes, panel)],
      ["Send", () => send(queueUrl, attributes)],
      ["Dead letters", () => deadLetters(queueUrl, attributes)],
      ["Attributes", () => section(null, facts([
        ["URL", queueUrl], ["ARN", attributes.QueueArn],
        ["Messages", attributes.ApproximateNumberOfMessages],
        ["In flight", attributes.ApproximateNumberOfMessagesNotVisible],
        ["Delayed", attributes.ApproximateNumberOfMessagesDelayed],
        ["Visibility timeout", `${attributes.VisibilityTimeout} s`],
        ["Retention", `${attributes.MessageRetentionPeriod} s`],
        ["Redrive policy", attributes.RedrivePolicy],
      ]), json(attributes))],
    ]);
  });
  return page(name, h("span", {}, link(route("sqs"), "SQS"), " › Queues"), body);
}

function messages(queueUrl, attributes, panel) {
  const out = h("div");
  const detail = h("div");
  let rows = [];
  let next = 0;

  async function peek(more) {
    const answer = await peekMessages(queueUrl, more ? next : 0, 50);
    rows = more ? rows.concat(answer.messages) : answer.messages;
    next = answer.next;
    clear(out,
      h("p", { class: "muted" }, `${rows.length} message${rows.length === 1 ? "" : "s"} shown; peeking receives nothing and changes nothing.`),
      table(rows, [
        ["#", (m) => m.Position],
        ["Message", (m) => m.MessageId],
        ["State", (m) => badge(m.State, m.State === "visible" ? "ok" : "warn")],
        ["Received", (m) => m.Attributes.ApproximateReceiveCount],
        ["Sent", (m) => when(Number(m.Attributes.SentTimestamp))],
        ["Body", (m) => m.Body],
      ], { onRow: (m) => clear(detail, section(`Message ${m.MessageId}`, json(m.Body),
        h("h2", {}, "Attributes"), json({ Attributes: m.Attributes, MessageAttributes: m.MessageAttributes || {} }))),
      empty: "The queue is empty." }),
      next ? toolbar(action("More", () => peek(true))) : null);
  }

  const purge = async () => {
    if (!confirm("Delete every message in this queue (PurgeQueue)?")) return;
    await call("sqs", "PurgeQueue", { QueueUrl: queueUrl });
    await peek(false);
  };
  panel.append(toolbar(action("Refresh", () => peek(false), "primary"), action("Purge", purge, "danger")), out, detail);
  peek(false).catch((e) => clear(out, errorBox(e)));
}

function send(queueUrl, attributes) {
  const fifo = attributes.FifoQueue === "true";
  const body = textarea('{"hello": "from the console"}', { rows: 6, "aria-label": "Message body" });
  const delay = h("input", { type: "number", min: "0", max: "900", value: "0", "aria-label": "Delay seconds" });
  const group = input({ placeholder: "group id", "aria-label": "Message group id" });
  const dedup = input({ placeholder: "deduplication id (optional)", "aria-label": "Deduplication id" });
  const attrs = textarea("{}", { rows: 3, "aria-label": "Message attributes" });
  const out = h("div");
  const go = async () => {
    let parsed;
    try { parsed = JSON.parse(attrs.value || "{}"); } catch (e) { clear(out, errorBox(e)); return; }
    const params = { QueueUrl: queueUrl, MessageBody: body.value };
    if (Object.keys(parsed).length) params.MessageAttributes = parsed;
    if (fifo) {
      params.MessageGroupId = group.value;
      if (dedup.value) params.MessageDeduplicationId = dedup.value;
    } else if (Number(delay.value)) params.DelaySeconds = Number(delay.value);
    clear(out, json(await call("sqs", "SendMessage", params)));
  };
  return section(null, field("Body", body),
    h("div", { class: "row" }, fifo ? [field("Message group", group), field("Deduplication", dedup)] : field("Delay (s)", delay)),
    field("Message attributes", attrs, 'e.g. {"source": {"DataType": "String", "StringValue": "console"}}'),
    toolbar(action("Send", go, "primary")), out);
}

function deadLetters(queueUrl, attributes) {
  const out = h("div");
  const refresh = () => load(out, async () => {
    const sources = (await call("sqs", "ListDeadLetterSourceQueues", { QueueUrl: queueUrl })).queueUrls || [];
    const tasks = (await call("sqs", "ListMessageMoveTasks", { SourceArn: attributes.QueueArn })).Results || [];
    const start = async () => {
      await call("sqs", "StartMessageMoveTask", { SourceArn: attributes.QueueArn });
      refresh();
    };
    return h("div", {},
      section("Source queues", sources.length
        ? table(sources, [["Queue", (u) => link(route("sqs", "queues", u), u.split("/").pop())], ["URL", (u) => u]])
        : h("p", { class: "muted" }, "No queue sends its failed messages here; this is not a dead-letter queue."),
      sources.length ? toolbar(action("Move messages back to their source (redrive)", start, "primary")) : null),
      section("Move tasks", table(tasks, [["Status", (t) => t.Status], ["Moved", (t) => t.ApproximateNumberOfMessagesMoved],
        ["To move", (t) => t.ApproximateNumberOfMessagesToMove], ["Destination", (t) => t.DestinationArn || "source queues"],
        ["Started", (t) => when(t.StartedTimestamp)], ["Failure", (t) => t.FailureReason]], { empty: "No move tasks." })),
      toolbar(action("Refresh", async () => refresh())));
  });
  refresh();
  return out;
}
