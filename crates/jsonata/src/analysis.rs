//! Static facts about a parsed expression: the variables it reads, what Step Functions would
//! reject, whether it can draw random numbers, which host functions it can call and which parts
//! of each variable it can read. Computed once, at parse time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage};

/// JSONata's built-in functions (jsonata-js 2.2, as jsonata-core implements them).
pub(crate) const BUILTINS: &[&str] = &[
    "abs",
    "append",
    "assert",
    "average",
    "base64decode",
    "base64encode",
    "boolean",
    "ceil",
    "contains",
    "count",
    "decodeUrl",
    "decodeUrlComponent",
    "distinct",
    "each",
    "encodeUrl",
    "encodeUrlComponent",
    "error",
    "eval",
    "exists",
    "filter",
    "floor",
    "formatBase",
    "formatInteger",
    "formatNumber",
    "fromMillis",
    "join",
    "keys",
    "length",
    "lookup",
    "lowercase",
    "map",
    "match",
    "max",
    "merge",
    "millis",
    "min",
    "not",
    "now",
    "number",
    "pad",
    "parseInteger",
    "power",
    "random",
    "reduce",
    "replace",
    "reverse",
    "round",
    "shuffle",
    "sift",
    "single",
    "sort",
    "split",
    "spread",
    "sqrt",
    "string",
    "substring",
    "substringAfter",
    "substringBefore",
    "sum",
    "toMillis",
    "trim",
    "type",
    "uppercase",
    "zip",
];

/// The functions AWS Step Functions adds to JSONata.
pub(crate) const AWS_FUNCTIONS: &[&str] =
    &["hash", "parse", "partition", "random", "range", "uuid"];

/// Functions whose result depends on the random source.
const RANDOM_FUNCTIONS: &[&str] = &["random", "shuffle", "uuid"];

pub(crate) fn is_builtin_function(name: &str) -> bool {
    BUILTINS.contains(&name) || AWS_FUNCTIONS.contains(&name)
}

/// The host functions (see the `functions` module), in the order of their bits in
/// [`Facts::hosts`].
pub(crate) const HOST_FUNCTIONS: &[&str] = &[
    "partition",
    "range",
    "hash",
    "parse",
    "uuid",
    "random",
    "shuffle",
    "now",
    "millis",
];

#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// Names read but not bound by the expression, built-in functions included.
    pub(crate) free: BTreeSet<String>,
    /// Every name read, bound or not.
    mentioned: HashSet<String>,
    /// Why Step Functions would reject the expression, in source order.
    pub(crate) aws_violations: Vec<String>,
    /// The top-level reads of the input: field names, `$`, `$$`.
    pub(crate) top_level_reads: Vec<String>,
    /// Bit `i` is set when the expression may call `HOST_FUNCTIONS[i]`; only those are
    /// registered on an evaluation (registering costs a hash-map insert and an allocation).
    pub(crate) hosts: u16,
    /// For a variable the expression reads only through paths of field names
    /// (`$states.input.id`), the fields it can reach; a variable read any other way is
    /// absent, and needs its whole value. Empty when the expression can reach a value's
    /// parent (`%`) or evaluate new source text (`$eval`).
    needs: HashMap<String, Need>,
}

/// What an evaluation can read of a bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// All of it.
    Whole,
    /// When the value is an object, only these fields of it (each with what is needed of it);
    /// any other value is needed whole.
    Fields(BTreeMap<String, Need>),
}

impl Need {
    /// Adds a read of the path `keys` (all of the value at its end).
    fn add(&mut self, keys: &[String]) {
        let Need::Fields(fields) = self else { return };
        match keys.split_first() {
            None => *self = Need::Whole,
            Some((key, rest)) => fields
                .entry(key.clone())
                .or_insert_with(|| Need::Fields(BTreeMap::new()))
                .add(rest),
        }
    }
}

