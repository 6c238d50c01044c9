//! The conformance scoreboard: every recorded-against-AWS case in `tests/data/` run in process.
//!
//! Writes `tests/conformance.snap` (pass rates per group, then every failure with its reason) and
//! fails when the committed scoreboard is out of date (rerun with `UPDATE_EXPECT=1`) or when a
//! gate is missed: at least 95% of the pure JSONPath cases pass, every definition AWS accepted is
//! accepted, and every definition AWS rejected is rejected with the same codes and locations.

use std::fmt::Write as _;
use std::path::Path;

use aslan_asl::{LoadOptions, MachineType};
use aslan_conformance::{
    compare, data_dir, machine_type, read_cases, run_bucket_case, run_lambda_case, run_pure_case,
};
use serde_json::Value;

#[derive(Default)]
struct Group {
    passed: usize,
    total: usize,
    failures: Vec<String>,
}

impl Group {
    fn rate(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.passed as f64 * 100.0 / self.total as f64
        }
    }
}

fn main() {
    let data = data_dir();
    let cases = read_cases(&data.join("localstack/cases"));
    assert!(
        !cases.is_empty(),
        "no conformance cases found under {}",
        data.display()
    );

    let mut pure = Group::default();
    let mut pure_jsonata = Group::default();
    let mut accepted = Group::default();
    let mut events = Group::default();
    let mut jsonata_events = Group::default();
    let mut lambda = Group::default();
    let mut lambda_events = Group::default();
    let mut distributed = Group::default();
    let mut distributed_events = Group::default();
    let scratch = std::env::temp_dir().join(format!("aslan-conformance-{}", std::process::id()));
    let mut not_run: Vec<String> = Vec::new();

    for (name, case) in &cases {
        // Every definition AWS ran must be accepted.
        accepted.total += 1;
        let parsed = aslan_asl::parse_value(
            &case["definition"],
            LoadOptions {
                machine_type: machine_type(case),
            },
        );
        if parsed.definition.is_some() {
            accepted.passed += 1;
        } else {
            let messages: Vec<String> = parsed.diagnostics.iter().map(|d| d.aws_text()).collect();
            accepted
                .failures
                .push(format!("{name}: rejected: {}", messages.join("; ")));
        }

        let category = case["category"].as_str().unwrap_or_default();
        let features: Vec<&str> = case["features"]
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let uses_jsonata = features.contains(&"jsonata") || features.contains(&"variables");
        // Cases filed under services only for their long Waits run here under virtual time;
        // one that AWS stopped from outside (ABORTED) needs the API (tests/api).
        let requires: Vec<&str> = case["requires"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let only_long_waits = category == "services"
            && requires == ["wait>5s"]
            && case["expected"]["status"] != "ABORTED";
        // Distributed Maps over items in the input run in process; those that read or write
        // S3 buckets they name themselves (no fixture filled them) get local directories.
        let distributed_map = category == "services" && requires == ["distributed-map"];
        let with_buckets = category == "services" && requires == ["distributed-map", "s3"];
        let outcome = match category {
            "pure" => run_pure_case(case),
            _ if only_long_waits || distributed_map => run_pure_case(case),
            _ if with_buckets => {
                let dir = scratch.join(name);
                let outcome = run_bucket_case(case, &dir);
                let _ = std::fs::remove_dir_all(&dir);
                outcome
            }
            "lambda-mock" => {
                let dir = scratch.join(name);
                let outcome = run_lambda_case(case, &dir);
                let _ = std::fs::remove_dir_all(&dir);
                outcome
            }
            _ => {
                not_run.push(format!("{name} ({category})"));
                continue;
            }
        };
        let (group, events) = if category == "lambda-mock" {
            (&mut lambda, &mut lambda_events)
        } else if distributed_map || with_buckets {
            (&mut distributed, &mut distributed_events)
        } else if uses_jsonata {
            (&mut pure_jsonata, &mut jsonata_events)
        } else {
            (&mut pure, &mut events)
        };
        group.total += 1;
        match outcome {
            Err(message) => group.failures.push(format!("{name}: {message}")),
            Ok(actual) => {
                let result = compare(case, &actual);
                if result.ok {
                    group.passed += 1;
                } else {
                    group
                        .failures
                        .push(format!("{name}: {}", result.reasons.join("; ")));
                }
                if let Some(expected_events) = case["events"].as_array() {
                    events.total += 1;
                    let expected: Vec<&str> =
                        expected_events.iter().filter_map(Value::as_str).collect();
                    let mut want = expected.clone();
                    let mut got: Vec<&str> = actual.events.iter().map(String::as_str).collect();
                    // Branch events may interleave: compare Parallel/Map cases as multisets.
                    let unordered = case["notes"]
                        .as_str()
                        .is_some_and(|n| n.contains("multiset"));
                    if unordered {
                        want.sort_unstable();
                        got.sort_unstable();
                    }
                    if want == got {
                        events.passed += 1;
                    } else {
                        events.failures.push(format!(
                            "{name}: expected {expected:?}, got {:?}",
                            actual.events
                        ));
                    }
                }
            }
        }
    }

    let validation = validation_cases(&data.join("localstack-validation/cases"));

    let mut report = String::new();
    let line = |report: &mut String, label: &str, group: &Group| {
        let _ = writeln!(
            report,
            "{label}: {}/{} ({:.1}%)",
            group.passed,
            group.total,
            group.rate()
        );
    };
    line(
        &mut report,
        "Pure JSONPath cases (issue #2 gate: 95%)",
        &pure,
    );
    line(&mut report, "Pure JSONata/Variables cases", &pure_jsonata);
    line(
        &mut report,
        "Event sequences of pure JSONPath cases",
        &events,
    );
    line(
        &mut report,
        "Event sequences of pure JSONata/Variables cases",
        &jsonata_events,
    );
    line(
        &mut report,
        "Definitions AWS accepted, accepted here",
        &accepted,
    );
    line(
        &mut report,
        "Definitions AWS rejected, rejected alike",
        &validation,
    );
    line(
        &mut report,
        "lambda-mock cases, functions as local Python handlers (issue #4 gate: 95%)",
        &lambda,
    );
    line(
        &mut report,
        "Event sequences of lambda-mock cases",
        &lambda_events,
    );
    line(
        &mut report,
        "Distributed Map cases (input items, or S3 buckets as local directories)",
        &distributed,
    );
    line(
        &mut report,
        "Event sequences of those Distributed Map cases",
        &distributed_events,
    );
    let _ = writeln!(
        report,
        "Not run (need AWS services, or queues, buckets, functions and state machines the recording harness made): {}",
        not_run.len()
    );
    for (title, group) in [
        ("Pure JSONPath failures", &pure),
        ("Pure JSONata/Variables failures", &pure_jsonata),
        ("Event sequence differences", &events),
        ("JSONata event sequence differences", &jsonata_events),
        ("lambda-mock failures", &lambda),
        ("lambda-mock event sequence differences", &lambda_events),
        ("Distributed Map failures", &distributed),
        (
            "Distributed Map event sequence differences",
            &distributed_events,
        ),
        ("Accepted-definition failures", &accepted),
        ("Validation failures", &validation),
    ] {
        if !group.failures.is_empty() {
            let _ = writeln!(report, "\n## {title}");
            for failure in &group.failures {
                let _ = writeln!(
                    report,
                    "- {}",
                    failure.chars().take(600).collect::<String>()
                );
            }
        }
    }

    print!("{report}");
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance.snap");
    let committed = std::fs::read_to_string(&snapshot).unwrap_or_default();
    let mut problems = Vec::new();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&snapshot, &report).expect("write tests/conformance.snap");
    } else if committed != report {
        problems.push(
            "tests/conformance.snap is out of date: rerun with UPDATE_EXPECT=1 and commit it"
                .to_owned(),
        );
    }
    if pure.rate() < 95.0 {
        problems.push(format!(
            "pure JSONPath pass rate {:.1}% is below 95%",
            pure.rate()
        ));
    }
    if lambda.rate() < 95.0 {
        problems.push(format!(
            "lambda-mock pass rate {:.1}% is below 95%",
            lambda.rate()
        ));
    }
    if accepted.passed != accepted.total {
        problems.push(format!(
            "{} definitions AWS accepted were rejected",
            accepted.total - accepted.passed
        ));
    }
    if validation.passed != validation.total {
        problems.push(format!(
            "{} definitions AWS rejected were not rejected alike",
            validation.total - validation.passed
        ));
    }
    let tests = 5;
    if problems.is_empty() {
        println!("\n{tests} passed, 0 failed");
    } else {
        for problem in &problems {
            eprintln!("FAILED: {problem}");
        }
        println!(
            "\n{} passed, {} failed",
            tests - problems.len().min(tests),
            problems.len().min(tests)
        );
        std::process::exit(1);
    }
}

