//! The console's JSON endpoints (`GET /console/api/...`). They only read: the page starts and
//! stops executions through the Step Functions API. Store reads run on the blocking pool, so
//! neither the server's threads nor the engine ever wait for them.

use std::collections::BTreeMap;
use std::sync::Arc;

use aslan_asl::source::{self, Node as SourceNode, NodeKind};
use aslan_asl::{Definition, LoadOptions, MachineType};
use aslan_store::{ExecutionSearch, Store};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::ConsoleState;
use crate::layout::{self, Layout};
use crate::runs;
use crate::svg;

/// How many drawn definitions the cache keeps before it starts over.
const GRAPH_CACHE: usize = 128;
/// The most events one progress answer carries; the page asks again for the rest.
const EVENTS_PER_ANSWER: usize = 2000;
/// The most history events read for one execution (AWS's limit is 25,000).
const MAX_HISTORY: usize = 1_000_000;

/// A definition, drawn: what every page that shows a graph needs.
pub(crate) struct Graph {
    /// The definition as shown: as written, or indented when it was written on one line.
    text: String,
    layout: Layout,
    svg: String,
    /// Per state: its lines in the definition text and its fields.
    states: Value,
    /// Why there is no graph (the definition does not load).
    error: Option<String>,
    definition: Option<Arc<Definition>>,
}

/// Why a request failed: answered as `{"error": message}` with the status.
pub(crate) struct Error {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Error {
    Error {
        status,
        message: message.into(),
    }
}

fn not_found_error(what: &str, arn: &str) -> Error {
    error(
        StatusCode::NOT_FOUND,
        format!("{what} does not exist: {arn}"),
    )
}

/// Runs store reads (and layout work) on the blocking pool.
async fn blocking<T: Send + 'static>(
    state: &ConsoleState,
    f: impl FnOnce(&ConsoleState, &dyn Store) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let store = state.inner.store.clone();
        f(&state, store.as_ref())
    })
    .await
    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

fn storage(e: aslan_store::Error) -> Error {
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// The last part of an ARN: a state machine's name.
fn arn_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Byte offsets of line starts, to turn spans into line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    /// The line (from 1) of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

/// A state's fields with nested states left out (they have entries of their own).
fn elided(node: &SourceNode) -> Value {
    let mut value = node.to_value();
    let summary = |states: &Value| {
        let n = states.as_object().map(Map::len).unwrap_or(0);
        Value::String(format!("… {n} state{}", if n == 1 { "" } else { "s" }))
    };
    if let Some(branches) = value.get_mut("Branches").and_then(Value::as_array_mut) {
        for branch in branches {
            if let Some(states) = branch.get_mut("States") {
                *states = summary(states);
            }
        }
    }
    for key in ["ItemProcessor", "Iterator"] {
        if let Some(states) = value.get_mut(key).and_then(|p| p.get_mut("States")) {
            *states = summary(states);
        }
    }
    value
}

fn collect_states(
    states: Option<&SourceNode>,
    owner: Option<&str>,
    lines: &Lines,
    out: &mut Map<String, Value>,
) {
    let Some(members) = states.and_then(SourceNode::as_object) else {
        return;
    };
    for member in members {
        let spanned = member.value.span.end > member.key_span.start;
        let range = spanned.then(|| {
            json!([
                lines.line(member.key_span.start),
                lines.line(member.value.span.end.saturating_sub(1))
            ])
        });
        out.insert(
            member.key.clone(),
            json!({"lines": range, "fields": elided(&member.value), "owner": owner}),
        );
        if let Some(NodeKind::Array(branches)) = member.value.get("Branches").map(|b| &b.kind) {
            for branch in branches {
                collect_states(branch.get("States"), Some(&member.key), lines, out);
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(processor) = member.value.get(key) {
                collect_states(processor.get("States"), Some(&member.key), lines, out);
            }
        }
    }
}

/// The definition as the page shows it: JSON written on one line or two (as SDKs send it) is
/// indented, so that each state has lines of its own to mark.
fn display_text(text: &str) -> String {
    if text.lines().count() > 2 {
        return text.to_owned();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

fn draw(machine_type: &str, text: &str) -> Graph {
    let shown = display_text(text);
    let mut states = Map::new();
    if let Ok(root) = source::parse_any(&shown) {
        collect_states(root.get("States"), None, &Lines::new(&shown), &mut states);
    }
    let parsed = aslan_asl::parse(
        text,
        LoadOptions {
            machine_type: if machine_type == "EXPRESS" {
                MachineType::Express
            } else {
                MachineType::Standard
            },
        },
    );
    match parsed.definition {
        Some(definition) if !parsed.diagnostics.has_errors() => {
            let layout = layout::layout(&definition);
            let svg = svg::render(&layout);
            Graph {
                text: shown,
                layout,
                svg,
                states: Value::Object(states),
                error: None,
                definition: Some(Arc::new(definition)),
            }
        }
        _ => Graph {
            text: shown,
            layout: Layout::default(),
            svg: String::new(),
            states: Value::Object(states),
            error: Some(parsed.diagnostics.invalid_definition_message()),
            definition: None,
        },
    }
}

impl ConsoleState {
    fn graph(&self, machine_type: &str, text: &str) -> Arc<Graph> {
        let key = (machine_type.to_owned(), text.to_owned());
        if let Some(graph) = self
            .inner
            .graphs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return graph.clone();
        }
        let graph = Arc::new(draw(machine_type, text));
        let mut cache = self.inner.graphs.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= GRAPH_CACHE {
            cache.clear();
        }
        cache.insert(key, graph.clone());
        graph
    }
}

fn counts_object(counts: &BTreeMap<String, u64>) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(status, n)| (status.clone(), json!(n)))
            .collect(),
    )
}