impl Facts {
    pub(crate) fn of(ast: &AstNode) -> Facts {
        let mut walker = Walker {
            scopes: vec![Scope::default()],
            lambda_floor: 0,
            facts: Facts::default(),
        };
        walker.node(ast, true);
        let mut facts = walker.facts;
        for (bit, name) in HOST_FUNCTIONS.iter().enumerate() {
            if facts.reads_variable(name) {
                facts.hosts |= 1 << bit;
            }
        }
        let mut needs = Needs::default();
        needs.node(ast);
        if !needs.parent && !facts.mentioned.contains("eval") {
            facts.needs = needs.needs;
        }
        facts
    }

    /// What the expression can read of variable `name`'s value; `None` for all of it.
    pub(crate) fn need(&self, name: &str) -> Option<&BTreeMap<String, Need>> {
        match self.needs.get(name) {
            Some(Need::Fields(fields)) => Some(fields),
            _ => None,
        }
    }

    /// Whether an evaluation can reach `$name.k1.k2...`: the expression reads the variable,
    /// and either reads all of it or reads through fields that lead there.
    pub(crate) fn can_read(&self, name: &str, keys: &[&str]) -> bool {
        if !self.reads_variable(name) {
            return false;
        }
        let Some(mut fields) = self.need(name) else {
            return true;
        };
        for key in keys {
            match fields.get(*key) {
                None => return false,
                Some(Need::Whole) => return true,
                Some(Need::Fields(inner)) => fields = inner,
            }
        }
        true
    }

    /// Whether the expression may read variable `name` from its bindings: it names it
    /// anywhere (even where a binding of its own seems to hide it: the analysis of scopes is
    /// static), or it can evaluate new source text (`$eval`), which may name anything.
    pub(crate) fn reads_variable(&self, name: &str) -> bool {
        self.mentioned.contains(name) || self.mentioned.contains("eval")
    }

    /// Whether an evaluation may call a function that draws random numbers.
    pub(crate) fn may_draw_random(&self) -> bool {
        RANDOM_FUNCTIONS
            .iter()
            .chain(["eval"].iter())
            .any(|name| self.mentioned.contains(*name))
    }
}

#[derive(Debug, Default)]
struct Scope {
    /// Names bound so far, in evaluation order.
    bound: HashSet<String>,
    /// Every name bound anywhere directly in this scope, for reads inside function bodies,
    /// which run later (a recursive or mutually recursive function names itself before its
    /// binding is complete).
    all: HashSet<String>,
}

struct Walker {
    scopes: Vec<Scope>,
    /// Scopes below this index belong outside the innermost function body being walked; a read
    /// there sees every name they bind, whatever the order.
    lambda_floor: usize,
    facts: Facts,
}

impl Walker {
    fn is_bound(&self, name: &str) -> bool {
        self.scopes.iter().enumerate().rev().any(|(i, scope)| {
            if i < self.lambda_floor {
                scope.all.contains(name)
            } else {
                scope.bound.contains(name)
            }
        })
    }

    fn read(&mut self, name: &str) {
        if !self.facts.mentioned.contains(name) {
            self.facts.mentioned.insert(name.to_owned());
        }
        if !self.is_bound(name) {
            self.facts.free.insert(name.to_owned());
        }
    }

