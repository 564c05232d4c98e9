"""A message SNS accepted is not lost when overcast is killed (kill -9) before delivering it: the
pending delivery is in the database and resumes after a restart."""

from __future__ import annotations

import json

from conftest import OvercastProcess, make_client
from messaging_support import HttpSubscriber


def test_pending_http_delivery_survives_kill_9(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    subscriber = HttpSubscriber()
    port = subscriber.server.server_address[1]
    try:
        sns = make_client(server.endpoint, "sns")
        topic = sns.create_topic(Name="durable")["TopicArn"]
        policy = {"healthyRetryPolicy": {"numRetries": 50, "minDelayTarget": 1, "maxDelayTarget": 1}}
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url,
                      Attributes={"DeliveryPolicy": json.dumps(policy)})
        assert subscriber.wait(1, kind="SubscriptionConfirmation")
        subscriber.close()  # the endpoint goes down: deliveries fail and wait for their retry
        sns.publish(TopicArn=topic, Message="must not be lost")
        server.stop(kill=True)

        server = OvercastProcess(data_dir=str(tmp_path))
        subscriber = HttpSubscriber(port=port)  # the subscriber comes back on the same port
        notification = subscriber.wait(1, kind="Notification", timeout=15)
        assert json.loads(notification[0]["body"])["Message"] == "must not be lost"
    finally:
        subscriber.close()
        server.stop()
