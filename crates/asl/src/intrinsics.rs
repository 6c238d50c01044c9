//! The intrinsic functions of the Amazon States Language (`States.Format(...)` and the other
//! seventeen): parsing a call such as `States.Format('Hello, {}', $.name)` into a tree of
//! literals, JSONPath references and nested calls, and evaluating it with AWS semantics.
//!
//! Evaluation is pure: JSONPath arguments are resolved by a caller-supplied closure (so this
//! module knows nothing of context objects or variables), and `States.UUID` and unseeded
//! `States.MathRandom` draw from a caller-supplied random source.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{Number, Value};
use sha2::Digest as _;

use crate::jsonpath::{JsonPath, json_eq};

/// AWS allows up to 10 intrinsic functions nested within one another.
const MAX_NESTING: usize = 10;

/// The longest string `States.Base64Encode`, `States.Base64Decode` and `States.Hash` accept.
const MAX_INPUT_CHARS: usize = 10_000;

/// The most elements `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i128 = 1000;

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    function: Function,
    args: Vec<IntrinsicArg>,
    /// For `States.Format` with a literal template: the template split at its `{}` placeholders,
    /// computed from the escaped text so `\{` and `\}` stay literal braces.
    template: Option<Vec<Piece>>,
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum IntrinsicArg {
    /// A string (with escapes undone), number, boolean or null written in the call.
    Literal(Value),
    /// A JSONPath (`$.x`, `$$.Execution.Id`, `$var`), resolved at evaluation.
    Path(JsonPath),
    /// A nested intrinsic call.
    Call(Box<Intrinsic>),
}

/// A call that could not be parsed; `offset` is a byte offset into the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct IntrinsicParseError {
    pub message: String,
    pub offset: usize,
}

/// A call that failed at run time; the engine reports it as `States.IntrinsicFailure`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntrinsicError {
    pub message: String,
}

impl fmt::Display for IntrinsicParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

impl std::error::Error for IntrinsicParseError {}

impl fmt::Display for IntrinsicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IntrinsicError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The least and, when bounded, the most arguments the function takes.
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Format => (1, None),
            Function::Array => (0, None),
            Function::Uuid => (0, Some(0)),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, Some(1)),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, Some(2)),
            Function::ArrayRange | Function::JsonMerge => (3, Some(3)),
            Function::MathRandom => (2, Some(3)),
        }
    }
}

/// A piece of a `States.Format` template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Placeholder,
}

impl Intrinsic {
    /// True when `s` looks like an intrinsic call (`States.Name(`), which decides whether a
    /// `.$` value is read as a call or as a path.
    pub fn looks_like_call(s: &str) -> bool {
        let Some(rest) = s.trim_start().strip_prefix("States.") else {
            return false;
        };
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        name_len > 0 && rest.as_bytes().get(name_len) == Some(&b'(')
    }

    /// Parses a call, checking function names, argument counts, string escapes and nesting.
    pub fn parse(source: &str) -> Result<Intrinsic, IntrinsicParseError> {
        let mut parser = Parser {
            src: source,
            bytes: source.as_bytes(),
            pos: 0,
        };
        parser.skip_ws();
        let call = parser.call(1)?;
        parser.skip_ws();
        if parser.pos < source.len() {
            return parser.fail("unexpected characters after the intrinsic function call");
        }
        Ok(call)
    }

    /// The function's name, e.g. `States.Format`.
    pub fn name(&self) -> &str {
        self.function.name()
    }

    /// The arguments as written, nested calls included as trees.
    pub fn args(&self) -> &[IntrinsicArg] {
        &self.args
    }

    /// Every JSONPath argument, including those of nested calls, in source order.
    pub fn paths(&self) -> Vec<&JsonPath> {
        let mut out = Vec::new();
        // An explicit stack of arguments still to visit, next one on top.
        let mut pending: Vec<&IntrinsicArg> = self.args.iter().rev().collect();
        while let Some(arg) = pending.pop() {
            match arg {
                IntrinsicArg::Path(path) => out.push(path),
                IntrinsicArg::Call(inner) => pending.extend(inner.args.iter().rev()),
                IntrinsicArg::Literal(_) => {}
            }
        }
        out
    }

    /// Evaluates the call. `resolve` reads a JSONPath argument; `random` supplies 64 random bits
    /// for `States.UUID` and unseeded `States.MathRandom`.
    pub fn eval(
        &self,
        resolve: &mut dyn FnMut(&JsonPath) -> Result<Value, IntrinsicError>,
        random: &mut dyn FnMut() -> u64,
    ) -> Result<Value, IntrinsicError> {
        // A literal template was split at parse time, so its value is not needed again.
        let skip = usize::from(self.template.is_some());
        let mut values = Vec::with_capacity(self.args.len());
        for arg in self.args.iter().skip(skip) {
            values.push(match arg {
                IntrinsicArg::Literal(value) => value.clone(),
                IntrinsicArg::Path(path) => resolve(path)?,
                IntrinsicArg::Call(call) => call.eval(resolve, random)?,
            });
        }
        self.apply(values, random)
    }

    fn fail<T>(&self, message: impl fmt::Display) -> Result<T, IntrinsicError> {
        Err(IntrinsicError {
            message: format!("Invalid arguments in {}: {message}", self.name()),
        })
    }

