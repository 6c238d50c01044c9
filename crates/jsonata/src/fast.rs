//! A fast path for the expressions Step Functions definitions are made of, evaluated on the
//! `serde_json` values directly, without converting them or starting a jsonata-core evaluator.
//!
//! Definitions are full of expressions such as `$states.input.id`, `$states.input.i + 1`,
//! `$states.input.x >= 0 and $exists($states.input.y)`, `$states.input.a & '-' & $states.input.b`
//! or `$merge([$states.input, {'done': true}])`. Evaluating one through jsonata-core costs an
//! evaluator, a context, a conversion of what the variables hold and a conversion of the result:
//! microseconds, and for a large input far more, where a field lookup costs nanoseconds. So the
//! shapes below are recognised at parse time and evaluated here, as long as the values met at run
//! time are the plain ones these shapes are defined on (objects along a path, numbers in
//! arithmetic, scalars in comparisons and conditions). Anything else (an array along a path,
//! a string in arithmetic, an unbound variable, a number too large to format) gives up, and the
//! expression goes through jsonata-core as usual, which produces JSONata's result or error. The
//! fast path therefore only ever answers where its answer is jsonata-core's; the differential
//! tests in `tests/facade.rs` and the `jsonata` fuzz target hold it to that. Nothing here draws
//! random numbers or reads the clock, so giving up half way has no effect.
//!
//! Shapes:
//! - `$name.field.field...`, where any step may carry one constant index (`$name.list[2]`,
//!   `[-1]`), for a variable that is bound and is not a function's name; past an array, the
//!   rest of the path (without indexes) is mapped over its items (`$states.input.items.price`);
//! - number and string literals, `true`, `false`, `null`;
//! - `+ - * / %` and unary `-` on numbers; `< <= > >=` on two numbers or two ASCII strings;
//!   `= !=` on scalars; `&` on scalars; `in` with a scalar on the left; `and`, `or` and
//!   `? :` on scalars (short-circuiting, as JSONata does);
//! - object constructors with constant, distinct string keys; array constructors;
//! - blocks `( ...; ... )` whose statements bind local variables (`$r := ...`);
//! - `$exists`, `$string`, `$count`, `$sum`, `$merge`, `$not` and `$boolean` of one argument.
//!
//! `$merge([$states.input, {...}])` (after local bindings, if any) is also answered as a
//! [`Merge`]: the members to insert into the object the expression starts from, so a caller that
//! owns that object can extend it in place instead of copying it (see
//! [`crate::Expression::evaluate_merge`]).

use std::borrow::Cow;

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage, UnaryOp};
use jsonata_core::value::with_stack;
use serde_json::{Map, Value};

use crate::analysis;
use crate::convert::{self, MAX_RESULT_DEPTH};
use crate::{Binding, Error};

/// An expression of one of the shapes above.
#[derive(Debug)]
pub(crate) struct Fast {
    root: Node,
    /// The built-in functions it calls: a binding of the same name would hide one.
    functions: Vec<&'static str>,
    /// For `$merge([$v.k..., {...}])`: the path the result is built on.
    merge_base: Option<(String, Vec<String>)>,
}

