//! Path text → `JsonPath::parse`; every path that compiles is evaluated with `select`,
//! `select_ref` and `set` against a fixed document and against a document derived from the
//! input. Nothing may panic, and the answers must agree with each other.

#![no_main]

use std::sync::LazyLock;

use aslan_asl::jsonpath::JsonPath;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

static FIXED: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "a": 1,
        "b": {"c": "x", "d": [true, false, null], "e": {"a": 2}},
        "arr": [
            {"v": 1, "name": "foo", "tags": ["t1", "t2"]},
            {"v": 2.5, "name": "bar", "a": {"a": 3}},
            {"v": -3, "name": "Foo"},
            7, "s", null, [1, [2, [3]]]
        ],
        "x": [[1, 2], [3], []],
        "empty": {},
        "nums": [3, 1, 4, 1, 5, 9, 2, 6],
        "strs": ["a", "bb", "ccc"],
        "weird key": {"with.dot": {"[0]": 0}},
        "n": null
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // An optional second document: `path\u{0}json`.
    let (source, second) = match text.split_once('\0') {
        Some((source, doc)) => (source, serde_json::from_str::<Value>(doc).ok()),
        None => (text, None),
    };
    let Ok(path) = JsonPath::parse(source) else {
        return;
    };
    let _ = (
        path.normalized(),
        path.is_definite(),
        path.is_single_value(),
        path.is_reference_path(),
        path.is_root_only(),
        path.first_names(path.segments_len()),
    );
    check(&path, &FIXED);
    if let Some(doc) = second {
        check(&path, &doc);
    }
});

fn check(path: &JsonPath, doc: &Value) {
    let selected = path.select(doc);
    if let Ok(found) = path.select_ref(doc) {
        assert!(path.is_definite());
        assert_eq!(
            selected.as_ref().ok(),
            Some(found),
            "select and select_ref disagree on {}",
            path.source()
        );
    }
    for skip in 0..=path.segments_len() + 1 {
        let _ = path.select_from(skip, doc);
        let _ = path.select_ref_from(skip, doc);
    }
    let mut written = doc.clone();
    let marker = Value::String("\u{1F980} written".into());
    match path.set(&mut written, marker.clone()) {
        Ok(()) => {
            if path.is_definite() {
                assert_eq!(
                    path.select_ref(&written).ok(),
                    Some(&marker),
                    "set then select_ref of {} does not read back the value",
                    path.source()
                );
            }
        }
        Err(_) => assert_eq!(
            &written,
            doc,
            "a failed set of {} modified the document",
            path.source()
        ),
    }
}
