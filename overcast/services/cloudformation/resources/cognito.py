"""Cognito's resource types, through the Cognito providers: AWS::Cognito::UserPool,
UserPoolClient, UserPoolDomain, UserPoolGroup, UserPoolResourceServer, IdentityPool and
IdentityPoolRoleAttachment."""

from __future__ import annotations

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType

_POOL_SETTINGS = ("Policies", "LambdaConfig", "AutoVerifiedAttributes", "AliasAttributes", "UsernameAttributes",
                  "UsernameConfiguration", "MfaConfiguration", "AdminCreateUserConfig", "AccountRecoverySetting",
                  "DeletionProtection", "EmailConfiguration", "SmsConfiguration", "VerificationMessageTemplate",
                  "DeviceConfiguration", "UserAttributeUpdateSettings", "UserPoolAddOns", "EmailVerificationMessage",
                  "EmailVerificationSubject", "SmsVerificationMessage", "SmsAuthenticationMessage", "UserPoolTier")
_CLIENT_SETTINGS = ("RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits",
                    "ReadAttributes", "WriteAttributes", "ExplicitAuthFlows", "SupportedIdentityProviders",
                    "CallbackURLs", "LogoutURLs", "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes",
                    "AllowedOAuthFlowsUserPoolClient", "PreventUserExistenceErrors", "EnableTokenRevocation",
                    "AuthSessionValidity", "EnablePropagateAdditionalUserContextData")


def _pick(props: dict, keys) -> dict:
    return {k: props[k] for k in keys if k in props}


class UserPool(ResourceType):
    type_name = "AWS::Cognito::UserPool"
    name_length = 128

    async def create(self, op: ResourceOp):
        props = op.properties
        params = {"PoolName": op.name("UserPoolName", max_length=128), **_pick(props, _POOL_SETTINGS)}
        if props.get("Schema"):
            params["Schema"] = props["Schema"]
        if props.get("UserPoolTags"):
            params["UserPoolTags"] = props["UserPoolTags"]
        pool = (await op.call("cognito-idp", "CreateUserPool", params))["UserPool"]
        return pool["Id"], self._attributes(pool)

    @staticmethod
    def _attributes(pool: dict) -> dict:
        region = pool["Id"].split("_", 1)[0]
        return {"Arn": pool["Arn"], "UserPoolId": pool["Id"],
                "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool['Id']}",
                "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool['Id']}"}

    async def update(self, op: ResourceOp):
        params = {"UserPoolId": op.physical_id, **_pick(op.properties, _POOL_SETTINGS)}
        await op.call("cognito-idp", "UpdateUserPool", params)
        new = {a["Name"] for a in op.properties.get("Schema") or []} - {a["Name"] for a in
                                                                         op.old_properties.get("Schema") or []}
        added = [a for a in op.properties.get("Schema") or [] if a["Name"] in new]
        if added:
            await op.call("cognito-idp", "AddCustomAttributes", {"UserPoolId": op.physical_id,
                                                                 "CustomAttributes": added})
        pool = (await op.call("cognito-idp", "DescribeUserPool", {"UserPoolId": op.physical_id}))["UserPool"]
        return self._attributes(pool)

    async def delete(self, op: ResourceOp):
        await op.call("cognito-idp", "DeleteUserPool", {"UserPoolId": op.physical_id})


class UserPoolClient(ResourceType):
    type_name = "AWS::Cognito::UserPoolClient"

    async def create(self, op: ResourceOp):
        props = op.properties
        params = {"UserPoolId": props["UserPoolId"], "ClientName": op.name("ClientName", max_length=128),
                  "GenerateSecret": props.get("GenerateSecret", False), **_pick(props, _CLIENT_SETTINGS)}
        client = (await op.call("cognito-idp", "CreateUserPoolClient", params))["UserPoolClient"]
        return client["ClientId"], self._attributes(client)

    @staticmethod
    def _attributes(client: dict) -> dict:
        out = {"ClientId": client["ClientId"], "Name": client["ClientName"]}
        if client.get("ClientSecret"):
            out["ClientSecret"] = client["ClientSecret"]
        return out

    async def update(self, op: ResourceOp):
        props = op.properties
        params = {"UserPoolId": props["UserPoolId"], "ClientId": op.physical_id,
                  "ClientName": op.name("ClientName", max_length=128), **_pick(props, _CLIENT_SETTINGS)}
        client = (await op.call("cognito-idp", "UpdateUserPoolClient", params))["UserPoolClient"]
        return self._attributes(client)

    async def delete(self, op: ResourceOp):
        await op.call("cognito-idp", "DeleteUserPoolClient", {"UserPoolId": op.properties["UserPoolId"],
                                                              "ClientId": op.physical_id})


