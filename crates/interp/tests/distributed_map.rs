//! Distributed Map: each iteration is a child workflow execution on AWS, so its events stay out
//! of the parent's history (which records `MapRunStarted` and `MapRunSucceeded`/`MapRunFailed`
//! instead), and the run tolerates as many failed iterations as `ToleratedFailureCount` /
//! `ToleratedFailurePercentage` allow, failing with `States.ExceedToleratedFailureThreshold`
//! past that.

mod common;

use aslan_asl::Definition;
use aslan_interp::{Command, Env, Event, Execution, Outcome};
use common::{definition, event_types, execution, first_task};
use serde_json::{Value, json};

/// Runs a definition without tasks or timers to its end: the outcome and the event types.
fn run(definition_json: Value, input: Value) -> (Outcome, Vec<String>, Vec<Value>) {
    let definition = definition(definition_json);
    let mut execution = execution();
    let commands = execution.handle(
        &definition,
        Event::Start { input },
        &Env {
            now: 1_700_000_000_000,
        },
    );
    let mut outcome = None;
    let mut types = Vec::new();
    let mut events = Vec::new();
    for command in commands {
        match command {
            Command::Record(event) => {
                types.push(event.event_type.as_str().to_owned());
                events.push(serde_json::to_value(&*event).unwrap_or(Value::Null));
            }
            Command::Finish(done) => outcome = Some(done),
            _ => {}
        }
    }
    (outcome.expect("the execution ends"), types, events)
}

/// A Distributed Map over `$.items` whose iterations fail for items with `"fail": true`.
fn machine(map_fields: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Check",
            "States": {
                "Check": {"Type": "Choice",
                    "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}],
                    "Default": "Ok"},
                "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "bad item"},
                "Ok": {"Type": "Pass", "OutputPath": "$.n", "End": true}
            }
        },
        "End": true
    });
    if let (Some(map), Some(extra)) = (map.as_object_mut(), map_fields.as_object()) {
        map.extend(extra.clone());
    }
    json!({"StartAt": "Each", "States": {"Each": map}})
}

fn items(failing: &[u64], count: u64) -> Value {
    let items: Vec<Value> = (1..=count)
        .map(|n| json!({"n": n, "fail": failing.contains(&n)}))
        .collect();
    json!({ "items": items })
}

#[test]
fn iterations_are_child_executions_outside_the_history() {
    let (outcome, types, events) = run(machine(json!({})), items(&[], 3));
    assert_eq!(outcome, Outcome::Succeeded(json!([1, 2, 3])));
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let arn = events[3]["mapRunStartedEventDetails"]["mapRunArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:M/Each:"),
        "{arn}"
    );
    // Event ids stay consecutive: the iterations used none.
    let ids: Vec<i64> = events.iter().filter_map(|e| e["id"].as_i64()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());
}

#[test]
fn the_label_names_the_map_run() {
    let (_, _, events) = run(machine(json!({"Label": "Batch"})), items(&[], 1));
    let arn = events[3]["mapRunStartedEventDetails"]["mapRunArn"]
        .as_str()
        .unwrap_or_default();
    assert!(arn.contains(":mapRun:M/Batch:"), "{arn}");
}

#[test]
fn without_a_threshold_one_failed_iteration_fails_the_run() {
    let (outcome, types, _) = run(machine(json!({})), items(&[2], 3));
    match outcome {
        Outcome::Failed { error, .. } => {
            assert_eq!(error, "States.ExceedToleratedFailureThreshold")
        }
        other => panic!("{other:?}"),
    }
    assert!(types.contains(&"MapRunFailed".to_owned()));
    assert!(types.contains(&"MapStateFailed".to_owned()));
    assert!(!types.iter().any(|t| t.starts_with("Fail")), "{types:?}");
}

#[test]
fn a_tolerated_failure_leaves_its_error_as_the_items_result() {
    let (outcome, types, _) = run(machine(json!({"ToleratedFailureCount": 1})), items(&[2], 3));
    assert_eq!(
        outcome,
        Outcome::Succeeded(json!([1, {"Error": "Item.Bad", "Cause": "bad item"}, 3]))
    );
    assert!(types.contains(&"MapRunSucceeded".to_owned()));

    let (outcome, _, _) = run(
        machine(json!({"ToleratedFailureCount": 1})),
        items(&[1, 3], 3),
    );
    assert!(
        matches!(&outcome, Outcome::Failed { error, .. } if error == "States.ExceedToleratedFailureThreshold"),
        "{outcome:?}"
    );
}