    fn apply(
        &self,
        values: Vec<Value>,
        random: &mut dyn FnMut() -> u64,
    ) -> Result<Value, IntrinsicError> {
        match self.function {
            Function::Format => self.format(values),
            Function::StringToJson => {
                let text = self.string_arg(&values, 0)?;
                if text.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(text)
                    .or_else(|e| self.fail(format_args!("the string is not valid JSON: {e}")))
            }
            Function::JsonToString => {
                let value = values.first().unwrap_or(&Value::Null);
                match serde_json::to_string(value) {
                    Ok(text) => Ok(Value::String(text)),
                    Err(e) => self.fail(format_args!("the value cannot be serialized: {e}")),
                }
            }
            Function::Array => Ok(Value::Array(values)),
            Function::ArrayPartition => {
                let items = self.array_arg(&values, 0)?;
                let size = self.integer_arg(&values, 1)?;
                let size = match usize::try_from(size) {
                    Ok(size) if size > 0 => size,
                    _ => {
                        return self.fail(format_args!(
                            "the chunk size must be a positive integer, got {size}"
                        ));
                    }
                };
                Ok(Value::Array(
                    items
                        .chunks(size)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                ))
            }
            Function::ArrayContains => {
                let items = self.array_arg(&values, 0)?;
                let needle = values.get(1).unwrap_or(&Value::Null);
                Ok(Value::Bool(items.iter().any(|item| json_eq(item, needle))))
            }
            Function::ArrayRange => self.array_range(&values),
            Function::ArrayGetItem => {
                let items = self.array_arg(&values, 0)?;
                let index = self.integer_arg(&values, 1)?;
                match usize::try_from(index).ok().and_then(|i| items.get(i)) {
                    Some(item) => Ok(item.clone()),
                    None => self.fail(format_args!(
                        "index {index} is out of bounds for an array of length {}",
                        items.len()
                    )),
                }
            }
            Function::ArrayLength => Ok(Value::from(self.array_arg(&values, 0)?.len())),
            Function::ArrayUnique => {
                let items = self.array_arg(&values, 0)?;
                let mut seen = HashSet::new();
                let unique = items
                    .iter()
                    .filter(|item| seen.insert(canonical_key(item)))
                    .cloned()
                    .collect();
                Ok(Value::Array(unique))
            }
            Function::Base64Encode => {
                let text = self.limited_string_arg(&values, 0)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            Function::Base64Decode => {
                let text = self.limited_string_arg(&values, 0)?;
                // MIME decoding tolerates line breaks; padding is optional, as in Java's decoder.
                let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
                    .decode(compact)
                    .or_else(|e| self.fail(format_args!("the string is not valid Base64: {e}")))?;
                Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
            }
            Function::Hash => self.hash(&values),
            Function::JsonMerge => self.json_merge(values),
            Function::MathRandom => self.math_random(&values, random),
            Function::MathAdd => {
                let a = self.integer_arg(&values, 0)?;
                let b = self.integer_arg(&values, 1)?;
                match a.checked_add(b) {
                    Some(sum) => Ok(Value::from(sum)),
                    None => self.fail("the sum is out of range"),
                }
            }
            Function::StringSplit => {
                let text = self.string_arg(&values, 0)?;
                let delimiters = self.string_arg(&values, 1)?;
                // Every character of the second argument delimits, and empty pieces are dropped.
                let pieces = text
                    .split(|c: char| delimiters.contains(c))
                    .filter(|piece| !piece.is_empty())
                    .map(|piece| Value::String(piece.to_owned()))
                    .collect();
                Ok(Value::Array(pieces))
            }
            Function::Uuid => Ok(Value::String(uuid_v4(random(), random()))),
        }
    }

    fn format(&self, values: Vec<Value>) -> Result<Value, IntrinsicError> {
        let (pieces, args) = match &self.template {
            Some(pieces) => (Cow::Borrowed(pieces.as_slice()), values.as_slice()),
            None => {
                let template = self.string_arg(&values, 0)?;
                (
                    Cow::Owned(template_pieces(template)),
                    values.get(1..).unwrap_or(&[]),
                )
            }
        };
        let placeholders = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Placeholder))
            .count();
        if placeholders != args.len() {
            return self.fail(format_args!(
                "the template has {placeholders} placeholder(s) but {} value(s) were given",
                args.len()
            ));
        }
        let mut out = String::new();
        let mut next = args.iter();
        for piece in pieces.iter() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Placeholder => {
                    if let Some(value) = next.next() {
                        write_java_string(&mut out, value);
                    }
                }
            }
        }
        Ok(Value::String(out))
    }

    fn array_range(&self, values: &[Value]) -> Result<Value, IntrinsicError> {
        let start = self.integer_arg(values, 0)?;
        let end = self.integer_arg(values, 1)?;
        let step = self.integer_arg(values, 2)?;
        if step == 0 {
            return self.fail("the step must not be zero");
        }
        let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
        let count = if (step > 0 && end >= start) || (step < 0 && end <= start) {
            (end - start) / step + 1
        } else {
            0
        };
        if count > MAX_RANGE_ITEMS {
            return self.fail(format_args!(
                "the range would have {count} elements; at most {MAX_RANGE_ITEMS} are allowed"
            ));
        }
        let items = (0..count)
            .filter_map(|i| i64::try_from(start + i * step).ok())
            .map(Value::from)
            .collect();
        Ok(Value::Array(items))
    }

    fn hash(&self, values: &[Value]) -> Result<Value, IntrinsicError> {
        let data = match values.first() {
            Some(Value::String(text)) => Cow::Borrowed(text.as_str()),
            Some(other) => Cow::Owned(serde_json::to_string(other).unwrap_or_default()),
            None => Cow::Borrowed(""),
        };
        if data.chars().count() > MAX_INPUT_CHARS {
            return self.fail(format_args!(
                "the data must be at most {MAX_INPUT_CHARS} characters long"
            ));
        }
        let algorithm = match values.get(1) {
            Some(Value::String(name)) => name.as_str(),
            _ => return self.fail("the algorithm must be a string"),
        };
        let digest: Vec<u8> = match algorithm {
            "MD5" => md5::Md5::digest(data.as_bytes()).to_vec(),
            "SHA-1" => sha1::Sha1::digest(data.as_bytes()).to_vec(),
            "SHA-256" => sha2::Sha256::digest(data.as_bytes()).to_vec(),
            "SHA-384" => sha2::Sha384::digest(data.as_bytes()).to_vec(),
            "SHA-512" => sha2::Sha512::digest(data.as_bytes()).to_vec(),
            other => {
                return self.fail(format_args!(
                    "unsupported hash algorithm '{other}'; expected one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
                ));
            }
        };
        let mut hex = String::with_capacity(digest.len() * 2);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        Ok(Value::String(hex))
    }

    fn json_merge(&self, values: Vec<Value>) -> Result<Value, IntrinsicError> {
        match values.get(2) {
            Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return self
                    .fail("deep merging is not supported; the third argument must be false");
            }
            _ => return self.fail("the third argument must be the boolean false"),
        }
        let mut values = values.into_iter();
        let (Some(Value::Object(mut merged)), Some(Value::Object(second))) =
            (values.next(), values.next())
        else {
            return self.fail("the first two arguments must be JSON objects");
        };
        // A shallow merge: the second object's keys win, keeping the first object's key order.
        for (key, value) in second {
            merged.insert(key, value);
        }
        Ok(Value::Object(merged))
    }

    fn math_random(
        &self,
        values: &[Value],
        random: &mut dyn FnMut() -> u64,
    ) -> Result<Value, IntrinsicError> {
        let start = self.integer_arg(values, 0)?;
        let end = self.integer_arg(values, 1)?;
        let draw = if values.len() > 2 {
            // A seed must give the same number every time, whatever the caller's source does.
            let seed = self.integer_arg(values, 2)?;
            let mut state = seed as u64;
            splitmix64(&mut state)
        } else {
            random()
        };
        if end == start {
            return Ok(Value::from(start));
        }
        if end < start {
            return self.fail(format_args!(
                "the start ({start}) must be less than the end ({end})"
            ));
        }
        let span = (i128::from(end) - i128::from(start)) as u128;
        let offset = (u128::from(draw) % span) as i128;
        match i64::try_from(i128::from(start) + offset) {
            Ok(n) => Ok(Value::from(n)),
            Err(_) => self.fail("the result is out of range"),
        }
    }

    fn arg<'v>(&self, values: &'v [Value], index: usize) -> Result<&'v Value, IntrinsicError> {
        match values.get(index) {
            Some(value) => Ok(value),
            None => self.fail(format_args!("argument {} is missing", index + 1)),
        }
    }

    fn string_arg<'v>(&self, values: &'v [Value], index: usize) -> Result<&'v str, IntrinsicError> {
        match self.arg(values, index)? {
            Value::String(text) => Ok(text),
            other => self.fail(format_args!(
                "argument {} must be a string, but it is {}",
                index + 1,
                describe(other)
            )),
        }
    }

    fn limited_string_arg<'v>(
        &self,
        values: &'v [Value],
        index: usize,
    ) -> Result<&'v str, IntrinsicError> {
        let text = self.string_arg(values, index)?;
        if text.chars().count() > MAX_INPUT_CHARS {
            return self.fail(format_args!(
                "argument {} must be at most {MAX_INPUT_CHARS} characters long",
                index + 1
            ));
        }
        Ok(text)
    }

    fn array_arg<'v>(
        &self,
        values: &'v [Value],
        index: usize,
    ) -> Result<&'v [Value], IntrinsicError> {
        match self.arg(values, index)? {
            Value::Array(items) => Ok(items),
            other => self.fail(format_args!(
                "argument {} must be an array, but it is {}",
                index + 1,
                describe(other)
            )),
        }
    }

    /// Reads an integer argument. Like AWS, a number with a fraction is rounded to the nearest
    /// integer, halves upwards (Java's `Math.round`).
    fn integer_arg(&self, values: &[Value], index: usize) -> Result<i64, IntrinsicError> {
        let value = self.arg(values, index)?;
        let Value::Number(number) = value else {
            return self.fail(format_args!(
                "argument {} must be an integer, but it is {}",
                index + 1,
                describe(value)
            ));
        };
        if let Some(n) = number.as_i64() {
            return Ok(n);
        }
        let rounded = number.as_f64().map(java_round);
        match rounded {
            // The bounds are exactly representable, so values outside i64 are caught here.
            Some(r) if r >= -(2f64.powi(63)) && r < 2f64.powi(63) => Ok(r as i64),
            _ => self.fail(format_args!(
                "argument {} is out of range: {number}",
                index + 1
            )),
        }
    }
}

