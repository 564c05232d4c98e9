"""Secrets Manager (awsJson 1.1): secrets with versions and staging labels (AWSCURRENT,
AWSPREVIOUS, AWSPENDING), values sealed at rest (storage/sealing.py), deletion with a recovery
window on a durable timer, resource policies, random passwords, and rotation that invokes the
rotation Lambda through its four steps."""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import string
import time
import uuid

import orjson

from overcast.aws import policy as iam_policy
from overcast.aws.errors import AwsError
from overcast.engine import schedules
from overcast.engine.timers import Timers
from overcast.services import SERVICES
from overcast.services.base import Provider
from overcast.services.secretsmanager.store import SecretsStore
from overcast.storage.sealing import sealer

log = logging.getLogger("overcast.secretsmanager")

# One day in seconds for recovery windows and AutomaticallyAfterDays. Tests shorten it to see a
# deletion or a scheduled rotation happen; nothing else should set it.
DAY = float(os.environ.get("OVERCAST_SECRETSMANAGER_DAY_SECONDS", "86400"))
MAX_VALUE_BYTES = 65_536
MAX_TAGS = 50
MAX_STAGES_PER_VERSION = 20
MAX_VERSIONS = 100
CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
NAME = re.compile(r"^[A-Za-z0-9/_+=.@!\-]+$")
PUNCTUATION = string.punctuation  # AWS's 32 punctuation characters
FILTER_KEYS = ("description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all")
SORT_COLUMNS = {"created-date": "created", "last-accessed-date": "accessed", "last-changed-date": "changed",
                "name": "name"}

# indexes into a store secret row
(S_NAME, S_ARN, S_DESCRIPTION, S_KMS, S_TAGS, S_POLICY, S_CREATED, S_CHANGED, S_ACCESSED, S_DELETE_AT, S_LAMBDA,
 S_RULES, S_ROTATION, S_ROTATED, S_NEXT, S_ACCOUNT, S_REGION, S_TAGS_SHOWN) = range(18)


def _not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _invalid_name() -> AwsError:
    return AwsError("ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, "
                    "or any of the following: -/_+=.@!")


def _check_secret_id(secret_id: str) -> None:
    """A SecretId that is not an ARN must be a name CreateSecret would take: AWS answers every
    operation's bad name with CreateSecret's ValidationException, before looking for the secret."""
    if not secret_id.startswith("arn:") and not NAME.match(secret_id):
        raise _invalid_name()


def _require_token(params) -> None:
    """The SDKs and the CLI fill ClientRequestToken themselves; a raw request that makes a
    version without one gets AWS's error."""
    if not params.get("ClientRequestToken"):
        raise AwsError("InvalidRequestException", "You must provide a ClientRequestToken value. We recommend a "
                       "UUID-type value.")


def _marked_for_deletion() -> AwsError:
    return AwsError("InvalidRequestException",
                    "You can't perform this operation on the secret because it was marked for deletion.")


