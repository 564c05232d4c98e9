"""API keys and usage plans, enforced: x-api-key, throttles (plan and per method), quotas,
GetUsage counting what was served."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apigateway_support import Api
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def apigw(client):
    return client("apigateway")


def _keyed_api(apigw, endpoint, name, **plan):
    api = Api(apigw, endpoint, name)
    api.mock("/private", apiKeyRequired=True)
    api.mock("/public")
    api.deploy()
    key = apigw.create_api_key(name=f"{name}-key", enabled=True)
    usage_plan = apigw.create_usage_plan(name=f"{name}-plan", apiStages=[{"apiId": api.id, "stage": "test"}], **plan)
    apigw.create_usage_plan_key(usagePlanId=usage_plan["id"], keyId=key["id"], keyType="API_KEY")
    return api, key, usage_plan


def test_api_key_required_without_key_answers_403_forbidden(apigw, endpoint):
    api, _, _ = _keyed_api(apigw, endpoint, "keys-missing")
    r = api.call("GET", "/private")
    assert r.status_code == 403
    assert r.json() == {"message": "Forbidden"}
    assert api.call("GET", "/public").status_code == 200


def test_valid_api_key_in_plan_is_accepted(apigw, endpoint):
    api, key, _ = _keyed_api(apigw, endpoint, "keys-valid")
    r = api.call("GET", "/private", headers={"x-api-key": key["value"]})
    assert r.status_code == 200


def test_unknown_api_key_answers_403(apigw, endpoint):
    api, _, _ = _keyed_api(apigw, endpoint, "keys-unknown")
    r = api.call("GET", "/private", headers={"x-api-key": "not-a-real-key-value-12345"})
    assert r.status_code == 403
    assert r.json() == {"message": "Forbidden"}


def test_api_key_not_in_a_plan_for_the_stage_answers_403(apigw, endpoint):
    api, _, _ = _keyed_api(apigw, endpoint, "keys-noplan")
    loose = apigw.create_api_key(name="loose", enabled=True)
    assert api.call("GET", "/private", headers={"x-api-key": loose["value"]}).status_code == 403


def test_disabled_api_key_answers_403(apigw, endpoint):
    api, key, _ = _keyed_api(apigw, endpoint, "keys-disabled")
    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    assert api.call("GET", "/private", headers={"x-api-key": key["value"]}).status_code == 403


def test_usage_plan_throttle_answers_429_too_many_requests(apigw, endpoint):
    # a token every 100 s: the burst of 2 is spent by the third call however slow the machine is
    api, key, _ = _keyed_api(apigw, endpoint, "keys-throttle", throttle={"rateLimit": 0.01, "burstLimit": 2})
    codes = [api.call("GET", "/private", headers={"x-api-key": key["value"]}).status_code for _ in range(4)]
    assert codes[:2] == [200, 200]
    assert codes[2:] == [429, 429]
    r = api.call("GET", "/private", headers={"x-api-key": key["value"]})
    assert r.json() == {"message": "Too Many Requests"}


def test_usage_plan_per_method_throttle_limits_only_that_method(apigw, endpoint):
    api = Api(apigw, endpoint, "keys-method-throttle")
    api.mock("/a", apiKeyRequired=True)
    api.mock("/b", apiKeyRequired=True)
    api.deploy()
    key = apigw.create_api_key(name="mt", enabled=True)
    plan = apigw.create_usage_plan(name="mt", apiStages=[{"apiId": api.id, "stage": "test",
                                                          "throttle": {"/a/GET": {"rateLimit": 0.01, "burstLimit": 1}}}])
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    h = {"x-api-key": key["value"]}
    assert [api.call("GET", "/a", headers=h).status_code for _ in range(3)] == [200, 429, 429]
    assert [api.call("GET", "/b", headers=h).status_code for _ in range(3)] == [200, 200, 200]


def test_usage_plan_quota_answers_429_limit_exceeded(apigw, endpoint):
    api, key, _ = _keyed_api(apigw, endpoint, "keys-quota", quota={"limit": 3, "period": "DAY"})
    h = {"x-api-key": key["value"]}
    assert [api.call("GET", "/private", headers=h).status_code for _ in range(3)] == [200, 200, 200]
    r = api.call("GET", "/private", headers=h)
    assert r.status_code == 429
    assert r.json() == {"message": "Limit Exceeded"}


def test_get_usage_reports_requests_served(apigw, endpoint):
    api, key, plan = _keyed_api(apigw, endpoint, "keys-usage", quota={"limit": 100, "period": "MONTH"})
    for _ in range(4):
        api.call("GET", "/private", headers={"x-api-key": key["value"]})
    today = datetime.now(UTC).date().isoformat()
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
    assert usage["usagePlanId"] == plan["id"]
    assert usage["items"][key["id"]] == [[4, 96]]


def test_update_usage_resets_remaining_quota(apigw, endpoint):
    api, key, plan = _keyed_api(apigw, endpoint, "keys-update-usage", quota={"limit": 2, "period": "DAY"})
    h = {"x-api-key": key["value"]}
    api.call("GET", "/private", headers=h)
    api.call("GET", "/private", headers=h)
    assert api.call("GET", "/private", headers=h).status_code == 429
    apigw.update_usage(usagePlanId=plan["id"], keyId=key["id"],
                       patchOperations=[{"op": "replace", "path": "/remaining", "value": "2"}])
    assert api.call("GET", "/private", headers=h).status_code == 200


def test_api_key_value_is_returned_only_when_asked(apigw):
    key = apigw.create_api_key(name="hidden", enabled=True, value="a-very-long-custom-key-value-0001")
    assert "value" not in apigw.get_api_key(apiKey=key["id"])
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == "a-very-long-custom-key-value-0001"


def test_usage_plan_with_unknown_api_stage_answers_not_found(apigw):
    with pytest.raises(ClientError) as e:
        apigw.create_usage_plan(name="bad", apiStages=[{"apiId": "nope123456", "stage": "x"}])
    assert e.value.response["Error"]["Code"] == "NotFoundException"


def test_usage_plan_keys_listed_and_removed(apigw, endpoint):
    api, key, plan = _keyed_api(apigw, endpoint, "keys-listing")
    keys = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [(k["id"], k["type"], k["name"]) for k in keys] == [(key["id"], "API_KEY", "keys-listing-key")]
    apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    assert apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"] == []
    assert api.call("GET", "/private", headers={"x-api-key": key["value"]}).status_code == 403


def test_api_key_tags_and_value_in_answers_as_aws_gives_them(apigw):
    # AWS's recorded answers: no tags on an untagged key until it is updated (then {}), and no
    # value in UpdateApiKey's answer
    key = apigw.create_api_key(name="answers", enabled=True)
    assert "tags" not in key and key["value"]
    updated = apigw.update_api_key(apiKey=key["id"], patchOperations=[
        {"op": "replace", "path": "/enabled", "value": "false"}])
    assert updated["tags"] == {} and "value" not in updated and updated["enabled"] is False
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]
    tagged = apigw.create_api_key(name="tagged", tags={"a": "1"})
    assert tagged["tags"] == {"a": "1"}
