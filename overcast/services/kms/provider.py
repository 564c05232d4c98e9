"""AWS KMS (awsJson 1.1): symmetric encryption keys (SYMMETRIC_DEFAULT, AES-256-GCM), RSA keys
(encryption or signing), ECC signing keys and HMAC keys; their aliases, tags, policies, grants,
rotations and imported key material; and the AWS managed keys (`alias/aws/<service>`) that
services use when no key of the customer's is named (DynamoDB's server-side encryption).

A key's material is sealed at rest with overcast's key (storage/sealing.py), as a JSON document
{"current": id, "versions": {id: base64}, "pending": id, "imports": {...}}: a symmetric key keeps
every version rotation made, so old ciphertexts still decrypt. (Keys made before rotation existed
hold the bare 32 bytes: read as one version.) A symmetric ciphertext names its key and key
material version, so Decrypt needs no KeyId, and is bound to the encryption context (AES-GCM's
associated data), as KMS's ciphertexts are. Custom key stores and multi-Region keys answer AWS's
errors for what is not done.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
import uuid

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from overcast.aws.errors import AwsError, not_implemented
from overcast.services.base import Provider
from overcast.services.kms import crypto
from overcast.services.kms.store import KmsStore
from overcast.storage.sealing import sealer

SYMMETRIC = "SYMMETRIC_DEFAULT"
DAY = 86400
# AWS's descriptions of the AWS managed keys overcast's services make
MANAGED_DESCRIPTIONS = {
    "dynamodb": "Default key that protects my DynamoDB data when no other key is defined",
    "s3": "Default key that protects my S3 objects when no other key is defined",
}
# a key id, or a multi-Region key's (both 36 characters: a ciphertext's header holds either)
_KEY_ID = re.compile(r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$")
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key/(.+)$")
_ALIAS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias/.+)$")
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
_CIPHERTEXT_V1 = b"\x01"  # version byte, key id, nonce, AES-GCM output (keys before rotation existed)
_CIPHERTEXT_VERSION = b"\x02"  # version byte, key id, key material id (32 bytes), nonce, AES-GCM output
_NONCE = 12
ON_DEMAND_ROTATIONS = 10  # AWS's limit of RotateKeyOnDemand per key
IMPORT_PARAMETERS_DAYS = 1  # GetParametersForImport's public key and token are valid 24 hours


def _not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message)


def _invalid_ciphertext() -> AwsError:
    return AwsError("InvalidCiphertextException", "", _no_message=True)  # AWS's has no message member


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def _material_id() -> str:
    return hashlib.sha256(os.urandom(32)).hexdigest()


def _usage_error(metadata: dict, operation: str) -> AwsError:
    return AwsError("InvalidKeyUsageException", f"{metadata['Arn']} key usage is {metadata['KeyUsage']} which is not "
                    f"valid for {operation}.")


def _algorithm_error(algorithm: str, metadata: dict) -> AwsError:
    return AwsError("InvalidKeyUsageException", f"Algorithm {algorithm} is incompatible with key spec "
                    f"{metadata['KeySpec']}.")


def _context_bytes(context: dict | None) -> bytes:
    """The encryption context as AES-GCM's associated data: the same pairs in any order give the same bytes."""
    return orjson.dumps(context or {}, option=orjson.OPT_SORT_KEYS)