class UserPoolDomain(ResourceType):
    type_name = "AWS::Cognito::UserPoolDomain"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("cognito-idp", "CreateUserPoolDomain", {
            "UserPoolId": props["UserPoolId"], "Domain": props["Domain"],
            "CustomDomainConfig": props.get("CustomDomainConfig"), "ManagedLoginVersion": props.get("ManagedLoginVersion")})
        return props["Domain"], {"CloudFrontDistribution": out["CloudFrontDomain"]}

    async def delete(self, op: ResourceOp):
        await op.call("cognito-idp", "DeleteUserPoolDomain", {"UserPoolId": op.properties["UserPoolId"],
                                                              "Domain": op.physical_id})


class UserPoolGroup(ResourceType):
    type_name = "AWS::Cognito::UserPoolGroup"

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("GroupName", max_length=128)
        await op.call("cognito-idp", "CreateGroup", {"UserPoolId": props["UserPoolId"], "GroupName": name,
                                                     **_pick(props, ("Description", "RoleArn", "Precedence"))})
        return name, {}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("cognito-idp", "UpdateGroup", {"UserPoolId": props["UserPoolId"], "GroupName": op.physical_id,
                                                     **_pick(props, ("Description", "RoleArn", "Precedence"))})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("cognito-idp", "DeleteGroup", {"UserPoolId": op.properties["UserPoolId"],
                                                     "GroupName": op.physical_id})


class UserPoolResourceServer(ResourceType):
    type_name = "AWS::Cognito::UserPoolResourceServer"

    async def create(self, op: ResourceOp):
        props = op.properties
        await op.call("cognito-idp", "CreateResourceServer", {"UserPoolId": props["UserPoolId"],
                                                              "Identifier": props["Identifier"], "Name": props["Name"],
                                                              "Scopes": props.get("Scopes")})
        return props["Identifier"], {}

    async def update(self, op: ResourceOp):
        props = op.properties
        await op.call("cognito-idp", "UpdateResourceServer", {"UserPoolId": props["UserPoolId"],
                                                              "Identifier": op.physical_id, "Name": props["Name"],
                                                              "Scopes": props.get("Scopes")})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("cognito-idp", "DeleteResourceServer", {"UserPoolId": op.properties["UserPoolId"],
                                                              "Identifier": op.physical_id})


class IdentityPool(ResourceType):
    type_name = "AWS::Cognito::IdentityPool"
    name_length = 128

    def _params(self, op: ResourceOp) -> dict:
        props = op.properties
        name = op.name("IdentityPoolName", max_length=128).replace("-", "_")
        return {"IdentityPoolName": name, "AllowUnauthenticatedIdentities": props["AllowUnauthenticatedIdentities"],
                **_pick(props, ("AllowClassicFlow", "SupportedLoginProviders", "DeveloperProviderName",
                                "OpenIdConnectProviderARNs", "CognitoIdentityProviders", "SamlProviderARNs"))}

    async def create(self, op: ResourceOp):
        pool = await op.call("cognito-identity", "CreateIdentityPool", self._params(op))
        return pool["IdentityPoolId"], {"Id": pool["IdentityPoolId"], "Name": pool["IdentityPoolName"]}

    async def update(self, op: ResourceOp):
        pool = await op.call("cognito-identity", "UpdateIdentityPool", {"IdentityPoolId": op.physical_id,
                                                                         **self._params(op)})
        return {"Id": op.physical_id, "Name": pool["IdentityPoolName"]}

    async def delete(self, op: ResourceOp):
        await op.call("cognito-identity", "DeleteIdentityPool", {"IdentityPoolId": op.physical_id})


class IdentityPoolRoleAttachment(ResourceType):
    type_name = "AWS::Cognito::IdentityPoolRoleAttachment"

    async def create(self, op: ResourceOp):
        await self._apply(op)
        return op.properties["IdentityPoolId"], {}

    async def update(self, op: ResourceOp):
        await self._apply(op)
        return {}

    async def _apply(self, op: ResourceOp) -> None:
        props = op.properties
        await op.call("cognito-identity", "SetIdentityPoolRoles", {
            "IdentityPoolId": props["IdentityPoolId"], "Roles": props.get("Roles") or {},
            "RoleMappings": props.get("RoleMappings")})

    async def delete(self, op: ResourceOp):
        await op.call("cognito-identity", "SetIdentityPoolRoles", {"IdentityPoolId": op.physical_id, "Roles": {}})
