"""Other real clients against DynamoDB: PynamoDB (placeholders like #0 / :0) and the AWS CLI."""

from __future__ import annotations

import uuid

import pytest

pynamodb = pytest.importorskip("pynamodb")


def test_pynamodb_model_round_trip(endpoint, monkeypatch):
    from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
    from pynamodb.exceptions import PutError
    from pynamodb.models import Model

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    class Order(Model):
        class Meta:
            table_name = f"pynamo-{uuid.uuid4().hex[:10]}"
            host = endpoint
            region = "us-east-1"

        customer = UnicodeAttribute(hash_key=True)
        order_id = NumberAttribute(range_key=True)
        status = UnicodeAttribute(null=True)
        total = NumberAttribute(default=0)
        tags = UnicodeSetAttribute(null=True)
        lines = ListAttribute(null=True)

    Order.create_table(read_capacity_units=1, write_capacity_units=1, wait=True)
    Order("alice", 1, status="new", total=10, tags={"a"}).save()
    Order("alice", 2, status="paid", total=25).save()
    with pytest.raises(PutError):
        Order("alice", 1).save(condition=Order.customer.does_not_exist())
    order = Order.get("alice", 1)
    order.update(actions=[Order.total.add(5), Order.status.set("paid"), Order.lines.set(["x"]),
                          Order.tags.add({"b"})])
    assert Order.get("alice", 1).total == 15 and Order.get("alice", 1).tags == {"a", "b"}
    paid = list(Order.query("alice", Order.order_id >= 1, filter_condition=Order.status == "paid"))
    assert [o.order_id for o in paid] == [1, 2]
    assert Order.count("alice", filter_condition=Order.total > 20) == 1
    assert [o.order_id for o in Order.scan(Order.total.between(10, 20))] == [1]
    Order.get("alice", 2).delete()
    assert [o.order_id for o in Order.query("alice")] == [1]


def test_cli_query_with_expression(aws_cli, unique_name):
    name = unique_name("cliq")
    aws_cli("dynamodb", "create-table", "--table-name", name, "--billing-mode", "PAY_PER_REQUEST",
            "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N",
            "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE")
    for sk in ("3", "1", "2"):
        aws_cli("dynamodb", "put-item", "--table-name", name, "--item", f'{{"pk": {{"S": "p"}}, "sk": {{"N": "{sk}"}}}}')
    result = aws_cli("dynamodb", "query", "--table-name", name, "--key-condition-expression", "pk = :p AND sk > :s",
                     "--expression-attribute-values", '{":p": {"S": "p"}, ":s": {"N": "1"}}')
    assert [i["sk"]["N"] for i in result["Items"]] == ["2", "3"]
