//! Shared pieces of aslan's black-box conformance suites: loading the recorded-against-AWS cases
//! in `tests/data/`, running one case in process, and comparing the result the way
//! `tests/data/compare.py` (the reference) does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aslan_asl::{LoadOptions, MachineType};
use aslan_engine::{NoHandler, RunOptions, TaskHandler, VirtualClock};
use aslan_interp::{ExecutionInfo, Options, Outcome};
use regex::Regex;
use serde_json::{Map, Value};

/// The directory holding the test data.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Reads every `*.json` file of a directory, sorted by name.
pub fn read_cases(dir: &Path) -> Vec<(String, Value)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|e| e == "json"));
    entries.sort();
    entries
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let value: Value = serde_json::from_str(&text).ok()?;
            let name = path.file_stem()?.to_string_lossy().into_owned();
            Some((name, value))
        })
        .collect()
}

/// What an execution produced, in the shape `compare.py` takes.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// `SUCCEEDED`, `FAILED`, ...
    pub status: String,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// The history event types, in order.
    pub events: Vec<String>,
}

/// The machine type a case asks for.
pub fn machine_type(case: &Value) -> MachineType {
    match case.get("state_machine_type").and_then(Value::as_str) {
        Some("EXPRESS") => MachineType::Express,
        _ => MachineType::Standard,
    }
}

/// Runs one execution case in process, with virtual time and history recorded.
pub fn run_case(case: &Value, handler: Arc<dyn TaskHandler>) -> Result<Actual, String> {
    let definition = case.get("definition").ok_or("the case has no definition")?;
    let parsed = aslan_asl::parse_value(
        definition,
        LoadOptions {
            machine_type: machine_type(case),
        },
    );
    let Some(definition) = parsed.definition else {
        let messages: Vec<String> = parsed.diagnostics.iter().map(|d| d.aws_text()).collect();
        return Err(format!("definition rejected: {}", messages.join("; ")));
    };
    let input = case
        .get("input")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let start = 1_700_000_000_000;
    // Express executions have their own ARN form, with a unique suffix.
    let express = machine_type(case) == MachineType::Express;
    let execution_arn = if express {
        "arn:aws:states:us-east-1:111111111111:express:TestMachine:test-execution:7c9e6679-7425-40de-944b-e07fc1f90ae7"
    } else {
        "arn:aws:states:us-east-1:111111111111:execution:TestMachine:test-execution"
    };
    let info = ExecutionInfo {
        execution_arn: execution_arn.into(),
        express,
        execution_name: "test-execution".into(),
        state_machine_arn: "arn:aws:states:us-east-1:111111111111:stateMachine:TestMachine".into(),
        state_machine_name: "TestMachine".into(),
        role_arn: "arn:aws:iam::111111111111:role/aslan-test".into(),
        region: "us-east-1".into(),
        start_time: start,
        redrive_count: 0,
    };
    let options = RunOptions {
        info,
        interp: Options {
            max_transitions: Some(1_000_000),
            ..Options::default()
        },
        on_event: None,
        keep_history: true,
        tokens: None,
    };
    let clock = VirtualClock::new(start);
    let result = aslan_engine::run_blocking(&definition, input, options, &clock, handler)
        .map_err(|e| e.to_string())?;
    let events = result
        .history
        .iter()
        .map(|e| e.event_type.as_str().to_owned())
        .collect();
    let actual = match result.outcome {
        Outcome::Succeeded(output) => Actual {
            status: "SUCCEEDED".into(),
            output: Some(output),
            events,
            ..Default::default()
        },
        Outcome::Failed { error, cause } => Actual {
            status: "FAILED".into(),
            error: non_empty(error),
            cause: non_empty(cause),
            events,
            ..Default::default()
        },
        Outcome::TimedOut { error, cause } => Actual {
            status: "TIMED_OUT".into(),
            error: non_empty(error),
            cause: non_empty(cause),
            events,
            ..Default::default()
        },
        Outcome::Aborted { error, cause } => Actual {
            status: "ABORTED".into(),
            error,
            cause,
            events,
            ..Default::default()
        },
    };
    Ok(actual)
}

/// AWS leaves out an empty error or cause.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Runs a case with no task handler.
pub fn run_pure_case(case: &Value) -> Result<Actual, String> {
    run_case(case, Arc::new(NoHandler))
}

/// The outcome of comparing one case: whether it passed, why not, and notes.
#[derive(Debug, Default)]
pub struct Comparison {
    /// True when the case passed.
    pub ok: bool,
    /// Why it failed.
    pub reasons: Vec<String>,
    /// Differences that do not count (causes).
    pub notes: Vec<String>,
}