class KmsProvider(Provider):
    service = "kms"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = KmsStore(self.db)
        self.sealer = sealer(self.config, self.db)

    # -- finding keys -------------------------------------------------------------------------

    @staticmethod
    def _arn(account: str, region: str, key_id: str) -> str:
        return f"arn:aws:kms:{region}:{account}:key/{key_id}"

    def _key_id(self, account: str, region: str, given, aliases: bool = True) -> str:
        """The key id that `given` (a key id or ARN, or with `aliases` an alias name or ARN) names."""
        if not isinstance(given, str) or not given:
            raise _not_found(f"Invalid keyId '{given}'")
        if given.startswith("alias/") or _ALIAS_ARN.match(given):
            match = _ALIAS_ARN.match(given)
            if match and (match.group(1), match.group(2)) != (region, account):
                raise _not_found(f"Alias {given} is not found.")
            name = match.group(3) if match else given
            if not aliases:
                raise _not_found(f"Invalid keyId '{given}'")
            row = self.store.get_alias(account, region, name)
            if row is not None:
                return row[1]
            service = name[len("alias/aws/"):] if name.startswith("alias/aws/") else ""
            if service and "/" not in service:
                # a predefined alias names the service's AWS managed key, made on first use (DescribeKey says so)
                return self._managed_key_id(account, region, service)
            raise _not_found(f"Alias arn:aws:kms:{region}:{account}:{name} is not found.")
        match = _KEY_ARN.match(given)
        if match:
            if match.group(1) != region:  # as KMS answers a key ARN of another region
                raise _not_found(f"Invalid arn {match.group(1)}")
            if match.group(2) != account or not _KEY_ID.match(match.group(3)):
                raise _not_found(f"Key '{given}' does not exist")
            return match.group(3)
        if not _KEY_ID.match(given):
            raise _not_found(f"Invalid keyId '{given}'")
        return given

    def _load(self, ctx, given, aliases: bool = True) -> tuple[dict, bytes]:
        key_id = self._key_id(ctx.account, ctx.region, given, aliases)
        found = self.store.get_key(ctx.account, ctx.region, key_id)
        if found is not None and found[0]["KeyState"] == "PendingDeletion" and found[0]["DeletionDate"] <= time.time():
            # the waiting period is over: the key is gone, and so are its aliases
            self._destroy(ctx.account, ctx.region, key_id)
            found = None
        if found is None:
            raise _not_found(f"Key '{self._arn(ctx.account, ctx.region, key_id)}' does not exist")
        metadata, sealed = found[0], found[1]
        if metadata.get("ValidTo") and metadata["ValidTo"] <= time.time() and metadata["KeyState"] != "PendingImport":
            # imported material that expires is gone at its ValidTo, as AWS deletes it
            state = self._state(metadata, sealed)
            self._unimport(metadata, state)
            sealed = self._save_state(ctx.account, ctx.region, metadata, state)
        rotation = metadata.get("_rotation")
        if rotation and rotation["enabled"] and rotation["next"] <= time.time() and metadata["KeyState"] == "Enabled":
            # automatic rotation is due: made on the first use after its date (no timer needed)
            sealed = self._rotate(ctx.account, ctx.region, metadata, sealed, "AUTOMATIC")
        return metadata, sealed

    # -- key material -------------------------------------------------------------------------

    def _state(self, metadata: dict, sealed: bytes) -> dict:
        raw = self.sealer.open(sealed, metadata["Arn"].encode())
        if raw[:1] == b"{":
            return orjson.loads(raw)
        return {"current": metadata["CurrentKeyMaterialId"],
                "versions": {metadata["CurrentKeyMaterialId"]: base64.b64encode(raw).decode()}}

    def _sealed_state(self, metadata: dict, state: dict) -> bytes:
        return self.sealer.seal(orjson.dumps(state), metadata["Arn"].encode())

    @staticmethod
    def _material(state: dict, material_id: str | None = None) -> bytes:
        return base64.b64decode(state["versions"][material_id or state["current"]])

    def _save_state(self, account: str, region: str, metadata: dict, state: dict) -> bytes:
        sealed = self._sealed_state(metadata, state)
        self.store.save_material(account, region, metadata["KeyId"], metadata, sealed)
        return sealed

    def _rotate(self, account: str, region: str, metadata: dict, sealed: bytes, kind: str) -> bytes:
        """New key material for a symmetric key (or the imported material pending rotation);
        the old versions stay, so what they encrypted still decrypts."""
        state = self._state(metadata, sealed)
        now = time.time()
        if metadata["Origin"] == "EXTERNAL":
            state["current"] = state.pop("pending")
        else:
            material_id = _material_id()
            state["versions"][material_id] = base64.b64encode(crypto.generate(crypto.SYMMETRIC)).decode()
            state["current"] = material_id
        metadata["CurrentKeyMaterialId"] = state["current"]
        metadata.setdefault("_rotations", []).append({"KeyMaterialId": state["current"], "RotationDate": now,
                                                      "RotationType": kind})
        rotation = metadata.get("_rotation")
        if kind == "AUTOMATIC" and rotation:
            while rotation["next"] <= now:
                rotation["next"] += rotation["period"] * DAY
        with self.store.transaction():
            sealed = self._save_state(account, region, metadata, state)
            self._sync_replicas(account, region, metadata, state)
        return sealed

    # -- multi-Region keys --------------------------------------------------------------------

    def _sync_replicas(self, account: str, region: str, primary: dict, state: dict) -> None:
        """A multi-Region primary key's material and replica list, copied to each of its replicas
        (they share the key material: what one encrypts, the others decrypt)."""
        if (primary.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType") != "PRIMARY":
            return
        replicas = [r for r in self.store.key_regions(account, primary["KeyId"]) if r != region]
        primary["MultiRegionConfiguration"]["ReplicaKeys"] = [
            {"Arn": self._arn(account, r, primary["KeyId"]), "Region": r} for r in replicas]
        self.store.save_metadata(account, region, primary["KeyId"], primary)
        for replica_region in replicas:
            found = self.store.get_key(account, replica_region, primary["KeyId"])
            metadata = found[0]
            metadata["MultiRegionConfiguration"] = {**primary["MultiRegionConfiguration"],
                                                    "MultiRegionKeyType": "REPLICA"}
            if "CurrentKeyMaterialId" in primary:
                metadata["CurrentKeyMaterialId"] = primary["CurrentKeyMaterialId"]
            metadata["_rotations"] = primary.get("_rotations", [])
            self._save_state(account, replica_region, metadata,
                             {"current": state["current"], "versions": state["versions"]})

    def replicate_key(self, ctx, params: dict) -> dict:
        metadata, sealed = self._load(ctx, params.get("KeyId"), aliases=False)
        if (metadata.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType") != "PRIMARY":
            raise AwsError("UnsupportedOperationException", f"{metadata['Arn']} is not a multi-region primary key.")
        target = params.get("ReplicaRegion") or ""
        if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d+$", target):
            raise _validation(f"1 validation error detected: Value '{target}' at 'replicaRegion' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$")
        if target == ctx.region or self.store.get_key(ctx.account, target, metadata["KeyId"]) is not None:
            raise AwsError("AlreadyExistsException", f"Key {self._arn(ctx.account, target, metadata['KeyId'])} "
                           "already exists")
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        tags = self._checked_tags(params.get("Tags") or [])
        if params.get("Policy") is not None:
            self._checked_policy(params["Policy"])
        self._dry_run(params)
        arn = self._arn(ctx.account, target, metadata["KeyId"])
        replica = {k: v for k, v in metadata.items() if k not in ("DeletionDate", "PendingDeletionWindowInDays",
                                                                 "_rotation")}
        replica.update(Arn=arn, CreationDate=time.time(), Description=params.get("Description") or "",
                       KeyState="Enabled", Enabled=True)
        policy = params.get("Policy") or orjson.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ctx.account}:root"}, "Action": "kms:*", "Resource": "*"}]}).decode()
        state = self._state(metadata, sealed)
        with self.store.transaction():
            self.store.create_key(ctx.account, target, metadata["KeyId"], replica,
                                  self._sealed_state(replica, {"current": state["current"],
                                                               "versions": state["versions"]}), tags, policy)
            self._sync_replicas(ctx.account, ctx.region, metadata, state)
        replica = self.store.get_key(ctx.account, target, metadata["KeyId"])[0]
        described = self._described(replica)
        # AWS answers while the replica is still being made: its material is not named yet
        described.pop("CurrentKeyMaterialId", None)
        out = {"ReplicaKeyMetadata": described, "ReplicaPolicy": policy}
        if tags:
            out["ReplicaTags"] = tags
        return out


    def _destroy(self, account: str, region: str, key_id: str) -> None:
        found = self.store.get_key(account, region, key_id)
        config = (found[0].get("MultiRegionConfiguration") or {}) if found else {}
        with self.store.transaction():
            for alias in self.store.list_aliases(account, region, key_id, "", 1000):
                self.store.delete_alias(account, region, alias[0])
            self.store.delete_grants_of(account, region, key_id)
            self.db.execute("DELETE FROM kms_keys WHERE account = ? AND region = ? AND key_id = ?",
                            (account, region, key_id))
            if config.get("MultiRegionKeyType") == "REPLICA":  # the primary lists its replicas left
                primary_region = config["PrimaryKey"]["Region"]
                primary = self.store.get_key(account, primary_region, key_id)
                if primary is not None:
                    self._sync_replicas(account, primary_region, primary[0], self._state(primary[0], primary[1]))

    @staticmethod
    def _check_state(metadata: dict) -> None:
        """A key that may be used now: enabled, not pending deletion nor import."""
        if metadata["KeyState"] == "Disabled":
            raise AwsError("DisabledException", f"{metadata['Arn']} is disabled.")
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        if metadata["KeyState"] == "PendingImport":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending import.")

    def _usable(self, ctx, given, operation: str | None = None, usage: str = "ENCRYPT_DECRYPT") -> tuple[dict, dict]:
        """A key that may be used now, with its material; with `operation`, one of `usage`."""
        metadata, sealed = self._load(ctx, given)
        if operation and metadata["KeyUsage"] != usage:
            raise _usage_error(metadata, operation)
        self._check_state(metadata)
        return metadata, self._state(metadata, sealed)

    def _usable_symmetric(self, ctx, given, operation: str) -> tuple[dict, dict]:
        """A symmetric encryption key that may be used now (data keys are sealed under one)."""
        metadata, state = self._usable(ctx, given, operation)
        if metadata["KeySpec"] != SYMMETRIC:
            raise AwsError("InvalidKeyUsageException", f"{metadata['Arn']} key spec is {metadata['KeySpec']} which "
                           f"is not valid for {operation}.")
        return metadata, state

    def _new_key(self, account: str, region: str, description: str, manager: str, tags: list, policy: str | None,
                 alias: str | None = None, spec: str = SYMMETRIC, usage: str = "ENCRYPT_DECRYPT",
                 origin: str = "AWS_KMS", multi_region: bool = False) -> dict:
        key_id = f"mrk-{uuid.uuid4().hex}" if multi_region else str(uuid.uuid4())
        arn = self._arn(account, region, key_id)
        external = origin == "EXTERNAL"
        metadata = {
            "AWSAccountId": account, "KeyId": key_id, "Arn": arn, "CreationDate": time.time(), "Enabled": not external,
            "Description": description, "KeyUsage": usage, "KeyState": "PendingImport" if external else "Enabled",
            "Origin": origin, "KeyManager": manager, "CustomerMasterKeySpec": spec, "KeySpec": spec,
            **crypto.algorithms(spec, usage), "MultiRegion": multi_region,
        }
        if multi_region:
            metadata["MultiRegionConfiguration"] = {"MultiRegionKeyType": "PRIMARY",
                                                    "PrimaryKey": {"Arn": arn, "Region": region}, "ReplicaKeys": []}
        state: dict = {"current": None, "versions": {}}
        if not external:
            material_id = _material_id()
            state = {"current": material_id, "versions": {material_id: base64.b64encode(crypto.generate(spec)).decode()}}
            if spec == SYMMETRIC:  # AWS names the material of symmetric keys only
                metadata["CurrentKeyMaterialId"] = material_id
        policy = policy or orjson.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"}]}).decode()
        material = self._sealed_state(metadata, state)
        with self.store.transaction():
            self.store.create_key(account, region, key_id, metadata, material, tags, policy)
            if alias:
                self.store.put_alias(account, region, alias, key_id, metadata["CreationDate"])
        return metadata

    def _managed_key_id(self, account: str, region: str, service: str) -> str:
        alias = f"alias/aws/{service}"
        with self.store.transaction():
            row = self.store.get_alias(account, region, alias)  # two callers may race: the first alias wins
            if row is not None:
                return row[1]
            description = MANAGED_DESCRIPTIONS.get(service, f"Default key that protects my {service} data when no "
                                                            "other key is defined")
            return self._new_key(account, region, description, "AWS", [], None, alias)["KeyId"]

    # -- for other services -------------------------------------------------------------------

    def managed_key_arn(self, account: str, region: str, service: str) -> str:
        """The ARN of `service`'s AWS managed key (alias/aws/<service>) in the account and region."""
        return self._arn(account, region, self._managed_key_id(account, region, service))

    def usable_key_arn(self, account: str, region: str, given: str) -> str:
        """The ARN of the key that `given` (id, ARN, alias; alias/aws/<service> is made on first
        use) names, if it may be used now; else KMS's error for it (NotFoundException,
        DisabledException, KMSInvalidStateException), which S3 answers as KMS.<code>."""
        key_id = self._key_id(account, region, given)
        found = self.store.get_key(account, region, key_id)
        if found is None or (found[0]["KeyState"] == "PendingDeletion" and found[0]["DeletionDate"] <= time.time()):
            raise _not_found(f"Key '{self._arn(account, region, key_id)}' does not exist")
        metadata = found[0]
        self._check_state(metadata)
        return metadata["Arn"]

    def key_arn(self, account: str, region: str, given: str) -> str | None:
        """The ARN of the key that `given` (id, ARN, alias) names, or None when there is none."""
        try:
            key_id = self._key_id(account, region, given)
        except AwsError:
            return None
        found = self.store.get_key(account, region, key_id)
        return found[0]["Arn"] if found is not None else None

    # -- keys ---------------------------------------------------------------------------------

    @staticmethod
    def _described(metadata: dict) -> dict:
        out = {k: v for k, v in metadata.items() if not k.startswith("_")}  # "_" members are overcast's own
        if out["KeyState"] != "PendingDeletion":
            out.pop("DeletionDate", None)
            out.pop("PendingDeletionWindowInDays", None)
        return out

    def create_key(self, ctx, params: dict) -> dict:
        spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or SYMMETRIC
        # values outside the model's enums were refused by the protocol layer: these are AWS's
        # newer or China-only specs (SM2, ML-DSA, ML-KEM, Ed25519), not done
        if spec not in crypto.KEY_SPECS:
            raise not_implemented(f"KMS keys of KeySpec {spec}")
        usage = params.get("KeyUsage")
        if usage is not None and usage not in (*crypto.KEY_USAGES, crypto.KEY_AGREEMENT):
            raise not_implemented(f"KMS keys of KeyUsage {usage}")
        if spec != SYMMETRIC and not usage:
            raise _validation("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
        usage = usage or "ENCRYPT_DECRYPT"
        if usage not in crypto.usages(spec):
            raise _validation(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
        origin = params.get("Origin") or "AWS_KMS"
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise not_implemented(f"KMS keys of Origin {origin}")
        if params.get("MultiRegion") and origin == "EXTERNAL":
            raise not_implemented("KMS multi-Region keys of imported key material")
        if params.get("CustomKeyStoreId") or params.get("XksKeyId"):
            raise not_implemented("KMS custom key stores")
        tags = self._checked_tags(params.get("Tags") or [], ctx.caller)
        if len(tags) > 50:
            raise AwsError("TagException", "Too many tags")
        if params.get("Policy") is not None:
            self._checked_policy(params["Policy"])
        metadata = self._new_key(ctx.account, ctx.region, params.get("Description") or "", "CUSTOMER", tags,
                                 params.get("Policy"), spec=spec, usage=usage, origin=origin,
                                 multi_region=bool(params.get("MultiRegion")))
        return {"KeyMetadata": self._described(metadata)}

    def describe_key(self, ctx, params: dict) -> dict:
        metadata, _ = self._load(ctx, params.get("KeyId"))
        return {"KeyMetadata": self._described(metadata)}

    def list_keys(self, ctx, params: dict) -> dict:
        limit = params.get("Limit") or 1000
        rows = self.store.list_keys(ctx.account, ctx.region, params.get("Marker") or "", limit + 1)
        out: dict = {"Keys": [{"KeyId": key_id, "KeyArn": metadata["Arn"]} for key_id, metadata in rows[:limit]],
                     "Truncated": len(rows) > limit}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit - 1][0]
        return out

    def _customer_key(self, ctx, params: dict) -> dict:
        """A key the caller manages (by key id or ARN): AWS managed keys' state is AWS's."""
        metadata, _ = self._load(ctx, params.get("KeyId"), aliases=False)
        if metadata["KeyManager"] == "AWS":
            raise AwsError("UnsupportedOperationException",
                           f"{metadata['Arn']} is an AWS managed key, whose state only AWS changes.")
        return metadata

    def _set_state(self, ctx, metadata: dict, **changes) -> dict:
        metadata.update(changes)
        self.store.save_metadata(ctx.account, ctx.region, metadata["KeyId"], metadata)
        return metadata

    def enable_key(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        self._set_state(ctx, metadata, Enabled=True, KeyState="Enabled")
        return {}

    def disable_key(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        self._set_state(ctx, metadata, Enabled=False, KeyState="Disabled")
        return {}

    def schedule_key_deletion(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        days = params.get("PendingWindowInDays") or 30
        if not 7 <= days <= 30:
            raise _validation(f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to "
                              "satisfy constraint: Member must have value less than or equal to 30")
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        when = time.time() + days * DAY
        self._set_state(ctx, metadata, Enabled=False, KeyState="PendingDeletion", DeletionDate=when,
                        PendingDeletionWindowInDays=days)
        return {"KeyId": metadata["Arn"], "DeletionDate": when, "KeyState": "PendingDeletion",
                "PendingWindowInDays": days}

    def cancel_key_deletion(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        if metadata["KeyState"] != "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is not pending deletion.")
        metadata.pop("DeletionDate", None)
        metadata.pop("PendingDeletionWindowInDays", None)
        self._set_state(ctx, metadata, KeyState="Disabled")  # as on AWS: a key saved from deletion is disabled
        return {"KeyId": metadata["Arn"]}

    def update_key_description(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        self._set_state(ctx, metadata, Description=params.get("Description") or "")
        return {}

    # -- imported key material ---------------------------------------------------------------

    def _external_key(self, ctx, params: dict) -> tuple[dict, bytes]:
        metadata = self._customer_key(ctx, params)
        if metadata["Origin"] != "EXTERNAL":
            raise AwsError("UnsupportedOperationException",
                           f"{metadata['Arn']} origin is {metadata['Origin']} which is not valid for this operation.")
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        return metadata, self.store.get_key(ctx.account, ctx.region, metadata["KeyId"])[1]

    def get_parameters_for_import(self, ctx, params: dict) -> dict:
        metadata, sealed = self._external_key(ctx, params)
        algorithm, spec = params.get("WrappingAlgorithm"), params.get("WrappingKeySpec")
        if algorithm not in crypto.WRAPPING_ALGORITHMS or spec not in crypto.WRAPPING_KEY_SPECS:
            raise _validation(f"Wrapping algorithm {algorithm} and wrapping key spec {spec} are not supported.")
        wrapping = crypto.wrapping_key(spec)
        token = base64.b64encode(os.urandom(48)).decode()
        valid_to = time.time() + IMPORT_PARAMETERS_DAYS * DAY
        state = self._state(metadata, sealed)
        imports = {t: i for t, i in state.get("imports", {}).items() if i["valid_to"] > time.time()}
        imports[token] = {"key": base64.b64encode(wrapping).decode(), "algorithm": algorithm, "valid_to": valid_to}
        state["imports"] = imports
        self._save_state(ctx.account, ctx.region, metadata, state)
        return {"KeyId": metadata["Arn"], "ImportToken": base64.b64decode(token),
                "PublicKey": crypto.public_key_der(wrapping), "ParametersValidTo": valid_to}

    def import_key_material(self, ctx, params: dict) -> dict:
        metadata, sealed = self._external_key(ctx, params)
        state = self._state(metadata, sealed)
        token = base64.b64encode(params.get("ImportToken") or b"").decode()
        parameters = state.get("imports", {}).get(token)
        if parameters is None or parameters["valid_to"] <= time.time():
            raise AwsError("InvalidImportTokenException", "Import token is invalid or expired.")
        model = params.get("ExpirationModel") or "KEY_MATERIAL_EXPIRES"  # AWS's default
        valid_to = params.get("ValidTo")
        if model == "KEY_MATERIAL_EXPIRES" and valid_to is None:
            raise _validation("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
        if model == "KEY_MATERIAL_DOES_NOT_EXPIRE" and valid_to is not None:
            raise _validation("A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE")
        if valid_to is not None and not isinstance(valid_to, int | float):
            valid_to = valid_to.timestamp()
        if valid_to is not None and valid_to <= time.time():
            raise _validation("The ValidTo date must be in the future.")
        try:
            material = crypto.unwrap(base64.b64decode(parameters["key"]), parameters["algorithm"],
                                     params.get("EncryptedKeyMaterial") or b"")
            crypto.check_imported(metadata["KeySpec"], material)
        except crypto.CryptoFailure:
            raise AwsError("IncorrectKeyMaterialException", "") from None
        import_type = params.get("ImportType")
        existing = state["current"] is not None or bool(state["versions"])
        known = next((mid for mid, b in state["versions"].items() if base64.b64decode(b) == material), None)
        if import_type == "NEW_KEY_MATERIAL":
            if metadata["KeySpec"] != SYMMETRIC:
                raise AwsError("UnsupportedOperationException", f"{metadata['Arn']} key spec is "
                               f"{metadata['KeySpec']}, which does not support new key material.")
            if state["current"] is None:
                raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending import.")
            material_id = _material_id()
            if state.get("pending"):
                raise AwsError("KMSInvalidStateException", f"New key material (id: {material_id}) cannot be imported "
                               f"into KMS key {metadata['Arn']}, because another key material (id: "
                               f"{state['pending']}) is pending rotation.")
            state["versions"][material_id] = base64.b64encode(material).decode()
            state["pending"] = material_id
        else:
            if existing and known is None:  # reimporting: the material the key had, nothing else
                raise AwsError("IncorrectKeyMaterialException", "")
            material_id = known or _material_id()
            state["versions"][material_id] = base64.b64encode(material).decode()
            state["current"] = material_id
            metadata.update(KeyState="Enabled", Enabled=True, ExpirationModel=model)
            metadata.pop("ValidTo", None)
            if valid_to is not None:
                metadata["ValidTo"] = valid_to
            if metadata["KeySpec"] == SYMMETRIC:
                metadata["CurrentKeyMaterialId"] = material_id
        self._save_state(ctx.account, ctx.region, metadata, state)
        return {"KeyId": metadata["Arn"], "KeyMaterialId": material_id}

    @staticmethod
    def _unimport(metadata: dict, state: dict) -> None:
        """The key's material is out of use (deleted, or expired): the key waits for an import.
        The material itself is kept: reimporting the same material brings the key back."""
        state["current"], state["pending"] = None, None
        metadata.update(KeyState="PendingImport", Enabled=False)
        metadata.pop("ExpirationModel", None)
        metadata.pop("ValidTo", None)

    def delete_imported_key_material(self, ctx, params: dict) -> dict:
        metadata, sealed = self._external_key(ctx, params)
        state = self._state(metadata, sealed)
        self._unimport(metadata, state)
        self._save_state(ctx.account, ctx.region, metadata, state)
        return {"KeyId": metadata["Arn"],
                "KeyMaterialId": next(iter(state["versions"]), "")}

    # -- policies and tags --------------------------------------------------------------------

    @staticmethod
    def _checked_policy(policy: str) -> None:
        try:
            document = orjson.loads(policy)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict) or not document.get("Statement"):
            raise AwsError("MalformedPolicyDocumentException", "The new key policy will not allow you to update "
                           "the key policy in the future.")

    def get_key_policy(self, ctx, params: dict) -> dict:
        key_id = self._key_id(ctx.account, ctx.region, params.get("KeyId"), aliases=False)
        self._load(ctx, key_id)
        return {"Policy": self.store.get_key(ctx.account, ctx.region, key_id)[3], "PolicyName": "default"}

    def put_key_policy(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        if (params.get("PolicyName") or "default") != "default":
            raise _not_found("No such policy exists")
        self._checked_policy(params.get("Policy") or "")
        self.store.save_policy(ctx.account, ctx.region, metadata["KeyId"], params["Policy"])
        return {}

    def list_key_policies(self, ctx, params: dict) -> dict:
        self._load(ctx, params.get("KeyId"), aliases=False)
        return {"PolicyNames": ["default"], "Truncated": False}

    @staticmethod
    def _checked_tags(tags: list, caller: str | None = None) -> list:
        keys = [t.get("TagKey") for t in tags]
        # CloudFormation's own aws:cloudformation:* tags are the one use of the prefix
        if caller != "cloudformation" and any(k.lower().startswith("aws:") for k in keys):
            raise AwsError("TagException", "Tags beginning with aws: are reserved")
        if len(set(keys)) != len(keys):
            raise AwsError("TagException", "Duplicate tag keys")
        return [{"TagKey": t["TagKey"], "TagValue": t.get("TagValue", "")} for t in tags]

    def tag_resource(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        new = self._checked_tags(params.get("Tags") or [], ctx.caller)
        tags = {t["TagKey"]: t["TagValue"] for t in self.store.get_key(ctx.account, ctx.region, metadata["KeyId"])[2]}
        tags.update({t["TagKey"]: t["TagValue"] for t in new})
        if len(tags) > 50:
            raise AwsError("TagException", "Too many tags")
        self.store.save_tags(ctx.account, ctx.region, metadata["KeyId"],
                             [{"TagKey": k, "TagValue": v} for k, v in tags.items()])
        return {}

    def untag_resource(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        gone = set(params.get("TagKeys") or [])
        tags = self.store.get_key(ctx.account, ctx.region, metadata["KeyId"])[2]
        self.store.save_tags(ctx.account, ctx.region, metadata["KeyId"], [t for t in tags if t["TagKey"] not in gone])
        return {}

    def list_resource_tags(self, ctx, params: dict) -> dict:
        key_id = self._key_id(ctx.account, ctx.region, params.get("KeyId"), aliases=False)
        self._load(ctx, key_id)
        return {"Tags": self.store.get_key(ctx.account, ctx.region, key_id)[2], "Truncated": False}

    # -- aliases ------------------------------------------------------------------------------

    @staticmethod
    def _check_alias_name(name) -> None:
        if not isinstance(name, str) or not name.startswith("alias/"):
            raise _validation('Alias must start with the prefix "alias/". Please see '
                              "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
        if name.startswith("alias/aws/"):
            raise AwsError("NotAuthorizedException", "Cannot create alias with prefix 'alias/aws/'")
        if not _ALIAS_NAME.match(name):
            raise _validation(f"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")

    def create_alias(self, ctx, params: dict) -> dict:
        name = params.get("AliasName")
        self._check_alias_name(name)
        metadata = self._customer_key(ctx, {"KeyId": params.get("TargetKeyId")})
        with self.store.transaction():
            if self.store.get_alias(ctx.account, ctx.region, name) is not None:
                raise AwsError("AlreadyExistsException",
                               f"An alias with the name arn:aws:kms:{ctx.region}:{ctx.account}:{name} already exists")
            self.store.put_alias(ctx.account, ctx.region, name, metadata["KeyId"], time.time())
        return {}

    def update_alias(self, ctx, params: dict) -> dict:
        name = params.get("AliasName")
        self._check_alias_name(name)
        metadata = self._customer_key(ctx, {"KeyId": params.get("TargetKeyId")})
        if self.store.get_alias(ctx.account, ctx.region, name) is None:
            raise _not_found(f"Alias arn:aws:kms:{ctx.region}:{ctx.account}:{name} is not found.")
        self.store.retarget_alias(ctx.account, ctx.region, name, metadata["KeyId"], time.time())
        return {}

    def delete_alias(self, ctx, params: dict) -> dict:
        name = params.get("AliasName")
        self._check_alias_name(name)
        if self.store.get_alias(ctx.account, ctx.region, name) is None:
            raise _not_found(f"Alias arn:aws:kms:{ctx.region}:{ctx.account}:{name} is not found.")
        self.store.delete_alias(ctx.account, ctx.region, name)
        return {}

    def list_aliases(self, ctx, params: dict) -> dict:
        key_id = None
        if params.get("KeyId"):
            key_id = self._key_id(ctx.account, ctx.region, params["KeyId"], aliases=False)
            self._load(ctx, key_id)
        limit = params.get("Limit") or 100
        rows = self.store.list_aliases(ctx.account, ctx.region, key_id, params.get("Marker") or "", limit + 1)
        out: dict = {"Aliases": [{"AliasName": name, "AliasArn": f"arn:aws:kms:{ctx.region}:{ctx.account}:{name}",
                                  "TargetKeyId": target, "CreationDate": created, "LastUpdatedDate": updated}
                                 for name, target, created, updated in rows[:limit]],
                     "Truncated": len(rows) > limit}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit - 1][0]
        return out

    # -- grants -------------------------------------------------------------------------------

    # Grants are kept and answered, not enforced, as key policies are (and IAM policies in overcast)

    def create_grant(self, ctx, params: dict) -> dict:
        metadata, _ = self._load(ctx, params.get("KeyId"), aliases=False)
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        name = params.get("Name")
        if name:  # a retry with the same name answers the same grant, as AWS's does
            for grant_id, token, grant in self.store.grants(ctx.account, ctx.region, metadata["KeyId"]):
                if grant.get("Name") == name:
                    return {"GrantId": grant_id, "GrantToken": token}
        self._dry_run(params)
        grant_id = hashlib.sha256(os.urandom(32)).hexdigest()
        token = base64.urlsafe_b64encode(os.urandom(96)).decode().rstrip("=")
        grant = {"KeyId": metadata["Arn"], "GrantId": grant_id, "CreationDate": time.time(),
                 "GranteePrincipal": params.get("GranteePrincipal"),
                 "IssuingAccount": f"arn:aws:iam::{ctx.account}:root", "Operations": params.get("Operations") or []}
        for member in ("Name", "RetiringPrincipal", "Constraints"):
            if params.get(member):
                grant[member] = params[member]
        self.store.put_grant(ctx.account, ctx.region, grant_id, metadata["KeyId"], token, grant)
        return {"GrantId": grant_id, "GrantToken": token}

    def list_grants(self, ctx, params: dict) -> dict:
        key_id = self._key_id(ctx.account, ctx.region, params.get("KeyId"), aliases=False)
        self._load(ctx, key_id)
        grants = [g for _, _, g in self.store.grants(ctx.account, ctx.region, key_id)
                  if (not params.get("GrantId") or g["GrantId"] == params["GrantId"])
                  and (not params.get("GranteePrincipal") or g["GranteePrincipal"] == params["GranteePrincipal"])]
        return self._page(grants, params, "GrantId")

    def list_retirable_grants(self, ctx, params: dict) -> dict:
        return self._page(self.store.retirable_grants(ctx.account, ctx.region, params.get("RetiringPrincipal")),
                          params, "GrantId")

    @staticmethod
    def _page(items: list[dict], params: dict, member: str) -> dict:
        marker, limit = params.get("Marker"), params.get("Limit") or 50
        if marker:
            items = [i for i in items if i[member] > marker]
        out: dict = {"Grants": items[:limit], "Truncated": len(items) > limit}
        if len(items) > limit:
            out["NextMarker"] = items[limit - 1][member]
        return out

    def _grant_of_key(self, ctx, key_given, grant_id) -> tuple[str, str]:
        key_id = self._key_id(ctx.account, ctx.region, key_given, aliases=False)
        self._load(ctx, key_id)
        if not any(g == grant_id for g, _, _ in self.store.grants(ctx.account, ctx.region, key_id)):
            raise _not_found(f"Grant ID {grant_id} not found")
        return key_id, grant_id

    def revoke_grant(self, ctx, params: dict) -> dict:
        _, grant_id = self._grant_of_key(ctx, params.get("KeyId"), params.get("GrantId"))
        self._dry_run(params)
        self.store.delete_grant(ctx.account, ctx.region, grant_id)
        return {}

    def retire_grant(self, ctx, params: dict) -> dict:
        if params.get("GrantToken"):
            found = self.store.grant_by_token(params["GrantToken"])
            if found is None or (found[0], found[1]) != (ctx.account, ctx.region):
                raise AwsError("InvalidGrantTokenException", "Grant token is invalid.")
            grant_id = found[3]
        elif params.get("KeyId") and params.get("GrantId"):
            _, grant_id = self._grant_of_key(ctx, params["KeyId"], params["GrantId"])
        else:
            raise _validation("Either GrantToken or both KeyId and GrantId must be specified.")
        self._dry_run(params)
        self.store.delete_grant(ctx.account, ctx.region, grant_id)
        return {}

    # -- rotation -----------------------------------------------------------------------------

    @staticmethod
    def _not_replica(metadata: dict) -> None:
        if (metadata.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType") == "REPLICA":
            raise AwsError("UnsupportedOperationException", f"{metadata['Arn']} is a multi-Region replica key: "
                           "its primary key's rotation applies to it.")

    def _rotatable(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        self._check_state(metadata)
        self._not_replica(metadata)
        if metadata["KeySpec"] != SYMMETRIC:
            raise AwsError("UnsupportedOperationException", "", _no_message=True)
        return metadata

    def enable_key_rotation(self, ctx, params: dict) -> dict:
        metadata = self._rotatable(ctx, params)
        if metadata["Origin"] == "EXTERNAL":
            raise AwsError("UnsupportedOperationException",
                           f"{metadata['Arn']} origin is EXTERNAL which is not valid for this operation.")
        period = params.get("RotationPeriodInDays") or 365
        if not 90 <= period <= 2560:
            bound = "greater than or equal to 90" if period < 90 else "less than or equal to 2560"
            raise _validation(f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to "
                              f"satisfy constraint: Member must have value {bound}")
        self._set_state(ctx, metadata, _rotation={"enabled": True, "period": period,
                                                  "next": time.time() + period * DAY})
        return {}

    def disable_key_rotation(self, ctx, params: dict) -> dict:
        metadata = self._rotatable(ctx, params)
        rotation = metadata.get("_rotation")
        if rotation:
            self._set_state(ctx, metadata, _rotation={**rotation, "enabled": False})
        return {}

    def get_key_rotation_status(self, ctx, params: dict) -> dict:
        metadata, _ = self._load(ctx, params.get("KeyId"), aliases=False)
        rotation = metadata.get("_rotation") or {}
        out: dict = {"KeyId": metadata["Arn"], "KeyRotationEnabled": bool(rotation.get("enabled"))}
        if rotation.get("enabled"):
            out.update(RotationPeriodInDays=rotation["period"], NextRotationDate=rotation["next"])
        return out

    def rotate_key_on_demand(self, ctx, params: dict) -> dict:
        """The rotation is made before the answer (AWS's completes shortly after): no
        OnDemandRotationStartDate is ever pending."""
        metadata = self._customer_key(ctx, params)
        self._check_state(metadata)
        if metadata["KeySpec"] != SYMMETRIC:
            raise AwsError("UnsupportedOperationException", "", _no_message=True)
        self._not_replica(metadata)
        sealed = self.store.get_key(ctx.account, ctx.region, metadata["KeyId"])[1]
        if metadata["Origin"] == "EXTERNAL" and not self._state(metadata, sealed).get("pending"):
            raise AwsError("KMSInvalidStateException",
                           f"No available key material pending rotation for the key: {metadata['Arn']}.")
        if sum(r["RotationType"] == "ON_DEMAND" for r in metadata.get("_rotations", [])) >= ON_DEMAND_ROTATIONS:
            raise AwsError("LimitExceededException", "The on-demand rotations limit has been reached for the given "
                           f"keyId. No more on-demand rotations can be performed for this key: {metadata['Arn']}")
        self._rotate(ctx.account, ctx.region, metadata, sealed, "ON_DEMAND")
        return {"KeyId": metadata["Arn"]}

    def list_key_rotations(self, ctx, params: dict) -> dict:
        metadata, _ = self._load(ctx, params.get("KeyId"), aliases=False)
        rotations = [{"KeyId": metadata["Arn"], **r} for r in metadata.get("_rotations", [])]
        start = int(params["Marker"]) if str(params.get("Marker") or "").isdigit() else 0
        limit = params.get("Limit") or 100
        out: dict = {"Rotations": rotations[start:start + limit], "Truncated": len(rotations) > start + limit}
        if out["Truncated"]:
            out["NextMarker"] = str(start + limit)
        return out

    # -- cryptography -------------------------------------------------------------------------

    def _seal(self, metadata: dict, state: dict, plaintext: bytes, context: dict | None) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._material(state)).encrypt(nonce, plaintext, _context_bytes(context))
        return _CIPHERTEXT_VERSION + metadata["KeyId"].encode() + bytes.fromhex(state["current"]) + nonce + sealed

    @staticmethod
    def _dry_run(params: dict) -> None:
        """After every check: a DryRun request changes and answers nothing else."""
        if params.get("DryRun"):
            raise AwsError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")

    @staticmethod
    def _check_algorithm(metadata: dict, algorithm: str | None) -> str:
        algorithm = algorithm or SYMMETRIC
        if algorithm not in metadata.get("EncryptionAlgorithms", []):
            raise _algorithm_error(algorithm, metadata)
        return algorithm

    def _encrypt(self, metadata: dict, state: dict, algorithm: str | None, plaintext: bytes,
                 context: dict | None) -> tuple[bytes, str]:
        algorithm = self._check_algorithm(metadata, algorithm)
        if algorithm == SYMMETRIC:
            return self._seal(metadata, state, plaintext, context), algorithm
        limit = crypto.rsa_limit(metadata["KeySpec"], algorithm)
        if len(plaintext) > limit:
            raise _validation(f"Algorithm {algorithm} and key spec {metadata['KeySpec']} cannot encrypt data larger "
                              f"than {limit} bytes.")
        return crypto.rsa_encrypt(self._material(state), algorithm, plaintext), algorithm

    def encrypt(self, ctx, params: dict) -> dict:
        metadata, state = self._usable(ctx, params.get("KeyId"), "Encrypt")
        self._dry_run(params)
        blob, algorithm = self._encrypt(metadata, state, params.get("EncryptionAlgorithm"), params["Plaintext"],
                                        params.get("EncryptionContext"))
        return {"CiphertextBlob": blob, "KeyId": metadata["Arn"], "EncryptionAlgorithm": algorithm}

    def _open(self, ctx, blob: bytes, asked_key, context: dict | None, algorithm: str | None,
              operation: str = "Decrypt") -> tuple[dict, bytes, str]:
        """The key metadata, plaintext and algorithm of a ciphertext of overcast's (Decrypt,
        ReEncrypt's source). An RSA ciphertext names no key: the request's KeyId does."""
        if asked_key:
            asked = self._key_id(ctx.account, ctx.region, asked_key)
            found = self.store.get_key(ctx.account, ctx.region, asked)
            if found is not None and found[0]["KeySpec"] != SYMMETRIC and found[0]["KeyUsage"] == "ENCRYPT_DECRYPT":
                metadata, state = self._usable(ctx, asked, operation)
                algorithm = algorithm or SYMMETRIC
                if algorithm not in metadata["EncryptionAlgorithms"]:
                    raise _algorithm_error(algorithm, metadata)
                # AWS's recorded answers decrypt an RSAES_OAEP_SHA_256 ciphertext asked as
                # RSAES_OAEP_SHA_1 too: the other OAEP hash is tried before the ciphertext is refused
                for tried in (algorithm, *(a for a in crypto.RSA_ENCRYPTION if a != algorithm)):
                    try:
                        return metadata, crypto.rsa_decrypt(self._material(state), tried, blob), algorithm
                    except crypto.CryptoFailure:
                        continue
                raise _invalid_ciphertext()
        if (algorithm or SYMMETRIC) != SYMMETRIC:
            if asked_key:
                metadata, _ = self._load(ctx, asked_key)
                raise _algorithm_error(algorithm, metadata)
            raise _invalid_ciphertext()
        head = 1 + 36
        version = blob[:1]
        if version not in (_CIPHERTEXT_V1, _CIPHERTEXT_VERSION):
            raise _invalid_ciphertext()
        material_at = head + (32 if version == _CIPHERTEXT_VERSION else 0)
        if len(blob) < material_at + _NONCE + 16:
            raise _invalid_ciphertext()
        key_id = blob[1:head].decode("ascii", "replace")
        if not _KEY_ID.match(key_id) or self.store.get_key(ctx.account, ctx.region, key_id) is None:
            raise _invalid_ciphertext()
        if asked_key:
            asked = self._key_id(ctx.account, ctx.region, asked_key)
            if asked != key_id:
                raise AwsError("IncorrectKeyException",
                               "The key ID in the request does not identify a CMK that can perform this operation.")
        metadata, state = self._usable(ctx, key_id)
        if version == _CIPHERTEXT_VERSION:
            candidates = [blob[head:material_at].hex()]
        else:  # before rotation existed a ciphertext named no version: one of the key's (its first)
            candidates = list(state["versions"])
        nonce, sealed = blob[material_at:material_at + _NONCE], blob[material_at + _NONCE:]
        for material_id in candidates:
            if material_id not in state["versions"]:
                continue
            try:
                plaintext = AESGCM(self._material(state, material_id)).decrypt(nonce, sealed, _context_bytes(context))
            except InvalidTag:  # another encryption context, or a changed ciphertext
                continue
            return metadata, plaintext, SYMMETRIC
        raise _invalid_ciphertext()

    def decrypt(self, ctx, params: dict) -> dict:
        if params.get("Recipient"):
            raise not_implemented("KMS Decrypt with a Recipient (Nitro Enclaves attestation)")
        metadata, plaintext, algorithm = self._open(ctx, params.get("CiphertextBlob") or b"", params.get("KeyId"),
                                                    params.get("EncryptionContext"), params.get("EncryptionAlgorithm"))
        self._dry_run(params)
        return {"KeyId": metadata["Arn"], "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}

    def re_encrypt(self, ctx, params: dict) -> dict:
        """Decrypts under the source key and context and encrypts under the destination's, the
        plaintext never leaving overcast (as it never leaves KMS)."""
        source, plaintext, source_algorithm = self._open(
            ctx, params.get("CiphertextBlob") or b"", params.get("SourceKeyId"),
            params.get("SourceEncryptionContext"), params.get("SourceEncryptionAlgorithm"), "ReEncryptFrom")
        destination, state = self._usable(ctx, params.get("DestinationKeyId"), "ReEncryptTo")
        self._dry_run(params)
        blob, algorithm = self._encrypt(destination, state, params.get("DestinationEncryptionAlgorithm"), plaintext,
                                        params.get("DestinationEncryptionContext"))
        return {"CiphertextBlob": blob, "SourceKeyId": source["Arn"], "KeyId": destination["Arn"],
                "SourceEncryptionAlgorithm": source_algorithm, "DestinationEncryptionAlgorithm": algorithm}

    def _data_key(self, ctx, params: dict, operation: str) -> dict:
        if params.get("Recipient"):
            raise not_implemented(f"KMS {operation} with a Recipient (Nitro Enclaves attestation)")
        spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
        if spec is None and count is None:
            raise _validation("Please specify either number of bytes or key spec.")
        if spec is not None and count is not None:
            raise _validation("Please specify either number of bytes or key spec, not both.")
        size = count if count is not None else {"AES_256": 32, "AES_128": 16}[spec]
        metadata, state = self._usable_symmetric(ctx, params.get("KeyId"), operation)
        self._dry_run(params)
        plaintext = os.urandom(size)
        blob = self._seal(metadata, state, plaintext, params.get("EncryptionContext"))
        return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": metadata["Arn"]}

    def generate_data_key(self, ctx, params: dict) -> dict:
        return self._data_key(ctx, params, "GenerateDataKey")

    def generate_data_key_without_plaintext(self, ctx, params: dict) -> dict:
        out = self._data_key(ctx, params, "GenerateDataKeyWithoutPlaintext")
        del out["Plaintext"]
        return out

    def _data_key_pair(self, ctx, params: dict, operation: str) -> dict:
        spec = params.get("KeyPairSpec")
        if spec not in crypto.DATA_KEY_PAIR_SPECS:
            raise _validation(f"1 validation error detected: Value '{spec}' at 'keyPairSpec' failed to satisfy "
                              f"constraint: Member must satisfy enum value set: [{', '.join(crypto.DATA_KEY_PAIR_SPECS)}]")
        if params.get("Recipient"):
            raise not_implemented("KMS GenerateDataKeyPair with a Recipient (Nitro Enclaves attestation)")
        metadata, state = self._usable_symmetric(ctx, params.get("KeyId"), operation)
        self._dry_run(params)
        private = crypto.generate(spec)
        return {"PrivateKeyCiphertextBlob": self._seal(metadata, state, private, params.get("EncryptionContext")),
                "PrivateKeyPlaintext": private, "PublicKey": crypto.public_key_der(private), "KeyId": metadata["Arn"],
                "KeyPairSpec": spec}

    def generate_data_key_pair(self, ctx, params: dict) -> dict:
        return self._data_key_pair(ctx, params, "GenerateDataKeyPair")

    def generate_data_key_pair_without_plaintext(self, ctx, params: dict) -> dict:
        out = self._data_key_pair(ctx, params, "GenerateDataKeyPairWithoutPlaintext")
        del out["PrivateKeyPlaintext"]
        return out

    def generate_random(self, ctx, params: dict) -> dict:
        if params.get("CustomKeyStoreId") or params.get("Recipient"):
            raise not_implemented("KMS GenerateRandom with a custom key store or a Recipient")
        count = params.get("NumberOfBytes")
        if count is None:
            raise _validation("NumberOfBytes is required.")
        if not 1 <= count <= 1024:
            bound = "greater than or equal to 1" if count < 1 else "less than or equal to 1024"
            raise _validation(f"1 validation error detected: Value '{count}' at 'numberOfBytes' failed to satisfy "
                              f"constraint: Member must have value {bound}")
        return {"Plaintext": os.urandom(count)}

    # -- asymmetric keys: public keys, signatures ---------------------------------------------

    def get_public_key(self, ctx, params: dict) -> dict:
        metadata, sealed = self._load(ctx, params.get("KeyId"))
        self._check_state(metadata)
        if metadata["KeySpec"] == SYMMETRIC or crypto.is_hmac(metadata["KeySpec"]):
            raise AwsError("UnsupportedOperationException", f"{metadata['Arn']} key usage is "
                           f"{metadata['KeyUsage']} which is not valid for GetPublicKey.")
        out = {"KeyId": metadata["Arn"], "PublicKey": crypto.public_key_der(self._material(self._state(metadata, sealed))),
               "CustomerMasterKeySpec": metadata["KeySpec"], "KeySpec": metadata["KeySpec"],
               "KeyUsage": metadata["KeyUsage"]}
        for member in ("EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms"):
            if member in metadata:
                out[member] = metadata[member]
        return out

    def _message_digest(self, metadata: dict, params: dict) -> tuple[str, bytes]:
        algorithm = params.get("SigningAlgorithm")
        if algorithm not in crypto.SIGNING_ALGORITHMS:
            raise _validation(f"1 validation error detected: Value '{algorithm}' at 'signingAlgorithm' failed to "
                              "satisfy constraint: Member must satisfy enum value set: "
                              f"[{', '.join(crypto.SIGNING_ALGORITHMS)}]")
        if algorithm not in metadata.get("SigningAlgorithms", []):
            raise _algorithm_error(algorithm, metadata)
        message = params.get("Message") or b""
        if params.get("MessageType") == "DIGEST":
            if len(message) != crypto.digest_size(algorithm):
                raise _validation(f"Digest is invalid length for algorithm {algorithm}.")
            return algorithm, message
        return algorithm, crypto.digest(algorithm, message)

    def sign(self, ctx, params: dict) -> dict:
        metadata, state = self._usable(ctx, params.get("KeyId"), "Sign", "SIGN_VERIFY")
        algorithm, message_digest = self._message_digest(metadata, params)
        self._dry_run(params)
        return {"KeyId": metadata["Arn"], "SigningAlgorithm": algorithm,
                "Signature": crypto.sign(self._material(state), algorithm, message_digest)}

    def verify(self, ctx, params: dict) -> dict:
        metadata, state = self._usable(ctx, params.get("KeyId"), "Verify", "SIGN_VERIFY")
        algorithm, message_digest = self._message_digest(metadata, params)
        self._dry_run(params)
        if not crypto.verify(self._material(state), algorithm, message_digest, params.get("Signature") or b""):
            raise AwsError("KMSInvalidSignatureException", "", _no_message=True)
        return {"KeyId": metadata["Arn"], "SignatureValid": True, "SigningAlgorithm": algorithm}

    def derive_shared_secret(self, ctx, params: dict) -> dict:
        if params.get("Recipient"):
            raise not_implemented("KMS DeriveSharedSecret with a Recipient (Nitro Enclaves attestation)")
        metadata, state = self._usable(ctx, params.get("KeyId"), "DeriveSharedSecret", crypto.KEY_AGREEMENT)
        self._dry_run(params)
        try:
            secret = crypto.derive_shared_secret(self._material(state), params.get("PublicKey") or b"")
        except crypto.CryptoFailure:
            raise AwsError("ValidationException", "", _no_message=True) from None
        return {"KeyId": metadata["Arn"], "SharedSecret": secret, "KeyAgreementAlgorithm": "ECDH",
                "KeyOrigin": metadata["Origin"]}

    # -- HMAC keys ----------------------------------------------------------------------------

    def _mac_key(self, ctx, params: dict, operation: str) -> tuple[dict, dict, str]:
        algorithm = params.get("MacAlgorithm")
        if algorithm not in crypto.MAC_ALGORITHMS:
            raise _validation(f"1 validation error detected: Value '{algorithm}' at 'macAlgorithm' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, "
                              "HMAC_SHA_224, HMAC_SHA_512]")
        metadata, state = self._usable(ctx, params.get("KeyId"), operation, "GENERATE_VERIFY_MAC")
        if algorithm not in metadata["MacAlgorithms"]:
            raise _algorithm_error(algorithm, metadata)
        return metadata, state, algorithm

    def generate_mac(self, ctx, params: dict) -> dict:
        metadata, state, algorithm = self._mac_key(ctx, params, "GenerateMac")
        self._dry_run(params)
        return {"KeyId": metadata["Arn"], "MacAlgorithm": algorithm,
                "Mac": crypto.mac(self._material(state), algorithm, params.get("Message") or b"")}

    def verify_mac(self, ctx, params: dict) -> dict:
        metadata, state, algorithm = self._mac_key(ctx, params, "VerifyMac")
        self._dry_run(params)
        expected = crypto.mac(self._material(state), algorithm, params.get("Message") or b"")
        if not hmac.compare_digest(expected, params.get("Mac") or b""):
            raise AwsError("KMSInvalidMacException", "", _no_message=True)
        return {"KeyId": metadata["Arn"], "MacAlgorithm": algorithm, "MacValid": True}
