"""KMS beyond symmetric encryption: RSA and ECC keys (GetPublicKey, Sign/Verify, RSA
Encrypt/Decrypt, DeriveSharedSecret), HMAC keys, data key pairs, GenerateRandom's bounds, key
rotation, grants, imported key material and multi-Region keys; each checked with the
`cryptography` library on the client's side, as a user would check AWS's answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import time

import pytest
from botocore.exceptions import ClientError
from conftest import TEST_DATABASES, OvercastProcess, make_client, stored_rows
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils


@pytest.fixture
def kms(client):
    return client("kms")


def _error(fn, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        fn(**params)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.value.response
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def _verify_locally(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    """Raises InvalidSignature unless `signature` is `algorithm`'s signature of `message`."""
    public = serialization.load_der_public_key(public_der)
    chosen = _HASHES[algorithm.rsplit("_", 1)[1]]()
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(chosen))
    elif "_PSS_" in algorithm:
        public.verify(signature, message, padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size),
                      chosen)
    else:
        public.verify(signature, message, padding.PKCS1v15(), chosen)


@pytest.mark.parametrize("spec,algorithm", [
    ("RSA_2048", "RSASSA_PSS_SHA_256"), ("RSA_3072", "RSASSA_PSS_SHA_384"), ("RSA_4096", "RSASSA_PKCS1_V1_5_SHA_512"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256"), ("ECC_NIST_P384", "ECDSA_SHA_384"),
    ("ECC_NIST_P521", "ECDSA_SHA_512"), ("ECC_SECG_P256K1", "ECDSA_SHA_256")])
def test_sign_and_verify_with_every_key_spec(kms, spec, algorithm):
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert (key["KeySpec"], key["CustomerMasterKeySpec"], key["KeyUsage"]) == (spec, spec, "SIGN_VERIFY")
    assert algorithm in key["SigningAlgorithms"] and "EncryptionAlgorithms" not in key
    assert "CurrentKeyMaterialId" not in key  # AWS names the material of symmetric keys only
    public = kms.get_public_key(KeyId=key["KeyId"])
    assert (public["KeyId"], public["KeySpec"], public["KeyUsage"]) == (key["Arn"], spec, "SIGN_VERIFY")
    assert public["SigningAlgorithms"] == key["SigningAlgorithms"]
    message = b"order 7 shipped"
    signed = kms.sign(KeyId=key["KeyId"], Message=message, MessageType="RAW", SigningAlgorithm=algorithm)
    assert (signed["KeyId"], signed["SigningAlgorithm"]) == (key["Arn"], algorithm)
    _verify_locally(public["PublicKey"], algorithm, message, signed["Signature"])  # a real signature
    ok = kms.verify(KeyId=key["KeyId"], Message=message, MessageType="RAW", SigningAlgorithm=algorithm,
                    Signature=signed["Signature"])
    assert (ok["SignatureValid"], ok["KeyId"], ok["SigningAlgorithm"]) == (True, key["Arn"], algorithm)
    # a DIGEST message is the hash itself, signed as is
    digest = getattr(hashlib, "sha" + algorithm.rsplit("_", 1)[1])(message).digest()
    by_digest = kms.sign(KeyId=key["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)
    _verify_locally(public["PublicKey"], algorithm, message, by_digest["Signature"])
    assert _error(kms.sign, KeyId=key["KeyId"], Message=message, MessageType="DIGEST", SigningAlgorithm=algorithm) == (
        "ValidationException", f"Digest is invalid length for algorithm {algorithm}.")
    assert _error(kms.verify, KeyId=key["KeyId"], Message=b"another message", MessageType="RAW",
                  SigningAlgorithm=algorithm, Signature=signed["Signature"]) == ("KMSInvalidSignatureException", "")


def test_signing_keys_refuse_what_they_are_not_for(kms):
    rsa_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    ecc_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    symmetric = kms.create_key()["KeyMetadata"]
    assert _error(kms.sign, KeyId=ecc_key["KeyId"], Message=b"x", SigningAlgorithm="RSASSA_PSS_SHA_256") == (
        "InvalidKeyUsageException", "Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec ECC_NIST_P256.")
    assert _error(kms.sign, KeyId=symmetric["KeyId"], Message=b"x", SigningAlgorithm="ECDSA_SHA_256") == (
        "InvalidKeyUsageException", f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Sign.")
    assert _error(kms.encrypt, KeyId=rsa_key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256") == (
        "InvalidKeyUsageException", f"{rsa_key['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.")
    assert _error(kms.get_public_key, KeyId=symmetric["KeyId"])[0] == "UnsupportedOperationException"
    assert _error(kms.create_key, KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT") == (
        "ValidationException", "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256")
    assert _error(kms.create_key, KeySpec="RSA_2048") == (
        "ValidationException", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
    kms.disable_key(KeyId=rsa_key["KeyId"])
    assert _error(kms.sign, KeyId=rsa_key["KeyId"], Message=b"x", SigningAlgorithm="RSASSA_PSS_SHA_256") == (
        "DisabledException", f"{rsa_key['Arn']} is disabled.")


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_rsa_encryption_keys(kms, spec):
    key = kms.create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert key["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    for algorithm in key["EncryptionAlgorithms"]:
        out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret", EncryptionAlgorithm=algorithm)
        assert (out["KeyId"], out["EncryptionAlgorithm"]) == (key["Arn"], algorithm)
        assert len(out["CiphertextBlob"]) == int(spec[4:]) // 8  # a bare RSA-OAEP ciphertext, as AWS's
        back = kms.decrypt(KeyId=key["KeyId"], CiphertextBlob=out["CiphertextBlob"], EncryptionAlgorithm=algorithm)
        assert (back["Plaintext"], back["EncryptionAlgorithm"]) == (b"secret", algorithm)
    # what a client encrypts with the public key, KMS decrypts
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    blob = public.encrypt(b"offline", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                   label=None))
    assert kms.decrypt(KeyId=key["KeyId"], CiphertextBlob=blob,
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"offline"
    limit = int(spec[4:]) // 8 - 2 * 20 - 2
    assert _error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x" * (limit + 1),
                  EncryptionAlgorithm="RSAES_OAEP_SHA_1") == (
        "ValidationException", f"Algorithm RSAES_OAEP_SHA_1 and key spec {spec} cannot encrypt data larger than "
                               f"{limit} bytes.")
    assert _error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == (
        "InvalidKeyUsageException", f"Algorithm SYMMETRIC_DEFAULT is incompatible with key spec {spec}.")
    assert _error(kms.decrypt, KeyId=key["KeyId"], CiphertextBlob=b"\x00" * 64,
                  EncryptionAlgorithm="RSAES_OAEP_SHA_256")[0] == "InvalidCiphertextException"


def test_re_encrypt_between_rsa_and_symmetric_keys(kms):
    rsa_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    symmetric = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=rsa_key["KeyId"], Plaintext=b"moving", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    out = kms.re_encrypt(CiphertextBlob=blob["CiphertextBlob"], SourceKeyId=rsa_key["KeyId"],
                         SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=symmetric["KeyId"])
    assert (out["SourceKeyId"], out["KeyId"], out["SourceEncryptionAlgorithm"],
            out["DestinationEncryptionAlgorithm"]) == (rsa_key["Arn"], symmetric["Arn"], "RSAES_OAEP_SHA_256",
                                                       "SYMMETRIC_DEFAULT")
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"moving"


def test_derive_shared_secret_is_ecdh(kms):
    key = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert key["KeyAgreementAlgorithms"] == ["ECDH"]
    kms_public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    mine = ec.generate_private_key(ec.SECP384R1())
    mine_der = mine.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=mine_der)
    assert out["SharedSecret"] == mine.exchange(ec.ECDH(), kms_public)
    assert (out["KeyId"], out["KeyAgreementAlgorithm"], out["KeyOrigin"]) == (key["Arn"], "ECDH", "AWS_KMS")
    assert _error(kms.derive_shared_secret, KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH",
                  PublicKey=b"not a key") == ("ValidationException", "")
    assert _error(kms.create_key, KeySpec="RSA_2048", KeyUsage="KEY_AGREEMENT") == (
        "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048")


@pytest.mark.parametrize("spec", ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"])
def test_hmac_keys(kms, spec):
    key = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    algorithm = f"HMAC_SHA_{spec[5:]}"
    assert key["MacAlgorithms"] == [algorithm]
    mac = kms.generate_mac(KeyId=key["KeyId"], Message=b"hello", MacAlgorithm=algorithm)
    assert (mac["KeyId"], mac["MacAlgorithm"]) == (key["Arn"], algorithm)
    assert len(mac["Mac"]) == int(spec[5:]) // 8
    assert mac["Mac"] == kms.generate_mac(KeyId=key["KeyId"], Message=b"hello", MacAlgorithm=algorithm)["Mac"]
    ok = kms.verify_mac(KeyId=key["KeyId"], Message=b"hello", Mac=mac["Mac"], MacAlgorithm=algorithm)
    assert (ok["MacValid"], ok["MacAlgorithm"]) == (True, algorithm)
    assert _error(kms.verify_mac, KeyId=key["KeyId"], Message=b"hellO", Mac=mac["Mac"], MacAlgorithm=algorithm) == (
        "KMSInvalidMacException", "")
    other = "HMAC_SHA_512" if algorithm != "HMAC_SHA_512" else "HMAC_SHA_256"
    assert _error(kms.generate_mac, KeyId=key["KeyId"], Message=b"x", MacAlgorithm=other) == (
        "InvalidKeyUsageException", f"Algorithm {other} is incompatible with key spec {spec}.")
    assert _error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")[0] == "InvalidKeyUsageException"


def test_hmac_keys_refuse_bad_input(kms):
    symmetric = kms.create_key()["KeyMetadata"]
    assert _error(kms.generate_mac, KeyId=symmetric["KeyId"], Message=b"x", MacAlgorithm="HMAC_SHA_256") == (
        "InvalidKeyUsageException", f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for "
                                    "GenerateMac.")
    assert _error(kms.generate_mac, KeyId="key_id", Message=b"x", MacAlgorithm="HMAC_SHA_256") == (
        "NotFoundException", "Invalid keyId 'key_id'")
    assert _error(kms.generate_mac, KeyId=symmetric["KeyId"], Message=b"x", MacAlgorithm="INVALID") == (
        "ValidationException", "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy "
                               "constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, "
                               "HMAC_SHA_224, HMAC_SHA_512]")


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_generate_data_key_pair(kms, spec):
    key = kms.create_key()["KeyMetadata"]
    pair = kms.generate_data_key_pair(KeyId=key["KeyId"], KeyPairSpec=spec, EncryptionContext={"app": "x"})
    assert (pair["KeyId"], pair["KeyPairSpec"]) == (key["Arn"], spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], None)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
    back = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext={"app": "x"})
    assert back["Plaintext"] == pair["PrivateKeyPlaintext"]
    assert _error(kms.decrypt, CiphertextBlob=pair["PrivateKeyCiphertextBlob"])[0] == "InvalidCiphertextException"
    without = kms.generate_data_key_pair_without_plaintext(KeyId=key["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in without
    private = serialization.load_der_private_key(kms.decrypt(CiphertextBlob=without["PrivateKeyCiphertextBlob"])[
        "Plaintext"], None)
    assert isinstance(private, rsa.RSAPrivateKey if spec.startswith("RSA") else ec.EllipticCurvePrivateKey)
    assert _error(kms.generate_data_key_pair, KeyId=key["KeyId"], KeyPairSpec=spec, DryRun=True) == (
        "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert _error(kms.generate_data_key_pair, KeyId=signing["KeyId"], KeyPairSpec=spec)[0] == (
        "InvalidKeyUsageException")


def test_generate_random_bounds(client):
    kms = client("kms", parameter_validation=False)
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    assert _error(kms.generate_random, NumberOfBytes=0) == (
        "ValidationException", "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
                               "constraint: Member must have value greater than or equal to 1")
    assert _error(kms.generate_random, NumberOfBytes=1025) == (
        "ValidationException", "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
                               "constraint: Member must have value less than or equal to 1024")


def test_rotation_keeps_old_ciphertexts_readable(kms):
    key = kms.create_key()["KeyMetadata"]
    before = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"old", EncryptionContext={"v": "1"})["CiphertextBlob"]
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert (status["KeyId"], status["KeyRotationEnabled"], "NextRotationDate" in status) == (key["Arn"], False, False)
    assert kms.rotate_key_on_demand(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    rotated = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert rotated["CurrentKeyMaterialId"] != key["CurrentKeyMaterialId"]
    after = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"new")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=before, EncryptionContext={"v": "1"})["Plaintext"] == b"old"
    assert kms.decrypt(CiphertextBlob=after)["Plaintext"] == b"new"
    assert _error(kms.decrypt, CiphertextBlob=before + b"bad")[0] == "InvalidCiphertextException"
    rotations = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert [(r["KeyId"], r["RotationType"], r["KeyMaterialId"]) for r in rotations] == [
        (key["Arn"], "ON_DEMAND", rotated["CurrentKeyMaterialId"])]
    for _ in range(9):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert _error(kms.rotate_key_on_demand, KeyId=key["KeyId"]) == (
        "LimitExceededException", "The on-demand rotations limit has been reached for the given keyId. No more "
                                  f"on-demand rotations can be performed for this key: {key['Arn']}")
    assert kms.decrypt(CiphertextBlob=before, EncryptionContext={"v": "1"})["Plaintext"] == b"old"


def test_automatic_rotation_settings(kms, client):
    key = kms.create_key()["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 90)
    assert abs(status["NextRotationDate"].timestamp() - (time.time() + 90 * 86400)) < 60
    kms.disable_key_rotation(KeyId=key["KeyId"])
    assert "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=key["KeyId"])
    unchecked = client("kms", parameter_validation=False)
    assert _error(unchecked.enable_key_rotation, KeyId=key["KeyId"], RotationPeriodInDays=89)[0] == (
        "ValidationException")
    rsa_key = kms.create_key(KeySpec="RSA_4096", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert _error(kms.enable_key_rotation, KeyId=rsa_key["KeyId"]) == ("UnsupportedOperationException", "")
    assert _error(kms.rotate_key_on_demand, KeyId=rsa_key["KeyId"]) == ("UnsupportedOperationException", "")
    kms.disable_key(KeyId=rsa_key["KeyId"])
    assert _error(kms.rotate_key_on_demand, KeyId=rsa_key["KeyId"]) == (
        "DisabledException", f"{rsa_key['Arn']} is disabled.")


def test_grants(kms, client):
    key = kms.create_key()["KeyMetadata"]
    principal = "arn:aws:iam::000000000000:user/app"
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=principal, Operations=["Decrypt", "Encrypt"],
                             Name="app", RetiringPrincipal="arn:aws:iam::000000000000:user/ops")
    assert kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=principal, Operations=["Decrypt"],
                            Name="app")["GrantId"] == grant["GrantId"]  # a retry by name: the same grant
    second = kms.create_grant(KeyId=key["Arn"], GranteePrincipal=principal, Operations=["DescribeKey"])
    listed = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert {g["GrantId"] for g in listed} == {grant["GrantId"], second["GrantId"]}
    first = next(g for g in listed if g["GrantId"] == grant["GrantId"])
    assert (first["KeyId"], first["Name"], first["GranteePrincipal"], first["Operations"], first["IssuingAccount"]) == (
        key["Arn"], "app", principal, ["Decrypt", "Encrypt"], "arn:aws:iam::000000000000:root")
    retirable = kms.list_retirable_grants(RetiringPrincipal="arn:aws:iam::000000000000:user/ops")["Grants"]
    assert [g["GrantId"] for g in retirable] == [grant["GrantId"]]
    kms.retire_grant(GrantToken=grant["GrantToken"])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    assert _error(kms.revoke_grant, KeyId=key["KeyId"], GrantId=second["GrantId"])[0] == "NotFoundException"
    assert _error(kms.retire_grant, GrantToken=grant["GrantToken"])[0] == "InvalidGrantTokenException"
    assert _error(kms.create_grant, KeyId="invalid", GranteePrincipal=principal, Operations=["Decrypt"])[0] == (
        "NotFoundException")
    # another account's token retires nothing here
    other = client("kms", access_key="111111111111")
    key2 = kms.create_key()["KeyMetadata"]
    token = kms.create_grant(KeyId=key2["KeyId"], GranteePrincipal=principal, Operations=["Decrypt"])["GrantToken"]
    assert _error(other.retire_grant, GrantToken=token)[0] == "InvalidGrantTokenException"


def _wrapped(parameters: dict, material: bytes, algorithm: str) -> bytes:
    public = serialization.load_der_public_key(parameters["PublicKey"])
    chosen = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(chosen), algorithm=chosen, label=None)
    if algorithm.startswith("RSA_AES_KEY_WRAP"):
        aes = os.urandom(32)
        return public.encrypt(aes, oaep) + keywrap.aes_key_wrap_with_padding(aes, material)
    return public.encrypt(material, oaep)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"])
def test_import_symmetric_key_material(kms, algorithm):
    key = kms.create_key(Origin="EXTERNAL", Description="imported")["KeyMetadata"]
    assert (key["KeyState"], key["Enabled"], key["Origin"]) == ("PendingImport", False, "EXTERNAL")
    assert _error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x") == (
        "KMSInvalidStateException", f"{key['Arn']} is pending import.")
    parameters = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm=algorithm,
                                               WrappingKeySpec="RSA_3072")
    assert parameters["KeyId"] == key["Arn"]
    material = os.urandom(32)
    wrapped = _wrapped(parameters, material, algorithm)
    assert _error(kms.import_key_material, KeyId=key["KeyId"], ImportToken=parameters["ImportToken"],
                  EncryptedKeyMaterial=wrapped) == (
        "ValidationException", "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
    assert _error(kms.import_key_material, KeyId=key["KeyId"], ImportToken=b"forged" * 8,
                  EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")[0] == (
        "InvalidImportTokenException")
    assert _error(kms.import_key_material, KeyId=key["KeyId"], ImportToken=parameters["ImportToken"],
                  EncryptedKeyMaterial=wrapped[:-1] + bytes([wrapped[-1] ^ 1]),  # (a byte that differs)
                  ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")[0] == "IncorrectKeyMaterialException"
    imported = kms.import_key_material(KeyId=key["KeyId"], ImportToken=parameters["ImportToken"],
                                       EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (metadata["KeyState"], metadata["ExpirationModel"], metadata["CurrentKeyMaterialId"]) == (
        "Enabled", "KEY_MATERIAL_DOES_NOT_EXPIRE", imported["KeyMaterialId"])
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"
    assert _error(kms.decrypt, CiphertextBlob=blob)[0] == "KMSInvalidStateException"
    # only the same material comes back
    again = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
    assert _error(kms.import_key_material, KeyId=key["KeyId"], ImportToken=again["ImportToken"],
                  EncryptedKeyMaterial=_wrapped(again, os.urandom(32), algorithm),
                  ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")[0] == "IncorrectKeyMaterialException"
    kms.import_key_material(KeyId=key["KeyId"], ImportToken=again["ImportToken"],
                            EncryptedKeyMaterial=_wrapped(again, material, algorithm),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_import_asymmetric_and_hmac_material(kms):
    key = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    parameters = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                               WrappingKeySpec="RSA_4096")
    kms.import_key_material(KeyId=key["KeyId"], ImportToken=parameters["ImportToken"],
                            EncryptedKeyMaterial=_wrapped(parameters, der, "RSA_AES_KEY_WRAP_SHA_256"),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    signature = kms.sign(KeyId=key["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(signature, b"m", ec.ECDSA(hashes.SHA256()))  # signed with the imported key
    hmac_key = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    secret = os.urandom(32)
    parameters = kms.get_parameters_for_import(KeyId=hmac_key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
    # material of another size than the key spec's is refused
    assert _error(kms.import_key_material, KeyId=hmac_key["KeyId"], ImportToken=parameters["ImportToken"],
                  EncryptedKeyMaterial=_wrapped(parameters, os.urandom(20), "RSAES_OAEP_SHA_256"),
                  ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")[0] == "IncorrectKeyMaterialException"
    kms.import_key_material(KeyId=hmac_key["KeyId"], ImportToken=parameters["ImportToken"],
                            EncryptedKeyMaterial=_wrapped(parameters, secret, "RSAES_OAEP_SHA_256"),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    mac = kms.generate_mac(KeyId=hmac_key["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac == hmac.new(secret, b"m", hashlib.sha256).digest()
    aws_key = kms.create_key()["KeyMetadata"]
    assert _error(kms.get_parameters_for_import, KeyId=aws_key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                  WrappingKeySpec="RSA_2048") == (
        "UnsupportedOperationException", f"{aws_key['Arn']} origin is AWS_KMS which is not valid for this operation.")


def test_imported_material_pending_rotation(kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]

    def import_(import_type=None):
        parameters = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                   WrappingKeySpec="RSA_2048")
        extra = {"ImportType": import_type} if import_type else {}
        return kms.import_key_material(KeyId=key["KeyId"], ImportToken=parameters["ImportToken"],
                                       EncryptedKeyMaterial=_wrapped(parameters, os.urandom(32), "RSAES_OAEP_SHA_256"),
                                       ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", **extra)

    first = import_()
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"one")["CiphertextBlob"]
    assert _error(kms.rotate_key_on_demand, KeyId=key["KeyId"]) == (
        "KMSInvalidStateException", f"No available key material pending rotation for the key: {key['Arn']}.")
    pending = import_("NEW_KEY_MATERIAL")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == first["KeyMaterialId"]
    with pytest.raises(ClientError) as e:
        import_("NEW_KEY_MATERIAL")
    assert e.value.response["Error"]["Code"] == "KMSInvalidStateException"
    assert pending["KeyMaterialId"] in e.value.response["Error"]["Message"]
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == pending["KeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"one"


def test_multi_region_keys(kms, client):
    west = client("kms", region="eu-west-1")
    key = kms.create_key(MultiRegion=True, Description="global")["KeyMetadata"]
    assert key["KeyId"].startswith("mrk-") and key["MultiRegion"] is True
    assert key["MultiRegionConfiguration"] == {"MultiRegionKeyType": "PRIMARY",
                                               "PrimaryKey": {"Arn": key["Arn"], "Region": "us-east-1"},
                                               "ReplicaKeys": []}
    assert _error(west.describe_key, KeyId=key["KeyId"]) == (
        "NotFoundException", f"Key '{key['Arn'].replace('us-east-1', 'eu-west-1')}' does not exist")
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"everywhere")["CiphertextBlob"]
    replica = kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
    assert replica["Arn"] == key["Arn"].replace("us-east-1", "eu-west-1")
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == [
        {"Arn": replica["Arn"], "Region": "eu-west-1"}]
    # the replica shares the key material: the primary's ciphertext decrypts in the other region
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"everywhere"
    assert _error(kms.replicate_key, KeyId=key["KeyId"], ReplicaRegion="eu-west-1")[0] == "AlreadyExistsException"
    assert _error(west.replicate_key, KeyId=key["KeyId"], ReplicaRegion="eu-west-1") == (
        "UnsupportedOperationException", f"{replica['Arn']} is not a multi-region primary key.")
    # the primary's rotation reaches the replica
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    after = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"rotated")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=after)["Plaintext"] == b"rotated"
    assert _error(west.rotate_key_on_demand, KeyId=key["KeyId"])[0] == "UnsupportedOperationException"


def test_tag_limits_on_create_key(kms):
    assert _error(kms.create_key, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)]) == (
        "TagException", "Too many tags")
    assert _error(kms.create_key, Tags=[{"TagKey": "AWS:x", "TagValue": "v"}]) == (
        "TagException", "Tags beginning with aws: are reserved")


def test_keys_survive_a_restart_sealed_and_automatic_rotation_is_made_when_due(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        kms = make_client(server.endpoint, "kms")
        signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        public = kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"]
        mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        mac = kms.generate_mac(KeyId=mac_key["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
        symmetric = kms.create_key()["KeyMetadata"]
        kms.rotate_key_on_demand(KeyId=symmetric["KeyId"])
        kms.enable_key_rotation(KeyId=symmetric["KeyId"], RotationPeriodInDays=90)
        blob = kms.encrypt(KeyId=symmetric["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
        grant = kms.create_grant(KeyId=symmetric["KeyId"], GranteePrincipal="arn:aws:iam::000000000000:root",
                                 Operations=["Decrypt"])
    finally:
        server.stop(kill=True)  # acknowledged means committed: nothing waits for a clean shutdown
    # the private key is not at rest in the clear
    material = [bytes(r[0]) for r in stored_rows(tmp_path, "SELECT material FROM kms_keys")]
    assert not any(public[-64:] in m or b"PRIVATE" in m for m in material)
    if TEST_DATABASES is None:  # move the rotation date into the past, as time would
        db = sqlite3.connect(os.path.join(tmp_path, "overcast.db"))
        row = db.execute("SELECT metadata FROM kms_keys WHERE key_id = ?", (symmetric["KeyId"],)).fetchone()
        metadata = json.loads(row[0])
        metadata["_rotation"]["next"] = time.time() - 1
        db.execute("UPDATE kms_keys SET metadata = ? WHERE key_id = ?", (json.dumps(metadata), symmetric["KeyId"]))
        db.commit()
        db.close()
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        kms = make_client(server.endpoint, "kms")
        assert kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"] == public
        signature = kms.sign(KeyId=signing["KeyId"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
        _verify_locally(public, "RSASSA_PSS_SHA_256", b"m", signature)
        assert kms.verify_mac(KeyId=mac_key["KeyId"], Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
        assert [g["GrantId"] for g in kms.list_grants(KeyId=symmetric["KeyId"])["Grants"]] == [grant["GrantId"]]
        if TEST_DATABASES is None:
            rotations = kms.list_key_rotations(KeyId=symmetric["KeyId"])["Rotations"]
            assert [r["RotationType"] for r in rotations] == ["ON_DEMAND", "AUTOMATIC"]
            status = kms.get_key_rotation_status(KeyId=symmetric["KeyId"])
            assert status["NextRotationDate"].timestamp() > time.time() + 89 * 86400
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    finally:
        server.stop()


def test_digest_signature_is_prehashed(kms):
    # a DIGEST message is signed as the hash AWS was given (utils.Prehashed on the client's side)
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    digest = hashlib.sha256(b"payload").digest()
    signature = kms.sign(KeyId=key["KeyId"], Message=digest, MessageType="DIGEST",
                         SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    public.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_key_specs_not_done_answer_not_implemented(kms):
    with pytest.raises(ClientError) as e:
        kms.create_key(KeySpec="ML_DSA_44", KeyUsage="SIGN_VERIFY")
    assert (e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"]) == (
        501, "NotImplemented")
    assert _error(kms.create_key, KeySpec="HMAC_random", KeyUsage="GENERATE_VERIFY_MAC") == (
        "ValidationException", "1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy "
                               "constraint: Member must satisfy enum value set: [RSA_2048, ECC_NIST_P384, ECC_NIST_P256, "
                               "ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, SYMMETRIC_DEFAULT, "
                               "HMAC_256, HMAC_224, HMAC_512]")
