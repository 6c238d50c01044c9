//! Evaluating paths, templates and intrinsic calls against a state's data and context.
//!
//! Everything here borrows: the state input, the execution input and the Map item are read in
//! place, and only the values a template actually produces are cloned.

use std::borrow::Cow;
use std::cell::Cell;

use aslan_asl::intrinsics::{Intrinsic, IntrinsicError};
use aslan_asl::jsonata::{ContextReads, Expression, StatesMember, StatesPath};
use aslan_asl::jsonpath::{JsonPath, PathRoot};
use aslan_asl::template::Template;
use aslan_jsonata::Binding;
use aslan_types::Timestamp;
use serde_json::{Map, Value};

use crate::error::StateError;
use crate::size::Bound;
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
        let mut execution = Map::new();
        execution.insert("Id".into(), Value::from(self.execution_id));
        execution.insert("Input".into(), self.execution_input.clone());
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

    /// `$states.context` as a binding, with only the parts an expression reads; the execution
    /// input and the Map item are borrowed. The members come in the order of
    /// [`Context::to_value`].
    pub(crate) fn binding(&self, reads: &ContextReads) -> Binding<'_> {
        let text = |text: &str| Binding::Owned(Value::from(text));
        let mut root = Vec::with_capacity(5);
        if reads.execution {
            let mut execution = Vec::with_capacity(6);
            execution.push(("Id", text(self.execution_id)));
            if reads.execution_input {
                execution.push(("Input", Binding::Value(self.execution_input)));
            }
            execution.push(("Name", text(self.execution_name)));
            execution.push(("RoleArn", text(self.role_arn)));
            execution.push(("StartTime", text(self.start_time)));
            if let Some(count) = self.redrive_count {
                execution.push(("RedriveCount", Binding::Owned(Value::from(count))));
            }
            root.push(("Execution", Binding::Object(execution)));
        }
        if reads.state {
            let mut state = Vec::with_capacity(3);
            let entered = Timestamp::from_millis(self.entered_time).format_rfc3339();
            state.push(("EnteredTime", Binding::Owned(Value::from(entered))));
            state.push(("Name", text(self.state_name)));
            if self.is_task {
                state.push(("RetryCount", Binding::Owned(Value::from(self.retry_count))));
            }
            root.push(("State", Binding::Object(state)));
        }
        if reads.state_machine {
            root.push((
                "StateMachine",
                Binding::Object(vec![
                    ("Id", text(self.state_machine_id)),
                    ("Name", text(self.state_machine_name)),
                ]),
            ));
        }
        if reads.task
            && let Some(token) = self.task_token
        {
            root.push(("Task", Binding::Object(vec![("Token", text(token))])));
        }
        if reads.map
            && let Some((index, value)) = self.map_item
        {
            let item = Binding::Object(vec![
                ("Index", Binding::Owned(Value::from(index))),
                ("Value", Binding::Value(value)),
            ]);
            root.push(("Map", Binding::Object(vec![("Item", item)])));
        }
        Binding::Object(root)
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
    /// What is known of `input` without looking at it, when it is the frame's input: an upper
    /// bound of its size, and whether it came out of a JSONata evaluation (so a part of it can
    /// be returned without checking its numbers).
    pub(crate) input_bound: Option<Bound>,
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
            // The field's name is written out only for an error.
            self::expression(expression, scope, field)?.ok_or_else(|| undefined(expression, field))
        }
    }
}

/// The error for an expression that must have a value and returned *undefined*.
fn undefined(expression: &Expression, field: &dyn std::fmt::Display) -> StateError {
    StateError::new(
        "States.QueryEvaluationError",
        format!(
            "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
            expression.source()
        ),
    )
}

/// A JSONata state's `Output`, evaluated against the state input and result, and made by
/// [`PendingOutput::finish`] once `Assign` has read them too. Two things are left to then,
/// since the input and the result are dropped when the state ends:
/// - the objects and arrays the output takes whole from them
///   (`"keep": "{% $states.input.keep %}"`) are moved in rather than copied (a copy costs an
///   allocation per value);
/// - an object of the output is made in the input's own object at the same place when that
///   has the same keys in the same order (a state that updates fields of its input), which
///   spares making a map, copying its keys and hashing them.
pub(crate) struct PendingOutput<'t> {
    root: Pending<'t>,
    /// An upper bound of the output's size and depth, the values moved in included.
    pub(crate) bound: Bound,
    moves: Vec<Move<'t>>,
    /// Every part of the output is as a JSONata evaluation returns values (the constant parts
    /// of a template are as the definition wrote them).
    pub(crate) normalised: bool,
}