/// The AWS-recorded rejections: each expected code and location must be among ours.
fn validation_cases(dir: &Path) -> Group {
    let mut group = Group::default();
    for (name, case) in read_cases(dir) {
        group.total += 1;
        let machine_type = match case["state_machine_type"].as_str() {
            Some("EXPRESS") => MachineType::Express,
            _ => MachineType::Standard,
        };
        let text = case["definition"].as_str().unwrap_or_default();
        let parsed = aslan_asl::parse(text, LoadOptions { machine_type });
        let expected = &case["expected"];
        let want_ok = expected["result"].as_str() == Some("OK");
        let got_ok = !parsed.diagnostics.has_errors();
        let mut missing = Vec::new();
        if want_ok != got_ok {
            missing.push(format!(
                "expected {} got {}",
                if want_ok { "OK" } else { "FAIL" },
                if got_ok { "OK" } else { "FAIL" }
            ));
        }
        if let Some(diagnostics) = expected["diagnostics"].as_array() {
            for diagnostic in diagnostics {
                let code = diagnostic["code"].as_str().unwrap_or_default();
                let location = diagnostic["location"]
                    .as_str()
                    .filter(|l| l.starts_with('/'));
                let found = parsed.diagnostics.iter().any(|d| {
                    d.code == code && (location.is_none() || d.location.as_deref() == location)
                });
                if !found {
                    missing.push(format!("missing {code} at {}", location.unwrap_or("-")));
                }
            }
        }
        if missing.is_empty() {
            group.passed += 1;
        } else {
            let ours: Vec<String> = parsed.diagnostics.iter().map(|d| d.aws_text()).collect();
            group.failures.push(format!(
                "{name}: {} (ours: {})",
                missing.join(", "),
                ours.join("; ")
            ));
        }
    }
    group
}
