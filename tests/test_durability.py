"""What overcast acknowledged survives kill -9: start, write, SIGKILL, restart on the same data
directory, read everything back."""

import json

from conftest import OvercastProcess, make_client

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def test_acknowledged_writes_survive_kill_9(tmp_path):
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    try:
        sqs = make_client(server.endpoint, "sqs")
        iam = make_client(server.endpoint, "iam")
        queue_url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
        sent = {sqs.send_message(QueueUrl=queue_url, MessageBody=f"message {i}")["MessageId"] for i in range(50)}
        entries = [{"Id": str(i), "MessageBody": f"batch {i}"} for i in range(10)]
        sent |= {e["MessageId"] for e in sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)["Successful"]}
        sqs.tag_queue(QueueUrl=queue_url, Tags={"team": "orders"})
        iam.create_role(RoleName="durable-role", AssumeRolePolicyDocument=TRUST_POLICY)
    finally:
        server.stop(kill=True)
    assert server.process.returncode == -9

    server = OvercastProcess(data_dir=data_dir)
    try:
        sqs = make_client(server.endpoint, "sqs")
        iam = make_client(server.endpoint, "iam")
        queue_url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        assert attributes["VisibilityTimeout"] == "45"
        assert attributes["ApproximateNumberOfMessages"] == "60"
        assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"team": "orders"}
        received = set()
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            received |= {m["MessageId"] for m in messages}
        assert received == sent
        assert iam.get_role(RoleName="durable-role")["Role"]["RoleName"] == "durable-role"
    finally:
        server.stop()