    fn bind(&mut self, name: &str) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.bound.insert(name.to_owned());
            scope.all.insert(name.to_owned());
        }
    }

    /// Runs `f` in a new scope whose `all` set is filled in advance with every name `nodes`
    /// bind directly (not inside nested blocks or functions).
    fn scoped<R>(&mut self, nodes: &[&AstNode], f: impl FnOnce(&mut Self) -> R) -> R {
        let mut scope = Scope::default();
        for node in nodes {
            collect_bindings(node, &mut scope.all);
        }
        self.scopes.push(scope);
        let result = f(self);
        self.scopes.pop();
        result
    }

    fn violation(&mut self, message: String) {
        self.facts.aws_violations.push(message);
    }

    /// Walks `node`; `root` tells whether it is evaluated against the expression's input.
    fn node(&mut self, node: &AstNode, root: bool) {
        jsonata_core::value::with_stack(|| self.node_inner(node, root));
    }

    fn node_inner(&mut self, node: &AstNode, root: bool) {
        match node {
            AstNode::String(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::Parent(_) => {}
            AstNode::Name(name) => {
                if root {
                    self.facts.top_level_reads.push(name.clone());
                }
            }
            AstNode::Wildcard => {
                if root {
                    self.facts.top_level_reads.push("*".to_owned());
                }
            }
            AstNode::Descendant => {
                if root {
                    self.facts.top_level_reads.push("**".to_owned());
                }
            }
            AstNode::Variable(name) => {
                if name.is_empty() {
                    if root {
                        self.facts.top_level_reads.push("$".to_owned());
                    }
                } else {
                    self.read(name);
                    if name == "eval" && !self.is_bound(name) {
                        self.violation(
                            "The function $eval is not supported by Step Functions; use $parse"
                                .to_owned(),
                        );
                    }
                }
            }
            AstNode::ParentVariable(_) => {
                // `$$` is the input wherever it appears.
                self.facts.top_level_reads.push("$$".to_owned());
            }
            AstNode::Path { steps } => {
                self.scoped(&[], |w| w.steps(steps, root));
            }
            AstNode::Binary { op, lhs, rhs } => match op {
                BinaryOp::ColonEqual => {
                    let name = match &**lhs {
                        AstNode::Variable(name) => Some(name.as_str()),
                        _ => None,
                    };
                    // A function bound to a name may call itself by that name.
                    if let (Some(name), AstNode::Lambda { .. }) = (name, &**rhs) {
                        self.bind(name);
                    }
                    self.node(rhs, root);
                    if let Some(name) = name {
                        self.bind(name);
                    }
                }
                BinaryOp::Coalesce | BinaryOp::Default => {
                    let symbol = if *op == BinaryOp::Coalesce {
                        "??"
                    } else {
                        "?:"
                    };
                    self.violation(format!(
                        "The operator {symbol} is not supported by Step Functions (JSONata 2.0.6)"
                    ));
                    self.node(lhs, root);
                    self.node(rhs, root);
                }
                _ => {
                    self.node(lhs, root);
                    self.node(rhs, root);
                }
            },
            AstNode::Unary { operand, .. } => self.node(operand, root),
            AstNode::Function { name, args, .. } => {
                self.read(name);
                if name == "eval" && !self.is_bound(name) {
                    self.violation(
                        "The function $eval is not supported by Step Functions; use $parse"
                            .to_owned(),
                    );
                }
                for arg in args {
                    self.node(arg, root);
                }
            }
            AstNode::Call { procedure, args } => {
                self.node(procedure, root);
                for arg in args {
                    self.node(arg, root);
                }
            }
            AstNode::Lambda { params, body, .. } => {
                let floor = self.lambda_floor;
                self.lambda_floor = self.scopes.len();
                self.scoped(&[body], |w| {
                    for param in params {
                        w.bind(param);
                    }
                    // The body reads the input the function was defined against.
                    w.node(body, root);
                });
                self.lambda_floor = floor;
            }
            AstNode::Array(items) => {
                for item in items {
                    self.node(item, root);
                }
            }
            AstNode::Object(pairs) => {
                for (key, value) in pairs {
                    self.node(key, root);
                    self.node(value, root);
                }
            }
            AstNode::ObjectTransform { input, pattern } => {
                // A group-by reads the `@`/`#` bindings of its input path.
                self.scoped(&[], |w| {
                    w.bound_input(input, root);
                    for (key, value) in pattern {
                        w.node(key, false);
                        w.node(value, false);
                    }
                });
            }
            AstNode::Block(items) => {
                let nodes: Vec<&AstNode> = items.iter().collect();
                self.scoped(&nodes, |w| {
                    for item in items {
                        w.node(item, root);
                    }
                });
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                self.node(condition, root);
                self.node(then_branch, root);
                if let Some(else_branch) = else_branch {
                    self.node(else_branch, root);
                }
            }
            AstNode::ArrayGroup(items) => {
                for item in items {
                    self.node(item, false);
                }
            }
            AstNode::FunctionApplication(inner) => self.node(inner, false),
            AstNode::Sort { input, terms } => {
                self.scoped(&[], |w| {
                    w.bound_input(input, root);
                    for (term, _) in terms {
                        w.node(term, false);
                    }
                });
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                self.node(location, false);
                self.node(update, false);
                if let Some(delete) = delete {
                    self.node(delete, false);
                }
            }
        }
    }

    /// Walks the input of a sort or group-by: a path's `@`/`#` bindings stay visible to the
    /// terms that follow.
    fn bound_input(&mut self, input: &AstNode, root: bool) {
        match input {
            AstNode::Path { steps } => self.steps(steps, root),
            other => self.node(other, root),
        }
    }

    /// Walks a path's steps in the current scope, binding `@$x` and `#$i` as they appear.
    fn steps(&mut self, steps: &[PathStep], root: bool) {
        for (i, step) in steps.iter().enumerate() {
            self.node(&step.node, root && i == 0);
            if let Some(focus) = &step.focus {
                self.bind(focus);
            }
            if let Some(index) = &step.index_var {
                self.bind(index);
            }
            for stage in &step.stages {
                match stage {
                    Stage::Filter(predicate) => self.node(predicate, false),
                    Stage::KeepArray => {}
                    Stage::Index(name) => self.bind(name),
                }
            }
        }
    }
}

