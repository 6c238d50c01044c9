"""The pre-processor job: drops cancelled and duplicate orders, writes BATCH.clean.json."""
import json
import os

path = os.environ["GLUE_ARG_BATCH"]
with open(path) as f:
    orders = json.load(f)
seen, clean = set(), []
for order in orders:
    if order.get("cancelled") or order["id"] in seen:
        continue
    seen.add(order["id"])
    clean.append(order)
with open(path + ".clean.json", "w") as f:
    json.dump(clean, f)
print(f"kept {len(clean)} of {len(orders)} orders")
