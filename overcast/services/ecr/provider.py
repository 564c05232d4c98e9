"""Amazon ECR (awsJson 1.1), the control plane: repositories with tag mutability, scanning and
encryption settings, lifecycle and repository policies, tags, the registry and authorization
tokens — what CDK's bootstrap stack and CloudFormation create. overcast runs no container
registry: the image push and pull operations answer NotImplemented, and no registry listens at
the repositoryUri."""

from __future__ import annotations

import base64
import secrets
import time

import orjson

from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError, not_implemented
from overcast.services.base import Provider
from overcast.services.ecr.store import EcrStore

MAX_TAGS = 50
TOKEN_HOURS = 12
ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")
WITH_EXCLUSION = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
TAG_STATUS = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
NO_REGISTRY = "Pushing and pulling container images (overcast runs no ECR registry)"

# indexes into a store row
NAME, CREATED, MUTABILITY, EXCLUSIONS, SCAN, ENCRYPTION, TAGS, LIFECYCLE, POLICY = range(9)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _lifecycle_invalid(reason: str) -> AwsError:
    return _invalid("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy "
                    f"validation failure: {reason}'")


def check_lifecycle_policy(text: str) -> None:
    """ECR's lifecycle policy rules: unique positive priorities, a selection per rule (tagStatus,
    tag prefixes or patterns for tagged images, a count type with its unit and number), action
    expire, and a tagStatus "any" rule only as the lowest priority."""
    try:
        policy = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _lifecycle_invalid("the policy is not valid JSON") from None
    rules = policy.get("rules") if isinstance(policy, dict) else None
    if not isinstance(rules, list) or not rules:
        raise _lifecycle_invalid('object has missing required properties (["rules"])')
    priorities = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise _lifecycle_invalid("each rule must be an object")
        missing = [k for k in ("rulePriority", "selection", "action") if k not in rule]
        if missing:
            raise _lifecycle_invalid(f"object has missing required properties ({orjson.dumps(missing).decode()})")
        priority = rule["rulePriority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
            raise _lifecycle_invalid("rulePriority must be an integer of at least 1")
        if priority in priorities:
            raise _lifecycle_invalid(f"rulePriority {priority} is used by more than one rule")
        priorities.append(priority)
        _check_selection(rule["selection"])
        action = rule["action"]
        if not isinstance(action, dict) or action.get("type") not in ("expire", "transition"):
            raise _lifecycle_invalid('action.type must be "expire" or "transition"')
    for rule in rules:
        if rule["selection"]["tagStatus"] == "any" and rule["rulePriority"] != max(priorities):
            raise _lifecycle_invalid('a rule with tagStatus "any" must have the highest rulePriority')


def _check_selection(selection) -> None:
    if not isinstance(selection, dict):
        raise _lifecycle_invalid("selection must be an object")
    missing = [k for k in ("tagStatus", "countType", "countNumber") if k not in selection]
    if missing:
        raise _lifecycle_invalid(f"object has missing required properties ({orjson.dumps(missing).decode()})")
    status = selection["tagStatus"]
    if status not in TAG_STATUS:
        raise _lifecycle_invalid(f'tagStatus "{status}" is not one of {list(TAG_STATUS)}')
    prefixes, patterns = selection.get("tagPrefixList"), selection.get("tagPatternList")
    if status == "tagged":
        if not prefixes and not patterns:
            raise _lifecycle_invalid('tagPrefixList or tagPatternList is required when tagStatus is "tagged"')
        if prefixes and patterns:
            raise _lifecycle_invalid("tagPrefixList and tagPatternList cannot both be used in one rule")
    elif prefixes or patterns:
        raise _lifecycle_invalid('tagPrefixList and tagPatternList are only allowed when tagStatus is "tagged"')
    count_type = selection["countType"]
    if count_type not in COUNT_TYPES:
        raise _lifecycle_invalid(f'countType "{count_type}" is not one of {list(COUNT_TYPES)}')
    unit = selection.get("countUnit")
    if count_type == "imageCountMoreThan" and unit is not None:
        raise _lifecycle_invalid('countUnit is not allowed when countType is "imageCountMoreThan"')
    if count_type != "imageCountMoreThan" and unit != "days":
        raise _lifecycle_invalid(f'countUnit "days" is required when countType is "{count_type}"')
    number = selection["countNumber"]
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise _lifecycle_invalid("countNumber must be an integer of at least 1")


class EcrProvider(Provider):
    service = "ecr"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = EcrStore(self.db)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _registry(ctx, params) -> str:
        registry = params.get("registryId") or ctx.account
        if registry != ctx.account:
            raise _invalid(f"Invalid parameter at 'registryId' failed to satisfy constraint: 'overcast answers for "
                           f"the caller's own registry {ctx.account} only'")
        return registry

    def _repository(self, ctx, params, name: str | None = None):
        registry = self._registry(ctx, params)
        name = name or params["repositoryName"]
        row = self.store.get(ctx.account, ctx.region, name)
        if row is None:
            raise AwsError("RepositoryNotFoundException", f"The repository with name '{name}' does not exist in the "
                           f"registry with id '{registry}'")
        return row

    @staticmethod
    def _uri(ctx, name: str) -> str:
        return f"{ctx.account}.dkr.ecr.{ctx.region}.amazonaws.com/{name}"

    @staticmethod
    def _arn(ctx, name: str) -> str:
        return f"arn:aws:ecr:{ctx.region}:{ctx.account}:repository/{name}"

    def _out(self, ctx, row) -> dict:
        out = {"repositoryArn": self._arn(ctx, row[NAME]), "registryId": ctx.account, "repositoryName": row[NAME],
               "repositoryUri": self._uri(ctx, row[NAME]), "createdAt": row[CREATED],
               "imageTagMutability": row[MUTABILITY], "imageScanningConfiguration": {"scanOnPush": bool(row[SCAN])},
               "encryptionConfiguration": orjson.loads(row[ENCRYPTION])}
        if row[EXCLUSIONS]:
            out["imageTagMutabilityExclusionFilters"] = orjson.loads(row[EXCLUSIONS])
        return out

    @staticmethod
    def _mutability(params) -> tuple[str, str | None]:
        mutability = params.get("imageTagMutability") or "MUTABLE"
        filters = params.get("imageTagMutabilityExclusionFilters")
        if mutability in WITH_EXCLUSION and not filters:
            raise _invalid(f"imageTagMutabilityExclusionFilters are required when imageTagMutability is {mutability}.")
        if mutability not in WITH_EXCLUSION and filters:
            raise _invalid("imageTagMutabilityExclusionFilters can only be used with IMMUTABLE_WITH_EXCLUSION or "
                           "MUTABLE_WITH_EXCLUSION.")
        return mutability, orjson.dumps(filters).decode() if filters else None

    @staticmethod
    def _check_tags(ctx, tags: list) -> None:
        if len([t for t in tags if not reserved_tags.is_reserved(str(t.get("Key", "")))]) > MAX_TAGS:
            raise AwsError("TooManyTagsException", f"A repository can have at most {MAX_TAGS} tags.")
        for tag in tags:
            key = tag.get("Key") or ""
            if not key or reserved_tags.refused(ctx, [key]):
                raise AwsError("InvalidTagParameterException", "Invalid tag key: a key must be given and must not "
                               "begin with aws:.")

    # -- repositories --------------------------------------------------------------------------

    def create_repository(self, ctx, params):
        registry = self._registry(ctx, params)
        name = params["repositoryName"]
        mutability, exclusions = self._mutability(params)
        encryption = params.get("encryptionConfiguration") or {"encryptionType": "AES256"}
        kind = encryption.get("encryptionType")
        if kind not in ENCRYPTION_TYPES:
            raise _invalid(f"Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must "
                           f"satisfy enum value set: {list(ENCRYPTION_TYPES)}'")
        if kind == "AES256" and encryption.get("kmsKey"):
            raise _invalid("Invalid parameter: kmsKey can only be specified when encryptionType is KMS or KMS_DSSE.")
        if kind != "AES256" and not encryption.get("kmsKey"):
            encryption = {**encryption, "kmsKey": f"arn:aws:kms:{ctx.region}:{ctx.account}:alias/aws/ecr"}
        tags = params.get("tags") or []
        self._check_tags(ctx, tags)
        scan = bool((params.get("imageScanningConfiguration") or {}).get("scanOnPush"))
        if not self.store.create(ctx.account, ctx.region, name, time.time(), mutability, exclusions, scan,
                                 orjson.dumps(encryption).decode(), orjson.dumps(tags).decode()):
            raise AwsError("RepositoryAlreadyExistsException", f"The repository with name '{name}' already exists in "
                           f"the registry with id '{registry}'")
        return {"repository": self._out(ctx, self.store.get(ctx.account, ctx.region, name))}

    def describe_repositories(self, ctx, params):
        self._registry(ctx, params)
        names = params.get("repositoryNames")
        if names:
            if params.get("nextToken") or params.get("maxResults"):
                raise _invalid("maxResults and nextToken cannot be used with repositoryNames.")
            return {"repositories": [self._out(ctx, self._repository(ctx, params, n)) for n in names]}
        limit = params.get("maxResults") or 100
        after = ""
        if params.get("nextToken"):
            try:
                after = base64.urlsafe_b64decode(params["nextToken"].encode()).decode()
            except Exception:
                raise _invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'the token is not "
                               "valid'") from None
        rows = self.store.page(ctx.account, ctx.region, after, limit + 1)
        out = {"repositories": [self._out(ctx, r) for r in rows[:limit]]}
        if len(rows) > limit:
            out["nextToken"] = base64.urlsafe_b64encode(rows[limit - 1][NAME].encode()).decode()
        return out

    def delete_repository(self, ctx, params):
        row = self._repository(ctx, params)
        # overcast's repositories never hold images (no registry), so `force` is never needed and
        # RepositoryNotEmptyException cannot happen.
        self.store.delete(ctx.account, ctx.region, row[NAME])
        return {"repository": self._out(ctx, row)}

    def put_image_scanning_configuration(self, ctx, params):
        row = self._repository(ctx, params)
        scan = bool((params.get("imageScanningConfiguration") or {}).get("scanOnPush"))
        self.store.update(ctx.account, ctx.region, row[NAME], scan_on_push=int(scan))
        return {"registryId": ctx.account, "repositoryName": row[NAME],
                "imageScanningConfiguration": {"scanOnPush": scan}}

    def put_image_tag_mutability(self, ctx, params):
        row = self._repository(ctx, params)
        mutability, exclusions = self._mutability(params)
        self.store.update(ctx.account, ctx.region, row[NAME], mutability=mutability, exclusions=exclusions)
        out = {"registryId": ctx.account, "repositoryName": row[NAME], "imageTagMutability": mutability}
        if exclusions:
            out["imageTagMutabilityExclusionFilters"] = orjson.loads(exclusions)
        return out

    # -- policies ------------------------------------------------------------------------------

    def put_lifecycle_policy(self, ctx, params):
        row = self._repository(ctx, params)
        check_lifecycle_policy(params["lifecyclePolicyText"])
        self.store.update(ctx.account, ctx.region, row[NAME], lifecycle_policy=params["lifecyclePolicyText"])
        return {"registryId": ctx.account, "repositoryName": row[NAME],
                "lifecyclePolicyText": params["lifecyclePolicyText"]}

    def _lifecycle(self, ctx, params) -> tuple[str, str]:
        row = self._repository(ctx, params)
        if row[LIFECYCLE] is None:
            raise AwsError("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository "
                           f"with name '{row[NAME]}' in the registry with id '{ctx.account}'")
        return row[NAME], row[LIFECYCLE]

    def get_lifecycle_policy(self, ctx, params):
        name, text = self._lifecycle(ctx, params)
        return {"registryId": ctx.account, "repositoryName": name, "lifecyclePolicyText": text}

    def delete_lifecycle_policy(self, ctx, params):
        name, text = self._lifecycle(ctx, params)
        self.store.update(ctx.account, ctx.region, name, lifecycle_policy=None)
        return {"registryId": ctx.account, "repositoryName": name, "lifecyclePolicyText": text}

    def set_repository_policy(self, ctx, params):
        row = self._repository(ctx, params)
        text = params["policyText"]
        try:
            policy = orjson.loads(text)
        except orjson.JSONDecodeError:
            policy = None
        statements = policy.get("Statement") if isinstance(policy, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        if not statements or not all(isinstance(s, dict) and s.get("Effect") in ("Allow", "Deny")
                                     and ("Action" in s or "NotAction" in s)
                                     and ("Principal" in s or "NotPrincipal" in s) for s in statements):
            raise _invalid("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository "
                           "policy provided'")
        self.store.update(ctx.account, ctx.region, row[NAME], repository_policy=text)
        return {"registryId": ctx.account, "repositoryName": row[NAME], "policyText": text}

    def _policy(self, ctx, params) -> tuple[str, str]:
        row = self._repository(ctx, params)
        if row[POLICY] is None:
            raise AwsError("RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository "
                           f"with name '{row[NAME]}' in the registry with id '{ctx.account}'")
        return row[NAME], row[POLICY]

    def get_repository_policy(self, ctx, params):
        name, text = self._policy(ctx, params)
        return {"registryId": ctx.account, "repositoryName": name, "policyText": text}

    def delete_repository_policy(self, ctx, params):
        name, text = self._policy(ctx, params)
        self.store.update(ctx.account, ctx.region, name, repository_policy=None)
        return {"registryId": ctx.account, "repositoryName": name, "policyText": text}

    # -- tags ----------------------------------------------------------------------------------

    def _by_arn(self, ctx, arn: str):
        prefix = f"arn:aws:ecr:{ctx.region}:{ctx.account}:repository/"
        if not arn.startswith(prefix):
            raise _invalid(f"Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN: {arn}'")
        return self._repository(ctx, {}, arn[len(prefix):])

    def tag_resource(self, ctx, params):
        row = self._by_arn(ctx, params["resourceArn"])
        tags = {t["Key"]: t for t in orjson.loads(row[TAGS])}
        self._check_tags(ctx, params["tags"])
        tags.update({t["Key"]: {"Key": t["Key"], "Value": t.get("Value", "")} for t in params["tags"]})
        self._check_tags(ctx, list(tags.values()))
        self.store.update(ctx.account, ctx.region, row[NAME], tags=orjson.dumps(list(tags.values())).decode())
        return {}

    def untag_resource(self, ctx, params):
        row = self._by_arn(ctx, params["resourceArn"])
        drop = set(params["tagKeys"])
        tags = [t for t in orjson.loads(row[TAGS]) if t["Key"] not in drop]
        self.store.update(ctx.account, ctx.region, row[NAME], tags=orjson.dumps(tags).decode())
        return {}

    def list_tags_for_resource(self, ctx, params):
        return {"tags": orjson.loads(self._by_arn(ctx, params["resourceArn"])[TAGS])}

    # -- registry ------------------------------------------------------------------------------

    def describe_registry(self, ctx, params):
        return {"registryId": ctx.account, "replicationConfiguration": {"rules": []}}

    def get_authorization_token(self, ctx, params):
        registries = params.get("registryIds") or [ctx.account]
        expires = time.time() + TOKEN_HOURS * 3600
        return {"authorizationData": [{
            "authorizationToken": base64.b64encode(f"AWS:{secrets.token_urlsafe(48)}".encode()).decode(),
            "expiresAt": expires, "proxyEndpoint": f"https://{registry}.dkr.ecr.{ctx.region}.amazonaws.com"}
            for registry in registries]}

    # -- images: none can exist, since overcast runs no registry -------------------------------

    def list_images(self, ctx, params):
        self._repository(ctx, params)
        return {"imageIds": []}

    def describe_images(self, ctx, params):
        row = self._repository(ctx, params)
        if params.get("imageIds"):
            image = params["imageIds"][0]
            ident = f"{{imageDigest:'{image.get('imageDigest', 'null')}', imageTag:'{image.get('imageTag', 'null')}'}}"
            raise AwsError("ImageNotFoundException", f"The image with imageId {ident} does not exist within the "
                           f"repository with name '{row[NAME]}' in the registry with id '{ctx.account}'")
        return {"imageDetails": []}

    def batch_get_image(self, ctx, params):
        self._repository(ctx, params)
        return {"images": [], "failures": [{"imageId": image, "failureCode": "ImageNotFound",
                                            "failureReason": "Requested image not found"}
                                           for image in params.get("imageIds") or []]}

    def batch_delete_image(self, ctx, params):
        self._repository(ctx, params)
        return {"imageIds": [], "failures": [{"imageId": image, "failureCode": "ImageNotFound",
                                              "failureReason": "Requested image not found"}
                                             for image in params.get("imageIds") or []]}

    def _no_registry(self, ctx, params):
        raise not_implemented(NO_REGISTRY)

    initiate_layer_upload = upload_layer_part = complete_layer_upload = put_image = _no_registry
    get_download_url_for_layer = batch_check_layer_availability = _no_registry
