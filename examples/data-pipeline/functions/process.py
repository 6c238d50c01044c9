import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def handler(event, context):
    with open(os.path.join(ROOT, event["batch"] + ".clean.json")) as f:
        orders = json.load(f)
    return {"orders": len(orders), "total": sum(o["amount"] for o in orders)}
