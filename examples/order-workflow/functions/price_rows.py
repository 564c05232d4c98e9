"""A Distributed Map batch: price each CSV row (quantity x unit price) and total the batch."""


def handler(event, context):
    rows = event["Items"]
    total = sum(int(row["quantity"]) * float(row["unit_price"]) for row in rows)
    return {"rows": len(rows), "total": round(total, 2)}
