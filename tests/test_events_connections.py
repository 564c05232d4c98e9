"""EventBridge connections and API destinations through boto3: the Secrets Manager secret
EventBridge keeps a connection's credentials in, connection states (OAuth AUTHORIZING until its
token exchange), API destination states, and AWS's validation answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError
from messaging_support import HttpSubscriber


@pytest.fixture(scope="module")
def events(client):
    return client("events")


@pytest.fixture(scope="module")
def secrets(client):
    return client("secretsmanager")


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]


def through_rule(events, unique_name, destination: str) -> None:
    source = unique_name("app")
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "api", "Arn": destination, "RoleArn": "arn:aws:iam::000000000000:role/r",
                                            "RetryPolicy": {"MaximumRetryAttempts": 0}}])
    events.put_events(Entries=[{"Source": source, "DetailType": "d", "Detail": json.dumps({"n": 1})}])


def test_connection_keeps_its_credentials_in_a_secret(events, secrets, unique_name):
    name = unique_name("conn")
    created = events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-1"},
        "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-hidden", "Value": "h-1", "IsValueSecret": True},
                                                          {"Key": "x-shown", "Value": "s-1", "IsValueSecret": False}]}})
    assert created["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name=name)
    assert described["AuthParameters"] == {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"},
        "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-hidden", "IsValueSecret": True},
                                                          {"Key": "x-shown", "Value": "s-1", "IsValueSecret": False}]}}
    secret_arn = described["SecretArn"]
    assert f":secret:events!connection/{name}/" in secret_arn
    value = secrets.get_secret_value(SecretId=secret_arn)
    assert value["Name"].startswith(f"events!connection/{name}/")
    assert json.loads(value["SecretString"]) == {
        "api_key_name": "x-api-key", "api_key_value": "key-1",
        "invocation_http_parameters": {"header_parameters": [
            {"key": "x-hidden", "value": "h-1", "is_value_secret": True},
            {"key": "x-shown", "value": "s-1", "is_value_secret": False}]}}
    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [c["Name"] for c in listed] == [name] and "SecretArn" not in listed[0]

    server = HttpSubscriber()
    try:  # an invocation reads its credentials from the secret
        destination = events.create_api_destination(Name=unique_name("dest"), ConnectionArn=created["ConnectionArn"],
                                                    InvocationEndpoint=server.url, HttpMethod="POST")
        assert destination["ApiDestinationState"] == "ACTIVE"
        through_rule(events, unique_name, destination["ApiDestinationArn"])
        headers = server.wait(1)[0]["headers"]
        assert (headers["x-api-key"], headers["x-hidden"], headers["x-shown"]) == ("key-1", "h-1", "s-1")
    finally:
        server.close()

    deleted = events.delete_connection(Name=name)
    assert deleted["ConnectionState"] == "DELETING" and "LastAuthorizedTime" in deleted
    assert error_of(events.describe_connection, Name=name) == {
        "Code": "ResourceNotFoundException",
        "Message": f"Failed to describe the connection(s). Connection '{name}' does not exist."}
    assert error_of(secrets.describe_secret, SecretId=secret_arn)["Code"] == "ResourceNotFoundException"


def test_update_connection_writes_a_new_secret_version(events, secrets, unique_name):
    name = unique_name("conn")
    events.create_connection(Name=name, AuthorizationType="BASIC", AuthParameters={
        "BasicAuthParameters": {"Username": "user", "Password": "pass"}, "InvocationHttpParameters": {}})
    arn = events.describe_connection(Name=name)["SecretArn"]
    before = secrets.get_secret_value(SecretId=arn)
    assert json.loads(before["SecretString"]) == {"username": "user", "password": "pass",
                                                  "invocation_http_parameters": {}}
    updated = events.update_connection(Name=name, AuthorizationType="BASIC", AuthParameters={
        "BasicAuthParameters": {"Username": "new_user", "Password": "new_pass"}})
    assert updated["ConnectionState"] == "AUTHORIZED" and "LastAuthorizedTime" in updated
    assert events.describe_connection(Name=name)["AuthParameters"] == {
        "BasicAuthParameters": {"Username": "new_user"}, "InvocationHttpParameters": {}}
    after = secrets.get_secret_value(SecretId=arn)
    assert json.loads(after["SecretString"]) == {"username": "new_user", "password": "new_pass",
                                                 "invocation_http_parameters": {}}
    assert after["VersionId"] != before["VersionId"]


class TokenServer:
    """An OAuth authorization endpoint that issues a token for the right client, and an API that
    records the Authorization header it is called with."""

    def __init__(self):
        self.calls: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                owner.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path == "/token":
                    payload = json.dumps({"access_token": "tok-1", "token_type": "Bearer"}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                else:
                    payload = b""
                    self.send_response(200)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_oauth_connection_is_authorizing_until_its_token_exchange(events, secrets, unique_name):
    import time

    server = TokenServer()
    try:
        name = unique_name("conn")
        created = events.create_connection(Name=name, AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
            "OAuthParameters": {"AuthorizationEndpoint": server.base + "/token", "HttpMethod": "post",  # any case
                                "ClientParameters": {"ClientID": "id", "ClientSecret": "sec"}}})
        assert created["ConnectionState"] == "AUTHORIZING"
        secret = json.loads(secrets.get_secret_value(SecretId=events.describe_connection(Name=name)["SecretArn"])
                            ["SecretString"])
        assert secret == {"client_id": "id", "client_secret": "sec", "authorization_endpoint": server.base + "/token",
                          "http_method": "post"}
        destination = events.create_api_destination(Name=unique_name("dest"), ConnectionArn=created["ConnectionArn"],
                                                    InvocationEndpoint=server.base + "/api", HttpMethod="POST")
        assert destination["ApiDestinationState"] == "INACTIVE"
        through_rule(events, unique_name, destination["ApiDestinationArn"])
        deadline = time.time() + 10
        while time.time() < deadline and not any(c["path"] == "/api" for c in server.calls):
            time.sleep(0.1)
        api = [c for c in server.calls if c["path"] == "/api"]
        assert api and api[0]["headers"]["Authorization"] == "Bearer tok-1"
        assert events.describe_connection(Name=name)["ConnectionState"] == "AUTHORIZED"
        assert events.describe_api_destination(Name=destination["ApiDestinationArn"].split("/")[1])[
            "ApiDestinationState"] == "ACTIVE"
    finally:
        server.close()


def test_connection_whose_secret_is_deleted_is_deauthorized(events, secrets, unique_name):
    import time

    server = HttpSubscriber()
    try:
        name = unique_name("conn")
        created = events.create_connection(Name=name, AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})
        secrets.delete_secret(SecretId=events.describe_connection(Name=name)["SecretArn"],
                              ForceDeleteWithoutRecovery=True)
        destination = events.create_api_destination(Name=unique_name("dest"), ConnectionArn=created["ConnectionArn"],
                                                     InvocationEndpoint=server.url, HttpMethod="POST")
        through_rule(events, unique_name, destination["ApiDestinationArn"])
        deadline = time.time() + 10
        while time.time() < deadline and events.describe_connection(Name=name)["ConnectionState"] != "DEAUTHORIZED":
            time.sleep(0.1)
        assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
        assert server.requests == []
    finally:
        server.close()


def test_connection_and_destination_validation_in_aws_words(events, unique_name):
    bad = "This should fail with two errors 123467890123412341234123412341234"
    assert error_of(events.create_connection, Name=bad, AuthorizationType="INVALID", AuthParameters={
        "BasicAuthParameters": {"Username": "u", "Password": "p"}}) == {
        "Code": "ValidationException",
        "Message": f"3 validation errors detected: Value '{bad}' at 'name' failed to satisfy constraint: Member must "
                   r"satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; "
                   f"Value '{bad}' at 'name' failed to satisfy constraint: Member must have length less than or "
                   "equal to 64; Value 'INVALID' at 'authorizationType' failed to satisfy constraint: Member must "
                   "satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"}
    assert error_of(events.create_connection, Name=unique_name("c"), AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                    AuthParameters={"OAuthParameters": {"AuthorizationEndpoint": "https://example.com/t",
                                                        "HttpMethod": "patch",
                                                        "ClientParameters": {"ClientID": "i", "ClientSecret": "s"}}}) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'patch' at 'authParameters.oAuthParameters.httpMethod' failed "
                   "to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]"}
    error = error_of(events.create_api_destination, Name=unique_name("d"), ConnectionArn="invalid-connection-arn",
                     HttpMethod="INVALID_METHOD", InvocationEndpoint="https://example.com")
    assert error["Message"].startswith("2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn'")
    assert error["Message"].endswith("Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must "
                                     "satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]")


def test_deauthorize_removes_the_secret_and_update_authorizes_again(events, secrets, unique_name):
    server = HttpSubscriber()
    try:
        name = unique_name("conn")
        arn = events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "old"}})["ConnectionArn"]
        secret_arn = events.describe_connection(Name=name)["SecretArn"]
        out = events.deauthorize_connection(Name=name)
        assert out["ConnectionState"] == "DEAUTHORIZED"
        assert error_of(secrets.describe_secret, SecretId=secret_arn)["Code"] == "ResourceNotFoundException"
        described = events.describe_connection(Name=name)
        assert described["ConnectionState"] == "DEAUTHORIZED" and "SecretArn" not in described
        destination = events.create_api_destination(Name=unique_name("dest"), ConnectionArn=arn,
                                                    InvocationEndpoint=server.url, HttpMethod="POST")
        assert destination["ApiDestinationState"] == "INACTIVE"
        # new credentials authorize it again, in a new secret
        assert error_of(events.update_connection, Name=name, AuthorizationType="API_KEY")["Code"] == \
            "ValidationException"  # the old ones are gone with the secret
        events.update_connection(Name=name, AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "new"}})
        described = events.describe_connection(Name=name)
        assert described["ConnectionState"] == "AUTHORIZED" and described["SecretArn"] != secret_arn
        through_rule(events, unique_name, destination["ApiDestinationArn"])
        assert server.wait(1)[0]["headers"]["x-key"] == "new"
    finally:
        server.close()
