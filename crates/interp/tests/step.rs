//! The interpreter driven by hand: events in, commands out, with a fixed clock.
//!
//! These tests exercise what the recorded conformance cases cannot: task timeouts, heartbeats,
//! retry back-off arithmetic, cancellation of sibling branches, stops and execution timeouts.

mod common;

use aslan_asl::{Definition, LoadOptions};
use aslan_interp::{
    Command, Env, Event, Execution, ExecutionInfo, Options, Outcome, TaskId, TaskRequest, TimerId,
};
use common::{definition, event_types, execution};
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000_000;

fn at(now: i64) -> Env {
    Env { now }
}

fn tasks(commands: &[Command]) -> Vec<&TaskRequest> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::ScheduleTask(request) => Some(request.as_ref()),
            _ => None,
        })
        .collect()
}

fn timers(commands: &[Command]) -> Vec<(TimerId, i64)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::StartTimer { timer, fire_at } => Some((*timer, *fire_at)),
            _ => None,
        })
        .collect()
}

fn outcome(commands: &[Command]) -> Option<&Outcome> {
    commands.iter().find_map(|c| match c {
        Command::Finish(outcome) => Some(outcome),
        _ => None,
    })
}

fn task_machine(extra: Value) -> Value {
    let mut task =
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    if let (Some(task), Some(extra)) = (task.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            task.insert(k.clone(), v.clone());
        }
    }
    let has_catch = task.get("Catch").is_some();
    let mut states = json!({"T": task});
    if has_catch {
        states["Caught"] = json!({"Type": "Pass", "End": true});
    }
    json!({"StartAt": "T", "States": states})
}

#[test]
fn task_result_goes_through_selector_result_path_and_output_path() {
    let def = definition(task_machine(json!({
        "Parameters": {"id.$": "$.id", "fixed": 1},
        "ResultSelector": {"value.$": "$.Payload.v"},
        "ResultPath": "$.r",
        "OutputPath": "$.r"
    })));
    let mut exec = execution();
    let commands = exec.handle(
        &def,
        Event::Start {
            input: json!({"id": 7}),
        },
        &at(T0),
    );
    let scheduled = tasks(&commands);
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].parameters, json!({"id": 7, "fixed": 1}));
    let task = scheduled[0].id;
    let commands = exec.handle(
        &def,
        Event::TaskSucceeded {
            task,
            output: json!({"Payload": {"v": 42}}),
        },
        &at(T0 + 5),
    );
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Succeeded(json!({"value": 42})))
    );
}

#[test]
fn retry_backs_off_exponentially_with_a_cap() {
    let def = definition(task_machine(json!({
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 3, "MaxDelaySeconds": 10}]
    })));
    let mut exec = execution();
    let mut now = T0;
    let mut commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(now));
    let mut delays = Vec::new();
    for attempt in 0..3 {
        let task = tasks(&commands)[0].id;
        assert_eq!(tasks(&commands)[0].retry_count, attempt);
        commands = exec.handle(
            &def,
            Event::TaskFailed {
                task,
                error: "Boom".into(),
                cause: "c".into(),
            },
            &at(now),
        );
        let (timer, fire_at) = timers(&commands)[0];
        delays.push(fire_at - now);
        now = fire_at;
        commands = exec.handle(&def, Event::TimerFired { timer }, &at(now));
    }
    // 2 s, then 2*3 = 6 s, then 2*9 = 18 s capped at 10 s.
    assert_eq!(delays, vec![2_000, 6_000, 10_000]);
    let task = tasks(&commands)[0].id;
    let commands = exec.handle(
        &def,
        Event::TaskFailed {
            task,
            error: "Boom".into(),
            cause: "c".into(),
        },
        &at(now),
    );
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Failed {
            error: "Boom".into(),
            cause: "c".into()
        })
    );
}

#[test]
fn full_jitter_never_exceeds_the_delay() {
    let def = definition(task_machine(json!({
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 8, "MaxAttempts": 1, "JitterStrategy": "FULL"}]
    })));
    for seed in 0..20 {
        let mut exec = Execution::new(
            ExecutionInfo::default(),
            Options {
                seed,
                ..Options::default()
            },
        );
        let commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
        let task = tasks(&commands)[0].id;
        let commands = exec.handle(
            &def,
            Event::TaskFailed {
                task,
                error: "X".into(),
                cause: String::new(),
            },
            &at(T0),
        );
        let (_, fire_at) = timers(&commands)[0];
        assert!(
            (T0..=T0 + 8_000).contains(&fire_at),
            "seed {seed}: {fire_at}"
        );
    }
}

