//! Evaluating paths, templates and intrinsic calls against a state's data and context.
//!
//! Everything here borrows: the state input, the execution input and the Map item are read in
//! place, and only the values a template actually produces are cloned.

use std::borrow::Cow;
use std::cell::Cell;

use aslan_asl::intrinsics::{Intrinsic, IntrinsicError};
use aslan_asl::jsonata::Expression;
use aslan_asl::jsonpath::{JsonPath, PathRoot};
use aslan_asl::template::Template;
use aslan_types::Timestamp;
use serde_json::{Map, Value};

use crate::error::StateError;
use crate::vars::Variables;

/// What `$$` holds for the state being evaluated. Built cheaply for every state: the large parts
/// (the execution input, the Map item) are references.
pub(crate) struct Context<'a> {
    pub(crate) execution_id: &'a str,
    pub(crate) execution_name: &'a str,
    pub(crate) execution_input: &'a Value,
    pub(crate) role_arn: &'a str,
    pub(crate) start_time: &'a str,
    pub(crate) redrive_count: Option<u32>,
    pub(crate) state_machine_id: &'a str,
    pub(crate) state_machine_name: &'a str,
    pub(crate) state_name: &'a str,
    /// When the state was entered, in epoch milliseconds (formatted only when read).
    pub(crate) entered_time: i64,
    pub(crate) retry_count: u32,
    pub(crate) is_task: bool,
    pub(crate) task_token: Option<&'a str>,
    pub(crate) map_item: Option<(u64, &'a Value)>,
}

impl Context<'_> {
    /// The whole context object, materialised (only for paths that need more than a leaf).
    pub(crate) fn to_value(&self) -> Value {
        self.to_value_with_input(true)
    }

    /// The context object, with `Execution.Input` only when asked for: copying the execution
    /// input for every Map item's `ItemSelector` would make a Map quadratic.
    pub(crate) fn to_value_with_input(&self, with_input: bool) -> Value {
        let mut execution = Map::new();
        execution.insert("Id".into(), Value::from(self.execution_id));
        if with_input {
            execution.insert("Input".into(), self.execution_input.clone());
        }
        execution.insert("Name".into(), Value::from(self.execution_name));
        execution.insert("RoleArn".into(), Value::from(self.role_arn));
        execution.insert("StartTime".into(), Value::from(self.start_time));
        // Express executions cannot be redriven, and AWS leaves the count out for them.
        if let Some(count) = self.redrive_count {
            execution.insert("RedriveCount".into(), Value::from(count));
        }
        let mut state = Map::new();
        state.insert(
            "EnteredTime".into(),
            Value::from(Timestamp::from_millis(self.entered_time).format_rfc3339()),
        );
        state.insert("Name".into(), Value::from(self.state_name));
        // AWS shows RetryCount only where retries exist: in Task states.
        if self.is_task {
            state.insert("RetryCount".into(), Value::from(self.retry_count));
        }
        let mut machine = Map::new();
        machine.insert("Id".into(), Value::from(self.state_machine_id));
        machine.insert("Name".into(), Value::from(self.state_machine_name));
        let mut root = Map::new();
        root.insert("Execution".into(), Value::Object(execution));
        root.insert("State".into(), Value::Object(state));
        root.insert("StateMachine".into(), Value::Object(machine));
        if let Some(token) = self.task_token {
            let mut task = Map::new();
            task.insert("Token".into(), Value::from(token));
            root.insert("Task".into(), Value::Object(task));
        }
        if let Some((index, value)) = self.map_item {
            let mut item = Map::new();
            item.insert("Index".into(), Value::from(index));
            item.insert("Value".into(), value.clone());
            let mut map = Map::new();
            map.insert("Item".into(), Value::Object(item));
            root.insert("Map".into(), Value::Object(map));
        }
        Value::Object(root)
    }

    /// Evaluates a `$$` path, reading the execution input and Map item in place.
    pub(crate) fn select(&self, path: &JsonPath) -> Result<Value, String> {
        if let Some(names) = path.first_names(2) {
            match (names[0], names[1]) {
                ("Execution", "Input") => {
                    return path
                        .select_from(2, self.execution_input)
                        .map_err(|e| e.message);
                }
                ("Map", "Item") => {
                    if let Some((index, value)) = self.map_item
                        && let Some(names) = path.first_names(3)
                    {
                        match names[2] {
                            "Value" => {
                                return path.select_from(3, value).map_err(|e| e.message);
                            }
                            "Index" => {
                                return path
                                    .select_from(3, &Value::from(index))
                                    .map_err(|e| e.message);
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        path.select(&self.to_value()).map_err(|e| e.message)
    }
}

/// Everything an evaluation may read.
pub(crate) struct Scope<'a> {
    pub(crate) input: &'a Value,
    pub(crate) context: &'a Context<'a>,
    pub(crate) variables: &'a Variables,
    /// The execution's random state (splitmix64), advanced by `States.UUID` and friends.
    pub(crate) random: &'a Cell<u64>,
    /// Now, for JSONata's `$now()` and `$millis()`.
    pub(crate) now: i64,
    /// `$states.input` when it differs from `input` (a Map's ItemSelector reads the item as `$`
    /// in JSONPath but the Map's input as `$states.input`).
    pub(crate) states_input: Option<&'a Value>,
    /// `$states.result` (Task, Parallel and Map `Output` and `Assign`).
    pub(crate) result: Option<&'a Value>,
    /// `$states.errorOutput` (a catcher's `Output` and `Assign`).
    pub(crate) error_output: Option<&'a Value>,
}

/// Draws the next number of a splitmix64 sequence.
pub(crate) fn next_random(state: &Cell<u64>) -> u64 {
    let mut z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(z);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Scope<'_> {
    /// Evaluates a path by its root: `$`, `$$` or a variable.
    pub(crate) fn select(&self, path: &JsonPath) -> Result<Value, String> {
        match path.root() {
            PathRoot::Input => path.select(self.input).map_err(|e| e.message),
            PathRoot::Context => self.context.select(path),
            PathRoot::Variable(name) => match self.variables.get(name) {
                Some(value) => path.select_from(0, value).map_err(|e| e.message),
                None => Err(format!("The variable '${name}' is not defined")),
            },
        }
    }

    /// Evaluates a path and borrows the result when it is in the state input.
    pub(crate) fn select_cow<'v>(&'v self, path: &JsonPath) -> Result<Cow<'v, Value>, String> {
        if path.root() == &PathRoot::Input && path.is_definite() {
            return path
                .select_ref(self.input)
                .map(Cow::Borrowed)
                .map_err(|e| e.message);
        }
        self.select(path).map(Cow::Owned)
    }
}

/// Where in a template a value is, for messages: `Output/result/items`.
#[derive(Clone, Copy)]
struct Field<'a> {
    parent: Option<&'a Field<'a>>,
    name: &'a str,
}

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}/")?;
        }
        f.write_str(self.name)
    }
}