#[test]
fn the_percentage_counts_against_all_items() {
    let tolerant = machine(json!({"ToleratedFailurePercentage": 50}));
    let (outcome, _, _) = run(tolerant.clone(), items(&[1, 2], 4));
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
    let (outcome, _, _) = run(tolerant, items(&[1, 2, 3], 4));
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    // With both thresholds, going past either fails the run.
    let both = machine(json!({"ToleratedFailurePercentage": 100, "ToleratedFailureCount": 1}));
    let (outcome, _, _) = run(both, items(&[1, 2], 4));
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
}

#[test]
fn the_threshold_error_can_be_caught() {
    let mut definition = machine(json!({
        "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Handled"}]
    }));
    definition["States"]["Each"]
        .as_object_mut()
        .map(|m| m.remove("End"));
    definition["States"]["Each"]["Next"] = json!("After");
    definition["States"]["After"] = json!({"Type": "Succeed"});
    definition["States"]["Handled"] = json!({"Type": "Pass", "End": true});
    let (outcome, _, _) = run(definition, items(&[1], 2));
    assert_eq!(
        outcome,
        Outcome::Succeeded(json!({
            "Error": "States.ExceedToleratedFailureThreshold",
            "Cause": "The specified tolerated failure threshold was exceeded"
        }))
    );
}

#[test]
fn a_threshold_read_from_the_input_must_be_valid() {
    let definition = machine(json!({"ToleratedFailureCountPath": "$.tolerate"}));
    let mut input = items(&[], 1);
    input["tolerate"] = json!("many");
    let (outcome, types, _) = run(definition.clone(), input.clone());
    match outcome {
        Outcome::Failed { error, cause } => {
            assert_eq!(error, "States.Runtime");
            assert!(
                cause.ends_with(
                    "The ToleratedFailureCountPath field refers to value \"many\" which is not a valid integer: $.tolerate"
                ),
                "{cause}"
            );
        }
        other => panic!("{other:?}"),
    }
    // AWS records no MapStateFailed here: the run never started.
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "ExecutionFailed"
        ]
    );
    input["tolerate"] = json!(1);
    input["items"][0]["fail"] = json!(true);
    let (outcome, _, _) = run(definition, input);
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");

    let definition = machine(json!({"ToleratedFailurePercentagePath": "$.tolerate"}));
    let mut input = items(&[], 1);
    input["tolerate"] = json!(101);
    let (outcome, _, _) = run(definition, input);
    assert!(
        matches!(&outcome, Outcome::Failed { cause, .. } if cause.ends_with("ToleratedFailurePercentage must be between 0 and 100.")),
        "{outcome:?}"
    );
}

#[test]
fn maps_inside_a_distributed_map_record_nothing_either() {
    let definition = json!({"StartAt": "Outer", "States": {"Outer": {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Inner",
            "States": {"Inner": {"Type": "Map", "ItemProcessor": {
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}
        },
        "End": true
    }}});
    let (outcome, types, _) = run(definition, json!([[1, 2], [3]]));
    assert_eq!(outcome, Outcome::Succeeded(json!([[1, 2], [3]])));
    assert!(
        !types.iter().any(|t| t.starts_with("MapIteration")),
        "{types:?}"
    );
    assert_eq!(types.iter().filter(|t| *t == "MapStateEntered").count(), 1);
}

/// A Distributed Map over `$.items` whose children pass their input on, with `fields` added.
fn passing(fields: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
        },
        "End": true
    });
    if let (Some(map), Some(fields)) = (map.as_object_mut(), fields.as_object()) {
        map.extend(fields.clone());
    }
    json!({"StartAt": "Each", "States": {"Each": map}})
}

/// A Distributed Map that hands each batch on unchanged.
fn batching(batcher: Value) -> Value {
    passing(json!({ "ItemBatcher": batcher }))
}

#[test]
fn item_batcher_groups_items_by_count_and_by_size() {
    let input = json!({"items": [1, 2, 3, 4, 5], "stamp": "today", "per": 2});
    let (outcome, _, _) = run(
        batching(
            json!({"MaxItemsPerBatchPath": "$.per", "BatchInput": {"At.$": "$.stamp", "Kind": "n"}}),
        ),
        input.clone(),
    );
    let batch = |items: Value| json!({"BatchInput": {"At": "today", "Kind": "n"}, "Items": items});
    assert_eq!(
        outcome,
        Outcome::Succeeded(json!([
            batch(json!([1, 2])),
            batch(json!([3, 4])),
            batch(json!([5]))
        ]))
    );

    // Each item takes 2 bytes ("1" and a separator): 5 bytes hold two of them.
    let (outcome, _, _) = run(batching(json!({"MaxInputBytesPerBatch": 5})), input.clone());
    assert_eq!(
        outcome,
        Outcome::Succeeded(json!([
            {"Items": [1, 2]}, {"Items": [3, 4]}, {"Items": [5]}
        ]))
    );

    let (outcome, _, _) = run(batching(json!({"MaxItemsPerBatch": 0})), input);
    assert!(
        matches!(&outcome, Outcome::Failed { error, cause } if error == "States.Runtime" && cause.contains("MaxItemsPerBatch must be greater than 0")),
        "{outcome:?}"
    );
}