/// A part of the output.
enum Pending<'t> {
    /// A value, with `null` where a value is to be moved in.
    Value(Value),
    /// An object template's members and their parts.
    Object(&'t [(String, Template)], Vec<Pending<'t>>),
    /// An array template's items.
    Array(Vec<Pending<'t>>),
}

/// A value the output takes from the input or the result.
struct Move<'t> {
    /// Where it goes, from the output's root.
    place: Vec<Place>,
    member: StatesMember,
    keys: &'t [String],
    /// Its numbers change on the way through JSONata.
    normalise: bool,
}

/// A step into the output: the position of an object template's member or of an array
/// template's item.
#[derive(Clone, Copy)]
struct Place(usize);

/// Where the template part being evaluated goes, as a chain on the stack (written out only
/// for a move).
struct Within<'a> {
    parent: Option<&'a Within<'a>>,
    step: Place,
}

impl Within<'_> {
    fn place(within: Option<&Within<'_>>) -> Vec<Place> {
        let steps = || std::iter::successors(within, |step| step.parent);
        let mut place: Vec<Place> = steps().map(|step| step.step).collect();
        place.reverse();
        place
    }
}

/// Evaluates a JSONata state's `Output` (see [`PendingOutput`]).
pub(crate) fn output<'t>(
    template: &'t Template,
    scope: &Scope<'_>,
) -> Result<PendingOutput<'t>, StateError> {
    let mut pending = PendingOutput {
        root: Pending::Value(Value::Null),
        bound: Bound::default(),
        moves: Vec::new(),
        normalised: true,
    };
    let field = Field {
        parent: None,
        name: "Output",
    };
    let (root, bound) = output_at(template, scope, &field, None, &mut pending)?;
    pending.root = root;
    pending.bound = bound;
    Ok(pending)
}

/// Evaluates one part of an `Output`, with an upper bound of its size and depth: measured
/// for what is computed, the input's bound for a part of the input moved in, so that a large
/// value passed along is not walked at every state.
fn output_at<'t>(
    template: &'t Template,
    scope: &Scope<'_>,
    field: &Field<'_>,
    within: Option<&Within<'_>>,
    pending: &mut PendingOutput<'t>,
) -> Result<(Pending<'t>, Bound), StateError> {
    match template {
        Template::Expression(expression) => {
            // Only what the interpreter owns and drops after the state can be moved.
            let owned = |path: &StatesPath| match path.member {
                StatesMember::Input => scope.states_input.is_none(),
                StatesMember::Result => true,
                StatesMember::ErrorOutput => false,
            };
            if let Some(path) = expression.states_path().filter(|path| owned(path))
                && let Some(found) = locate(path, scope)
            {
                let (value, normalised) = found.ok_or_else(|| undefined(expression, field))?;
                let normalise = !normalised
                    && !aslan_jsonata::is_normalised(value)
                        .map_err(|error| evaluation_failed(expression, field, &error))?;
                // Scalars are copied: a move's bookkeeping costs more than copying one.
                if !matches!(value, Value::Object(_) | Value::Array(_)) {
                    let mut value = value.clone();
                    if normalise {
                        // Checked just above: this cannot fail.
                        let _ = aslan_jsonata::normalise(&mut value);
                    }
                    let bound = Bound::of(&value);
                    return Ok((Pending::Value(value), bound));
                }
                // A part of the input is no bigger than the input; a part of the result is
                // measured.
                let bound = match (path.member, scope.input_bound) {
                    (StatesMember::Input, Some(bound)) => bound,
                    _ => Bound::of(value),
                };
                pending.moves.push(Move {
                    place: Within::place(within),
                    member: path.member,
                    keys: &path.keys,
                    normalise,
                });
                return Ok((Pending::Value(Value::Null), bound));
            }
            let value = template_at(template, scope, field)?;
            let bound = Bound::of(&value);
            Ok((Pending::Value(value), bound))
        }
        Template::Object(members) => {
            let mut parts = Vec::with_capacity(members.len());
            let mut bound = Bound::container(members.len());
            for (index, (key, member)) in members.iter().enumerate() {
                let field = Field {
                    parent: Some(field),
                    name: key,
                };
                let here = Within {
                    parent: within,
                    step: Place(index),
                };
                let (part, member_bound) = output_at(member, scope, &field, Some(&here), pending)?;
                bound.add_member(key, member_bound);
                parts.push(part);
            }
            Ok((Pending::Object(members, parts), bound))
        }
        Template::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            let mut bound = Bound::container(items.len());
            for (index, item) in items.iter().enumerate() {
                let here = Within {
                    parent: within,
                    step: Place(index),
                };
                let (part, item_bound) = output_at(item, scope, field, Some(&here), pending)?;
                bound.add_item(item_bound);
                parts.push(part);
            }
            Ok((Pending::Array(parts), bound))
        }
        Template::Const(value) => {
            if pending.normalised && !aslan_jsonata::is_normalised(value).unwrap_or(false) {
                pending.normalised = false;
            }
            Ok((Pending::Value(value.clone()), Bound::of(value)))
        }
        other => {
            let value = template_at(other, scope, field)?;
            let bound = Bound::of(&value);
            Ok((Pending::Value(value), bound))
        }
    }
}

