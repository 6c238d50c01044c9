//! Problems found in a definition, reported the way `ValidateStateMachineDefinition` does.
//!
//! Every diagnostic carries AWS's code (`SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`,
//! ...), a location written as AWS writes it (`/States/Choose/Choices[0]/Next`), a message that
//! names the culprit, and the byte span when the definition came from JSON text.

use std::fmt;

use crate::source::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The definition is rejected.
    Error,
    /// The definition is accepted, but something is likely wrong.
    Warning,
}

impl Severity {
    /// AWS's name for the severity.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        }
    }
}

/// AWS's diagnostic codes.
pub mod code {
    /// The definition does not fit the language's schema.
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    /// A transition names a state that does not exist, or a state is not reachable.
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    /// No state ends the workflow.
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    /// Two states have the same name.
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    /// A state name breaks the naming rules (too long).
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    /// A JSONata expression does not parse, or uses what Step Functions' JSONata 2.0 lacks.
    pub const INVALID_JSONATA_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";
    /// A JSONata expression reads something Step Functions does not offer there.
    pub const UNSUPPORTED_JSONATA_EXPRESSION: &str = "UNSUPPORTED_JSONATA_EXPRESSION";
    /// The text is not a JSON (or YAML) document.
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// AWS's code.
    pub code: &'static str,
    /// What is wrong, naming the culprit.
    pub message: String,
    /// Where, in AWS's pointer form; `None` when AWS gives no location.
    pub location: Option<String>,
    /// Where in the source text, when known.
    pub span: Option<Span>,
}

impl Diagnostic {
    /// An error with a location.
    pub fn error(
        code: &'static str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: Some(location.into()),
            span: None,
        }
    }

    /// A schema error: the most common kind.
    pub fn schema(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::error(code::SCHEMA_VALIDATION_FAILED, location, message)
    }

    /// A warning with a location.
    pub fn warning(
        code: &'static str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, location, message)
        }
    }

    /// Attaches the source span.
    pub fn with_span(mut self, span: Span) -> Self {
        if span != Span::default() {
            self.span = Some(span);
        }
        self
    }

    /// The text AWS puts in an `InvalidDefinition` message for this diagnostic:
    /// `CODE: message at /location`.
    pub fn aws_text(&self) -> String {
        match &self.location {
            Some(location) => format!("{}: {} at {}", self.code, self.message, location),
            None => format!("{}: {} at null", self.code, self.message),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.aws_text())
    }
}

/// The diagnostics of one definition, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// All of them.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message of AWS's `InvalidDefinition` error for these diagnostics.
    pub fn invalid_definition_message(&self) -> String {
        let errors: Vec<String> = self
            .0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(Diagnostic::aws_text)
            .collect();
        format!("Invalid State Machine Definition: '{}'", errors.join(", "))
    }
}
