"""Lambda's TagResource, UntagResource and ListTags on functions and event source mappings, with
AWS's answers to empty, too many or missing tags (LocalStack's test_lambda_api.py, issue 14)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def error(e) -> tuple:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_tags_on_an_event_source_mapping(lam, client, unique_name):
    name = unique_name("fn")
    create_python(lam, name, Timeout=3)
    queue = client("sqs").create_queue(QueueName=unique_name("q"))["QueueUrl"]
    queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name, BatchSize=1,
                                              Tags={"team": "a"})
    arn = mapping["EventSourceMappingArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "a"}
    lam.tag_resource(Resource=arn, Tags={"env": "dev"})
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    assert "Tags" not in lam.get_event_source_mapping(UUID=mapping["UUID"])
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    with pytest.raises(ClientError) as e:
        lam.list_tags(Resource=arn)
    assert error(e) == ("ResourceNotFoundException", f"Event source mapping not found: {arn}")


def test_tag_changes_are_new_revisions_of_the_function(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    before = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    lam.tag_resource(Resource=arn, Tags={"a": "1"})
    tagged = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    untagged = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    assert len({before, tagged, untagged}) == 3


def test_empty_and_too_many_tags(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    with pytest.raises(ClientError) as e:
        lam.tag_resource(Resource=arn, Tags={})
    assert error(e) == ("InvalidParameterValueException", "An error occurred and the request cannot be processed.")
    with pytest.raises(ClientError) as e:
        lam.untag_resource(Resource=arn, TagKeys=[])
    assert error(e) == ("ValidationException",
                        "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), Tags={f"k{i}": "v" for i in range(51)})
    assert error(e) == ("InvalidParameterValueException", "Number of tags exceeds resource tag limit.")


def test_get_function_of_a_published_version_shows_no_tags(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name, Tags={"team": "a"})
    version = lam.publish_version(FunctionName=name)["Version"]
    assert lam.get_function(FunctionName=name)["Tags"] == {"team": "a"}
    assert "Tags" not in lam.get_function(FunctionName=name, Qualifier=version)  # (AWS's recorded answers)
    assert lam.get_function(FunctionName=name, Qualifier="$LATEST")["Tags"] == {"team": "a"}
