// An S3 bucket, browsed by prefix like folders; objects are uploaded and downloaded by the
// browser itself through presigned URLs (the console signs, S3 serves the bytes).

import { call, presign } from "../api.js";
import {
  action, bytes, clear, errorBox, facts, h, json, link, load, page, route, section, table, toolbar, when,
} from "../ui.js";

const PREVIEW = 64 * 1024;

export function view(service, list, id) {
  const [bucket, ...rest] = id.split("/");
  const prefix = rest.join("/");
  const crumbs = [link(route("s3"), "S3"), " › ", link(route("s3", "buckets", bucket), bucket)];
  let sofar = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    sofar += part + "/";
    crumbs.push(" / ", link(route("s3", "buckets", `${bucket}/${sofar}`), part));
  }
  const listing = h("div");
  const detail = h("div");
  const status = h("div");
  let token = null;
  let rows = [];

  async function fetchPage(more) {
    const params = { Bucket: bucket, Prefix: prefix, Delimiter: "/", MaxKeys: 200 };
    if (more && token) params.ContinuationToken = token;
    const answer = await call("s3", "ListObjectsV2", params);
    const folders = (answer.CommonPrefixes || []).map((p) => ({ folder: p.Prefix }));
    rows = (more ? rows : []).concat(folders, answer.Contents || []);
    token = answer.IsTruncated ? answer.NextContinuationToken : null;
    clear(listing, table(rows, [
      ["Name", (o) => o.folder
        ? link(route("s3", "buckets", `${bucket}/${o.folder}`), o.folder.slice(prefix.length))
        : o.Key.slice(prefix.length)],
      ["Size", (o) => (o.folder ? "folder" : bytes(o.Size))],
      ["Modified", (o) => when(o.LastModified)],
      ["Storage", (o) => o.StorageClass],
    ], { onRow: (o) => (o.folder ? (location.hash = route("s3", "buckets", `${bucket}/${o.folder}`)) : open(o.Key)),
      empty: prefix ? "No objects under this prefix." : "The bucket is empty." }),
    token ? toolbar(action("More", () => fetchPage(true))) : null);
  }

  async function open(key) {
    load(detail, async () => {
      const head = await call("s3", "HeadObject", { Bucket: bucket, Key: key });
      const url = await presign("GetObject", { Bucket: bucket, Key: key,
        ResponseContentDisposition: `attachment; filename="${key.split("/").pop().replace(/"/g, "")}"` });
      const preview = h("div");
      const remove = async () => {
        if (!confirm(`Delete ${key}?`)) return;
        await call("s3", "DeleteObject", { Bucket: bucket, Key: key });
        clear(detail);
        await fetchPage(false);
      };
      const type = head.ContentType || "";
      if (/^(text\/|application\/(json|xml|javascript|x-ndjson))/.test(type) || head.ContentLength < 4096) {
        load(preview, async () => {
          const got = await call("s3", "GetObject", { Bucket: bucket, Key: key, Range: `bytes=0-${PREVIEW - 1}` });
          return h("div", {}, h("h2", {}, head.ContentLength > PREVIEW ? `First ${PREVIEW / 1024} KB` : "Content"),
            json(typeof got.Body === "string" ? got.Body : "(binary)"));
        });
      }
      return section(key,
        facts([["Size", bytes(head.ContentLength)], ["Type", type], ["ETag", head.ETag], ["Modified", when(head.LastModified)],
          ["Metadata", head.Metadata && Object.keys(head.Metadata).length ? head.Metadata : null], ["Version", head.VersionId]]),
        toolbar(h("a", { href: url, class: "button primary", download: key.split("/").pop() }, "Download"),
          action("Delete", remove, "danger")),
        preview);
    });
    detail.scrollIntoView({ block: "nearest" });
  }

  const files = h("input", { type: "file", multiple: true, "aria-label": "Files to upload" });
  const upload = async () => {
    const chosen = [...files.files];
    if (!chosen.length) throw new Error("Choose files first.");
    for (const [i, file] of chosen.entries()) {
      clear(status, h("p", { class: "muted" }, `Uploading ${file.name} (${i + 1} of ${chosen.length})…`));
      const url = await presign("PutObject", { Bucket: bucket, Key: prefix + file.name });
      const response = await fetch(url, { method: "PUT", body: file });
      if (!response.ok) throw new Error(`${file.name}: S3 answered ${response.status} ${await response.text()}`);
    }
    clear(status, h("p", { class: "muted" }, `Uploaded ${chosen.length} file${chosen.length > 1 ? "s" : ""}.`));
    files.value = "";
    await fetchPage(false);
  };
  const body = h("div", {},
    section(null, toolbar(files, action("Upload", upload, "primary"), action("Refresh", () => fetchPage(false))), status),
    section(prefix ? `Objects under ${prefix}` : "Objects", listing), detail,
    h("details", { class: "card" }, h("summary", {}, "Bucket settings"), bucketSettings(bucket)));
  fetchPage(false).catch((e) => clear(listing, errorBox(e)));
  return page(bucket, h("span", {}, crumbs), body);
}

function bucketSettings(bucket) {
  const out = h("div");
  load(out, async () => {
    const settings = {};
    for (const [label, op, pick] of [["Location", "GetBucketLocation", (r) => r.LocationConstraint || "us-east-1"],
      ["Versioning", "GetBucketVersioning", (r) => r.Status || "never enabled"],
      ["Notifications", "GetBucketNotificationConfiguration", (r) => r],
      ["CORS", "GetBucketCors", (r) => r.CORSRules],
      ["Website", "GetBucketWebsite", (r) => r],
      ["Policy", "GetBucketPolicy", (r) => r.Policy]]) {
      try {
        settings[label] = pick(await call("s3", op, { Bucket: bucket }));
      } catch (e) {
        settings[label] = e.code || String(e);
      }
    }
    return json(settings);
  });
  return out;
}
