"""The `cfnresponse` module CloudFormation puts beside inline (ZipFile) Python code: a custom
resource's function answers CloudFormation by PUTting its result to the event's ResponseURL."""

import json
import urllib.request

SUCCESS = "SUCCESS"
FAILED = "FAILED"


def send(event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False, reason=None):
    body = {
        "Status": responseStatus,
        "Reason": reason or "See the details in CloudWatch Log Stream: " + context.log_stream_name,
        "PhysicalResourceId": physicalResourceId or context.log_stream_name,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": noEcho,
        "Data": responseData,
    }
    data = json.dumps(body).encode()
    print("Response body:", data.decode())
    request = urllib.request.Request(event["ResponseURL"], data=data, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(data))})
    try:
        with urllib.request.urlopen(request) as response:
            print("Status code:", response.status)
    except Exception as e:
        print("send(..) failed executing http.request(..):", e)