/// Evaluates a template. `field` names the template in error messages (`Parameters`, ...).
pub(crate) fn template(
    template: &Template,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Value, StateError> {
    template_at(
        template,
        scope,
        &Field {
            parent: None,
            name: field,
        },
    )
}

fn template_at(
    template: &Template,
    scope: &Scope<'_>,
    field: &Field<'_>,
) -> Result<Value, StateError> {
    match template {
        Template::Const(value) => Ok(value.clone()),
        Template::Object(members) => {
            let mut out = Map::with_capacity(members.len());
            for (key, member) in members {
                let value = match member {
                    Template::Path(path) => scope.select(path).map_err(|_| {
                        StateError::runtime(format!(
                            "The JSONPath '{}' specified for the field '{key}.$' could not be found in the input '{}'",
                            path.source(),
                            compact(scope.input)
                        ))
                    })?,
                    Template::Intrinsic(call) => intrinsic(call, scope)?,
                    other => template_at(other, scope, &Field { parent: Some(field), name: key })?,
                };
                out.insert(key.clone(), value);
            }
            Ok(Value::Object(out))
        }
        Template::Array(items) => items
            .iter()
            .map(|item| template_at(item, scope, field))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Template::Path(path) => scope.select(path).map_err(|_| {
            StateError::runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                path.source(),
                compact(scope.input)
            ))
        }),
        Template::Intrinsic(call) => intrinsic(call, scope),
        Template::Expression(expression) => {
            let field = field.to_string();
            match self::expression(expression, scope, &field)? {
                Some(value) => Ok(value),
                None => Err(StateError::new(
                    "States.QueryEvaluationError",
                    format!(
                        "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                        expression.source()
                    ),
                )),
            }
        }
    }
}

/// Reads `$states.member.key...` in place, as JSONata would: a missing field is *undefined*.
/// `None` leaves the expression to the evaluator, for the cases where JSONata's sequence rules
/// could differ from a plain walk (an array along the way or at the end).
fn direct_read(direct: &aslan_asl::jsonata::Direct, scope: &Scope<'_>) -> Option<Option<Value>> {
    let mut current: &Value = match direct.member.as_str() {
        "input" => scope.states_input.unwrap_or(scope.input),
        "result" => scope.result?,
        "errorOutput" => scope.error_output?,
        _ => {
            // The context's Map item and execution input are read in place through `$$`.
            let keys: String = direct.keys.iter().map(|k| format!(".{k}")).collect();
            let path = JsonPath::parse(&format!("$${keys}")).ok()?;
            return match scope.context.select(&path) {
                Ok(value) => scalar(&value),
                Err(_) => None,
            };
        }
    };
    for key in &direct.keys {
        match current {
            Value::Object(map) => match map.get(key) {
                Some(next) => current = next,
                None => return Some(None),
            },
            Value::Array(_) => return None,
            _ => return Some(None),
        }
    }
    scalar(current)
}