/// A port of `compare.py`: the status must be equal; outputs deep-equal with wildcards;
/// errors equal; causes only noted.
pub fn compare(case: &Value, actual: &Actual) -> Comparison {
    let mut result = Comparison::default();
    let expected = &case["expected"];
    let expected_status = expected["status"].as_str().unwrap_or_default();
    if actual.status != expected_status {
        let mut reason = format!("status: expected {expected_status} got {}", actual.status);
        if let Some(error) = &actual.error {
            let cause: String = actual
                .cause
                .clone()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            reason.push_str(&format!(" ({error}: {cause})"));
        }
        result.reasons.push(reason);
        return result;
    }
    if expected_status == "SUCCEEDED"
        && let Some(output) = expected.get("output")
    {
        let wildcards = wildcards(case, "output");
        equal(
            output,
            actual.output.as_ref().unwrap_or(&Value::Null),
            &wildcards,
            "",
            &mut result.reasons,
        );
    }
    if expected_status == "FAILED" || expected_status == "TIMED_OUT" {
        if let Some(error) = expected.get("error") {
            let actual_error = actual
                .error
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null);
            equal(
                error,
                &actual_error,
                &wildcards(case, "error"),
                "",
                &mut result.reasons,
            );
        }
        if let Some(cause) = expected.get("cause") {
            let actual_cause = actual
                .cause
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null);
            let mut reasons = Vec::new();
            if !equal(
                cause,
                &actual_cause,
                &wildcards(case, "cause"),
                "",
                &mut reasons,
            ) {
                let joined: String = reasons.join("; ").chars().take(300).collect();
                result.notes.push(format!("cause differs: {joined}"));
            }
        }
    }
    result.ok = result.reasons.is_empty();
    result
}

struct Wildcard {
    pattern: String,
    token: String,
}

