//! JSONata for the Amazon States Language: a small facade over the `jsonata-core` crate.
//!
//! - [`Expression::parse`] parses once; the result is `Send + Sync` and cheap to clone, so it can
//!   live in a validated definition shared across threads.
//! - [`Expression::evaluate`] converts `serde_json` values in and out at the boundary.
//!   `jsonata-core`'s values are reference-counted (`Rc`) and never leave the call.
//!   Converting costs time, so only what the expression can read is converted: a variable it
//!   does not name is left out, and one it reads only through field names (`$states.input.id`)
//!   is converted only along those fields. [`Expression::evaluate_bindings`] takes an object
//!   such as `$states` as borrowed parts ([`Binding`]), so the caller need not copy them into
//!   one value first.
//! - The simplest expressions (`$states.input.id`, `$states.input.i + 1`,
//!   `$states.input.x >= 0 and $exists($states.input.y)`) are answered from the `serde_json`
//!   values directly, without jsonata-core, whenever the values met are the plain ones those
//!   shapes are defined on; anything else goes through jsonata-core (see the `fast` module).
//! - Evaluation is pure: `$now()` and `$millis()` read [`Env::now_millis`], and `$random()`,
//!   `$uuid()` and `$shuffle()` draw from [`Env::random`]. Every evaluation runs under
//!   [`Limits`] (a depth and a time limit, checked at every step of the evaluation), and deep
//!   recursion runs on heap-allocated stack segments, so it neither hangs nor overflows the
//!   stack.
//! - The functions AWS Step Functions adds are registered on every evaluation of an expression
//!   that can call them: `$partition`, `$range`, `$hash`, `$random([seed])`, `$uuid` and
//!   `$parse` (see the `functions` module).
//! - [`Expression::check_aws_subset`] rejects what Step Functions (JSONata 2.0.6) does not
//!   accept: the `??` and `?:` operators of JSONata 2.1, and `$eval`.
//!
//! Known gaps:
//! - error positions are not reported (`jsonata-core` does not track them);
//! - a string holding a lone UTF-16 surrogate cannot exist in Rust (the two reference-suite
//!   cases that need one are skipped);
//! - the time limit is checked between steps, so one built-in call runs to its end:
//!   `$pad('', 100000000)` takes seconds and a large allocation;
//! - `$toMillis(text, picture)` with a picture that leaves out the date (`'[H]:[m]'`) takes
//!   today's date from the system clock, inside jsonata-core, not from `Env::now_millis`.

mod analysis;
mod convert;
mod fast;
mod functions;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::parser::{self, ParserError};
use jsonata_core::value::JValue;
use serde_json::Value;

pub use fast::Merge;

/// A parsed JSONata expression.
///
/// Holds `jsonata-core`'s AST, which is plain data (`String`, `Box`, `Vec`, `f64`) and so
/// `Send + Sync`; it sits behind an `Arc`, so cloning is cheap.
#[derive(Clone)]
pub struct Expression {
    source: Arc<str>,
    ast: Arc<AstNode>,
    /// What the expression refers to, computed once at parse time.
    facts: Arc<analysis::Facts>,
    /// The expression, when it is simple enough for the facade to evaluate it on the
    /// `serde_json` values directly (`$states.input.id`, `$states.input.i + 1`).
    fast: Option<Arc<fast::Fast>>,
}

// The definition that stores an `Expression` is shared across threads.
const _: () = {
    const fn assert_traits<T: Send + Sync + Clone + fmt::Debug + 'static>() {}
    assert_traits::<Expression>();
    assert_traits::<Error>();
};

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&&*self.source).finish()
    }
}

/// Two expressions are equal when their source text is.
impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Expression {}

/// A parse or evaluation error.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The JSONata error code (`"S0201"`, `"T2001"`, `"D3012"`, ...), or `""` when the error
    /// has none. The limits raise `"D1011"` (depth) and `"D1012"` (time).
    pub code: String,
    /// The message, without the `"S0201: "` prefix.
    pub message: String,
    /// The character offset in the source, when known. `jsonata-core` does not report
    /// positions, so this is `None` today.
    pub position: Option<usize>,
}

