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


def test_reserved_concurrency_of_a_version_or_missing_function(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=f"{arn}:$LATEST", ReservedConcurrentExecutions=0)
    assert e.value.response["Error"]["Message"].startswith("This operation is permitted on Lambda functions only.")
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName="doesnotexist", ReservedConcurrentExecutions=1)
    assert e.value.response["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:doesnotexist:$LATEST"


def test_provisioned_concurrency_targets_limits_and_conflicts(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    cases = [("noalias", "ResourceNotFoundException", f"Cannot find alias arn: {arn}:noalias"),
             ("10", "ResourceNotFoundException", f"Function not found: {arn}:10"),
             ("$LATEST", "InvalidParameterValueException",
              "The function resource provided must be an alias or a published version.")]
    for qualifier, code, message in cases:
        for call in (lam.get_provisioned_concurrency_config, lam.delete_provisioned_concurrency_config):
            with pytest.raises(ClientError) as e:
                call(FunctionName=name, Qualifier=qualifier)
            assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (code, message)
    limit = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=limit + 1)
    assert e.value.response["Error"]["Message"] == \
        f"Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [{limit}]."
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=limit)
    assert "below its minimum value of" in e.value.response["Error"]["Message"]

    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    with pytest.raises(ClientError) as e:  # the version is already provisioned through its alias
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1)
    assert e.value.response["Error"]["Message"] == "Version is pointed by a Provisioned Concurrency alias"
    listed = lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{arn}:live"]
    lam.delete_alias(FunctionName=name, Name="live")  # its provisioned concurrency goes with it
    assert lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"] == []


def test_qualified_reads_name_the_qualifier_and_empty_routing_is_none(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version,
                     RoutingConfig={"AdditionalVersionWeights": {}})
    assert "RoutingConfig" not in lam.get_alias(FunctionName=name, Name="live")
    for qualifier in ("$LATEST", version, "live"):
        got = lam.get_function(FunctionName=name, Qualifier=qualifier)["Configuration"]["FunctionArn"]
        assert got == f"{arn}:{qualifier}"
    assert lam.get_function_configuration(FunctionName=f"{arn}:live")["FunctionArn"] == f"{arn}:live"
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == arn


def test_alias_routing_checked_in_aws_order(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    lam.publish_version(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Description="2")
    lam.publish_version(FunctionName=name)
    cases = [("1", {"1": 0.8, "2": 0.2}, "Number of items in AdditionalVersionWeights cannot be greater than 1"),
             ("1", {"1": 0.5}, "Invalid function version 1. Function version 1 is already included in routing configuration."),
             ("10", {"2": 0.5}, f"Function not found: {arn}:10"),
             ("1", {"10": 0.5}, f"Function not found: {arn}:10"),
             ("$LATEST", {"1": 0.5}, "$LATEST is not supported for an alias pointing to more than 1 version")]
    for version, weights, message in cases:
        with pytest.raises(ClientError) as e:
            lam.create_alias(FunctionName=name, Name="custom", FunctionVersion=version,
                             RoutingConfig={"AdditionalVersionWeights": weights})
        assert e.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=f"{name}-unknown", Name="custom", FunctionVersion="1")
    assert e.value.response["Error"]["Message"] == f"Function not found: {arn}-unknown:1"
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName=name, Name="none")
    assert e.value.response["Error"]["Message"] == f"Cannot find alias arn: {arn}:none"


def test_delete_function_version_and_latest(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    # a version that does not exist: deleting it succeeds, twice
    for _ in range(2):
        assert lam.delete_function(FunctionName=name, Qualifier="1233")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=f"{arn}-none:$LATEST", Qualifier="$LATEST")
    assert e.value.response["Error"]["Message"] == "$LATEST version cannot be deleted without deleting the function."
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=name, Qualifier="1233")
    assert e.value.response["Error"]["Message"] == f"Function not found: {arn}"


