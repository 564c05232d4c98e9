"""Transforms that run before the engine sees a template, in the order the template lists them:
AWS::Serverless-2016-10-31 through aws-sam-translator (the library the SAM CLI itself uses),
AWS::LanguageExtensions (Fn::ForEach here; Fn::Length, Fn::ToJsonString and intrinsic
DeletionPolicy values are evaluated by the engine), and macros (AWS::CloudFormation::Macro): the
macro's Lambda function is invoked with AWS's documented event and its answer is the new fragment.
As on AWS, Fn::Transform snippets run first (inner ones before outer ones, a list in its order),
then the template-level transforms in their order."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import re
import threading
import uuid

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.parameters import ref_values
from overcast.services.cloudformation.template import parse

SAM = "AWS::Serverless-2016-10-31"
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
INCLUDE = "AWS::Include"
SUPPORTED = (SAM, LANGUAGE_EXTENSIONS, INCLUDE)


def declared(template: dict) -> list[str]:
    return [name for name, _ in _entries(template.get("Transform"))]


def _entries(value) -> list[tuple[str, dict]]:
    """(name, parameters) of each transform a Transform or Fn::Transform value lists."""
    if value is None:
        return []
    out = []
    for entry in value if isinstance(value, list) else [value]:
        name, parameters = (entry.get("Name"), entry.get("Parameters") or {}) if isinstance(entry, dict) \
            else (entry, {})
        if not isinstance(name, str):
            raise AwsError("ValidationError", "Key Name of transform definition must be a string.")
        out.append((name, parameters))
    return out


def has_snippets(node) -> bool:
    if isinstance(node, dict):
        return "Fn::Transform" in node or any(has_snippets(v) for v in node.values())
    if isinstance(node, list):
        return any(has_snippets(v) for v in node)
    return False


def transform_failed(name: str, message: str) -> AwsError:
    error = AwsError("ValidationError", f"Transform {name} failed with: {message}")
    error.transform_failure = True
    return error


def macro_failed(message: str) -> AwsError:
    """A macro that could not run or refused: on AWS the stack is created and then rolled back
    with this reason (a change set fails with it)."""
    error = AwsError("ValidationError", message)
    error.transform_failure = True
    error.macro_failure = True
    return error


async def apply(provider, ctx, template: dict, stack: dict, raw_parameters: dict,
                ssm_values: dict | None = None) -> dict:
    """The template with its transforms applied; `ssm_values` are the values of its SSM parameter
    types (SAM reads those, macros the parameters as given)."""
    entries = _entries(template.get("Transform"))
    for name, _ in entries:
        if name not in SUPPORTED and provider.store.macro_function(stack["account"], stack["region"], name) is None:
            raise macro_failed(f"No transform named {stack['account']}::{name} found.")
    macros = _Macros(provider, stack, template, raw_parameters)
    processed = await macros.snippets(copy.deepcopy(template))
    for name, parameters in entries:
        if name == LANGUAGE_EXTENSIONS:
            processed = language_extensions(processed, raw_parameters)
        elif name == SAM:
            policies = await _managed_policy_map(provider, ctx)
            # The translation takes a while for big templates: off the event loop, one at a time
            # (the translator keeps its region in a class attribute).
            processed = await asyncio.to_thread(_sam_locked, processed, stack,
                                                {**raw_parameters, **(ssm_values or {})}, policies)
        else:  # AWS::Include and macros
            declared_list = processed.pop("Transform", None)
            processed = await macros.run(name, parameters, processed)
            if not isinstance(processed, dict):
                raise macro_failed("Template format error: unsupported structure.")
            processed["Transform"] = declared_list
    processed.pop("Transform", None)
    return processed


# -- macros (AWS::CloudFormation::Macro) -------------------------------------------------------------

class _Macros:
    def __init__(self, provider, stack: dict, template: dict, raw_parameters: dict):
        self.provider = provider
        self.stack = stack
        parameters = template.get("Parameters") if isinstance(template.get("Parameters"), dict) else {}
        # what the event's templateParameterValues holds: the given values, else the defaults (a
        # list type's value as a list)
        self.values = {}
        for name, spec in parameters.items():
            value = raw_parameters.get(name, _default(spec))
            if value is not None:
                self.values[name] = _typed(spec, value)

    def _resolved(self, node):
        """A transform's Parameters with Refs to template parameters replaced by their values."""
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in self.values:
                return self.values[node["Ref"]]
            return {k: self._resolved(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._resolved(v) for v in node]
        return node

    async def snippets(self, node):
        """`node` with every Fn::Transform replaced by its macros' answer (inner ones first)."""
        if isinstance(node, list):
            return [await self.snippets(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: await self.snippets(v) for k, v in node.items() if k != "Fn::Transform"}
        for name, parameters in _entries(node.get("Fn::Transform")):
            out = await self.run(name, parameters, out)
        return out

    def _sub(self, text: str) -> str | None:
        """An Fn::Sub string of template parameters and pseudo parameters; None when it names
        anything else (a resource, unknown before the stack is deployed)."""
        pseudo = {"AWS::AccountId": self.stack["account"], "AWS::Region": self.stack["region"],
                  "AWS::StackName": self.stack["StackName"], "AWS::StackId": self.stack["StackId"],
                  "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        missing = []

        def replace(m):
            name = m.group(1)
            value = self.values.get(name, pseudo.get(name))
            if not isinstance(value, str):
                missing.append(name)
                return ""
            return value

        out = re.sub(r"\$\{(?!!)([^}]+)\}", replace, text).replace("${!", "${")
        return None if missing else out

    async def include(self, parameters, fragment):
        """AWS::Include: the snippet at Parameters.Location (an s3://bucket/key URI, JSON or YAML)
        put where the transform is; its keys replace the ones beside the transform."""
        location = self._resolved(parameters).get("Location") if isinstance(parameters, dict) else None
        if isinstance(location, dict) and set(location) == {"Fn::Sub"} and isinstance(location["Fn::Sub"], str):
            location = self._sub(location["Fn::Sub"])  # "s3://${BucketName}/snippet.yaml"
        bucket, _, key = location[len("s3://"):].partition("/") if isinstance(location, str) and \
            location.startswith("s3://") else ("", "", "")
        if not bucket or not key:
            raise transform_failed(INCLUDE, "The location parameter is not a valid S3 uri.")
        s3 = await self.provider.providers.get("s3")
        try:
            data = (await s3.read_object(self.stack["account"], self.stack["region"], bucket, key)).decode()
        except (AwsError, UnicodeDecodeError):
            raise transform_failed(INCLUDE, f"S3 object {location} could not be read.") from None
        try:
            snippet = parse(data)
        except AwsError as e:
            raise transform_failed(INCLUDE, e.message) from None
        if isinstance(snippet, dict) and isinstance(fragment, dict):
            return {**fragment, **snippet}
        return snippet

    async def run(self, name: str, parameters: dict, fragment):
        if name == INCLUDE:
            return await self.include(parameters, fragment)
        account, region = self.stack["account"], self.stack["region"]
        transform_id = f"{account}::{name}"
        function = self.provider.store.macro_function(account, region, name)
        if function is None:
            raise macro_failed(f"No transform named {transform_id} found.")
        event = {"region": region, "accountId": account, "fragment": fragment, "transformId": transform_id,
                 "params": self._resolved(parameters), "requestId": str(uuid.uuid4()), "templateParameterValues": self.values}
        malformed = macro_failed(f"Received malformed response from transform {transform_id}")
        lam = await self.provider.providers.get("lambda")
        try:
            result = await lam.invoke_function(account, region, function, json.dumps(event).encode())
            answer = json.loads(result.payload)
        except (AwsError, ValueError):
            raise malformed from None
        if result.function_error or not isinstance(answer, dict) or "fragment" not in answer and \
                answer.get("status") == "success":
            raise malformed
        if answer.get("status") != "success":
            message = answer.get("errorMessage")
            raise macro_failed(f"Transform {transform_id} failed with: {message}" if message else
                               f"Transform {transform_id} failed without an error message.")
        return answer["fragment"]


def _typed(spec, value: str):
    kind = str(spec.get("Type", "")) if isinstance(spec, dict) else ""
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        return [v.strip() for v in value.split(",")] if value else []
    return value


# -- AWS::Serverless-2016-10-31 ---------------------------------------------------------------------

@functools.cache
def _session(region: str):
    import boto3

    # The translator reads only the session's region (for ARNs and the partition); it calls no AWS API.
    return boto3.session.Session(region_name=region, aws_access_key_id="overcast", aws_secret_access_key="overcast")


async def _managed_policy_map(provider, ctx) -> dict[str, str]:
    """Customer managed policies by name, for SAM's Policies list (AWS managed ones ship with the
    translator)."""
    iam = await provider.providers.get("iam")
    out: dict[str, str] = {}
    marker = None
    while True:
        page = iam.list_policies(_iam_ctx(ctx), {"Scope": "Local", **({"Marker": marker} if marker else {})})
        for policy in page.get("Policies") or []:
            out[policy["PolicyName"]] = policy["Arn"]
        if not page.get("IsTruncated"):
            return out
        marker = page.get("Marker")


def _iam_ctx(ctx):
    from overcast.aws.context import RequestContext

    return RequestContext(ctx.account, ctx.region, "iam", ctx.request, operation="ListPolicies",
                          access_key=ctx.access_key)


_SAM_LOCK = threading.Lock()


def _sam_locked(*args) -> dict:
    with _SAM_LOCK:
        return sam(*args)


@functools.cache
def _translator_class():
    """The translator, with its policy templates validated once: the library re-validates its
    bundled policy templates against their JSON schema on every translation (about 200 ms)."""
    import samtranslator.translator.translator as translator
    from samtranslator.plugins.policies.policy_templates_plugin import PolicyTemplatesForResourcePlugin
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # its metrics warn on every translation
    processor = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
    translator.make_policy_template_for_function_plugin = lambda: PolicyTemplatesForResourcePlugin(processor)
    return translator.Translator


def sam(template: dict, stack: dict, raw_parameters: dict, policies: dict[str, str]) -> dict:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    parameters = {**raw_parameters, "AWS::AccountId": stack["account"], "AWS::Region": stack["region"],
                  "AWS::StackName": stack["StackName"], "AWS::StackId": stack["StackId"], "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com"}
    to_py27_compatible_template(template, parameters)
    translator = _translator_class()(None, Parser(), boto_session=_session(stack["region"]))
    try:
        out = translator.translate(template, parameter_values=parameters, get_managed_policy_map=lambda: policies)
    except InvalidDocumentException as e:
        raise transform_failed(SAM, _sam_message(e)) from None
    except Exception as e:  # the translator's own errors carry their message
        raise transform_failed(SAM, str(e) or type(e).__name__) from None
    return undo_mark_unicode_str_in_template(out)


def _sam_message(error) -> str:
    causes = " ".join(str(c.message) if hasattr(c, "message") else str(c) for c in getattr(error, "causes", []))
    return f"Invalid Serverless Application Specification document. Number of errors found: " \
           f"{len(getattr(error, 'causes', []))}. {causes}".strip()


# -- AWS::LanguageExtensions ------------------------------------------------------------------------

_FOR_EACH = "Fn::ForEach::"


def language_extensions(template: dict, raw_parameters: dict) -> dict:
    parameters = template.get("Parameters") or {}
    raw = {n: raw_parameters.get(n, _default(s)) for n, s in parameters.items()}
    values = ref_values({"Parameters": parameters}, {n: v for n, v in raw.items() if v is not None})
    for section in ("Resources", "Outputs", "Conditions"):
        if isinstance(template.get(section), dict):
            template[section] = _expand(template[section], values, {})
    # then, as AWS's processed templates show, the functions whose inputs are known by now are
    # replaced by their value: Fn::Length (also of a list parameter), Fn::ToJsonString, and
    # Fn::Join and Fn::Sub of literals (the loop's values put in them)
    for section in ("Resources", "Outputs"):
        if isinstance(template.get(section), dict):
            template[section] = _fold(template[section], values)
    return template


def _literal(node) -> bool:
    if isinstance(node, dict):
        return not any(isinstance(k, str) and (k == "Ref" or k.startswith("Fn::") or k == "Condition")
                       for k in node) and all(_literal(v) for v in node.values())
    if isinstance(node, list):
        return all(_literal(v) for v in node)
    return True


def _fold(node, values: dict):
    if isinstance(node, list):
        return [_fold(v, values) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _fold(v, values) for k, v in node.items()}
    if len(node) != 1:
        return node
    name, arg = next(iter(node.items()))
    if name == "Fn::Length":
        if isinstance(arg, dict) and set(arg) == {"Ref"} and isinstance(values.get(arg["Ref"]), list):
            return len(values[arg["Ref"]])
        if isinstance(arg, list) and _literal(arg):
            return len(arg)
    elif name == "Fn::ToJsonString" and _literal(arg):
        return json.dumps(arg, separators=(",", ":"))
    elif name == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and \
            isinstance(arg[1], list) and all(isinstance(v, str) for v in arg[1]):
        return arg[0].join(arg[1])
    elif name == "Fn::Sub" and isinstance(arg, str) and not re.search(r"\$\{(?!!)", arg):
        return arg.replace("${!", "${")
    return node


def _default(spec):
    if isinstance(spec, dict) and "Default" in spec:
        d = spec["Default"]
        return ",".join(map(str, d)) if isinstance(d, list) else str(d)
    return None


def _expand(mapping: dict, values: dict, bound: dict) -> dict:
    out = {}
    for key, value in mapping.items():
        if isinstance(key, str) and key.startswith(_FOR_EACH):
            if not (isinstance(value, list) and len(value) == 3 and isinstance(value[2], dict)):
                raise transform_failed(LANGUAGE_EXTENSIONS, f"Fn::ForEach could not be resolved: {key} must be a "
                                                            "list of an identifier, a collection and an output map")
            identifier, collection, body = value
            items = _collection(collection, values, bound)
            for item in items:
                scope = {**bound, identifier: item}
                expanded = _expand(_substitute(body, scope), values, scope)
                out.update(expanded)
        else:
            out[key] = value
    return out


def _collection(collection, values: dict, bound: dict) -> list:
    if isinstance(collection, list):
        return [_substitute(c, bound) for c in collection]
    if isinstance(collection, dict) and set(collection) == {"Ref"}:
        value = bound.get(collection["Ref"], values.get(collection["Ref"]))
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        if isinstance(value, list):
            return value
    raise transform_failed(LANGUAGE_EXTENSIONS, "Fn::ForEach could not be resolved: the collection must be a list "
                                                "or a Ref to a CommaDelimitedList parameter")


def _substitute(node, scope: dict):
    """${Id} and &{Id} in keys and strings, and {"Ref": Id}, replaced by the loop's value."""
    if not scope:
        return node
    if isinstance(node, str):
        return _sub_text(node, scope)
    if isinstance(node, list):
        return [_substitute(v, scope) for v in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in scope:
            return scope[node["Ref"]]
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return {"Fn::Sub": _sub_text(node["Fn::Sub"], scope)}
        return {_sub_text(k, scope) if isinstance(k, str) else k: _substitute(v, scope) for k, v in node.items()}
    return node


def _sub_text(text: str, scope: dict) -> str:
    def replace(m):
        name = m.group(2)
        if name not in scope:
            return m.group(0)
        value = str(scope[name])
        return re.sub(r"[^A-Za-z0-9]", "", value) if m.group(1) == "&" else value

    return re.sub(r"([$&])\{([^}!]+)\}", replace, text)


__all__ = ["apply", "declared", "ref_values"]
