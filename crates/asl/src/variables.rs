//! Which workflow variables a state reads that no state it can see assigns.
//!
//! A state sees the variables assigned in its own scope and in the scopes around it (a Parallel
//! branch or Map iteration reads outer variables but cannot assign them for the outside). AWS
//! accepts definitions that read a variable nobody assigns, and fails at run time, so this is a
//! warning: it points at the field before the workflow runs.

use std::collections::{HashMap, HashSet};

use crate::choice::{ChoiceRule, Operand};
use crate::definition::*;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::jsonpath::{JsonPath, PathRoot};
use crate::template::Template;

/// The code of the warning.
pub const UNASSIGNED_VARIABLE: &str = "UNASSIGNED_VARIABLE";

/// Adds a warning for every variable read where no visible state assigns it.
pub fn check(definition: &Definition, diagnostics: &mut Diagnostics) {
    let mut assigned: HashMap<ScopeId, HashSet<String>> = HashMap::new();
    for state in &definition.states {
        let names = assigned.entry(state.scope).or_default();
        let mut add = |template: &Template| collect_assigned(template, names);
        if let Some(assign) = &state.assign {
            add(assign);
        }
        match &state.kind {
            StateKind::Choice(choice) => choice
                .choices
                .iter()
                .filter_map(|c| c.assign.as_ref())
                .for_each(&mut add),
            StateKind::Task(task) => task
                .catch
                .iter()
                .filter_map(|c| c.assign.as_ref())
                .for_each(&mut add),
            StateKind::Parallel(p) => p
                .catch
                .iter()
                .filter_map(|c| c.assign.as_ref())
                .for_each(&mut add),
            StateKind::Map(m) => m
                .catch
                .iter()
                .filter_map(|c| c.assign.as_ref())
                .for_each(&mut add),
            _ => {}
        }
    }
    for state in &definition.states {
        let visible = visible(definition, state.scope, &assigned);
        for (field, name) in reads(state) {
            if !visible.contains(name.as_str()) && !visible.contains("*") {
                diagnostics.push(Diagnostic::warning(
                    UNASSIGNED_VARIABLE,
                    format!("{}/{field}", state.pointer),
                    format!("The variable '${name}' is read here, but no state this one can see assigns it"),
                ));
            }
        }
    }
}

fn visible<'a>(
    definition: &Definition,
    scope: ScopeId,
    assigned: &'a HashMap<ScopeId, HashSet<String>>,
) -> HashSet<&'a str> {
    let mut names = HashSet::new();
    let mut current = Some(scope);
    while let Some(scope) = current {
        if let Some(set) = assigned.get(&scope) {
            names.extend(set.iter().map(String::as_str));
        }
        current = definition
            .scope(scope)
            .parent
            .map(|owner| definition.state(owner).scope);
    }
    names
}

fn collect_assigned(template: &Template, names: &mut HashSet<String>) {
    match template {
        Template::Object(members) => names.extend(members.iter().map(|(k, _)| k.clone())),
        Template::Const(serde_json::Value::Object(map)) => names.extend(map.keys().cloned()),
        // An Assign computed by one expression may assign anything: nothing to check against.
        Template::Expression(_) => {
            names.insert("*".into());
        }
        _ => {}
    }
}