/// A scalar as JSONata returns it (whole numbers as integers); `None` for arrays and objects,
/// whose numbers JSONata would normalise too: those go through the evaluator.
fn scalar(value: &Value) -> Option<Option<Value>> {
    match value {
        Value::Array(_) | Value::Object(_) => None,
        Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_none() => {
            let f = n.as_f64()?;
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Some(Some(Value::from(f as i64)))
            } else {
                Some(Some(value.clone()))
            }
        }
        other => Some(Some(other.clone())),
    }
}

/// Evaluates a JSONata expression whose value is required: *undefined* is an error.
pub(crate) fn expression_value(
    expression: &Expression,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Value, StateError> {
    self::expression(expression, scope, field)?.ok_or_else(|| {
        StateError::new(
            "States.QueryEvaluationError",
            format!(
                "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                expression.source()
            ),
        )
    })
}

/// Evaluates a JSONata expression with `$states` and the workflow variables it reads bound.
/// `Ok(None)` is JSONata's *undefined*.
pub(crate) fn expression(
    expression: &Expression,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Option<Value>, StateError> {
    if let Some(direct) = expression.direct()
        && let Some(found) = direct_read(direct, scope)
    {
        return Ok(found);
    }
    let compiled = expression
        .compiled()
        .map_err(|error| StateError::new("States.QueryEvaluationError", error.message.clone()))?;
    // `$states` holds only the members the expression reads: building and converting the
    // context object or a large input costs time.
    let reads = expression.states_reads();
    let mut states = Map::new();
    if reads.input {
        states.insert(
            "input".into(),
            scope.states_input.unwrap_or(scope.input).clone(),
        );
    }
    if reads.context {
        // An expression can only reach the execution input through a name that says so, or
        // through functions that enumerate objects.
        let source = expression.source();
        // `$states.context` read whole (not followed by `.`) needs everything.
        let whole = source
            .match_indices("$states.context")
            .any(|(at, found)| !source[at + found.len()..].starts_with('.'));
        let needs_input = whole
            || [
                "Execution",
                "Input",
                "*",
                "$lookup",
                "$keys",
                "$each",
                "$spread",
                "$sift",
                "$string",
                "$eval",
            ]
            .iter()
            .any(|word| source.contains(word));
        states.insert(
            "context".into(),
            scope.context.to_value_with_input(needs_input),
        );
    }
    if reads.result
        && let Some(result) = scope.result
    {
        states.insert("result".into(), result.clone());
    }
    if reads.error_output
        && let Some(error_output) = scope.error_output
    {
        states.insert("errorOutput".into(), error_output.clone());
    }
    let states = Value::Object(states);
    let mut bindings: Vec<(&str, &Value)> = Vec::with_capacity(expression.variables().len() + 1);
    bindings.push(("states", &states));
    for name in expression.variables() {
        if let Some(value) = scope.variables.get(name) {
            bindings.push((name.as_str(), value));
        }
    }
    let mut random = || next_random(scope.random);
    let mut env = aslan_jsonata::Env::new(scope.now, &mut random);
    compiled.evaluate_input(None, &bindings, &mut env).map_err(|error| {
        let code = if error.code.is_empty() { String::new() } else { format!("{}: ", error.code) };
        StateError::new(
            "States.QueryEvaluationError",
            format!(
                "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {code}{}",
                expression.source(),
                error.message
            ),
        )
    })
}

/// Evaluates an intrinsic call; failures are `States.IntrinsicFailure`, except paths that match
/// nothing, which AWS reports as `States.Runtime`.
pub(crate) fn intrinsic(call: &Intrinsic, scope: &Scope<'_>) -> Result<Value, StateError> {
    let mut path_error: Option<String> = None;
    let mut resolve = |path: &JsonPath| -> Result<Value, IntrinsicError> {
        scope.select(path).map_err(|message| {
            path_error = Some(format!(
                "The JSONPath '{}' could not be found in the input: {message}",
                path.source()
            ));
            IntrinsicError { message }
        })
    };
    let mut random = || next_random(scope.random);
    let result = call.eval(&mut resolve, &mut random);
    match result {
        Ok(value) => Ok(value),
        Err(error) => match path_error {
            Some(message) => Err(StateError::runtime(message)),
            None => Err(StateError::new("States.IntrinsicFailure", error.message)),
        },
    }
}

/// Compact JSON text for messages.
pub(crate) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