def test_layer_versions_and_references_as_aws_checks_them(lam, unique_name):
    from lambda_functions import zip_files

    name = unique_name("layer")
    first = lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_files({"a.txt": "a"})},
                                      CompatibleRuntimes=[])
    assert first["CompatibleRuntimes"] == [] and "CompatibleArchitectures" not in first  # kept as given
    second = lam.publish_layer_version(LayerName=name, Content={"ZipFile": zip_files({"a.txt": "b"})})
    for version in (0, -1):
        with pytest.raises(ClientError) as e:
            lam.get_layer_version(LayerName=name, VersionNumber=version)
        assert e.value.response["Error"]["Message"] == "Layer Version Cannot be less than 1"
    with pytest.raises(ClientError) as e:
        lam.delete_layer_version(LayerName=name, VersionNumber=0)
    assert e.value.response["Error"]["Message"] == "Layer Version Cannot be less than 1"
    arns = [first["LayerVersionArn"], second["LayerVersionArn"]]
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), Layers=arns)
    assert e.value.response["Error"]["Message"] == (
        "Two different versions of the same layer are not allowed to be referenced in the same function. "
        f"{arns[0]} and {arns[1]} are versions of the same layer.")
    other = arns[0].replace(":us-east-1:", ":eu-west-1:")
    with pytest.raises(ClientError) as e:
        create_python(lam, unique_name("fn"), Layers=[other])
    assert e.value.response["Error"]["Message"] == \
        "Layers are not in the same region as the function. Layers are expected to be in region us-east-1."

    lam.add_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="s1", Action="lambda:GetLayerVersion",
                                     Principal="*")
    with pytest.raises(ClientError) as e:
        lam.add_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="s1",
                                         Action="lambda:GetLayerVersion", Principal="*")
    assert e.value.response["Error"]["Message"] == \
        "The statement id (s1) provided already exists. Please provide a new statement id, or remove the existing statement."
    with pytest.raises(ClientError) as e:
        lam.remove_layer_version_permission(LayerName=name, VersionNumber=1, StatementId="s1", RevisionId="wrong")
    assert e.value.response["Error"]["Message"].endswith("Call the GetLayerPolicy API to retrieve the latest Revision Id")


def test_url_and_event_invoke_config_lists_page(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    for qualifier in (None, "live"):
        extra = {"Qualifier": qualifier} if qualifier else {}
        lam.create_function_url_config(FunctionName=name, AuthType="NONE", **extra)
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1, **extra)
    for call, key in ((lam.list_function_url_configs, "FunctionUrlConfigs"),
                      (lam.list_function_event_invoke_configs, "FunctionEventInvokeConfigs")):
        first = call(FunctionName=name, MaxItems=1)
        assert len(first[key]) == 1 and first["NextMarker"]
        rest = call(FunctionName=name, MaxItems=1, Marker=first["NextMarker"])
        assert len(rest[key]) == 1 and "NextMarker" not in rest and rest[key] != first[key]
    with pytest.raises(ClientError) as e:
        lam.list_function_url_configs(FunctionName="doesnotexist")
    assert e.value.response["Error"]["Message"] == "Function does not exist"


