// A CloudFormation stack: its resources (each linked to its page in the console), events,
// outputs, parameters and template.

import { call, callAll } from "../api.js";
import { resourceRoute } from "../services.js";
import {
  badge, facts, h, json, link, load, page, route, section, table, tabs, when,
} from "../ui.js";

function statusBadge(status = "") {
  const kind = /FAILED|ROLLBACK/.test(status) ? "error" : /COMPLETE$/.test(status) ? "ok" : "warn";
  return badge(status, kind);
}

export function view(service, list, stackName) {
  const body = h("div");
  load(body, async () => {
    const [stacks, resources] = await Promise.all([
      call("cloudformation", "DescribeStacks", { StackName: stackName }),
      callAll("cloudformation", "ListStackResources", { StackName: stackName }, "StackResourceSummaries", "NextToken"),
    ]);
    const stack = stacks.Stacks[0];
    return h("div", {},
      section(null, facts([["Status", statusBadge(stack.StackStatus)], ["Reason", stack.StackStatusReason],
        ["Created", when(stack.CreationTime)], ["Updated", when(stack.LastUpdatedTime)], ["Description", stack.Description],
        ["Stack id", stack.StackId]])),
      tabs([
        ["Resources", () => section(null, table(resources, [
          ["Logical id", (r) => r.LogicalResourceId],
          ["Physical id", (r) => {
            const href = resourceRoute(r.ResourceType, r.PhysicalResourceId);
            return href ? link(href, r.PhysicalResourceId, { class: "resource-link" }) : r.PhysicalResourceId || "";
          }],
          ["Type", (r) => r.ResourceType], ["Status", (r) => statusBadge(r.ResourceStatus)],
          ["Reason", (r) => r.ResourceStatusReason],
        ], { empty: "No resources." }))],
        ["Events", () => events(stackName)],
        ["Outputs", () => section(null, table(stack.Outputs || [], [["Key", (o) => o.OutputKey], ["Value", (o) => o.OutputValue],
          ["Export", (o) => o.ExportName], ["Description", (o) => o.Description]], { empty: "No outputs." }))],
        ["Parameters", () => section(null, table(stack.Parameters || [], [["Key", (p) => p.ParameterKey],
          ["Value", (p) => p.ResolvedValue || p.ParameterValue]], { empty: "No parameters." }))],
        ["Template", () => template(stackName)],
      ]));
  });
  return page(stackName, h("span", {}, link(route("cloudformation"), "CloudFormation"), " › Stacks"), body);
}

function events(stackName) {
  const out = h("div");
  load(out, async () => {
    const list = await callAll("cloudformation", "DescribeStackEvents", { StackName: stackName }, "StackEvents", "NextToken", "NextToken", 500);
    return section(null, table(list, [["When", (e) => when(e.Timestamp)], ["Logical id", (e) => e.LogicalResourceId],
      ["Type", (e) => e.ResourceType], ["Status", (e) => statusBadge(e.ResourceStatus)], ["Reason", (e) => e.ResourceStatusReason]],
    { empty: "No events." }));
  });
  return out;
}

function template(stackName) {
  const out = h("div");
  load(out, async () => {
    const answer = await call("cloudformation", "GetTemplate", { StackName: stackName, TemplateStage: "Original" });
    return section(null, json(answer.TemplateBody));
  });
  return out;
}
