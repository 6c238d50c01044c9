//! Payload templates: `Parameters`, `ItemSelector`, `ResultSelector`, `Arguments`, `Output`,
//! `Assign`, compiled once.
//!
//! A template is a JSON document in which some values are computed: with JSONPath, keys ending in
//! `.$` take a path or an intrinsic call; with JSONata, any string `{% ... %}` is an expression.
//! Constant subtrees are kept as one [`Template::Const`] so that evaluation clones them whole.

use serde_json::Value;

use crate::intrinsics::Intrinsic;
use crate::jsonata::Expression;
use crate::jsonpath::JsonPath;

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value with nothing to compute.
    Const(Value),
    /// An object with at least one computed member; keys are final (no `.$`).
    Object(Vec<(String, Template)>),
    /// An array with at least one computed element.
    Array(Vec<Template>),
    /// A JSONPath (`"key.$": "$.path"`).
    Path(JsonPath),
    /// An intrinsic function call (`"key.$": "States.Format(...)"`).
    Intrinsic(Box<Intrinsic>),
    /// A JSONata expression.
    Expression(Expression),
}

impl Template {
    /// True when nothing needs computing.
    pub fn is_const(&self) -> bool {
        matches!(self, Template::Const(_))
    }

    /// Every JSONPath the template reads, including those inside intrinsic calls.
    pub fn paths(&self) -> Vec<&JsonPath> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a JsonPath>) {
        match self {
            Template::Const(_) | Template::Expression(_) => {}
            Template::Object(members) => members.iter().for_each(|(_, t)| t.collect_paths(out)),
            Template::Array(items) => items.iter().for_each(|t| t.collect_paths(out)),
            Template::Path(path) => out.push(path),
            Template::Intrinsic(call) => out.extend(call.paths()),
        }
    }
}
