//! Mocked responses in Step Functions Local's mock-config format.
//!
//! ```json
//! {
//!   "StateMachines": {
//!     "Orders": { "TestCases": { "HappyPath": { "Charge": "ChargeOk" } } }
//!   },
//!   "MockedResponses": {
//!     "ChargeOk": {
//!       "0": { "Throw": { "Error": "Lambda.TooManyRequestsException", "Cause": "busy" } },
//!       "1-2": { "Return": { "StatusCode": 200, "Payload": { "charged": true } } }
//!     }
//!   }
//! }
//! ```
//!
//! A test case maps state names to a mocked response; the response lists what each invocation
//! of the state returns (`Return`) or raises (`Throw`), by zero-based invocation number or range.
//! Retries are invocations too, as in Step Functions Local.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aslan_engine::{TaskError, TaskFuture, TaskHandler};
use aslan_interp::TaskRequest;
use serde_json::Value;

/// Why a mock configuration cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub struct MockError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MockError {}

fn mock_error(message: impl Into<String>) -> MockError {
    MockError {
        message: message.into(),
    }
}

/// One invocation's answer.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Return(Value),
    Throw { error: String, cause: String },
}

/// Answers by invocation number.
#[derive(Debug, Clone, PartialEq)]
struct MockedResponse {
    ranges: Vec<(u32, u32, Answer)>,
}

impl MockedResponse {
    fn answer(&self, invocation: u32) -> Option<&Answer> {
        self.ranges
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&invocation))
            .map(|(_, _, answer)| answer)
    }
}

/// A parsed mock configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// State machine → test case → state name → response name.
    machines: HashMap<String, HashMap<String, HashMap<String, String>>>,
    responses: HashMap<String, MockedResponse>,
}

impl MockConfig {
    /// Reads the configuration text.
    pub fn parse(text: &str) -> Result<MockConfig, MockError> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| mock_error(format!("the mock configuration is not valid JSON: {e}")))?;
        let mut machines = HashMap::new();
        if let Some(map) = root.get("StateMachines").and_then(Value::as_object) {
            for (machine, body) in map {
                let mut cases = HashMap::new();
                let test_cases = body
                    .get("TestCases")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        mock_error(format!("StateMachines.{machine} has no TestCases object"))
                    })?;
                for (case, states) in test_cases {
                    let states = states.as_object().ok_or_else(|| {
                        mock_error(format!("TestCases.{case} of {machine} must be an object"))
                    })?;
                    let mut mapping = HashMap::new();
                    for (state, response) in states {
                        let response = response.as_str().ok_or_else(|| {
                            mock_error(format!(
                                "TestCases.{case}.{state} must name a mocked response"
                            ))
                        })?;
                        mapping.insert(state.clone(), response.to_owned());
                    }
                    cases.insert(case.clone(), mapping);
                }
                machines.insert(machine.clone(), cases);
            }
        }
        let mut responses = HashMap::new();
        if let Some(map) = root.get("MockedResponses").and_then(Value::as_object) {
            for (name, body) in map {
                let body = body.as_object().ok_or_else(|| {
                    mock_error(format!("MockedResponses.{name} must be an object"))
                })?;
                let mut ranges = Vec::new();
                for (key, answer) in body {
                    let (first, last) = parse_range(key).ok_or_else(|| {
                        mock_error(format!(
                            "MockedResponses.{name}: '{key}' is not an invocation number or range like \"0\" or \"1-3\""
                        ))
                    })?;
                    let answer = if let Some(value) = answer.get("Return") {
                        Answer::Return(value.clone())
                    } else if let Some(throw) = answer.get("Throw") {
                        Answer::Throw {
                            error: throw
                                .get("Error")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned(),
                            cause: throw
                                .get("Cause")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned(),
                        }
                    } else {
                        return Err(mock_error(format!(
                            "MockedResponses.{name}.{key} must have a Return or a Throw"
                        )));
                    };
                    ranges.push((first, last, answer));
                }
                responses.insert(name.clone(), MockedResponse { ranges });
            }
        }
        for (machine, cases) in &machines {
            for (case, states) in cases {
                for (state, response) in states {
                    if !responses.contains_key(response) {
                        return Err(mock_error(format!(
                            "{machine}/{case}: state '{state}' uses the mocked response '{response}', which is not defined"
                        )));
                    }
                }
            }
        }
        Ok(MockConfig {
            machines,
            responses,
        })
    }

    /// The names of the state machines the configuration covers.
    pub fn machine_names(&self) -> Vec<&str> {
        self.machines.keys().map(String::as_str).collect()
    }

    /// A handler for one test case of one state machine.
    pub fn handler(&self, machine: &str, test_case: &str) -> Result<MockHandler, MockError> {
        let cases = self.machines.get(machine).ok_or_else(|| {
            mock_error(format!(
                "the mock configuration has no state machine named '{machine}' (it has: {})",
                self.machine_names().join(", ")
            ))
        })?;
        let states = cases.get(test_case).ok_or_else(|| {
            mock_error(format!(
                "the state machine '{machine}' has no test case named '{test_case}'"
            ))
        })?;
        let mut by_state = HashMap::new();
        for (state, response) in states {
            if let Some(mocked) = self.responses.get(response) {
                by_state.insert(state.clone(), mocked.clone());
            }
        }
        Ok(MockHandler {
            by_state,
            invocations: Mutex::new(HashMap::new()),
        })
    }
}

fn parse_range(key: &str) -> Option<(u32, u32)> {
    match key.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => {
            let n = key.trim().parse().ok()?;
            Some((n, n))
        }
    }
}

/// Answers Task states from a test case.
#[derive(Debug)]
pub struct MockHandler {
    by_state: HashMap<String, MockedResponse>,
    invocations: Mutex<HashMap<String, u32>>,
}

impl MockHandler {
    /// Whether the test case names this state.
    pub fn has(&self, state_name: &str) -> bool {
        self.by_state.contains_key(state_name)
    }
}

impl TaskHandler for MockHandler {
    fn invoke(&self, request: &TaskRequest) -> TaskFuture {
        let answer = match self.by_state.get(&request.state_name) {
            None => Err(TaskError::new(
                "aslan.TaskNotConfigured",
                format!(
                    "The test case has no mocked response for the state '{}' (resource '{}').",
                    request.state_name, request.resource.arn
                ),
            )),
            Some(response) => {
                let invocation = {
                    let mut counts = self.invocations.lock().unwrap_or_else(|e| e.into_inner());
                    let count = counts.entry(request.state_name.clone()).or_insert(0);
                    let current = *count;
                    *count += 1;
                    current
                };
                match response.answer(invocation) {
                    Some(Answer::Return(value)) => Ok(value.clone()),
                    Some(Answer::Throw { error, cause }) => {
                        Err(TaskError::new(error.clone(), cause.clone()))
                    }
                    None => Err(TaskError::new(
                        "aslan.TaskNotConfigured",
                        format!(
                            "The mocked response for the state '{}' has no answer for invocation {invocation}.",
                            request.state_name
                        ),
                    )),
                }
            }
        };
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_errors() {
        assert_eq!(parse_range("0"), Some((0, 0)));
        assert_eq!(parse_range("1-3"), Some((1, 3)));
        assert_eq!(parse_range("3-1"), None);
        assert_eq!(parse_range("x"), None);
        assert!(MockConfig::parse("{").is_err());
        let missing = r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "Nope"}}}}}"#;
        assert!(MockConfig::parse(missing).is_err());
    }
}
