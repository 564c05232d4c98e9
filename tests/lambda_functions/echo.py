import json
import os

COLD = {"count": 0}


def handler(event, context):
    COLD["count"] += 1
    print("got event", json.dumps(event))
    return {
        "event": event,
        "pid": os.getpid(),
        "invocations": COLD["count"],
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "client_context": (context.client_context.custom if context.client_context else None),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "TZ", "MY_"))},
        "cwd": os.getcwd(),
    }