fn wildcards(case: &Value, field: &str) -> Vec<(String, Wildcard)> {
    case.get("wildcards")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|w| w.get("field").and_then(Value::as_str) == Some(field))
                .map(|w| {
                    (
                        w["path"].as_str().unwrap_or_default().to_owned(),
                        Wildcard {
                            pattern: w["pattern"].as_str().unwrap_or_default().to_owned(),
                            token: w["token"].as_str().unwrap_or_default().to_owned(),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn short(value: &Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect()
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn equal(
    expected: &Value,
    actual: &Value,
    wildcards: &[(String, Wildcard)],
    path: &str,
    reasons: &mut Vec<String>,
) -> bool {
    let shown = if path.is_empty() { "/" } else { path };
    if let Some((_, wildcard)) = wildcards.iter().find(|(p, _)| p == path) {
        if wildcard.pattern == "^.*$" {
            return true;
        }
        // `re.match` anchors at the start only; Python's `re.S` is `(?s)`.
        if let (Value::String(text), Ok(regex)) = (
            actual,
            Regex::new(&format!("(?s)^(?:{})", wildcard.pattern)),
        ) && regex.is_match(text)
        {
            return true;
        }
        reasons.push(format!(
            "{shown}: {} !~ {}",
            short(actual),
            wildcard.token.chars().take(120).collect::<String>()
        ));
        return false;
    }
    match expected {
        Value::Object(expected_map) => {
            let parsed;
            let actual = match actual {
                Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
                    Ok(v) => {
                        parsed = v;
                        &parsed
                    }
                    Err(_) => actual,
                },
                _ => actual,
            };
            let Value::Object(actual_map) = actual else {
                reasons.push(format!("{shown}: expected object, got {}", short(actual)));
                return false;
            };
            let mut ok = true;
            let missing: Vec<&String> = expected_map
                .keys()
                .filter(|k| !actual_map.contains_key(*k))
                .collect();
            let extra: Vec<&String> = actual_map
                .keys()
                .filter(|k| !expected_map.contains_key(*k))
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                reasons.push(format!(
                    "{shown}: keys differ: missing={missing:?} extra={extra:?}"
                ));
                ok = false;
            }
            for (key, value) in expected_map {
                if let Some(actual_value) = actual_map.get(key) {
                    ok &= equal(
                        value,
                        actual_value,
                        wildcards,
                        &format!("{path}/{}", escape_pointer(key)),
                        reasons,
                    );
                }
            }
            ok
        }
        Value::Array(expected_items) => {
            let Value::Array(actual_items) = actual else {
                reasons.push(format!(
                    "{shown}: expected {}, got {}",
                    short(expected),
                    short(actual)
                ));
                return false;
            };
            if actual_items.len() != expected_items.len() {
                reasons.push(format!(
                    "{shown}: expected {}, got {}",
                    short(expected),
                    short(actual)
                ));
                return false;
            }
            let mut ok = true;
            for (index, (e, a)) in expected_items.iter().zip(actual_items).enumerate() {
                ok &= equal(e, a, wildcards, &format!("{path}/{index}"), reasons);
            }
            ok
        }
        _ => {
            let same = match (expected, actual) {
                (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                },
                _ => expected == actual,
            };
            if !same {
                reasons.push(format!(
                    "{shown}: expected {}, got {}",
                    short(expected),
                    short(actual)
                ));
            }
            same
        }
    }
}

/// Writes a project for a `lambda-mock` case into `dir`: each function of its `mocks` as a
/// Python handler (`echo` returns its event, `constant` a value, `raise` raises the error, as the
/// recorded test's Lambda did), and an `aslan.toml` naming them. Answers the configuration path.
pub fn write_lambda_project(case: &Value, dir: &Path) -> std::io::Result<PathBuf> {
    let mut config = String::new();
    let functions = case
        .pointer("/mocks/lambda")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, mock) in &functions {
        let code = dir.join("functions").join(name);
        std::fs::create_dir_all(&code)?;
        let source = match mock["kind"].as_str().unwrap_or_default() {
            "raise" => {
                let error_type = mock["errorType"].as_str().unwrap_or("Exception");
                let message = serde_json::to_string(mock["errorMessage"].as_str().unwrap_or(""))
                    .unwrap_or_default();
                let mut source =
                    format!("def handler(event, context):\n    raise {error_type}({message})\n");
                if !is_python_builtin_exception(error_type) {
                    source.push_str(&format!("\n\nclass {error_type}(Exception):\n    pass\n"));
                }
                source
            }
            "constant" => {
                let value = serde_json::to_string(&mock["value"]).unwrap_or_default();
                let literal = serde_json::to_string(&value).unwrap_or_default();
                format!(
                    "import json\n\nVALUE = json.loads({literal})\n\n\ndef handler(event, context):\n    return VALUE\n"
                )
            }
            _ => "def handler(event, context):\n    return event\n".to_owned(),
        };
        std::fs::write(code.join("handler.py"), source)?;
        config.push_str(&format!(
            "[functions.{}]\nruntime = \"python\"\nhandler = \"handler.handler\"\ncode = \"functions/{name}\"\n\n",
            serde_json::to_string(name).unwrap_or_default()
        ));
    }
    let path = dir.join("aslan.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

fn is_python_builtin_exception(name: &str) -> bool {
    matches!(
        name,
        "Exception" | "ValueError" | "KeyError" | "TypeError" | "RuntimeError"
    )
}

/// Runs a `lambda-mock` case with its functions as local Python handlers.
pub fn run_lambda_case(case: &Value, scratch: &Path) -> Result<Actual, String> {
    let config_path = write_lambda_project(case, scratch).map_err(|e| e.to_string())?;
    let config = aslan_integrations::Config::load(&config_path).map_err(|e| e.to_string())?;
    let handler = aslan_integrations::Integrations::new(&config).map_err(|e| e.to_string())?;
    run_case(case, Arc::new(handler))
}

/// Runs a case that needs S3 buckets it names itself (no fixture filled them): each bucket the
/// definition names becomes an empty local directory (`[buckets]` of aslan.toml).
pub fn run_bucket_case(case: &Value, scratch: &Path) -> Result<Actual, String> {
    fn buckets(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, item) in object {
                    match (key.as_str(), item) {
                        ("Bucket", Value::String(name)) => found.push(name.clone()),
                        _ => buckets(item, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| buckets(item, found)),
            _ => {}
        }
    }
    let mut names = Vec::new();
    buckets(&case["definition"], &mut names);
    let mut config = String::from("[buckets]\n");
    for name in names {
        std::fs::create_dir_all(scratch.join("buckets").join(&name)).map_err(|e| e.to_string())?;
        config.push_str(&format!(
            "{} = {}\n",
            serde_json::to_string(&name).unwrap_or_default(),
            serde_json::to_string(&format!("buckets/{name}")).unwrap_or_default()
        ));
    }
    let path = scratch.join("aslan.toml");
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let config = aslan_integrations::Config::load(&path).map_err(|e| e.to_string())?;
    let handler = aslan_integrations::Integrations::new(&config).map_err(|e| e.to_string())?;
    run_case(case, Arc::new(handler))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compare_follows_the_reference_rules() {
        let case = json!({
            "expected": {"status": "SUCCEEDED", "output": {"a": 1, "id": "<uuid>", "s": {"b": 2}}},
            "wildcards": [{"field": "output", "path": "/id", "pattern": "^.+?$", "token": "<uuid>"}]
        });
        let actual = Actual {
            status: "SUCCEEDED".into(),
            output: Some(json!({"a": 1.0, "id": "x-1", "s": "{\"b\": 2}"})),
            ..Default::default()
        };
        assert!(compare(&case, &actual).ok);
        let wrong = Actual {
            status: "SUCCEEDED".into(),
            output: Some(json!({"a": true, "id": "x", "s": {}})),
            ..Default::default()
        };
        assert!(!compare(&case, &wrong).ok);
    }
}