#[derive(Debug)]
enum Node {
    Path(Path),
    Number(f64),
    String(String),
    Bool(bool),
    Null,
    Binary {
        op: BinaryOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Negate(Box<Node>),
    Conditional {
        condition: Box<Node>,
        then: Box<Node>,
        otherwise: Option<Box<Node>>,
    },
    /// `( statements; last )`.
    Block {
        statements: Vec<Statement>,
        last: Box<Node>,
    },
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Call {
        function: Function,
        arg: Box<Node>,
    },
}

#[derive(Debug)]
enum Statement {
    /// `$name := value`.
    Bind(String, Node),
    /// An expression whose value is dropped.
    Discard(Node),
}

/// `$variable[index].key[index]...`.
#[derive(Debug)]
struct Path {
    variable: String,
    index: Option<f64>,
    steps: Vec<Step>,
}

/// A field name, and the constant index that may follow it.
type Step = (String, Option<f64>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Exists,
    String,
    Count,
    Sum,
    Merge,
    Not,
    Boolean,
}

impl Function {
    fn of(name: &str) -> Option<Function> {
        Some(match name {
            "exists" => Function::Exists,
            "string" => Function::String,
            "count" => Function::Count,
            "sum" => Function::Sum,
            "merge" => Function::Merge,
            "not" => Function::Not,
            "boolean" => Function::Boolean,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Function::Exists => "exists",
            Function::String => "string",
            Function::Count => "count",
            Function::Sum => "sum",
            Function::Merge => "merge",
            Function::Not => "not",
            Function::Boolean => "boolean",
        }
    }
}

/// What `$merge([$v.k..., {...}])` adds to the object it starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// The members to insert, in order (an existing key keeps its place and takes the value).
    members: Vec<(String, Value)>,
    /// Whether the object's own numbers change on the way through JSONata (`1.0` becomes `1`).
    normalise: bool,
}

impl Merge {
    /// The members the merge inserts, in order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// The merged object: `base` (the value the merge was evaluated on, which is an object)
    /// with the members inserted. Nothing is copied.
    pub fn apply(self, mut base: Value) -> Value {
        if self.normalise {
            normalise_in_place(&mut base);
        }
        if let Value::Object(map) = &mut base {
            for (key, value) in self.members {
                map.insert(key, value);
            }
        }
        base
    }
}

/// A value met while evaluating.
#[derive(Debug, Clone)]
enum Out<'a> {
    Undefined,
    /// A value held by a binding.
    Value(&'a Value),
    /// An object binding's members.
    Members(&'a [(&'a str, Binding<'a>)]),
    Number(f64),
    Str(Cow<'a, str>),
    Bool(bool),
    Null,
    /// An object or array made here; its numbers are not normalised yet.
    Built(Value),
}

impl<'a> Out<'a> {
    fn of(binding: &'a Binding<'a>) -> Out<'a> {
        match binding {
            Binding::Value(value) => Out::Value(value),
            Binding::Owned(value) => Out::Value(value),
            Binding::Object(members) => Out::Members(members),
            Binding::Members(members) => Out::Members(members),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Out::Number(n) => Some(*n),
            Out::Value(Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }

    fn is_undefined(&self) -> bool {
        matches!(self, Out::Undefined)
    }

    fn scalar(&self) -> Option<Scalar<'_>> {
        Some(match self {
            Out::Undefined => Scalar::Undefined,
            Out::Number(n) => Scalar::Number(*n),
            Out::Str(s) => Scalar::Str(s),
            Out::Bool(b) => Scalar::Bool(*b),
            Out::Null => Scalar::Null,
            Out::Value(value) => return scalar(value),
            _ => return None,
        })
    }

    /// The value, not yet normalised; `None` for undefined.
    fn into_value(self) -> Option<Value> {
        Some(match self {
            Out::Undefined => return None,
            Out::Value(value) => value.clone(),
            Out::Members(members) => Binding::Members(members).to_value(),
            Out::Number(n) => convert::number(n),
            Out::Str(s) => Value::String(s.into_owned()),
            Out::Bool(b) => Value::Bool(b),
            Out::Null => Value::Null,
            Out::Built(value) => value,
        })
    }

    /// The items of an array value.
    fn items(&self) -> Option<&[Value]> {
        match self {
            Out::Value(Value::Array(items)) | Out::Built(Value::Array(items)) => Some(items),
            _ => None,
        }
    }
}

/// A JSON value as a scalar; `None` for arrays and objects.
fn scalar(value: &Value) -> Option<Scalar<'_>> {
    Some(match value {
        Value::Number(n) => Scalar::Number(n.as_f64()?),
        Value::String(s) => Scalar::Str(s),
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null,
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// A scalar, or undefined.
#[derive(Debug, Clone, Copy)]
enum Scalar<'a> {
    Undefined,
    Number(f64),
    Str(&'a str),
    Bool(bool),
    Null,
}

impl Scalar<'_> {
    /// JSONata's `$boolean` (undefined is false, as the operators that cast take it).
    fn truthy(self) -> bool {
        match self {
            Scalar::Undefined | Scalar::Null => false,
            Scalar::Number(n) => n != 0.0,
            Scalar::Str(s) => !s.is_empty(),
            Scalar::Bool(b) => b,
        }
    }

    /// JSONata's `$string`, for the cases the fast path formats exactly as JSONata does
    /// (undefined is the empty string, as `&` takes it).
    fn text(self) -> Option<Cow<'static, str>> {
        Some(match self {
            Scalar::Undefined => Cow::Borrowed(""),
            Scalar::Str(s) => Cow::Owned(s.to_owned()),
            Scalar::Number(n) => Cow::Owned(number_text(n)?),
            Scalar::Bool(true) => Cow::Borrowed("true"),
            Scalar::Bool(false) => Cow::Borrowed("false"),
            Scalar::Null => Cow::Borrowed("null"),
        })
    }

    /// JSONata's deep equality, on two defined scalars.
    fn equals(self, other: Scalar<'_>) -> bool {
        match (self, other) {
            (Scalar::Number(a), Scalar::Number(b)) => a == b,
            (Scalar::Str(a), Scalar::Str(b)) => a == b,
            (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
            (Scalar::Null, Scalar::Null) => true,
            _ => false,
        }
    }
}

/// A number as `$string` writes it: rounded to 15 significant digits, in JavaScript's
/// notation. `None` where the notation would be exponential (below 1e-6 or from 1e15 on: rare
/// in definitions, and left to jsonata-core).
fn number_text(n: f64) -> Option<String> {
    if n == 0.0 {
        return Some("0".to_owned());
    }
    // An integer of up to 15 digits is its own 15-digit rounding.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return Some((n as i64).to_string());
    }
    let rounded: f64 = format!("{n:.14e}").parse().ok()?;
    if !(1e-6..1e15).contains(&rounded.abs()) {
        return None;
    }
    if rounded.fract() == 0.0 {
        Some(format!("{}", rounded as i64))
    } else {
        // Rust writes the shortest text that reads back as the same double, as JavaScript
        // does; in this range neither uses an exponent.
        Some(format!("{rounded}"))
    }
}

/// The most nodes a fast expression may have: anything bigger is rare, and recursing over it
/// is left to jsonata-core, which guards its stack.
const MAX_NODES: usize = 256;

/// Local variables bound so far, innermost last.
type Locals<'a> = Vec<(&'a str, Out<'a>)>;

/// The bindings an evaluation was given.
type Bindings<'a> = [(&'a str, Binding<'a>)];

impl Fast {
    /// Recognises one of the shapes; `None` for anything else.
    pub(crate) fn of(ast: &AstNode) -> Option<Fast> {
        let mut builder = Builder {
            budget: MAX_NODES,
            functions: Vec::new(),
            bound: Vec::new(),
        };
        let root = builder.node(ast)?;
        // A local binding of a function's name would hide the function.
        if builder
            .bound
            .iter()
            .any(|name| analysis::is_builtin_function(name))
        {
            return None;
        }
        let merge_base = merge_base(&root, &builder.bound);
        Some(Fast {
            root,
            functions: builder.functions,
            merge_base,
        })
    }

    /// The variable and field names, when the expression is only `$variable.f1.f2...`.
    pub(crate) fn field_path(&self) -> Option<(&str, &[Step])> {
        match &self.root {
            Node::Path(path)
                if path.index.is_none() && path.steps.iter().all(|(_, at)| at.is_none()) =>
            {
                Some((path.variable.as_str(), path.steps.as_slice()))
            }
            _ => None,
        }
    }

    /// The path `$merge([$v.k..., {...}])` starts from, when the expression is one.
    pub(crate) fn merge_base(&self) -> Option<(&str, &[String])> {
        self.merge_base
            .as_ref()
            .map(|(variable, keys)| (variable.as_str(), keys.as_slice()))
    }

    /// Whether a binding hides a function the expression calls.
    fn shadowed(&self, bindings: &Bindings<'_>) -> bool {
        !self.functions.is_empty()
            && bindings.iter().any(|(name, _)| {
                let name = name.strip_prefix('$').unwrap_or(name);
                self.functions.contains(&name)
            })
    }

    /// Evaluates with the given bindings. `None`: not a case the fast path answers.
    pub(crate) fn evaluate(&self, bindings: &Bindings<'_>) -> Option<Result<Option<Value>, Error>> {
        if self.shadowed(bindings) {
            return None;
        }
        let mut locals = Vec::new();
        let out = self.root.eval(bindings, &mut locals)?;
        Some(finish(out))
    }

    /// For a `$merge` expression (see [`Fast::merge_base`]): what it adds to the object at the
    /// base path. `None`: not a case the fast path answers (the base is not an object, a member
    /// is not a plain value, ...).
    pub(crate) fn evaluate_merge(
        &self,
        bindings: &Bindings<'_>,
        base_normalised: bool,
    ) -> Option<Result<Merge, Error>> {
        if self.merge_base.is_none() || self.shadowed(bindings) {
            return None;
        }
        let mut locals = Vec::new();
        let mut node = &self.root;
        while let Node::Block { statements, last } = node {
            run_statements(statements, bindings, &mut locals)?;
            node = last;
        }
        let (base, rest) = merge_elements(node)?.split_first()?;
        let Out::Value(base @ Value::Object(_)) = base.eval(bindings, &mut locals)? else {
            return None;
        };
        let mut members = Vec::new();
        for element in rest {
            match element.eval(bindings, &mut locals)? {
                Out::Undefined => {}
                Out::Value(Value::Object(map)) => {
                    members.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                Out::Built(Value::Object(map)) => members.extend(map),
                Out::Members(parts) => {
                    for (name, part) in parts {
                        members.push(((*name).to_owned(), part.to_value()));
                    }
                }
                _ => return None,
            }
        }
        let normalise = !base_normalised
            && match unchanged(base, 0) {
                Ok(unchanged) => !unchanged,
                Err(error) => return Some(Err(error)),
            };
        // The members sit one level down in the result.
        for (_, value) in &mut members {
            if let Err(error) = normalise_at(value, 1) {
                return Some(Err(error));
            }
        }
        Some(Ok(Merge { members, normalise }))
    }
}

/// The elements of `$merge([...])`, when `node` is that call on an array constructor.
fn merge_elements(node: &Node) -> Option<&[Node]> {
    match node {
        Node::Call {
            function: Function::Merge,
            arg,
        } => match &**arg {
            Node::Array(elements) => Some(elements),
            _ => None,
        },
        _ => None,
    }
}

/// The base of `$merge([$v.k..., ...])`, peeling the blocks around it; none when a block binds
/// the base's variable (the base would then be a local value, not a binding).
fn merge_base(root: &Node, bound: &[String]) -> Option<(String, Vec<String>)> {
    let mut node = root;
    while let Node::Block { last, .. } = node {
        node = last;
    }
    let Some(Node::Path(path)) = merge_elements(node)?.first() else {
        return None;
    };
    if path.index.is_some()
        || path.steps.iter().any(|(_, index)| index.is_some())
        || bound.contains(&path.variable)
    {
        return None;
    }
    let keys = path.steps.iter().map(|(key, _)| key.clone()).collect();
    Some((path.variable.clone(), keys))
}

struct Builder {
    budget: usize,
    functions: Vec<&'static str>,
    /// Every name the expression binds.
    bound: Vec<String>,
}

impl Builder {
    fn node(&mut self, ast: &AstNode) -> Option<Node> {
        self.budget = self.budget.checked_sub(1)?;
        Some(match ast {
            AstNode::Number(n) => Node::Number(*n),
            AstNode::String(s) => Node::String(s.clone()),
            AstNode::Boolean(b) => Node::Bool(*b),
            AstNode::Null => Node::Null,
            AstNode::Variable(name) => Node::Path(Path {
                variable: variable(name)?,
                index: None,
                steps: Vec::new(),
            }),
            AstNode::Path { steps } => Node::Path(path(steps)?),
            AstNode::Binary { op, lhs, rhs } => {
                use BinaryOp::*;
                match op {
                    Add | Subtract | Multiply | Divide | Modulo | Equal | NotEqual | LessThan
                    | LessThanOrEqual | GreaterThan | GreaterThanOrEqual | And | Or
                    | Concatenate | In => {}
                    _ => return None,
                }
                Node::Binary {
                    op: *op,
                    lhs: Box::new(self.node(lhs)?),
                    rhs: Box::new(self.node(rhs)?),
                }
            }
            AstNode::Unary {
                op: UnaryOp::Negate,
                operand,
            } => Node::Negate(Box::new(self.node(operand)?)),
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => Node::Conditional {
                condition: Box::new(self.node(condition)?),
                then: Box::new(self.node(then_branch)?),
                otherwise: match else_branch {
                    Some(otherwise) => Some(Box::new(self.node(otherwise)?)),
                    None => None,
                },
            },
            AstNode::Block(items) => {
                let (last, rest) = items.split_last()?;
                let mut statements = Vec::with_capacity(rest.len());
                for item in rest {
                    statements.push(match item {
                        AstNode::Binary {
                            op: BinaryOp::ColonEqual,
                            lhs,
                            rhs,
                        } => {
                            let AstNode::Variable(name) = &**lhs else {
                                return None;
                            };
                            if name.is_empty() {
                                return None;
                            }
                            self.bound.push(name.clone());
                            Statement::Bind(name.clone(), self.node(rhs)?)
                        }
                        other => Statement::Discard(self.node(other)?),
                    });
                }
                Node::Block {
                    statements,
                    last: Box::new(self.node(last)?),
                }
            }
            AstNode::Object(pairs) => {
                let mut members: Vec<(String, Node)> = Vec::with_capacity(pairs.len());
                for (key, value) in pairs {
                    let AstNode::String(key) = key else {
                        return None;
                    };
                    // Two pairs with the same key are an error (D1009), left to jsonata-core.
                    if members.iter().any(|(k, _)| k == key) {
                        return None;
                    }
                    members.push((key.clone(), self.node(value)?));
                }
                Node::Object(members)
            }
            AstNode::Array(items) => Node::Array(
                items
                    .iter()
                    .map(|item| self.node(item))
                    .collect::<Option<_>>()?,
            ),
            AstNode::Function {
                name,
                args,
                is_builtin: true,
            } if args.len() == 1 => {
                let function = Function::of(name)?;
                if !self.functions.contains(&function.name()) {
                    self.functions.push(function.name());
                }
                Node::Call {
                    function,
                    arg: Box::new(self.node(&args[0])?),
                }
            }
            _ => return None,
        })
    }
}

/// A variable the fast path may read: named, and not a function's name (which a binding
/// might or might not hide).
fn variable(name: &str) -> Option<String> {
    if name.is_empty() || analysis::is_builtin_function(name) {
        return None;
    }
    Some(name.to_owned())
}

/// The stages of a step, when they are at most one constant index (`[2]`, `[-1]`).
fn constant_index(stages: &[Stage]) -> Option<Option<f64>> {
    match stages {
        [] => Some(None),
        [Stage::Filter(predicate)] => match &**predicate {
            AstNode::Number(n) => Some(Some(*n)),
            AstNode::Unary {
                op: UnaryOp::Negate,
                operand,
            } => match &**operand {
                AstNode::Number(n) => Some(Some(-*n)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn path(steps: &[PathStep]) -> Option<Path> {
    let plain = |step: &PathStep| {
        step.focus.is_none()
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
    let mut path = Path {
        variable: variable(name)?,
        index: constant_index(&first.stages)?,
        steps: Vec::with_capacity(rest.len()),
    };
    for step in rest {
        match &step.node {
            AstNode::Name(key) if plain(step) => {
                path.steps
                    .push((key.clone(), constant_index(&step.stages)?));
            }
            _ => return None,
        }
    }
    Some(path)
}

/// Looks a variable up: the innermost local of that name, else the binding (the last one given,
/// as jsonata-core binds them in order).
fn lookup<'a>(name: &str, bindings: &'a Bindings<'a>, locals: &Locals<'a>) -> Option<Out<'a>> {
    if let Some((_, out)) = locals.iter().rev().find(|(local, _)| *local == name) {
        return Some(out.clone());
    }
    let (_, binding) = bindings
        .iter()
        .rev()
        .find(|(bound, _)| bound.strip_prefix('$').unwrap_or(bound) == name)?;
    Some(Out::of(binding))
}

/// The value of a field. A small object is searched in order: comparing a few keys costs less
/// than hashing one.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// Applies a constant index to a step's value. An array yields its item (counted from the end
/// when negative); any other value is a sequence of one.
fn index(out: Out<'_>, index: Option<f64>) -> Option<Out<'_>> {
    let Some(index) = index else {
        return Some(out);
    };
    let index = index.floor();
    match out {
        Out::Value(Value::Array(items)) => {
            let len = items.len() as f64;
            let at = if index < 0.0 { len + index } else { index };
            if at < 0.0 || at >= len {
                return Some(Out::Undefined);
            }
            match &items[at as usize] {
                // An array item takes the sequence rules further than this path goes.
                Value::Array(_) => None,
                item => Some(Out::Value(item)),
            }
        }
        Out::Value(_) | Out::Members(_) => {
            if index == 0.0 || index == -1.0 {
                Some(out)
            } else {
                Some(Out::Undefined)
            }
        }
        _ => None,
    }
}

/// The rest of a path (field names, no index) mapped over the items of an array, as JSONata
/// does: each step looks the name up in every object of the sequence and flattens the arrays
/// it finds into the next one; the result is undefined when empty, the one value when single,
/// an array otherwise; and when the last step finds one value only, and that value is an array,
/// the result is that array. An array within an array (which JSONata looks into recursively)
/// gives up.
fn map_path<'a>(items: &'a [Value], steps: &'a [Step]) -> Option<Out<'a>> {
    if steps.iter().any(|(_, at)| at.is_some()) || items.iter().any(Value::is_array) {
        return None;
    }
    let mut sequence: Vec<&'a Value> = items.iter().collect();
    for (at, (key, _)) in steps.iter().enumerate() {
        let last = at + 1 == steps.len();
        let mut next = Vec::with_capacity(sequence.len());
        let mut found = 0usize;
        let mut only = None;
        for item in &sequence {
            // Only objects have fields.
            let Value::Object(map) = item else { continue };
            let Some(value) = field(map, key) else {
                continue;
            };
            found += 1;
            only = Some(value);
            match value {
                Value::Array(inner) => {
                    if inner.iter().any(Value::is_array) {
                        return None;
                    }
                    next.extend(inner.iter());
                }
                other => next.push(other),
            }
        }
        if last
            && found == 1
            && let Some(array @ Value::Array(_)) = only
        {
            return Some(Out::Value(array));
        }
        sequence = next;
    }
    Some(match sequence.as_slice() {
        [] => Out::Undefined,
        [one] => Out::Value(one),
        many => Out::Built(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
    })
}

fn run_statements<'a>(
    statements: &'a [Statement],
    bindings: &'a Bindings<'a>,
    locals: &mut Locals<'a>,
) -> Option<()> {
    for statement in statements {
        match statement {
            Statement::Bind(name, value) => {
                let out = value.eval(bindings, locals)?;
                locals.push((name, out));
            }
            Statement::Discard(value) => {
                value.eval(bindings, locals)?;
            }
        }
    }
    Some(())
}

impl Node {
    fn eval<'a>(&'a self, bindings: &'a Bindings<'a>, locals: &mut Locals<'a>) -> Option<Out<'a>> {
        match self {
            Node::Number(n) => Some(Out::Number(*n)),
            Node::String(s) => Some(Out::Str(Cow::Borrowed(s))),
            Node::Bool(b) => Some(Out::Bool(*b)),
            Node::Null => Some(Out::Null),
            Node::Path(path) => {
                let start = lookup(&path.variable, bindings, locals)?;
                let mut out = index(start, path.index)?;
                for (at_step, (key, at)) in path.steps.iter().enumerate() {
                    let member = match out {
                        Out::Value(Value::Object(map)) => field(map, key).map(Out::Value),
                        Out::Members(members) => members
                            .iter()
                            .rev()
                            .find(|(name, _)| name == key)
                            .map(|(_, member)| Out::of(member)),
                        // An array maps the rest of the path over its items.
                        Out::Value(Value::Array(items)) => {
                            return map_path(items, &path.steps[at_step..]);
                        }
                        // A scalar has no fields.
                        _ => return None,
                    };
                    match (member, at) {
                        (Some(member), None) => out = member,
                        (Some(member), Some(_)) => out = index(member, *at)?,
                        (None, _) => return Some(Out::Undefined),
                    }
                }
                Some(out)
            }
            Node::Negate(operand) => match operand.eval(bindings, locals)? {
                Out::Undefined => Some(Out::Undefined),
                other => Some(Out::Number(-other.number()?)),
            },
            Node::Conditional {
                condition,
                then,
                otherwise,
            } => {
                if condition.eval(bindings, locals)?.scalar()?.truthy() {
                    then.eval(bindings, locals)
                } else {
                    match otherwise {
                        Some(otherwise) => otherwise.eval(bindings, locals),
                        None => Some(Out::Undefined),
                    }
                }
            }
            Node::Block { statements, last } => {
                let mark = locals.len();
                run_statements(statements, bindings, locals)?;
                let out = last.eval(bindings, locals)?;
                locals.truncate(mark);
                Some(out)
            }
            Node::Object(members) => {
                let mut map = Map::with_capacity(members.len());
                for (key, value) in members {
                    // As an object constructor does: an undefined value leaves the key out.
                    if let Some(value) = value.eval(bindings, locals)?.into_value() {
                        map.insert(key.clone(), value);
                    }
                }
                Some(Out::Built(Value::Object(map)))
            }
            Node::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let value = item.eval(bindings, locals)?;
                    if value.is_undefined() {
                        continue;
                    }
                    // An array constructor inside is one item; any other array value is
                    // spliced in, as `$append` does.
                    if !matches!(item, Node::Array(_))
                        && let Some(items) = value.items()
                    {
                        out.extend(items.iter().cloned());
                        continue;
                    }
                    out.push(value.into_value()?);
                }
                Some(Out::Built(Value::Array(out)))
            }
            Node::Call { function, arg } => call(*function, arg.eval(bindings, locals)?),
            Node::Binary { op, lhs, rhs } => {
                use BinaryOp::*;
                let l = lhs.eval(bindings, locals)?;
                if let And | Or = op {
                    let l = l.scalar()?.truthy();
                    // JSONata does not evaluate the right side when the left decides.
                    if (*op == And && !l) || (*op == Or && l) {
                        return Some(Out::Bool(l));
                    }
                    return Some(Out::Bool(rhs.eval(bindings, locals)?.scalar()?.truthy()));
                }
                let r = rhs.eval(bindings, locals)?;
                binary(*op, &l, &r)
            }
        }
    }
}

fn binary<'a>(op: BinaryOp, l: &Out<'_>, r: &Out<'_>) -> Option<Out<'a>> {
    use BinaryOp::*;
    match op {
        Add | Subtract | Multiply | Divide | Modulo => {
            // Undefined with a number (or undefined) is undefined; anything else is a type
            // error, left to jsonata-core.
            let (a, b) = (l.number(), r.number());
            if !(a.is_some() || l.is_undefined()) || !(b.is_some() || r.is_undefined()) {
                return None;
            }
            let (Some(a), Some(b)) = (a, b) else {
                return Some(Out::Undefined);
            };
            let n = match op {
                Add => a + b,
                Subtract => a - b,
                Multiply => a * b,
                Divide => a / b,
                _ => a % b,
            };
            // Infinity and NaN are JSONata errors (D1001): jsonata-core raises them.
            n.is_finite().then_some(Out::Number(n))
        }
        LessThan | LessThanOrEqual | GreaterThan | GreaterThanOrEqual => {
            let ordering = match (l.scalar()?, r.scalar()?) {
                (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(&b)?,
                // JavaScript orders strings by UTF-16 unit, Rust by code point: the same for
                // ASCII.
                (Scalar::Str(a), Scalar::Str(b)) if a.is_ascii() && b.is_ascii() => a.cmp(b),
                (Scalar::Undefined, Scalar::Undefined | Scalar::Number(_) | Scalar::Str(_))
                | (Scalar::Number(_) | Scalar::Str(_), Scalar::Undefined) => {
                    return Some(Out::Undefined);
                }
                _ => return None,
            };
            use std::cmp::Ordering::*;
            Some(Out::Bool(match op {
                LessThan => ordering == Less,
                LessThanOrEqual => ordering != Greater,
                GreaterThan => ordering == Greater,
                _ => ordering != Less,
            }))
        }
        Equal | NotEqual => {
            let (l, r) = (l.scalar()?, r.scalar()?);
            // A comparison with undefined is false either way.
            if matches!(l, Scalar::Undefined) || matches!(r, Scalar::Undefined) {
                return Some(Out::Bool(false));
            }
            Some(Out::Bool(l.equals(r) == (op == Equal)))
        }
        Concatenate => {
            let mut text = l.scalar()?.text()?.into_owned();
            text.push_str(&r.scalar()?.text()?);
            Some(Out::Str(Cow::Owned(text)))
        }
        In => {
            let needle = l.scalar()?;
            if matches!(needle, Scalar::Undefined) || r.is_undefined() {
                return Some(Out::Bool(false));
            }
            // JavaScript's `===`: an object or array equals no scalar.
            let found = match r.items() {
                Some(items) => items
                    .iter()
                    .any(|item| scalar(item).is_some_and(|item| needle.equals(item))),
                None => r.scalar().is_some_and(|item| needle.equals(item)),
            };
            Some(Out::Bool(found))
        }
        _ => None,
    }
}

fn call(function: Function, arg: Out<'_>) -> Option<Out<'_>> {
    Some(match function {
        Function::Exists => Out::Bool(!arg.is_undefined()),
        Function::Count => {
            let n = match &arg {
                Out::Undefined => 0,
                other => other.items().map_or(1, <[Value]>::len),
            };
            Out::Number(n as f64)
        }
        Function::String => match arg {
            Out::Undefined => Out::Undefined,
            Out::Str(_) => arg,
            Out::Value(Value::String(s)) => Out::Str(Cow::Borrowed(s)),
            other => Out::Str(other.scalar()?.text()?),
        },
        Function::Not => match arg.scalar()? {
            Scalar::Undefined => Out::Undefined,
            scalar => Out::Bool(!scalar.truthy()),
        },
        Function::Boolean => match arg.scalar()? {
            Scalar::Undefined => Out::Undefined,
            scalar => Out::Bool(scalar.truthy()),
        },
        Function::Sum => match &arg {
            Out::Undefined => Out::Undefined,
            other => match other.items() {
                Some(items) => {
                    let mut sum = 0.0;
                    for item in items {
                        sum += item.as_f64()?;
                    }
                    if !sum.is_finite() {
                        return None;
                    }
                    Out::Number(sum)
                }
                None => Out::Number(other.number()?),
            },
        },
        Function::Merge => match arg {
            Out::Undefined | Out::Value(Value::Object(_)) | Out::Members(_) => arg,
            Out::Built(Value::Object(map)) => Out::Built(Value::Object(map)),
            other => {
                let mut merged = Map::new();
                for item in other.items()? {
                    let Value::Object(map) = item else {
                        return None;
                    };
                    for (key, value) in map {
                        merged.insert(key.clone(), value.clone());
                    }
                }
                Out::Built(Value::Object(merged))
            }
        },
    })
}

/// The result as it comes back from a round trip through jsonata-core.
fn finish(out: Out<'_>) -> Result<Option<Value>, Error> {
    match out {
        Out::Undefined => Ok(None),
        Out::Value(value) => normalise(value, 0).map(Some),
        Out::Members(members) => normalise_members(members, 0).map(Some),
        Out::Built(mut value) => {
            normalise_at(&mut value, 0)?;
            Ok(Some(value))
        }
        Out::Number(n) => Ok(Some(convert::number(n))),
        Out::Str(s) => Ok(Some(Value::String(s.into_owned()))),
        Out::Bool(b) => Ok(Some(Value::Bool(b))),
        Out::Null => Ok(Some(Value::Null)),
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
                Binding::Members(members) => normalise_members(members, depth + 1)?,
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
    let mut value = if unchanged(value, depth)? {
        return Ok(value.clone());
    } else {
        value.clone()
    };
    normalise_in_place(&mut value);
    Ok(value)
}

/// See [`crate::is_normalised`].
pub(crate) fn is_normalised(value: &Value) -> Result<bool, Error> {
    match value {
        Value::Number(n) => Ok(number_unchanged(n)),
        Value::Array(_) | Value::Object(_) => unchanged(value, 0),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(true),
    }
}

/// Rewrites `value` into what an evaluation returns for it (see [`crate::normalise`]).
pub(crate) fn normalise_result(value: &mut Value) -> Result<(), Error> {
    normalise_at(value, 0)
}

/// Normalises an owned value found at `depth` in the result; an error when it is too deep.
fn normalise_at(value: &mut Value, depth: usize) -> Result<(), Error> {
    if !unchanged(value, depth)? {
        normalise_in_place(value);
    }
    Ok(())
}

/// Whether the round trip leaves `value` as it is; an error when it is too deep.
fn unchanged(value: &Value, depth: usize) -> Result<bool, Error> {
    if depth > MAX_RESULT_DEPTH {
        return Err(convert::too_deep());
    }
    // Checking the stack costs more than a level of this walk: check every few levels.
    if depth.is_multiple_of(STACK_CHECK_LEVELS) {
        with_stack(|| unchanged_here(value, depth))
    } else {
        unchanged_here(value, depth)
    }
}

/// How many levels the walks over a value go between two checks of the stack. Small enough
/// that the levels between two checks fit in the stack that `with_stack` leaves.
const STACK_CHECK_LEVELS: usize = 16;

fn unchanged_here(value: &Value, depth: usize) -> Result<bool, Error> {
    Ok(match value {
        Value::Number(n) => number_unchanged(n),
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
}

fn number_unchanged(n: &serde_json::Number) -> bool {
    // Integers within 2^53 are exact as doubles and come back as they were; larger ones are
    // rounded. Integers are most of the numbers met, so they skip the general check.
    if let Some(i) = n.as_i64() {
        return i.unsigned_abs() <= 1 << 53;
    }
    if n.is_u64() {
        return false;
    }
    matches!(convert::number(n.as_f64().unwrap_or(0.0)), Value::Number(m) if m == *n)
}

/// Rewrites the numbers the round trip changes; the caller has checked the depth.
fn normalise_in_place(value: &mut Value) {
    normalise_in_place_at(value, 0);
}

fn normalise_in_place_at(value: &mut Value, depth: usize) {
    if depth.is_multiple_of(STACK_CHECK_LEVELS) {
        with_stack(|| normalise_here(value, depth));
    } else {
        normalise_here(value, depth);
    }
}

fn normalise_here(value: &mut Value, depth: usize) {
    match value {
        Value::Number(n) => {
            if !number_unchanged(n) {
                let n = n.as_f64().unwrap_or(0.0);
                *value = convert::number(n);
            }
        }
        Value::Array(items) => {
            for item in items {
                normalise_in_place_at(item, depth + 1);
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                normalise_in_place_at(item, depth + 1);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}