def _token(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _untoken(text: str):
    try:
        return orjson.loads(base64.urlsafe_b64decode(text.encode()))
    except Exception:
        raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.") from None


def _day(when: float) -> float:
    """AWS keeps LastAccessedDate to the day."""
    return when - when % 86400


def _words(text: str) -> list[str]:
    """Secrets Manager's search words: split at case changes, letter/digit changes and punctuation."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", text)]


class SecretsManagerProvider(Provider):
    service = "secretsmanager"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = SecretsStore(self.db)
        self.sealer = sealer(self.config, self.db)
        self._timers = Timers(providers.coordination.gate("secretsmanager"))  # ("delete" | "rotate", account, region, name)
        self._rotating: set[tuple[str, str, str]] = set()

    async def start(self) -> None:
        for account, region, name, delete_at, next_rotation in self.store.timed():
            self._arm(account, region, name, delete_at, next_rotation)

    async def stop(self) -> None:
        self._timers.cancel_all(tasks=True)

    def reset(self) -> None:
        self._timers.cancel_all()
        self._rotating.clear()

    def _arm(self, account, region, name, delete_at, next_rotation) -> None:
        key = (account, region, name)
        if delete_at is not None:
            self._timers.at(("delete", *key), delete_at, lambda: self._delete_when_due(*key))
        else:
            self._timers.cancel(("delete", *key))
        if next_rotation is not None and delete_at is None:
            self._timers.at(("rotate", *key), next_rotation, lambda: self._scheduled_rotation(*key))
        else:
            self._timers.cancel(("rotate", *key))

    async def _delete_when_due(self, account, region, name) -> None:
        row = self.store.by_name(account, region, name)
        if row is not None and row[S_DELETE_AT] is not None and row[S_DELETE_AT] <= time.time() + 0.001:
            self.store.delete(account, region, name)

    # -- values and lookups --------------------------------------------------------------------

    def _context(self, row, version_id: str) -> bytes:
        return f"secretsmanager/{row[S_ARN]}/{version_id}".encode()

    def _seal(self, row, version_id: str, value: bytes) -> bytes:
        return self.sealer.seal(value, self._context(row, version_id))

    def _open(self, row, version_id: str, sealed: bytes) -> bytes:
        return self.sealer.open(sealed, self._context(row, version_id))

    def _find(self, account, region, secret_id: str):
        """A secret by name (in `account`) or by full or partial ARN (in the ARN's account)."""
        if secret_id.startswith("arn:"):
            parts = secret_id.split(":", 6)
            if len(parts) < 7 or parts[3] != region:
                return None
            owner = parts[4]
            row = self.store.by_arn(secret_id)
            if row is not None:
                return row
            return self.store.by_name(owner, region, parts[6])  # a partial ARN: without the random suffix
        return self.store.by_name(account, region, secret_id)

    def _secret(self, ctx, secret_id: str, deleted_ok: bool = False, action: str | None = None):
        _check_secret_id(secret_id)
        row = self._find(ctx.account, ctx.region, secret_id)
        if secret_id.startswith("arn:") and secret_id.split(":")[4:5] != [ctx.account]:
            # another account's secret: only what its resource policy grants this caller
            owner = secret_id.split(":")[4] if len(secret_id.split(":")) > 4 else ""
            iam_policy.check(ctx, owner, row[S_ARN] if row else secret_id, action or f"secretsmanager:{ctx.operation}",
                             row[S_POLICY] if row else None)
        if row is None:
            raise _not_found()
        if row[S_DELETE_AT] is not None and not deleted_ok:
            raise _marked_for_deletion()
        return row

    @staticmethod
    def _check_value_access(ctx, row) -> None:
        """A secret's value can leave its account only under a customer managed key: the default
        key (aws/secretsmanager) cannot be shared, whatever the secret's resource policy says."""
        if row[S_ACCOUNT] != ctx.account and row[S_KMS] in (None, "alias/aws/secretsmanager"):
            raise AwsError("InvalidRequestException", "You can't access a secret from a different AWS account if you "
                           "encrypt the secret with the default KMS service key.")

    @staticmethod
    def _value_params(params) -> tuple[bytes, bool] | None:
        """(bytes, is_binary) of SecretString / SecretBinary, or None when neither is given."""
        text, binary = params.get("SecretString"), params.get("SecretBinary")
        if text is not None and binary is not None:
            raise _invalid("You can't specify both a binary secret value and a string secret value in the same "
                           "secret.")
        if text is None and binary is None:
            return None
        value = text.encode() if text is not None else binary
        if len(value) > MAX_VALUE_BYTES:
            member = "secretString" if text is not None else "secretBinary"
            raise AwsError("ValidationException", f"1 validation error detected: Value at '{member}' failed to "
                           f"satisfy constraint: Member must have length less than or equal to {MAX_VALUE_BYTES}")
        return value, binary is not None

    def _version_stages(self, account, region, name) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for stage, version_id in sorted(self.store.stages(account, region, name).items()):
            out.setdefault(version_id, []).append(stage)
        return out

    # -- staging labels ------------------------------------------------------------------------

    def _attach(self, account, region, name, version_id: str, stages: list[str], new_value: bool = False) -> None:
        """Attach labels to a version, moving them from others; AWSCURRENT's old holder becomes
        AWSPREVIOUS, as AWS does. A new value made AWSCURRENT (`new_value`) also ends a rotation
        left on the old holder: AWS takes AWSPENDING off it."""
        held = self.store.stages(account, region, name)
        if CURRENT in stages and held.get(CURRENT) not in (None, version_id):
            self.store.set_stage(account, region, name, PREVIOUS, held[CURRENT])
            if new_value and held.get(PENDING) == held[CURRENT] and PENDING not in stages:
                self.store.remove_stage(account, region, name, PENDING)
        for stage in stages:
            self.store.set_stage(account, region, name, stage, version_id)
        self._prune(account, region, name)

    def _prune(self, account, region, name) -> None:
        """Versions without labels are deprecated; beyond 100 versions the oldest of them go."""
        versions = self.store.versions(account, region, name)
        if len(versions) <= MAX_VERSIONS:
            return
        labelled = set(self.store.stages(account, region, name).values())
        for version_id, *_ in versions:
            if len(versions) <= MAX_VERSIONS:
                break
            if version_id not in labelled:
                self.store.drop_version(account, region, name, version_id)
                versions = [v for v in versions if v[0] != version_id]

    def _new_version(self, row, token: str | None, value: tuple[bytes, bool], stages: list[str]) -> str:
        """Store a version (idempotent on ClientRequestToken with the same value) and label it."""
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        version_id = token or str(uuid.uuid4())
        existing = self.store.version(account, region, name, version_id)
        data, is_binary = value
        if existing is not None:
            sealed, _, _ = existing
            if sealed is None:  # the placeholder RotateSecret made: the rotation function fills it
                self.store.fill_version(account, region, name, version_id, self._seal(row, version_id, data), is_binary)
                self._attach(account, region, name, version_id, stages, new_value=True)
                return version_id
            if self._open(row, version_id, sealed) != data:
                raise AwsError("ResourceExistsException",
                               "You can't modify an existing version, you can only create a new version.")
            return version_id
        self.store.add_version(account, region, name, version_id, self._seal(row, version_id, data), is_binary,
                               time.time())
        self._attach(account, region, name, version_id, stages, new_value=True)
        return version_id

    # -- create, read, update ------------------------------------------------------------------

    def create_secret(self, ctx, params):
        name = params["Name"]
        if not NAME.match(name):
            raise _invalid_name()
        for unsupported in ("AddReplicaRegions", "CrossAccountPrimaryARN", "Type"):
            if params.get(unsupported):
                raise AwsError("NotImplemented", f"{unsupported} is not implemented by overcast yet.", 501,
                               sender_fault=False)
        value = self._value_params(params)
        if value is not None:
            _require_token(params)
        tags = params.get("Tags") or []
        self._check_tags(tags)
        token = params.get("ClientRequestToken")
        with self.store.transaction():
            row = self.store.by_name(ctx.account, ctx.region, name)
            if row is not None:
                if row[S_DELETE_AT] is not None:
                    raise AwsError("InvalidRequestException", "You can't create this secret because a secret with "
                                   "this name is already scheduled for deletion.")
                if token and value is not None and self.store.version(ctx.account, ctx.region, name, token):
                    self._new_version(row, token, value, [CURRENT])  # same token, same value: idempotent
                    return {"ARN": row[S_ARN], "Name": name, "VersionId": token}
                raise AwsError("ResourceExistsException", f"The operation failed because the secret {name} already "
                               "exists.")
            suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(6))
            arn = f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:{name}-{suffix}"
            self.store.create(ctx.account, ctx.region, name, arn, params.get("Description"), params.get("KmsKeyId"),
                              orjson.dumps(tags).decode(), time.time())
            out = {"ARN": arn, "Name": name}
            if value is not None:
                row = self.store.by_name(ctx.account, ctx.region, name)
                out["VersionId"] = self._new_version(row, token, value, [CURRENT])
        return out

    def _check_tags(self, tags: list) -> None:
        if len(tags) > MAX_TAGS:
            raise _invalid("Number of tags exceeds the maximum of 50 tags per secret.")
        for tag in tags:
            if not tag.get("Key"):
                raise _invalid("Tag key must not be empty.")

    def get_secret_value(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        self._check_value_access(ctx, row)
        return self._value_out(row, params.get("VersionId"), params.get("VersionStage"))

    def reference_value(self, ctx, secret_id: str, selector: str | None) -> dict:
        """GetSecretValue's answer for SSM's /aws/reference/secretsmanager/ parameters, read as the
        caller of `ctx`: `selector` is a version id or a staging label (what follows the colon)."""
        row = self._secret(ctx, secret_id, action="secretsmanager:GetSecretValue")
        self._check_value_access(ctx, row)
        version_id = stage = None
        if selector is not None:
            known = self.store.version(row[S_ACCOUNT], row[S_REGION], row[S_NAME], selector) is not None
            version_id, stage = (selector, None) if known else (None, selector)
        return self._value_out(row, version_id, stage)

    def _value_out(self, row, version_id: str | None, stage: str | None) -> dict:
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        stages = self.store.stages(account, region, name)
        if version_id is None:
            stage = stage or CURRENT
            version_id = stages.get(stage)
            if version_id is None:
                raise AwsError("ResourceNotFoundException",
                               f"Secrets Manager can't find the specified secret value for staging label: {stage}")
        elif stage is not None and stages.get(stage) != version_id:
            raise AwsError("InvalidRequestException",
                           "You provided a VersionStage that is not associated to the provided VersionId.")
        version = self.store.version(account, region, name, version_id)
        if version is None or version[0] is None:
            raise AwsError("ResourceNotFoundException",
                           f"Secrets Manager can't find the specified secret value for VersionId: {version_id}")
        sealed, is_binary, created = version
        data = self._open(row, version_id, sealed)
        today = _day(time.time())
        self.store.touch_version(account, region, name, version_id, today)
        out = {"ARN": row[S_ARN], "Name": name, "VersionId": version_id,
               "VersionStages": sorted(s for s, v in stages.items() if v == version_id), "CreatedDate": created}
        if is_binary:
            out["SecretBinary"] = data
        else:
            out["SecretString"] = data.decode()
        return out

    def batch_get_secret_value(self, ctx, params):
        ids, filters = params.get("SecretIdList"), params.get("Filters")
        if ids and filters:
            raise _invalid("Either SecretIdList or Filters must be provided, but not both.")
        if not ids and not filters:
            raise _invalid("Either SecretIdList or Filters must be provided.")
        values, errors = [], []
        if ids:
            for secret_id in ids:
                try:
                    row = self._secret(ctx, secret_id)
                    self._check_value_access(ctx, row)
                    values.append(self._value_out(row, None, None))
                except AwsError as e:
                    errors.append({"SecretId": secret_id, "ErrorCode": e.code, "Message": e.message})
            return {"SecretValues": values, "Errors": errors}
        listed = self.list_secrets(ctx, {"Filters": filters, "MaxResults": params.get("MaxResults") or 20,
                                         "NextToken": params.get("NextToken")})
        for entry in listed["SecretList"]:
            try:
                values.append(self._value_out(self._secret(ctx, entry["ARN"]), None, None))
            except AwsError as e:
                errors.append({"SecretId": entry["ARN"], "ErrorCode": e.code, "Message": e.message})
        out = {"SecretValues": values, "Errors": errors}
        if listed.get("NextToken"):
            out["NextToken"] = listed["NextToken"]
        return out

    def put_secret_value(self, ctx, params):
        _require_token(params)
        row = self._secret(ctx, params["SecretId"])
        self._check_value_access(ctx, row)
        value = self._value_params(params)
        if value is None:
            raise _invalid("You must provide either SecretString or SecretBinary.")
        stages = params.get("VersionStages") or [CURRENT]
        with self.store.transaction():
            version_id = self._new_version(row, params.get("ClientRequestToken"), value, stages)
            self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], changed=time.time())
        labels = sorted(s for s, v in self.store.stages(row[S_ACCOUNT], row[S_REGION], row[S_NAME]).items() if v == version_id)
        return {"ARN": row[S_ARN], "Name": row[S_NAME], "VersionId": version_id, "VersionStages": labels}

    def update_secret(self, ctx, params):
        value = self._value_params(params)
        if value is not None:
            _require_token(params)
        row = self._secret(ctx, params["SecretId"])
        if params.get("Type"):
            raise AwsError("NotImplemented", "Type is not implemented by overcast yet.", 501, sender_fault=False)
        if value is not None:
            self._check_value_access(ctx, row)
        out = {"ARN": row[S_ARN], "Name": row[S_NAME]}
        with self.store.transaction():
            fields = {"changed": time.time()}
            if "Description" in params:
                fields["description"] = params["Description"]
            if "KmsKeyId" in params:
                fields["kms_key_id"] = params["KmsKeyId"]
            self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], **fields)
            if value is not None:
                out["VersionId"] = self._new_version(row, params.get("ClientRequestToken"), value, [CURRENT])
        return out

    def update_secret_version_stage(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        stage = params["VersionStage"]
        move_to, remove_from = params.get("MoveToVersionId"), params.get("RemoveFromVersionId")
        with self.store.transaction():
            holder = self.store.stages(account, region, name).get(stage)
            if remove_from is not None and holder != remove_from:
                raise _invalid(f"The staging label {stage} is not currently attached to version {remove_from}.")
            if move_to is not None and holder not in (None, move_to) and remove_from is None:
                raise _invalid(f"The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently "
                               f"attached to version {holder}, so you must explicitly reference that version in "
                               "RemoveFromVersionId.")
            if move_to is None:
                if stage == CURRENT and remove_from is not None:
                    raise _invalid("You can only move staging label AWSCURRENT to a different secret version. It "
                                   "can't be completely detached.")
                if remove_from is not None:
                    self.store.remove_stage(account, region, name, stage)
            else:
                if self.store.version(account, region, name, move_to) is None:
                    raise AwsError("ResourceNotFoundException",
                                   f"Secrets Manager can't find the specified secret value for VersionId: {move_to}")
                labels = [s for s, v in self.store.stages(account, region, name).items() if v == move_to]
                if stage not in labels and len(labels) >= MAX_STAGES_PER_VERSION:
                    raise AwsError("LimitExceededException", "A version can have at most 20 staging labels.")
                self._attach(account, region, name, move_to, [stage])
            self.store.update(account, region, name, changed=time.time())
        return {"ARN": row[S_ARN], "Name": name}

    def describe_secret(self, ctx, params):
        row = self._secret(ctx, params["SecretId"], deleted_ok=True)
        return self._describe(row, versions_key="VersionIdsToStages")

    def _describe(self, row, versions_key: str) -> dict:
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        out = {"ARN": row[S_ARN], "Name": name, "LastChangedDate": row[S_CHANGED], "CreatedDate": row[S_CREATED]}
        if row[S_TAGS_SHOWN]:  # AWS leaves Tags out until the secret has had some
            out["Tags"] = orjson.loads(row[S_TAGS])
        stages = self._version_stages(account, region, name)
        if stages:
            out[versions_key] = stages
        optional = {"Description": row[S_DESCRIPTION] or None, "KmsKeyId": row[S_KMS],
                    "LastAccessedDate": row[S_ACCESSED], "DeletedDate": row[S_DELETE_AT],
                    "RotationLambdaARN": row[S_LAMBDA], "LastRotatedDate": row[S_ROTATED],
                    "NextRotationDate": row[S_NEXT]}
        out.update({k: v for k, v in optional.items() if v is not None})
        if row[S_LAMBDA] is not None or row[S_ROTATION]:
            out["RotationEnabled"] = bool(row[S_ROTATION])
        if row[S_RULES]:
            out["RotationRules"] = orjson.loads(row[S_RULES])
        return out

    # -- listing -------------------------------------------------------------------------------

    def list_secrets(self, ctx, params):
        filters = params.get("Filters") or []
        for f in filters:
            if f.get("Key") not in FILTER_KEYS:
                raise _invalid(f"Invalid filter key: {f.get('Key')}. Valid keys: {', '.join(FILTER_KEYS)}.")
            if not f.get("Values"):
                raise _invalid(f"The filter {f['Key']} requires at least one value.")
        limit = params.get("MaxResults") or 100
        offset = _untoken(params["NextToken"]) if params.get("NextToken") else 0
        if not isinstance(offset, int) or offset < 0:
            raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.")
        order = SORT_COLUMNS[params.get("SortBy") or "created-date"]
        descending = (params.get("SortOrder") or "asc") == "desc"
        include_deleted = bool(params.get("IncludePlannedDeletion"))
        matched, position = [], offset
        while len(matched) <= limit:
            rows = self.store.page(ctx.account, ctx.region, order, descending, position, 200)
            for row in rows:
                position += 1
                if (row[S_DELETE_AT] is None or include_deleted) and self._matches(row, filters):
                    matched.append((position, row))
                    if len(matched) > limit:
                        break
            if len(rows) < 200:
                break
        out = {"SecretList": [self._describe(row, "SecretVersionsToStages") for _, row in matched[:limit]]}
        if len(matched) > limit:
            out["NextToken"] = _token(matched[limit - 1][0])
        return out

    @staticmethod
    def _matches(row, filters) -> bool:
        tags = orjson.loads(row[S_TAGS])
        fields = {"name": [row[S_NAME]], "description": [row[S_DESCRIPTION] or ""],
                  "tag-key": [t["Key"] for t in tags], "tag-value": [t.get("Value", "") for t in tags],
                  "primary-region": [], "owning-service": []}
        for f in filters:
            key = f["Key"]
            hit = False
            for raw in f["Values"]:
                negate = raw.startswith("!")
                value = raw[1:] if negate else raw
                if key == "all":
                    words = [w for text in (*fields["name"], *fields["description"], *fields["tag-key"],
                                            *fields["tag-value"]) for w in _words(text)]
                    found = all(any(w.startswith(q) for w in words) for q in _words(value))
                elif key == "description":  # each word of the value starts a word of the description
                    words = _words(fields[key][0])
                    found = all(any(w.startswith(q) for w in words) for q in _words(value))
                else:
                    found = any(text.startswith(value) for text in fields[key])
                if found != negate:
                    hit = True
            if not hit:
                return False
        return True

    def list_secret_version_ids(self, ctx, params):
        row = self._secret(ctx, params["SecretId"], deleted_ok=True)
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        stages = self._version_stages(account, region, name)
        versions = []
        for version_id, created, accessed, _ in self.store.versions(account, region, name):
            if version_id not in stages and not params.get("IncludeDeprecated"):
                continue
            item = {"VersionId": version_id, "CreatedDate": created, "KmsKeyIds": [row[S_KMS] or "DefaultEncryptionKey"]}
            if version_id in stages:  # a deprecated version is listed without the member
                item["VersionStages"] = stages[version_id]
            if accessed is not None:
                item["LastAccessedDate"] = accessed
            versions.append(item)
        limit = params.get("MaxResults") or 100
        offset = _untoken(params["NextToken"]) if params.get("NextToken") else 0
        if not isinstance(offset, int) or offset < 0:
            raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.")
        out = {"Versions": versions[offset:offset + limit], "ARN": row[S_ARN], "Name": name}
        if offset + limit < len(versions):
            out["NextToken"] = _token(offset + limit)
        return out

    # -- deletion ------------------------------------------------------------------------------

    def delete_secret(self, ctx, params):
        force = bool(params.get("ForceDeleteWithoutRecovery"))
        window = params.get("RecoveryWindowInDays")
        if force and window is not None:
            raise _invalid("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
        try:
            row = self._secret(ctx, params["SecretId"], deleted_ok=True)
        except AwsError as e:
            if not force or e.code != "ResourceNotFoundException":
                raise
            return self._deleted_answer(ctx, params["SecretId"])
        key = (row[S_ACCOUNT], row[S_REGION], row[S_NAME])
        if force:
            self.store.delete(*key)
            self._arm(*key, None, None)
            return {"ARN": row[S_ARN], "Name": row[S_NAME], "DeletionDate": time.time()}
        if row[S_DELETE_AT] is not None:
            raise _marked_for_deletion()
        window = 30 if window is None else window
        if not 7 <= window <= 30:
            raise _invalid("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
        delete_at = time.time() + window * DAY
        self.store.update(*key, delete_at=delete_at)
        self._arm(*key, delete_at, None)
        return {"ARN": row[S_ARN], "Name": row[S_NAME], "DeletionDate": delete_at}

    @staticmethod
    def _deleted_answer(ctx, secret_id: str) -> dict:
        """A forced deletion of a secret that does not exist answers as if it had deleted one
        (AWS does, so that deletions can be retried); the ARN is the shape a secret of that name
        would have, as no secret gave it one."""
        if secret_id.startswith("arn:"):
            arn, name = secret_id, secret_id.split(":", 6)[-1]
        else:
            suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(6))
            arn = f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:{secret_id}-{suffix}"
            name = secret_id
        return {"ARN": arn, "Name": name, "DeletionDate": time.time()}

    def restore_secret(self, ctx, params):
        row = self._secret(ctx, params["SecretId"], deleted_ok=True)
        self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], delete_at=None, changed=time.time())
        self._arm(row[S_ACCOUNT], row[S_REGION], row[S_NAME], None, row[S_NEXT])
        return {"ARN": row[S_ARN], "Name": row[S_NAME]}

    # -- tags ----------------------------------------------------------------------------------

    def tag_resource(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        tags = {t["Key"]: t for t in orjson.loads(row[S_TAGS])}
        for tag in params["Tags"]:
            if not tag.get("Key"):
                raise _invalid("Tag key must not be empty.")
            tags[tag["Key"]] = {"Key": tag["Key"], "Value": tag.get("Value", "")}
        self._check_tags(list(tags.values()))
        self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], tags=orjson.dumps(list(tags.values())).decode(),
                          tags_shown=1)
        return {}

    def untag_resource(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        drop = set(params["TagKeys"])
        tags = [t for t in orjson.loads(row[S_TAGS]) if t["Key"] not in drop]
        self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], tags=orjson.dumps(tags).decode())
        return {}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's secrets in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(arn, {t["Key"]: t.get("Value", "") for t in orjson.loads(tags)})
                for arn, tags in self.store.tagged(ctx.account, ctx.region)]

    # -- resource policies ---------------------------------------------------------------------

    @staticmethod
    def _policy_problems(text: str) -> list[dict]:
        try:
            policy = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise AwsError("MalformedPolicyDocumentException",
                           "This resource policy contains a syntax error: it is not valid JSON.") from None
        if not isinstance(policy, dict):
            raise AwsError("MalformedPolicyDocumentException", "This resource policy contains a syntax error.")
        problems = []
        statements = policy.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            problems.append({"CheckName": "SYNTAX_CHECK", "ErrorMessage": "The policy must contain a Statement."})
            return problems
        for i, statement in enumerate(statements):
            if not isinstance(statement, dict):
                problems.append({"CheckName": "SYNTAX_CHECK", "ErrorMessage": f"Statement {i} is not an object."})
                continue
            if statement.get("Effect") not in ("Allow", "Deny"):
                problems.append({"CheckName": "SYNTAX_CHECK",
                                 "ErrorMessage": f"Statement {i}: Effect must be Allow or Deny."})
            if "Action" not in statement and "NotAction" not in statement:
                problems.append({"CheckName": "SYNTAX_CHECK", "ErrorMessage": f"Statement {i}: missing Action."})
            if "Principal" not in statement and "NotPrincipal" not in statement:
                problems.append({"CheckName": "SYNTAX_CHECK",
                                 "ErrorMessage": f"Statement {i}: a resource policy must name a Principal."})
        return problems

    @staticmethod
    def _is_public(text: str) -> bool:
        statements = orjson.loads(text).get("Statement")
        statements = [statements] if isinstance(statements, dict) else statements
        for statement in statements or []:
            principal = statement.get("Principal")
            everyone = principal == "*" or (isinstance(principal, dict) and "*" in (
                principal.get("AWS") if isinstance(principal.get("AWS"), list) else [principal.get("AWS")]))
            if statement.get("Effect") == "Allow" and everyone and not statement.get("Condition"):
                return True
        return False

    def put_resource_policy(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        text = params["ResourcePolicy"]
        problems = self._policy_problems(text)
        if problems:
            raise AwsError("MalformedPolicyDocumentException", problems[0]["ErrorMessage"])
        if params.get("BlockPublicPolicy") and self._is_public(text):
            raise AwsError("PublicPolicyException", "This resource policy will grant public access to the secret. "
                           "Use BlockPublicPolicy to block policies that grant public access.")
        self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], policy=text)
        return {"ARN": row[S_ARN], "Name": row[S_NAME]}

    def get_resource_policy(self, ctx, params):
        row = self._secret(ctx, params["SecretId"], deleted_ok=True)
        out = {"ARN": row[S_ARN], "Name": row[S_NAME]}
        if row[S_POLICY] is not None:
            out["ResourcePolicy"] = row[S_POLICY]
        return out

    def delete_resource_policy(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        self.store.update(row[S_ACCOUNT], row[S_REGION], row[S_NAME], policy=None)
        return {"ARN": row[S_ARN], "Name": row[S_NAME]}

    def validate_resource_policy(self, ctx, params):
        if params.get("SecretId") is not None:
            self._secret(ctx, params["SecretId"], deleted_ok=True)
        problems = self._policy_problems(params["ResourcePolicy"])
        return {"PolicyValidationPassed": not problems, "ValidationErrors": problems}

    # -- random passwords ----------------------------------------------------------------------

    def get_random_password(self, ctx, params):
        length = params.get("PasswordLength", 32)
        if not 1 <= length <= 4096:
            raise _invalid("Password length must be between 1 and 4096 characters.")
        excluded = set(params.get("ExcludeCharacters") or "")
        classes = []
        for flag, chars in (("ExcludeLowercase", string.ascii_lowercase), ("ExcludeUppercase", string.ascii_uppercase),
                            ("ExcludeNumbers", string.digits), ("ExcludePunctuation", PUNCTUATION)):
            if not params.get(flag):
                classes.append(chars)
        if params.get("IncludeSpace"):
            classes.append(" ")
        classes = ["".join(c for c in chars if c not in excluded) for chars in classes]
        classes = [chars for chars in classes if chars]
        if not classes:
            raise _invalid("You can't exclude every character type: no characters are left to build a password.")
        pool = "".join(classes)
        chosen = [secrets.choice(pool) for _ in range(length)]
        if params.get("RequireEachIncludedType", True):
            if length < len(classes):
                raise _invalid("The password length is too short to include a character of each included type.")
            positions = secrets.SystemRandom().sample(range(length), len(classes))
            for position, chars in zip(positions, classes, strict=True):
                chosen[position] = secrets.choice(chars)
        return {"RandomPassword": "".join(chosen)}

    # -- rotation ------------------------------------------------------------------------------

    def _rules(self, rules: dict | None) -> dict | None:
        if not rules:
            return None
        days, expression = rules.get("AutomaticallyAfterDays"), rules.get("ScheduleExpression")
        if days is not None and expression:
            raise _invalid("You cannot specify both rotation frequency and schedule expression together.")
        if days is not None and not 1 <= days <= 1000:
            raise _invalid("The AutomaticallyAfterDays value must be between 1 and 1000.")
        if expression:
            try:
                schedule = schedules.parse(expression)
            except schedules.ScheduleError:
                raise _invalid(f"Invalid ScheduleExpression: {expression}") from None
            if schedule.kind == "rate" and (schedule.seconds < 4 * 3600 or schedule.seconds % 3600):
                raise _invalid("The schedule expression rate must be in hours (at least 4) or days.")
        if days is None and not expression:
            raise _invalid("RotationRules must contain AutomaticallyAfterDays or ScheduleExpression.")
        return rules

    @staticmethod
    def _next_rotation(rules: dict | None, after: float) -> float | None:
        if not rules:
            return None
        if rules.get("AutomaticallyAfterDays") is not None:
            return after + rules["AutomaticallyAfterDays"] * DAY
        return schedules.parse(rules["ScheduleExpression"]).next_after(after)

    async def rotate_secret(self, ctx, params):
        if not params.get("ClientRequestToken"):  # RotateSecret's answer differs from the others' in its code
            raise _invalid("You must provide a ClientRequestToken value. We recommend a UUID-type value.")
        row = self._secret(ctx, params["SecretId"])
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        if params.get("ExternalSecretRotationMetadata") or params.get("ExternalSecretRotationRoleArn"):
            raise AwsError("NotImplemented", "Managed external secret rotation is not implemented by overcast yet.",
                           501, sender_fault=False)
        lambda_arn = params.get("RotationLambdaARN") or row[S_LAMBDA]
        if not lambda_arn:
            raise AwsError("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
        if (account, region, name) in self._rotating:
            raise AwsError("InvalidRequestException", "A previous rotation isn't complete. That rotation will be "
                           "reattempted.")
        rules = self._rules(params.get("RotationRules")) if "RotationRules" in params else (
            orjson.loads(row[S_RULES]) if row[S_RULES] else None)
        await self._check_can_invoke(account, row[S_ARN], lambda_arn)
        token = params["ClientRequestToken"]
        immediately = params.get("RotateImmediately", True)
        with self.store.transaction():
            next_rotation = self._next_rotation(rules, time.time()) if not immediately else None
            self.store.update(account, region, name, rotation_lambda=lambda_arn, rotation_enabled=1,
                              rotation_rules=orjson.dumps(rules).decode() if rules else None,
                              next_rotation=next_rotation)
            if immediately:
                self._pending_version(row, token)
        if immediately:
            self._rotating.add((account, region, name))
            self._timers.spawn(self._run_rotation(account, region, name, token))
        else:
            self._arm(account, region, name, None, next_rotation)
        return {"ARN": row[S_ARN], "Name": name, "VersionId": token}

    async def _check_can_invoke(self, account: str, secret_arn: str, function_arn: str) -> None:
        """Secrets Manager invokes the rotation function as secretsmanager.amazonaws.com: the
        function must exist and its policy must grant that principal lambda:InvokeFunction."""
        policy = None
        if "lambda" in SERVICES and function_arn.startswith("arn:"):
            policy = (await self.providers.get("lambda")).resource_policy(function_arn)
        principal = iam_policy.Principal(account, service="secretsmanager.amazonaws.com")
        request = iam_policy.Request(principal, "lambda:InvokeFunction", function_arn,
                                     {"aws:sourceaccount": account, "aws:sourcearn": secret_arn})
        if policy is None or iam_policy.evaluate(policy, request) != iam_policy.ALLOW:
            raise AwsError("AccessDeniedException", "Secrets Manager cannot invoke the specified Lambda function. "
                           "Ensure that the function policy grants access to the principal "
                           "secretsmanager.amazonaws.com.")

    def _pending_version(self, row, token: str) -> None:
        """The version a rotation fills: labelled AWSPENDING and, until createSecret puts a value,
        without one (the rotation template checks for the label before it starts)."""
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        if self.store.version(account, region, name, token) is not None:
            raise AwsError("ResourceExistsException", "You can't modify an existing version, you can only create a "
                           "new version.")
        self.store.add_version(account, region, name, token, None, False, time.time())
        self._attach(account, region, name, token, [PENDING])

    def cancel_rotate_secret(self, ctx, params):
        row = self._secret(ctx, params["SecretId"])
        account, region, name = row[S_ACCOUNT], row[S_REGION], row[S_NAME]
        if not row[S_ROTATION]:
            raise AwsError("InvalidRequestException", "Secret does not have rotation enabled.")
        out = {"ARN": row[S_ARN], "Name": name}
        with self.store.transaction():
            pending = self.store.stages(account, region, name).get(PENDING)
            if pending is not None:
                out["VersionId"] = pending
            self.store.update(account, region, name, rotation_enabled=0, next_rotation=None)
        self._arm(account, region, name, None, None)
        return out

    async def _scheduled_rotation(self, account, region, name) -> None:
        row = self.store.by_name(account, region, name)
        if row is None or not row[S_ROTATION] or row[S_DELETE_AT] is not None or (account, region, name) in self._rotating:
            return
        token = str(uuid.uuid4())
        with self.store.transaction():
            self._pending_version(row, token)
        self._rotating.add((account, region, name))
        await self._run_rotation(account, region, name, token)

    async def _run_rotation(self, account, region, name, token: str) -> None:
        """Invoke the rotation function for each step; the secret moves to the new version only if
        every step succeeds and finishSecret moved AWSCURRENT. A failed step leaves AWSCURRENT where
        it was and AWSPENDING on the new version, as AWS does."""
        try:
            lam = await self.providers.get("lambda")
            for step in STEPS:
                row = self.store.by_name(account, region, name)
                if row is None or row[S_DELETE_AT] is not None or not row[S_LAMBDA]:
                    return
                payload = orjson.dumps({"SecretId": row[S_ARN], "ClientRequestToken": token, "Step": step})
                try:
                    result = await lam.invoke_function(account, region, row[S_LAMBDA], payload)
                except AwsError as e:
                    log.warning("rotation of %s: invoking %s for %s failed: %s", row[S_ARN], row[S_LAMBDA], step, e)
                    return
                if result.function_error:
                    log.warning("rotation of %s failed at %s: %s", row[S_ARN], step, result.payload[:500])
                    return
            with self.store.transaction():
                stages = self.store.stages(account, region, name)
                if stages.get(CURRENT) != token:
                    log.warning("rotation of %s: finishSecret did not move AWSCURRENT to %s", name, token)
                    return
                if stages.get(PENDING) == token:
                    self.store.remove_stage(account, region, name, PENDING)
                now = time.time()
                row = self.store.by_name(account, region, name)
                rules = orjson.loads(row[S_RULES]) if row[S_RULES] else None
                self.store.update(account, region, name, last_rotated=now, changed=now,
                                  next_rotation=self._next_rotation(rules, now))
        finally:
            self._rotating.discard((account, region, name))
            row = self.store.by_name(account, region, name)
            if row is not None:
                self._arm(account, region, name, row[S_DELETE_AT], row[S_NEXT] if row[S_ROTATION] else None)
