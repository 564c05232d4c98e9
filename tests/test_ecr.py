"""ECR's control plane through boto3 and the AWS CLI: repositories, settings, lifecycle and
repository policies, tags, the registry, authorization tokens — and the registry operations that
overcast does not serve."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def ecr(client):
    return client("ecr")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


@pytest.fixture
def repo(unique_name):
    return "team/" + unique_name("repo")


LIFECYCLE = {"rules": [
    {"rulePriority": 1, "description": "keep ten releases", "selection": {
        "tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 10},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days",
                                      "countNumber": 14}, "action": {"type": "expire"}}]}


@pytest.mark.postgres_e2e
def test_create_repository_shape(ecr, repo):
    created = ecr.create_repository(repositoryName=repo, tags=[{"Key": "team", "Value": "red"}])["repository"]
    assert created["repositoryName"] == repo and created["registryId"] == "000000000000"
    assert created["repositoryArn"] == f"arn:aws:ecr:us-east-1:000000000000:repository/{repo}"
    assert created["repositoryUri"] == f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{repo}"
    assert created["imageTagMutability"] == "MUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": False}
    assert created["encryptionConfiguration"] == {"encryptionType": "AES256"}
    [described] = ecr.describe_repositories(repositoryNames=[repo])["repositories"]
    assert described == created


def test_create_with_settings(ecr, repo):
    created = ecr.create_repository(repositoryName=repo, imageTagMutability="IMMUTABLE",
                                    imageScanningConfiguration={"scanOnPush": True},
                                    encryptionConfiguration={"encryptionType": "KMS"})["repository"]
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert created["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert created["encryptionConfiguration"]["kmsKey"].startswith("arn:aws:kms:us-east-1:000000000000:")


def test_create_twice_and_missing(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName=repo)
    assert error(e) == ("RepositoryAlreadyExistsException",
                        f"The repository with name '{repo}' already exists in the registry with id '000000000000'")
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=[repo + "-missing"])
    assert error(e) == ("RepositoryNotFoundException", f"The repository with name '{repo}-missing' does not exist in "
                        "the registry with id '000000000000'")


@pytest.mark.parametrize("name", ["UPPER", "a", "bad//slash", "-lead", "trail-"])
def test_invalid_repository_names(client, name):
    unchecked = client("ecr", parameter_validation=False)  # what a client without the model's checks sends
    with pytest.raises(ClientError) as e:
        unchecked.create_repository(repositoryName=name)
    assert error(e)[0] in ("InvalidParameterException", "ValidationException")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_aes256_with_kms_key_is_rejected(ecr, repo):
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName=repo, encryptionConfiguration={"encryptionType": "AES256",
                                                                            "kmsKey": "alias/x"})
    assert error(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_describe_repositories_pages(ecr, client, unique_name):
    own = client("ecr", access_key="333333333333")
    names = sorted(unique_name("p") for _ in range(5))
    for name in names:
        own.create_repository(repositoryName=name)
    pages = list(own.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2}))
    assert [r["repositoryName"] for p in pages for r in p["repositories"]] == names
    assert len(pages) == 3
    assert not any(r["repositoryName"] in names for r in ecr.describe_repositories()["repositories"])


@pytest.mark.postgres_e2e
def test_delete_repository(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    deleted = ecr.delete_repository(repositoryName=repo)["repository"]
    assert deleted["repositoryName"] == repo
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName=repo, force=True)
    assert error(e)[0] == "RepositoryNotFoundException"


@pytest.mark.postgres_e2e
def test_scanning_and_mutability(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    out = ecr.put_image_scanning_configuration(repositoryName=repo, imageScanningConfiguration={"scanOnPush": True})
    assert out["imageScanningConfiguration"] == {"scanOnPush": True}
    out = ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    assert out["imageTagMutability"] == "IMMUTABLE"
    [described] = ecr.describe_repositories(repositoryNames=[repo])["repositories"]
    assert described["imageTagMutability"] == "IMMUTABLE" and described["imageScanningConfiguration"]["scanOnPush"]
    with pytest.raises(ClientError) as e:
        ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE_WITH_EXCLUSION")
    assert error(e)[0] == "InvalidParameterException"
    out = ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                                       imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD",
                                                                            "filter": "latest"}])
    assert out["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "latest"}]


@pytest.mark.postgres_e2e
def test_lifecycle_policy(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy(repositoryName=repo)
    assert error(e) == ("LifecyclePolicyNotFoundException", f"Lifecycle policy does not exist for the repository with "
                        f"name '{repo}' in the registry with id '000000000000'")
    text = json.dumps(LIFECYCLE)
    assert ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)["lifecyclePolicyText"] == text
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == text
    assert ecr.delete_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == text
    with pytest.raises(ClientError) as e:
        ecr.delete_lifecycle_policy(repositoryName=repo)
    assert error(e)[0] == "LifecyclePolicyNotFoundException"


def _rule(**selection) -> dict:
    base = {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}
    base.update(selection)
    return {"rulePriority": 1, "description": "a rule that is long enough for the minimum size of a policy",
            "selection": {k: v for k, v in base.items() if v is not None}, "action": {"type": "expire"}}


@pytest.mark.parametrize("policy", [
    {"rules": [_rule(tagStatus="tagged")]},  # tagged without prefixes
    {"rules": [_rule(countType="sinceImagePushed")]},  # no countUnit
    {"rules": [_rule(countUnit="days")]},  # countUnit with imageCountMoreThan
    {"rules": [_rule(countNumber=0)]},
    {"rules": [_rule(tagStatus="sometimes")]},
    {"rules": [_rule(), _rule()]},  # the same priority twice
    {"rules": [{**_rule(tagStatus="any"), "rulePriority": 1}, {**_rule(), "rulePriority": 2}]},  # any not last
    {"rules": [], "padding": "x" * 100},
])
def test_invalid_lifecycle_policies(ecr, repo, policy):
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as e:
        ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=json.dumps(policy))
    code, message = error(e)
    assert code == "InvalidParameterException" and "Lifecycle policy validation failure" in message


@pytest.mark.postgres_e2e
def test_repository_policy(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
    assert ecr.set_repository_policy(repositoryName=repo, policyText=policy)["policyText"] == policy
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == policy
    assert ecr.delete_repository_policy(repositoryName=repo)["policyText"] == policy
    with pytest.raises(ClientError) as e:
        ecr.get_repository_policy(repositoryName=repo)
    assert error(e)[0] == "RepositoryPolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.set_repository_policy(repositoryName=repo, policyText="{not json")
    assert error(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_tags(ecr, repo):
    arn = ecr.create_repository(repositoryName=repo, tags=[{"Key": "a", "Value": "1"}])["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "b", "Value": "2"}])
    ecr.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as e:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error(e)[0] == "TooManyTagsException"
    with pytest.raises(ClientError) as e:
        ecr.list_tags_for_resource(resourceArn=arn + "-missing")
    assert error(e)[0] == "RepositoryNotFoundException"


def test_registry_and_authorization_token(ecr):
    assert ecr.describe_registry()["registryId"] == "000000000000"
    [data] = ecr.get_authorization_token()["authorizationData"]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and len(password) > 20
    assert data["proxyEndpoint"] == "https://000000000000.dkr.ecr.us-east-1.amazonaws.com"


def test_images_none_and_registry_operations_not_implemented(ecr, repo):
    ecr.create_repository(repositoryName=repo)
    assert ecr.list_images(repositoryName=repo)["imageIds"] == []
    assert ecr.describe_images(repositoryName=repo)["imageDetails"] == []
    with pytest.raises(ClientError) as e:
        ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "latest"}])
    assert error(e)[0] == "ImageNotFoundException"
    failures = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "latest"}])["failures"]
    assert failures[0]["failureCode"] == "ImageNotFound"
    for call in (lambda: ecr.initiate_layer_upload(repositoryName=repo),
                 lambda: ecr.put_image(repositoryName=repo, imageManifest="{}"),
                 lambda: ecr.get_download_url_for_layer(repositoryName=repo, layerDigest="sha256:" + "0" * 64)):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e)[0] == "NotImplemented"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_other_registry_id_is_refused(ecr, repo):
    with pytest.raises(ClientError) as e:
        ecr.create_repository(registryId="999999999999", repositoryName=repo)
    assert error(e)[0] == "InvalidParameterException"


def test_cli(aws_cli, repo):
    created = aws_cli("ecr", "create-repository", "--repository-name", repo)
    assert created["repository"]["repositoryUri"].endswith(f".dkr.ecr.us-east-1.amazonaws.com/{repo}")
    listed = aws_cli("ecr", "describe-repositories", "--repository-names", repo)
    assert listed["repositories"][0]["repositoryName"] == repo
