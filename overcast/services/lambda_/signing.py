"""Lambda code signing configurations: the trusted publishers (AWS Signer profile versions) and
the policy for code that is not signed by one of them (UntrustedArtifactOnDeployment).

overcast has no AWS Signer, so no code it is given carries a signature from a trusted publisher:
a function whose configuration says Enforce refuses every deployment of code (CreateFunction,
UpdateFunctionCode) with AWS's CodeVerificationFailedException, and one that says Warn deploys it,
as AWS does with unsigned code (docs/lambda.md)."""

from __future__ import annotations

import secrets

from overcast.aws.errors import AwsError
from overcast.services.lambda_.paging import page

_POLICIES = ("Warn", "Enforce")


def _csc_missing(arn: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"The Lambda code signing configuration {arn} can not be found.", 404)


class CodeSigning:
    def __init__(self, lam, timestamp):
        self.lam = lam
        self.store = lam.store
        self._timestamp = timestamp  # Lambda's LastModified format (provider._timestamp)

    # -- the configurations --------------------------------------------------------------------

    @staticmethod
    def _id(arn: str) -> str:
        return arn.rsplit(":", 1)[-1]

    def _arn_in_scope(self, ctx, arn: str) -> bool:
        parts = arn.split(":")
        return len(parts) == 7 and parts[3] == ctx.region and parts[4] == ctx.account

    def _get(self, ctx, arn: str) -> dict:
        found = self.store.get_code_signing(ctx.account, ctx.region, self._id(arn)) if self._arn_in_scope(ctx, arn) else None
        if found is None:
            raise _csc_missing(arn)
        return found

    @staticmethod
    def _check_policies(policies: dict | None) -> None:
        value = (policies or {}).get("UntrustedArtifactOnDeployment")
        if value is not None and value not in _POLICIES:
            raise AwsError("ValidationException", f"1 validation error detected: Value '{value}' at "
                           "'codeSigningPolicies.untrustedArtifactOnDeployment' failed to satisfy constraint: Member "
                           "must satisfy enum value set: [Warn, Enforce]")

    def create(self, ctx, params):
        self._check_policies(params.get("CodeSigningPolicies"))
        csc_id = "csc-" + secrets.token_hex(9)[:17]
        config = {
            "CodeSigningConfigId": csc_id,
            "CodeSigningConfigArn": f"arn:aws:lambda:{ctx.region}:{ctx.account}:code-signing-config:{csc_id}",
            "Description": params.get("Description") or "",
            "AllowedPublishers": params["AllowedPublishers"],
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment":
                                    (params.get("CodeSigningPolicies") or {}).get("UntrustedArtifactOnDeployment") or "Warn"},
            "LastModified": self._timestamp(),
        }
        self.store.put_code_signing(ctx.account, ctx.region, csc_id, config)
        return {"CodeSigningConfig": config}

    def get(self, ctx, params):
        return {"CodeSigningConfig": self._get(ctx, params["CodeSigningConfigArn"])}

    def update(self, ctx, params):
        config = self._get(ctx, params["CodeSigningConfigArn"])
        self._check_policies(params.get("CodeSigningPolicies"))
        changed = False
        for key in ("Description", "AllowedPublishers"):
            if params.get(key) is not None:
                config[key], changed = params[key], True
        if (params.get("CodeSigningPolicies") or {}).get("UntrustedArtifactOnDeployment"):
            config["CodeSigningPolicies"] = {"UntrustedArtifactOnDeployment":
                                             params["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]}
            changed = True
        if changed:
            config["LastModified"] = self._timestamp()
            self.store.put_code_signing(ctx.account, ctx.region, config["CodeSigningConfigId"], config)
        return {"CodeSigningConfig": config}

    def delete(self, ctx, params):
        config = self._get(ctx, params["CodeSigningConfigArn"])
        if self.store.functions_signed_by(ctx.account, ctx.region, config["CodeSigningConfigArn"]):
            raise AwsError("ResourceConflictException", "The code signing configuration cannot be deleted because it is "
                           "used by one or more functions.", 409, Type="User")
        self.store.delete_code_signing(ctx.account, ctx.region, config["CodeSigningConfigId"])
        return {}

    def list(self, ctx, params):
        limit = params.get("MaxItems") or 50
        configs = self.store.list_code_signing(ctx.account, ctx.region, params.get("Marker") or "", limit + 1)
        out = {"CodeSigningConfigs": configs[:limit]}
        if len(configs) > limit:
            out["NextMarker"] = configs[limit - 1]["CodeSigningConfigId"]
        return out

    def list_functions(self, ctx, params):
        arn = self._get(ctx, params["CodeSigningConfigArn"])["CodeSigningConfigArn"]
        arns = self.store.functions_signed_by(ctx.account, ctx.region, arn)
        return page(arns, params, "FunctionArns")

    # -- a function's configuration --------------------------------------------------------------

    def checked_arn(self, ctx, arn: str) -> str:
        """A CodeSigningConfigArn given for a function: it must exist (CodeSigningConfigNotFoundException)."""
        found = self.store.get_code_signing(ctx.account, ctx.region, self._id(arn)) if self._arn_in_scope(ctx, arn) else None
        if found is None:
            raise AwsError("CodeSigningConfigNotFoundException", "The code signing configuration cannot be found. Check "
                           f"that the provided configuration is not deleted: {arn}.", 404, Type="User")
        return found["CodeSigningConfigArn"]

    def check_code(self, account, region, csc_arn: str | None) -> None:
        """Code is deployed to a function signed by csc_arn: none of it is signed (overcast has no
        AWS Signer), so Enforce refuses it and Warn lets it through."""
        if not csc_arn:
            return
        config = self.store.get_code_signing(account, region, self._id(csc_arn))
        if config and config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce":
            raise AwsError("CodeVerificationFailedException", "The code signature failed one or more of the validation "
                           "checks for signature mismatch or expiry, and the code signing policy is set to ENFORCE. "
                           "Lambda blocks the deployment.", 400, Type="User")

    def put_for_function(self, ctx, params):
        arn = self.checked_arn(ctx, params["CodeSigningConfigArn"])
        account, region, name, _q = self.lam._name_in(ctx, params["FunctionName"])
        config = self.lam._function(account, region, name)[0]
        config["_CodeSigningConfigArn"] = arn
        self.store.put_config(account, region, name, config)
        return {"CodeSigningConfigArn": arn, "FunctionName": name}

    def get_for_function(self, ctx, params):
        account, region, name, _q = self.lam._name_in(ctx, params["FunctionName"])
        arn = self.lam._function(account, region, name)[0].get("_CodeSigningConfigArn")
        return {"CodeSigningConfigArn": arn, "FunctionName": name} if arn else {}

    def delete_for_function(self, ctx, params):
        account, region, name, _q = self.lam._name_in(ctx, params["FunctionName"])
        config = self.lam._function(account, region, name)[0]
        if config.pop("_CodeSigningConfigArn", None):
            self.store.put_config(account, region, name, config)
        return {}
