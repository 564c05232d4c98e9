"""KMS: symmetric keys, aliases, tags, policies, Encrypt/Decrypt/GenerateDataKey bound to the
encryption context, key states, AWS managed keys (alias/aws/<service>), and AWS's errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def kms(client):
    return client("kms")


def _error(fn, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        fn(**params)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.value.response
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.mark.postgres_e2e
def test_create_describe_and_list_a_key(kms):
    metadata = kms.create_key(Description="orders", Tags=[{"TagKey": "team", "TagValue": "a"}])["KeyMetadata"]
    assert metadata["Arn"] == f"arn:aws:kms:us-east-1:000000000000:key/{metadata['KeyId']}"
    assert {k: metadata[k] for k in ("Description", "KeyManager", "KeySpec", "KeyState", "KeyUsage", "Origin",
                                     "Enabled", "MultiRegion", "EncryptionAlgorithms", "CustomerMasterKeySpec")} == {
        "Description": "orders", "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyState": "Enabled",
        "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS", "Enabled": True, "MultiRegion": False,
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"}
    assert len(metadata["CurrentKeyMaterialId"]) == 64
    for key_id in (metadata["KeyId"], metadata["Arn"]):
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == metadata["Arn"]
    listed = kms.list_keys()["Keys"]
    assert {"KeyId": metadata["KeyId"], "KeyArn": metadata["Arn"]} in listed
    assert kms.list_resource_tags(KeyId=metadata["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "a"}]
    policy = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::000000000000:root"}


@pytest.mark.postgres_e2e
def test_encrypt_decrypt_and_data_keys(kms):
    key = kms.create_key()["KeyMetadata"]
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret", EncryptionContext={"a": "1", "b": "2"})
    assert out["KeyId"] == key["Arn"] and out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert b"secret" not in out["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2", "a": "1"})
    assert back["Plaintext"] == b"secret" and back["KeyId"] == key["Arn"]
    # another context, or a changed ciphertext, does not decrypt
    assert _error(kms.decrypt, CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"a": "1"}) == (
        "InvalidCiphertextException", "")
    with pytest.raises(ClientError) as e:  # as AWS's: no message member in the body at all
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert "message" not in e.value.response and "Message" not in e.value.response
    assert _error(kms.decrypt, CiphertextBlob=out["CiphertextBlob"][:-1] + bytes([out["CiphertextBlob"][-1] ^ 1]),
                  EncryptionContext={"a": "1", "b": "2"})[0] == "InvalidCiphertextException"
    assert _error(kms.decrypt, CiphertextBlob=b"not a ciphertext at all, really not")[0] == "InvalidCiphertextException"
    other = kms.create_key()["KeyMetadata"]
    assert _error(kms.decrypt, CiphertextBlob=out["CiphertextBlob"], KeyId=other["KeyId"],
                  EncryptionContext={"a": "1", "b": "2"}) == (
        "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")

    data = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    assert len(data["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=data["CiphertextBlob"])["Plaintext"] == data["Plaintext"]
    assert len(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64)["Plaintext"]) == 64
    assert "Plaintext" not in kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_128")
    assert _error(kms.generate_data_key, KeyId=key["KeyId"]) == (
        "ValidationException", "Please specify either number of bytes or key spec.")
    assert len(kms.generate_random(NumberOfBytes=16)["Plaintext"]) == 16


@pytest.mark.postgres_e2e
def test_aliases(kms, unique_name):
    key = kms.create_key()["KeyMetadata"]
    alias = f"alias/{unique_name('k')}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]
    assert kms.describe_key(KeyId=f"arn:aws:kms:us-east-1:000000000000:{alias}")["KeyMetadata"]["KeyId"] == key["KeyId"]
    blob = kms.encrypt(KeyId=alias, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    listed = kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"], a["AliasArn"]) for a in listed] == [
        (alias, key["KeyId"], f"arn:aws:kms:us-east-1:000000000000:{alias}")]
    assert _error(kms.create_alias, AliasName=alias, TargetKeyId=key["KeyId"])[0] == "AlreadyExistsException"
    assert _error(kms.create_alias, AliasName="no-prefix", TargetKeyId=key["KeyId"]) == (
        "ValidationException", 'Alias must start with the prefix "alias/". Please see '
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
    assert _error(kms.create_alias, AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])[0] == (
        "NotAuthorizedException")
    other = kms.create_key()["KeyMetadata"]
    kms.update_alias(AliasName=alias, TargetKeyId=other["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == other["KeyId"]
    kms.delete_alias(AliasName=alias)
    assert _error(kms.describe_key, KeyId=alias) == (
        "NotFoundException", f"Alias arn:aws:kms:us-east-1:000000000000:{alias} is not found.")


@pytest.mark.postgres_e2e
def test_aws_managed_key_is_made_on_first_use(kms):
    metadata = kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS"
    assert metadata["Description"] == "Default key that protects my DynamoDB data when no other key is defined"
    assert kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["KeyId"] == metadata["KeyId"]
    assert _error(kms.disable_key, KeyId=metadata["KeyId"])[0] == "UnsupportedOperationException"


@pytest.mark.postgres_e2e
def test_key_states(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    assert _error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == ("DisabledException", f"{key['Arn']} is disabled.")
    kms.enable_key(KeyId=key["KeyId"])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    scheduled = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["PendingWindowInDays"] == 7
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "PendingDeletion" and "DeletionDate" in described
    assert _error(kms.decrypt, CiphertextBlob=blob) == ("KMSInvalidStateException", f"{key['Arn']} is pending deletion.")
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_bad_key_ids(kms):
    assert _error(kms.describe_key, KeyId="key_id") == ("NotFoundException", "Invalid keyId 'key_id'")
    missing = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
    assert _error(kms.describe_key, KeyId=missing) == ("NotFoundException", f"Key '{missing}' does not exist")
    assert _error(kms.create_key, Tags=[{"TagKey": "aws:x", "TagValue": "y"}]) == (
        "TagException", "Tags beginning with aws: are reserved")
    assert _error(kms.create_key, KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")[0] == "ValidationException"


def test_more_of_awss_answers(kms, client):
    key = kms.create_key()["KeyMetadata"]
    other_region = key["Arn"].replace("us-east-1", "eu-west-1")
    assert _error(kms.describe_key, KeyId=other_region) == ("NotFoundException", "Invalid arn eu-west-1")
    mrk = "mrk-" + "d3b95762" * 4
    assert _error(kms.describe_key, KeyId=mrk) == (
        "NotFoundException", f"Key 'arn:aws:kms:us-east-1:000000000000:key/{mrk}' does not exist")
    assert _error(kms.create_key, KeySpec="HMAC_256") == (
        "ValidationException", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
    assert _error(kms.get_parameters_for_import, KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                  WrappingKeySpec="RSA_2048") == (
        "UnsupportedOperationException", f"{key['Arn']} origin is AWS_KMS which is not valid for this operation.")
    dry = ("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
    assert _error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x", DryRun=True) == dry
    assert _error(kms.generate_data_key, KeyId=key["KeyId"], KeySpec="AES_256", DryRun=True) == dry
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert _error(kms.decrypt, CiphertextBlob=blob, DryRun=True) == dry
    assert _error(kms.decrypt, CiphertextBlob=blob + b"x", DryRun=True)[0] == "InvalidCiphertextException"


@pytest.mark.postgres_e2e
def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(kms):
    # AWS's ReEncrypt: decrypt under the source key and context, encrypt under the destination's;
    # the answer names both keys by ARN and both algorithms
    source = kms.create_key()["KeyMetadata"]
    destination = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=b"secret", EncryptionContext={"a": "1"})["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=destination["Arn"],
                         DestinationEncryptionContext={"b": "2"})
    assert (out["SourceKeyId"], out["KeyId"]) == (source["Arn"], destination["Arn"])
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert (back["Plaintext"], back["KeyId"]) == (b"secret", destination["Arn"])
    # the source context must match, a named SourceKeyId must be the ciphertext's key
    assert _error(kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=destination["KeyId"])[0] == (
        "InvalidCiphertextException")
    assert _error(kms.re_encrypt, CiphertextBlob=blob, SourceEncryptionContext={"a": "1"},
                  SourceKeyId=destination["KeyId"], DestinationKeyId=destination["KeyId"])[0] == "IncorrectKeyException"
    kms.disable_key(KeyId=destination["KeyId"])
    assert _error(kms.re_encrypt, CiphertextBlob=blob, SourceEncryptionContext={"a": "1"},
                  DestinationKeyId=destination["KeyId"]) == ("DisabledException", f"{destination['Arn']} is disabled.")
    assert _error(kms.re_encrypt, CiphertextBlob=blob, SourceEncryptionContext={"a": "1"},
                  DestinationKeyId=source["KeyId"], DryRun=True)[0] == "DryRunOperationException"


def test_list_grants_of_a_key_without_grants(kms):
    key = kms.create_key()["KeyMetadata"]
    for given in (key["KeyId"], key["Arn"]):
        assert {k: v for k, v in kms.list_grants(KeyId=given).items() if k != "ResponseMetadata"} == {
            "Grants": [], "Truncated": False}
    pages = list(kms.get_paginator("list_grants").paginate(KeyId=key["KeyId"]))
    assert [grant for page in pages for grant in page["Grants"]] == []
    missing = "11111111-2222-3333-4444-555555555555"
    assert _error(kms.list_grants, KeyId=missing) == (
        "NotFoundException", f"Key 'arn:aws:kms:us-east-1:000000000000:key/{missing}' does not exist")