def test_event_invoke_config_answers(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    cases = [({"FunctionName": "doesnotexist"}, "You must specify at least one of error handling or destination setting."),
             ({"FunctionName": "doesnotexist", "MaximumRetryAttempts": 1}, "The function doesn't exist."),
             ({"FunctionName": name, "Qualifier": "nope", "MaximumRetryAttempts": 1}, "The function doesn't exist."),
             ({"FunctionName": name, "DestinationConfig": {"OnSuccess": {"Destination": arn}}},
              "You can't specify the function as a destination for itself."),
             ({"FunctionName": name, "DestinationConfig": {"OnSuccess": {"Destination": f"{arn}-none"}}},
              f"The destination ARN {arn}-none is invalid."),
             ({"FunctionName": name, "DestinationConfig": {"OnSuccess": {"Destination": arn.replace(":lambda:", ":iam:")}}},
              "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination="
              f"{arn.replace(':lambda:', ':iam:')}), onFailure=null) is invalid.")]
    for params, message in cases:
        with pytest.raises(ClientError) as e:
            lam.put_function_event_invoke_config(**params)
        assert e.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as e:
        lam.list_function_event_invoke_configs(FunctionName="doesnotexist")
    assert e.value.response["Error"]["Message"] == "The function doesn't exist."


def test_permission_answers(lam, unique_name):
    name = unique_name("fn")
    arn = create_python(lam, name)["FunctionArn"]
    base = {"Action": "lambda:InvokeFunction", "StatementId": "s1", "Principal": "s3.amazonaws.com"}
    cases = [({"FunctionName": f"{name}:$LATEST", "Qualifier": "$LATEST"}, "We currently do not support adding policies for $LATEST."),
             ({"FunctionName": name, "Principal": "invalid.nonaws.com"},
              "The provided principal was invalid. Please check the principal and try again."),
             ({"FunctionName": name, "Qualifier": "alias-none"}, f"Cannot find alias arn: {arn}:alias-none"),
             ({"FunctionName": name, "Qualifier": "42"}, f"Function not found: {arn}:42")]
    for params, message in cases:
        with pytest.raises(ClientError) as e:
            lam.add_permission(**{**base, **params})
        assert e.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name, Qualifier="77")
    assert e.value.response["Error"]["Message"] == "The resource you requested does not exist."
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="s1")
    assert e.value.response["Error"]["Message"] == "No policy is associated with the given resource."
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName="doesnotexist", StatementId="s1")
    assert e.value.response["Error"]["Message"] == \
        "No policy found for: arn:aws:lambda:us-east-1:000000000000:function:doesnotexist"


def test_url_config_answers_name_invoke_mode_only_when_given(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    created = lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert "InvokeMode" not in created
    assert lam.get_function_url_config(FunctionName=name)["InvokeMode"] == "BUFFERED"
    assert "InvokeMode" not in lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    updated = lam.update_function_url_config(FunctionName=name, InvokeMode="BUFFERED")
    assert updated["InvokeMode"] == "BUFFERED"


def _message(call, **params) -> str:
    with pytest.raises(ClientError) as e:
        call(**params)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    return e.value.response["Error"]["Message"]


def test_list_and_map_members_reported_for_the_whole_value(lam, unique_name):
    # AWS names the list or map, quotes it as its Java code prints it, and lists every constraint of
    # its members (LocalStack's recorded answers: architectures, layers, routing weights)
    assert _message(create_python, lam=lam, name=unique_name("fn"), Architectures=["X86_64"]) == (
        "1 validation error detected: Value '[X86_64]' at 'architectures' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
    assert _message(create_python, lam=lam, name=unique_name("fn"), Architectures=["x86_64", "arm64"]) == (
        "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: "
        "Member must have length less than or equal to 1")
    layer = "arn:aws:lambda:us-east-1:000000000000:layer:nolayerversion"
    message = _message(create_python, lam=lam, name=unique_name("fn"), Layers=[layer])
    assert message.startswith(f"1 validation error detected: Value '[{layer}]' at 'layers' failed to satisfy "
                              "constraint: Member must satisfy constraint: [Member must have length less than or "
                              "equal to 2048, Member must have length greater than or equal to 1, Member must "
                              "satisfy regular expression pattern: ")
    assert message.endswith(", Member must not be null]")
    name = unique_name("fn")
    create_python(lam, name)
    version = lam.publish_version(FunctionName=name)["Version"]
    assert _message(lam.create_alias, FunctionName=name, Name="a", FunctionVersion=version,
                    RoutingConfig={"AdditionalVersionWeights": {version: 2}}) == (
        f"1 validation error detected: Value '{{{version}=2.0}}' at 'routingConfig.additionalVersionWeights' failed "
        "to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to "
        "1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
    assert _message(lam.create_alias, FunctionName=name, Name="a", FunctionVersion=version,
                    RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}}) == (
        "1 validation error detected: Value '{$LATEST=0.5}' at 'routingConfig.additionalVersionWeights' failed to "
        "satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, "
        "Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
    # a good map passes
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.update_function_configuration(FunctionName=name, Description="second")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    second = lam.publish_version(FunctionName=name)["Version"]
    alias = lam.create_alias(FunctionName=name, Name="a", FunctionVersion=second,
                             RoutingConfig={"AdditionalVersionWeights": {version: 0.5}})
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {version: 0.5}}


def test_publishing_renews_latest_revision_and_permissions_match_the_target_revision(lam, unique_name):
    name = unique_name("fn")
    create_python(lam, name)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    before = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    version = lam.publish_version(FunctionName=name)
    after = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    assert after != before and version["RevisionId"] not in (before, after)
    # $LATEST unchanged since: publishing again answers the same version
    assert lam.publish_version(FunctionName=name)["Version"] == version["Version"]
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version["Version"])
    permission = {"FunctionName": name, "Action": "lambda:InvokeFunction", "StatementId": "s3",
                  "Principal": "s3.amazonaws.com", "Qualifier": "live"}
    with pytest.raises(ClientError) as e:
        lam.add_permission(RevisionId="wrong", **permission)
    assert e.value.response["Error"]["Code"] == "PreconditionFailedException"
    lam.add_permission(RevisionId=alias["RevisionId"], **permission)
    assert lam.get_policy(FunctionName=name, Qualifier="live")["Policy"]