/// `GET /console/api/overview`: every state machine with its executions counted by status.
pub(crate) async fn overview(State(state): State<ConsoleState>) -> Response {
    let result = blocking(&state, |_, store| {
        let mut machines = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store
                .list_state_machines(after.as_deref(), 1000)
                .map_err(storage)?;
            let Some(last) = page.last() else { break };
            after = Some(last.arn.clone());
            let done = page.len() < 1000;
            machines.extend(page);
            if done {
                break;
            }
        }
        let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for count in store.count_executions().map_err(storage)? {
            counts
                .entry(count.state_machine_arn)
                .or_default()
                .insert(count.status, count.count);
        }
        machines.sort_by(|a, b| a.name.cmp(&b.name));
        let empty = BTreeMap::new();
        let list: Vec<Value> = machines
            .iter()
            .map(|m| {
                let machine_counts = counts.get(&m.arn).unwrap_or(&empty);
                json!({
                    "arn": m.arn,
                    "name": m.name,
                    "type": m.machine_type,
                    "created_ms": m.created_ms,
                    "description": m.description,
                    "counts": counts_object(machine_counts),
                    "total": machine_counts.values().sum::<u64>(),
                })
            })
            .collect();
        Ok(json!({"state_machines": list}))
    })
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ArnQuery {
    arn: Option<String>,
    execution: Option<String>,
}

