"""CDK's BucketDeployment and autoDeleteObjects for the SAM template, as one custom resource: on
Create and Update it copies the site (the SiteContent layer, which Lambda mounts at /opt) into the
bucket under the prefix; on Delete it empties the bucket so that CloudFormation can delete it. It
answers CloudFormation with a PUT to the presigned ResponseURL, as the cfn-response module does."""

import json
import mimetypes
import os
import urllib.request

import boto3

SITE = "/opt"
s3 = boto3.client("s3")


def handler(event, context):
    props = event["ResourceProperties"]
    status, reason = "SUCCESS", "done"
    try:
        if event["RequestType"] in ("Create", "Update"):
            for root, _, files in os.walk(SITE):
                for name in files:
                    path = os.path.join(root, name)
                    s3.upload_file(path, props["Bucket"], props["Prefix"] + os.path.relpath(path, SITE),
                                   ExtraArgs={"ContentType": mimetypes.guess_type(name)[0] or "binary/octet-stream"})
        else:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=props["Bucket"]):
                for item in page.get("Contents", []):
                    s3.delete_object(Bucket=props["Bucket"], Key=item["Key"])
    except Exception as error:  # the stack's event says why
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    body = json.dumps({"Status": status, "Reason": reason, "StackId": event["StackId"],
                       "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
                       "PhysicalResourceId": event.get("PhysicalResourceId") or f"{props['Bucket']}/{props['Prefix']}"})
    request = urllib.request.Request(event["ResponseURL"], data=body.encode(), method="PUT",
                                     headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30):
        pass
