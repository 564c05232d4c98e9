"""SSM Parameter Store (awsJson 1.1): String, StringList and SecureString parameters with versions,
labels, history, tiers, tags, hierarchies and AWS's limits. SecureString values are sealed at rest
with overcast's key (storage/sealing.py) and opened only for WithDecryption."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable

import orjson

from overcast.aws import policy as iam_policy
from overcast.aws.errors import AwsError
from overcast.services import SERVICES
from overcast.services.base import Provider
from overcast.services.ssm.store import SsmStore
from overcast.services.ssm.windows import MaintenanceWindows
from overcast.storage.sealing import sealer

STANDARD_VALUE = 4096
ADVANCED_VALUE = 8192
MAX_NAME = 1011
MAX_DEPTH = 15
MAX_VERSIONS = 100
MAX_LABELS = 10
MAX_TAGS = 50
LIMITS = {"Standard": 10_000, "Advanced": 100_000}
DEFAULT_KEY = "alias/aws/ssm"
DATA_TYPES = ("text", "aws:ec2:image")
NAME_CHARS = re.compile(r"^[a-zA-Z0-9_.\-/]+$")
LABEL = re.compile(r"^[a-zA-Z0-9_.\-]{1,100}$")
AMI = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")

INVALID_NAME = ('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, '
                "it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of "
                "letters, numbers and the following 3 symbols .-_")
INVALID_PATH = ('The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a '
                'forward slash "/". It can\'t be prefixed with "aws" or "ssm" (case-insensitive). It must use only '
                "letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special "
                'characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". '
                "Valid example: /get/parameters2-/by1./path0_.")
SECRET_REFERENCE = "/aws/reference/secretsmanager/"  # GetParameter(s) of a Secrets Manager secret
NEEDS_DECRYPTION = "WithDecryption flag must be True for retrieving a Secret Manager secret."
HIERARCHY = ("A hierarchy can have a maximum of 15 levels. For more information, see Requirements and Constraints "
             "for Parameter Names in the AWS Systems Manager User Guide.")

# filter keys each operation accepts, and the options each key takes
PATH_FILTER_KEYS = ("Type", "KeyId", "Label")
DESCRIBE_FILTER_KEYS = ("Name", "Type", "KeyId", "Path", "Tier", "DataType")
FILTER_OPTIONS = {"Name": ("Equals", "BeginsWith", "Contains"), "Path": ("Recursive", "OneLevel"),
                  "Type": ("Equals", "BeginsWith"), "KeyId": ("Equals", "BeginsWith"), "Tier": ("Equals",),
                  "DataType": ("Equals",), "Label": ("Equals",)}

# indexes into a store version row
NAME, VERSION, TYPE, VALUE, KEY_ID, DESCRIPTION, PATTERN, TIER, DATA_TYPE, MODIFIED, USER = range(11)


def _not_found(name: str = "") -> AwsError:
    return AwsError("ParameterNotFound", "")


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def _version_missing(name: str, version) -> AwsError:
    return AwsError("ParameterVersionNotFound",
                    f"Systems Manager could not find version {version} of {name}. Verify the version and try again.")


def _token(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _untoken(text: str):
    try:
        return orjson.loads(base64.urlsafe_b64decode(text.encode()))
    except Exception:
        raise AwsError("InvalidNextToken", "The nextToken is not valid.") from None


def _reserved(first_segment: str) -> bool:
    return first_segment.lower().startswith(("aws", "ssm"))


def check_name(name: str) -> str:
    """A parameter name as PutParameter accepts it (surrounding spaces removed), or AWS's error."""
    name = name.strip()
    if not NAME_CHARS.match(name) or "//" in name or (name != "/" and name.endswith("/")):
        raise _validation(INVALID_NAME)
    if "/" in name and not name.startswith("/"):
        raise _validation("Parameter name must be a fully qualified name.")
    segments = name.strip("/").split("/")
    if _reserved(segments[0]):
        if name.startswith("/"):  # /aws/... holds AWS's public parameters
            raise AwsError("AccessDeniedException", f"No access to reserved parameter name: {name}.")
        raise _validation(INVALID_NAME)
    if len(segments) > MAX_DEPTH:
        raise AwsError("HierarchyLevelLimitExceededException", HIERARCHY)
    if len(name) > MAX_NAME:
        raise _validation(f"Parameter name length must be less than or equal to {MAX_NAME} characters.")
    return name


