//! How fast the console answers with many executions stored (a benchmark, not a test).
//!
//! Fills a fresh SQLite store (the default backend) with 100,000 executions spread over 20
//! state machines and 30 days (`ASLAN_BENCH_EXECUTIONS` changes the number), serves the
//! console's router on 127.0.0.1, and times every page and JSON endpoint over HTTP, one request
//! at a time: median, 95th percentile and worst of 40 requests after 5 warm-ups.
//!
//! ```sh
//! cargo bench -p aslan-console --bench pages
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aslan_store::{Ending, Execution, ExecutionChange, HistoryEntry, StateMachine, Store};
use aslan_store_sqlite::SqliteStore;

const MACHINES: usize = 20;
const DAY_MS: i64 = 86_400_000;
const WARMUP: usize = 5;
const RUNS: usize = 40;

const DEFINITION: &str = r#"{
  "Comment": "Validate an order, charge it and ship its items",
  "StartAt": "Validate",
  "States": {
    "Validate": {"Type": "Pass", "Next": "Route"},
    "Route": {"Type": "Choice", "Choices": [{"Variable": "$.mode", "StringEquals": "reject", "Next": "Reject"}], "Default": "Fanout"},
    "Fanout": {"Type": "Parallel", "Branches": [
        {"StartAt": "Reserve", "States": {"Reserve": {"Type": "Pass", "End": true}}},
        {"StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": "charge-card", "Payload.$": "$"},
                       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}], "End": true},
            "Recover": {"Type": "Pass", "End": true}}}],
      "ResultPath": "$.fanout", "Next": "Ship"},
    "Ship": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Pack", "States": {"Pack": {"Type": "Pass", "End": true}}}, "Next": "Done"},
    "Done": {"Type": "Succeed"},
    "Reject": {"Type": "Fail", "Error": "OrderRejected", "Cause": "the order was rejected"}
  }
}"#;

fn machine_arn(m: usize) -> String {
    format!("arn:aws:states:us-east-1:123456789012:stateMachine:orders-{m:02}")
}

/// A Fail-state history: what a failed execution of the definition records.
fn history(start_ms: i64) -> Vec<HistoryEntry> {
    let t = |offset: i64| (start_ms + offset) as f64 / 1000.0;
    let events = [
        serde_json::json!({"timestamp": t(0), "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
            "executionStartedEventDetails": {"input": "{\"mode\":\"reject\"}", "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/r"}}),
        serde_json::json!({"timestamp": t(1), "type": "PassStateEntered", "id": 2, "previousEventId": 1,
            "stateEnteredEventDetails": {"name": "Validate", "input": "{\"mode\":\"reject\"}", "inputDetails": {"truncated": false}}}),
        serde_json::json!({"timestamp": t(1), "type": "PassStateExited", "id": 3, "previousEventId": 2,
            "stateExitedEventDetails": {"name": "Validate", "output": "{\"mode\":\"reject\"}", "outputDetails": {"truncated": false}}}),
        serde_json::json!({"timestamp": t(2), "type": "ChoiceStateEntered", "id": 4, "previousEventId": 3,
            "stateEnteredEventDetails": {"name": "Route", "input": "{\"mode\":\"reject\"}", "inputDetails": {"truncated": false}}}),
        serde_json::json!({"timestamp": t(2), "type": "ChoiceStateExited", "id": 5, "previousEventId": 4,
            "stateExitedEventDetails": {"name": "Route", "output": "{\"mode\":\"reject\"}", "outputDetails": {"truncated": false}}}),
        serde_json::json!({"timestamp": t(3), "type": "FailStateEntered", "id": 6, "previousEventId": 5,
            "stateEnteredEventDetails": {"name": "Reject", "input": "{\"mode\":\"reject\"}", "inputDetails": {"truncated": false}}}),
        serde_json::json!({"timestamp": t(3), "type": "ExecutionFailed", "id": 7, "previousEventId": 6,
            "executionFailedEventDetails": {"error": "OrderRejected", "cause": "the order was rejected"}}),
    ];
    events
        .iter()
        .map(|event| HistoryEntry {
            id: event["id"].as_i64().unwrap_or_default(),
            event: event.to_string(),
        })
        .collect()
}

fn fill(store: &SqliteStore, executions: usize, now_ms: i64) {
    for m in 0..MACHINES {
        store
            .create_state_machine(&StateMachine {
                arn: machine_arn(m),
                name: format!("orders-{m:02}"),
                machine_type: "STANDARD".into(),
                definition: DEFINITION.into(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                created_ms: now_ms - 40 * DAY_MS,
                revision_id: "r1".into(),
                description: None,
                logging: None,
                tracing: None,
            })
            .expect("machine");
    }
    let spacing = (30 * DAY_MS) / executions.max(1) as i64;
    let mut batch = Vec::new();
    for i in 0..executions {
        let m = i % MACHINES;
        let start_ms = now_ms - 30 * DAY_MS + i as i64 * spacing;
        // 90% succeeded, 6% failed, 2% running, 1% aborted, 1% timed out.
        let status = match i % 100 {
            0..=89 => "SUCCEEDED",
            90..=95 => "FAILED",
            96..=97 => "RUNNING",
            98 => "ABORTED",
            _ => "TIMED_OUT",
        };
        let name = format!("order-{i:06}");
        let arn = format!("arn:aws:states:us-east-1:123456789012:execution:orders-{m:02}:{name}");
        let execution = Execution {
            arn: arn.clone(),
            state_machine_arn: machine_arn(m),
            name,
            status: "RUNNING".into(),
            input: format!(
                "{{\"mode\":\"ship\",\"order\":{i},\"items\":[\"book\",\"lamp\",\"mug\"]}}"
            ),
            output: None,
            error: None,
            cause: None,
            start_ms,
            stop_ms: None,
            definition: DEFINITION.into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            seed: i as u64,
            revision_id: "r1".into(),
        };
        let ending = (status != "RUNNING").then(|| Ending {
            status: status.into(),
            output: (status == "SUCCEEDED").then(|| "[\"book\",\"lamp\",\"mug\"]".into()),
            error: (status == "FAILED").then(|| "OrderRejected".into()),
            cause: (status == "FAILED").then(|| "the order was rejected".into()),
            stop_ms: start_ms + 40,
        });
        batch.push(ExecutionChange {
            arn,
            created: Some(execution),
            journal: Vec::new(),
            history: history(start_ms),
            ending,
            map_runs: Vec::new(),
        });
        if batch.len() == 1000 {
            store.commit(std::mem::take(&mut batch)).expect("commit");
        }
    }
    if !batch.is_empty() {
        store.commit(batch).expect("commit");
    }
}

/// One GET over a fresh connection; returns the status and the body's length.
fn get(address: SocketAddr, path: &str) -> (u16, usize) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.len())
        .unwrap_or(0);
    (status, body)
}