#[test]
fn item_batcher_in_jsonata() {
    let mut definition = batching(json!({
        "MaxItemsPerBatch": "{% $states.input.per %}",
        "BatchInput": {"count": "{% $count($states.input.items) %}"}
    }));
    definition["QueryLanguage"] = json!("JSONata");
    let map = &mut definition["States"]["Each"];
    if let Some(map) = map.as_object_mut() {
        map.remove("ItemsPath");
    }
    map["Items"] = json!("{% $states.input.items %}");
    let (outcome, _, _) = run(definition, json!({"items": ["a", "b", "c"], "per": 2}));
    assert_eq!(
        outcome,
        Outcome::Succeeded(json!([
            {"BatchInput": {"count": 3}, "Items": ["a", "b"]},
            {"BatchInput": {"count": 3}, "Items": ["c"]}
        ]))
    );
}

/// A Distributed Map reading its items with `reader`, each iteration passing its item on.
fn reading(reader: Value) -> Definition {
    definition(passing(json!({ "ItemReader": reader })))
}

fn start(definition: &Definition, input: Value) -> (Execution, Vec<Command>) {
    let mut execution = execution();
    let commands = execution.handle(definition, Event::Start { input }, &Env { now: 0 });
    (execution, commands)
}

#[test]
fn item_reader_reads_through_a_task_with_no_history_of_its_own() {
    let definition = reading(json!({
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItemsPath": "$.max"},
        "Parameters": {"Bucket.$": "$.bucket", "Key": "rows.csv"}
    }));
    let (mut execution, commands) = start(&definition, json!({"bucket": "data", "max": "2"}));
    let request = first_task(&commands);
    assert_eq!(request.resource.arn, "arn:aws:states:::s3:getObject");
    assert_eq!(
        request.parameters,
        json!({"Bucket": "data", "Key": "rows.csv"})
    );
    assert_eq!(
        event_types(&commands),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted"
        ]
    );
    let env = Env { now: 1 };
    let mut commands = execution.handle(
        &definition,
        Event::TaskStarted {
            task: request.id,
            worker: None,
        },
        &env,
    );
    commands.extend(execution.handle(
        &definition,
        Event::TaskSucceeded {
            task: request.id,
            output: json!({"Body": "a,b\n1,2\n3,4\n5,6\n", "ContentLength": 20}),
        },
        &env,
    ));
    assert_eq!(
        event_types(&commands),
        [
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        execution.outcome(),
        Some(&Outcome::Succeeded(
            json!([{"a": "1", "b": "2"}, {"a": "3", "b": "4"}])
        ))
    );
}

#[test]
fn a_reader_that_fails_fails_the_map_run() {
    let definition = reading(json!({
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "b", "Key": "k"}
    }));
    for (answer, cause) in [
        (
            Event::TaskFailed {
                task: aslan_interp::TaskId(0),
                error: "S3.NoSuchKeyException".into(),
                cause: "The specified key does not exist.".into(),
            },
            "The specified key does not exist.",
        ),
        (
            Event::TaskSucceeded {
                task: aslan_interp::TaskId(0),
                output: json!({"Body": "{\"not\": \"a list\"}"}),
            },
            "Attempting to map over non-iterable node.",
        ),
    ] {
        let (mut execution, commands) = start(&definition, json!({}));
        let task = first_task(&commands).id;
        let answer = match answer {
            Event::TaskFailed { error, cause, .. } => Event::TaskFailed { task, error, cause },
            Event::TaskSucceeded { output, .. } => Event::TaskSucceeded { task, output },
            other => other,
        };
        let commands = execution.handle(&definition, answer, &Env { now: 1 });
        assert_eq!(
            event_types(&commands),
            ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
        );
        assert_eq!(
            execution.outcome(),
            Some(&Outcome::Failed {
                error: "States.ItemReaderFailed".into(),
                cause: cause.into()
            })
        );
    }
}

/// Answers every task the commands schedule with `answer(request)` until the execution ends;
/// returns the requests seen.
fn drive(
    execution: &mut Execution,
    definition: &Definition,
    mut commands: Vec<Command>,
    answer: impl Fn(&aslan_interp::TaskRequest) -> Event,
) -> Vec<aslan_interp::TaskRequest> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let requests: Vec<aslan_interp::TaskRequest> = commands
            .iter()
            .filter_map(|c| match c {
                Command::ScheduleTask(request) => Some((**request).clone()),
                _ => None,
            })
            .collect();
        if requests.is_empty() {
            break;
        }
        commands = Vec::new();
        for request in requests {
            commands.extend(execution.handle(definition, answer(&request), &Env { now: 5 }));
            seen.push(request);
        }
    }
    seen
}