impl PendingOutput<'_> {
    /// The output, with the values it takes from `input` and `result` (which it consumes)
    /// moved in, or copied where two of them overlap, and its objects made in the input's
    /// where they have the same keys.
    pub(crate) fn finish(self, mut input: Value, mut result: Option<Value>) -> Value {
        let PendingOutput {
            mut root, moves, ..
        } = self;
        root.move_in(&moves, &mut input, &mut result);
        root.build(input)
    }
}

impl Pending<'_> {
    /// The value, made in `old` (the input's value at the same place) where it can be.
    fn build(self, old: Value) -> Value {
        match self {
            Pending::Value(value) => value,
            // An array is made anew: its items are seldom updated in place.
            Pending::Array(parts) => Value::Array(
                parts
                    .into_iter()
                    .map(|part| part.build(Value::Null))
                    .collect(),
            ),
            Pending::Object(members, parts) => match old {
                Value::Object(mut map) if same_keys(&map, members) => {
                    for (slot, part) in map.values_mut().zip(parts) {
                        match part {
                            Pending::Value(value) => *slot = value,
                            part => {
                                let old = std::mem::take(slot);
                                *slot = part.build(old);
                            }
                        }
                    }
                    Value::Object(map)
                }
                _ => {
                    let mut map = Map::with_capacity(members.len());
                    for ((key, _), part) in members.iter().zip(parts) {
                        map.insert(key.clone(), part.build(Value::Null));
                    }
                    Value::Object(map)
                }
            },
        }
    }

    /// The slot at `place` in the output.
    fn slot(&mut self, place: &[Place]) -> Option<&mut Value> {
        match (self, place.split_first()) {
            (Pending::Value(value), None) => Some(value),
            (Pending::Object(_, parts) | Pending::Array(parts), Some((first, rest))) => {
                parts.get_mut(first.0)?.slot(rest)
            }
            _ => None,
        }
    }

    /// Moves in the values the output takes from `input` and `result`, or copies them where
    /// two overlap.
    fn move_in(&mut self, moves: &[Move<'_>], input: &mut Value, result: &mut Option<Value>) {
        if let [one] = moves {
            if let Some(mut part) = source(one, input, result).map(std::mem::take) {
                if one.normalise {
                    // The depth was checked when the value was found: this cannot fail.
                    let _ = aslan_jsonata::normalise(&mut part);
                }
                if let Some(slot) = self.slot(&one.place) {
                    *slot = part;
                }
            }
            return;
        }
        if moves.is_empty() {
            return;
        }
        // Where two values taken overlap (one holds the other, or they are the same), the
        // later ones are copied, and before anything is moved, while every source is whole.
        let copied = |at: usize| {
            let one = &moves[at];
            moves.iter().enumerate().any(|(other, move_)| {
                let same = move_.keys == one.keys;
                other != at
                    && move_.member == one.member
                    && ((same && other < at)
                        || (!same
                            && (move_.keys.starts_with(one.keys)
                                || one.keys.starts_with(move_.keys))))
            })
        };
        let mut parts: Vec<(usize, Value)> = Vec::with_capacity(moves.len());
        for (at, one) in moves.iter().enumerate() {
            if copied(at) {
                let copy = source(one, input, result).map_or(Value::Null, |v| v.clone());
                parts.push((at, copy));
            }
        }
        for (at, one) in moves.iter().enumerate() {
            if !parts.iter().any(|(copy, _)| *copy == at) {
                let taken = source(one, input, result).map_or(Value::Null, std::mem::take);
                parts.push((at, taken));
            }
        }
        for (at, mut part) in parts {
            let one = &moves[at];
            if one.normalise {
                // The depth was checked when the value was found: this cannot fail.
                let _ = aslan_jsonata::normalise(&mut part);
            }
            if let Some(slot) = self.slot(&one.place) {
                *slot = part;
            }
        }
    }
}

