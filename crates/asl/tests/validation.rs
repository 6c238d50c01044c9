//! The validation table: every file in `tests/data/validation/` is a definition with the
//! diagnostics AWS gives for it (code and location; messages where AWS's text is known).
//!
//! A case passes when the result (OK/FAIL) matches and every expected (code, location) pair is
//! among ours. Every case must pass.

use std::path::Path;

use aslan_asl::{LoadOptions, MachineType};
use serde_json::Value;

#[test]
fn validation_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/validation");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("validation data")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "the table must hold at least 60 cases");
    let mut failures = Vec::new();
    let mut passed = 0;
    for path in &files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read case"))
            .expect("case JSON");
        let machine_type = match case["type"].as_str() {
            Some("EXPRESS") => MachineType::Express,
            _ => MachineType::Standard,
        };
        let text = match case.get("definition_text").and_then(Value::as_str) {
            Some(text) => text.to_owned(),
            None => serde_json::to_string(&case["definition"]).expect("serialise"),
        };
        let parsed = aslan_asl::parse(&text, LoadOptions { machine_type });
        let expected = &case["expected"];
        let want_ok = expected["result"].as_str() == Some("OK");
        let got_ok = !parsed.diagnostics.has_errors();
        let mut problems = Vec::new();
        if want_ok != got_ok {
            problems.push(format!(
                "expected {}, got {}",
                if want_ok { "OK" } else { "FAIL" },
                if got_ok { "OK" } else { "FAIL" }
            ));
        }
        for diagnostic in expected["diagnostics"].as_array().into_iter().flatten() {
            let code = diagnostic["code"].as_str().unwrap_or_default();
            let location = diagnostic["location"]
                .as_str()
                .filter(|l| l.starts_with('/'));
            let found = parsed.diagnostics.iter().any(|d| {
                d.code == code && (location.is_none() || d.location.as_deref() == location)
            });
            if !found {
                problems.push(format!(
                    "missing {code} at {}",
                    location.unwrap_or("(none)")
                ));
            }
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            let ours: Vec<String> = parsed.diagnostics.iter().map(|d| d.aws_text()).collect();
            let line = format!(
                "{name}: {} — ours: [{}]",
                problems.join(", "),
                ours.join(" | ")
            );
            failures.push(line);
        }
    }
    println!("validation table: {passed}/{} pass", files.len());
    assert!(
        failures.is_empty(),
        "{} validation cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