impl Error {
    fn new(code: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            code: code.into(),
            message: message.into(),
            position: None,
        }
    }

    /// Splits a `jsonata-core` message such as `"Invalid syntax: S0201: Syntax error: Eof"` into
    /// its code and the text after it.
    fn from_message(message: &str) -> Error {
        match find_code(message) {
            Some((code, rest)) => Error::new(code, rest),
            None => Error::new("", message),
        }
    }

    /// A parse error, worded as jsonata-js words it (Step Functions reports these messages in
    /// its INVALID_JSONATA_EXPRESSION diagnostics): tokens appear as their JSON text (`"]"`),
    /// where jsonata-core names them (`RightBracket`).
    fn from_parser(error: &ParserError, source: &str) -> Error {
        match error {
            // The one parse error jsonata-core gives no code (jsonata-js: S0106).
            ParserError::UnclosedComment => Error::new("S0106", "Comment has no closing tag"),
            // jsonata-core reports an unterminated regex as an unterminated string.
            ParserError::UnclosedString if unterminated_regex(source) => {
                Error::new("S0302", "No terminating / in regular expression")
            }
            ParserError::Expected { expected, found } if expected != "parameter name" => {
                if found == "Eof" {
                    Error::new(
                        "S0203",
                        format!("Expected {} before end of expression", js_token(expected)),
                    )
                } else {
                    Error::new(
                        "S0202",
                        format!("Expected {}, got {}", js_token(expected), js_token(found)),
                    )
                }
            }
            ParserError::UnexpectedToken(token) if token != "Eof" => {
                if token.chars().next().is_some_and(char::is_alphabetic) {
                    Error::new(
                        "S0211",
                        format!(
                            "The symbol {} cannot be used as a unary operator",
                            js_token(token)
                        ),
                    )
                } else {
                    Error::new("S0204", format!("Unknown operator: {}", js_token(token)))
                }
            }
            ParserError::InvalidSyntax(message) => {
                match message.strip_prefix("S0201: Syntax error: ") {
                    Some(token) => {
                        Error::new("S0201", format!("Syntax error: {}", js_token(token)))
                    }
                    None => Error::from_message(message),
                }
            }
            ParserError::Coded {
                code: "S0214",
                message,
            } => {
                let symbol = if message.contains('#') { "#" } else { "@" };
                Error::new(
                    "S0214",
                    format!(
                        "The right side of \"{symbol}\" must be a variable name (start with $)"
                    ),
                )
            }
            other => Error::from_message(&other.to_string()),
        }
    }

    fn from_evaluator(error: &EvaluatorError) -> Error {
        Error::from_message(error.message())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl std::error::Error for Error {}

/// Finds the first JSONata code (`X9999: `) that starts the message or follows a `": "`
/// (jsonata-core wraps some coded messages, as in `"Invalid number: S0102: ..."`).
fn find_code(message: &str) -> Option<(&str, &str)> {
    let bytes = message.as_bytes();
    let mut start = 0;
    loop {
        let b = &bytes[start..];
        if b.len() >= 6
            && b[0].is_ascii_uppercase()
            && b[1..5].iter().all(u8::is_ascii_digit)
            && b[5] == b':'
        {
            let code = &message[start..start + 5];
            let rest = message[start + 6..].trim_start();
            return Some((code, rest));
        }
        let next = message[start..].find(": ")?;
        start += next + 2;
    }
}

/// A token as jsonata-js shows it in a message (`JSON.stringify` of its value), from the name
/// jsonata-core gives it: `RightBracket` → `"]"`, `Number(2.0)` → `2`, `Identifier("a")` → `"a"`.
fn js_token(name: &str) -> String {
    let symbol = match name {
        "LeftParen" => "(",
        "RightParen" => ")",
        "LeftBracket" => "[",
        "RightBracket" => "]",
        "LeftBrace" => "{",
        "RightBrace" => "}",
        "Comma" => ",",
        "Semicolon" => ";",
        "Colon" => ":",
        "Dot" => ".",
        "DotDot" => "..",
        "Question" => "?",
        "QuestionQuestion" => "??",
        "QuestionColon" => "?:",
        "ColonEqual" => ":=",
        "TildeArrow" => "~>",
        "Plus" => "+",
        "Minus" => "-",
        "Star" => "*",
        "StarStar" => "**",
        "Slash" => "/",
        "Percent" => "%",
        "Equal" => "=",
        "NotEqual" => "!=",
        "LessThan" => "<",
        "LessThanOrEqual" => "<=",
        "GreaterThan" => ">",
        "GreaterThanOrEqual" => ">=",
        "And" => "and",
        "Or" => "or",
        "In" => "in",
        "Ampersand" => "&",
        "Caret" => "^",
        "Pipe" => "|",
        "Hash" => "#",
        "At" => "@",
        "Eof" => "(end)",
        "True" => return "true".to_owned(),
        "False" => return "false".to_owned(),
        "Null" => return "null".to_owned(),
        _ => {
            // `Number(2.0)`, `String("x")`, `Identifier("a")`, `Variable("a")`, `Function("f")`.
            let Some((kind, rest)) = name.split_once('(') else {
                return Value::String(name.to_owned()).to_string();
            };
            let inner = rest.strip_suffix(')').unwrap_or(rest);
            return match kind {
                "Number" => inner
                    .parse::<f64>()
                    .map_or_else(|_| inner.to_owned(), |n| convert::number(n).to_string()),
                // Rust's debug form of a plain string is its JSON form.
                "String" | "Identifier" | "Variable" | "ParentVariable" | "Function" => {
                    inner.to_owned()
                }
                _ => name.to_owned(),
            };
        }
    };
    Value::String(symbol.to_owned()).to_string()
}

/// Whether the literal left unterminated at the end of `source` is a regex (`/abc`) rather
/// than a string: the last place where a quote or slash opens a token.
fn unterminated_regex(source: &str) -> bool {
    use jsonata_core::parser::{Lexer, Token};
    let lexes = |prefix: &str| {
        let mut lexer = Lexer::new(prefix.to_owned());
        loop {
            match lexer.next_token() {
                Ok(Token::Eof) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    };
    // The literal runs to the end, so every quote or slash inside it sits after an
    // unterminated prefix: the last opener with a clean prefix is where it starts.
    source
        .char_indices()
        .rev()
        .filter(|(_, c)| matches!(c, '\'' | '"' | '/'))
        .find(|(i, _)| lexes(&source[..*i]))
        .is_some_and(|(_, c)| c == '/')
}

/// A value bound to a variable for [`Expression::evaluate_bindings`].
#[derive(Debug, Clone, PartialEq)]
pub enum Binding<'a> {
    /// A value held elsewhere.
    Value(&'a Value),
    /// A value made for this evaluation.
    Owned(Value),
    /// An object assembled from members held in different places, in this order (a name
    /// given twice: the last one counts). `$states` is one: `input` borrowed from the state,
    /// `context` assembled from the execution's fields.
    Object(Vec<(&'a str, Binding<'a>)>),
    /// As [`Binding::Object`], with the list of members held by the caller (on its stack,
    /// say), so that assembling the object allocates nothing.
    Members(&'a [(&'a str, Binding<'a>)]),
}

impl Binding<'_> {
    /// The whole value, as one `serde_json` value.
    pub fn to_value(&self) -> Value {
        match self {
            Binding::Value(value) => (*value).clone(),
            Binding::Owned(value) => value.clone(),
            Binding::Object(members) => Binding::Members(members).to_value(),
            Binding::Members(members) => {
                let mut map = serde_json::Map::with_capacity(members.len());
                for (name, member) in members.iter() {
                    map.insert((*name).to_owned(), member.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// Bounds on one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The deepest the evaluation may nest (jsonata-js's `stack` option, counted the same way:
    /// about three levels per non-tail recursive call). Exceeding it is error D1011.
    pub max_depth: usize,
    /// The longest the evaluation may run, in milliseconds of wall-clock time. Exceeding it is
    /// error D1012.
    pub timeout_ms: u64,
}

impl Default for Limits {
    /// 1000 levels (about 330 nested non-tail calls; tail calls do not nest) and one second.
    fn default() -> Self {
        Limits {
            max_depth: 1000,
            timeout_ms: 1000,
        }
    }
}

/// What an evaluation may read from outside: the engine's clock and random source.
pub struct Env<'a> {
    /// The engine's clock, in milliseconds since the Unix epoch: what `$now()` and `$millis()`
    /// return. One evaluation sees one instant, as in jsonata-js.
    pub now_millis: i64,
    /// The engine's random source, for `$random()`, `$uuid()` and `$shuffle()`. An evaluation
    /// that can call one of them draws one number from it, which seeds a splitmix64 stream for
    /// the rest of that evaluation; other evaluations do not draw at all.
    pub random: &'a mut dyn FnMut() -> u64,
    pub limits: Limits,
}

impl<'a> Env<'a> {
    /// An environment with the default [`Limits`].
    pub fn new(now_millis: i64, random: &'a mut dyn FnMut() -> u64) -> Env<'a> {
        Env {
            now_millis,
            random,
            limits: Limits::default(),
        }
    }
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("now_millis", &self.now_millis)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Expression {
    /// Parses `source`. Syntax errors carry jsonata-js's codes (`S0xxx`).
    pub fn parse(source: &str) -> Result<Expression, Error> {
        let ast = parser::parse(source).map_err(|e| Error::from_parser(&e, source))?;
        let facts = analysis::Facts::of(&ast);
        let fast = fast::Fast::of(&ast).map(Arc::new);
        Ok(Expression {
            source: source.into(),
            ast: Arc::new(ast),
            facts: Arc::new(facts),
            fast,
        })
    }

    /// The source text, as given to [`Expression::parse`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates with `input` as `$` and the given variable bindings (`$states`, workflow
    /// variables; a name may be given with or without its `$`). `Ok(None)` means JSONata's
    /// *undefined*.
    ///
    /// A function value in the result is left out, as `JSON.stringify` does: `None` at the top,
    /// a dropped field in an object, `null` in an array.
    pub fn evaluate(
        &self,
        input: &Value,
        bindings: &[(&str, &Value)],
        env: &mut Env<'_>,
    ) -> Result<Option<Value>, Error> {
        self.evaluate_input(Some(input), bindings, env)
    }

    /// As [`Expression::evaluate`], with `None` for an *undefined* input.
    pub fn evaluate_input(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        env: &mut Env<'_>,
    ) -> Result<Option<Value>, Error> {
        let bindings: Vec<(&str, Binding<'_>)> = bindings
            .iter()
            .map(|(name, value)| (*name, Binding::Value(value)))
            .collect();
        self.evaluate_bindings(input, &bindings, env)
    }

    /// As [`Expression::evaluate_input`], with the variables given as [`Binding`]s: an object
    /// such as `$states` can be assembled from values held in different places, without
    /// copying them into a new `serde_json` object first.
    ///
    /// Only what the expression can read is used: a variable it does not name is ignored, one
    /// it reads only through field names (`$states.input.id`) is converted only along those
    /// fields, and the simplest expressions (`$states.input.id`, `$states.input.i + 1`) are
    /// answered from the bound values directly.
    pub fn evaluate_bindings(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, Binding<'_>)],
        env: &mut Env<'_>,
    ) -> Result<Option<Value>, Error> {
        if let Some(fast) = &self.fast
            && let Some(result) = fast.evaluate(bindings)
        {
            return result;
        }
        self.evaluate_core(input, bindings, env, true)
    }

    /// Evaluates through jsonata-core, converting what the variables hold: only the parts the
    /// expression can read when `pruned`, all of it otherwise.
    fn evaluate_core(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, Binding<'_>)],
        env: &mut Env<'_>,
        pruned: bool,
    ) -> Result<Option<Value>, Error> {
        let data = match input {
            Some(value) => convert::to_jvalue(value),
            None => JValue::Undefined,
        };
        let mut context = Context::new();
        for (name, value) in bindings {
            let name = name.strip_prefix('$').unwrap_or(name);
            // Converting a large workflow variable costs time, so only what the expression can
            // read is bound (everything, when it can evaluate new source with `$eval`), and a
            // variable read only through field paths (`$states.input.id`) only along those.
            if !pruned {
                context.bind(name.to_owned(), convert::binding_to_jvalue(value, None));
            } else if self.facts.reads_variable(name) {
                let value = convert::binding_to_jvalue(value, self.facts.need(name));
                context.bind(name.to_owned(), value);
            }
        }
        let options = EvaluatorOptions {
            timeout_ms: Some(env.limits.timeout_ms),
            max_stack_depth: Some(env.limits.max_depth),
            ..EvaluatorOptions::default()
        };
        let mut evaluator = Evaluator::with_options(context, options);
        let seed = if self.facts.may_draw_random() {
            Some((env.random)())
        } else {
            None
        };
        functions::register(&mut evaluator, self.facts.hosts, env.now_millis, seed)?;
        let result = evaluator
            .evaluate(&self.ast, &data)
            .map_err(|e| Error::from_evaluator(&e))?;
        convert::from_jvalue(&result)
    }

    /// As [`Expression::evaluate_bindings`], without the shortcuts: no fast path, every
    /// variable converted whole. For the differential tests and the fuzz target, which hold the
    /// shortcuts to this.
    #[doc(hidden)]
    pub fn evaluate_general(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, Binding<'_>)],
        env: &mut Env<'_>,
    ) -> Result<Option<Value>, Error> {
        self.evaluate_core(input, bindings, env, false)
    }

    /// The fast path's answer alone; `None` where it gives up. For the differential tests.
    #[doc(hidden)]
    pub fn evaluate_fast(
        &self,
        bindings: &[(&str, Binding<'_>)],
    ) -> Option<Result<Option<Value>, Error>> {
        self.fast.as_ref()?.evaluate(bindings)
    }

    /// When the expression is nothing but `$variable.f1.f2...` (field names only, no index or
    /// predicate): the variable and the field names. Its value is then the value found by
    /// following the names through objects (an absent name: *undefined*), as returned by an
    /// evaluation (see [`normalise`]); where the walk meets an array, JSONata's sequence rules
    /// apply, and the expression must be evaluated.
    pub fn field_path(&self) -> Option<(&str, Vec<&str>)> {
        let (variable, steps) = self.fast.as_ref()?.field_path()?;
        Some((
            variable,
            steps.iter().map(|(key, _)| key.as_str()).collect(),
        ))
    }

    /// When the expression is `$merge([$v.k..., {...}, ...])`, possibly after local bindings
    /// (`($r := ...; $merge([$states.input, {'r': $r}]))`): the variable and the field names
    /// of the object its result is built on. A caller that owns that object can then extend it
    /// with [`Expression::evaluate_merge`] instead of having it copied into the result.
    pub fn merge_base(&self) -> Option<(&str, &[String])> {
        self.fast.as_ref()?.merge_base()
    }

    /// For an expression with a [`Expression::merge_base`]: what the merge adds to the object
    /// at that path (found through `bindings`), to be applied with [`Merge::apply`] to that
    /// very object, which then equals what [`Expression::evaluate_bindings`] returns. `None`
    /// when the merge is not that simple at run time (the base is not an object, a member is not
    /// a plain value): evaluate as usual then.
    ///
    /// `base_normalised` tells that the object is a result of an earlier evaluation (or part of
    /// one), so it is already as JSONata writes values and needs no walk over it; otherwise
    /// the object is checked, and [`Merge::apply`] rewrites the numbers JSONata would rewrite.
    pub fn evaluate_merge(
        &self,
        bindings: &[(&str, Binding<'_>)],
        base_normalised: bool,
    ) -> Option<Result<Merge, Error>> {
        self.fast
            .as_ref()?
            .evaluate_merge(bindings, base_normalised)
    }

    /// Whether an evaluation can read `$variable.k1.k2...` (or all of `$variable`, for no
    /// keys): false when the expression never reaches that part of the value, so a caller
    /// need not bind it. Conservative: true whenever the analysis cannot tell.
    pub fn can_read(&self, variable: &str, keys: &[&str]) -> bool {
        self.facts.can_read(variable, keys)
    }

    /// Checks that the expression stays within what AWS Step Functions accepts (JSONata 2.0.6):
    /// no `??` or `?:` operator (JSONata 2.1) and no `$eval` (Step Functions offers `$parse`).
    /// Nothing else that jsonata-js added after 2.0.6 changed the language: 2.1 and 2.2 added
    /// only these operators, evaluation limits and bug fixes.
    pub fn check_aws_subset(&self) -> Result<(), Error> {
        match self.facts.aws_violations.first() {
            None => Ok(()),
            Some(violation) => Err(Error::new("", violation.clone())),
        }
    }

    /// The names of the free variables the expression reads (`$foo` → `"foo"`), sorted, without
    /// the names it binds itself (`$x := ...`, lambda parameters, `@$x`/`#$i` bindings) and
    /// without built-in functions (JSONata's and the ones AWS adds). A function called by a
    /// name that is neither bound nor built in (`$f()`) is a free variable too.
    pub fn free_variables(&self) -> Vec<String> {
        self.facts
            .free
            .iter()
            .filter(|name| !analysis::is_builtin_function(name))
            .cloned()
            .collect()
    }

    /// The expression's reads of its input at the top level, in source order: the field names
    /// a path starts with (`phone` in `phone.number`), `$` (as in `$.phone`), `*` and `**`, when
    /// they are evaluated against the input rather than inside a path step, predicate, sort or
    /// transform; and `$$` wherever it appears. A function body counts as top level when the
    /// function is defined there, since it reads the input it was defined against.
    ///
    /// Step Functions rejects these reads (its `$states.input` is the way to the input).
    pub fn top_level_input_reads(&self) -> &[String] {
        &self.facts.top_level_reads
    }
}

/// Rewrites `value` into what an evaluation returns for it: JSONata's numbers are doubles,
/// written as integers when they are whole (`1.0` becomes `1`, and an integer beyond 2^53 is
/// rounded). An error when the value is nested deeper than a result may be.
pub fn normalise(value: &mut Value) -> Result<(), Error> {
    fast::normalise_result(value)
}

/// Whether `value` is already as an evaluation returns it (see [`normalise`]); an error when it
/// is nested deeper than a result may be.
pub fn is_normalised(value: &Value) -> Result<bool, Error> {
    fast::is_normalised(value)
}

/// The names of every function that is built in: JSONata's own and those AWS Step Functions
/// adds. Sorted.
pub fn builtin_functions() -> BTreeSet<&'static str> {
    analysis::BUILTINS
        .iter()
        .chain(analysis::AWS_FUNCTIONS)
        .copied()
        .collect()
}