#[test]
fn catch_puts_error_and_cause_at_its_result_path() {
    let def = definition(task_machine(json!({
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}]
    })));
    let mut exec = execution();
    let commands = exec.handle(
        &def,
        Event::Start {
            input: json!({"keep": true}),
        },
        &at(T0),
    );
    let task = tasks(&commands)[0].id;
    let commands = exec.handle(
        &def,
        Event::TaskFailed {
            task,
            error: "Lambda.Unknown".into(),
            cause: "bad".into(),
        },
        &at(T0),
    );
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Succeeded(
            json!({"keep": true, "error": {"Error": "Lambda.Unknown", "Cause": "bad"}})
        ))
    );
    let types = event_types(&commands);
    assert_eq!(
        types,
        [
            "TaskFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn task_failed_does_not_catch_timeouts_but_all_does() {
    for (names, caught) in [
        (json!(["States.TaskFailed"]), false),
        (json!(["States.ALL"]), true),
        (json!(["States.Timeout"]), true),
    ] {
        let def = definition(task_machine(
            json!({"TimeoutSeconds": 5, "Catch": [{"ErrorEquals": names, "Next": "Caught"}]}),
        ));
        let mut exec = execution();
        let commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
        let (timer, fire_at) = timers(&commands)[0];
        assert_eq!(fire_at, T0 + 5_000);
        let commands = exec.handle(&def, Event::TimerFired { timer }, &at(fire_at));
        assert!(commands.iter().any(|c| matches!(c, Command::CancelTask(_))));
        assert!(event_types(&commands).contains(&"TaskTimedOut".to_owned()));
        match outcome(&commands) {
            Some(Outcome::Succeeded(_)) => assert!(caught),
            Some(Outcome::Failed { error, .. }) => {
                assert!(!caught);
                assert_eq!(error, "States.Timeout");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn heartbeats_keep_a_task_alive() {
    let def = definition(task_machine(
        json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 10}),
    ));
    let mut exec = execution();
    let commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
    let task = tasks(&commands)[0].id;
    let heartbeat_timer = timers(&commands)
        .into_iter()
        .find(|(_, at)| *at == T0 + 10_000)
        .expect("heartbeat timer")
        .0;
    let commands = exec.handle(&def, Event::TaskHeartbeat { task }, &at(T0 + 9_000));
    assert!(commands.contains(&Command::CancelTimer(heartbeat_timer)));
    let (new_timer, fire_at) = timers(&commands)[0];
    assert_eq!(fire_at, T0 + 19_000);
    // The old timer firing late is ignored; the new one times the task out.
    assert!(
        exec.handle(
            &def,
            Event::TimerFired {
                timer: heartbeat_timer
            },
            &at(T0 + 10_000)
        )
        .is_empty()
    );
    let commands = exec.handle(&def, Event::TimerFired { timer: new_timer }, &at(fire_at));
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Failed {
            error: "States.HeartbeatTimeout".into(),
            cause: String::new()
        })
    );
}

#[test]
fn a_failing_branch_cancels_its_siblings() {
    let def = definition(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
        ]}}
    }));
    let mut exec = execution();
    let commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
    let scheduled: Vec<TaskId> = tasks(&commands).iter().map(|t| t.id).collect();
    assert_eq!(scheduled.len(), 2);
    let commands = exec.handle(
        &def,
        Event::TaskFailed {
            task: scheduled[0],
            error: "E".into(),
            cause: "C".into(),
        },
        &at(T0),
    );
    assert!(commands.contains(&Command::CancelTask(scheduled[1])));
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Failed {
            error: "E".into(),
            cause: "C".into()
        })
    );
}

#[test]
fn map_respects_max_concurrency_and_keeps_order() {
    let def = definition(json!({
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true, "ItemProcessor": {
            "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}
        }}}
    }));
    let mut exec = execution();
    let mut commands = exec.handle(
        &def,
        Event::Start {
            input: json!([1, 2, 3]),
        },
        &at(T0),
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let scheduled = tasks(&commands);
        assert_eq!(scheduled.len(), 1, "one iteration at a time");
        seen.push(scheduled[0].parameters.clone());
        let task = scheduled[0].id;
        let output = json!({"double": scheduled[0].parameters.as_i64().unwrap_or(0) * 2});
        commands = exec.handle(&def, Event::TaskSucceeded { task, output }, &at(T0));
    }
    assert_eq!(seen, vec![json!(1), json!(2), json!(3)]);
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Succeeded(
            json!([{"double": 2}, {"double": 4}, {"double": 6}])
        ))
    );
}

