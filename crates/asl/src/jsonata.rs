//! JSONata expressions as they appear in definitions: `"{% expression %}"`.
//!
//! An [`Expression`] is recognised and parsed once, when the definition is loaded; the loader
//! turns its problems into diagnostics (`INVALID_JSONATA_EXPRESSION`,
//! `UNSUPPORTED_JSONATA_EXPRESSION`). Evaluation goes through the `aslan-jsonata` facade.

use aslan_jsonata as jsonata;

use crate::diagnostics::code;

/// Which members of `$states` an expression can read, so that evaluation builds only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatesReads {
    /// `$states.input`.
    pub input: bool,
    /// `$states.context`.
    pub context: bool,
    /// `$states.result`.
    pub result: bool,
    /// `$states.errorOutput`.
    pub error_output: bool,
}

/// One `{% ... %}` expression.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    compiled: Result<jsonata::Expression, jsonata::Error>,
    variables: Vec<String>,
    states: StatesReads,
    direct: Option<Direct>,
}

/// An expression that is only a path into `$states`: `$states.input.a.b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Direct {
    /// `input`, `context`, `result` or `errorOutput`.
    pub member: String,
    /// The field names after the member.
    pub keys: Vec<String>,
}

/// Recognises `$states.member.key.key...` with plain identifiers only.
fn direct_path(source: &str) -> Option<Direct> {
    let rest = source.strip_prefix("$states.")?;
    let mut parts = rest.split('.');
    let member = parts.next()?;
    if !matches!(member, "input" | "context" | "result" | "errorOutput") {
        return None;
    }
    let keys: Vec<String> = parts.map(str::to_owned).collect();
    let plain = |key: &str| {
        let mut chars = key.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    keys.iter().all(|k| plain(k)).then(|| Direct {
        member: member.to_owned(),
        keys,
    })
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Expression {
    /// Recognises `{% ... %}` and parses it; `None` for any other string, which AWS treats as
    /// a literal. A parse error is kept for the loader to report.
    pub fn recognise(text: &str) -> Option<Expression> {
        let inner = text.strip_prefix("{%")?.strip_suffix("%}")?;
        let source = inner.trim().to_owned();
        let compiled = jsonata::Expression::parse(&source);
        let variables = match &compiled {
            Ok(expression) => expression
                .free_variables()
                .into_iter()
                .filter(|name| name != "states")
                .collect(),
            Err(_) => Vec::new(),
        };
        // Reading `$states` other than through `.member` (e.g. `$keys($states)`) needs all of it.
        let whole = source
            .match_indices("$states")
            .any(|(at, _)| !source[at + "$states".len()..].starts_with('.'));
        let reads = |member: &str| whole || source.contains(&format!("$states.{member}"));
        let states = StatesReads {
            input: reads("input"),
            context: reads("context"),
            result: reads("result"),
            error_output: reads("errorOutput"),
        };
        let direct = compiled.as_ref().ok().and_then(|_| direct_path(&source));
        Some(Expression {
            source,
            compiled,
            variables,
            states,
            direct,
        })
    }

    /// The expression without its delimiters.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parsed expression, or why it does not parse.
    pub fn compiled(&self) -> Result<&jsonata::Expression, &jsonata::Error> {
        self.compiled.as_ref()
    }

    /// The workflow variables it reads (free variables other than `$states`).
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// The path into `$states` the expression is, when it is nothing more: the interpreter
    /// reads it in place instead of building `$states`.
    pub fn direct(&self) -> Option<&Direct> {
        self.direct.as_ref()
    }

    /// The members of `$states` it reads.
    pub fn states_reads(&self) -> StatesReads {
        self.states
    }

    /// Problems AWS reports when the definition is created, as (code, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let expression = match &self.compiled {
            Ok(expression) => expression,
            Err(error) => return vec![(code::INVALID_JSONATA_EXPRESSION, error.message.clone())],
        };
        let mut problems = Vec::new();
        if let Err(error) = expression.check_aws_subset() {
            problems.push((code::INVALID_JSONATA_EXPRESSION, error.message));
        }
        for read in expression.top_level_input_reads() {
            let message = if read == "$$" {
                "Reference to '$$' is not supported.".to_owned()
            } else {
                format!("Reference to '{read}' at the top level is not supported.")
            };
            problems.push((code::UNSUPPORTED_JSONATA_EXPRESSION, message));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_and_reports() {
        assert!(Expression::recognise("plain").is_none());
        assert!(Expression::recognise("{% 1 + %}").is_some_and(|e| !e.problems().is_empty()));
        let good = Expression::recognise("{% $states.input.a + $x %}").expect("recognised");
        assert!(good.problems().is_empty());
        assert_eq!(good.variables(), ["x"]);
        assert!(good.states_reads().input && !good.states_reads().context);
        let bare = Expression::recognise("{% phone %}").expect("recognised");
        assert_eq!(bare.problems()[0].0, "UNSUPPORTED_JSONATA_EXPRESSION");
        let whole = Expression::recognise("{% $keys($states) %}").expect("recognised");
        assert!(whole.states_reads().result);
    }
}
