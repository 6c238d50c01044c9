"""The validator job: the batch file must be a JSON list of orders with an id and an amount."""
import json
import os
import sys

path = os.environ["BATCH_FILE"]
try:
    with open(path) as f:
        orders = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"cannot read {path}: {e}")
bad = [o for o in orders if not isinstance(o, dict) or "id" not in o or not isinstance(o.get("amount"), (int, float))]
if bad:
    sys.exit(f"{len(bad)} malformed orders, first: {json.dumps(bad[0])}")
print(f"{len(orders)} orders are well formed")
