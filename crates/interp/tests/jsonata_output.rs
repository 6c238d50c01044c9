//! The interpreter's shortcuts for JSONata states (paths into `$states` read in place, values
//! moved from the input into `Output`, `$merge([$states.input, ...])` extending the input)
//! must give what evaluating every expression through jsonata-core gives.

mod common;

use aslan_asl::Definition;
use aslan_interp::{Command, Env, Event, Execution, ExecutionInfo, Options, Outcome};
use aslan_jsonata::{Binding, Expression};
use common::{definition, first_task};
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000_000;

fn run(definition: &Definition, input: Value) -> Outcome {
    let mut execution = Execution::new(
        ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:e".into(),
            execution_name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
            state_machine_name: "M".into(),
            start_time: T0,
            ..Default::default()
        },
        Options::default(),
    );
    let commands = execution.handle(definition, Event::Start { input }, &Env { now: T0 });
    commands
        .into_iter()
        .find_map(|command| match command {
            Command::Finish(outcome) => Some(outcome),
            _ => None,
        })
        .expect("a Pass-only execution finishes at once")
}

/// The value of `template` for a state whose input is `input`, every expression evaluated by
/// jsonata-core with `$states.input` converted whole; `Err` when one fails or is undefined.
fn reference(template: &Value, input: &Value) -> Result<Value, String> {
    match template {
        Value::String(text) if text.starts_with("{%") && text.ends_with("%}") => {
            let source = text[2..text.len() - 2].trim();
            let expression = Expression::parse(source).map_err(|e| e.to_string())?;
            let members = [("input", Binding::Value(input))];
            let bindings = [("states", Binding::Members(&members))];
            let mut random = || 7u64;
            let mut env = aslan_jsonata::Env::new(T0, &mut random);
            match expression.evaluate_general(None, &bindings, &mut env) {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err("undefined".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                out.insert(key.clone(), reference(value, input)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items.iter().map(|item| reference(item, input)).collect(),
        other => Ok(other.clone()),
    }
}

#[test]
fn outputs_agree_with_jsonata_core() {
    let inputs = [
        // Numbers that JSONata rewrites (1.0 is 1, 2^53 + 1 is rounded), nested.
        json!({"id": "a", "n": 1.0, "big": 9007199254740993u64, "s": "t",
               "keep": {"a": 1.5, "b": [1, 2.0, {"c": 3.0}]},
               "arr": [{"x": 1}, {"x": 2.0}]}),
        json!({"id": "b", "n": 2, "keep": {"a": 1, "b": [1, 2]}, "cur": {"step": 1},
               "arr": [{"x": 3}]}),
    ];
    let templates = [
        json!({"id": "{% $states.input.id %}", "keep": "{% $states.input.keep %}",
               "again": "{% $states.input.keep %}", "inner": "{% $states.input.keep.b %}",
               "n": "{% $states.input.n %}", "c": 1.0}),
        json!(
            "{% $merge([$states.input, {'r': {'n': $states.input.n, 'k': $states.input.keep}}]) %}"
        ),
        json!("{% $states.input.keep %}"),
        json!({"list": ["{% $states.input.keep %}", "{% $states.input.arr %}", 2.5],
               "x": "{% $states.input.arr.x %}"}),
        json!("{% ($r := $states.input.arr[0]; $merge([$states.input, {'first': $r}])) %}"),
        json!({"big": "{% $states.input.big %}", "nested": {"b": "{% $states.input.keep.b %}"},
               "whole": "{% $states.input %}"}),
        json!({"missing": "{% $states.input.nothing %}"}),
        json!({"keep": "{% $states.input.keep %}", "id": "{% $states.input.id %}",
               "arr": "{% $states.input.arr %}", "n": 3}),
        // The keys of the second input, in its order: the output is written over it.
        json!({"id": "{% $states.input.n %}", "n": "{% $states.input.id %}",
               "keep": "{% $states.input.arr %}", "cur": "{% $states.input.keep %}",
               "arr": "{% $states.input %}"}),
        json!({"id": "{% $states.input.id %}", "n": "{% $states.input.n + 1 %}",
               "keep": {"a": "{% $states.input.keep.b %}", "b": "{% $states.input.keep.a %}"},
               "cur": "{% $states.input.cur %}", "arr": "{% $states.input.arr %}"}),
        // The input's object at "keep" is moved away, so the "keep" object is made anew.
        json!({"id": "{% $states.input.id %}", "n": 1, "keep": {"a": 1, "b": 2},
               "cur": "{% $states.input.keep %}", "arr": ["{% $states.input.arr %}", {"x": 1.0}]}),
    ];
    let mut checked = 0;
    for input in &inputs {
        for first in &templates {
            for second in &templates {
                let machine = definition(json!({
                    "QueryLanguage": "JSONata",
                    "StartAt": "First",
                    "States": {
                        "First": {"Type": "Pass", "Output": first, "Next": "Second"},
                        "Second": {"Type": "Pass", "Output": second, "End": true}
                    }
                }));
                let expected = reference(first, input).and_then(|out| reference(second, &out));
                let outcome = run(&machine, input.clone());
                match (&expected, &outcome) {
                    (Ok(want), Outcome::Succeeded(got)) => assert_eq!(got, want),
                    (Err(_), Outcome::Failed { error, .. }) => {
                        assert_eq!(error, "States.QueryEvaluationError");
                    }
                    _ => panic!(
                        "{first} then {second} on {input}: expected {expected:?}, got {outcome:?}"
                    ),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, inputs.len() * templates.len() * templates.len());
}

/// A Task's `Output` takes parts of `$states.result` (moved) and of `$states.input`.
#[test]
fn task_outputs_take_parts_of_the_result() {
    let machine = definition(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Output": {
                "payload": "{% $states.result.Payload %}",
                "again": "{% $states.result.Payload %}",
                "items": "{% $states.result.Payload.items %}",
                "id": "{% $states.input.id %}"
            },
            "End": true
        }}
    }));
    let mut execution = Execution::new(ExecutionInfo::default(), Options::default());
    let input = json!({"id": 7});
    let commands = execution.handle(&machine, Event::Start { input }, &Env { now: T0 });
    let task = first_task(&commands).id;
    let output = json!({"Payload": {"items": [1.0, {"v": 2.5}], "n": 3}});
    let commands = execution.handle(
        &machine,
        Event::TaskSucceeded { task, output },
        &Env { now: T0 + 5 },
    );
    let payload = json!({"items": [1, {"v": 2.5}], "n": 3});
    let expected = json!({
        "payload": payload,
        "again": payload,
        "items": [1, {"v": 2.5}],
        "id": 7
    });
    assert!(
        commands
            .iter()
            .any(|command| matches!(command, Command::Finish(Outcome::Succeeded(out)) if *out == expected)),
        "{commands:?}"
    );
}

/// Parts moved into an `Output` are not measured one by one, but the payload limit still
/// holds for the output they make.
#[test]
fn moved_parts_count_towards_the_payload_limit() {
    let machine = |output: Value| {
        definition(json!({
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Output": output, "Next": "B"},
                "B": {"Type": "Pass", "Output": {"big": "{% $states.input.big %}"}, "End": true}
            }
        }))
    };
    let input = json!({"big": {"text": "x".repeat(150_000)}, "n": 1});
    let once = machine(json!({"big": "{% $states.input.big %}", "n": 2}));
    assert!(matches!(run(&once, input.clone()), Outcome::Succeeded(_)));
    let twice =
        machine(json!({"big": "{% $states.input.big %}", "again": "{% $states.input.big %}"}));
    assert!(matches!(
        run(&twice, input),
        Outcome::Failed { error, .. } if error == "States.DataLimitExceeded"
    ));
}
