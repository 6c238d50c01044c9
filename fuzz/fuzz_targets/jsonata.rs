//! Expression text → `aslan_jsonata::Expression::parse`; every expression that parses is
//! checked (AWS subset, free variables, top-level reads) and evaluated against a small fixed
//! input with `$states` (`input`, `context`) and a workflow variable bound, under tight limits
//! (depth 200, 200 ms). Nothing may panic, hang or exhaust memory.
//!
//! It is also a differential test of the facade's shortcuts (a fast path for the common shapes,
//! and converting only the fields a variable is read through): the expression must give the
//! same result as `Expression::evaluate_general`, which converts both variables whole and lets
//! jsonata-core evaluate it all.

#![no_main]

use std::sync::LazyLock;

use aslan_jsonata::{Binding, Env, Error, Expression, Limits};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000_123;

const LIMITS: Limits = Limits {
    max_depth: 200,
    timeout_ms: 200,
};

/// Longer text only makes each run slower; the grammar has nothing that needs more.
const MAX_LEN: usize = 2048;

static INPUT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "a": 1,
        "n": 41,
        "f": 2.5,
        "whole": 3.0,
        "big": 9007199254740993u64,
        "neg": -7,
        "name": "world",
        "arr": [1, 2, 3, 2, 1, "x", null, {"k": 1}, [1]],
        "strs": ["a", "b", "c"],
        "items": [{"k": 1, "v": "one"}, {"k": 2, "v": "two"}, {"k": 3, "v": [3]}],
        "b": {"c": "x", "d": [true, false], "e": {"f": 1}},
        "empty": {},
        "none": [],
        "nul": null,
        "t": true
    })
});

static STATES: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "input": INPUT.clone(),
        "context": {
            "Execution": {
                "Id": "arn:aws:states:us-east-1:111111111111:execution:Fuzz:fuzz-execution",
                "Input": {"a": 1},
                "Name": "fuzz-execution",
                "StartTime": "2023-11-14T22:13:20.000Z"
            },
            "State": {"Name": "S", "EnteredTime": "2023-11-14T22:13:20.000Z"},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:Fuzz", "Name": "Fuzz"},
            "Map": {"Item": {"Index": 2, "Value": {"k": 3, "v": [3]}}}
        }
    })
});

static VARIABLE: LazyLock<Value> =
    LazyLock::new(|| json!({"count": 2, "list": [1, 2, 3], "nested": {"deep": {"x": "y"}}}));

fn evaluate(expression: &Expression, general: bool) -> Result<Option<Value>, Error> {
    let mut n = 0u64;
    let mut random = move || {
        n += 1;
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    };
    let mut env = Env {
        now_millis: NOW,
        random: &mut random,
        limits: LIMITS,
    };
    let bindings = [
        ("states", Binding::Value(&STATES)),
        ("x", Binding::Value(&VARIABLE)),
    ];
    if general {
        expression.evaluate_general(Some(&INPUT), &bindings, &mut env)
    } else {
        expression.evaluate_bindings(Some(&INPUT), &bindings, &mut env)
    }
}

/// Results that depend on how long or how deep the evaluation ran.
fn limited(result: &Result<Option<Value>, Error>) -> bool {
    matches!(result, Err(e) if e.code == "D1011" || e.code == "D1012" || e.code == "U1001")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > MAX_LEN {
        return;
    }
    let Ok(expression) = Expression::parse(text) else {
        return;
    };
    let _ = expression.check_aws_subset();
    let _ = expression.free_variables();
    let _ = expression.top_level_input_reads();
    let result = evaluate(&expression, false);
    let expected = evaluate(&expression, true);
    if limited(&result) || limited(&expected) {
        return;
    }
    assert_eq!(result, expected, "{text:?}");
});