/// `GET /console/api/state-machine?arn=`: the machine, its definition and its graph.
pub(crate) async fn state_machine(
    State(state): State<ConsoleState>,
    Query(query): Query<ArnQuery>,
) -> Response {
    let Some(arn) = query.arn else {
        return error(StatusCode::BAD_REQUEST, "arn is required").into_response();
    };
    let result = blocking(&state, move |state, store| {
        let machine = store
            .get_state_machine(&arn)
            .map_err(storage)?
            .ok_or_else(|| not_found_error("State machine", &arn))?;
        let mut counts = BTreeMap::new();
        for count in store.count_executions().map_err(storage)? {
            if count.state_machine_arn == machine.arn {
                counts.insert(count.status, count.count);
            }
        }
        let graph = state.graph(&machine.machine_type, &machine.definition);
        Ok(json!({
            "arn": machine.arn,
            "name": machine.name,
            "type": machine.machine_type,
            "created_ms": machine.created_ms,
            "role_arn": machine.role_arn,
            "revision_id": machine.revision_id,
            "description": machine.description,
            "definition": graph.text,
            "counts": counts_object(&counts),
            "total": counts.values().sum::<u64>(),
            "svg": graph.svg,
            "states": graph.states,
            "error": graph.error,
        }))
    })
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The graph of a state machine (`arn`) or of the definition an execution ran (`execution`).
async fn graph_of(state: &ConsoleState, query: ArnQuery) -> Result<Arc<Graph>, Error> {
    blocking(state, move |state, store| {
        if let Some(arn) = query.execution {
            let execution = store
                .get_execution(&arn)
                .map_err(storage)?
                .ok_or_else(|| not_found_error("Execution", &arn))?;
            let machine_type = store
                .get_state_machine(&execution.state_machine_arn)
                .map_err(storage)?
                .map(|m| m.machine_type)
                .unwrap_or_else(|| "STANDARD".into());
            return Ok(state.graph(&machine_type, &execution.definition));
        }
        let Some(arn) = query.arn else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "arn or execution is required",
            ));
        };
        let machine = store
            .get_state_machine(&arn)
            .map_err(storage)?
            .ok_or_else(|| not_found_error("State machine", &arn))?;
        Ok(state.graph(&machine.machine_type, &machine.definition))
    })
    .await
}

