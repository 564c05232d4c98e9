"""AWS KMS (awsJson 1.1): symmetric encryption keys (SYMMETRIC_DEFAULT, AES-256-GCM), their
aliases, tags and policies, and the AWS managed keys (`alias/aws/<service>`) that services use
when no key of the customer's is named (DynamoDB's server-side encryption).

Key material is 32 random bytes per key, sealed at rest with overcast's key (storage/sealing.py).
A ciphertext names its key, so Decrypt needs no KeyId, and is bound to the encryption context
(AES-GCM's associated data), as KMS's ciphertexts are. Other key specs (RSA, ECC, HMAC), imported
key material, custom key stores and multi-Region keys answer AWS's errors for what is not done.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from overcast.aws.errors import AwsError, not_implemented
from overcast.services.base import Provider
from overcast.services.kms.store import KmsStore
from overcast.storage.sealing import sealer

SYMMETRIC = "SYMMETRIC_DEFAULT"
DAY = 86400
# AWS's descriptions of the AWS managed keys overcast's services make
MANAGED_DESCRIPTIONS = {
    "dynamodb": "Default key that protects my DynamoDB data when no other key is defined",
    "s3": "Default key that protects my S3 objects when no other key is defined",
}
_KEY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MRK_ID = re.compile(r"^mrk-[0-9a-f]{32}$")  # a multi-Region key's id: well formed, never one of overcast's
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key/(.+)$")
_ALIAS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(alias/.+)$")
_ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
_CIPHERTEXT_VERSION = b"\x01"
_NONCE = 12


def _not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message)


def _invalid_ciphertext() -> AwsError:
    return AwsError("InvalidCiphertextException", "", _no_message=True)  # AWS's has no message member


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


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
        if _MRK_ID.match(given):
            raise _not_found(f"Key '{self._arn(account, region, given)}' does not exist")
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
        return found[0], found[1]

    def _destroy(self, account: str, region: str, key_id: str) -> None:
        with self.store.transaction():
            for alias in self.store.list_aliases(account, region, key_id, "", 1000):
                self.store.delete_alias(account, region, alias[0])
            self.db.execute("DELETE FROM kms_keys WHERE account = ? AND region = ? AND key_id = ?",
                            (account, region, key_id))

    def _usable(self, ctx, given) -> tuple[dict, bytes]:
        """A key that may encrypt and decrypt now: enabled, not pending deletion."""
        metadata, material = self._load(ctx, given)
        if metadata["KeyState"] == "Disabled":
            raise AwsError("DisabledException", f"{metadata['Arn']} is disabled.")
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
        return metadata, self.sealer.open(material, metadata["Arn"].encode())

    def _new_key(self, account: str, region: str, description: str, manager: str, tags: list, policy: str | None,
                 alias: str | None = None) -> dict:
        key_id = str(uuid.uuid4())
        arn = self._arn(account, region, key_id)
        metadata = {
            "AWSAccountId": account, "KeyId": key_id, "Arn": arn, "CreationDate": time.time(), "Enabled": True,
            "Description": description, "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "AWS_KMS",
            "KeyManager": manager, "CustomerMasterKeySpec": SYMMETRIC, "KeySpec": SYMMETRIC,
            "EncryptionAlgorithms": [SYMMETRIC], "MultiRegion": False,
            "CurrentKeyMaterialId": hashlib.sha256(os.urandom(32)).hexdigest(),
        }
        policy = policy or orjson.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"}]}).decode()
        material = self.sealer.seal(AESGCM.generate_key(bit_length=256), arn.encode())
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
        if metadata["KeyState"] == "Disabled":
            raise AwsError("DisabledException", f"{metadata['Arn']} is disabled.")
        if metadata["KeyState"] == "PendingDeletion":
            raise AwsError("KMSInvalidStateException", f"{metadata['Arn']} is pending deletion.")
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
        out = dict(metadata)
        if out["KeyState"] != "PendingDeletion":
            out.pop("DeletionDate", None)
            out.pop("PendingDeletionWindowInDays", None)
        return out

    def create_key(self, ctx, params: dict) -> dict:
        spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or SYMMETRIC
        if spec != SYMMETRIC and not params.get("KeyUsage"):
            raise _validation("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
        usage = params.get("KeyUsage") or "ENCRYPT_DECRYPT"
        if spec != SYMMETRIC or usage != "ENCRYPT_DECRYPT":
            raise not_implemented(f"KMS keys of KeySpec {spec} and KeyUsage {usage} (only symmetric encryption keys)")
        if (params.get("Origin") or "AWS_KMS") != "AWS_KMS":
            raise not_implemented(f"KMS keys of Origin {params['Origin']}")
        if params.get("MultiRegion"):
            raise not_implemented("KMS multi-Region keys")
        if params.get("CustomKeyStoreId") or params.get("XksKeyId"):
            raise not_implemented("KMS custom key stores")
        tags = self._checked_tags(params.get("Tags") or [])
        if params.get("Policy") is not None:
            self._checked_policy(params["Policy"])
        metadata = self._new_key(ctx.account, ctx.region, params.get("Description") or "", "CUSTOMER", tags,
                                 params.get("Policy"))
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

    def get_parameters_for_import(self, ctx, params: dict) -> dict:
        # every key overcast makes has KMS's own material (Origin AWS_KMS), which takes no import
        metadata, _ = self._load(ctx, params.get("KeyId"), aliases=False)
        raise AwsError("UnsupportedOperationException",
                       f"{metadata['Arn']} origin is {metadata['Origin']} which is not valid for this operation.")

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
    def _checked_tags(tags: list) -> list:
        keys = [t.get("TagKey") for t in tags]
        if any(k.startswith("aws:") for k in keys):
            raise AwsError("TagException", "Tags beginning with aws: are reserved")
        if len(set(keys)) != len(keys):
            raise AwsError("TagException", "Duplicate tag keys")
        return [{"TagKey": t["TagKey"], "TagValue": t.get("TagValue", "")} for t in tags]

    def tag_resource(self, ctx, params: dict) -> dict:
        metadata = self._customer_key(ctx, params)
        new = self._checked_tags(params.get("Tags") or [])
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

    def list_grants(self, ctx, params: dict) -> dict:
        """CreateGrant is not done (it answers NotImplemented), so no key has a grant: the list of
        an existing key's grants is empty, as AWS's is for a key nobody granted."""
        key_id = self._key_id(ctx.account, ctx.region, params.get("KeyId"), aliases=False)
        self._load(ctx, key_id)
        return {"Grants": [], "Truncated": False}

    # -- cryptography -------------------------------------------------------------------------

    def _seal(self, metadata: dict, key: bytes, plaintext: bytes, context: dict | None) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(key).encrypt(nonce, plaintext, _context_bytes(context))
        return _CIPHERTEXT_VERSION + metadata["KeyId"].encode() + nonce + sealed

    @staticmethod
    def _dry_run(params: dict) -> None:
        """After every check: a DryRun request changes and answers nothing else."""
        if params.get("DryRun"):
            raise AwsError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")

    @staticmethod
    def _check_algorithm(params: dict) -> None:
        algorithm = params.get("EncryptionAlgorithm") or SYMMETRIC
        if algorithm != SYMMETRIC:
            raise AwsError("InvalidKeyUsageException", f"Algorithm {algorithm} is incompatible with key spec "
                           f"{SYMMETRIC}.")

    def encrypt(self, ctx, params: dict) -> dict:
        self._check_algorithm(params)
        metadata, key = self._usable(ctx, params.get("KeyId"))
        self._dry_run(params)
        blob = self._seal(metadata, key, params["Plaintext"], params.get("EncryptionContext"))
        return {"CiphertextBlob": blob, "KeyId": metadata["Arn"], "EncryptionAlgorithm": SYMMETRIC}

    def _open(self, ctx, blob: bytes, asked_key, context: dict | None) -> tuple[dict, bytes]:
        """The key metadata and plaintext of a ciphertext of overcast's (Decrypt, ReEncrypt's source)."""
        head = 1 + 36
        if len(blob) < head + _NONCE + 16 or blob[:1] != _CIPHERTEXT_VERSION:
            raise _invalid_ciphertext()
        key_id = blob[1:head].decode("ascii", "replace")
        if not _KEY_ID.match(key_id) or self.store.get_key(ctx.account, ctx.region, key_id) is None:
            raise _invalid_ciphertext()
        if asked_key:
            asked = self._key_id(ctx.account, ctx.region, asked_key)
            if asked != key_id:
                raise AwsError("IncorrectKeyException",
                               "The key ID in the request does not identify a CMK that can perform this operation.")
        metadata, key = self._usable(ctx, key_id)
        try:
            plaintext = AESGCM(key).decrypt(blob[head:head + _NONCE], blob[head + _NONCE:], _context_bytes(context))
        except InvalidTag:  # another encryption context, or a changed ciphertext
            raise _invalid_ciphertext() from None
        return metadata, plaintext

    def decrypt(self, ctx, params: dict) -> dict:
        self._check_algorithm(params)
        metadata, plaintext = self._open(ctx, params.get("CiphertextBlob") or b"", params.get("KeyId"),
                                         params.get("EncryptionContext"))
        self._dry_run(params)
        return {"KeyId": metadata["Arn"], "Plaintext": plaintext, "EncryptionAlgorithm": SYMMETRIC}

    def re_encrypt(self, ctx, params: dict) -> dict:
        """Decrypts under the source key and context and encrypts under the destination's, the
        plaintext never leaving overcast (as it never leaves KMS)."""
        self._check_algorithm({"EncryptionAlgorithm": params.get("SourceEncryptionAlgorithm")})
        self._check_algorithm({"EncryptionAlgorithm": params.get("DestinationEncryptionAlgorithm")})
        source, plaintext = self._open(ctx, params.get("CiphertextBlob") or b"", params.get("SourceKeyId"),
                                       params.get("SourceEncryptionContext"))
        destination, key = self._usable(ctx, params.get("DestinationKeyId"))
        self._dry_run(params)
        blob = self._seal(destination, key, plaintext, params.get("DestinationEncryptionContext"))
        return {"CiphertextBlob": blob, "SourceKeyId": source["Arn"], "KeyId": destination["Arn"],
                "SourceEncryptionAlgorithm": SYMMETRIC, "DestinationEncryptionAlgorithm": SYMMETRIC}

    def _data_key(self, ctx, params: dict) -> dict:
        spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
        if spec is None and count is None:
            raise _validation("Please specify either number of bytes or key spec.")
        if spec is not None and count is not None:
            raise _validation("Please specify either number of bytes or key spec, not both.")
        size = count if count is not None else {"AES_256": 32, "AES_128": 16}[spec]
        metadata, key = self._usable(ctx, params.get("KeyId"))
        self._dry_run(params)
        plaintext = os.urandom(size)
        blob = self._seal(metadata, key, plaintext, params.get("EncryptionContext"))
        return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": metadata["Arn"]}

    def generate_data_key(self, ctx, params: dict) -> dict:
        return self._data_key(ctx, params)

    def generate_data_key_without_plaintext(self, ctx, params: dict) -> dict:
        out = self._data_key(ctx, params)
        del out["Plaintext"]
        return out

    def generate_random(self, ctx, params: dict) -> dict:
        if params.get("CustomKeyStoreId") or params.get("Recipient"):
            raise not_implemented("KMS GenerateRandom with a custom key store or a Recipient")
        count = params.get("NumberOfBytes")
        if count is None:
            raise _validation("NumberOfBytes is required.")
        return {"Plaintext": os.urandom(count)}
