//! From a spanned document to a validated [`Definition`], collecting every problem on the way.
//!
//! The loader never stops at the first problem: it reports as many as it can find, the way
//! `ValidateStateMachineDefinition` does, and yields a definition only when there is no error.
//! Rules and messages follow AWS's recorded answers (see `docs/dev/validation-rules.md`).

use std::collections::{HashMap, HashSet};

use aslan_types::Timestamp;
use serde_json::Value;

use crate::choice::{ChoiceRule, Comparison, Operand, OperandType};
use crate::definition::*;
use crate::diagnostics::{Diagnostic, Diagnostics, code};
use crate::intrinsics::Intrinsic;
use crate::jsonata::Expression;
use crate::jsonpath::JsonPath;
use crate::source::{Member, Node, NodeKind, Span};
use crate::template::Template;

/// Which kind of state machine the definition is for; some rules differ for EXPRESS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineType {
    /// Durable, exactly-once executions.
    #[default]
    Standard,
    /// Short, at-least-once executions.
    Express,
}

/// What to check a definition against.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// STANDARD or EXPRESS.
    pub machine_type: MachineType,
}

/// The result of loading: a definition when there were no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The definition, when valid.
    pub definition: Option<Definition>,
    /// Everything found, errors and warnings.
    pub diagnostics: Diagnostics,
}

/// The longest state name AWS accepts.
pub const MAX_STATE_NAME_LEN: usize = 80;

/// Loads a definition from its text (JSON, JSON with comments, or YAML).
pub fn parse(text: &str, options: LoadOptions) -> Parsed {
    if text.trim().is_empty() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(Diagnostic {
            location: None,
            ..Diagnostic::schema("", "Definition must be a valid JSON object")
        });
        return Parsed {
            definition: None,
            diagnostics,
        };
    }
    match crate::source::parse_any(text) {
        Ok(node) => load(&node, options),
        Err(error) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(
                Diagnostic::error(
                    code::INVALID_JSON_DESCRIPTION,
                    "/",
                    format!("The definition is not valid JSON: {}", error.message),
                )
                .with_span(Span {
                    start: error.offset,
                    end: error.offset,
                }),
            );
            Parsed {
                definition: None,
                diagnostics,
            }
        }
    }
}

/// Loads a definition from a plain JSON value.
pub fn parse_value(value: &Value, options: LoadOptions) -> Parsed {
    load(&Node::from_value(value), options)
}

/// Loads a definition from a spanned document.
pub fn load(root: &Node, options: LoadOptions) -> Parsed {
    let mut loader = Loader {
        options,
        diagnostics: Diagnostics::default(),
        states: Vec::new(),
        scopes: Vec::new(),
        top_language: QueryLanguage::JsonPath,
        transitions: Vec::new(),
        all_names: HashSet::new(),
    };
    let definition = loader.machine(root);
    let Loader {
        mut diagnostics, ..
    } = loader;
    let definition = if diagnostics.has_errors() {
        None
    } else {
        definition
    };
    if let Some(definition) = &definition {
        crate::variables::check(definition, &mut diagnostics);
    }
    Parsed {
        definition,
        diagnostics,
    }
}

/// A reference by name to a state, resolved once every scope has its names.
struct PendingTransition {
    scope: ScopeId,
    target: String,
    pointer: String,
    span: Span,
    slot: Slot,
}

/// Where a resolved transition goes.
#[derive(Clone, Copy)]
enum Slot {
    StateNext(StateId),
    ChoiceNext(StateId, usize),
    ChoiceDefault(StateId),
    CatchNext(StateId, usize),
    ScopeStart(ScopeId),
}

struct Loader {
    options: LoadOptions,
    diagnostics: Diagnostics,
    states: Vec<State>,
    scopes: Vec<Scope>,
    top_language: QueryLanguage,
    transitions: Vec<PendingTransition>,
    /// Every state name so far: AWS wants names unique across all scopes.
    all_names: HashSet<String>,
}

/// A placeholder until transitions are resolved.
const UNRESOLVED: StateId = StateId(u32::MAX);

const TOP_FIELDS: &[&str] = &[
    "Comment",
    "StartAt",
    "States",
    "Version",
    "TimeoutSeconds",
    "QueryLanguage",
];

/// Fields of every state, by type and query language.
fn allowed_fields(state_type: &str, language: QueryLanguage) -> &'static [&'static str] {
    use QueryLanguage::*;
    match (state_type, language) {
        ("Pass", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "Result",
            "ResultPath",
            "Assign",
        ],
        ("Pass", Jsonata) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "Output",
            "Assign",
        ],
        ("Task", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        ("Task", Jsonata) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "Arguments",
            "Output",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
            "Assign",
        ],
        ("Choice", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
            "Assign",
        ],
        ("Choice", Jsonata) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Choices",
            "Default",
            "Output",
            "Assign",
        ],
        ("Wait", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        ("Wait", Jsonata) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "Seconds",
            "Timestamp",
            "Output",
            "Assign",
        ],
        ("Succeed", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "InputPath",
            "OutputPath",
        ],
        ("Succeed", Jsonata) => &["Type", "Comment", "QueryLanguage", "Output"],
        ("Fail", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Error",
            "ErrorPath",
            "Cause",
            "CausePath",
        ],
        ("Fail", Jsonata) => &["Type", "Comment", "QueryLanguage", "Error", "Cause"],
        ("Parallel", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        ("Parallel", Jsonata) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "Arguments",
            "Output",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        ("Map", JsonPath) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "Assign",
        ],
        ("Map", Jsonata) => &[
            "Type",
            "Comment",
            "QueryLanguage",
            "Next",
            "End",
            "Items",
            "ItemSelector",
            "Retry",
            "Catch",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "Label",
            "Output",
            "Assign",
        ],
        _ => &[],
    }
}

/// Fields that exist only in one query language; used to give AWS's specific message.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "Result",
    "ResultPath",
    "ResultSelector",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
];
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// Builds AWS pointers: `/States/A/Choices[0]/Next`.
fn child(pointer: &str, key: &str) -> String {
    if pointer == "/" {
        format!("/{key}")
    } else {
        format!("{pointer}/{key}")
    }
}

fn indexed(pointer: &str, key: &str, index: usize) -> String {
    format!("{}[{index}]", child(pointer, key))
}

fn language_name(language: QueryLanguage) -> &'static str {
    match language {
        QueryLanguage::JsonPath => "JSONPath",
        QueryLanguage::Jsonata => "JSONata",
    }
}

