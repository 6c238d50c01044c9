import json
import os
import time


def handler(event, context):
    # A real pipeline would page someone; this one appends to outbox.jsonl and logs.
    message = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **event}
    with open(os.path.join(os.path.dirname(__file__), "..", "outbox.jsonl"), "a") as f:
        f.write(json.dumps(message) + "\n")
    print(f"notified: batch {event.get('batch')} failed with {event.get('error')}")
    return {"sent": True}