/// Collects what an expression can read of each variable.
///
/// A variable that heads a path of plain field names (`$states.input.id`: no `@`/`#` binding,
/// no `%` after it; a predicate may end it) needs only the fields along the path, and all of
/// the value at its end: the objects between are only ever looked into, by those names. Every other read
/// (`$states`, `$keys($states)`, `$states.*`, `$f()`) needs the whole value. The analysis
/// ignores scopes: a local `$states := ...` only adds reads, which can only keep more.
#[derive(Default)]
struct Needs {
    needs: HashMap<String, Need>,
    /// The expression has a `%`, which reads the parent of a value: no pruning at all.
    parent: bool,
}

impl Needs {
    fn whole(&mut self, name: &str) {
        if !name.is_empty() {
            self.needs.insert(name.to_owned(), Need::Whole);
        }
    }

    fn path(&mut self, name: &str, keys: &[String]) {
        self.needs
            .entry(name.to_owned())
            .or_insert_with(|| Need::Fields(BTreeMap::new()))
            .add(keys);
    }

    fn node(&mut self, node: &AstNode) {
        jsonata_core::value::with_stack(|| self.node_inner(node));
    }

    fn nodes<'a>(&mut self, nodes: impl IntoIterator<Item = &'a AstNode>) {
        for node in nodes {
            self.node(node);
        }
    }

    fn node_inner(&mut self, node: &AstNode) {
        match node {
            AstNode::String(_)
            | AstNode::Name(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::ParentVariable(_)
            | AstNode::Wildcard
            | AstNode::Descendant => {}
            AstNode::Parent(_) => self.parent = true,
            AstNode::Variable(name) => self.whole(name),
            AstNode::Path { steps } => self.steps(steps),
            AstNode::Binary { lhs, rhs, .. } => {
                self.node(lhs);
                self.node(rhs);
            }
            AstNode::Unary { operand, .. } => self.node(operand),
            AstNode::Function { name, args, .. } => {
                self.whole(name);
                self.nodes(args);
            }
            AstNode::Call { procedure, args } => {
                self.node(procedure);
                self.nodes(args);
            }
            AstNode::Lambda { body, .. } => self.node(body),
            AstNode::Array(items) | AstNode::Block(items) | AstNode::ArrayGroup(items) => {
                self.nodes(items);
            }
            AstNode::Object(pairs) => {
                for (key, value) in pairs {
                    self.node(key);
                    self.node(value);
                }
            }
            AstNode::ObjectTransform { input, pattern } => {
                self.node(input);
                for (key, value) in pattern {
                    self.node(key);
                    self.node(value);
                }
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                self.node(condition);
                self.node(then_branch);
                if let Some(else_branch) = else_branch {
                    self.node(else_branch);
                }
            }
            AstNode::FunctionApplication(inner) => self.node(inner),
            AstNode::Sort { input, terms } => {
                self.node(input);
                for (term, _) in terms {
                    self.node(term);
                }
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                self.node(location);
                self.node(update);
                if let Some(delete) = delete {
                    self.node(delete);
                }
            }
        }
    }

    fn steps(&mut self, steps: &[PathStep]) {
        let plain = |step: &PathStep| {
            step.stages.is_empty()
                && step.focus.is_none()
                && step.index_var.is_none()
                && step.ancestor_label.is_none()
                && !step.is_tuple
                && !step.inner_tuple
        };
        let mut rest = steps;
        if let Some((first, after)) = steps.split_first()
            && let AstNode::Variable(name) = &first.node
            && !name.is_empty()
            && plain(first)
        {
            let mut keys = Vec::new();
            for step in after {
                let AstNode::Name(key) = &step.node else {
                    break;
                };
                // A step that binds (`@$v`, `#$i`) or that `%` looks back from can yield, or
                // read, its input (`a.b@$v` is `a` once per `b`): that input is needed whole.
                if step.focus.is_some()
                    || step.index_var.is_some()
                    || step.ancestor_label.is_some()
                    || step.is_tuple
                    || step.inner_tuple
                    || step.stages.iter().any(|s| matches!(s, Stage::Index(_)))
                {
                    break;
                }
                keys.push(key.clone());
                // A predicate reads all of this field's value.
                if !step.stages.is_empty() {
                    break;
                }
            }
            self.path(name, &keys);
            rest = after;
        }
        for step in rest {
            self.node(&step.node);
            for stage in &step.stages {
                if let Stage::Filter(predicate) = stage {
                    self.node(predicate);
                }
            }
        }
    }
}