#[test]
fn waits_fire_at_the_right_time() {
    let def = definition(json!({
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 3600, "Next": "W2"},
            "W2": {"Type": "Wait", "TimestampPath": "$.until", "Next": "W3"},
            "W3": {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "End": true}
        }
    }));
    let mut exec = execution();
    let commands = exec.handle(
        &def,
        Event::Start {
            input: json!({"until": "2030-01-01T00:00:00Z"}),
        },
        &at(T0),
    );
    let (timer, fire_at) = timers(&commands)[0];
    assert_eq!(fire_at, T0 + 3_600_000);
    let commands = exec.handle(&def, Event::TimerFired { timer }, &at(fire_at));
    let (timer, fire_at) = timers(&commands)[0];
    assert_eq!(fire_at, 1_893_456_000_000);
    let commands = exec.handle(&def, Event::TimerFired { timer }, &at(fire_at));
    // A timestamp in the past fires at once (the engine sees a time before now).
    let (timer, past) = timers(&commands)[0];
    assert!(past < fire_at);
    let commands = exec.handle(&def, Event::TimerFired { timer }, &at(fire_at));
    assert!(matches!(outcome(&commands), Some(Outcome::Succeeded(_))));
}

#[test]
fn execution_timeout_and_stop() {
    let def = definition(json!({
        "TimeoutSeconds": 60,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}
    }));
    let mut exec = execution();
    let commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
    let (timeout, fire_at) = timers(&commands)
        .into_iter()
        .min_by_key(|(_, at)| *at)
        .expect("timer");
    assert_eq!(fire_at, T0 + 60_000);
    let commands = exec.handle(&def, Event::TimerFired { timer: timeout }, &at(fire_at));
    assert!(
        matches!(outcome(&commands), Some(Outcome::TimedOut { error, .. }) if error == "States.Timeout")
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::CancelTimer(_)))
    );

    let mut exec = execution();
    exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
    let commands = exec.handle(
        &def,
        Event::Stop {
            error: Some("E".into()),
            cause: None,
        },
        &at(T0 + 1),
    );
    assert_eq!(
        outcome(&commands),
        Some(&Outcome::Aborted {
            error: Some("E".into()),
            cause: None
        })
    );
    // Nothing happens after the end.
    assert!(
        exec.handle(&def, Event::TimerFired { timer: TimerId(1) }, &at(T0 + 2))
            .is_empty()
    );
}

#[test]
fn the_same_events_give_the_same_commands() {
    let def = definition(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()", "n.$": "States.MathRandom(1, 1000)"}, "End": true}}
    }));
    let run = || {
        let mut exec = execution();
        exec.handle(&def, Event::Start { input: json!({}) }, &at(T0))
    };
    assert_eq!(run(), run());
}

#[test]
fn runaway_loops_stop_at_the_transition_limit() {
    // A state that only loops to itself has no terminal state and is rejected up front.
    assert!(
        aslan_asl::parse_value(
            &json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}),
            LoadOptions::default()
        )
        .definition
        .is_none()
    );
    let looping = definition(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "A"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let mut exec = Execution::new(
        ExecutionInfo::default(),
        Options {
            max_transitions: Some(1_000),
            ..Options::default()
        },
    );
    let commands = exec.handle(&looping, Event::Start { input: json!({}) }, &at(T0));
    assert!(
        matches!(outcome(&commands), Some(Outcome::Failed { error, .. }) if error == "States.Runtime")
    );
    assert_eq!(exec.transitions(), 1_001);
}

