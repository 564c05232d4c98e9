"""Lambda's answers to bad or missing names as AWS gives them (LocalStack's AWS-validated
test_lambda_api.py, issue 14, second round): name lengths, AWS's loose function-name pattern,
what Invoke and CreateEventSourceMapping say about a function that does not exist."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def test_function_name_longer_than_64(lam):
    name = "a" * 65
    with pytest.raises(ClientError) as e:
        create_python(lam, name)
    assert e.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                   "Member must have length less than or equal to 64"}
    # reading or deleting it is only "not found": those names may be up to 140 or 170 characters (ARNs)
    for call in (lam.get_function, lam.delete_function):
        with pytest.raises(ClientError) as e:
            call(FunctionName=name)
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert e.value.response["Error"]["Message"] == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"


def test_arn_without_function_name_reads_as_the_function_named_function(lam):
    # every part of AWS's pattern is optional, so ...:function is the name "function"
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="arn:aws:lambda:us-east-1:000000000000:function")
    assert e.value.response["Error"]["Message"] == "Function not found: arn:aws:lambda:us-east-1:000000000000:function:function"


def test_invoke_of_missing_function_names_the_qualifier(lam, unique_name):
    name = unique_name("none")
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name)
    assert e.value.response["Error"]["Message"] == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, Qualifier="$latest")
    assert e.value.response["Error"]["Message"] == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}:$latest"


def test_event_source_mapping_of_missing_function_or_source(lam, unique_name):
    queue = "arn:aws:sqs:us-east-1:000000000000:somequeue"
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(FunctionName="doesnotexist")
    assert e.value.response["Error"] == {"Code": "InvalidParameterValueException", "Message": "Unrecognized event source."}
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(FunctionName="doesnotexist", EventSourceArn=queue)
    assert e.value.response["Error"] == {"Code": "InvalidParameterValueException", "Message": "Function does not exist"}
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(FunctionName="doesnotexist", EventSourceArn=queue,
                                        DestinationConfig={"OnSuccess": {"Destination": queue}})
    assert e.value.response["Error"]["Message"] == "Unsupported DestinationConfig parameter for given event source mapping type."
    with pytest.raises(ClientError) as e:
        lam.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000")
    assert e.value.response["Error"] == {"Code": "ResourceNotFoundException", "Message": "The resource you requested does not exist."}
