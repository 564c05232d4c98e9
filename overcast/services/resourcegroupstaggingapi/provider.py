"""The Resource Groups Tagging API: one view of the tags of every service's resources.

Nothing is kept here. Reads ask each service below for its tagged resources in the caller's
account and region (`tagged_resources(ctx)`, answered from the service's own store); writes go
through the service's own tagging operation (`_WRITERS`), so each service's limits, reserved
`aws:` keys and errors apply exactly as they do to its own TagResource, and a resource that does
not exist fails as it does there. A service not listed is not seen by this API (docs page).
"""

from __future__ import annotations

import base64
import inspect

from overcast.aws.errors import AwsError
from overcast.engine.targets import internal_ctx
from overcast.services.base import Provider


def _tag_list(tags: dict) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _queue_url(arn: str) -> str:
    _, _, _, _, account, name = arn.split(":", 5)
    return f"http://localhost/{account}/{name}"


def _parameter(arn: str) -> str:
    # arn:...:parameter/a/b names /a/b (a name with slashes starts with one), parameter/a names a
    name = arn.split(":parameter/", 1)[-1]
    return "/" + name if "/" in name else name


def _ssm_resource(arn: str) -> dict:
    """SSM's tag operations name a resource by type and id: a parameter, or a maintenance window
    (arn:...:maintenancewindow/mw-...)."""
    if ":maintenancewindow/" in arn:
        return {"ResourceType": "MaintenanceWindow", "ResourceId": arn.split(":maintenancewindow/", 1)[1]}
    return {"ResourceType": "Parameter", "ResourceId": _parameter(arn)}


# service -> ((tag operation, params for (arn, tags)), (untag operation, params for (arn, keys))):
# each service's own operation, called as its API would call it; or a function (provider, ctx,
# arn, tags or keys) where the service's operation is not a merge.
_WRITERS = {
    "dynamodb": (("tag_resource", lambda a, t: {"ResourceArn": a, "Tags": _tag_list(t)}),
                 ("untag_resource", lambda a, k: {"ResourceArn": a, "TagKeys": k})),
    "events": (("tag_resource", lambda a, t: {"ResourceARN": a, "Tags": _tag_list(t)}),
               ("untag_resource", lambda a, k: {"ResourceARN": a, "TagKeys": k})),
    "glue": (("tag_resource", lambda a, t: {"ResourceArn": a, "TagsToAdd": t}),
             ("untag_resource", lambda a, k: {"ResourceArn": a, "TagsToRemove": k})),
    "kinesis": (("tag_resource", lambda a, t: {"ResourceARN": a, "Tags": t}),
                ("untag_resource", lambda a, k: {"ResourceARN": a, "TagKeys": k})),
    "lambda": (("tag_resource", lambda a, t: {"Resource": a, "Tags": t}),
               ("untag_resource", lambda a, k: {"Resource": a, "TagKeys": k})),
    "logs": (("tag_resource", lambda a, t: {"resourceArn": a, "tags": t}),
             ("untag_resource", lambda a, k: {"resourceArn": a, "tagKeys": k})),
    # S3's PutBucketTagging replaces the whole set: the provider merges (change_bucket_tags)
    "s3": ((lambda p, ctx, a, t: p.change_bucket_tags(ctx, a.split(":::", 1)[-1], t, [])),
           (lambda p, ctx, a, k: p.change_bucket_tags(ctx, a.split(":::", 1)[-1], {}, k))),
    "secretsmanager": (("tag_resource", lambda a, t: {"SecretId": a, "Tags": _tag_list(t)}),
                       ("untag_resource", lambda a, k: {"SecretId": a, "TagKeys": k})),
    "sns": (("tag_resource", lambda a, t: {"ResourceArn": a, "Tags": _tag_list(t)}),
            ("untag_resource", lambda a, k: {"ResourceArn": a, "TagKeys": k})),
    "sqs": (("tag_queue", lambda a, t: {"QueueUrl": _queue_url(a), "Tags": t}),
            ("untag_queue", lambda a, k: {"QueueUrl": _queue_url(a), "TagKeys": k})),
    "states": (("tag_resource", lambda a, t: {"resourceArn": a, "tags": [{"key": k, "value": v} for k, v in t.items()]}),
               ("untag_resource", lambda a, k: {"resourceArn": a, "tagKeys": k})),
    "ssm": (("add_tags_to_resource", lambda a, t: {**_ssm_resource(a), "Tags": _tag_list(t)}),
            ("remove_tags_from_resource", lambda a, k: {**_ssm_resource(a), "TagKeys": k})),
}
# The provider of an ARN's service, where overcast's (botocore's) name differs from the ARN's.
_PROVIDERS = {"states": "stepfunctions"}


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _resource_type(arn: str) -> tuple[str, str]:
    """(service, resource type) an ARN names: arn:aws:glue:r:a:database/x is ("glue", "database");
    an ARN without a type (an SQS queue, an SNS topic) has "" for it, but an S3 bucket's is "bucket"."""
    parts = arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    cut = min((i for i in (resource.find("/"), resource.find(":")) if i >= 0), default=-1)
    service = parts[2] if len(parts) > 2 else ""
    if service == "s3" and cut < 0:  # arn:aws:s3:::name is a bucket ("s3:bucket")
        return service, "bucket"
    return service, resource[:cut] if cut >= 0 else ""


