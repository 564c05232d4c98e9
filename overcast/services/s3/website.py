"""Static website hosting: `http://{bucket}.s3-website.localhost.localstack.cloud:4566/` and
`http://{bucket}.s3-website-{region}.localhost:4566/`. Index documents for `/` and folders, the
error document with its 404, routing rules, RedirectAllRequestsTo, and S3's HTML error pages."""

from __future__ import annotations

import email.utils

from overcast.aws.context import HttpResponse
from overcast.services.s3.blobio import BlobBody
from overcast.services.s3.request_ids import request_id_headers


def _html_error(status: int, title: str, code: str, message: str, ctx, extra: dict | None = None,
                error_document: str | None = None) -> HttpResponse:
    """S3's HTML error page; `error_document`: the custom error document's key, which was missing
    too (S3 adds a section saying so)."""
    ids = request_id_headers(ctx)
    items = [f"<li>Code: {code}</li>", f"<li>Message: {message}</li>"]
    for name, value in (extra or {}).items():
        items.append(f"<li>{name}: {_escape(value)}</li>")
    items += [f"<li>RequestId: {ids[0][1]}</li>", f"<li>HostId: {ids[1][1]}</li>"]
    body = (f"<html>\n<head><title>{status} {title}</title></head>\n<body>\n<h1>{status} {title}</h1>\n<ul>\n"
            + "\n".join(items) + "\n</ul>\n")
    if error_document is not None:
        body += ("<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n<ul>\n"
                 "<li>Code: NoSuchKey</li>\n<li>Message: The specified key does not exist.</li>\n"
                 f"<li>Key: {_escape(error_document)}</li>\n</ul>\n")
    body += "<hr/>\n</body>\n</html>\n"
    return HttpResponse(status, ids + [("Content-Type", "text/html; charset=utf-8")], body.encode())


