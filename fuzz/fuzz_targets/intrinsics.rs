//! Call text → `Intrinsic::parse`; every call that parses is evaluated with paths resolved
//! against a fixed document and a fixed random source. Nothing may panic, hang or exhaust memory.

#![no_main]

use std::sync::LazyLock;

use aslan_asl::intrinsics::{Intrinsic, IntrinsicError};
use aslan_asl::jsonpath::{JsonPath, PathRoot};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

static INPUT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "a": 1,
        "n": 41,
        "f": 2.5,
        "big": 9007199254740993u64,
        "neg": -7,
        "name": "world",
        "tmpl": "{} and {}",
        "json": "{\"k\": [1, 2, {\"z\": null}]}",
        "b64": "aGVsbG8gd29ybGQ=",
        "arr": [1, 2, 3, 2, 1, "x", null, {"k": 1}, [1]],
        "strs": ["a", "b", "c"],
        "b": {"c": "x", "d": [true, false]},
        "obj": {"c": "y", "e": {"f": 1}},
        "long": "ab".repeat(6000),
        "n2": null
    })
});

static CONTEXT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "Execution": {
            "Id": "arn:aws:states:us-east-1:111111111111:execution:Fuzz:fuzz-execution",
            "Input": {"a": 1},
            "Name": "fuzz-execution",
            "StartTime": "2023-11-14T22:13:20.000Z"
        },
        "State": {"Name": "S", "EnteredTime": "2023-11-14T22:13:20.000Z"},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:Fuzz", "Name": "Fuzz"}
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Intrinsic::looks_like_call(text);
    let Ok(call) = Intrinsic::parse(text) else {
        return;
    };
    let _ = (call.name(), call.args(), call.paths());
    let mut resolve = |path: &JsonPath| -> Result<Value, IntrinsicError> {
        let doc: &Value = match path.root() {
            PathRoot::Input => &INPUT,
            PathRoot::Context => &CONTEXT,
            PathRoot::Variable(name) => &INPUT[name.as_str()],
        };
        path.select(doc)
            .map_err(|e| IntrinsicError { message: e.message })
    };
    let mut state = 0x5eed_u64;
    let mut random = || {
        // splitmix64, as the interpreter uses.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let first = call.eval(&mut resolve, &mut random);
    if let Ok(value) = &first {
        // A result always serialises.
        let _ = serde_json::to_string(value).expect("intrinsic results serialise");
    }
});
