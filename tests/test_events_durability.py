"""An event PutEvents accepted is not lost when overcast is killed (kill -9) before its target got
it: the pending delivery is in the database and resumes after a restart."""

from __future__ import annotations

import json

import pytest
from conftest import TEST_DATABASES, OvercastProcess, make_client
from messaging_support import HttpSubscriber


def test_pending_target_delivery_survives_kill_9(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path), env={"OVERCAST_EVENTS_RETRY_DELAY": "0.5"})
    endpoint = HttpSubscriber()
    port = endpoint.server.server_address[1]
    endpoint.close()  # the API destination is down when the event arrives
    try:
        events = make_client(server.endpoint, "events")
        connection = events.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "k"}})["ConnectionArn"]
        destination = events.create_api_destination(Name="d", ConnectionArn=connection, HttpMethod="POST",
                                                     InvocationEndpoint=endpoint.url)["ApiDestinationArn"]
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["durable"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "api", "Arn": destination,
                                               "RoleArn": "arn:aws:iam::000000000000:role/r"}])
        events.put_events(Entries=[{"Source": "durable", "DetailType": "t", "Detail": '{"keep": true}'}])
        server.stop(kill=True)

        server = OvercastProcess(data_dir=str(tmp_path), env={"OVERCAST_EVENTS_RETRY_DELAY": "0.5"})
        endpoint = HttpSubscriber(port=port)
        request = endpoint.wait(1, timeout=15)
        assert json.loads(request[0]["body"])["detail"] == {"keep": True}
    finally:
        endpoint.close()
        server.stop()


@pytest.mark.skipif(TEST_DATABASES is not None, reason="writes the stopped server's SQLite file itself")
def test_connection_stored_before_secrets_manager_gets_its_secret(tmp_path):
    """A connection an older overcast stored with its credentials inside (and a SecretArn naming
    no secret) gets a real Secrets Manager secret when overcast starts, and Describe stops
    showing the credentials."""
    import sqlite3

    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        events = make_client(server.endpoint, "events")
        arn = events.create_connection(Name="old", AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})["ConnectionArn"]
    finally:
        server.stop()
    with sqlite3.connect(tmp_path / "overcast.db") as db:  # what the older overcast had stored
        doc = json.loads(db.execute("SELECT doc FROM events_resources WHERE arn = ?", (arn,)).fetchone()[0])
        doc["AuthParameters"] = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
        doc["SecretArn"] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/old"
        db.execute("UPDATE events_resources SET doc = ? WHERE arn = ?", (json.dumps(doc), arn))
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        events = make_client(server.endpoint, "events")
        described = events.describe_connection(Name="old")
        assert described["AuthParameters"] == {"BasicAuthParameters": {"Username": "u"}}
        secret = make_client(server.endpoint, "secretsmanager").get_secret_value(SecretId=described["SecretArn"])
        assert json.loads(secret["SecretString"]) == {"username": "u", "password": "p"}
    finally:
        server.stop()