impl Loader {
    fn error(&mut self, pointer: &str, span: Span, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::schema(pointer, message).with_span(span));
    }

    fn machine(&mut self, root: &Node) -> Option<Definition> {
        let Some(members) = root.as_object() else {
            self.diagnostics.push(Diagnostic {
                location: None,
                ..Diagnostic::schema("", "Definition must be a valid JSON object")
            });
            return None;
        };
        self.check_duplicate_keys(members, "/");
        let mut missing = Vec::new();
        if root.get("States").is_none() {
            missing.push("States");
        }
        if root.get("StartAt").is_none() {
            missing.push("StartAt");
        }
        if !missing.is_empty() {
            self.error(
                "/",
                root.span,
                format!("These fields are required: [{}]", missing.join(", ")),
            );
        }
        for member in members {
            if !TOP_FIELDS.contains(&member.key.as_str()) {
                self.error(
                    "/",
                    member.key_span,
                    format!("Field '{}' is not supported", member.key),
                );
            }
        }
        let comment = self.opt_string(root, "Comment", "/");
        let version = self.opt_string(root, "Version", "/");
        if let Some(version) = &version
            && version != "1.0"
        {
            let span = root.get("Version").map_or(Span::default(), |n| n.span);
            self.error(
                "/Version",
                span,
                format!("The value '{version}' is not a supported Version; use \"1.0\""),
            );
        }
        let timeout_seconds = root.get("TimeoutSeconds").and_then(|node| {
            self.positive_integer(node, "/TimeoutSeconds", "TimeoutSeconds", 99_999_999)
        });
        let query_language = self
            .query_language(root.get("QueryLanguage"), "/QueryLanguage")
            .unwrap_or_default();
        self.top_language = query_language;

        let states_node = root.get("States");
        let start_at = root.get("StartAt");
        let _root_scope = self.scope(states_node, start_at, "/", None);
        self.resolve_transitions();
        self.check_graph();
        Some(Definition {
            reads_execution_input: mentions_context(root),
            comment,
            version,
            timeout_seconds,
            query_language,
            states: std::mem::take(&mut self.states),
            scopes: std::mem::take(&mut self.scopes),
        })
    }

    fn check_duplicate_keys(&mut self, members: &[Member], pointer: &str) {
        let mut seen = HashSet::new();
        for member in members {
            if !seen.insert(member.key.as_str()) {
                let at = child(pointer, &member.key);
                self.error(
                    &at,
                    member.key_span,
                    format!("Duplicate field '{}'", member.key),
                );
            }
        }
    }

    /// Loads one state list (`States` + `StartAt`) and returns its scope.
    fn scope(
        &mut self,
        states_node: Option<&Node>,
        start_at: Option<&Node>,
        pointer: &str,
        parent: Option<StateId>,
    ) -> ScopeId {
        let scope_id = ScopeId(self.scopes.len() as u32);
        self.scopes.push(Scope {
            start_at: UNRESOLVED,
            states: Vec::new(),
            parent,
            pointer: pointer.to_owned(),
        });
        if let Some(start) = start_at {
            self.target(
                scope_id,
                start,
                &child(pointer, "StartAt"),
                "StartAt",
                Slot::ScopeStart(scope_id),
            );
        }
        let Some(states_node) = states_node else {
            return scope_id;
        };
        let states_pointer = child(pointer, "States");
        let Some(members) = states_node.as_object() else {
            self.error(
                &states_pointer,
                states_node.span,
                format!(
                    "The field 'States' must be an object, not {}",
                    states_node.type_name()
                ),
            );
            return scope_id;
        };
        if members.is_empty() {
            self.error(
                &states_pointer,
                states_node.span,
                "The field 'States' must contain at least one state",
            );
        }
        // Names first, so that transitions inside nested scopes can be checked in any order.
        let mut seen = HashSet::new();
        let mut ids = Vec::with_capacity(members.len());
        for member in members {
            let at = child(&states_pointer, &member.key);
            if !seen.insert(member.key.as_str()) || !self.all_names.insert(member.key.clone()) {
                self.diagnostics.push(
                    Diagnostic::error(
                        code::DUPLICATE_STATE_NAME,
                        &at,
                        format!("Duplicate State name: {}", member.key),
                    )
                    .with_span(member.key_span),
                );
                ids.push(None);
                continue;
            }
            if member.key.is_empty() || member.key.chars().count() > MAX_STATE_NAME_LEN {
                self.diagnostics.push(
                    Diagnostic::error(
                        code::INVALID_STATE_NAME,
                        &at,
                        format!("Invalid State name: State exceeds the {MAX_STATE_NAME_LEN}-character limit allowed by the service"),
                    )
                    .with_span(member.key_span),
                );
            }
            let id = StateId(self.states.len() as u32);
            self.states.push(State {
                name: member.key.clone(),
                scope: scope_id,
                pointer: at,
                query_language: self.top_language,
                transition: Transition::End,
                input_path: OptionalPath::Whole,
                output_path: OptionalPath::Whole,
                output: None,
                assign: None,
                kind: StateKind::Succeed,
            });
            self.scopes[scope_id.0 as usize].states.push(id);
            ids.push(Some(id));
        }
        for (member, id) in members.iter().zip(ids) {
            if let Some(id) = id {
                self.state(id, &member.value);
            }
        }
        scope_id
    }

    fn state(&mut self, id: StateId, node: &Node) {
        let pointer = self.states[id.0 as usize].pointer.clone();
        let Some(members) = node.as_object() else {
            self.error(
                &pointer,
                node.span,
                format!("A state must be an object, not {}", node.type_name()),
            );
            return;
        };
        self.check_duplicate_keys(members, &pointer);
        let Some(type_node) = node.get("Type") else {
            self.error(&pointer, node.span, "These fields are required: [Type]");
            return;
        };
        let Some(state_type) = type_node.as_str() else {
            self.error(
                &child(&pointer, "Type"),
                type_node.span,
                "The field 'Type' must be a string",
            );
            return;
        };
        if !matches!(
            state_type,
            "Pass" | "Task" | "Choice" | "Wait" | "Succeed" | "Fail" | "Parallel" | "Map"
        ) {
            self.error(&child(&pointer, "Type"), type_node.span, format!("The value '{state_type}' is not a valid state Type; expected one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map"));
            return;
        }
        let language = match self
            .query_language(node.get("QueryLanguage"), &child(&pointer, "QueryLanguage"))
        {
            Some(QueryLanguage::JsonPath) if self.top_language == QueryLanguage::Jsonata => {
                self.error(&pointer, node.span, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine");
                QueryLanguage::Jsonata
            }
            Some(language) => language,
            None => self.top_language,
        };
        self.states[id.0 as usize].query_language = language;

        let allowed = allowed_fields(state_type, language);
        for member in members {
            let key = member.key.as_str();
            if allowed.contains(&key) {
                continue;
            }
            let other = match language {
                QueryLanguage::JsonPath => QueryLanguage::Jsonata,
                QueryLanguage::Jsonata => QueryLanguage::JsonPath,
            };
            let only_other = match other {
                QueryLanguage::Jsonata => JSONATA_ONLY.contains(&key),
                QueryLanguage::JsonPath => JSONPATH_ONLY.contains(&key),
            };
            if only_other && allowed_fields(state_type, other).contains(&key) {
                self.error(&pointer, member.key_span, format!(
                    "The QueryLanguage is set to '{}', but field '{key}' is only supported for the '{}' QueryLanguage",
                    language_name(language), language_name(other)));
            } else {
                self.error(
                    &pointer,
                    member.key_span,
                    format!("Field '{key}' is not supported"),
                );
            }
        }

        let transition = self.transition(id, state_type, node, &pointer);
        let (input_path, output_path) = if language == QueryLanguage::JsonPath {
            (
                self.optional_path(node.get("InputPath"), &pointer, "InputPath"),
                self.optional_path(node.get("OutputPath"), &pointer, "OutputPath"),
            )
        } else {
            (OptionalPath::Whole, OptionalPath::Whole)
        };
        let output = node
            .get("Output")
            .map(|n| self.template(n, &child(&pointer, "Output"), language, "Output"));
        let assign = node
            .get("Assign")
            .map(|n| self.assign(n, &child(&pointer, "Assign"), language));

        let kind = match state_type {
            "Pass" => StateKind::Pass(Pass {
                result: node.get("Result").map(Node::to_value),
                parameters: node
                    .get("Parameters")
                    .map(|n| self.parameters(n, &pointer, "Parameters", language)),
                result_path: self.result_path(node.get("ResultPath"), &pointer, "ResultPath"),
            }),
            "Task" => StateKind::Task(Box::new(self.task(id, node, &pointer, language))),
            "Choice" => StateKind::Choice(self.choice(id, node, &pointer, language)),
            "Wait" => StateKind::Wait(Wait {
                until: self.wait(node, &pointer, language),
            }),
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail(self.fail(node, &pointer, language)),
            "Parallel" => {
                StateKind::Parallel(Box::new(self.parallel(id, node, &pointer, language)))
            }
            "Map" => StateKind::Map(Box::new(self.map(id, node, &pointer, language))),
            _ => return,
        };
        let state = &mut self.states[id.0 as usize];
        state.transition = transition;
        state.input_path = input_path;
        state.output_path = output_path;
        state.output = output;
        state.assign = assign;
        state.kind = kind;
    }

    fn transition(
        &mut self,
        id: StateId,
        state_type: &str,
        node: &Node,
        pointer: &str,
    ) -> Transition {
        let next = node.get("Next");
        let end = node.get("End");
        let terminal_type = matches!(state_type, "Choice" | "Succeed" | "Fail");
        if terminal_type {
            // `Next`/`End` on these types were reported as unsupported fields already.
            return Transition::End;
        }
        let end_true = match end {
            Some(Node {
                kind: NodeKind::Bool(b),
                ..
            }) => *b,
            Some(other) => {
                self.error(
                    &child(pointer, "End"),
                    other.span,
                    format!(
                        "The field 'End' must be a boolean, not {}",
                        other.type_name()
                    ),
                );
                false
            }
            None => false,
        };
        match (next, end_true) {
            (Some(next), true) => {
                self.error(pointer, next.span, "Only one of 'Next' or 'End' can be set");
                Transition::End
            }
            (Some(next), false) => {
                let scope = self.states[id.0 as usize].scope;
                self.target(
                    scope,
                    next,
                    &child(pointer, "Next"),
                    "Next",
                    Slot::StateNext(id),
                );
                Transition::Next(UNRESOLVED)
            }
            (None, true) => Transition::End,
            (None, false) => {
                self.error(
                    pointer,
                    node.span,
                    "This state must have either a 'Next' or an 'End' field",
                );
                Transition::End
            }
        }
    }

    /// Records a transition by name (`StartAt`, `Next`, `Default`, a catcher's `Next`), to be
    /// resolved once every scope has its names.
    fn target(&mut self, scope: ScopeId, node: &Node, at: &str, field: &str, slot: Slot) {
        match node.as_str() {
            Some(target) => self.transitions.push(PendingTransition {
                scope,
                target: target.to_owned(),
                pointer: at.to_owned(),
                span: node.span,
                slot,
            }),
            None => self.error(
                at,
                node.span,
                format!(
                    "The field '{field}' must be a string, not {}",
                    node.type_name()
                ),
            ),
        }
    }

    fn query_language(&mut self, node: Option<&Node>, pointer: &str) -> Option<QueryLanguage> {
        let node = node?;
        match node.as_str() {
            Some("JSONPath") => Some(QueryLanguage::JsonPath),
            Some("JSONata") => Some(QueryLanguage::Jsonata),
            _ => {
                self.error(
                    pointer,
                    node.span,
                    "The field 'QueryLanguage' must be 'JSONPath' or 'JSONata'",
                );
                None
            }
        }
    }

    fn opt_string(&mut self, node: &Node, key: &str, pointer: &str) -> Option<String> {
        let value = node.get(key)?;
        match value.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.error(
                    &child(pointer, key),
                    value.span,
                    format!(
                        "The field '{key}' must be a string, not {}",
                        value.type_name()
                    ),
                );
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, pointer: &str, field: &str) -> Option<i64> {
        if let NodeKind::Number(n) = &node.kind {
            if let Some(i) = n.as_i64() {
                return Some(i);
            }
            if n.as_u64().is_some() {
                return Some(i64::MAX);
            }
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                return Some(f as i64);
            }
        }
        self.error(
            pointer,
            node.span,
            format!("The field '{field}' must be an integer"),
        );
        None
    }

    fn positive_integer(
        &mut self,
        node: &Node,
        pointer: &str,
        field: &str,
        max: i64,
    ) -> Option<u64> {
        let value = self.integer(node, pointer, field)?;
        if value < 1 || value > max {
            self.error(
                pointer,
                node.span,
                format!("The value of the field '{field}' must be between 1 and {max}"),
            );
            return None;
        }
        Some(value as u64)
    }

    fn path(
        &mut self,
        node: &Node,
        pointer: &str,
        field: &str,
        reference: bool,
    ) -> Option<JsonPath> {
        let Some(text) = node.as_str() else {
            self.error(
                pointer,
                node.span,
                format!(
                    "The field '{field}' must be a string, not {}",
                    node.type_name()
                ),
            );
            return None;
        };
        match JsonPath::parse(text) {
            Ok(path) if reference && !path.is_reference_path() => {
                self.error(
                    pointer,
                    node.span,
                    format!(
                        "The value for the field '{field}' must be a valid ReferencePath: '{text}'"
                    ),
                );
                None
            }
            Ok(path) => Some(path),
            Err(error) => {
                let what = if reference {
                    "ReferencePath"
                } else {
                    "JSONPath"
                };
                self.error(
                    pointer,
                    node.span,
                    format!(
                        "The value for the field '{field}' must be a valid {what}: {}",
                        error.message
                    ),
                );
                None
            }
        }
    }

    /// A reference path into the state input or a variable (not the context object).
    fn input_reference_path(
        &mut self,
        node: &Node,
        pointer: &str,
        field: &str,
    ) -> Option<JsonPath> {
        let path = self.path(node, pointer, field, true)?;
        if path.root() == &crate::jsonpath::PathRoot::Context {
            self.error(pointer, node.span, "Value is not a Reference Path");
            return None;
        }
        Some(path)
    }

    fn optional_path(&mut self, node: Option<&Node>, pointer: &str, field: &str) -> OptionalPath {
        match node {
            None => OptionalPath::Whole,
            Some(Node {
                kind: NodeKind::Null,
                ..
            }) => OptionalPath::Discard,
            Some(node) => match self.path(node, &child(pointer, field), field, false) {
                Some(path) => OptionalPath::Path(path),
                None => OptionalPath::Whole,
            },
        }
    }

    fn result_path(&mut self, node: Option<&Node>, pointer: &str, field: &str) -> ResultPath {
        match node {
            None => ResultPath::Replace,
            Some(Node {
                kind: NodeKind::Null,
                ..
            }) => ResultPath::Discard,
            Some(node) => match self.path(node, &child(pointer, field), field, true) {
                Some(path) if path.root() != &crate::jsonpath::PathRoot::Input => {
                    self.error(
                        &child(pointer, field),
                        node.span,
                        format!("The value for the field '{field}' must start with '$'"),
                    );
                    ResultPath::Replace
                }
                Some(path) => ResultPath::Path(path),
                None => ResultPath::Replace,
            },
        }
    }

    /// `Parameters`, `ItemSelector`, `ResultSelector`, `Arguments` at `pointer/field`.
    fn parameters(
        &mut self,
        node: &Node,
        pointer: &str,
        field: &str,
        language: QueryLanguage,
    ) -> Template {
        let at = child(pointer, field);
        if language == QueryLanguage::JsonPath && node.as_object().is_none() {
            self.error(
                &at,
                node.span,
                format!(
                    "The field '{field}' must be an object, not {}",
                    node.type_name()
                ),
            );
            return Template::Const(Value::Null);
        }
        self.template(node, &at, language, field)
    }

    /// Compiles any template. `at` is where errors are reported (AWS names the top field).
    fn template(
        &mut self,
        node: &Node,
        at: &str,
        language: QueryLanguage,
        field: &str,
    ) -> Template {
        self.template_depth(node, at, language, field, 0)
    }

    fn template_depth(
        &mut self,
        node: &Node,
        at: &str,
        language: QueryLanguage,
        field: &str,
        depth: usize,
    ) -> Template {
        if depth > crate::source::MAX_DEPTH {
            self.error(
                at,
                node.span,
                format!("The field '{field}' nests too deeply"),
            );
            return Template::Const(Value::Null);
        }
        match (&node.kind, language) {
            (NodeKind::Object(members), _) => {
                self.check_duplicate_keys(members, at);
                let mut out = Vec::with_capacity(members.len());
                for member in members {
                    if language == QueryLanguage::JsonPath
                        && let Some(key) = member.key.strip_suffix(".$")
                    {
                        let compiled = self.dynamic_value(&member.value, at, &member.key);
                        out.push((key.to_owned(), compiled));
                        continue;
                    }
                    let compiled = self.template_depth(
                        &member.value,
                        &child(at, &member.key),
                        language,
                        field,
                        depth + 1,
                    );
                    out.push((member.key.clone(), compiled));
                }
                if out.iter().all(|(_, t)| t.is_const()) {
                    let map = out
                        .into_iter()
                        .map(|(k, t)| match t {
                            Template::Const(v) => (k, v),
                            _ => (k, Value::Null),
                        })
                        .collect();
                    Template::Const(Value::Object(map))
                } else {
                    Template::Object(out)
                }
            }
            (NodeKind::Array(items), _) => {
                let compiled: Vec<Template> = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| {
                        self.template_depth(
                            item,
                            &format!("{at}[{index}]"),
                            language,
                            field,
                            depth + 1,
                        )
                    })
                    .collect();
                if compiled.iter().all(Template::is_const) {
                    Template::Const(Value::Array(
                        compiled
                            .into_iter()
                            .map(|t| match t {
                                Template::Const(v) => v,
                                _ => Value::Null,
                            })
                            .collect(),
                    ))
                } else {
                    Template::Array(compiled)
                }
            }
            (NodeKind::String(s), QueryLanguage::Jsonata) => match Expression::recognise(s) {
                Some(expression) => {
                    self.check_expression(&expression, at, node.span);
                    Template::Expression(expression)
                }
                None => Template::Const(node.to_value()),
            },
            _ => Template::Const(node.to_value()),
        }
    }

    fn check_expression(&mut self, expression: &Expression, at: &str, span: Span) {
        for (code, message) in expression.problems() {
            self.diagnostics
                .push(Diagnostic::error(code, at, message).with_span(span));
        }
        // Only a catcher has an error output to read.
        if expression.source().contains("$states.errorOutput") && !at.contains("/Catch[") {
            self.diagnostics.push(
                Diagnostic::error(
                    code::UNSUPPORTED_JSONATA_EXPRESSION,
                    at,
                    "Field '$states.errorOutput' does not exist.",
                )
                .with_span(span),
            );
        }
    }

    /// The value of a `.$` key: a path, a context path, a variable or an intrinsic call.
    fn dynamic_value(&mut self, node: &Node, at: &str, key: &str) -> Template {
        let Some(text) = node.as_str() else {
            self.error(at, node.span, format!("The value for the field '{key}' must be a STRING that contains a JSONPath but was an {}", node.type_name().to_uppercase()));
            return Template::Const(Value::Null);
        };
        if text.starts_with('$') {
            if let Ok(path) = JsonPath::parse(text) {
                return Template::Path(path);
            }
        } else if Intrinsic::looks_like_call(text)
            && let Ok(call) = Intrinsic::parse(text)
        {
            return Template::Intrinsic(Box::new(call));
        }
        self.error(at, node.span, format!("The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"));
        Template::Const(Value::Null)
    }

    fn assign(&mut self, node: &Node, at: &str, language: QueryLanguage) -> Template {
        let Some(members) = node.as_object() else {
            if language == QueryLanguage::Jsonata
                && let Some(expression) = node.as_str().and_then(Expression::recognise)
            {
                self.check_expression(&expression, at, node.span);
                return Template::Expression(expression);
            }
            self.error(
                at,
                node.span,
                format!(
                    "The field 'Assign' must be an object, not {}",
                    node.type_name()
                ),
            );
            return Template::Const(Value::Object(Default::default()));
        };
        for member in members {
            let name = member.key.strip_suffix(".$").unwrap_or(&member.key);
            if !is_variable_name(name) {
                self.error(at, member.key_span, format!("The variable name '{name}' is not valid: it must start with a letter or '_' and contain only letters, digits and '_'"));
            }
        }
        self.template(node, at, language, "Assign")
    }

    fn seconds(
        &mut self,
        fixed: Option<&Node>,
        path: Option<&Node>,
        pointer: &str,
        field: &str,
        language: QueryLanguage,
    ) -> Option<Seconds> {
        match (fixed, path) {
            (Some(_), Some(path_node)) => {
                self.error(
                    pointer,
                    path_node.span,
                    format!("Only one of '{field}' or '{field}Path' can be set"),
                );
                None
            }
            (Some(fixed_node), None) => {
                if language == QueryLanguage::Jsonata
                    && let Some(expression) = fixed_node.as_str().and_then(Expression::recognise)
                {
                    self.check_expression(&expression, &child(pointer, field), fixed_node.span);
                    return Some(Seconds::Expression(expression));
                }
                self.positive_integer(fixed_node, &child(pointer, field), field, 99_999_999)
                    .map(Seconds::Fixed)
            }
            (None, Some(path_node)) => {
                let field_path = format!("{field}Path");
                self.path(path_node, &child(pointer, &field_path), &field_path, false)
                    .map(Seconds::Path)
            }
            (None, None) => None,
        }
    }

    fn task(&mut self, id: StateId, node: &Node, pointer: &str, language: QueryLanguage) -> Task {
        let resource = match node.get("Resource") {
            None => {
                self.error(pointer, node.span, "These fields are required: [Resource]");
                Resource {
                    arn: String::new(),
                    kind: ResourceKind::Other,
                    pattern: IntegrationPattern::RequestResponse,
                }
            }
            Some(r) => match r.as_str() {
                Some(arn) => {
                    let resource = classify_resource(arn);
                    self.check_resource(&resource, &child(pointer, "Resource"), r.span);
                    resource
                }
                None => {
                    self.error(
                        &child(pointer, "Resource"),
                        r.span,
                        "The field 'Resource' must be a string",
                    );
                    Resource {
                        arn: String::new(),
                        kind: ResourceKind::Other,
                        pattern: IntegrationPattern::RequestResponse,
                    }
                }
            },
        };
        let parameter_field = if language == QueryLanguage::Jsonata {
            "Arguments"
        } else {
            "Parameters"
        };
        let parameters = node
            .get(parameter_field)
            .map(|n| self.parameters(n, pointer, parameter_field, language));
        let result_selector = node
            .get("ResultSelector")
            .map(|n| self.parameters(n, pointer, "ResultSelector", language));
        let result_path = self.result_path(node.get("ResultPath"), pointer, "ResultPath");
        let timeout = self.seconds(
            node.get("TimeoutSeconds"),
            node.get("TimeoutSecondsPath"),
            pointer,
            "TimeoutSeconds",
            language,
        );
        let heartbeat = self.seconds(
            node.get("HeartbeatSeconds"),
            node.get("HeartbeatSecondsPath"),
            pointer,
            "HeartbeatSeconds",
            language,
        );
        if let (Some(Seconds::Fixed(timeout)), Some(Seconds::Fixed(heartbeat))) =
            (&timeout, &heartbeat)
            && heartbeat >= timeout
        {
            let span = node.get("HeartbeatSeconds").map_or(node.span, |n| n.span);
            self.error(
                &child(pointer, "HeartbeatSeconds"),
                span,
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
        let credentials = node.get("Credentials").map(|n| {
            let at = child(pointer, "Credentials");
            if n.as_object().is_some() && n.get("RoleArn").is_none() && n.get("RoleArn.$").is_none()
            {
                self.error(
                    &at,
                    n.span,
                    "The field 'RoleArn' is required but was missing",
                );
            }
            self.template(n, &at, language, "Credentials")
        });
        let retry = self.retriers(node.get("Retry"), pointer);
        let catch = self.catchers(id, node.get("Catch"), pointer, language);
        Task {
            resource,
            parameters,
            result_selector,
            result_path,
            timeout,
            heartbeat,
            credentials,
            retry,
            catch,
        }
    }

    fn check_resource(&mut self, resource: &Resource, at: &str, span: Span) {
        if resource.arn.is_empty() {
            self.error(at, span, "The field 'Resource' must not be empty");
            return;
        }
        if self.options.machine_type == MachineType::Express {
            if resource.kind == ResourceKind::Activity {
                self.error(
                    at,
                    span,
                    "Express state machine does not support Activity ARN",
                );
            }
            match resource.pattern {
                IntegrationPattern::WaitForTaskToken => {
                    self.error(at, span, "Express state machine does not support '.waitForTaskToken' service integration ")
                }
                IntegrationPattern::Sync | IntegrationPattern::Sync2 => {
                    self.error(at, span, "Express state machine does not support '.sync' service integration ")
                }
                IntegrationPattern::RequestResponse => {}
            }
        }
    }

    fn retriers(&mut self, node: Option<&Node>, pointer: &str) -> Vec<Retrier> {
        let Some(node) = node else { return Vec::new() };
        let Some(items) = self.array(node, &child(pointer, "Retry"), "Retry") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let count = items.len();
        for (index, item) in items.iter().enumerate() {
            let at = indexed(pointer, "Retry", index);
            if item.as_object().is_none() {
                self.error(&at, item.span, "A retrier must be an object");
                continue;
            }
            for member in item.as_object().unwrap_or_default() {
                if ![
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ]
                .contains(&member.key.as_str())
                {
                    self.error(
                        &at,
                        member.key_span,
                        format!("Field '{}' is not supported", member.key),
                    );
                }
            }
            let Some(errors) = self.error_equals(item, &at, index, count, "Retry") else {
                continue;
            };
            let interval_seconds = match item.get("IntervalSeconds") {
                None => 1,
                Some(n) => self
                    .positive_integer(
                        n,
                        &child(&at, "IntervalSeconds"),
                        "IntervalSeconds",
                        99_999_999,
                    )
                    .unwrap_or(1),
            };
            let max_attempts = match item.get("MaxAttempts") {
                None => 3,
                Some(n) => {
                    match self.integer(n, &child(&at, "MaxAttempts"), "MaxAttempts") {
                        Some(v) if (0..=99_999_999).contains(&v) => v as u32,
                        Some(_) => {
                            self.error(&child(&at, "MaxAttempts"), n.span, "The value of the field 'MaxAttempts' must be between 0 and 99999999");
                            3
                        }
                        None => 3,
                    }
                }
            };
            let backoff_rate = match item.get("BackoffRate") {
                None => 2.0,
                Some(n) => match &n.kind {
                    NodeKind::Number(num) if num.as_f64().is_some_and(|f| f >= 1.0) => {
                        num.as_f64().unwrap_or(2.0)
                    }
                    _ => {
                        self.error(&child(&at, "BackoffRate"), n.span, "The value of the field 'BackoffRate' must be a number greater than or equal to 1.0");
                        2.0
                    }
                },
            };
            let max_delay_seconds = item.get("MaxDelaySeconds").and_then(|n| {
                self.positive_integer(
                    n,
                    &child(&at, "MaxDelaySeconds"),
                    "MaxDelaySeconds",
                    31_622_400,
                )
            });
            let jitter_full = match item.get("JitterStrategy") {
                None => false,
                Some(n) => match n.as_str() {
                    Some("FULL") => true,
                    Some("NONE") => false,
                    _ => {
                        self.error(
                            &child(&at, "JitterStrategy"),
                            n.span,
                            "The field 'JitterStrategy' must be 'FULL' or 'NONE'",
                        );
                        false
                    }
                },
            };
            out.push(Retrier {
                errors,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter_full,
            });
        }
        out
    }

    fn array<'n>(&mut self, node: &'n Node, at: &str, field: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Array(items) => Some(items),
            _ => {
                self.error(
                    at,
                    node.span,
                    format!(
                        "The field '{field}' must be an array, not {}",
                        node.type_name()
                    ),
                );
                None
            }
        }
    }

    fn error_equals(
        &mut self,
        item: &Node,
        at: &str,
        index: usize,
        count: usize,
        field: &str,
    ) -> Option<ErrorMatcher> {
        let Some(list) = item.get("ErrorEquals") else {
            self.error(at, item.span, "These fields are required: [ErrorEquals]");
            return None;
        };
        let items = self.array(list, &child(at, "ErrorEquals"), "ErrorEquals")?;
        if items.is_empty() {
            self.error(
                &child(at, "ErrorEquals"),
                list.span,
                "The field 'ErrorEquals' must contain at least one error name",
            );
            return None;
        }
        let mut names = Vec::new();
        for name in items {
            match name.as_str() {
                Some(s) => names.push(s.to_owned()),
                None => self.error(
                    &child(at, "ErrorEquals"),
                    name.span,
                    "Error names must be strings",
                ),
            }
        }
        if names.iter().any(|n| n == "States.ALL") {
            if names.len() > 1 {
                self.error(
                    &child(at, "ErrorEquals"),
                    list.span,
                    "States.ALL must appear alone in ErrorEquals",
                );
            } else if index + 1 != count {
                self.error(
                    &child(at, "ErrorEquals"),
                    list.span,
                    format!(
                        "States.ALL must be in the last {} element",
                        if field == "Retry" {
                            "retrier"
                        } else {
                            "catcher"
                        }
                    ),
                );
            }
        }
        Some(ErrorMatcher { names })
    }

    fn catchers(
        &mut self,
        id: StateId,
        node: Option<&Node>,
        pointer: &str,
        language: QueryLanguage,
    ) -> Vec<Catcher> {
        let Some(node) = node else { return Vec::new() };
        let Some(items) = self.array(node, &child(pointer, "Catch"), "Catch") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let count = items.len();
        for (index, item) in items.iter().enumerate() {
            let at = indexed(pointer, "Catch", index);
            let Some(members) = item.as_object() else {
                self.error(&at, item.span, "A catcher must be an object");
                continue;
            };
            let allowed: &[&str] = match language {
                QueryLanguage::JsonPath => {
                    &["ErrorEquals", "Next", "ResultPath", "Comment", "Assign"]
                }
                QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Comment", "Assign"],
            };
            for member in members {
                if !allowed.contains(&member.key.as_str()) {
                    self.error(
                        &at,
                        member.key_span,
                        format!("Field '{}' is not supported", member.key),
                    );
                }
            }
            let errors = self.error_equals(item, &at, index, count, "Catch");
            match item.get("Next") {
                Some(next) => {
                    let scope = self.states[id.0 as usize].scope;
                    self.target(
                        scope,
                        next,
                        &child(&at, "Next"),
                        "Next",
                        Slot::CatchNext(id, out.len()),
                    );
                }
                None => self.error(&at, item.span, "These fields are required: [Next]"),
            }
            let result_path = if language == QueryLanguage::JsonPath {
                self.result_path(item.get("ResultPath"), &at, "ResultPath")
            } else {
                ResultPath::Replace
            };
            let assign = item
                .get("Assign")
                .map(|n| self.assign(n, &child(&at, "Assign"), language));
            let output = item
                .get("Output")
                .map(|n| self.template(n, &child(&at, "Output"), language, "Output"));
            if let Some(errors) = errors {
                out.push(Catcher {
                    errors,
                    next: UNRESOLVED,
                    result_path,
                    assign,
                    output,
                });
            } else {
                out.push(Catcher {
                    errors: ErrorMatcher { names: Vec::new() },
                    next: UNRESOLVED,
                    result_path,
                    assign,
                    output,
                });
            }
        }
        out
    }

    fn choice(
        &mut self,
        id: StateId,
        node: &Node,
        pointer: &str,
        language: QueryLanguage,
    ) -> Choice {
        let mut choices = Vec::new();
        match node.get("Choices") {
            None => self.error(pointer, node.span, "These fields are required: [Choices]"),
            Some(list) => {
                if let Some(items) = self.array(list, &child(pointer, "Choices"), "Choices") {
                    if items.is_empty() {
                        self.error(
                            &child(pointer, "Choices"),
                            list.span,
                            "The field 'Choices' must contain at least one rule",
                        );
                    }
                    for (index, item) in items.iter().enumerate() {
                        let at = indexed(pointer, "Choices", index);
                        let rule = self.choice_rule(item, &at, language, true, 0);
                        match item.get("Next") {
                            Some(next) => {
                                let scope = self.states[id.0 as usize].scope;
                                let slot = Slot::ChoiceNext(id, choices.len());
                                self.target(scope, next, &child(&at, "Next"), "Next", slot);
                            }
                            None => self.error(&at, item.span, "These fields are required: [Next]"),
                        }
                        let assign = item
                            .get("Assign")
                            .map(|n| self.assign(n, &child(&at, "Assign"), language));
                        let output = item
                            .get("Output")
                            .map(|n| self.template(n, &child(&at, "Output"), language, "Output"));
                        choices.push(ChoiceBranch {
                            rule: rule.unwrap_or(ChoiceRule::And(Vec::new())),
                            next: UNRESOLVED,
                            assign,
                            output,
                        });
                    }
                }
            }
        }
        if let Some(default) = node.get("Default") {
            let scope = self.states[id.0 as usize].scope;
            self.target(
                scope,
                default,
                &child(pointer, "Default"),
                "Default",
                Slot::ChoiceDefault(id),
            );
        }
        Choice {
            choices,
            default: None,
        }
    }

    fn choice_rule(
        &mut self,
        node: &Node,
        at: &str,
        language: QueryLanguage,
        top: bool,
        depth: usize,
    ) -> Option<ChoiceRule> {
        if depth > 64 {
            self.error(at, node.span, "Choice rules nest too deeply");
            return None;
        }
        let Some(members) = node.as_object() else {
            self.error(at, node.span, "A choice rule must be an object");
            return None;
        };
        if language == QueryLanguage::Jsonata {
            for member in members {
                let ok = matches!(member.key.as_str(), "Condition" | "Comment")
                    || (top && matches!(member.key.as_str(), "Next" | "Assign" | "Output"));
                if !ok {
                    self.error(
                        at,
                        member.key_span,
                        format!("Field '{}' is not supported", member.key),
                    );
                }
            }
            return match node.get("Condition") {
                None => {
                    self.error(at, node.span, "These fields are required: [Condition]");
                    None
                }
                Some(condition) => match &condition.kind {
                    NodeKind::Bool(_) => {
                        Some(ChoiceRule::Condition(Template::Const(condition.to_value())))
                    }
                    NodeKind::String(s) => match Expression::recognise(s) {
                        Some(expression) => {
                            self.check_expression(
                                &expression,
                                &child(at, "Condition"),
                                condition.span,
                            );
                            Some(ChoiceRule::Condition(Template::Expression(expression)))
                        }
                        None => {
                            self.error(&child(at, "Condition"), condition.span, "The field 'Condition' must be a JSONata expression '{% ... %}' or a boolean");
                            None
                        }
                    },
                    _ => {
                        self.error(&child(at, "Condition"), condition.span, "The field 'Condition' must be a JSONata expression '{% ... %}' or a boolean");
                        None
                    }
                },
            };
        }
        let mut operators = Vec::new();
        let mut variable = None;
        for member in members {
            let key = member.key.as_str();
            match key {
                "Variable" => variable = Some(&member.value),
                "Comment" => {}
                "Next" | "Assign" if top => {}
                "And" | "Or" | "Not" => operators.push(member),
                _ => match Comparison::from_field(key) {
                    Some(_) => operators.push(member),
                    None => self.error(
                        at,
                        member.key_span,
                        format!("Field '{key}' is not supported"),
                    ),
                },
            }
        }
        if operators.len() != 1 {
            if operators.is_empty() {
                self.error(
                    at,
                    node.span,
                    "A choice rule must have exactly one comparison operator or And, Or, Not",
                );
            } else {
                self.error(
                    at,
                    operators[1].key_span,
                    "A choice rule must have exactly one comparison operator or And, Or, Not",
                );
            }
            return None;
        }
        let operator = operators[0];
        let op_at = child(at, &operator.key);
        match operator.key.as_str() {
            "And" | "Or" => {
                if variable.is_some() {
                    self.error(
                        at,
                        node.span,
                        format!("Field 'Variable' is not supported with '{}'", operator.key),
                    );
                }
                let items = self.array(&operator.value, &op_at, &operator.key)?;
                if items.is_empty() {
                    self.error(
                        &op_at,
                        operator.value.span,
                        format!(
                            "The field '{}' must contain at least one rule",
                            operator.key
                        ),
                    );
                    return None;
                }
                let mut rules = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    if let Some(rule) = self.choice_rule(
                        item,
                        &indexed(at, &operator.key, index),
                        language,
                        false,
                        depth + 1,
                    ) {
                        rules.push(rule);
                    }
                }
                if rules.len() != items.len() {
                    return None;
                }
                Some(if operator.key == "And" {
                    ChoiceRule::And(rules)
                } else {
                    ChoiceRule::Or(rules)
                })
            }
            "Not" => {
                if variable.is_some() {
                    self.error(
                        at,
                        node.span,
                        "Field 'Variable' is not supported with 'Not'",
                    );
                }
                if operator.value.as_object().is_none() {
                    self.error(
                        &op_at,
                        operator.value.span,
                        "The field 'Not' must be an object",
                    );
                    return None;
                }
                let rule = self.choice_rule(&operator.value, &op_at, language, false, depth + 1)?;
                Some(ChoiceRule::Not(Box::new(rule)))
            }
            key => {
                let (op, is_path) = Comparison::from_field(key)?;
                let Some(variable_node) = variable else {
                    self.error(at, node.span, "These fields are required: [Variable]");
                    return None;
                };
                let variable =
                    self.path(variable_node, &child(at, "Variable"), "Variable", false)?;
                let value = &operator.value;
                let operand = if is_path {
                    Operand::Path(self.path(value, &op_at, key, false)?)
                } else {
                    let ok = match op.operand_type() {
                        OperandType::String => value.as_str().is_some(),
                        OperandType::Number => matches!(value.kind, NodeKind::Number(_)),
                        OperandType::Boolean => matches!(value.kind, NodeKind::Bool(_)),
                        OperandType::Timestamp => value.as_str().is_some(),
                    };
                    if !ok {
                        let expected = match op.operand_type() {
                            OperandType::String | OperandType::Timestamp => "string",
                            OperandType::Number => "number",
                            OperandType::Boolean => "boolean",
                        };
                        self.error(
                            &op_at,
                            value.span,
                            format!(
                                "The value of the field '{key}' must be a {expected}, not {}",
                                value.type_name()
                            ),
                        );
                        return None;
                    }
                    if op.operand_type() == OperandType::Timestamp {
                        let text = value.as_str().unwrap_or_default();
                        match Timestamp::parse_rfc3339(text) {
                            Ok(t) => Operand::Timestamp(t),
                            Err(_) => {
                                self.error(
                                    &op_at,
                                    value.span,
                                    "String does not match RFC3339 timestamp",
                                );
                                return None;
                            }
                        }
                    } else {
                        Operand::Literal(value.to_value())
                    }
                };
                Some(ChoiceRule::Compare {
                    variable,
                    op,
                    operand,
                })
            }
        }
    }

    fn wait(&mut self, node: &Node, pointer: &str, language: QueryLanguage) -> WaitUntil {
        let fields = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"];
        let present: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| node.get(f).is_some())
            .collect();
        if present.len() != 1 {
            if present.is_empty() {
                self.error(pointer, node.span, "A Wait state must have exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath'");
            } else {
                self.error(pointer, node.span, format!("A Wait state must have exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath', but has {}", present.join(", ")));
            }
            return WaitUntil::Seconds(Seconds::Fixed(0));
        }
        let field = present[0];
        let value = node.get(field).unwrap_or(node);
        let at = child(pointer, field);
        match field {
            "Seconds" => {
                if language == QueryLanguage::Jsonata
                    && let Some(expression) = value.as_str().and_then(Expression::recognise)
                {
                    self.check_expression(&expression, &at, value.span);
                    return WaitUntil::Seconds(Seconds::Expression(expression));
                }
                match self.integer(value, &at, "Seconds") {
                    Some(v) if (0..=99_999_999).contains(&v) => {
                        WaitUntil::Seconds(Seconds::Fixed(v as u64))
                    }
                    Some(_) => {
                        self.error(
                            &at,
                            value.span,
                            "The value of the field 'Seconds' must be between 0 and 99999999",
                        );
                        WaitUntil::Seconds(Seconds::Fixed(0))
                    }
                    None => WaitUntil::Seconds(Seconds::Fixed(0)),
                }
            }
            "SecondsPath" => match self.path(value, &at, "SecondsPath", false) {
                Some(path) => WaitUntil::Seconds(Seconds::Path(path)),
                None => WaitUntil::Seconds(Seconds::Fixed(0)),
            },
            "Timestamp" => {
                let Some(text) = value.as_str() else {
                    self.error(&at, value.span, "The field 'Timestamp' must be a string");
                    return WaitUntil::Seconds(Seconds::Fixed(0));
                };
                if language == QueryLanguage::Jsonata
                    && let Some(expression) = Expression::recognise(text)
                {
                    self.check_expression(&expression, &at, value.span);
                    return WaitUntil::TimestampExpression(expression);
                }
                match Timestamp::parse_rfc3339(text) {
                    Ok(t) => WaitUntil::Timestamp(t.as_millis()),
                    Err(_) => {
                        self.error(&at, value.span, "String does not match RFC3339 timestamp");
                        WaitUntil::Seconds(Seconds::Fixed(0))
                    }
                }
            }
            _ => match self.path(value, &at, "TimestampPath", false) {
                Some(path) => WaitUntil::TimestampPath(path),
                None => WaitUntil::Seconds(Seconds::Fixed(0)),
            },
        }
    }

    fn fail(&mut self, node: &Node, pointer: &str, language: QueryLanguage) -> Fail {
        let error = self.fail_text(node, pointer, "Error", language);
        let cause = self.fail_text(node, pointer, "Cause", language);
        Fail { error, cause }
    }

    fn fail_text(
        &mut self,
        node: &Node,
        pointer: &str,
        field: &str,
        language: QueryLanguage,
    ) -> Option<Text> {
        let path_field = format!("{field}Path");
        match (node.get(field), node.get(&path_field)) {
            (Some(_), Some(p)) => {
                self.error(
                    pointer,
                    p.span,
                    format!("Only one of '{field}' or '{path_field}' can be set"),
                );
                None
            }
            (Some(v), None) => match v.as_str() {
                Some(s) => {
                    if language == QueryLanguage::Jsonata
                        && let Some(expression) = Expression::recognise(s)
                    {
                        self.check_expression(&expression, &child(pointer, field), v.span);
                        return Some(Text::Expression(expression));
                    }
                    Some(Text::Literal(s.to_owned()))
                }
                None => {
                    self.error(
                        &child(pointer, field),
                        v.span,
                        format!("The field '{field}' must be a string"),
                    );
                    None
                }
            },
            (None, Some(p)) => {
                let at = child(pointer, &path_field);
                let Some(text) = p.as_str() else {
                    self.error(&at, p.span, "Expected value of type [STRING]");
                    return None;
                };
                if Intrinsic::looks_like_call(text) {
                    match Intrinsic::parse(text) {
                        Ok(call) => Some(Text::Intrinsic(Box::new(call))),
                        Err(e) => {
                            self.error(&at, p.span, format!("The value for the field '{path_field}' must be a valid JSONPath or a valid intrinsic function call: {}", e.message));
                            None
                        }
                    }
                } else {
                    self.path(p, &at, &path_field, false).map(Text::Path)
                }
            }
            (None, None) => None,
        }
    }

    fn parallel(
        &mut self,
        id: StateId,
        node: &Node,
        pointer: &str,
        language: QueryLanguage,
    ) -> Parallel {
        let mut branches = Vec::new();
        match node.get("Branches") {
            None => self.error(pointer, node.span, "These fields are required: [Branches]"),
            Some(list) => {
                if let Some(items) = self.array(list, &child(pointer, "Branches"), "Branches") {
                    if items.is_empty() {
                        self.error(
                            &child(pointer, "Branches"),
                            list.span,
                            "The field 'Branches' must contain at least one branch",
                        );
                    }
                    for (index, item) in items.iter().enumerate() {
                        let at = indexed(pointer, "Branches", index);
                        branches.push(self.sub_machine(id, item, &at, false));
                    }
                }
            }
        }
        let parameter_field = if language == QueryLanguage::Jsonata {
            "Arguments"
        } else {
            "Parameters"
        };
        Parallel {
            branches,
            parameters: node
                .get(parameter_field)
                .map(|n| self.parameters(n, pointer, parameter_field, language)),
            result_selector: node
                .get("ResultSelector")
                .map(|n| self.parameters(n, pointer, "ResultSelector", language)),
            result_path: self.result_path(node.get("ResultPath"), pointer, "ResultPath"),
            retry: self.retriers(node.get("Retry"), pointer),
            catch: self.catchers(id, node.get("Catch"), pointer, language),
        }
    }

    /// A Parallel branch or a Map processor.
    fn sub_machine(
        &mut self,
        owner: StateId,
        node: &Node,
        at: &str,
        is_processor: bool,
    ) -> ScopeId {
        let Some(members) = node.as_object() else {
            self.error(
                at,
                node.span,
                format!("A branch must be an object, not {}", node.type_name()),
            );
            return self.scope(None, None, at, Some(owner));
        };
        let mut missing = Vec::new();
        if node.get("States").is_none() {
            missing.push("States");
        }
        if node.get("StartAt").is_none() {
            missing.push("StartAt");
        }
        if !missing.is_empty() {
            self.error(
                at,
                node.span,
                format!("These fields are required: [{}]", missing.join(", ")),
            );
        }
        for member in members {
            let ok = match member.key.as_str() {
                "StartAt" | "States" | "Comment" => true,
                "ProcessorConfig" => is_processor,
                _ => false,
            };
            if !ok {
                self.error(
                    at,
                    member.key_span,
                    format!("Field '{}' is not supported", member.key),
                );
            }
        }
        self.scope(node.get("States"), node.get("StartAt"), at, Some(owner))
    }

    fn map(&mut self, id: StateId, node: &Node, pointer: &str, language: QueryLanguage) -> Map {
        let processor_node = match (node.get("ItemProcessor"), node.get("Iterator")) {
            (Some(p), Some(_)) => {
                self.error(
                    pointer,
                    p.span,
                    "Only one of 'ItemProcessor' or 'Iterator' can be set",
                );
                Some(("ItemProcessor", p))
            }
            (Some(p), None) => Some(("ItemProcessor", p)),
            (None, Some(i)) => Some(("Iterator", i)),
            (None, None) => {
                self.error(
                    pointer,
                    node.span,
                    "These fields are required: [ItemProcessor]",
                );
                None
            }
        };
        let mut mode = MapMode::Inline;
        let processor = match processor_node {
            Some((field, p)) => {
                let at = child(pointer, field);
                if let Some(config) = p.get("ProcessorConfig") {
                    let config_at = child(&at, "ProcessorConfig");
                    match config.get("Mode").map(|m| m.as_str()) {
                        None | Some(Some("INLINE")) => {}
                        Some(Some("DISTRIBUTED")) => {
                            mode = MapMode::Distributed;
                            if self.options.machine_type == MachineType::Express {
                                self.error(&child(&config_at, "Mode"), config.span, "The field 'Mode' with value 'DISTRIBUTED' is not supported inside 'EXPRESS' state machines");
                            }
                            if config.get("ExecutionType").is_none() {
                                self.error(
                                    &config_at,
                                    config.span,
                                    "These fields are required: [ExecutionType]",
                                );
                            }
                        }
                        Some(_) => self.error(
                            &child(&config_at, "Mode"),
                            config.span,
                            "The field 'Mode' must be 'INLINE' or 'DISTRIBUTED'",
                        ),
                    }
                    if let Some(t) = config.get("ExecutionType")
                        && !matches!(t.as_str(), Some("STANDARD" | "EXPRESS"))
                    {
                        self.error(
                            &child(&config_at, "ExecutionType"),
                            t.span,
                            "The field 'ExecutionType' must be 'STANDARD' or 'EXPRESS'",
                        );
                    }
                }
                if p.get("QueryLanguage").is_some() {
                    self.error(&at, p.span, "Field 'QueryLanguage' is not supported");
                }
                self.sub_machine(id, p, &at, true)
            }
            None => self.scope(None, None, pointer, Some(id)),
        };
        let items = match language {
            QueryLanguage::JsonPath => match node.get("ItemsPath") {
                None => ItemsSource::Path(dollar()),
                Some(p) => match self.path(p, &child(pointer, "ItemsPath"), "ItemsPath", true) {
                    Some(path) => ItemsSource::Path(path),
                    None => ItemsSource::Path(dollar()),
                },
            },
            QueryLanguage::Jsonata => match node.get("Items") {
                None => ItemsSource::Path(dollar()),
                Some(n) => {
                    let template = self.template(n, &child(pointer, "Items"), language, "Items");
                    if let Template::Const(v) = &template
                        && !v.is_array()
                    {
                        self.error(
                            &child(pointer, "Items"),
                            n.span,
                            "The field 'Items' must be an array or a JSONata expression",
                        );
                    }
                    ItemsSource::Items(template)
                }
            },
        };
        let item_selector = match (node.get("ItemSelector"), node.get("Parameters")) {
            (Some(s), Some(_)) => {
                self.error(
                    pointer,
                    s.span,
                    "Only one of 'ItemSelector' or 'Parameters' can be set",
                );
                None
            }
            (Some(_), None) => Some(self.parameters(
                node.get("ItemSelector").unwrap_or(node),
                pointer,
                "ItemSelector",
                language,
            )),
            (None, Some(p)) => Some(self.parameters(p, pointer, "Parameters", language)),
            (None, None) => None,
        };
        let max_concurrency = match (node.get("MaxConcurrency"), node.get("MaxConcurrencyPath")) {
            (Some(_), Some(p)) => {
                self.error(
                    pointer,
                    p.span,
                    "Only one of 'MaxConcurrency' or 'MaxConcurrencyPath' can be set",
                );
                MaxConcurrency::Fixed(0)
            }
            (Some(m), None) => {
                if let Some(expression) = (language == QueryLanguage::Jsonata)
                    .then(|| m.as_str().and_then(Expression::recognise))
                    .flatten()
                {
                    self.check_expression(&expression, &child(pointer, "MaxConcurrency"), m.span);
                    MaxConcurrency::Expression(expression)
                } else {
                    match self.integer(m, &child(pointer, "MaxConcurrency"), "MaxConcurrency") {
                        Some(v) if v >= 0 => {
                            MaxConcurrency::Fixed(u32::try_from(v).unwrap_or(u32::MAX))
                        }
                        Some(_) => {
                            self.error(
                                &child(pointer, "MaxConcurrency"),
                                m.span,
                                "The value of the field 'MaxConcurrency' must not be negative",
                            );
                            MaxConcurrency::Fixed(0)
                        }
                        None => MaxConcurrency::Fixed(0),
                    }
                }
            }
            (None, Some(p)) => match self.input_reference_path(
                p,
                &child(pointer, "MaxConcurrencyPath"),
                "MaxConcurrencyPath",
            ) {
                Some(path) => MaxConcurrency::Path(path),
                None => MaxConcurrency::Fixed(0),
            },
            (None, None) => MaxConcurrency::Fixed(0),
        };
        let tolerated_failure_percentage = self.tolerance(
            node,
            pointer,
            "ToleratedFailurePercentage",
            language,
            Some(100.0),
        );
        let tolerated_failure_count =
            self.tolerance(node, pointer, "ToleratedFailureCount", language, None);
        if let Some(label) = node.get("Label") {
            match label.as_str() {
                Some(s) if s.chars().count() <= 40 => {}
                _ => self.error(
                    &child(pointer, "Label"),
                    label.span,
                    "The field 'Label' must be a string of at most 40 characters",
                ),
            }
        }
        Map {
            processor,
            mode,
            items,
            item_selector,
            max_concurrency,
            result_selector: node
                .get("ResultSelector")
                .map(|n| self.parameters(n, pointer, "ResultSelector", language)),
            result_path: self.result_path(node.get("ResultPath"), pointer, "ResultPath"),
            tolerated_failure_percentage,
            tolerated_failure_count,
            item_reader: node
                .get("ItemReader")
                .map(|reader| self.item_reader(reader, pointer, language)),
            item_batcher: node
                .get("ItemBatcher")
                .map(|batcher| self.item_batcher(batcher, pointer, language)),
            result_writer: node
                .get("ResultWriter")
                .map(|writer| self.result_writer(writer, pointer, language)),
            label: node
                .get("Label")
                .and_then(|label| label.as_str())
                .map(str::to_owned),
            retry: self.retriers(node.get("Retry"), pointer),
            catch: self.catchers(id, node.get("Catch"), pointer, language),
        }
    }

    fn result_writer(
        &mut self,
        node: &Node,
        pointer: &str,
        language: QueryLanguage,
    ) -> ResultWriter {
        let at = child(pointer, "ResultWriter");
        let resource =
            classify_resource(node.get("Resource").and_then(|r| r.as_str()).unwrap_or(""));
        let (field, parameters) = match (node.get("Parameters"), node.get("Arguments")) {
            (Some(p), _) => ("Parameters", Some(p)),
            (None, a) => ("Arguments", a),
        };
        let parameters = parameters.map(|p| self.parameters(p, &at, field, language));
        let config = node.get("WriterConfig");
        let text = |name: &str| {
            config
                .and_then(|c| c.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        ResultWriter {
            resource,
            parameters,
            output_type: text("OutputType"),
            transformation: text("Transformation"),
        }
    }

    fn item_reader(&mut self, node: &Node, pointer: &str, language: QueryLanguage) -> ItemReader {
        let at = child(pointer, "ItemReader");
        let resource = match node.get("Resource").and_then(|r| r.as_str()) {
            Some(arn) => classify_resource(arn),
            None => {
                self.error(&at, node.span, "The field 'Resource' must be a string");
                classify_resource("")
            }
        };
        let (field, parameters) = match (node.get("Parameters"), node.get("Arguments")) {
            (Some(p), _) => ("Parameters", Some(p)),
            (None, a) => ("Arguments", a),
        };
        let parameters = parameters.map(|p| self.parameters(p, &at, field, language));
        let config_at = child(&at, "ReaderConfig");
        let config = node.get("ReaderConfig");
        let text = |name: &str| {
            config
                .and_then(|c| c.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let csv_headers = match text("CSVHeaderLocation").as_deref() {
            Some("GIVEN") => {
                let headers =
                    config
                        .and_then(|c| c.get("CSVHeaders"))
                        .and_then(|h| match h.to_value() {
                            Value::Array(items) => Some(
                                items
                                    .iter()
                                    .filter_map(|i| i.as_str().map(str::to_owned))
                                    .collect::<Vec<_>>(),
                            ),
                            _ => None,
                        });
                if headers.is_none()
                    && let Some(config) = config
                {
                    self.error(
                        &config_at,
                        config.span,
                        "CSVHeaders must be given when CSVHeaderLocation is GIVEN",
                    );
                }
                headers
            }
            _ => None,
        };
        let csv_delimiter = match text("CSVDelimiter").as_deref() {
            Some("SEMICOLON") => ';',
            Some("PIPE") => '|',
            Some("SPACE") => ' ',
            Some("TAB") => '\t',
            _ => ',',
        };
        let max_items = match config {
            Some(config) => self.tolerance(config, &config_at, "MaxItems", language, None),
            None => None,
        };
        ItemReader {
            resource,
            parameters,
            input_type: text("InputType"),
            csv_headers,
            csv_delimiter,
            max_items,
        }
    }

    fn item_batcher(&mut self, node: &Node, pointer: &str, language: QueryLanguage) -> ItemBatcher {
        let at = child(pointer, "ItemBatcher");
        if node.as_object().is_none() {
            self.error(
                &at,
                node.span,
                format!(
                    "The field 'ItemBatcher' must be an object, not {}",
                    node.type_name()
                ),
            );
        }
        ItemBatcher {
            max_items: self.tolerance(node, &at, "MaxItemsPerBatch", language, None),
            max_bytes: self.tolerance(
                node,
                &at,
                "MaxInputBytesPerBatch",
                language,
                Some(262_144.0),
            ),
            batch_input: node
                .get("BatchInput")
                .map(|input| self.parameters(input, &at, "BatchInput", language)),
        }
    }

    fn tolerance(
        &mut self,
        node: &Node,
        pointer: &str,
        field: &str,
        language: QueryLanguage,
        max: Option<f64>,
    ) -> Option<Tolerance> {
        let path_field = format!("{field}Path");
        match (node.get(field), node.get(&path_field)) {
            (Some(_), Some(p)) => {
                self.error(
                    pointer,
                    p.span,
                    format!("Only one of '{field}' or '{path_field}' can be set"),
                );
                None
            }
            (Some(v), None) => {
                if language == QueryLanguage::Jsonata
                    && let Some(expression) = v.as_str().and_then(Expression::recognise)
                {
                    self.check_expression(&expression, &child(pointer, field), v.span);
                    return Some(Tolerance::Expression(expression));
                }
                match &v.kind {
                    NodeKind::Number(n) => {
                        let f = n.as_f64().unwrap_or(-1.0);
                        if f < 0.0 || max.is_some_and(|m| f > m) {
                            self.error(
                                &child(pointer, field),
                                v.span,
                                format!("The value of the field '{field}' is out of range"),
                            );
                            None
                        } else {
                            Some(Tolerance::Fixed(f))
                        }
                    }
                    _ => {
                        self.error(
                            &child(pointer, field),
                            v.span,
                            format!("The field '{field}' must be a number"),
                        );
                        None
                    }
                }
            }
            (None, Some(p)) => self
                .input_reference_path(p, &child(pointer, &path_field), &path_field)
                .map(Tolerance::Path),
            (None, None) => None,
        }
    }

    fn resolve_transitions(&mut self) {
        let mut names: HashMap<(ScopeId, &str), StateId> = HashMap::new();
        for (index, state) in self.states.iter().enumerate() {
            names
                .entry((state.scope, state.name.as_str()))
                .or_insert(StateId(index as u32));
        }
        let mut resolved = Vec::new();
        for pending in &self.transitions {
            match names.get(&(pending.scope, pending.target.as_str())) {
                Some(&target) => resolved.push((pending.slot, target)),
                None => {
                    // AWS says 'Next' for every kind of target, StartAt, Default and Catch included.
                    let field = "Next";
                    self.diagnostics.push(
                        Diagnostic::error(
                            code::MISSING_TRANSITION_TARGET,
                            &pending.pointer,
                            format!("Missing '{field}' target: {}", pending.target),
                        )
                        .with_span(pending.span),
                    );
                }
            }
        }
        for (slot, target) in resolved {
            match slot {
                Slot::StateNext(id) => {
                    self.states[id.0 as usize].transition = Transition::Next(target)
                }
                Slot::ChoiceNext(id, index) => {
                    if let StateKind::Choice(choice) = &mut self.states[id.0 as usize].kind
                        && let Some(branch) = choice.choices.get_mut(index)
                    {
                        branch.next = target;
                    }
                }
                Slot::ChoiceDefault(id) => {
                    if let StateKind::Choice(choice) = &mut self.states[id.0 as usize].kind {
                        choice.default = Some(target);
                    }
                }
                Slot::CatchNext(id, index) => {
                    let catchers = match &mut self.states[id.0 as usize].kind {
                        StateKind::Task(task) => Some(&mut task.catch),
                        StateKind::Parallel(parallel) => Some(&mut parallel.catch),
                        StateKind::Map(map) => Some(&mut map.catch),
                        _ => None,
                    };
                    if let Some(catcher) = catchers.and_then(|c| c.get_mut(index)) {
                        catcher.next = target;
                    }
                }
                Slot::ScopeStart(scope) => self.scopes[scope.0 as usize].start_at = target,
            }
        }
    }

    /// Terminal states and reachability, per scope, in AWS's order: a scope with no terminal
    /// state gets `MISSING_END_STATE` and no reachability report.
    fn check_graph(&mut self) {
        for scope_index in 0..self.scopes.len() {
            let scope = &self.scopes[scope_index];
            if scope.states.is_empty() {
                continue;
            }
            let has_terminal = scope.states.iter().any(|&id| {
                let state = &self.states[id.0 as usize];
                matches!(state.kind, StateKind::Succeed | StateKind::Fail(_))
                    || (!matches!(state.kind, StateKind::Choice(_))
                        && state.transition == Transition::End)
            });
            if !has_terminal && scope_index == 0 {
                self.diagnostics.push(Diagnostic {
                    location: None,
                    ..Diagnostic::error(
                        code::MISSING_END_STATE,
                        "",
                        "Workflow has no terminal state",
                    )
                });
                continue;
            }
            let mut reachable = HashSet::new();
            let mut stack = vec![scope.start_at];
            while let Some(id) = stack.pop() {
                if id == UNRESOLVED || !reachable.insert(id) {
                    continue;
                }
                let state = &self.states[id.0 as usize];
                if let Transition::Next(next) = state.transition {
                    stack.push(next);
                }
                match &state.kind {
                    StateKind::Choice(choice) => {
                        stack.extend(choice.choices.iter().map(|c| c.next));
                        stack.extend(choice.default);
                    }
                    StateKind::Task(task) => stack.extend(task.catch.iter().map(|c| c.next)),
                    StateKind::Parallel(parallel) => {
                        stack.extend(parallel.catch.iter().map(|c| c.next))
                    }
                    StateKind::Map(map) => stack.extend(map.catch.iter().map(|c| c.next)),
                    _ => {}
                }
            }
            let unreachable: Vec<(String, String)> = scope
                .states
                .iter()
                .filter(|id| !reachable.contains(id))
                .map(|&id| {
                    let state = &self.states[id.0 as usize];
                    (state.name.clone(), state.pointer.clone())
                })
                .collect();
            for (name, pointer) in unreachable {
                self.diagnostics.push(Diagnostic::error(
                    code::MISSING_TRANSITION_TARGET,
                    pointer,
                    format!("State \"{name}\" is not reachable."),
                ));
            }
        }
    }
}

/// The path `$`.
fn dollar() -> JsonPath {
    JsonPath::parse("$").expect("`$` is a valid path")
}

/// A variable name of `Assign`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= 80
}

/// Splits a Task `Resource` into what it names and its integration pattern.
pub fn classify_resource(arn: &str) -> Resource {
    let (base, pattern) = if let Some(base) = arn.strip_suffix(".waitForTaskToken") {
        (base, IntegrationPattern::WaitForTaskToken)
    } else if let Some(base) = arn.strip_suffix(".sync:2") {
        (base, IntegrationPattern::Sync2)
    } else if let Some(base) = arn.strip_suffix(".sync") {
        (base, IntegrationPattern::Sync)
    } else {
        (arn, IntegrationPattern::RequestResponse)
    };
    let parts: Vec<&str> = base.splitn(7, ':').collect();
    let kind = if parts.len() >= 6
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[3].is_empty()
        && parts[4].is_empty()
    {
        // arn:aws:states:::service:action  or  arn:aws:states:::aws-sdk:service:action
        let rest = &base[parts[..5].iter().map(|p| p.len() + 1).sum::<usize>()..];
        match rest.rsplit_once(':') {
            Some((service, action)) => ResourceKind::Service {
                service: service.to_owned(),
                action: action.to_owned(),
            },
            None => ResourceKind::Other,
        }
    } else if parts.len() >= 7
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "activity"
    {
        ResourceKind::Activity
    } else if parts.len() >= 7
        && parts[0] == "arn"
        && parts[2] == "lambda"
        && parts[5] == "function"
    {
        let name = parts[6].split(':').next().unwrap_or(parts[6]);
        ResourceKind::LambdaFunction {
            name: name.to_owned(),
        }
    } else {
        ResourceKind::Other
    };
    let pattern =
        if kind == ResourceKind::Activity || matches!(kind, ResourceKind::LambdaFunction { .. }) {
            IntegrationPattern::RequestResponse
        } else {
            pattern
        };
    Resource {
        arn: arn.to_owned(),
        kind,
        pattern,
    }
}

/// Whether any string of the definition could read the context object (`$$` in JSONPath,
/// `$states.context` in JSONata). Conservative: a false positive only costs a copy.
fn mentions_context(root: &Node) -> bool {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match &node.kind {
            NodeKind::String(s) if s.contains("$$") || s.contains("states.context") => {
                return true;
            }
            NodeKind::Array(items) => stack.extend(items.iter()),
            NodeKind::Object(members) => stack.extend(members.iter().map(|m| &m.value)),
            _ => {}
        }
    }
    false
}