def check_reference(name: str) -> None:
    """A name GetParameter can look up (without its :version or :label): the characters and
    slashes PutParameter takes; AWS's reserved prefixes are readable (/aws/... holds its public
    parameters and the Secrets Manager references)."""
    if not NAME_CHARS.match(name) or "//" in name or ("/" in name and not name.startswith("/")):
        raise _validation(INVALID_NAME)


def _same_parameter(name: str) -> list[str]:
    """The names that stand for one parameter: a name of one level is the same with or without
    its leading slash ("a" and "/a"), as AWS treats them."""
    if "/" not in name.lstrip("/") and name.strip("/"):
        bare = name.lstrip("/")
        return [name, bare if name.startswith("/") else "/" + bare]
    return [name]


def _arn_name(arn: str) -> list[str]:
    """The names an SSM parameter ARN can stand for: arn:...:parameter/a/b is /a/b; parameter/a
    is a or /a (AWS writes both the same way)."""
    rest = arn.split(":parameter/", 1)[1] if ":parameter/" in arn else ""
    if not rest:
        raise _validation(INVALID_NAME)
    return ["/" + rest] if "/" in rest else [rest, "/" + rest]


class SsmProvider(Provider):
    service = "ssm"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = SsmStore(self.db)
        self.sealer = sealer(self.config, self.db)
        self.windows = MaintenanceWindows(self.store)

    def authorize(self, ctx, params) -> None:
        """Every SSM call: a parameter ARN of another account is refused (overcast does not share
        parameters across accounts), never read as the caller's own parameter of that name."""
        names = params.get("Names") or ([params["Name"]] if isinstance(params.get("Name"), str) else [])
        for name in names:
            parts = name.split(":") if isinstance(name, str) and name.startswith("arn:") else ()
            if len(parts) >= 6:
                iam_policy.check(ctx, parts[4], name, f"ssm:{ctx.operation}")

    # -- values --------------------------------------------------------------------------------

    def _context(self, account, region, name) -> bytes:
        return f"ssm/{account}/{region}/{name}".encode()

    def _seal(self, account, region, name, value: str) -> bytes:
        return self.sealer.seal(value.encode(), self._context(account, region, name))

    def _value(self, account, region, row, decrypt: bool) -> str:
        if row[TYPE] != "SecureString":
            return row[VALUE] if isinstance(row[VALUE], str) else row[VALUE].decode()
        if not decrypt:
            return base64.b64encode(row[VALUE]).decode()  # the ciphertext, as AWS answers without decryption
        return self.sealer.open(row[VALUE], self._context(account, region, row[NAME])).decode()

    def _arn(self, ctx_or_account, region, name) -> str:
        return f"arn:aws:ssm:{region}:{ctx_or_account}:parameter/{name.lstrip('/')}"

    # -- lookups -------------------------------------------------------------------------------

    def _find(self, account, region, ref: str):
        """(row, selector) for a GetParameter reference: a name or ARN with :version or :label.
        A name of one level finds the parameter with or without its leading slash."""
        selector = None
        base = ref
        if ref.startswith("arn:"):
            head, _, tail = ref.partition(":parameter/")
            if ":" in tail:
                tail, _, selector = tail.rpartition(":")
            candidates = _arn_name(f"{head}:parameter/{tail}")
        else:
            if ":" in ref:
                base, _, selector = ref.rpartition(":")
            check_reference(base)
            candidates = _same_parameter(base)
        for name in candidates:
            if selector is None:
                row = self.store.latest(account, region, name)
                if row is not None:
                    return row, None
                continue
            if self.store.parameter(account, region, name) is None:
                continue
            if selector.isdigit():
                row = self.store.version(account, region, name, int(selector))
                if row is None:
                    raise _version_missing(name, selector)
            else:
                row = self.store.labelled(account, region, name, selector)
                if row is None:
                    raise _version_missing(name, selector)
            return row, f":{selector}"
        raise _not_found(base)


    def _resolve_name(self, account, region, ref: str) -> str:
        """The stored name an (ARN or plain) reference without selector stands for; ParameterNotFound."""
        candidates = _arn_name(ref) if ref.startswith("arn:") else _same_parameter(ref)
        for name in candidates:
            if self.store.parameter(account, region, name) is not None:
                return name
        raise _not_found(ref)

    def _parameter_out(self, account, region, row, decrypt: bool, selector=None, ref: str | None = None) -> dict:
        """A parameter as GetParameter(s) answer it; a plain name `ref` is answered as the caller
        spelled it ("/a" for a parameter stored as "a"), an ARN with the stored name."""
        shown = row[NAME]
        if ref is not None and not ref.startswith("arn:"):
            shown = ref[:len(ref) - len(selector)] if selector else ref
        out = {"Name": shown, "Type": row[TYPE], "Value": self._value(account, region, row, decrypt),
               "Version": row[VERSION], "LastModifiedDate": row[MODIFIED], "ARN": self._arn(account, region, row[NAME]),
               "DataType": row[DATA_TYPE]}
        if selector:
            out["Selector"] = selector
        return out

    # -- PutParameter --------------------------------------------------------------------------

    def put_parameter(self, ctx, params):
        account, region = ctx.account, ctx.region
        name = self._stored_name(account, region, check_name(params["Name"]))
        value = params["Value"]
        overwrite = bool(params.get("Overwrite"))
        tags = params.get("Tags")
        if tags and overwrite:
            raise _validation("Invalid request: tags and overwrite can't be used together. To create a parameter "
                              "with tags, please remove overwrite flag. To update tags for an existing parameter, "
                              "please use AddTagsToResource or RemoveTagsFromResource.")
        if params.get("Policies"):
            raise AwsError("NotImplemented", "Parameter policies are not implemented by overcast yet.", 501,
                           sender_fault=False)
        current = self.store.latest(account, region, name)
        if current is not None and not overwrite:
            raise AwsError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the "
                           "overwrite option in the request to true.")
        kind = params.get("Type") or (current[TYPE] if current is not None else None)
        if kind is None:
            raise _validation("A parameter type is required when you create a parameter.")
        key_id = params.get("KeyId")
        if key_id and kind != "SecureString":
            raise _validation("KeyId is required for SecureString type parameter only.")
        if kind == "SecureString":
            key_id = key_id or (current[KEY_ID] if current is not None and current[TYPE] == "SecureString" else None) \
                or DEFAULT_KEY
        data_type = params.get("DataType") or (current[DATA_TYPE] if current is not None else "text")
        self._check_data_type(data_type, kind, value)
        pattern = params["AllowedPattern"] if "AllowedPattern" in params else (
            current[PATTERN] if current is not None else None)
        if pattern:
            self._check_pattern(pattern, value)
        tier = self._tier(params.get("Tier"), current, value)
        description = params["Description"] if "Description" in params else (
            current[DESCRIPTION] if current is not None else None)
        with self.store.transaction():
            version = 1 if current is None else current[VERSION] + 1
            if current is None:
                if self.store.count(account, region, tier) >= LIMITS[tier]:
                    raise AwsError("ParameterLimitExceeded", "You have exceeded the number of parameters for this "
                                   "AWS account. Delete parameters that you no longer need and try again.")
                tag_text = orjson.dumps(self._tag_map(tags)).decode()
            else:
                tag_text = None
                self._make_room(account, region, name)
            stored = self._seal(account, region, name, value) if kind == "SecureString" else value.encode()
            self.store.put(account, region, name, version, tier, tag_text,
                           (kind, stored, key_id, description, pattern, data_type, time.time(),
                            f"arn:aws:iam::{account}:root"))
        return {"Version": version, "Tier": tier}

    def _stored_name(self, account, region, name: str) -> str:
        """The form a parameter is stored under when it exists as `name` or its other spelling."""
        for candidate in _same_parameter(name):
            if self.store.parameter(account, region, candidate) is not None:
                return candidate
        return name

    def _tag_map(self, tags) -> dict:
        tags = tags or []
        if len(tags) > MAX_TAGS:
            raise AwsError("TooManyTagsError", "The Tags parameter has exceeded the maximum number of tags allowed")
        return {t["Key"]: t["Value"] for t in tags}

    def _make_room(self, account, region, name) -> None:
        """At 100 versions the oldest goes, unless a label holds it."""
        if self.store.version_count(account, region, name) < MAX_VERSIONS:
            return
        oldest = self.store.oldest_version(account, region, name)
        labels = self.store.labels(account, region, name)
        if oldest in labels:
            raise AwsError("ParameterMaxVersionLimitExceeded",
                           f"You attempted to create a new version of {name} by calling the PutParameter API with the "
                           f"overwrite flag. Version {oldest}, the oldest version, can't be deleted because it has a "
                           "label associated with it. Move the label to another version of the parameter, and try again.")
        self.store.drop_version(account, region, name, oldest)

    @staticmethod
    def _check_data_type(data_type: str, kind: str, value: str) -> None:
        if data_type not in DATA_TYPES:
            raise _validation(f"The following data type is not supported: {data_type} (Data type names are all "
                              "lowercase.)")
        if data_type == "aws:ec2:image":
            if kind != "String":
                raise _validation(f"Data type {data_type} is only supported for parameters of type String.")
            if not AMI.match(value):
                raise _validation(f"Parameter value {value} is not a valid image ID. Verify the image ID and try "
                                  "again.")

    @staticmethod
    def _check_pattern(pattern: str, value: str) -> None:
        try:
            compiled = re.compile(pattern)
        except re.error:
            raise AwsError("InvalidAllowedPatternException",
                           f"The allowed pattern {pattern} is not a valid regular expression.") from None
        if not compiled.search(value):
            raise AwsError("ParameterPatternMismatchException",
                           f"Parameter value, cannot be validated against allowedPattern: {pattern}")

    @staticmethod
    def _tier(asked: str | None, current, value: str) -> str:
        existing = current[TIER] if current is not None else None
        if asked == "Intelligent-Tiering":
            tier = "Advanced" if len(value) > STANDARD_VALUE or existing == "Advanced" else "Standard"
        else:
            tier = asked or existing or "Standard"
        if existing == "Advanced" and tier == "Standard":
            raise _validation("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from "
                              "the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete "
                              "the advanced parameter and recreate it as a standard parameter.")
        if len(value) > ADVANCED_VALUE:
            raise _validation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must "
                              f"have length less than or equal to {ADVANCED_VALUE}")
        if tier == "Standard" and len(value) > STANDARD_VALUE:
            raise _validation("Standard tier parameters support a maximum parameter value of 4096 characters. To "
                              "create a larger parameter value, upgrade the parameter to use the advanced-parameter "
                              "tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/"
                              "userguide/parameter-store-advanced-parameters.html")
        return tier

    # -- reads ---------------------------------------------------------------------------------

    async def get_parameter(self, ctx, params):
        ref = params["Name"].strip()
        decrypt = bool(params.get("WithDecryption"))
        if ref.startswith(SECRET_REFERENCE):
            return {"Parameter": await self._secret_parameter(ctx, ref, decrypt)}
        row, selector = self._find(ctx.account, ctx.region, ref)
        return {"Parameter": self._parameter_out(ctx.account, ctx.region, row, decrypt, selector, ref)}

    async def get_parameters(self, ctx, params):
        decrypt = bool(params.get("WithDecryption"))
        found, invalid, seen = [], [], set()
        for ref in params["Names"]:
            if ref in seen:
                continue
            seen.add(ref)
            try:
                if ref.startswith(SECRET_REFERENCE):
                    found.append(await self._secret_parameter(ctx, ref, decrypt))
                    continue
                row, selector = self._find(ctx.account, ctx.region, ref)
            except AwsError as e:
                if e.code not in ("ParameterNotFound", "ParameterVersionNotFound", "ValidationException") or (
                        e.message == NEEDS_DECRYPTION):
                    raise
                invalid.append(ref)
                continue
            found.append(self._parameter_out(ctx.account, ctx.region, row, decrypt, selector, ref))
        return {"Parameters": found, "InvalidParameters": invalid}

    async def _secret_parameter(self, ctx, ref: str, decrypt: bool) -> dict:
        """/aws/reference/secretsmanager/<secret>[:<version id or stage>]: the secret's value read
        through Secrets Manager as the caller, never stored in Parameter Store (AWS's reference is
        a pass-through). SourceResult is Secrets Manager's answer as JSON."""
        if not decrypt:
            raise _validation(NEEDS_DECRYPTION)
        secret_id, _, selector = ref[len(SECRET_REFERENCE):].partition(":")
        if "secretsmanager" not in SERVICES or not secret_id:
            raise AwsError("ParameterNotFound", f"Secret {ref} not found.")
        secrets = await self.providers.get("secretsmanager")
        try:
            value = secrets.reference_value(ctx, secret_id, selector or None)
        except AwsError as e:
            if e.code != "ResourceNotFoundException":
                raise
            raise AwsError("ParameterNotFound", f"Secret {ref} not found.") from None
        text = value.get("SecretString")
        if text is None:
            text = base64.b64encode(value["SecretBinary"]).decode()
        source = {"ARN": value["ARN"], "name": value["Name"], "versionId": value["VersionId"],
                  "versionStages": value["VersionStages"], "createdDate": int(value["CreatedDate"] * 1000)}
        source["secretString" if "SecretString" in value else "secretBinary"] = text
        out = {"Name": ref[:len(ref) - len(selector) - 1] if selector else ref, "Type": "SecureString",
               "Value": text, "LastModifiedDate": value["CreatedDate"], "ARN": value["ARN"],
               "SourceResult": orjson.dumps(source).decode()}
        if selector:
            out["Selector"] = f":{selector}"
        return out

    def get_parameters_by_path(self, ctx, params):
        path = params["Path"].strip()
        if not path.startswith("/") or not NAME_CHARS.match(path) or "//" in path or (
                path != "/" and _reserved(path.strip("/").split("/")[0])):
            raise _validation(INVALID_PATH)
        if len(path.strip("/").split("/")) > MAX_DEPTH:
            raise AwsError("HierarchyLevelLimitExceededException", HIERARCHY)
        prefix = path.rstrip("/") + "/"
        recursive = bool(params.get("Recursive"))
        filters = self._filters(params.get("ParameterFilters"), PATH_FILTER_KEYS)
        if filters.get("Label") is not None:
            labels = filters["Label"]
        limit = params.get("MaxResults") or 10
        decrypt = bool(params.get("WithDecryption"))
        after = _untoken(params["NextToken"]) if params.get("NextToken") else ""
        out = []

        def keep(row, _tags):
            if not recursive and "/" in row[NAME][len(prefix):]:
                return False
            return self._matches(ctx, row, _tags, filters)

        last, more = self._scan(ctx, prefix, after, limit, keep, out)
        if filters.get("Label") is not None:
            out = self._with_labels(ctx, out, labels, decrypt)
        else:
            out = [self._parameter_out(ctx.account, ctx.region, row, decrypt) for row, _ in out]
        result = {"Parameters": out}
        if more:
            result["NextToken"] = _token(last)
        return result

    def _with_labels(self, ctx, rows, labels: list[str], decrypt: bool) -> list[dict]:
        """GetParametersByPath with a Label filter answers each parameter's labelled version."""
        out = []
        for row, _ in rows:
            for label in labels:
                labelled = self.store.labelled(ctx.account, ctx.region, row[NAME], label)
                if labelled is not None:
                    out.append(self._parameter_out(ctx.account, ctx.region, labelled, decrypt))
                    break
        return out

    def _scan(self, ctx, prefix: str, after: str, limit: int, keep, out: list) -> tuple[str, bool]:
        """Collect up to `limit` (row, tags) under `prefix` after `after` that `keep` accepts;
        returns the last name looked at and whether more may follow."""
        last = after
        while True:
            rows = self.store.page(ctx.account, ctx.region, prefix, last, 100)
            for row in rows:
                last = row[NAME]
                version_row, tags = row[:-1], row[-1]
                if keep(version_row, tags):
                    out.append((version_row, tags))
                    if len(out) >= limit:
                        more = bool(self.store.page(ctx.account, ctx.region, prefix, last, 1))
                        return last, more
            if len(rows) < 100:
                return last, False

    def _filters(self, filters, allowed: tuple[str, ...]) -> dict:
        """{key: (option, values)} from ParameterFilters, with AWS's errors for bad keys and options.
        Tag filters keep their "tag:Key" key."""
        out: dict = {}
        for f in filters or []:
            key = f["Key"]
            option = f.get("Option")
            values = f.get("Values") or []
            if key.startswith("tag:") and "DataType" in allowed:
                if option not in (None, "Equals"):
                    raise AwsError("InvalidFilterOption", f"The following filter option is not valid: {option}. "
                                   "Valid options include: [Equals].")
                out[key] = ("Equals", values)
                continue
            if key not in allowed:
                raise AwsError("InvalidFilterKey", f"The following filter key is not valid: {key}. Valid filter keys "
                               f"include: [{', '.join(allowed)}].")
            options = FILTER_OPTIONS[key]
            if option is not None and option not in options:
                raise AwsError("InvalidFilterOption", f"The following filter option is not valid: {option}. Valid "
                               f"options include: [{', '.join(options)}].")
            if not values and key != "Path":
                raise AwsError("InvalidFilterValue", f"The following filter values are missing : null for filter "
                               f"key {key}.")
            if key == "Label":
                out[key] = values
                continue
            out[key] = (option or options[0], values)
        return out

    def _matches(self, ctx, row, tags_text: str, filters: dict) -> bool:
        for key, spec in filters.items():
            if key == "Label":
                continue
            if key.startswith("tag:"):
                tags = orjson.loads(tags_text)
                _, values = spec
                tag = key[4:]
                if tag not in tags or (values and tags[tag] not in values):
                    return False
                continue
            option, values = spec
            if key == "Path":
                continue  # applied as the scan prefix
            field = {"Name": row[NAME], "Type": row[TYPE], "KeyId": row[KEY_ID] or "", "Tier": row[TIER],
                     "DataType": row[DATA_TYPE]}[key]
            if option == "Equals" and field not in values:
                return False
            if option == "BeginsWith" and not any(field.startswith(v) for v in values):
                return False
            if option == "Contains" and not any(v in field for v in values):
                return False
        return True

    def get_parameter_history(self, ctx, params):
        name = self._resolve_name(ctx.account, ctx.region, params["Name"])
        decrypt = bool(params.get("WithDecryption"))
        limit = params.get("MaxResults") or 50
        after = _untoken(params["NextToken"]) if params.get("NextToken") else 0
        if not isinstance(after, int):
            raise AwsError("InvalidNextToken", "The nextToken is not valid.")
        rows = self.store.history(ctx.account, ctx.region, name, after, limit + 1)
        labels = self.store.labels(ctx.account, ctx.region, name)
        out = []
        for row in rows[:limit]:
            item = {"Name": row[NAME], "Type": row[TYPE], "LastModifiedDate": row[MODIFIED],
                    "LastModifiedUser": row[USER], "Value": self._value(ctx.account, ctx.region, row, decrypt),
                    "Version": row[VERSION], "Labels": labels.get(row[VERSION], []), "Tier": row[TIER],
                    "Policies": [], "DataType": row[DATA_TYPE]}
            for key, index in (("KeyId", KEY_ID), ("Description", DESCRIPTION), ("AllowedPattern", PATTERN)):
                if row[index] is not None:
                    item[key] = row[index]
            out.append(item)
        result = {"Parameters": out}
        if len(rows) > limit:
            result["NextToken"] = _token(rows[limit - 1][VERSION])
        return result

    def describe_parameters(self, ctx, params):
        filters = self._filters(params.get("ParameterFilters"), DESCRIBE_FILTER_KEYS)
        for f in params.get("Filters") or []:
            if params.get("ParameterFilters"):
                raise _validation("You can use either Filters or ParameterFilters in a single request.")
            key = f["Key"]
            if key not in ("Name", "Type", "KeyId"):
                raise AwsError("InvalidFilterKey", f"The following filter key is not valid: {key}. Valid filter keys "
                               "include: [Name, Type, KeyId].")
            filters[key] = ("Equals" if key != "Name" else "BeginsWith", f["Values"])
        limit = params.get("MaxResults") or 50
        after = _untoken(params["NextToken"]) if params.get("NextToken") else ""
        prefix, recursive = "", True
        if "Path" in filters:
            option, values = filters["Path"]
            path = (values or ["/"])[0]
            if not path.startswith("/"):
                raise AwsError("InvalidFilterValue", f"The parameter doesn't meet the parameter name requirements. "
                               f"The parameter name must begin with a forward slash \"/\": {path}")
            prefix = path.rstrip("/") + "/"
            recursive = option == "Recursive"

        def keep(row, tags):
            if not recursive and "/" in row[NAME][len(prefix):]:
                return False
            return self._matches(ctx, row, tags, filters)

        rows: list = []
        last, more = self._scan(ctx, prefix, after, limit, keep, rows)
        out = []
        for row, _ in rows:
            item = {"Name": row[NAME], "ARN": self._arn(ctx.account, ctx.region, row[NAME]), "Type": row[TYPE],
                    "LastModifiedDate": row[MODIFIED], "LastModifiedUser": row[USER], "Version": row[VERSION],
                    "Tier": row[TIER], "Policies": [], "DataType": row[DATA_TYPE]}
            for key, index in (("KeyId", KEY_ID), ("Description", DESCRIPTION), ("AllowedPattern", PATTERN)):
                if row[index] is not None:
                    item[key] = row[index]
            out.append(item)
        result = {"Parameters": out}
        if more:
            result["NextToken"] = _token(last)
        return result

    # -- labels --------------------------------------------------------------------------------

    def label_parameter_version(self, ctx, params):
        account, region = ctx.account, ctx.region
        name = self._resolve_name(account, region, params["Name"])
        with self.store.transaction():
            current = self.store.parameter(account, region, name)
            version = params.get("ParameterVersion", current[0])
            if self.store.version(account, region, name, version) is None:
                raise _version_missing(name, version)
            invalid = [label for label in params["Labels"]
                       if not LABEL.match(label) or label[0].isdigit() or _reserved(label)]
            valid = [label for label in params["Labels"] if label not in invalid]
            held = set(self.store.labels(account, region, name).get(version, []))
            if len(held | set(valid)) > MAX_LABELS:
                raise AwsError("ParameterVersionLabelLimitExceeded", "A parameter version can have maximum 10 labels."
                               "Move one or more labels to another version and try again.")
            for label in valid:
                self.store.set_label(account, region, name, label, version)
        return {"InvalidLabels": invalid, "ParameterVersion": version}

    def unlabel_parameter_version(self, ctx, params):
        account, region = ctx.account, ctx.region
        name = self._resolve_name(account, region, params["Name"])
        version = params["ParameterVersion"]
        if self.store.version(account, region, name, version) is None:
            raise _version_missing(name, version)
        removed, invalid = [], []
        with self.store.transaction():
            for label in params["Labels"]:
                (removed if self.store.remove_label(account, region, name, label, version) else invalid).append(label)
        return {"RemovedLabels": removed, "InvalidLabels": invalid}

    # -- deletion ------------------------------------------------------------------------------

    def delete_parameter(self, ctx, params):
        name = self._resolve_name(ctx.account, ctx.region, params["Name"])
        self.store.delete(ctx.account, ctx.region, name)
        return {}

    def delete_parameters(self, ctx, params):
        deleted, invalid = [], []
        with self.store.transaction():
            for ref in params["Names"]:
                try:
                    name = self._resolve_name(ctx.account, ctx.region, ref)
                except AwsError:
                    invalid.append(ref)
                    continue
                self.store.delete(ctx.account, ctx.region, name)
                deleted.append(ref)
        return {"DeletedParameters": deleted, "InvalidParameters": invalid}

    # -- tags ----------------------------------------------------------------------------------

    def _tagged(self, ctx, params) -> tuple[dict, Callable[[dict], None]]:
        """The tags of a parameter or maintenance window, and how to store them changed."""
        kind, resource = params["ResourceType"], params["ResourceId"]
        if kind == "MaintenanceWindow":
            return self.windows.tags(ctx, resource), lambda tags: self.windows.set_tags(ctx, resource, tags)
        if kind != "Parameter":
            raise AwsError("InvalidResourceType", "The resource type is not valid. overcast keeps tags on parameters "
                           "and maintenance windows only.")
        try:
            name = self._resolve_name(ctx.account, ctx.region, resource)
        except AwsError:
            raise AwsError("InvalidResourceId", "The resource ID is not valid. Verify that you entered the correct "
                           "ID and try again.") from None
        tags = orjson.loads(self.store.parameter(ctx.account, ctx.region, name)[2])
        return tags, lambda changed: self.store.set_tags(ctx.account, ctx.region, name, orjson.dumps(changed).decode())

    def add_tags_to_resource(self, ctx, params):
        tags, save = self._tagged(ctx, params)
        tags.update({t["Key"]: t["Value"] for t in params["Tags"]})
        if len(tags) > MAX_TAGS:
            raise AwsError("TooManyTagsError", "The Tags parameter has exceeded the maximum number of tags allowed")
        save(tags)
        return {}

    def remove_tags_from_resource(self, ctx, params):
        tags, save = self._tagged(ctx, params)
        for key in params["TagKeys"]:
            tags.pop(key, None)
        save(tags)
        return {}

    def list_tags_for_resource(self, ctx, params):
        tags, _ = self._tagged(ctx, params)
        return {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's parameters and maintenance windows in the request's region
        that have tags: what the Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        parameters = [(self._arn(ctx.account, ctx.region, name), orjson.loads(tags))
                      for name, tags in self.store.tagged(ctx.account, ctx.region)]
        windows = [(f"arn:aws:ssm:{ctx.region}:{ctx.account}:maintenancewindow/{window_id}", orjson.loads(tags))
                   for window_id, tags in self.store.tagged_windows(ctx.account, ctx.region)]
        return parameters + windows

    # -- maintenance windows (windows.py) ------------------------------------------------------

    def create_maintenance_window(self, ctx, params):
        return self.windows.create(ctx, params)

    def get_maintenance_window(self, ctx, params):
        return self.windows.get(ctx, params)

    def update_maintenance_window(self, ctx, params):
        return self.windows.update(ctx, params)

    def delete_maintenance_window(self, ctx, params):
        return self.windows.delete(ctx, params)

    def describe_maintenance_windows(self, ctx, params):
        return self.windows.describe(ctx, params)