/// Whether an object has a template's keys, in the same order.
fn same_keys(map: &Map<String, Value>, members: &[(String, Template)]) -> bool {
    map.len() == members.len()
        && map
            .keys()
            .zip(members)
            .all(|(key, (member, _))| key == member)
}

/// The value a move takes, in the input or the result.
fn source<'v>(
    one: &Move<'_>,
    input: &'v mut Value,
    result: &'v mut Option<Value>,
) -> Option<&'v mut Value> {
    let mut value = match one.member {
        StatesMember::Result => result.as_mut()?,
        _ => input,
    };
    for key in one.keys {
        value = field_mut(value.as_object_mut()?, key)?;
    }
    Some(value)
}

/// Finds the value of `$states.member.key...` in place, as the facade's evaluation would (see
/// `aslan_jsonata::Expression::field_path`): through objects, an absent field is *undefined*
/// (`Some(None)`). Also tells whether the value is known to be as JSONata returns values.
/// `None` where the walk meets an array (JSONata's sequence rules apply: the expression must be
/// evaluated) or the member is not bound here.
fn locate<'v>(path: &StatesPath, scope: &Scope<'v>) -> Option<Option<(&'v Value, bool)>> {
    let (mut current, normalised) = match path.member {
        StatesMember::Input => match scope.states_input {
            Some(input) => (input, false),
            None => (
                scope.input,
                scope.input_bound.is_some_and(|bound| bound.normalised),
            ),
        },
        StatesMember::Result => (scope.result?, false),
        StatesMember::ErrorOutput => (scope.error_output?, false),
    };
    for key in &path.keys {
        match current {
            Value::Object(map) => match field(map, key) {
                Some(next) => current = next,
                None => return Some(None),
            },
            Value::Array(_) => return None,
            _ => return Some(None),
        }
    }
    Some(Some((current, normalised)))
}

/// Evaluates a JSONata expression whose value is required: *undefined* is an error.
pub(crate) fn expression_value(
    expression: &Expression,
    scope: &Scope<'_>,
    field: &str,
) -> Result<Value, StateError> {
    self::expression(expression, scope, &field)?.ok_or_else(|| undefined(expression, &field))
}

/// Evaluates a JSONata expression with `$states` and the workflow variables it reads bound.
/// `Ok(None)` is JSONata's *undefined*.
pub(crate) fn expression(
    expression: &Expression,
    scope: &Scope<'_>,
    field: &dyn std::fmt::Display,
) -> Result<Option<Value>, StateError> {
    if let Some(path) = expression.states_path()
        && let Some(found) = read_path(path, scope)
    {
        return found.map_err(|error| evaluation_failed(expression, field, &error));
    }
    let compiled = compiled(expression)?;
    let mut random = || next_random(scope.random);
    let mut env = aslan_jsonata::Env::new(scope.now, &mut random);
    with_bindings(expression, scope, |bindings| {
        compiled.evaluate_bindings(None, bindings, &mut env)
    })
    .map_err(|error| evaluation_failed(expression, field, &error))
}

