"""AWS::Lambda::* types, through the Lambda provider: Function (inline ZipFile or S3 code),
Permission, Version (with provisioned concurrency), Alias (likewise), EventSourceMapping, LayerVersion, Url,
EventInvokeConfig, LayerVersionPermission, CodeSigningConfig."""

from __future__ import annotations

import io
import os
import uuid
import zipfile

from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    collect,
    read_or_none,
    tag_map,
)

_RESPONSE_DIR = os.path.join(os.path.dirname(__file__), "cfn_response")
_CONFIG_KEYS = ("Role", "Handler", "Description", "Timeout", "MemorySize", "Environment", "Runtime",
                "DeadLetterConfig", "KMSKeyArn", "TracingConfig", "Layers", "EphemeralStorage", "LoggingConfig",
                "VpcConfig", "SnapStart")


def inline_zip(source: str, runtime: str) -> bytes:
    """CloudFormation's packaging of ZipFile code: a file named index, with the cfn-response module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        if runtime.startswith("nodejs"):
            z.writestr("index.js", source)
            with open(os.path.join(_RESPONSE_DIR, "cfn-response.js")) as f:
                z.writestr("node_modules/cfn-response/index.js", f.read())
        else:
            z.writestr("index.py", source)
            with open(os.path.join(_RESPONSE_DIR, "cfnresponse.py")) as f:
                z.writestr("cfnresponse.py", f.read())
    return buffer.getvalue()


def _code(props: dict) -> dict:
    code = dict(props.get("Code") or {})
    if "ZipFile" in code:
        return {"ZipFile": inline_zip(str(code["ZipFile"]), str(props.get("Runtime") or ""))}
    return {k: code[k] for k in ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri") if code.get(k)}


def _config(props: dict) -> dict:
    config = {k: props[k] for k in _CONFIG_KEYS if k in props}
    if "KmsKeyArn" in props:
        config["KMSKeyArn"] = props["KmsKeyArn"]
    for key in ("Timeout", "MemorySize"):
        if key in config:
            config[key] = int(config[key])
    return config


class Function(ResourceType):
    type_name = "AWS::Lambda::Function"

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("FunctionName", 64)
        tags = tag_map(props.get("Tags"))
        out = await op.call("lambda", "CreateFunction", {
            "FunctionName": name, "Code": _code(props), "PackageType": props.get("PackageType"),
            "Architectures": props.get("Architectures"), "Tags": tags or None,
            "CodeSigningConfigArn": props.get("CodeSigningConfigArn"), **_config(props)})
        if props.get("ReservedConcurrentExecutions") is not None:
            await op.call("lambda", "PutFunctionConcurrency", {
                "FunctionName": name, "ReservedConcurrentExecutions": int(props["ReservedConcurrentExecutions"])})
        if props.get("RecursiveLoop") is not None:
            await op.call("lambda", "PutFunctionRecursionConfig", {"FunctionName": name,
                                                                   "RecursiveLoop": props["RecursiveLoop"]})
        return name, {"Arn": out["FunctionArn"]}

    async def update(self, op: ResourceOp):
        props, old, name = op.properties, op.old_properties, op.physical_id
        if props.get("Code") != old.get("Code") or props.get("Architectures") != old.get("Architectures"):
            await op.call("lambda", "UpdateFunctionCode", {"FunctionName": name, **_code(props),
                                                           "Architectures": props.get("Architectures")})
        config, old_config = _config(props), _config(old)
        if config != old_config:
            changes = {k: v for k, v in config.items() if old_config.get(k) != v}
            for key in old_config.keys() - config.keys():  # a setting the template no longer has: its default
                changes[key] = {"Environment": {"Variables": {}}, "Layers": [], "Description": "",
                                "Timeout": 3, "MemorySize": 128, "DeadLetterConfig": {}}.get(key)
            await op.call("lambda", "UpdateFunctionConfiguration", {"FunctionName": name, **changes})
        if props.get("CodeSigningConfigArn") != old.get("CodeSigningConfigArn"):
            if props.get("CodeSigningConfigArn") is None:
                await op.call("lambda", "DeleteFunctionCodeSigningConfig", {"FunctionName": name})
            else:
                await op.call("lambda", "PutFunctionCodeSigningConfig", {
                    "FunctionName": name, "CodeSigningConfigArn": props["CodeSigningConfigArn"]})
        old_tags = tag_map(old.get("Tags"))
        tags = tag_map(props.get("Tags"))
        if tags != old_tags:
            arn = op.attributes.get("Arn")
            gone = [k for k in old_tags if k not in tags]
            if gone:
                await op.call("lambda", "UntagResource", {"Resource": arn, "TagKeys": gone})
            if tags:
                await op.call("lambda", "TagResource", {"Resource": arn, "Tags": tags})
        if props.get("ReservedConcurrentExecutions") != old.get("ReservedConcurrentExecutions"):
            if props.get("ReservedConcurrentExecutions") is None:
                await op.call("lambda", "DeleteFunctionConcurrency", {"FunctionName": name})
            else:
                await op.call("lambda", "PutFunctionConcurrency", {
                    "FunctionName": name, "ReservedConcurrentExecutions": int(props["ReservedConcurrentExecutions"])})
        if props.get("RecursiveLoop") != old.get("RecursiveLoop"):  # (removed from the template: AWS's default)
            await op.call("lambda", "PutFunctionRecursionConfig", {"FunctionName": name,
                                                                   "RecursiveLoop": props.get("RecursiveLoop") or "Terminate"})
        out = await op.call("lambda", "GetFunctionConfiguration", {"FunctionName": name})
        return {"Arn": out["FunctionArn"]}

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "DeleteFunction", {"FunctionName": op.physical_id})

    async def read(self, op: ResourceOp, identifier: str):
        found = await read_or_none(op.call("lambda", "GetFunction", {"FunctionName": identifier}))
        if found is None:
            return None
        config = found["Configuration"]
        out = {"FunctionName": config["FunctionName"], "Arn": config["FunctionArn"],
               "Role": config.get("Role"), "Description": config.get("Description", ""),
               "Timeout": config.get("Timeout"), "MemorySize": config.get("MemorySize"),
               "PackageType": config.get("PackageType", "Zip"), "Architectures": config.get("Architectures"),
               "Tags": [{"Key": k, "Value": v} for k, v in sorted((found.get("Tags") or {}).items())]}
        for key in ("Runtime", "Handler", "TracingConfig", "EphemeralStorage", "LoggingConfig"):
            if config.get(key) is not None:
                out[key] = config[key]
        if (config.get("Environment") or {}).get("Variables"):
            out["Environment"] = {"Variables": config["Environment"]["Variables"]}
        if config.get("Layers"):
            out["Layers"] = [layer["Arn"] for layer in config["Layers"]]
        return out

    async def list(self, op: ResourceOp):
        functions = await collect(op, "lambda", "ListFunctions", {}, "Functions", "Marker", "NextMarker")
        return [f["FunctionName"] for f in functions]


class Permission(ResourceType):
    type_name = "AWS::Lambda::Permission"
    extra_attributes = frozenset({"Id"})

    async def create(self, op: ResourceOp):
        props = op.properties
        statement = f"{op.stack_name}-{op.logical_id}-{uuid.uuid4().hex[:12]}"[-100:]
        await op.call("lambda", "AddPermission", {
            "FunctionName": props.get("FunctionName"), "StatementId": statement, "Action": props.get("Action"),
            "Principal": props.get("Principal"), "SourceArn": props.get("SourceArn"),
            "SourceAccount": props.get("SourceAccount"), "EventSourceToken": props.get("EventSourceToken"),
            "PrincipalOrgID": props.get("PrincipalOrgID"), "FunctionUrlAuthType": props.get("FunctionUrlAuthType")})
        return statement, {"Id": statement}

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "RemovePermission", {"FunctionName": op.properties.get("FunctionName"),
                                                     "StatementId": op.physical_id})


async def _provision(op: ResourceOp, function: str, qualifier: str) -> None:
    """A version's or alias's ProvisionedConcurrencyConfig, put (and waited for until its sandboxes
    have started, as CloudFormation waits for it), changed or removed. `function`: its unqualified
    ARN."""
    wanted = (op.properties.get("ProvisionedConcurrencyConfig") or {}).get("ProvisionedConcurrentExecutions")
    had = (op.old_properties.get("ProvisionedConcurrencyConfig") or {}).get("ProvisionedConcurrentExecutions")
    if wanted is None:
        if had is not None:
            await op.call("lambda", "DeleteProvisionedConcurrencyConfig",
                          {"FunctionName": function, "Qualifier": qualifier})
        return
    if had is not None and int(had) == int(wanted):
        return
    out = await op.call("lambda", "PutProvisionedConcurrencyConfig", {
        "FunctionName": function, "Qualifier": qualifier, "ProvisionedConcurrentExecutions": int(wanted)})
    lam = await op.providers.get("lambda")
    settled = await lam.provisioned_settled(op.account, op.region, function.rpartition(":")[2], qualifier) or out
    if settled.get("Status") == "FAILED":
        raise ResourceFailed(f"Provisioned Concurrency configuration failed to be applied. Reason: "
                             f"{settled.get('StatusReason', '')}")


class Version(ResourceType):
    type_name = "AWS::Lambda::Version"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("lambda", "PublishVersion", {
            "FunctionName": props.get("FunctionName"), "Description": props.get("Description"),
            "CodeSha256": props.get("CodeSha256")})
        try:
            await _provision(op, out["FunctionArn"].rpartition(":")[0], out["Version"])
        except ResourceFailed as e:
            raise ResourceFailed(str(e), out["FunctionArn"]) from None
        return out["FunctionArn"], {"Version": out["Version"], "FunctionArn": out["FunctionArn"]}

    async def update(self, op: ResourceOp):
        # (Description and ProvisionedConcurrencyConfig change in place; a version's description
        # cannot change once published: it stays the one it was published with, as on AWS)
        function_arn, _, version = op.physical_id.rpartition(":")
        await _provision(op, function_arn, version)
        return op.attributes

    async def delete(self, op: ResourceOp):
        function_arn, _, version = op.physical_id.rpartition(":")
        await op.call("lambda", "DeleteFunction", {"FunctionName": function_arn, "Qualifier": version})


class Alias(ResourceType):
    type_name = "AWS::Lambda::Alias"
    extra_attributes = frozenset({"AliasArn"})

    def _params(self, props: dict) -> dict:
        return {"FunctionName": props.get("FunctionName"), "Name": props.get("Name"),
                "FunctionVersion": str(props.get("FunctionVersion")), "Description": props.get("Description"),
                "RoutingConfig": props.get("RoutingConfig")}

    async def create(self, op: ResourceOp):
        out = await op.call("lambda", "CreateAlias", self._params(op.properties))
        try:
            await _provision(op, out["AliasArn"].rpartition(":")[0], op.properties.get("Name"))
        except ResourceFailed as e:
            raise ResourceFailed(str(e), out["AliasArn"]) from None
        return out["AliasArn"], {"AliasArn": out["AliasArn"]}

    async def update(self, op: ResourceOp):
        params = self._params(op.properties)
        if params["RoutingConfig"] is None:
            params["RoutingConfig"] = {"AdditionalVersionWeights": {}}
        out = await op.call("lambda", "UpdateAlias", params)
        await _provision(op, out["AliasArn"].rpartition(":")[0], op.properties.get("Name"))
        return {"AliasArn": out["AliasArn"]}

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "DeleteAlias", {"FunctionName": op.properties.get("FunctionName"),
                                                "Name": op.properties.get("Name")})


_ESM_KEYS = ("FunctionName", "EventSourceArn", "BatchSize", "Enabled", "StartingPosition",
             "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds", "FilterCriteria",
             "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError",
             "ParallelizationFactor", "DestinationConfig", "FunctionResponseTypes", "ScalingConfig",
             "TumblingWindowInSeconds", "Queues", "Topics", "SourceAccessConfigurations", "Tags")
_ESM_UPDATABLE = ("FunctionName", "BatchSize", "Enabled", "MaximumBatchingWindowInSeconds", "FilterCriteria",
                  "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError",
                  "ParallelizationFactor", "DestinationConfig", "FunctionResponseTypes", "ScalingConfig",
                  "TumblingWindowInSeconds")


class EventSourceMapping(ResourceType):
    type_name = "AWS::Lambda::EventSourceMapping"

    async def create(self, op: ResourceOp):
        params = {k: op.properties[k] for k in _ESM_KEYS if k in op.properties}
        if "Tags" in params:
            params["Tags"] = {t["Key"]: t["Value"] for t in params["Tags"]}
        for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "MaximumRetryAttempts",
                    "MaximumRecordAgeInSeconds", "ParallelizationFactor", "TumblingWindowInSeconds"):
            if key in params:
                params[key] = int(params[key])
        out = await op.call("lambda", "CreateEventSourceMapping", params)
        return out["UUID"], {"Id": out["UUID"], "EventSourceMappingArn": out.get("EventSourceMappingArn", "")}

    async def update(self, op: ResourceOp):
        params = {k: op.properties[k] for k in _ESM_UPDATABLE if k in op.properties}
        for key in ("BatchSize", "MaximumBatchingWindowInSeconds"):
            if key in params:
                params[key] = int(params[key])
        await op.call("lambda", "UpdateEventSourceMapping", {"UUID": op.physical_id, **params})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "DeleteEventSourceMapping", {"UUID": op.physical_id})

    def ref(self, physical_id, attributes):
        return physical_id


class LayerVersion(ResourceType):
    type_name = "AWS::Lambda::LayerVersion"

    async def create(self, op: ResourceOp):
        props = op.properties
        content = props.get("Content") or {}
        out = await op.call("lambda", "PublishLayerVersion", {
            "LayerName": op.name("LayerName", 64),
            "Content": {k: content[k] for k in ("S3Bucket", "S3Key", "S3ObjectVersion") if content.get(k)},
            "Description": props.get("Description"), "CompatibleRuntimes": props.get("CompatibleRuntimes"),
            "CompatibleArchitectures": props.get("CompatibleArchitectures"), "LicenseInfo": props.get("LicenseInfo")})
        return out["LayerVersionArn"], {"LayerVersionArn": out["LayerVersionArn"]}

    async def delete(self, op: ResourceOp):
        layer_arn, _, number = op.physical_id.rpartition(":")
        await op.call("lambda", "DeleteLayerVersion", {"LayerName": layer_arn.rsplit(":", 1)[1],
                                                       "VersionNumber": int(number)})


class Url(ResourceType):
    type_name = "AWS::Lambda::Url"

    def _params(self, props: dict) -> dict:
        return {"FunctionName": props.get("TargetFunctionArn"), "Qualifier": props.get("Qualifier"),
                "AuthType": props.get("AuthType"), "Cors": props.get("Cors"), "InvokeMode": props.get("InvokeMode")}

    async def create(self, op: ResourceOp):
        out = await op.call("lambda", "CreateFunctionUrlConfig", self._params(op.properties))
        return out["FunctionArn"], {"FunctionArn": out["FunctionArn"], "FunctionUrl": out["FunctionUrl"]}

    async def update(self, op: ResourceOp):
        params = self._params(op.properties)
        if params["Cors"] is None:
            params["Cors"] = {}
        out = await op.call("lambda", "UpdateFunctionUrlConfig", params)
        return {"FunctionArn": out["FunctionArn"], "FunctionUrl": out["FunctionUrl"]}

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "DeleteFunctionUrlConfig", {"FunctionName": op.properties.get("TargetFunctionArn"),
                                                            "Qualifier": op.properties.get("Qualifier")})

    async def read(self, op: ResourceOp, identifier: str):
        """By the function's ARN (the schema's identifier) or, as AWS accepts it, its name."""
        function, qualifier = identifier, ""
        if identifier.startswith("arn:") and identifier.count(":") == 7:  # a qualified function ARN
            function, qualifier = identifier.rsplit(":", 1)
        config = await read_or_none(op.call("lambda", "GetFunctionUrlConfig", {"FunctionName": function,
                                                                               "Qualifier": qualifier or None}))
        if config is None:
            return None
        out = {"FunctionArn": config["FunctionArn"], "FunctionUrl": config["FunctionUrl"],
               "AuthType": config["AuthType"], "InvokeMode": config.get("InvokeMode", "BUFFERED"),
               "TargetFunctionArn": config["FunctionArn"]}
        if qualifier:
            out["Qualifier"] = qualifier
        if config.get("Cors"):
            out["Cors"] = config["Cors"]
        return out

    async def list(self, op: ResourceOp):
        names = await Function().list(op)
        out = []
        for name in names:
            configs = await op.call("lambda", "ListFunctionUrlConfigs", {"FunctionName": name})
            out += [c["FunctionArn"] for c in configs.get("FunctionUrlConfigs") or []]
        return out


class EventInvokeConfig(ResourceType):
    type_name = "AWS::Lambda::EventInvokeConfig"

    def _params(self, props: dict) -> dict:
        return {"FunctionName": props.get("FunctionName"), "Qualifier": props.get("Qualifier"),
                "MaximumRetryAttempts": props.get("MaximumRetryAttempts"),
                "MaximumEventAgeInSeconds": props.get("MaximumEventAgeInSeconds"),
                "DestinationConfig": props.get("DestinationConfig")}

    async def create(self, op: ResourceOp):
        await op.call("lambda", "PutFunctionEventInvokeConfig", self._params(op.properties))
        return f"{op.properties.get('FunctionName')}:{op.properties.get('Qualifier')}", {}

    async def update(self, op: ResourceOp):
        await op.call("lambda", "PutFunctionEventInvokeConfig", self._params(op.properties))
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "DeleteFunctionEventInvokeConfig", {
            "FunctionName": op.properties.get("FunctionName"), "Qualifier": op.properties.get("Qualifier")})


class LayerVersionPermission(ResourceType):
    """Through AddLayerVersionPermission/RemoveLayerVersionPermission: one statement of the layer
    version's policy, its physical id `<layer version arn>#<statement id>`."""

    type_name = "AWS::Lambda::LayerVersionPermission"

    async def create(self, op: ResourceOp):
        props = op.properties
        arn = str(props.get("LayerVersionArn") or "")
        layer, _, number = arn.rpartition(":")
        statement = f"{op.logical_id}-{uuid.uuid4().hex[:12]}"[-100:]
        await op.call("lambda", "AddLayerVersionPermission", {
            "LayerName": layer, "VersionNumber": int(number) if number.isdigit() else number,
            "StatementId": statement, "Action": props.get("Action"), "Principal": props.get("Principal"),
            "OrganizationId": props.get("OrganizationId")})
        physical_id = f"{arn}#{statement}"
        return physical_id, {"Id": physical_id}

    async def delete(self, op: ResourceOp):
        arn, _, statement = op.physical_id.partition("#")
        layer, _, number = arn.rpartition(":")
        await op.call("lambda", "RemoveLayerVersionPermission", {"LayerName": layer, "VersionNumber": int(number),
                                                                "StatementId": statement})


class CodeSigningConfig(ResourceType):
    """Through Create/Update/DeleteCodeSigningConfig; Ref is the configuration's ARN."""

    type_name = "AWS::Lambda::CodeSigningConfig"

    @staticmethod
    def _params(props: dict) -> dict:
        return {"Description": props.get("Description"), "AllowedPublishers": props.get("AllowedPublishers"),
                "CodeSigningPolicies": props.get("CodeSigningPolicies")}

    async def create(self, op: ResourceOp):
        tags = tag_map(op.properties.get("Tags"))
        out = (await op.call("lambda", "CreateCodeSigningConfig",
                             {**self._params(op.properties), "Tags": tags or None}))["CodeSigningConfig"]
        return out["CodeSigningConfigArn"], {"CodeSigningConfigArn": out["CodeSigningConfigArn"],
                                             "CodeSigningConfigId": out["CodeSigningConfigId"]}

    async def update(self, op: ResourceOp):
        await op.call("lambda", "UpdateCodeSigningConfig",
                      {"CodeSigningConfigArn": op.physical_id, **self._params(op.properties)})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("lambda", "DeleteCodeSigningConfig", {"CodeSigningConfigArn": op.physical_id})
