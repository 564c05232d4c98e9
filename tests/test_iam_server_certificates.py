"""IAM server certificates: upload (certificate, chain and key checked), get, list, update,
delete and tags, with AWS's answers and errors."""

from __future__ import annotations

import datetime
import json

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from error_support import client_error as _error

NOT_AFTER = datetime.datetime(2030, 3, 9, 15, 0, 49, tzinfo=datetime.UTC)


def _key_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(datetime.datetime(2021, 3, 11, tzinfo=datetime.UTC)).not_valid_after(NOT_AFTER)
                   .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), pem_key


@pytest.fixture(scope="module")
def pair():
    return _key_pair()


def test_upload_get_list_update_delete(iam, unique_name, pair):
    body, key = pair
    name = unique_name("cert")
    metadata = iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key,
                                             Path="/cloudfront/", Tags=[{"Key": "team", "Value": "web"}])
    metadata = metadata["ServerCertificateMetadata"]
    assert metadata["Arn"] == f"arn:aws:iam::000000000000:server-certificate/cloudfront/{name}"
    assert metadata["ServerCertificateId"].startswith("ASCA") and len(metadata["ServerCertificateId"]) == 21
    assert metadata["Expiration"] == NOT_AFTER

    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == body.strip()  # PEM's final newline is not kept
    assert got["ServerCertificateMetadata"] == metadata
    assert got["Tags"] == [{"Key": "team", "Value": "web"}]
    listed = iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]
    assert metadata in listed

    renamed = name + "-2"
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=renamed, NewPath="/")
    got = iam.get_server_certificate(ServerCertificateName=renamed)["ServerCertificate"]["ServerCertificateMetadata"]
    assert got["Arn"] == f"arn:aws:iam::000000000000:server-certificate/{renamed}"
    iam.untag_server_certificate(ServerCertificateName=renamed, TagKeys=["team"])
    assert iam.list_server_certificate_tags(ServerCertificateName=renamed)["Tags"] == []

    iam.delete_server_certificate(ServerCertificateName=renamed)
    with pytest.raises(ClientError) as excinfo:
        iam.get_server_certificate(ServerCertificateName=renamed)
    assert _error(excinfo) == (404, "NoSuchEntity", f"The Server Certificate with name {renamed} cannot be found.")


def test_duplicate_name_is_entity_already_exists(iam, unique_name, pair):
    body, key = pair
    name = unique_name("cert")
    iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key)
    with pytest.raises(ClientError) as excinfo:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key)
    assert _error(excinfo)[:2] == (409, "EntityAlreadyExists")


def test_bad_certificate_or_foreign_key_is_refused(iam, unique_name, pair):
    body, key = pair
    _, other_key = _key_pair()
    with pytest.raises(ClientError) as excinfo:
        iam.upload_server_certificate(ServerCertificateName=unique_name("cert"), CertificateBody="not a certificate",
                                      PrivateKey=key)
    assert _error(excinfo)[:2] == (400, "MalformedCertificate")
    with pytest.raises(ClientError) as excinfo:
        iam.upload_server_certificate(ServerCertificateName=unique_name("cert"), CertificateBody=body,
                                      PrivateKey=other_key)
    assert _error(excinfo)[:2] == (400, "KeyPairMismatch")


def test_cloudformation_server_certificate(client, unique_name, pair):
    body, key = pair
    cf = client("cloudformation")
    name, stack = unique_name("cert"), unique_name("certstack")
    template = {
        "Resources": {"Cert": {"Type": "AWS::IAM::ServerCertificate", "Properties": {
            "ServerCertificateName": name, "CertificateBody": body, "PrivateKey": key}}},
        "Outputs": {"Name": {"Value": {"Ref": "Cert"}}, "Arn": {"Value": {"Fn::GetAtt": ["Cert", "Arn"]}}},
    }
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    assert outputs == {"Name": name, "Arn": f"arn:aws:iam::000000000000:server-certificate/{name}"}
    iam = client("iam")
    assert iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]["Tags"] == []
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    with pytest.raises(ClientError):
        iam.get_server_certificate(ServerCertificateName=name)