#[test]
fn result_writer_writes_the_children_and_a_manifest() {
    let mut definition_json = machine(json!({
        "ToleratedFailureCount": 1,
        "Label": "Orders",
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "results", "Prefix": "runs/"}}
    }));
    definition_json["States"]["Each"]["ResultPath"] = json!("$.written");
    let definition = definition(definition_json);
    let (mut execution, commands) = start(&definition, items(&[2], 3));
    let writes = drive(&mut execution, &definition, commands, |request| {
        Event::TaskSucceeded {
            task: request.id,
            output: json!({"ETag": "\"x\""}),
        }
    });
    let keys: Vec<&str> = writes
        .iter()
        .filter_map(|w| w.parameters["Key"].as_str())
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let run_id = keys[2]
        .strip_prefix("runs/")
        .and_then(|k| k.strip_suffix("/manifest.json"))
        .expect("manifest under the prefix");
    assert_eq!(
        keys,
        [
            format!("runs/{run_id}/FAILED_0.json"),
            format!("runs/{run_id}/SUCCEEDED_0.json"),
            format!("runs/{run_id}/manifest.json")
        ]
    );
    assert!(writes.iter().all(|w| w.parameters["Bucket"] == "results"
        && w.resource.arn == "arn:aws:states:::s3:putObject"));
    let body = |i: usize| -> Value {
        serde_json::from_str(writes[i].parameters["Body"].as_str().unwrap_or("null"))
            .unwrap_or(Value::Null)
    };
    let failed = body(0);
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Error"], "Item.Bad");
    assert_eq!(failed[0]["Input"], "{\"n\":2,\"fail\":true}");
    let succeeded = body(1);
    assert_eq!(succeeded.as_array().map(Vec::len), Some(2));
    assert_eq!(succeeded[0]["Output"], "1");
    assert!(
        succeeded[0]["ExecutionArn"]
            .as_str()
            .unwrap_or_default()
            .starts_with("arn:aws:states:us-east-1:123456789012:execution:M/Orders:"),
        "{}",
        succeeded[0]
    );
    let manifest = body(2);
    assert_eq!(manifest["DestinationBucket"], "results");
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"][0]["Key"],
        json!(keys[1])
    );
    let Some(Outcome::Succeeded(output)) = execution.outcome() else {
        panic!("{:?}", execution.outcome());
    };
    assert_eq!(
        output["written"]["ResultWriterDetails"],
        json!({"Bucket": "results", "Key": keys[2]})
    );
    assert_eq!(output["written"]["MapRunArn"], manifest["MapRunArn"]);
}

#[test]
fn a_result_writer_that_fails_fails_the_map_run() {
    let definition = definition(machine(json!({
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "nowhere"}}
    })));
    let (mut execution, commands) = start(&definition, items(&[], 1));
    drive(&mut execution, &definition, commands, |request| {
        Event::TaskFailed {
            task: request.id,
            error: "S3.NoSuchBucketException".into(),
            cause: "The specified bucket does not exist".into(),
        }
    });
    assert_eq!(
        execution.outcome(),
        Some(&Outcome::Failed {
            error: "States.ResultWriterFailed".into(),
            cause: "The specified bucket does not exist".into()
        })
    );
}

#[test]
fn the_map_run_is_reported_as_it_goes() {
    let definition = definition(machine(
        json!({"ToleratedFailureCount": 1, "MaxConcurrency": 2}),
    ));
    let (_, commands) = start(&definition, items(&[3], 4));
    let reports: Vec<aslan_types::MapRun> = commands
        .iter()
        .filter_map(|c| match c {
            Command::MapRun(report) => Some((**report).clone()),
            _ => None,
        })
        .collect();
    let first = reports.first().expect("a report when the run starts");
    assert_eq!(
        (first.status.as_str(), first.total, first.pending),
        ("RUNNING", 4, 4)
    );
    assert_eq!(first.max_concurrency, 2);
    assert_eq!(first.tolerated_failure_count, 1);
    assert!(first.map_run_arn.contains(":mapRun:M/Each:"));
    assert_eq!(
        first.state_machine_arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:M/Each"
    );
    let last = reports.last().expect("a report when it ends");
    assert_eq!(
        (
            last.status.as_str(),
            last.succeeded,
            last.failed,
            last.pending,
            last.running
        ),
        ("SUCCEEDED", 3, 1, 0, 0)
    );
    assert_eq!(last.stop_ms, Some(0), "the time of the event that ended it");
    assert_eq!(
        reports.len(),
        6,
        "one when it starts, one per child, one at the end"
    );
}