#[test]
fn express_executions_time_out_after_five_minutes() {
    let def = definition(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let mut exec = Execution::new(
        ExecutionInfo {
            express: true,
            ..ExecutionInfo::default()
        },
        Options::default(),
    );
    let commands = exec.handle(&def, Event::Start { input: json!({}) }, &at(T0));
    let earliest = timers(&commands).into_iter().map(|(_, at)| at).min();
    assert_eq!(earliest, Some(T0 + 300_000));
}

#[test]
fn the_history_limit_fails_the_execution() {
    let looping = definition(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "A"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let mut exec = Execution::new(
        ExecutionInfo::default(),
        Options {
            max_history_events: Some(25_000),
            ..Options::default()
        },
    );
    let commands = exec.handle(&looping, Event::Start { input: json!({}) }, &at(T0));
    match outcome(&commands) {
        Some(Outcome::Failed { error, cause }) => {
            assert_eq!(error, "States.Runtime");
            assert!(cause.contains("25000"), "{cause}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The check runs as each state is entered, so the failure lands within one state of the limit.
    assert!(exec.event_count() <= 25_002, "{}", exec.event_count());
}

#[test]
fn variables_hold_at_most_256_kib() {
    let def = definition(json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Assign": {"big.$": "$.text"}, "End": true}}
    }));
    let mut exec = execution();
    let commands = exec.handle(
        &def,
        Event::Start {
            input: json!({"text": "x".repeat(200_000)}),
        },
        &at(T0),
    );
    assert!(matches!(outcome(&commands), Some(Outcome::Succeeded(_))));
    let mut exec = execution();
    let huge = json!({"text": "x".repeat(300_000)});
    let commands = exec.handle(&def, Event::Start { input: huge }, &at(T0));
    assert!(
        matches!(outcome(&commands), Some(Outcome::Failed { error, .. }) if error == "States.DataLimitExceeded")
    );
}

/// Runs an execution to its end, firing each timer as soon as it is set.
fn run_firing_timers(def: &Definition, input: Value) -> Outcome {
    let mut exec = execution();
    let mut commands = exec.handle(def, Event::Start { input }, &at(T0));
    let mut pending = std::collections::VecDeque::new();
    loop {
        if let Some(outcome) = outcome(&commands) {
            return outcome.clone();
        }
        pending.extend(timers(&commands).into_iter().map(|(timer, _)| timer));
        let timer = pending.pop_front().expect("a timer to fire");
        commands = exec.handle(def, Event::TimerFired { timer }, &at(T0 + 1_000));
    }
}

fn failed_with(outcome: &Outcome, expected: &str, cause_part: &str) -> bool {
    matches!(outcome, Outcome::Failed { error, cause } if error == expected && cause.contains(cause_part))
}

#[test]
fn one_assign_holds_at_most_256_kib_in_all() {
    let half = json!({"half": "x".repeat(150_000)});
    let together = definition(json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Assign": {"a.$": "$.half", "b.$": "$.half"}, "End": true}}
    }));
    let outcome = run_firing_timers(&together, half.clone());
    assert!(
        failed_with(&outcome, "States.DataLimitExceeded", "one Assign"),
        "{outcome:?}"
    );
    let apart = definition(json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"a.$": "$.half"}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"b.$": "$.half"}, "End": true}
        }
    }));
    assert!(matches!(
        run_firing_timers(&apart, half),
        Outcome::Succeeded(_)
    ));
}

/// A chain of Pass states, each assigning a 200 KB variable named by `name(i)`.
fn assigning_chain(states: usize, name: impl Fn(usize) -> String) -> Definition {
    let mut chain = serde_json::Map::new();
    for i in 0..states {
        let mut state = json!({"Type": "Pass", "Assign": {format!("{}.$", name(i)): "$.text"}});
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        chain.insert(format!("S{i}"), state);
    }
    definition(json!({"StartAt": "S0", "States": chain}))
}

#[test]
fn an_execution_holds_at_most_10_mib_of_variables() {
    let input = json!({"text": "x".repeat(200_000)});
    // 52 variables of 200,002 bytes fit in 10 MiB (10,485,760 bytes); the 53rd does not.
    let many = assigning_chain(60, |i| format!("v{i}"));
    let outcome = run_firing_timers(&many, input.clone());
    assert!(
        failed_with(&outcome, "States.DataLimitExceeded", "10485760"),
        "{outcome:?}"
    );
    let fits = assigning_chain(52, |i| format!("v{i}"));
    assert!(matches!(
        run_firing_timers(&fits, input.clone()),
        Outcome::Succeeded(_)
    ));
    // Assigning a variable again replaces its value: the total does not grow.
    let same = assigning_chain(60, |_| "v".to_owned());
    assert!(matches!(
        run_firing_timers(&same, input),
        Outcome::Succeeded(_)
    ));
}

#[test]
fn the_variables_of_an_iteration_are_freed_when_it_ends() {
    let map = |concurrency: u64| {
        definition(json!({
            "StartAt": "M",
            "States": {"M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"text.$": "$.text"},
                "MaxConcurrency": concurrency,
                "ItemProcessor": {
                    "StartAt": "A",
                    "States": {
                        "A": {"Type": "Pass", "Assign": {"mine.$": "$.text"}, "Next": "W"},
                        "W": {"Type": "Wait", "Seconds": 1, "Next": "Z"},
                        "Z": {"Type": "Pass", "Result": "ok", "End": true}
                    }
                },
                "End": true
            }}
        }))
    };
    let input = json!({"items": vec![0; 60], "text": "x".repeat(200_000)});
    // Sixty iterations waiting at once would hold 12 MB of variables.
    let outcome = run_firing_timers(&map(0), input.clone());
    assert!(
        failed_with(&outcome, "States.DataLimitExceeded", "10485760"),
        "{outcome:?}"
    );
    // Ten at a time hold 2 MB; each frees its variable as it ends.
    let outcome = run_firing_timers(&map(10), input);
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
}
