import ctypes
import os
import sys
import time


def handler(event, context):
    action = event.get("action")
    if action == "raise":
        raise ValueError("something went wrong")
    if action == "exit":
        os._exit(1)
    if action == "segfault":
        ctypes.string_at(0)
    if action == "sleep":
        time.sleep(event.get("seconds", 10))
    if action == "loop":
        while True:
            pass
    if action == "print":
        line = "x" * 1023
        for _ in range(event.get("kb", 1024)):
            print(line)
        return "printed"
    if action == "big":
        return "y" * (7 * 1024 * 1024)
    if action == "memory":
        blob = bytearray(event["mb"] * 1024 * 1024)
        return len(blob)
    if action == "stderr":
        print("to stderr", file=sys.stderr)
        return "ok"
    return "fine"
