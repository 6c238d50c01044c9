//! JSONata expressions as they appear in definitions: `"{% expression %}"`.
//!
//! An [`Expression`] is recognised and parsed once, when the definition is loaded; the loader
//! turns its problems into diagnostics (`INVALID_JSONATA_EXPRESSION`,
//! `UNSUPPORTED_JSONATA_EXPRESSION`). Evaluation goes through the `aslan-jsonata` facade.

use aslan_jsonata as jsonata;

use crate::diagnostics::code;

/// Which members of `$states` an expression can read, so that evaluation binds only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatesReads {
    /// `$states.input`.
    pub input: bool,
    /// `$states.context`, by part.
    pub context: ContextReads,
    /// `$states.result`.
    pub result: bool,
    /// `$states.errorOutput`.
    pub error_output: bool,
}

/// Which parts of `$states.context` an expression can read: building the others (formatting
/// timestamps, copying names) would be wasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContextReads {
    /// `Execution` (`Id`, `Name`, `RoleArn`, `StartTime`, `RedriveCount`).
    pub execution: bool,
    /// `Execution.Input`, the execution's whole input.
    pub execution_input: bool,
    /// `State` (`EnteredTime`, `Name`, `RetryCount`).
    pub state: bool,
    /// `StateMachine` (`Id`, `Name`).
    pub state_machine: bool,
    /// `Task` (`Token`).
    pub task: bool,
    /// `Map` (`Item.Index`, `Item.Value`).
    pub map: bool,
}

impl ContextReads {
    /// Whether any part is read.
    pub fn any(&self) -> bool {
        self.execution || self.state || self.state_machine || self.task || self.map
    }
}

/// An expression that is only a path of field names into a member of `$states` the
/// interpreter holds as a value: `$states.input.order.id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatesPath {
    pub member: StatesMember,
    /// The field names after the member.
    pub keys: Vec<String>,
}

/// A member of `$states` that is one value (the context is assembled from parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatesMember {
    Input,
    Result,
    ErrorOutput,
}

/// One `{% ... %}` expression.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    compiled: Result<jsonata::Expression, jsonata::Error>,
    variables: Vec<String>,
    states: StatesReads,
    path: Option<StatesPath>,
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
        let states = match &compiled {
            Ok(expression) => {
                let reads = |keys: &[&str]| expression.can_read("states", keys);
                StatesReads {
                    input: reads(&["input"]),
                    context: ContextReads {
                        execution: reads(&["context", "Execution"]),
                        execution_input: reads(&["context", "Execution", "Input"]),
                        state: reads(&["context", "State"]),
                        state_machine: reads(&["context", "StateMachine"]),
                        task: reads(&["context", "Task"]),
                        map: reads(&["context", "Map"]),
                    },
                    result: reads(&["result"]),
                    error_output: reads(&["errorOutput"]),
                }
            }
            Err(_) => StatesReads::default(),
        };
        let path = compiled.as_ref().ok().and_then(|expression| {
            let (variable, keys) = expression.field_path()?;
            let (member, keys) = keys.split_first()?;
            let member = match (variable, *member) {
                ("states", "input") => StatesMember::Input,
                ("states", "result") => StatesMember::Result,
                ("states", "errorOutput") => StatesMember::ErrorOutput,
                _ => return None,
            };
            Some(StatesPath {
                member,
                keys: keys.iter().map(|key| (*key).to_owned()).collect(),
            })
        });
        Some(Expression {
            source,
            compiled,
            variables,
            states,
            path,
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
    /// reads it in place.
    pub fn states_path(&self) -> Option<&StatesPath> {
        self.path.as_ref()
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
        assert!(good.states_reads().input && !good.states_reads().context.any());
        let bare = Expression::recognise("{% phone %}").expect("recognised");
        assert_eq!(bare.problems()[0].0, "UNSUPPORTED_JSONATA_EXPRESSION");
        let path = Expression::recognise("{% $states.input.a.b %}").expect("recognised");
        assert_eq!(
            path.states_path(),
            Some(&StatesPath {
                member: StatesMember::Input,
                keys: vec!["a".to_owned(), "b".to_owned()]
            })
        );
        let indexed = Expression::recognise("{% $states.input.a[0] %}").expect("recognised");
        assert_eq!(indexed.states_path(), None);
        let whole = Expression::recognise("{% $keys($states) %}").expect("recognised");
        assert!(whole.states_reads().result && whole.states_reads().context.execution_input);
        let map =
            Expression::recognise("{% $states.context.Map.Item.Value.k %}").expect("recognised");
        let reads = map.states_reads();
        assert!(reads.context.map && !reads.context.execution && !reads.input);
        let execution = Expression::recognise("{% $states.context.Execution.Id %}").expect("ok");
        let reads = execution.states_reads().context;
        assert!(reads.execution && !reads.execution_input);
    }
}
