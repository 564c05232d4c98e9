import json
import os


def hello(event, context):
    return {"statusCode": 200, "body": json.dumps({"hello": os.environ["GREETING"]})}


def seen(event, context):
    """Logs what triggered it: the source of each record, or the event's own source."""
    records = event.get("Records")
    if records:
        for record in records:
            print("seen", record.get("eventSource") or record.get("EventSource"), len(records))
    else:
        print("seen", event.get("source"), event.get("detail-type"))
    return {}
