#!/usr/bin/env python3
"""Generate the JSONata versions of the six benchmark workflows.

The same computation as bench/gen_workflows.py (same states, same transitions per execution,
same final output), written the natural JSONata way: "QueryLanguage": "JSONata" at the top,
`{% %}` expressions in `Output`, `Items`/`ItemSelector` and `Condition`, `$states.input` and
`$states.context` instead of paths, and JSONata arithmetic instead of States.MathAdd.

For each workflow NAME this writes, into bench/workflows-jsonata/:
  NAME.asl.json       the state machine definition (JSONata query language)
  NAME.input.json     copied from the JSONPath set (bench/workflows/)
  NAME.expected.json  copied from the JSONPath set: both versions must produce the same output
  NAME.meta.json      the JSONPath set's meta, with "query_language": "JSONata"

Everything is deterministic: run it again and the files are byte-identical.
Usage: python3 bench/gen_jsonata_workflows.py [--jsonpath DIR] [--out DIR]
(run bench/gen_workflows.py first if bench/workflows/ is missing)
"""
import argparse
import json
import os
import shutil

import gen_workflows as jp

HERE = os.path.dirname(os.path.abspath(__file__))


def definition(comment, start, states):
    return {"Comment": comment, "QueryLanguage": "JSONata", "StartAt": start, "States": states}


# 1. pass-chain: each Pass rebuilds its output from $states.input.
def pass_chain(n=1000):
    states = {}
    for i in range(n):
        s = {
            "Type": "Pass",
            "Output": {
                "id": "{% $states.input.id %}",
                "cur": {"id": "{% $states.input.id %}", "prev": "{% $states.input.cur.step %}", "step": i},
                "keep": "{% $states.input.keep %}",
            },
        }
        if i == n - 1:
            s["End"] = True
        else:
            s["Next"] = f"S{i + 1}"
        states[f"S{i}"] = s
    return definition(f"pass-chain: {n} Pass states (JSONata)", "S0", states)


# 2. choice-loop: counter loop with JSONata arithmetic + Choice Condition.
def choice_loop(n=10000):
    return definition(
        f"choice-loop: {n} iterations of Pass(+) + Choice(Condition) (JSONata)",
        "Init",
        {
            "Init": {"Type": "Pass", "Output": {"i": 0, "sum": 0, "tag": "{% $states.input.tag %}"}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": f"{{% $states.input.i < {n} %}}", "Next": "Incr"}],
                "Default": "Done",
            },
            "Incr": {
                "Type": "Pass",
                "Output": {
                    "i": "{% $states.input.i + 1 %}",
                    "sum": "{% $states.input.sum + $states.input.i %}",
                    "tag": "{% $states.input.tag %}",
                },
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    )


# 3. map-fanout: Items + ItemSelector over $states.context.Map.Item, 2-state Pass iterator.
def map_fanout(n=10000):
    return definition(
        f"map-fanout: inline Map over {n} items (JSONata)",
        "Fan",
        {
            "Fan": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "MaxConcurrency": 0,
                "ItemSelector": {
                    "k": "{% $states.context.Map.Item.Value.k %}",
                    "idx": "{% $states.context.Map.Item.Index %}",
                    "base": "{% $states.input.base %}",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "A",
                    "States": {
                        "A": {
                            "Type": "Pass",
                            "Output": {
                                "k": "{% $states.input.k %}",
                                "idx": "{% $states.input.idx %}",
                                "s": "{% $states.input.k + $states.input.base %}",
                            },
                            "Next": "B",
                        },
                        "B": {"Type": "Pass", "Output": "{% $states.input.s %}", "End": True},
                    },
                },
                "Next": "Summ",
            },
            "Summ": {
                "Type": "Pass",
                "Output": {"count": "{% $count($states.input) %}", "out": "{% $states.input %}"},
                "End": True,
            },
        },
    )


# 4. parallel: 10 branches x 100 Pass states.
def parallel(branches=10, depth=100):
    br = []
    for b in range(branches):
        states = {}
        for j in range(depth):
            s = {
                "Type": "Pass",
                "Output": {"id": "{% $states.input.id %}", "b": b, "prev": "{% $states.input.step %}", "step": j},
            }
            if j == depth - 1:
                s["End"] = True
            else:
                s["Next"] = f"B{b}S{j + 1}"
            states[f"B{b}S{j}"] = s
        br.append({"StartAt": f"B{b}S0", "States": states})
    return definition(
        f"parallel: {branches} branches x {depth} Pass states (JSONata)",
        "Par",
        {"Par": {"Type": "Parallel", "Branches": br, "End": True}},
    )


# 5. many-small: a 10-state Pass/Choice workflow, run many times (start/finish overhead).
def many_small():
    S = {}
    chain = ["P1", "C1", "P2", "C2", "P3", "C3", "P4", "C4", "P5", "Done"]
    for idx, name in enumerate(chain):
        nxt = chain[idx + 1] if idx + 1 < len(chain) else None
        k = idx // 2 + 1
        if name == "Done":
            S[name] = {"Type": "Succeed"}
        elif name.startswith("P"):
            S[name] = {
                "Type": "Pass",
                "Output": {"x": "{% $states.input.x %}", "n": k, "seen": "{% $states.input.seen %}"},
                "Next": nxt,
            }
        else:
            S[name] = {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $exists($states.input.x) and $states.input.x >= 0 %}", "Next": nxt}],
                "Default": "Bad",
            }
    S["Bad"] = {"Type": "Fail", "Error": "Bad", "Cause": "x negative"}
    return definition("many-small: 10 Pass/Choice states (JSONata)", "P1", S)


# 6. payload: ~200 KB input through 50 Pass states, each adding one record's summary.
# JSONata has no InputPath/ResultPath: the record is read as $states.input.data.records[j] and
# the result is merged into the input.
def payload(states_n=50):
    states = {}
    for j in range(states_n):
        s = {
            "Type": "Pass",
            "Output": (
                f"{{% ($r := $states.input.data.records[{j}]; "
                f"$merge([$states.input, {{'r{j}': {{'id': $r.id, 'v': $r.v, 'j': {j}}}}}])) %}}"
            ),
        }
        if j == states_n - 1:
            s["End"] = True
        else:
            s["Next"] = f"S{j + 1}"
        states[f"S{j}"] = s
    return definition(f"payload: ~200 KB input through {states_n} Pass states (JSONata)", "S0", states)


WORKFLOWS = {
    "pass-chain": pass_chain,
    "choice-loop": choice_loop,
    "map-fanout": map_fanout,
    "parallel": parallel,
    "many-small": many_small,
    "payload": payload,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsonpath", default=os.path.join(HERE, "workflows"),
                    help="the JSONPath set, whose input and expected files are copied")
    ap.add_argument("--out", default=os.path.join(HERE, "workflows-jsonata"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, fn in WORKFLOWS.items():
        src = os.path.join(a.jsonpath, name)
        dst = os.path.join(a.out, name)
        for suffix in ("input", "expected"):
            shutil.copyfile(f"{src}.{suffix}.json", f"{dst}.{suffix}.json")
        with open(f"{src}.meta.json") as f:
            meta = json.load(f)
        meta["query_language"] = "JSONata"
        jp.dump(f"{dst}.asl.json", fn(), pretty=True)
        jp.dump(f"{dst}.meta.json", meta, pretty=True)
        print(f"{name}: {meta['transitions_per_execution']} transitions x {meta['executions']} executions")


if __name__ == "__main__":
    main()
