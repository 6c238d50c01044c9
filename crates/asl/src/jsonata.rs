//! JSONata expressions as they appear in definitions: `"{% expression %}"`.
//!
//! This module recognises and keeps the expressions. Parsing and evaluating JSONata itself
//! belongs to its own crate (issue #6); until then the interpreter reports
//! `States.QueryEvaluationError` when it meets one.

/// One `{% ... %}` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    source: String,
}

impl Expression {
    /// Recognises `{% ... %}`; `None` for any other string, which AWS treats as a literal.
    pub fn recognise(text: &str) -> Option<Expression> {
        let inner = text.strip_prefix("{%")?.strip_suffix("%}")?;
        Some(Expression {
            source: inner.trim().to_owned(),
        })
    }

    /// The expression without its delimiters.
    pub fn source(&self) -> &str {
        &self.source
    }
}