/// Adds to `out` the names `node` binds with `:=` in its own scope (not inside nested blocks
/// or function bodies, which have their own).
fn collect_bindings(node: &AstNode, out: &mut HashSet<String>) {
    jsonata_core::value::with_stack(|| match node {
        AstNode::Binary {
            op: BinaryOp::ColonEqual,
            lhs,
            rhs,
        } => {
            if let AstNode::Variable(name) = &**lhs {
                out.insert(name.clone());
            }
            collect_bindings(rhs, out);
        }
        AstNode::Binary { lhs, rhs, .. } => {
            collect_bindings(lhs, out);
            collect_bindings(rhs, out);
        }
        AstNode::Unary { operand, .. } => collect_bindings(operand, out),
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            collect_bindings(condition, out);
            collect_bindings(then_branch, out);
            if let Some(else_branch) = else_branch {
                collect_bindings(else_branch, out);
            }
        }
        AstNode::Function { args, .. } => args.iter().for_each(|a| collect_bindings(a, out)),
        AstNode::Call { procedure, args } => {
            collect_bindings(procedure, out);
            args.iter().for_each(|a| collect_bindings(a, out));
        }
        AstNode::Array(items) => items.iter().for_each(|i| collect_bindings(i, out)),
        AstNode::Object(pairs) => pairs.iter().for_each(|(k, v)| {
            collect_bindings(k, out);
            collect_bindings(v, out);
        }),
        // Blocks and function bodies are scopes of their own; paths, predicates, sort terms and
        // transforms are left out: a binding there is rare and its scope murky.
        _ => {}
    })
}
