//! The durable engine across restarts: what was committed resumes, timers fire after a
//! restart, and activity tokens keep working.

use std::sync::Arc;
use std::time::Duration;

use aslan_asl::LoadOptions;
use aslan_engine::NoHandler;
use aslan_engine::durable::{self, Engine, EngineOptions, StartRequest};
use aslan_store::Store;
use aslan_store::memory::MemoryStore;
use serde_json::json;

fn options() -> EngineOptions {
    EngineOptions {
        max_payload_bytes: Some(262_144),
        handler: Arc::new(NoHandler),
        region: "us-east-1".into(),
        max_history_events: Some(25_000),
    }
}

fn request(name: &str, definition: serde_json::Value, input: serde_json::Value) -> StartRequest {
    let text = definition.to_string();
    let parsed = aslan_asl::parse(&text, LoadOptions::default());
    StartRequest {
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:M:{name}"),
        name: name.into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
        state_machine_name: "M".into(),
        revision_id: "r1".into(),
        definition_text: text,
        definition: Arc::new(parsed.definition.expect("valid definition")),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        input_text: input.to_string(),
        input,
        express: false,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn wait_for_status(store: &dyn Store, arn: &str, status: &str) -> aslan_store::Execution {
    for _ in 0..100 {
        if let Some(execution) = store.get_execution(arn).expect("read")
            && execution.status == status
        {
            return execution;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} never reached {status}");
}

#[test]
fn a_wait_resumes_after_a_restart() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let definition = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": true}
    }});
    let arn = "arn:aws:states:us-east-1:123456789012:execution:M:w1";
    {
        // The first engine commits the start, then dies before the timer fires.
        let first = runtime();
        first.block_on(async {
            let engine = durable::spawn(store.clone(), options())
                .await
                .expect("engine");
            engine
                .start(request("w1", definition.clone(), json!({"k": 1})))
                .await
                .expect("start");
        });
        first.shutdown_background();
    }
    assert_eq!(
        store.get_execution(arn).expect("read").map(|e| e.status),
        Some("RUNNING".into())
    );
    let second = runtime();
    second.block_on(async {
        let _engine = durable::spawn(store.clone(), options())
            .await
            .expect("engine");
        let done = wait_for_status(store.as_ref(), arn, "SUCCEEDED").await;
        assert_eq!(done.output.as_deref(), Some(r#"{"k":1,"r":"done"}"#));
    });
    let history = store.history(arn, None, 100, false).expect("history");
    let ids: Vec<i64> = history.iter().map(|h| h.id).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "no duplicated or missing events"
    );
    second.shutdown_background();
}

#[test]
fn activity_tokens_survive_a_restart() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let activity = "arn:aws:states:us-east-1:123456789012:activity:work";
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": true}}});
    let arn = "arn:aws:states:us-east-1:123456789012:execution:M:a1";
    store
        .create_activity(&aslan_store::Activity {
            arn: activity.into(),
            name: "work".into(),
            created_ms: 0,
        })
        .expect("activity");
    let token = {
        let first = runtime();
        let token = first.block_on(async {
            let engine: Engine = durable::spawn(store.clone(), options())
                .await
                .expect("engine");
            engine
                .start(request("a1", definition.clone(), json!({"job": 7})))
                .await
                .expect("start");
            let task = engine.poll_activity(activity, None).await.expect("task");
            assert_eq!(task.input, r#"{"job":7}"#);
            task.token
        });
        first.shutdown_background();
        token
    };
    let second = runtime();
    second.block_on(async {
        let engine = durable::spawn(store.clone(), options())
            .await
            .expect("engine");
        engine
            .complete_task(&token, Ok(json!({"ok": true})))
            .await
            .expect("complete");
        let done = wait_for_status(store.as_ref(), arn, "SUCCEEDED").await;
        assert_eq!(done.output.as_deref(), Some(r#"{"ok":true}"#));
        // The token is spent.
        assert!(engine.complete_task(&token, Ok(json!({}))).await.is_err());
    });
    second.shutdown_background();
}

#[test]
fn an_execution_name_is_taken_while_it_runs() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let definition =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}});
    let rt = runtime();
    rt.block_on(async {
        let engine = durable::spawn(store.clone(), options())
            .await
            .expect("engine");
        let first = engine
            .start(request("same", definition.clone(), json!({})))
            .await
            .expect("start");
        let again = engine
            .start(request("same", definition.clone(), json!({})))
            .await
            .expect("idempotent");
        assert_eq!(first, again);
        let other = engine
            .start(request("same", definition.clone(), json!({"x": 1})))
            .await;
        assert!(other.is_err());
        let stop = engine
            .stop(&first.execution_arn, Some("E".into()), None)
            .await;
        assert!(stop.is_ok());
        wait_for_status(store.as_ref(), &first.execution_arn, "ABORTED").await;
    });
    rt.shutdown_background();
}
