//! Definition text (JSON, JSON with comments, YAML) → `aslan_asl::parse`, for STANDARD and
//! EXPRESS. Loading must never panic, a definition must exist exactly when there are no errors,
//! and every definition the validator accepts is run to its end in process (virtual time, no
//! task integrations, at most 10,000 transitions) with the input `{}`.

#![no_main]

use std::sync::Arc;

use aslan_asl::{Definition, LoadOptions, MachineType};
use aslan_engine::{NoHandler, RunOptions, VirtualClock};
use aslan_interp::{ExecutionInfo, Options};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for machine_type in [MachineType::Standard, MachineType::Express] {
        let parsed = aslan_asl::parse(text, LoadOptions { machine_type });
        assert_eq!(
            parsed.definition.is_some(),
            !parsed.diagnostics.has_errors(),
            "a definition must exist exactly when there are no errors: {:?}",
            parsed.diagnostics
        );
        for diagnostic in parsed.diagnostics.iter() {
            let _ = diagnostic.aws_text();
        }
        if let Some(definition) = parsed.definition {
            run(&definition, machine_type == MachineType::Express);
        }
    }
});

fn run(definition: &Definition, express: bool) {
    let start = 1_700_000_000_000;
    let execution_arn = if express {
        "arn:aws:states:us-east-1:111111111111:express:Fuzz:fuzz-execution:7c9e6679-7425-40de-944b-e07fc1f90ae7"
    } else {
        "arn:aws:states:us-east-1:111111111111:execution:Fuzz:fuzz-execution"
    };
    let info = ExecutionInfo {
        execution_arn: execution_arn.into(),
        express,
        execution_name: "fuzz-execution".into(),
        state_machine_arn: "arn:aws:states:us-east-1:111111111111:stateMachine:Fuzz".into(),
        state_machine_name: "Fuzz".into(),
        role_arn: "arn:aws:iam::111111111111:role/aslan-fuzz".into(),
        region: "us-east-1".into(),
        start_time: start,
        redrive_count: 0,
    };
    let options = RunOptions {
        info,
        interp: Options {
            record_history: true,
            max_transitions: Some(10_000),
            ..Options::default()
        },
        on_event: None,
        keep_history: true,
    };
    let clock = VirtualClock::new(start);
    let input = Value::Object(Map::new());
    let result =
        aslan_engine::run_blocking(definition, input, options, &clock, Arc::new(NoHandler))
            .expect("a current-thread runtime can be built");
    std::hint::black_box(result);
}
