"""Lambda layer version permissions through boto3: AddLayerVersionPermission,
GetLayerVersionPolicy, RemoveLayerVersionPermission and AWS's errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from conftest import make_client
from lambda_functions import zip_files


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def _error(excinfo) -> tuple[str, int]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


def _layer(lam, unique_name) -> tuple[str, int, str]:
    name = unique_name("layer")
    out = lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_files({"python/x.py": "X = 1\n"})})
    return name, out["Version"], out["LayerVersionArn"]


def test_permissions_are_added_read_and_removed(lam, unique_name):
    name, number, arn = _layer(lam, unique_name)
    with pytest.raises(ClientError) as e:
        lam.get_layer_version_policy(LayerName=name, VersionNumber=number)
    assert _error(e) == ("ResourceNotFoundException", 404)
    added = lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="xaccount",
                                             Action="lambda:GetLayerVersion", Principal="111122223333")
    assert json.loads(added["Statement"]) == {
        "Sid": "xaccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn}
    org = lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="org",
                                           Action="lambda:GetLayerVersion", Principal="*", OrganizationId="o-abcdef123456")
    assert json.loads(org["Statement"])["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef123456"}}
    got = lam.get_layer_version_policy(LayerName=name, VersionNumber=number)
    assert got["RevisionId"] == org["RevisionId"]
    assert [s["Sid"] for s in json.loads(got["Policy"])["Statement"]] == ["xaccount", "org"]
    lam.remove_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="xaccount",
                                        RevisionId=got["RevisionId"])
    assert [s["Sid"] for s in json.loads(lam.get_layer_version_policy(LayerName=name, VersionNumber=number)["Policy"])
            ["Statement"]] == ["org"]
    lam.remove_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="org")
    with pytest.raises(ClientError) as e:
        lam.get_layer_version_policy(LayerName=name, VersionNumber=number)
    assert _error(e) == ("ResourceNotFoundException", 404)


def test_errors_are_aws_errors(lam, unique_name):
    name, number, _ = _layer(lam, unique_name)
    first = lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="s1",
                                             Action="lambda:GetLayerVersion", Principal="*")
    with pytest.raises(ClientError) as e:
        lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="s1",
                                         Action="lambda:GetLayerVersion", Principal="*")
    assert _error(e) == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as e:
        lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="s2",
                                         Action="lambda:GetLayerVersion", Principal="*", RevisionId="stale")
    assert _error(e) == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as e:
        lam.remove_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="s1", RevisionId="stale")
    assert _error(e) == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as e:
        lam.remove_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="nope")
    assert _error(e) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        lam.add_layer_version_permission(LayerName=name, VersionNumber=number + 5, StatementId="s3",
                                         Action="lambda:GetLayerVersion", Principal="*")
    assert _error(e) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="s4",
                                         Action="lambda:InvokeFunction", Principal="*")
    assert _error(e) == ("ValidationException", 400)
    assert lam.get_layer_version_policy(LayerName=name, VersionNumber=number)["RevisionId"] == first["RevisionId"]


def test_another_account_reads_a_layer_version_by_its_layer_arn(lam, endpoint, unique_name):
    # GetLayerVersion takes the layer's ARN as LayerName: the ARN's account and region, as
    # GetLayerVersionByArn reads them (another account's client here: access key = account id)
    name, number, arn = _layer(lam, unique_name)
    lam.add_layer_version_permission(LayerName=name, VersionNumber=number, StatementId="xaccount",
                                     Action="lambda:GetLayerVersion", Principal="111122223333")
    other = make_client(endpoint, "lambda", access_key="111122223333")
    layer_arn = arn.rsplit(":", 1)[0]
    assert other.get_layer_version(LayerName=layer_arn, VersionNumber=number)["LayerVersionArn"] == arn
    assert other.get_layer_version_by_arn(Arn=arn)["LayerVersionArn"] == arn
    with pytest.raises(ClientError) as e:
        other.get_layer_version(LayerName=layer_arn, VersionNumber=number + 1)
    assert _error(e) == ("ResourceNotFoundException", 404)
