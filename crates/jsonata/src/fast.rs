//! A fast path for the simplest expressions, evaluated on the `serde_json` values directly,
//! without converting them or starting a jsonata-core evaluator.
//!
//! Step Functions definitions are full of expressions such as `$states.input.id`,
//! `$states.input.i + 1` or `$states.input.x >= 0`. Evaluating one through jsonata-core costs
//! an evaluator, a context, a conversion of what the variables hold and a conversion of the
//! result: microseconds, where a field lookup costs nanoseconds. So the shapes below are
//! recognised at parse time and evaluated here, as long as the values met at run time are the
//! plain ones these shapes are defined on (objects along a path, numbers in arithmetic and
//! comparisons). Anything else (an array along a path, a string in arithmetic, an unbound
//! variable, a result that is not finite) gives up, and the expression goes through
//! jsonata-core as usual, which produces JSONata's result or error. The fast path therefore
//! only ever answers where its answer is JSONata's.
//!
//! Shapes:
//! - `$name` and `$name.field.field...` (plain field names: no predicate, no `@`/`#`, no `%`),
//!   for a variable that is bound and is not a function name;
//! - number and string literals, `true`, `false`, `null`;
//! - `+ - * / %` on two numbers; `< <= > >=` on two numbers; `= !=` on two numbers or two
//!   strings;
//! - `and`, `or` on two booleans (short-circuiting, as JSONata does);
//! - `$exists(path)`.

use jsonata_core::ast::{AstNode, BinaryOp, PathStep};
use jsonata_core::value::with_stack;
use serde_json::{Map, Value};

use crate::analysis;
use crate::convert::{self, MAX_RESULT_DEPTH};
use crate::{Binding, Error};

/// An expression of one of the shapes above.
#[derive(Debug)]
pub(crate) enum Fast {
    /// `$name.k1.k2...` (no keys: `$name`).
    Path {
        variable: String,
        keys: Vec<String>,
    },
    Number(f64),
    String(String),
    Bool(bool),
    Null,
    Binary {
        op: BinaryOp,
        lhs: Box<Fast>,
        rhs: Box<Fast>,
    },
    /// `$exists(path)`.
    Exists(Box<Fast>),
}