def test_account_total_code_size_counts_versions_and_layers(endpoint, unique_name):
    from conftest import make_client
    lam = make_client(endpoint, "lambda", access_key="210987654321")  # an account of its own: totals are per account
    usage = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]
    name = unique_name("fn")
    size = create_python(lam, name)["CodeSize"]
    assert lam.get_account_settings()["AccountUsage"]["TotalCodeSize"] == usage + size
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    lam.publish_version(FunctionName=name)
    assert lam.get_account_settings()["AccountUsage"]["TotalCodeSize"] == usage + 2 * size
    layer = lam.publish_layer_version(LayerName=unique_name("layer"), Content={"ZipFile": _zip()})
    assert lam.get_account_settings()["AccountUsage"]["TotalCodeSize"] == usage + 2 * size + layer["Content"]["CodeSize"]


def _zip() -> bytes:
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/lib.py", "X = 1\n")
    return buffer.getvalue()


def test_zipped_size_checked_before_the_request_size(lam, unique_name):
    from lambda_functions import ROLE
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.12", Role=ROLE, Handler="a.h",
                            Code={"ZipFile": b"\0" * (50 * 1024 * 1024 + 1)})
    assert e.value.response["Error"] == {"Code": "RequestEntityTooLargeException",
                                         "Message": "Zipped size must be smaller than 52428800 bytes"}


def test_resource_arn_patterns_are_aws_s(lam):
    # the patterns AWS quotes (its recorded answers), not botocore's newer ones
    with pytest.raises(ClientError) as e:
        lam.tag_resource(Resource="arn:aws:something", Tags={"a": "b"})
    message = e.value.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: Value 'arn:aws:something' at 'resource' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:")
    assert "|layer:([a-zA-Z0-9-_]+)|" in message and message.endswith("|capacity-provider:[a-zA-Z0-9-_]+)")
    with pytest.raises(ClientError) as e:
        lam.get_layer_version_by_arn(Arn="arn:aws:lambda:us-east-1:000000000000:layer:nolayerversion")
    assert e.value.response["Error"]["Message"].endswith(
        "pattern: (arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:"
        "[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)")