def _escape(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _redirect(status: int, location: str, ctx) -> HttpResponse:
    return HttpResponse(status, request_id_headers(ctx) + [("Location", location), ("Content-Length", "0")], b"")


def _rule_redirect(rule: dict, key: str, request) -> HttpResponse | None:
    redirect = rule.get("Redirect") or {}
    condition = rule.get("Condition") or {}
    prefix = condition.get("KeyPrefixEquals")
    new_key = key
    if redirect.get("ReplaceKeyWith") is not None:
        new_key = redirect["ReplaceKeyWith"]
    elif redirect.get("ReplaceKeyPrefixWith") is not None:
        new_key = redirect["ReplaceKeyPrefixWith"] + key[len(prefix or ""):]
    protocol = redirect.get("Protocol") or request.scheme
    host = redirect.get("HostName") or request.host
    code = int(redirect.get("HttpRedirectCode") or 301)
    return HttpResponse(code, [("Location", f"{protocol}://{host}/{new_key}"), ("Content-Length", "0")], b"")


def _rule_matches(rule: dict, key: str, error_code: int | None) -> bool:
    condition = rule.get("Condition") or {}
    prefix = condition.get("KeyPrefixEquals")
    code = condition.get("HttpErrorCodeReturnedEquals")
    if prefix is not None and not key.startswith(prefix):
        return False
    if code is not None and (error_code is None or str(error_code) != str(code)):
        return False
    if code is None and error_code is not None:
        return False
    return prefix is not None or code is not None


def _serve(provider, obj, status: int, ctx, head: bool) -> HttpResponse:
    from overcast.services.s3.provider import _http_date

    meta = obj.meta
    headers = request_id_headers(ctx) + [
        ("Content-Type", meta.get("ContentType", "binary/octet-stream")),
        ("Content-Length", str(obj.size)),
        ("ETag", obj.etag),
        ("Last-Modified", _http_date(obj.modified)),
    ]
    for name, header in (("ContentEncoding", "Content-Encoding"), ("CacheControl", "Cache-Control"),
                         ("ContentDisposition", "Content-Disposition"), ("ContentLanguage", "Content-Language")):
        if meta.get(name):
            headers.append((header, meta[name]))
    for name, value in (meta.get("Metadata") or {}).items():
        headers.append((f"x-amz-meta-{name}", value))
    response = HttpResponse(status, headers, b"")
    if not head and obj.size:
        if obj.blob:
            response.stream = BlobBody(provider.blobs, obj.blob, 0, obj.size)
        else:
            response.body = provider.store.data(obj)
    return response


def _not_modified(obj, headers: dict) -> int | None:
    """304 for If-None-Match naming the object's ETag (or If-Modified-Since not before it), 412 for
    If-Match not naming it: the website endpoint honours conditional GETs as the REST one does."""
    from overcast.services.s3.provider import _etag_matches

    if headers.get("if-match") is not None and not _etag_matches(obj.etag, headers["if-match"]):
        return 412
    if headers.get("if-none-match") is not None:
        return 304 if _etag_matches(obj.etag, headers["if-none-match"]) else None
    since = headers.get("if-modified-since")
    if since is not None:
        try:
            if int(obj.modified) <= email.utils.parsedate_to_datetime(since).timestamp():
                return 304
        except (TypeError, ValueError):
            return None
    return None


async def serve_website(provider, request, ctx, bucket_name: str | None, key: str | None) -> HttpResponse:
    head = request.method == "HEAD"
    if request.method not in ("GET", "HEAD"):
        return _html_error(405, "Method Not Allowed", "MethodNotAllowed",
                           "The specified method is not allowed against this resource.", ctx,
                           {"Method": request.method, "ResourceType": "OBJECT"})
    if request.stream is not None:
        await request.stream.drain()
    bucket = provider.store.bucket(bucket_name) if bucket_name else None
    if bucket is None:
        return _html_error(404, "Not Found", "NoSuchBucket", "The specified bucket does not exist", ctx,
                           {"BucketName": bucket_name or ""})
    config = (bucket.config.get("website") or {}).get("WebsiteConfiguration")
    if not config:
        return _html_error(404, "Not Found", "NoSuchWebsiteConfiguration",
                           "The specified bucket does not have a website configuration", ctx,
                           {"BucketName": bucket.name})
    key = key or ""
    everything = config.get("RedirectAllRequestsTo")
    if everything:
        protocol = everything.get("Protocol") or request.scheme
        return _redirect(301, f"{protocol}://{everything['HostName']}/{key}", ctx)
    rules = config.get("RoutingRules") or []
    for rule in rules:
        if _rule_matches(rule, key, None):
            return _rule_redirect(rule, key, request)
    suffix = (config.get("IndexDocument") or {}).get("Suffix") or "index.html"
    lookup = key + suffix if key == "" or key.endswith("/") else key
    obj = provider.store.latest(bucket.name, lookup)
    if obj is not None and not obj.delete_marker:
        redirect = obj.meta.get("WebsiteRedirectLocation")
        if redirect:
            return _redirect(301, redirect, ctx)
        unchanged = _not_modified(obj, request.headers)
        if unchanged is not None:
            return HttpResponse(unchanged, request_id_headers(ctx) + [("ETag", obj.etag)], b"")
        return _serve(provider, obj, 200, ctx, head)
    if not key.endswith("/") and key:
        folder = provider.store.latest(bucket.name, f"{key}/{suffix}")
        if folder is not None and not folder.delete_marker:
            return _redirect(302, f"/{key}/", ctx)
    for rule in rules:
        if _rule_matches(rule, key, 404):
            return _rule_redirect(rule, key, request)
    error_key = (config.get("ErrorDocument") or {}).get("Key")
    if error_key:
        doc = provider.store.latest(bucket.name, error_key)
        if doc is not None and not doc.delete_marker:
            if doc.meta.get("WebsiteRedirectLocation"):  # the error document redirects too (the 404 is lost)
                return _redirect(301, doc.meta["WebsiteRedirectLocation"], ctx)
            return _serve(provider, doc, 404, ctx, head)
    response = _html_error(404, "Not Found", "NoSuchKey", "The specified key does not exist.", ctx, {"Key": lookup},
                           error_document=error_key)
    if head:
        response.body = b""
    return response