/// Java's `Math.round`: the nearest integer, halves rounded towards positive infinity.
fn java_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

/// Splits a `States.Format` template at its `{}` placeholders. A backslash makes the next `'`,
/// `{`, `}` or `\` literal; before any other character it is kept as written.
fn template_pieces(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('\'' | '{' | '}' | '\\')) => {
                    text.push(next);
                    chars.next();
                }
                _ => text.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Placeholder);
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

/// Writes a value as AWS renders it in `States.Format`: strings without quotes, numbers, booleans
/// and null as in JSON, and arrays and objects as Java collections print (`[a, b]`, `{k=v}`).
fn write_java_string(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Number(number) => out.push_str(&java_number(number)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java_string(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                write_java_string(out, item);
            }
            out.push('}');
        }
    }
}

/// A number as Java prints it: integers as they are, fractions as `Double.toString` does
/// (`1.0`, `0.001`, `1.0E7`, `1.5E-4`).
fn java_number(number: &Number) -> String {
    if number.is_i64() || number.is_u64() {
        return number.to_string();
    }
    let Some(x) = number.as_f64() else {
        return number.to_string();
    };
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    if (1e-3..1e7).contains(&x.abs()) {
        let text = x.to_string();
        if text.contains('.') {
            text
        } else {
            text + ".0"
        }
    } else {
        let text = format!("{x:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => {
                format!("{mantissa}E{exponent}")
            }
            Some((mantissa, exponent)) => format!("{mantissa}.0E{exponent}"),
            None => text,
        }
    }
}

/// A key that is equal for JSON-equal values (numbers by value, objects in any key order), so
/// `States.ArrayUnique` runs in linear time.
fn canonical_key(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(x) if number.is_f64() && x.fract() == 0.0 && x.abs() < 9.0e15 => {
                let _ = write!(out, "n{}", x as i64);
            }
            _ => {
                let _ = write!(out, "n{number}");
            }
        },
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_canonical(out, item);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (key, item) in entries {
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push(':');
                write_canonical(out, item);
                out.push(',');
            }
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// A short description of a value's type for error messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The splitmix64 generator: one step from `state`.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Formats a version 4 (random) UUID from 128 random bits.
pub fn uuid_v4(high: u64, low: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}