def _page(items: list, params: dict, size: int, weight=None, budget: int | None = None) -> tuple[list, str]:
    """A page of at most `size` items from where PaginationToken points; with `budget`, the page
    also ends before the item that would take the sum of `weight`s over it (never before its
    first item). The token is "" on the last page, as AWS answers."""
    token = params.get("PaginationToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise _invalid("The PaginationToken is invalid.") from None
    end, spent = start, 0
    while end < len(items) and end - start < size:
        if budget is not None:
            spent += weight(items[end])
            if spent > budget and end > start:
                break
        end += 1
    return items[start:end], (base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else "")


class ResourceGroupsTaggingApiProvider(Provider):
    service = "resourcegroupstaggingapi"

    async def _tagged(self, ctx, services=None) -> list[tuple[str, dict]]:
        """(ARN, tags) of every tagged resource of the caller's account and region, by ARN."""
        found = []
        used = self.db.versions()  # a service whose tables were never made has nothing tagged
        for service in sorted(services or _WRITERS):
            name = _PROVIDERS.get(service, service)
            if name not in used:  # (and is not started, pollers and all, for a read of tags)
                continue
            found.extend((await self.providers.get(name)).tagged_resources(internal_ctx(name, ctx.account, ctx.region)))
        return sorted(found)

    async def get_resources(self, ctx, params):
        arns = params.get("ResourceARNList")
        type_filters = params.get("ResourceTypeFilters") or []
        tag_filters = params.get("TagFilters") or []
        if arns and (type_filters or tag_filters):
            raise _invalid("ResourceARNList can't be used together with TagFilters or ResourceTypeFilters.")
        if params.get("IncludeComplianceDetails") or params.get("ExcludeCompliantResources"):
            raise _invalid("Tag policies are not supported: IncludeComplianceDetails and "
                           "ExcludeCompliantResources cannot be used.")
        per_page = params.get("ResourcesPerPage", 50)
        if not 1 <= per_page <= 100:
            raise _invalid("ResourcesPerPage must be between 1 and 100.")
        tags_per_page = params.get("TagsPerPage")
        if tags_per_page is not None and not 100 <= tags_per_page <= 500:
            raise _invalid("TagsPerPage must be between 100 and 500.")
        wanted = [(t.split(":", 1)[0], t.split(":", 1)[1] if ":" in t else None) for t in type_filters]
        services = {w[0] for w in wanted} & set(_WRITERS) if wanted else None
        if services is not None and not services:
            return {"ResourceTagMappingList": []}
        resources = await self._tagged(ctx, services)
        if arns is not None:
            chosen = set(arns)
            resources = [r for r in resources if r[0] in chosen]
        if wanted:
            resources = [r for r in resources if any(
                s == _resource_type(r[0])[0] and (kind is None or kind == _resource_type(r[0])[1])
                for s, kind in wanted)]
        for f in tag_filters:
            key, values = f.get("Key"), f.get("Values") or []
            resources = [r for r in resources if key in r[1] and (not values or r[1][key] in values)]
        # TagsPerPage counts a page's tags (a resource is never split across pages)
        page, token = _page(resources, params, per_page, lambda r: max(len(r[1]), 1), tags_per_page)
        return {"ResourceTagMappingList": [{"ResourceARN": arn, "Tags": _tag_list(tags)} for arn, tags in page],
                "PaginationToken": token}

    async def get_tag_keys(self, ctx, params):
        keys = sorted({k for _, tags in await self._tagged(ctx) for k in tags})
        page, token = _page(keys, params, 1000)
        return {"TagKeys": page, "PaginationToken": token}

    async def get_tag_values(self, ctx, params):
        key = params["Key"]
        values = sorted({tags[key] for _, tags in await self._tagged(ctx) if key in tags})
        page, token = _page(values, params, 1000)
        return {"TagValues": page, "PaginationToken": token}

    async def _write(self, ctx, arns: list[str], which: int, value) -> dict:
        failed = {}
        for arn in arns:
            parts = arn.split(":", 5)
            service = parts[2] if len(parts) == 6 and parts[0] == "arn" else ""
            if service not in _WRITERS:
                failed[arn] = {"StatusCode": 400, "ErrorCode": "InvalidParameterException",
                               "ErrorMessage": f"{arn} is not a valid ARN of a resource overcast can tag"}
                continue
            if service != "s3" and (parts[3] != ctx.region or parts[4] != ctx.account):  # S3's ARNs name neither
                failed[arn] = {"StatusCode": 400, "ErrorCode": "InvalidParameterException",
                               "ErrorMessage": f"{arn} is not a resource of this account in {ctx.region}"}
                continue
            writer = _WRITERS[service][which]
            name = _PROVIDERS.get(service, service)
            provider = await self.providers.get(name)
            try:
                if callable(writer):
                    result = writer(provider, internal_ctx(name, ctx.account, ctx.region), arn, value)
                else:
                    operation, build = writer
                    result = getattr(provider, operation)(internal_ctx(name, ctx.account, ctx.region, operation),
                                                          build(arn, value))
                if inspect.isawaitable(result):
                    await result
            except AwsError as e:
                failed[arn] = {"StatusCode": e.status, "ErrorCode": e.code, "ErrorMessage": e.message}
        return {"FailedResourcesMap": failed}

    async def tag_resources(self, ctx, params):
        if not params["Tags"]:
            raise _invalid("Tags must contain at least one tag.")
        return await self._write(ctx, params["ResourceARNList"], 0, params["Tags"])

    async def untag_resources(self, ctx, params):
        return await self._write(ctx, params["ResourceARNList"], 1, params["TagKeys"])