/// A value met while evaluating.
#[derive(Debug, Clone, Copy)]
enum Out<'a> {
    Undefined,
    Value(&'a Value),
    /// An object binding's members.
    Members(&'a [(&'a str, Binding<'a>)]),
    Number(f64),
    Str(&'a str),
    Bool(bool),
    Null,
}

impl<'a> Out<'a> {
    fn of(binding: &'a Binding<'a>) -> Out<'a> {
        match binding {
            Binding::Value(value) => Out::Value(value),
            Binding::Owned(value) => Out::Value(value),
            Binding::Object(members) => Out::Members(members),
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Out::Number(n) => Some(n),
            Out::Value(Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }

    fn string(&self) -> Option<&str> {
        match self {
            Out::Str(s) => Some(s),
            Out::Value(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn boolean(self) -> Option<bool> {
        match self {
            Out::Bool(b) | Out::Value(&Value::Bool(b)) => Some(b),
            _ => None,
        }
    }
}

/// The most nodes a fast expression may have: anything bigger is rare, and recursing over it
/// is left to jsonata-core, which guards its stack.
const MAX_NODES: usize = 64;

impl Fast {
    /// Recognises one of the shapes; `None` for anything else.
    pub(crate) fn of(ast: &AstNode) -> Option<Fast> {
        let mut budget = MAX_NODES;
        Fast::node(ast, &mut budget)
    }

    fn node(ast: &AstNode, budget: &mut usize) -> Option<Fast> {
        *budget = budget.checked_sub(1)?;
        Some(match ast {
            AstNode::Number(n) => Fast::Number(*n),
            AstNode::String(s) => Fast::String(s.clone()),
            AstNode::Boolean(b) => Fast::Bool(*b),
            AstNode::Null => Fast::Null,
            AstNode::Variable(name) => Fast::Path {
                variable: Fast::variable(name)?,
                keys: Vec::new(),
            },
            AstNode::Path { steps } => Fast::path(steps)?,
            AstNode::Binary { op, lhs, rhs } => {
                use BinaryOp::*;
                match op {
                    Add | Subtract | Multiply | Divide | Modulo | Equal | NotEqual | LessThan
                    | LessThanOrEqual | GreaterThan | GreaterThanOrEqual | And | Or => {}
                    _ => return None,
                }
                Fast::Binary {
                    op: *op,
                    lhs: Box::new(Fast::node(lhs, budget)?),
                    rhs: Box::new(Fast::node(rhs, budget)?),
                }
            }
            AstNode::Function {
                name,
                args,
                is_builtin: true,
            } if name == "exists" && args.len() == 1 => {
                let arg = Fast::node(&args[0], budget)?;
                if !matches!(arg, Fast::Path { .. }) {
                    return None;
                }
                Fast::Exists(Box::new(arg))
            }
            _ => return None,
        })
    }

    /// A variable the fast path may read: named, and not a function's name (which a binding
    /// might or might not hide).
    fn variable(name: &str) -> Option<String> {
        if name.is_empty() || analysis::is_builtin_function(name) {
            return None;
        }
        Some(name.to_owned())
    }

    fn path(steps: &[PathStep]) -> Option<Fast> {
        let plain = |step: &PathStep| {
            step.stages.is_empty()
                && step.focus.is_none()
                && step.index_var.is_none()
                && step.ancestor_label.is_none()
                && !step.is_tuple
                && !step.inner_tuple
        };
        let (first, rest) = steps.split_first()?;
        let AstNode::Variable(name) = &first.node else {
            return None;
        };
        if !plain(first) {
            return None;
        }
        let variable = Fast::variable(name)?;
        let mut keys = Vec::with_capacity(rest.len());
        for step in rest {
            match &step.node {
                AstNode::Name(key) if plain(step) => keys.push(key.clone()),
                _ => return None,
            }
        }
        Some(Fast::Path { variable, keys })
    }

    /// Evaluates with the given bindings. `None`: not a case the fast path answers.
    pub(crate) fn evaluate(
        &self,
        bindings: &[(&str, Binding<'_>)],
    ) -> Option<Result<Option<Value>, Error>> {
        let out = self.eval(bindings)?;
        Some(match out {
            Out::Undefined => Ok(None),
            Out::Value(value) => normalise(value, 0).map(Some),
            Out::Members(members) => normalise_members(members, 0).map(Some),
            Out::Number(n) => Ok(Some(convert::number(n))),
            Out::Str(s) => Ok(Some(Value::String(s.to_owned()))),
            Out::Bool(b) => Ok(Some(Value::Bool(b))),
            Out::Null => Ok(Some(Value::Null)),
        })
    }

    fn eval<'a>(&'a self, bindings: &'a [(&'a str, Binding<'a>)]) -> Option<Out<'a>> {
        match self {
            Fast::Number(n) => Some(Out::Number(*n)),
            Fast::String(s) => Some(Out::Str(s)),
            Fast::Bool(b) => Some(Out::Bool(*b)),
            Fast::Null => Some(Out::Null),
            Fast::Path { variable, keys } => {
                let (_, binding) = bindings
                    .iter()
                    .rev()
                    .find(|(name, _)| name.strip_prefix('$').unwrap_or(name) == variable)?;
                let mut out = Out::of(binding);
                for key in keys {
                    // Along a path, only objects: an array maps the rest of the path over its
                    // items and flattens, a scalar has no fields.
                    let member = match out {
                        Out::Value(Value::Object(map)) => map.get(key).map(Out::Value),
                        Out::Members(members) => members
                            .iter()
                            .rev()
                            .find(|(name, _)| name == key)
                            .map(|(_, member)| Out::of(member)),
                        _ => return None,
                    };
                    match member {
                        Some(member) => out = member,
                        None => return Some(Out::Undefined),
                    }
                }
                Some(out)
            }
            Fast::Exists(arg) => Some(Out::Bool(!matches!(arg.eval(bindings)?, Out::Undefined))),
            Fast::Binary { op, lhs, rhs } => {
                use BinaryOp::*;
                let l = lhs.eval(bindings)?;
                match op {
                    And | Or => {
                        let l = l.boolean()?;
                        // JSONata does not evaluate the right side when the left decides.
                        if (*op == And && !l) || (*op == Or && l) {
                            return Some(Out::Bool(l));
                        }
                        return Some(Out::Bool(rhs.eval(bindings)?.boolean()?));
                    }
                    _ => {}
                }
                let r = rhs.eval(bindings)?;
                if let (Some(a), Some(b)) = (l.number(), r.number()) {
                    let n = match op {
                        Add => a + b,
                        Subtract => a - b,
                        Multiply => a * b,
                        Divide => a / b,
                        Modulo => a % b,
                        Equal => return Some(Out::Bool(a == b)),
                        NotEqual => return Some(Out::Bool(a != b)),
                        LessThan => return Some(Out::Bool(a < b)),
                        LessThanOrEqual => return Some(Out::Bool(a <= b)),
                        GreaterThan => return Some(Out::Bool(a > b)),
                        GreaterThanOrEqual => return Some(Out::Bool(a >= b)),
                        _ => return None,
                    };
                    // Infinity and NaN are JSONata errors (D1001): jsonata-core raises them.
                    return n.is_finite().then_some(Out::Number(n));
                }
                if let (Some(a), Some(b)) = (l.string(), r.string()) {
                    return match op {
                        Equal => Some(Out::Bool(a == b)),
                        NotEqual => Some(Out::Bool(a != b)),
                        _ => None,
                    };
                }
                None
            }
        }
    }
}

/// An object binding as it comes back from a round trip through jsonata-core (see
/// `normalise`).
fn normalise_members(members: &[(&str, Binding<'_>)], depth: usize) -> Result<Value, Error> {
    if depth > MAX_RESULT_DEPTH {
        return Err(convert::too_deep());
    }
    with_stack(|| {
        let mut out = Map::with_capacity(members.len());
        for (name, member) in members {
            let value = match member {
                Binding::Value(value) => normalise(value, depth + 1)?,
                Binding::Owned(value) => normalise(value, depth + 1)?,
                Binding::Object(members) => normalise_members(members, depth + 1)?,
            };
            out.insert((*name).to_owned(), value);
        }
        Ok(Value::Object(out))
    })
}

/// `value` as it comes back from a round trip through jsonata-core: numbers are doubles,
/// written as integers when they are whole; too deep a value is an error. Most values come
/// back unchanged, and cloning one is cheaper than rebuilding it.
fn normalise(value: &Value, depth: usize) -> Result<Value, Error> {
    if unchanged(value, depth)? {
        Ok(value.clone())
    } else {
        rebuild(value, depth)
    }
}

/// Whether the round trip leaves `value` as it is; an error when it is too deep.
fn unchanged(value: &Value, depth: usize) -> Result<bool, Error> {
    if depth > MAX_RESULT_DEPTH {
        return Err(convert::too_deep());
    }
    with_stack(|| {
        Ok(match value {
            Value::Number(n) => {
                matches!(convert::number(n.as_f64().unwrap_or(0.0)), Value::Number(m) if m == *n)
            }
            Value::Array(items) => {
                for item in items {
                    if !unchanged(item, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            Value::Object(map) => {
                for item in map.values() {
                    if !unchanged(item, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            Value::Null | Value::Bool(_) | Value::String(_) => true,
        })
    })
}

fn rebuild(value: &Value, depth: usize) -> Result<Value, Error> {
    if depth > MAX_RESULT_DEPTH {
        return Err(convert::too_deep());
    }
    with_stack(|| {
        Ok(match value {
            Value::Number(n) => convert::number(n.as_f64().unwrap_or(0.0)),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| rebuild(item, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, item) in map {
                    out.insert(key.clone(), rebuild(item, depth + 1)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    })
}