fn encode(text: &str) -> String {
    text.replace(':', "%3A").replace('|', "%7C")
}

fn main() {
    let executions: usize = std::env::var("ASLAN_BENCH_EXECUTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("aslan-console-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("aslan.db")).expect("store");
    // The bench's own clock reading: executions are spread over the 30 days before it.
    let now_ms = 1_795_000_000_000;
    let filled = Instant::now();
    fill(&store, executions, now_ms);
    eprintln!(
        "stored {executions} executions over {MACHINES} state machines in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let shared: Arc<dyn Store> = store;
    let app = aslan_console::router(aslan_console::ConsoleState::new(shared));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address");
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let machine = encode(&machine_arn(3));
    let middle = executions / 2;
    let execution = encode(&format!(
        "arn:aws:states:us-east-1:123456789012:execution:orders-{:02}:order-{middle:06}",
        middle % MACHINES
    ));
    let deep_start = now_ms - 30 * DAY_MS + middle as i64 * ((30 * DAY_MS) / executions as i64);
    let deep = encode(&format!(
        "{deep_start}|arn:aws:states:us-east-1:123456789012:execution:orders-{:02}:order-{middle:06}",
        middle % MACHINES
    ));
    let week_from = now_ms - 14 * DAY_MS;
    let week_until = now_ms - 7 * DAY_MS;
    let cases: Vec<(&str, String)> = vec![
        ("page (HTML)", "/console/executions".into()),
        ("script (app.js)", "/console/assets/views.js".into()),
        (
            "state machines with counts by status",
            "/console/api/overview".into(),
        ),
        (
            "state machine with graph",
            format!("/console/api/state-machine?arn={machine}"),
        ),
        (
            "executions, newest 50",
            "/console/api/executions?limit=50".into(),
        ),
        (
            "executions, page 1,000 deep",
            format!("/console/api/executions?limit=50&after={deep}"),
        ),
        (
            "executions of one state machine",
            format!("/console/api/executions?limit=50&state_machine={machine}"),
        ),
        (
            "executions, status SUCCEEDED",
            "/console/api/executions?limit=50&status=SUCCEEDED".into(),
        ),
        (
            "executions, status FAILED",
            "/console/api/executions?limit=50&status=FAILED".into(),
        ),
        (
            "executions, status RUNNING",
            "/console/api/executions?limit=50&status=RUNNING".into(),
        ),
        (
            "executions, one machine + status RUNNING (none match)",
            format!("/console/api/executions?limit=50&state_machine={machine}&status=RUNNING"),
        ),
        (
            "executions, one machine + status ABORTED (none match)",
            format!("/console/api/executions?limit=50&state_machine={machine}&status=ABORTED"),
        ),
        (
            "executions, one week",
            format!("/console/api/executions?limit=50&from={week_from}&until={week_until}"),
        ),
        (
            "executions, name prefix (10 match)",
            "/console/api/executions?limit=50&prefix=order-09999".into(),
        ),
        (
            "executions, name prefix matching none",
            "/console/api/executions?limit=50&prefix=nothing".into(),
        ),
        (
            "executions, status RUNNING + prefix + week",
            format!(
                "/console/api/executions?limit=50&status=RUNNING&prefix=order-0&from={week_from}&until={week_until}"
            ),
        ),
        (
            "execution with graph",
            format!("/console/api/execution?arn={execution}"),
        ),
        (
            "execution progress (runs + events)",
            format!("/console/api/progress?arn={execution}"),
        ),
    ];
    println!("\n{executions} executions stored; {RUNS} requests each after {WARMUP} warm-ups\n");
    println!("| request | median ms | p95 ms | max ms | bytes |");
    println!("|---|---|---|---|---|");
    let mut worst = Duration::ZERO;
    for (label, path) in &cases {
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for i in 0..WARMUP + RUNS {
            let started = Instant::now();
            let (status, length) = get(address, path);
            let took = started.elapsed();
            assert_eq!(status, 200, "{path} answered {status}");
            bytes = length;
            if i >= WARMUP {
                times.push(took);
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
        let max = times[times.len() - 1];
        worst = worst.max(p95);
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {bytes} |",
            ms(times[times.len() / 2]),
            ms(p95),
            ms(max)
        );
    }
    println!(
        "\nslowest 95th percentile: {:.2} ms",
        worst.as_secs_f64() * 1000.0
    );
    runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(&dir);
}