struct Parser<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, IntrinsicParseError> {
        self.fail_at(self.pos, message)
    }

    fn fail_at<T>(
        &self,
        offset: usize,
        message: impl Into<String>,
    ) -> Result<T, IntrinsicParseError> {
        Err(IntrinsicParseError {
            message: message.into(),
            offset,
        })
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Parses `States.Name(args...)` at nesting level `depth` (the outermost call is 1).
    fn call(&mut self, depth: usize) -> Result<Intrinsic, IntrinsicParseError> {
        let start = self.pos;
        if depth > MAX_NESTING {
            return self.fail(format!(
                "intrinsic functions can be nested at most {MAX_NESTING} levels deep"
            ));
        }
        if !self.rest().starts_with("States.") {
            return self.fail("expected an intrinsic function call such as States.Format(...)");
        }
        self.pos += "States.".len();
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let name = self.src.get(start..self.pos).unwrap_or("");
        let Some(function) = Function::from_name(name) else {
            return self.fail_at(start, format!("unknown intrinsic function '{name}'"));
        };
        if self.peek() != Some(b'(') {
            return self.fail(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        self.skip_ws();
        let mut args = Vec::new();
        let mut raw_template = None;
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                let (arg, raw) = self.arg(depth)?;
                if args.is_empty() && function == Function::Format {
                    raw_template = raw;
                }
                args.push(arg);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    None => return self.fail(format!("unterminated argument list of {name}")),
                    Some(_) => return self.fail("expected ',' or ')' after an argument"),
                }
            }
        }
        let (min, max) = function.arity();
        let count = args.len();
        let expected = match max {
            Some(max) if max == min => format!("exactly {min}"),
            Some(max) => format!("{min} to {max}"),
            None => format!("at least {min}"),
        };
        if count < min || max.is_some_and(|max| count > max) {
            return self.fail_at(
                start,
                format!("{name} takes {expected} argument(s), but {count} were given"),
            );
        }
        Ok(Intrinsic {
            function,
            args,
            template: raw_template.map(template_pieces),
        })
    }

    /// Parses one argument; for a string literal also returns its text with escapes intact.
    fn arg(
        &mut self,
        depth: usize,
    ) -> Result<(IntrinsicArg, Option<&'s str>), IntrinsicParseError> {
        match self.peek() {
            Some(b'\'') => {
                let (value, raw) = self.string_literal()?;
                Ok((IntrinsicArg::Literal(Value::String(value)), Some(raw)))
            }
            Some(b'$') => Ok((IntrinsicArg::Path(self.path()?), None)),
            Some(b'S') if self.rest().starts_with("States.") => {
                Ok((IntrinsicArg::Call(Box::new(self.call(depth + 1)?)), None))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    self.pos += 1;
                }
                let text = self.src.get(start..self.pos).unwrap_or("");
                match text.parse::<Number>() {
                    Ok(number) => Ok((IntrinsicArg::Literal(Value::Number(number)), None)),
                    Err(_) => self.fail_at(start, format!("invalid number '{text}'")),
                }
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    self.pos += 1;
                }
                let value = match self.src.get(start..self.pos) {
                    Some("true") => Value::Bool(true),
                    Some("false") => Value::Bool(false),
                    Some("null") => Value::Null,
                    _ => {
                        return self.fail_at(
                            start,
                            "expected a string in single quotes, a number, true, false, null, a path or an intrinsic call",
                        );
                    }
                };
                Ok((IntrinsicArg::Literal(value), None))
            }
            Some(b')') | Some(b',') => self.fail("expected an argument"),
            None => self.fail("unterminated argument list"),
            Some(_) => self.fail(
                "expected a string in single quotes, a number, true, false, null, a path or an intrinsic call",
            ),
        }
    }

    /// Parses `'...'`. Only `\'`, `\{`, `\}` and `\\` are valid escapes.
    fn string_literal(&mut self) -> Result<(String, &'s str), IntrinsicParseError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut value = String::new();
        loop {
            let mut chars = self.rest().chars();
            match chars.next() {
                None => return self.fail_at(open, "unterminated string literal"),
                Some('\'') => {
                    let raw = self.src.get(start..self.pos).unwrap_or("");
                    self.pos += 1;
                    return Ok((value, raw));
                }
                Some('\\') => match chars.next() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => {
                        value.push(c);
                        self.pos += 2;
                    }
                    Some(c) => {
                        return self.fail(format!(
                            "invalid escape sequence '\\{c}' in a string literal; only \\', \\{{, \\}} and \\\\ are allowed"
                        ));
                    }
                    None => return self.fail_at(open, "unterminated string literal"),
                },
                Some(c) => {
                    value.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// Parses a JSONPath argument, which runs to the next `,` or `)` outside brackets, quotes
    /// and function parentheses.
    fn path(&mut self) -> Result<JsonPath, IntrinsicParseError> {
        let start = self.pos;
        let mut brackets = 0usize;
        let mut parens = 0usize;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                if c == b'\\' {
                    self.pos += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                self.pos += 1;
                continue;
            }
            match c {
                b'\'' | b'"' if brackets > 0 => quote = Some(c),
                b'[' => brackets += 1,
                b']' => brackets = brackets.saturating_sub(1),
                b'(' => parens += 1,
                b')' if parens == 0 && brackets == 0 => break,
                b')' => parens = parens.saturating_sub(1),
                b',' if parens == 0 && brackets == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        self.pos = self.pos.min(self.src.len());
        let Some(text) = self.src.get(start..self.pos) else {
            return self.fail_at(start, "invalid path argument");
        };
        let text = text.trim_end();
        JsonPath::parse(text).map_err(|e| IntrinsicParseError {
            message: format!("invalid path '{text}': {}", e.message),
            offset: start + e.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(source: &str) -> Intrinsic {
        match Intrinsic::parse(source) {
            Ok(call) => call,
            Err(e) => panic!("failed to parse {source:?}: {e}"),
        }
    }

    /// Evaluates against `input` (for `$` paths) and `context` (for `$$` paths), with a fixed
    /// random sequence.
    fn eval_with(source: &str, input: &Value, context: &Value) -> Result<Value, IntrinsicError> {
        let call = parse(source);
        let mut resolve = |path: &JsonPath| -> Result<Value, IntrinsicError> {
            let doc = match path.root() {
                crate::jsonpath::PathRoot::Context => context,
                _ => input,
            };
            path.select(doc)
                .map_err(|e| IntrinsicError { message: e.message })
        };
        let mut counter = 0u64;
        let mut random = || {
            counter += 1;
            counter.wrapping_mul(0x0123_4567_89ab_cdef)
        };
        call.eval(&mut resolve, &mut random)
    }

    fn eval(source: &str, input: Value) -> Value {
        match eval_with(source, &input, &json!({})) {
            Ok(v) => v,
            Err(e) => panic!("failed to evaluate {source:?}: {e}"),
        }
    }

    fn eval_err(source: &str, input: Value) -> String {
        match eval_with(source, &input, &json!({})) {
            Ok(v) => panic!("expected {source:?} to fail, got {v}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn looks_like_call() {
        assert!(Intrinsic::looks_like_call("States.Format('x')"));
        assert!(Intrinsic::looks_like_call("  States.UUID()"));
        assert!(Intrinsic::looks_like_call("States.Nope(1)"));
        assert!(!Intrinsic::looks_like_call("States.Format"));
        assert!(!Intrinsic::looks_like_call("States.(1)"));
        assert!(!Intrinsic::looks_like_call("$.States.Format(1)"));
        assert!(!Intrinsic::looks_like_call("$.a"));
        assert!(!Intrinsic::looks_like_call("States.Format ('x')"));
    }

    #[test]
    fn parse_structure() {
        let call = parse(
            "States.Format('Hello, {}', $.name, 1, -2.5, true, false, null, $$.Execution.Id, $var.x)",
        );
        assert_eq!(call.name(), "States.Format");
        assert_eq!(call.args().len(), 9);
        assert_eq!(call.args()[0], IntrinsicArg::Literal(json!("Hello, {}")));
        assert!(matches!(&call.args()[1], IntrinsicArg::Path(p) if p.source() == "$.name"));
        assert_eq!(call.args()[2], IntrinsicArg::Literal(json!(1)));
        assert_eq!(call.args()[3], IntrinsicArg::Literal(json!(-2.5)));
        assert_eq!(call.args()[4], IntrinsicArg::Literal(json!(true)));
        assert_eq!(call.args()[5], IntrinsicArg::Literal(json!(false)));
        assert_eq!(call.args()[6], IntrinsicArg::Literal(Value::Null));
        let paths: Vec<&str> = call.paths().iter().map(|p| p.source()).collect();
        assert_eq!(paths, ["$.name", "$$.Execution.Id", "$var.x"]);

        let nested = parse("States.ArrayLength(States.Array($.a, States.Array($.b), $.c))");
        let paths: Vec<&str> = nested.paths().iter().map(|p| p.source()).collect();
        assert_eq!(paths, ["$.a", "$.b", "$.c"]);
        assert!(matches!(&nested.args()[0], IntrinsicArg::Call(c) if c.name() == "States.Array"));
        assert_eq!(parse("  States.UUID( )  ").args().len(), 0);
        assert_eq!(parse("States.Array()").args().len(), 0);
        let spaced = parse("States.Array( 1 ,$.a[0] , 'x' )");
        assert_eq!(spaced.args().len(), 3);
        let tricky = parse("States.Array($['a,b'], $.c[?(@.d == 'x)')], $.e.length(), $['q\\'s'])");
        let paths: Vec<&str> = tricky.paths().iter().map(|p| p.source()).collect();
        assert_eq!(
            paths,
            [
                "$['a,b']",
                "$.c[?(@.d == 'x)')]",
                "$.e.length()",
                "$['q\\'s']"
            ]
        );
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "States.Nope(1)",
            "States.format('x')",
            "Format('x')",
            "States.Format",
            "States.Format(",
            "States.Format('x'",
            "States.Format('x)",
            "States.Format('x',)",
            "States.Format(,'x')",
            "States.Format('x') extra",
            "States.Format('x'))",
            "States.Format()",
            "States.UUID(1)",
            "States.ArrayLength()",
            "States.ArrayLength($.a, $.b)",
            "States.MathRandom(1)",
            "States.MathRandom(1, 2, 3, 4)",
            "States.JsonMerge($.a, $.b)",
            "States.ArrayRange(1, 2)",
            "States.Format('He said, \\\"Hello\\\"')",
            "States.Format('a\\nb')",
            "States.Format(\"double\")",
            "States.Array(tru)",
            "States.Array(01)",
            "States.Array(1.)",
            "States.Array(-)",
            "States.Array($.a b)",
            "States.Array(a.b)",
            "States.Array($.)",
            "States.Array(States.Nope())",
            "States.Array(@.x)",
            "States.Format ('x')",
            "",
            "   ",
        ] {
            assert!(Intrinsic::parse(bad).is_err(), "{bad:?} should not parse");
        }
        let e = Intrinsic::parse("States.Format('a', $.b c)");
        assert!(matches!(&e, Err(e) if e.offset == 22), "{e:?}");
        let e = Intrinsic::parse("States.Nope(1)").map_err(|e| e.message);
        assert_eq!(
            e,
            Err("unknown intrinsic function 'States.Nope'".to_owned())
        );
    }

    #[test]
    fn nesting_limit() {
        let nest = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
        assert!(Intrinsic::parse(&nest(10)).is_ok());
        assert!(Intrinsic::parse(&nest(11)).is_err());
        assert!(Intrinsic::parse(&nest(10_000)).is_err());
        // The documented nine-function example parses; as written it has three placeholders for
        // two values, which the specification forbids, so it fails at run time.
        let doc_example = "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
        let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe/1.0.2"}});
        assert_eq!(parse(doc_example).paths().len(), 2);
        assert!(eval_err(doc_example, input.clone()).contains("3 placeholder(s) but 2"));
        let two = doc_example.replacen("{}.{}.{}", "{}.{}", 1);
        assert_eq!(eval(&two, input), json!("1.0"));
    }

    #[test]
    fn format() {
        assert_eq!(
            eval(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            ),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            eval(
                "States.Format($.template, $.name)",
                json!({"name": "Arnav", "template": "Hello, my name is {}."})
            ),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            eval(
                "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
                json!({"name": "Foo"})
            ),
            json!("Your name is Foo, we are in the year 2020")
        );
        let args = |fst: Value, snd: Value| json!({"FunctionInput": {"fst": fst, "snd": snd}});
        let two = "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)";
        assert_eq!(
            eval(two, args(json!(""), json!(""))),
            json!("Formatting arguments fst= and snd=.")
        );
        assert_eq!(
            eval(two, args(json!(" "), json!(" "))),
            json!("Formatting arguments fst=  and snd= .")
        );
        assert_eq!(
            eval(two, args(Value::Null, Value::Null)),
            json!("Formatting arguments fst=null and snd=null.")
        );
        assert_eq!(
            eval(two, args(json!(1), json!(1))),
            json!("Formatting arguments fst=1 and snd=1.")
        );
        assert_eq!(
            eval(two, args(json!(1.1), json!(true))),
            json!("Formatting arguments fst=1.1 and snd=true.")
        );
        assert_eq!(
            eval(two, args(json!("{\"Arg1\": 1, \"Arg2\": []}"), json!("x"))),
            json!("Formatting arguments fst={\"Arg1\": 1, \"Arg2\": []} and snd=x.")
        );
        // Objects and arrays print as Java collections do.
        let context =
            json!({"StateMachine": {"Id": "arn:sm", "Name": "sm"}, "Execution": {"Name": "ex"}});
        assert_eq!(
            eval_with(
                "States.Format('Formatting arguments fst={} and snd={}.', $$.Execution.Name, $$.StateMachine)",
                &json!({}),
                &context
            ),
            Ok(json!(
                "Formatting arguments fst=ex and snd={Id=arn:sm, Name=sm}."
            ))
        );
        assert_eq!(
            eval(
                "States.Format('{}', $.a)",
                json!({"a": {"Arg1": 1, "Arg2": [], "n": [1, "x", null, {"k": 2.5}]}})
            ),
            json!("{Arg1=1, Arg2=[], n=[1, x, null, {k=2.5}]}")
        );
        // Escaped braces are literal; an escaped quote and backslash come through.
        assert_eq!(
            eval("States.Format('\\{\\} {} \\{}', 1)", json!({})),
            json!("{} 1 {}")
        );
        assert_eq!(
            eval("States.Format('it\\'s {}', 'me')", json!({})),
            json!("it's me")
        );
        assert_eq!(
            eval("States.Format('back\\\\slash {}', 'x')", json!({})),
            json!("back\\slash x")
        );
        assert_eq!(
            eval("States.Format('a\\\\{}', 'x')", json!({})),
            json!("a\\x")
        );
        assert_eq!(
            eval("States.Format('{ } {x} }{')", json!({})),
            json!("{ } {x} }{")
        );
        assert_eq!(
            eval("States.Format('no placeholders')", json!({})),
            json!("no placeholders")
        );
        assert_eq!(
            eval("States.Format('{}{}', 'a', 'b')", json!({})),
            json!("ab")
        );
        assert_eq!(
            eval("States.Format('{}', 'a\\{b')", json!({})),
            json!("a{b")
        );
        assert!(
            eval_err("States.Format('{} {}', 1)", json!({})).contains("2 placeholder(s) but 1")
        );
        assert!(
            eval_err("States.Format('{}', 1, 2)", json!({})).contains("1 placeholder(s) but 2")
        );
        assert!(eval_err("States.Format($.t)", json!({"t": 5})).contains("must be a string"));
        assert!(
            eval_err("States.Format('{}', $.missing)", json!({})).contains("No results for path")
        );
    }

    #[test]
    fn java_numbers() {
        let n = |x: f64| java_number(&Number::from_f64(x).unwrap_or_else(|| Number::from(0)));
        assert_eq!(n(1.1), "1.1");
        assert_eq!(n(1.0), "1.0");
        assert_eq!(n(-2.0), "-2.0");
        assert_eq!(n(0.001), "0.001");
        assert_eq!(n(0.0001), "1.0E-4");
        assert_eq!(n(1.5e-5), "1.5E-5");
        assert_eq!(n(1234567.0), "1234567.0");
        assert_eq!(n(1e7), "1.0E7");
        assert_eq!(n(1.2345e20), "1.2345E20");
        assert_eq!(n(-0.0), "-0.0");
        assert_eq!(java_number(&Number::from(42)), "42");
        assert_eq!(java_number(&Number::from(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn json_string_conversions() {
        assert_eq!(
            eval(
                "States.StringToJson($.someString)",
                json!({"someString": "{\"number\": 20}"})
            ),
            json!({"number": 20})
        );
        for (text, expected) in [
            ("", Value::Null),
            (" ", Value::Null),
            ("1", json!(1)),
            ("1.1", json!(1.1)),
            ("true", json!(true)),
            ("\"HelloWorld\"", json!("HelloWorld")),
            ("[1, 2, \"HelloWorld\"]", json!([1, 2, "HelloWorld"])),
            (
                "{\"Arg1\": 1, \"Arg2\": []}",
                json!({"Arg1": 1, "Arg2": []}),
            ),
        ] {
            assert_eq!(
                eval("States.StringToJson($.s)", json!({"s": text})),
                expected,
                "{text:?}"
            );
        }
        assert_eq!(
            eval(
                "States.StringToJson('{\"constant_in_literal\": \"false\"}')",
                json!({})
            ),
            json!({"constant_in_literal": "false"})
        );
        assert!(
            eval_err("States.StringToJson($.s)", json!({"s": "{oops"})).contains("not valid JSON")
        );
        assert!(eval_err("States.StringToJson($.s)", json!({"s": 1})).contains("must be a string"));

        assert_eq!(
            eval(
                "States.JsonToString($.someJson)",
                json!({"someJson": {"name": "Foo", "year": 2020}})
            ),
            json!("{\"name\":\"Foo\",\"year\":2020}")
        );
        for (value, expected) in [
            (Value::Null, "null"),
            (json!(1), "1"),
            (json!(1.1), "1.1"),
            (json!("HelloWorld"), "\"HelloWorld\""),
            (json!([1, 2, "HelloWorld"]), "[1,2,\"HelloWorld\"]"),
            (json!({"Arg1": 1, "Arg2": []}), "{\"Arg1\":1,\"Arg2\":[]}"),
            (json!({"z": 1, "a": 2}), "{\"z\":1,\"a\":2}"),
        ] {
            assert_eq!(
                eval("States.JsonToString($.v)", json!({"v": value})),
                json!(expected)
            );
        }
    }

    #[test]
    fn arrays() {
        assert_eq!(
            eval(
                "States.Array('Foo', 2020, $.someJson, null)",
                json!({"someJson": {"random": "abcdefg"}})
            ),
            json!(["Foo", 2020, {"random": "abcdefg"}, null])
        );
        assert_eq!(eval("States.Array()", json!({})), json!([]));
        assert_eq!(
            eval("States.Array($.id)", json!({"id": 123456})),
            json!([123456])
        );

        assert_eq!(
            eval(
                "States.ArrayPartition(States.ArrayRange(1,9,1), 4)",
                json!({})
            ),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            eval(
                "States.ArrayPartition($.inputArray,4)",
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
            ),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        let partition = |items: Value, size: Value| {
            eval(
                "States.ArrayPartition($.a, $.s)",
                json!({"a": items, "s": size}),
            )
        };
        assert_eq!(partition(json!([]), json!(1)), json!([]));
        assert_eq!(partition(json!([0, 1]), json!(1)), json!([[0], [1]]));
        assert_eq!(partition(json!([0, 1]), json!(5)), json!([[0, 1]]));
        assert_eq!(partition(json!([0, 1, 2]), json!(2)), json!([[0, 1], [2]]));
        assert!(eval_err("States.ArrayPartition($.a, 0)", json!({"a": [1]})).contains("positive"));
        assert!(eval_err("States.ArrayPartition($.a, -1)", json!({"a": [1]})).contains("positive"));
        assert!(
            eval_err("States.ArrayPartition($.a, 1)", json!({"a": "x"}))
                .contains("must be an array")
        );

        let contains = |items: Value, needle: Value| {
            eval(
                "States.ArrayContains($.a, $.n)",
                json!({"a": items, "n": needle}),
            )
        };
        assert_eq!(
            contains(json!([1, 2, 3, 4, 5, 6, 7, 8, 9]), json!(5)),
            json!(true)
        );
        assert_eq!(contains(json!([]), Value::Null), json!(false));
        assert_eq!(contains(json!([]), json!(1)), json!(false));
        assert_eq!(contains(json!([[1, 2, 3], 2]), Value::Null), json!(false));
        assert_eq!(
            contains(json!([{"1": 2, "2": []}]), json!([])),
            json!(false)
        );
        assert_eq!(
            contains(json!([{"1": 2, "2": []}]), json!({"2": [], "1": 2})),
            json!(true)
        );
        assert_eq!(contains(json!([true, false]), json!(false)), json!(true));
        assert_eq!(contains(json!([null]), Value::Null), json!(true));

        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", json!({})),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            eval("States.ArrayRange(0, 9, 3)", json!({})),
            json!([0, 3, 6, 9])
        );
        assert_eq!(
            eval("States.ArrayRange(0, 10, 3)", json!({})),
            json!([0, 3, 6, 9])
        );
        assert_eq!(
            eval("States.ArrayRange(0, 3, 1)", json!({})),
            json!([0, 1, 2, 3])
        );
        assert_eq!(
            eval("States.ArrayRange(5, 1, -2)", json!({})),
            json!([5, 3, 1])
        );
        assert_eq!(eval("States.ArrayRange(5, 1, 2)", json!({})), json!([]));
        assert_eq!(eval("States.ArrayRange(1, 1, 1)", json!({})), json!([1]));
        assert_eq!(
            eval("States.ArrayRange(1, 1000, 1)", json!({}))
                .as_array()
                .map(Vec::len),
            Some(1000)
        );
        assert!(eval_err("States.ArrayRange(1, 1001, 1)", json!({})).contains("1001 elements"));
        assert!(eval_err("States.ArrayRange(1, 2, 0)", json!({})).contains("zero"));
        assert!(
            eval_err(
                "States.ArrayRange(-9223372036854775808, 9223372036854775807, 1)",
                json!({})
            )
            .contains("at most")
        );
        assert!(eval_err("States.ArrayRange('1', 2, 1)", json!({})).contains("must be an integer"));

        let items = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5});
        assert_eq!(
            eval("States.ArrayGetItem($.inputArray, $.index)", items.clone()),
            json!(6)
        );
        assert_eq!(
            eval("States.ArrayGetItem($.inputArray, 0)", items.clone()),
            json!(1)
        );
        assert!(
            eval_err("States.ArrayGetItem($.inputArray, 9)", items.clone())
                .contains("out of bounds")
        );
        assert!(
            eval_err("States.ArrayGetItem($.inputArray, -1)", items.clone())
                .contains("out of bounds")
        );
        assert_eq!(
            eval("States.ArrayLength($.inputArray)", items.clone()),
            json!(9)
        );
        assert_eq!(
            eval(
                "States.ArrayLength($.a)",
                json!({"a": [null, null, true, 1, 1.1, "x", [], {"a": 1}]})
            ),
            json!(8)
        );
        assert!(eval_err("States.ArrayLength($.index)", items).contains("must be an array"));

        assert_eq!(
            eval(
                "States.ArrayUnique($.inputArray)",
                json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
            ),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            eval(
                "States.ArrayUnique($.a)",
                json!({"a": [null, null, true, true, false, false, 1, 1, 1.1, 0, 0, "HelloWorld", "HelloWorld", [], [], [null], [null], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}, "1", 1.0]})
            ),
            json!([null, true, false, 1, 1.1, 0, "HelloWorld", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}, "1"])
        );
    }

    #[test]
    fn nested_calls_and_context_paths() {
        let context = json!({"StateMachine": {"Name": "machine-name-x"}, "Execution": {"Input": {"input_field": {"k": "v"}}}});
        assert_eq!(
            eval_with(
                "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
                &json!({}),
                &context
            ),
            Ok(json!("machine"))
        );
        assert_eq!(
            eval_with(
                "States.JsonMerge(States.StringToJson('{\"constant_in_literal\": \"false\"}'), $$.Execution.Input.input_field, false)",
                &json!({}),
                &context
            ),
            Ok(json!({"constant_in_literal": "false", "k": "v"}))
        );
        assert_eq!(
            eval(
                "States.MathAdd(States.MathAdd(States.MathAdd($.y, $.x), $.z), $.bias)",
                json!({"x": 1, "y": 2, "z": 3, "bias": 4})
            ),
            json!(10)
        );
        assert_eq!(
            eval("States.ArrayLength(States.Array(1,2))", json!({})),
            json!(2)
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(
            eval(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            ),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(eval("States.Base64Encode('')", json!({})), json!(""));
        assert_eq!(
            eval(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            ),
            json!("Data to encode")
        );
        assert_eq!(eval("States.Base64Decode('')", json!({})), json!(""));
        assert_eq!(
            eval("States.Base64Decode('SGVsbG8gV29ybGQ')", json!({})),
            json!("Hello World")
        );
        assert_eq!(
            eval("States.Base64Decode('SGVsbG8g\nV29ybGQ=')", json!({})),
            json!("Hello World")
        );
        assert_eq!(
            eval("States.Base64Encode('héllo')", json!({})),
            json!("aMOpbGxv")
        );
        assert!(eval_err("States.Base64Decode('***')", json!({})).contains("not valid Base64"));
        assert!(eval_err("States.Base64Encode(1)", json!({})).contains("must be a string"));
        let long = "a".repeat(10_001);
        assert!(eval_err("States.Base64Encode($.s)", json!({"s": long})).contains("at most 10000"));
        let exact = "a".repeat(10_000);
        assert!(eval_with("States.Base64Encode($.s)", &json!({"s": exact}), &json!({})).is_ok());
    }

    #[test]
    fn hashes() {
        let hash = |data: Value, algorithm: &str| {
            eval(
                "States.Hash($.Data, $.Algorithm)",
                json!({"Data": data, "Algorithm": algorithm}),
            )
        };
        assert_eq!(
            hash(json!("input data"), "SHA-1"),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            hash(json!("input data"), "SHA-512"),
            json!(
                "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"
            )
        );
        assert_eq!(
            hash(json!("Hash this string"), "SHA-256"),
            json!("1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e")
        );
        assert_eq!(
            hash(json!(""), "MD5"),
            json!("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            hash(json!("abc"), "SHA-384"),
            json!(
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
            )
        );
        // Non-strings are hashed as their JSON text.
        assert_eq!(
            hash(json!({"a": 1}), "MD5"),
            hash(json!("{\"a\":1}"), "MD5")
        );
        assert!(
            eval_err("States.Hash('x', 'SHA-3')", json!({})).contains("unsupported hash algorithm")
        );
        assert!(
            eval_err("States.Hash('x', 'sha-1')", json!({})).contains("unsupported hash algorithm")
        );
        assert!(eval_err("States.Hash('x', 1)", json!({})).contains("algorithm must be a string"));
    }

    #[test]
    fn json_merge() {
        let input = json!({
            "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
            "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}
        });
        let merged = eval("States.JsonMerge($.json1, $.json2, false)", input.clone());
        assert_eq!(merged, json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}));
        let keys: Vec<&String> = merged
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!(
            eval_err("States.JsonMerge($.json1, $.json2, true)", input.clone())
                .contains("deep merging")
        );
        assert!(
            eval_err("States.JsonMerge($.json1, $.json2, 'false')", input.clone())
                .contains("boolean false")
        );
        assert!(eval_err("States.JsonMerge($.json1, 1, false)", input).contains("JSON objects"));
    }

    #[test]
    fn math() {
        let add = |a: Value, b: Value| eval("States.MathAdd($.a, $.b)", json!({"a": a, "b": b}));
        assert_eq!(add(json!(111), json!(-1)), json!(110));
        assert_eq!(add(json!(-9), json!(3)), json!(-6));
        // Fractions are rounded half up (towards positive infinity) before adding.
        for (a, b, sum) in [
            (-1.5, 0.0, -1),
            (0.5, 0.0, 1),
            (1.5, 0.0, 2),
            (2.5, 0.0, 3),
            (3.5, 0.0, 4),
            (1.5, 1.51, 4),
            (-1.49, -1.5, -2),
            (-1.5, -1.51, -3),
            (1.49, 0.0, 1),
            (1.49, -1.49, 0),
            (1.51, 0.0, 2),
        ] {
            assert_eq!(add(json!(a), json!(b)), json!(sum), "{a} + {b}");
        }
        assert!(
            eval_err("States.MathAdd($.a, 1)", json!({"a": "1"})).contains("must be an integer")
        );
        assert!(
            eval_err("States.MathAdd(9223372036854775807, 1)", json!({})).contains("out of range")
        );
        assert!(eval_err("States.MathAdd(1e300, 1)", json!({})).contains("out of range"));

        for _ in 0..3 {
            let value = eval(
                "States.MathRandom($.start, $.end)",
                json!({"start": 1, "end": 999}),
            );
            let n = value.as_i64().unwrap_or(-1);
            assert!((1..999).contains(&n), "{n}");
        }
        let n = eval("States.MathRandom(-99999, -9999)", json!({}))
            .as_i64()
            .unwrap_or(0);
        assert!((-99999..-9999).contains(&n), "{n}");
        let seeded = |seed: i64| eval("States.MathRandom(0, 999, $.seed)", json!({"seed": seed}));
        assert_eq!(seeded(3), seeded(3));
        assert_ne!(
            (seeded(1), seeded(2), seeded(3)),
            (seeded(4), seeded(5), seeded(6))
        );
        // A seeded draw ignores the caller's random source.
        let call = parse("States.MathRandom(0, 1000000, 7)");
        let mut resolve = |_: &JsonPath| Ok(Value::Null);
        let a = call.eval(&mut resolve, &mut || 1);
        let b = call.eval(&mut resolve, &mut || 2);
        assert_eq!(a, b);
        assert_eq!(eval("States.MathRandom(5, 5)", json!({})), json!(5));
        assert!(eval_err("States.MathRandom(5, 4)", json!({})).contains("less than"));
        let extreme = eval(
            "States.MathRandom(-9223372036854775808, 9223372036854775807)",
            json!({}),
        );
        assert!(extreme.is_i64());
    }

    #[test]
    fn string_split() {
        let split =
            |s: &str, d: &str| eval("States.StringSplit($.s, $.d)", json!({"s": s, "d": d}));
        assert_eq!(split("1,2,3,4,5", ","), json!(["1", "2", "3", "4", "5"]));
        assert_eq!(
            split("This.is+a,test=string", ".+,="),
            json!(["This", "is", "a", "test", "string"])
        );
        assert_eq!(split(", , ,", ","), json!([" ", " "]));
        assert_eq!(
            split("split on T and \nnew line", "T\n"),
            json!(["split on ", " and ", "new line"])
        );
        assert_eq!(
            split(
                "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n",
                ","
            ),
            json!([
                "Value1",
                "Value2",
                "Value3\nValue4",
                "Value5",
                "Value6\n",
                "\ntrue",
                "1",
                "'HelloWorld'\nNull",
                "None",
                "\n   \n"
            ])
        );
        assert_eq!(split("abc", ""), json!(["abc"]));
        assert_eq!(split("", ","), json!([]));
        assert_eq!(split("a–b", "–"), json!(["a", "b"]));
        assert!(eval_err("States.StringSplit(1, ',')", json!({})).contains("must be a string"));
    }

    #[test]
    fn uuid() {
        let value = eval("States.UUID()", json!({}));
        let text = value.as_str().unwrap_or("");
        assert_eq!(text.len(), 36);
        let groups: Vec<&str> = text.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'));
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(
            text.bytes()
                .all(|b| b == b'-' || b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(uuid_v4(0, 0), "00000000-0000-4000-8000-000000000000");
        assert_eq!(
            uuid_v4(u64::MAX, u64::MAX),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        let call = parse("States.UUID()");
        let mut resolve = |_: &JsonPath| Ok(Value::Null);
        let mut draws = 0;
        let _ = call.eval(&mut resolve, &mut || {
            draws += 1;
            draws
        });
        assert_eq!(draws, 2);
    }

    #[test]
    fn resolver_errors_propagate() {
        let call = parse("States.Array($.a, States.Format('{}', $.b))");
        let mut seen = Vec::new();
        let result = call.eval(
            &mut |path: &JsonPath| {
                seen.push(path.source().to_owned());
                if path.source() == "$.b" {
                    Err(IntrinsicError {
                        message: "boom".into(),
                    })
                } else {
                    Ok(json!(1))
                }
            },
            &mut || 0,
        );
        assert_eq!(
            result,
            Err(IntrinsicError {
                message: "boom".into()
            })
        );
        assert_eq!(seen, ["$.a", "$.b"]);
    }

    #[test]
    fn parsing_never_panics() {
        let valid = [
            "States.Format('Hello, {} \\{\\} \\' \\\\', $.name, $$.Execution.Id, $var)",
            "States.ArrayPartition(States.ArrayRange(1,9,1), 4)",
            "States.Array('Foo', 2020, $.someJson, null, true, false, -1.5e3)",
            "States.Hash($['a,b'], 'SHA-256')",
            "States.Array($.c[?(@.d == 'x)')], $.e.length())",
            "States.JsonMerge(States.StringToJson('{\"a\": 1}'), $$.Execution.Input, false)",
            "States.UUID()",
        ];
        let mut parsed = 0;
        for source in valid {
            for end in 0..=source.len() {
                if let Some(prefix) = source.get(..end)
                    && Intrinsic::parse(prefix).is_ok()
                {
                    parsed += 1;
                }
            }
            for start in 0..source.len() {
                if let Some(suffix) = source.get(start..) {
                    let _ = Intrinsic::parse(suffix);
                    let _ = Intrinsic::looks_like_call(suffix);
                }
            }
        }
        assert_eq!(parsed, valid.len());
        let alphabet = b"States.Format(Array)'$.[]{}\\,@? 0123456789-e\"";
        let mut state = 7u64;
        for _ in 0..20_000 {
            let len = (splitmix64(&mut state) % 40) as usize;
            let mut bytes = b"States.".to_vec();
            for _ in 0..len {
                let r = splitmix64(&mut state);
                let byte = if r.is_multiple_of(13) {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                };
                bytes.push(byte);
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(call) = Intrinsic::parse(&text) {
                let _ = call.eval(&mut |_| Ok(json!("1,2")), &mut || 3);
            }
        }
    }
}
