//! The console's routes over an in-memory store, without a network.

use std::sync::Arc;

use aslan_console::{ConsoleState, router};
use aslan_store::memory::MemoryStore;
use aslan_store::testing::{execution, machine};
use aslan_store::{Ending, ExecutionChange, HistoryEntry, Store};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

const DEFINITION: &str = r#"{
  "StartAt": "First",
  "States": {
    "First": {"Type": "Pass", "Next": "Pick"},
    "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
    "Big": {"Type": "Succeed"},
    "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "x was small"}
  }
}"#;

fn store() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let mut m = machine("m");
    m.definition = DEFINITION.into();
    store.create_state_machine(&m).expect("machine");
    for i in 0..5 {
        let mut e = execution("m", &format!("run-{i}"), 1_000 + i);
        e.definition = DEFINITION.into();
        let history = [
            json!({"timestamp": 1.0, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
                   "executionStartedEventDetails": {"input": "{}"}}),
            json!({"timestamp": 1.0, "type": "PassStateEntered", "id": 2, "previousEventId": 1,
                   "stateEnteredEventDetails": {"name": "First", "input": "{}"}}),
            json!({"timestamp": 1.001, "type": "PassStateExited", "id": 3, "previousEventId": 2,
                   "stateExitedEventDetails": {"name": "First", "output": "{}"}}),
            json!({"timestamp": 1.001, "type": "FailStateEntered", "id": 4, "previousEventId": 3,
                   "stateEnteredEventDetails": {"name": "Small", "input": "{}"}}),
            json!({"timestamp": 1.002, "type": "ExecutionFailed", "id": 5, "previousEventId": 4,
                   "executionFailedEventDetails": {"error": "TooSmall", "cause": "x was small"}}),
        ];
        let ended = i % 2 == 0;
        store
            .commit(vec![ExecutionChange {
                arn: e.arn.clone(),
                created: Some(e),
                journal: Vec::new(),
                history: history
                    .iter()
                    .take(if ended { 5 } else { 3 })
                    .map(|event| HistoryEntry {
                        id: event["id"].as_i64().expect("id"),
                        event: event.to_string(),
                    })
                    .collect(),
                ending: ended.then(|| Ending {
                    status: "FAILED".into(),
                    output: None,
                    error: Some("TooSmall".into()),
                    cause: Some("x was small".into()),
                    stop_ms: 1_002 + i,
                }),
                map_runs: Vec::new(),
            }])
            .expect("execution");
    }
    store
}

async fn get(path: &str) -> (StatusCode, String, String) {
    let app = router(ConsoleState::new(store()));
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

async fn get_json(path: &str) -> (StatusCode, Value) {
    let (status, _, body) = get(path).await;
    (status, serde_json::from_str(&body).expect("json"))
}

const MACHINE: &str = "arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3AstateMachine%3Am";

#[tokio::test]
async fn the_page_and_its_assets_come_from_the_binary() {
    let (status, _, _) = get("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, content_type, body) = get("/console/executions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"));
    assert!(body.contains("/console/assets/app.js"));
    let (status, content_type, body) = get("/console/assets/graph.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/javascript"));
    assert!(body.contains("export class GraphView"));
    let (status, _, _) = get("/console/assets/missing.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get_json("/console/api/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn the_overview_counts_executions_by_status() {
    let (status, body) = get_json("/console/api/overview").await;
    assert_eq!(status, StatusCode::OK);
    let machines = body["state_machines"].as_array().expect("list");
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0]["name"], "m");
    assert_eq!(machines[0]["counts"], json!({"FAILED": 3, "RUNNING": 2}));
    assert_eq!(machines[0]["total"], 5);
}

#[tokio::test]
async fn a_state_machine_comes_with_its_graph_and_where_each_state_is() {
    let (status, body) = get_json(&format!("/console/api/state-machine?arn={MACHINE}")).await;
    assert_eq!(status, StatusCode::OK);
    let svg = body["svg"].as_str().expect("svg");
    assert!(svg.contains(r#"data-state="Pick""#));
    assert!(svg.contains("$.x &gt; 1"));
    assert_eq!(body["states"]["Pick"]["lines"], json!([5, 5]));
    assert_eq!(body["states"]["Small"]["fields"]["Error"], "TooSmall");
    let (status, content_type, svg) = get(&format!("/console/api/graph.svg?arn={MACHINE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "image/svg+xml");
    assert!(svg.starts_with("<svg"));
    let (status, layout) = get_json(&format!("/console/api/layout?arn={MACHINE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(layout["nodes"].as_array().expect("nodes").len(), 4);
    let (status, _) = get_json("/console/api/state-machine?arn=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_definition_written_on_one_line_is_shown_indented() {
    let store = store();
    let mut one_line = machine("flat");
    one_line.definition =
        serde_json::to_string(&serde_json::from_str::<Value>(DEFINITION).expect("json"))
            .expect("text");
    store.create_state_machine(&one_line).expect("machine");
    let app = router(ConsoleState::new(store));
    let response = app
        .oneshot(
            Request::get(format!(
                "/console/api/state-machine?arn={}",
                MACHINE.replace("%3Am", "%3Aflat")
            ))
            .body(Body::empty())
            .expect("request"),
        )
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(status, StatusCode::OK);
    assert!(body["definition"].as_str().expect("text").lines().count() > 20);
    let lines = &body["states"]["Pick"]["lines"];
    assert!(lines[1].as_u64() > lines[0].as_u64(), "{lines}");
}

#[tokio::test]
async fn executions_are_filtered_and_paged() {
    let (status, body) = get_json("/console/api/executions?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["executions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["run-4", "run-3"]);
    let next = body["next"].as_str().expect("next page");
    let (_, body) = get_json(&format!(
        "/console/api/executions?limit=2&after={}",
        next.replace(':', "%3A").replace('|', "%7C")
    ))
    .await;
    assert_eq!(body["executions"][0]["name"], "run-2");
    let (_, body) =
        get_json("/console/api/executions?status=RUNNING&prefix=run-&from=1001&until=1004").await;
    let names: Vec<&str> = body["executions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["run-3", "run-1"]);
    assert_eq!(body["next"], Value::Null);
    assert_eq!(body["executions"][0]["state_machine_name"], "m");
    let (status, _) = get_json("/console/api/executions?after=garbage").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_execution_shows_what_each_state_did() {
    let arn = "arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3Aexecution%3Am%3Arun-0";
    let (status, body) = get_json(&format!("/console/api/execution?arn={arn}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["execution"]["status"], "FAILED");
    assert!(body["svg"].as_str().expect("svg").contains("data-state"));
    let (status, body) = get_json(&format!("/console/api/progress?arn={arn}&after=2")).await;
    assert_eq!(status, StatusCode::OK);
    let runs = body["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["state"], "First");
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(runs[1]["state"], "Small");
    assert_eq!(runs[1]["status"], "failed");
    assert_eq!(runs[1]["error"], "TooSmall");
    let ids: Vec<i64> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![3, 4, 5]);
    assert_eq!(body["more"], false);
    // A running execution: its last state is still in progress.
    let running = "arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3Aexecution%3Am%3Arun-1";
    let (_, body) = get_json(&format!("/console/api/progress?arn={running}")).await;
    assert_eq!(body["runs"][0]["status"], "succeeded");
    assert_eq!(body["execution"]["status"], "RUNNING");
}