/// `GET /console/api/layout?arn=|execution=`: the layout as JSON.
pub(crate) async fn layout_json(
    State(state): State<ConsoleState>,
    Query(query): Query<ArnQuery>,
) -> Response {
    match graph_of(&state, query).await {
        Ok(graph) => match &graph.error {
            Some(message) => {
                error(StatusCode::UNPROCESSABLE_ENTITY, message.clone()).into_response()
            }
            None => Json(&graph.layout).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// `GET /console/api/graph.svg?arn=|execution=`: the drawing as a standalone SVG.
pub(crate) async fn graph_svg(
    State(state): State<ConsoleState>,
    Query(query): Query<ArnQuery>,
) -> Response {
    match graph_of(&state, query).await {
        Ok(graph) => match &graph.error {
            Some(message) => {
                error(StatusCode::UNPROCESSABLE_ENTITY, message.clone()).into_response()
            }
            None => ([(header::CONTENT_TYPE, "image/svg+xml")], graph.svg.clone()).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ExecutionsQuery {
    state_machine: Option<String>,
    status: Option<String>,
    prefix: Option<String>,
    from: Option<i64>,
    until: Option<i64>,
    after: Option<String>,
    limit: Option<usize>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `GET /console/api/executions`: newest first, filtered, a page at a time. `next` is the
/// `after` of the following page.
pub(crate) async fn executions(
    State(state): State<ConsoleState>,
    Query(query): Query<ExecutionsQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let after = match non_empty(query.after) {
        None => None,
        Some(token) => {
            let parsed = token
                .split_once('|')
                .and_then(|(ms, arn)| Some((ms.parse::<i64>().ok()?, arn.to_owned())));
            match parsed {
                Some(after) => Some(after),
                None => {
                    return error(StatusCode::BAD_REQUEST, "after is not a page token")
                        .into_response();
                }
            }
        }
    };
    let search = ExecutionSearch {
        state_machine_arn: non_empty(query.state_machine),
        status: non_empty(query.status),
        name_prefix: non_empty(query.prefix),
        started_from_ms: query.from,
        started_until_ms: query.until,
        after,
        limit: limit + 1,
    };
    let result = blocking(&state, move |_, store| {
        store.search_executions(&search).map_err(storage)
    })
    .await;
    let found = match result {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let more = found.len() > limit;
    let items: Vec<Value> = found
        .iter()
        .take(limit)
        .map(|e| {
            json!({
                "arn": e.arn,
                "name": e.name,
                "state_machine_arn": e.state_machine_arn,
                "state_machine_name": arn_name(&e.state_machine_arn),
                "status": e.status,
                "start_ms": e.start_ms,
                "stop_ms": e.stop_ms,
            })
        })
        .collect();
    let next = if more {
        found
            .get(limit - 1)
            .map(|last| format!("{}|{}", last.start_ms, last.arn))
    } else {
        None
    };
    Json(json!({"executions": items, "next": next})).into_response()
}

fn execution_json(e: &aslan_store::Execution) -> Value {
    json!({
        "arn": e.arn,
        "name": e.name,
        "state_machine_arn": e.state_machine_arn,
        "state_machine_name": arn_name(&e.state_machine_arn),
        "status": e.status,
        "input": e.input,
        "output": e.output,
        "error": e.error,
        "cause": e.cause,
        "start_ms": e.start_ms,
        "stop_ms": e.stop_ms,
        "revision_id": e.revision_id,
    })
}

/// `GET /console/api/execution?arn=`: the execution, the definition it ran and its graph.
pub(crate) async fn execution(
    State(state): State<ConsoleState>,
    Query(query): Query<ArnQuery>,
) -> Response {
    let Some(arn) = query.arn else {
        return error(StatusCode::BAD_REQUEST, "arn is required").into_response();
    };
    let result = blocking(&state, move |state, store| {
        let execution = store
            .get_execution(&arn)
            .map_err(storage)?
            .ok_or_else(|| not_found_error("Execution", &arn))?;
        let machine = store
            .get_state_machine(&execution.state_machine_arn)
            .map_err(storage)?;
        let machine_type = machine
            .as_ref()
            .map(|m| m.machine_type.clone())
            .unwrap_or_else(|| "STANDARD".into());
        let graph = state.graph(&machine_type, &execution.definition);
        Ok(json!({
            "execution": execution_json(&execution),
            "state_machine_exists": machine.is_some(),
            "type": machine_type,
            "definition": graph.text,
            "svg": graph.svg,
            "states": graph.states,
            "error": graph.error,
        }))
    })
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ProgressQuery {
    arn: String,
    after: Option<i64>,
}

/// `GET /console/api/progress?arn=&after=ID`: the execution's status, the runs of its states,
/// and its history events after `ID`. The page polls it while the execution runs.
pub(crate) async fn progress(
    State(state): State<ConsoleState>,
    Query(query): Query<ProgressQuery>,
) -> Response {
    let result = blocking(&state, move |state, store| {
        let arn = query.arn;
        let execution = store
            .get_execution(&arn)
            .map_err(storage)?
            .ok_or_else(|| not_found_error("Execution", &arn))?;
        let machine_type = store
            .get_state_machine(&execution.state_machine_arn)
            .map_err(storage)?
            .map(|m| m.machine_type)
            .unwrap_or_else(|| "STANDARD".into());
        let history = store
            .history(&arn, None, MAX_HISTORY, false)
            .map_err(storage)?;
        let events: Vec<Value> = history
            .iter()
            .filter_map(|entry| serde_json::from_str(&entry.event).ok())
            .collect();
        let graph = state.graph(&machine_type, &execution.definition);
        let running = execution.status == "RUNNING";
        let runs = match &graph.definition {
            Some(definition) => runs::runs(definition, &events, running),
            None => Vec::new(),
        };
        let after = query.after.unwrap_or(0);
        let newer: Vec<&Value> = events
            .iter()
            .filter(|e| e.get("id").and_then(Value::as_i64).unwrap_or(0) > after)
            .take(EVENTS_PER_ANSWER)
            .collect();
        let last_id = events
            .last()
            .and_then(|e| e.get("id"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let sent_until = newer
            .last()
            .and_then(|e| e.get("id"))
            .and_then(Value::as_i64)
            .unwrap_or(after);
        Ok(json!({
            "execution": execution_json(&execution),
            "runs": runs,
            "events": newer,
            "event_count": events.len(),
            "more": sent_until < last_id,
        }))
    })
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Any other `GET /console/api/...`.
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint").into_response()
}