/// Reads `$states.member.key...` in place, as the facade's evaluation would (see
/// `aslan_jsonata::Expression::field_path`). `None` where [`locate`] cannot follow the path.
fn read_path(
    path: &StatesPath,
    scope: &Scope<'_>,
) -> Option<Result<Option<Value>, aslan_jsonata::Error>> {
    let Some((found, normalised)) = locate(path, scope)? else {
        return Some(Ok(None));
    };
    let mut value = found.clone();
    if !normalised && let Err(error) = aslan_jsonata::normalise(&mut value) {
        return Some(Err(error));
    }
    Some(Ok(Some(value)))
}

/// The value of a field. A small object is searched in order: comparing a few keys costs less
/// than hashing one.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// As [`field`], for changing the value.
fn field_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    if map.len() <= 8 {
        map.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| v)
    } else {
        map.get_mut(key)
    }
}

/// For an expression of the form `$merge([$states.input, {...}])` (see
/// `aslan_jsonata::Expression::merge_base`): what the merge adds to the state input, so that the
/// caller, which owns the input, can extend it instead of having it copied. `Ok(None)` when the
/// expression is not of that form or the merge is not that simple at run time: evaluate it as
/// usual then. `input_normalised`: the input came out of a JSONata evaluation.
pub(crate) fn input_merge(
    expression: &Expression,
    scope: &Scope<'_>,
    field: &str,
    input_normalised: bool,
) -> Result<Option<aslan_jsonata::Merge>, StateError> {
    let Ok(compiled) = expression.compiled() else {
        return Ok(None);
    };
    match compiled.merge_base() {
        Some(("states", [input])) if input == "input" && scope.states_input.is_none() => {}
        _ => return Ok(None),
    }
    with_bindings(expression, scope, |bindings| {
        compiled
            .evaluate_merge(bindings, input_normalised)
            .transpose()
    })
    .map_err(|error| evaluation_failed(expression, &field, &error))
}

fn compiled(expression: &Expression) -> Result<&aslan_jsonata::Expression, StateError> {
    expression
        .compiled()
        .map_err(|error| StateError::new("States.QueryEvaluationError", error.message.clone()))
}

/// Calls `f` with `$states` and the workflow variables the expression reads bound. `$states`
/// holds the members the expression can reach, borrowed where they live (only the context is
/// assembled, and only the parts of it that are read); the facade converts only what the
/// expression reads of them. The commonest case, `$states.input` alone, allocates nothing.
fn with_bindings<T>(
    expression: &Expression,
    scope: &Scope<'_>,
    f: impl FnOnce(&[(&str, Binding<'_>)]) -> T,
) -> T {
    let reads = expression.states_reads();
    let input = scope.states_input.unwrap_or(scope.input);
    if !reads.context.any() && !reads.result && !reads.error_output {
        let members = [("input", Binding::Value(input))];
        let members = if reads.input { &members[..] } else { &[] };
        return with_variables(expression, scope, members, f);
    }
    let mut members = Vec::with_capacity(4);
    if reads.input {
        members.push(("input", Binding::Value(input)));
    }
    if reads.context.any() {
        members.push(("context", scope.context.binding(&reads.context)));
    }
    if reads.result
        && let Some(result) = scope.result
    {
        members.push(("result", Binding::Value(result)));
    }
    if reads.error_output
        && let Some(error_output) = scope.error_output
    {
        members.push(("errorOutput", Binding::Value(error_output)));
    }
    with_variables(expression, scope, &members, f)
}

fn with_variables<T>(
    expression: &Expression,
    scope: &Scope<'_>,
    states: &[(&str, Binding<'_>)],
    f: impl FnOnce(&[(&str, Binding<'_>)]) -> T,
) -> T {
    let states = ("states", Binding::Members(states));
    let variables = expression.variables();
    if variables.is_empty() {
        return f(&[states]);
    }
    let mut bindings = Vec::with_capacity(variables.len() + 1);
    bindings.push(states);
    for name in variables {
        if let Some(value) = scope.variables.get(name) {
            bindings.push((name.as_str(), Binding::Value(value)));
        }
    }
    f(&bindings)
}

fn evaluation_failed(
    expression: &Expression,
    field: &dyn std::fmt::Display,
    error: &aslan_jsonata::Error,
) -> StateError {
    let code = if error.code.is_empty() {
        String::new()
    } else {
        format!("{}: ", error.code)
    };
    StateError::new(
        "States.QueryEvaluationError",
        format!(
            "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {code}{}",
            expression.source(),
            error.message
        ),
    )
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