/// (field, variable name) for every variable the state reads.
fn reads(state: &State) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let path = |field: &'static str, path: &JsonPath, out: &mut Vec<(&'static str, String)>| {
        if let PathRoot::Variable(name) = path.root() {
            out.push((field, name.clone()));
        }
    };
    let template =
        |field: &'static str, template: &Template, out: &mut Vec<(&'static str, String)>| {
            for p in template.paths() {
                if let PathRoot::Variable(name) = p.root() {
                    out.push((field, name.clone()));
                }
            }
            collect_expression_reads(field, template, out);
        };
    if let OptionalPath::Path(p) = &state.input_path {
        path("InputPath", p, &mut out);
    }
    if let OptionalPath::Path(p) = &state.output_path {
        path("OutputPath", p, &mut out);
    }
    if let Some(t) = &state.output {
        template("Output", t, &mut out);
    }
    if let Some(t) = &state.assign {
        template("Assign", t, &mut out);
    }
    match &state.kind {
        StateKind::Pass(pass) => {
            if let Some(t) = &pass.parameters {
                template("Parameters", t, &mut out);
            }
        }
        StateKind::Task(task) => {
            if let Some(t) = &task.parameters {
                template("Parameters", t, &mut out);
            }
            if let Some(t) = &task.result_selector {
                template("ResultSelector", t, &mut out);
            }
        }
        StateKind::Parallel(p) => {
            if let Some(t) = &p.parameters {
                template("Parameters", t, &mut out);
            }
        }
        StateKind::Map(m) => {
            if let Some(t) = &m.item_selector {
                template("ItemSelector", t, &mut out);
            }
            match &m.items {
                ItemsSource::Path(p) => path("ItemsPath", p, &mut out),
                ItemsSource::Items(t) => template("Items", t, &mut out),
            }
        }
        StateKind::Choice(choice) => {
            for branch in &choice.choices {
                rule_reads(&branch.rule, &mut out);
            }
        }
        StateKind::Wait(wait) => match &wait.until {
            WaitUntil::Seconds(Seconds::Path(p)) => path("SecondsPath", p, &mut out),
            WaitUntil::TimestampPath(p) => path("TimestampPath", p, &mut out),
            WaitUntil::Seconds(Seconds::Expression(e)) => {
                out.extend(e.variables().iter().map(|v| ("Seconds", v.clone())))
            }
            WaitUntil::TimestampExpression(e) => {
                out.extend(e.variables().iter().map(|v| ("Timestamp", v.clone())))
            }
            _ => {}
        },
        StateKind::Fail(fail) => {
            for (field, text) in [("ErrorPath", &fail.error), ("CausePath", &fail.cause)] {
                match text {
                    Some(Text::Path(p)) => path(field, p, &mut out),
                    Some(Text::Intrinsic(call)) => {
                        for p in call.paths() {
                            path(field, p, &mut out);
                        }
                    }
                    Some(Text::Expression(e)) => {
                        out.extend(e.variables().iter().map(|v| (field, v.clone())))
                    }
                    _ => {}
                }
            }
        }
        StateKind::Succeed => {}
    }
    out
}

fn collect_expression_reads(
    field: &'static str,
    template: &Template,
    out: &mut Vec<(&'static str, String)>,
) {
    match template {
        Template::Expression(expression) => {
            out.extend(expression.variables().iter().map(|v| (field, v.clone())))
        }
        Template::Object(members) => members
            .iter()
            .for_each(|(_, t)| collect_expression_reads(field, t, out)),
        Template::Array(items) => items
            .iter()
            .for_each(|t| collect_expression_reads(field, t, out)),
        _ => {}
    }
}

fn rule_reads(rule: &ChoiceRule, out: &mut Vec<(&'static str, String)>) {
    match rule {
        ChoiceRule::And(rules) | ChoiceRule::Or(rules) => {
            rules.iter().for_each(|r| rule_reads(r, out))
        }
        ChoiceRule::Not(rule) => rule_reads(rule, out),
        ChoiceRule::Compare {
            variable, operand, ..
        } => {
            if let PathRoot::Variable(name) = variable.root() {
                out.push(("Choices", name.clone()));
            }
            if let Operand::Path(p) = operand
                && let PathRoot::Variable(name) = p.root()
            {
                out.push(("Choices", name.clone()));
            }
        }
        ChoiceRule::Condition(template) => collect_expression_reads("Choices", template, out),
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, parse_value};
    use serde_json::json;

    fn warnings(definition: serde_json::Value) -> Vec<String> {
        parse_value(&definition, LoadOptions::default())
            .diagnostics
            .iter()
            .filter(|d| d.code == super::UNASSIGNED_VARIABLE)
            .map(|d| d.location.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn warns_where_no_visible_state_assigns() {
        let definition = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"inner": 2}, "Parameters": {"x.$": "$x"}, "End": true}
            }}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"a.$": "$x", "b.$": "$inner", "c.$": "$nobody"}, "End": true}
        }});
        assert_eq!(
            warnings(definition),
            vec!["/States/B/Parameters", "/States/B/Parameters"]
        );
    }

    #[test]
    fn warnings_do_not_reject() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Output": "{% $missing %}", "End": true}
        }});
        let parsed = parse_value(&definition, LoadOptions::default());
        assert!(parsed.definition.is_some());
        assert_eq!(warnings(definition), vec!["/States/A/Output"]);
    }
}
