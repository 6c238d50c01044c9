//! Host functions: the ones AWS Step Functions adds to JSONata, and pure replacements for the
//! built-ins that would read the system clock or the thread's random generator.
//!
//! | function | behaviour |
//! |---|---|
//! | `$partition(array, size)` | the array in chunks of `size` items; the last may be shorter (`States.ArrayPartition`) |
//! | `$range(start, end, step)` | integers from `start` to `end` inclusive, `step` apart; at most 1000 (`States.ArrayRange`) |
//! | `$hash(value, algorithm)` | lowercase hex digest of a string (other values: of their JSON text); `MD5`, `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512` |
//! | `$random()` / `$random(seed)` | a number in [0, 1); with a seed, the same number for the same seed (not AWS's own generator: AWS's numbers cannot be reproduced) |
//! | `$uuid()` | a version 4 UUID |
//! | `$parse(text)` | the JSON value `text` holds |
//! | `$now([picture [, timezone]])`, `$millis()` | the instant in `Env::now_millis` |
//! | `$shuffle(array)` | as JSONata's, drawing from `Env::random` |
//!
//! Like JSONata's own functions, each returns *undefined* when its first argument is
//! undefined. A missing argument or one of the wrong type is error T0410, as a JSONata
//! signature check would raise; arguments past the last parameter are ignored (see
//! `check_arity`).

use std::cell::Cell;
use std::fmt::Write as _;
use std::rc::Rc;

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use sha2::Digest as _;

use crate::Error;
use crate::analysis::HOST_FUNCTIONS;
use crate::convert;

/// The most items `$range` produces, as for `States.ArrayRange`.
const MAX_RANGE_ITEMS: i128 = 1000;

type HostResult = Result<JValue, EvaluatorError>;

fn fail(code: &str, message: impl std::fmt::Display) -> EvaluatorError {
    if code.is_empty() {
        EvaluatorError::EvaluationError(message.to_string())
    } else {
        EvaluatorError::EvaluationError(format!("{code}: {message}"))
    }
}

/// T0410: what a JSONata signature check raises for an argument of the wrong type.
fn bad_argument(function: &str, index: usize) -> EvaluatorError {
    fail(
        "T0410",
        format_args!(
            "Argument {} of function \"{function}\" does not match function signature",
            index + 1
        ),
    )
}

/// T0410 too: jsonata-js words a missing argument the same way.
///
/// Arguments past a function's parameters are ignored, as a JavaScript function ignores them:
/// jsonata-core hands a host function passed to a higher-order function (`$map(a, $parse)`)
/// the callback's every argument (value, index, array), where jsonata-js would cut them to the
/// function's arity.
fn check_arity(function: &str, args: &[JValue], min: usize) -> Result<(), EvaluatorError> {
    if args.len() < min {
        return Err(bad_argument(function, args.len()));
    }
    Ok(())
}

/// An integer argument: a number with no fractional part.
fn integer_arg(function: &str, args: &[JValue], index: usize) -> Result<i64, EvaluatorError> {
    match args.get(index) {
        Some(JValue::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(*n as i64),
        Some(JValue::Number(n)) => Err(fail(
            "",
            format_args!(
                "Argument {} of function \"{function}\" must be an integer, got {n}",
                index + 1
            ),
        )),
        _ => Err(bad_argument(function, index)),
    }
}

/// The items of an array argument; any other value is an array of one, as a JSONata `a`
/// parameter reads it.
fn items(value: &JValue) -> Vec<JValue> {
    match value {
        JValue::Array(items) => items.to_vec(),
        other => vec![other.clone()],
    }
}

/// The splitmix64 generator: one step from `state`.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number in [0, 1) from 53 random bits.
fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The evaluation's random stream, seeded from one draw of `Env::random`.
#[derive(Clone)]
struct Stream(Rc<Cell<u64>>);

impl Stream {
    fn next(&self) -> u64 {
        let mut state = self.0.get();
        let value = splitmix64(&mut state);
        self.0.set(state);
        value
    }
}

/// Registers on `evaluator` the host functions whose bit is set in `hosts` (bit `i` for
/// `analysis::HOST_FUNCTIONS[i]`): the ones the expression can call. `seed` seeds the random
/// stream; it is `None` when the expression cannot draw random numbers.
pub(crate) fn register(
    evaluator: &mut Evaluator,
    hosts: u16,
    now_millis: i64,
    seed: Option<u64>,
) -> Result<(), Error> {
    if hosts == 0 {
        return Ok(());
    }
    let stream = Stream(Rc::new(Cell::new(seed.unwrap_or(0))));
    let setup = |e: EvaluatorError| Error::from_evaluator(&e);
    for (bit, name) in HOST_FUNCTIONS.iter().enumerate() {
        if hosts & (1 << bit) == 0 {
            continue;
        }
        let s = stream.clone();
        match *name {
            "partition" => evaluator.register_fn("partition", partition),
            "range" => evaluator.register_fn("range", range),
            "hash" => evaluator.register_fn("hash", hash),
            "parse" => evaluator.register_fn("parse", parse),
            "uuid" => evaluator.register_fn("uuid", move |_: &[JValue]| uuid(&s)),
            "random" => {
                evaluator.register_fn_override("random", move |args: &[JValue]| random(args, &s))
            }
            "shuffle" => {
                evaluator.register_fn_override("shuffle", move |args: &[JValue]| shuffle(args, &s))
            }
            "now" => {
                evaluator.register_fn_override("now", move |args: &[JValue]| now(args, now_millis))
            }
            "millis" => evaluator.register_fn_override("millis", move |_: &[JValue]| {
                Ok(JValue::Number(now_millis as f64))
            }),
            other => unreachable!("no host function {other}"),
        }
        .map_err(setup)?;
    }
    Ok(())
}

fn partition(args: &[JValue]) -> HostResult {
    check_arity("partition", args, 2)?;
    if args[0].is_undefined() {
        return Ok(JValue::Undefined);
    }
    let size = integer_arg("partition", args, 1)?;
    let size = match usize::try_from(size) {
        Ok(size) if size > 0 => size,
        _ => {
            return Err(fail(
                "",
                format_args!(
                    "Argument 2 of function \"partition\" must be a positive integer, got {size}"
                ),
            ));
        }
    };
    let items = items(&args[0]);
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|chunk| JValue::array(chunk.to_vec()))
            .collect(),
    ))
}

fn range(args: &[JValue]) -> HostResult {
    check_arity("range", args, 3)?;
    if args[0].is_undefined() {
        return Ok(JValue::Undefined);
    }
    let start = i128::from(integer_arg("range", args, 0)?);
    let end = i128::from(integer_arg("range", args, 1)?);
    let step = i128::from(integer_arg("range", args, 2)?);
    if step == 0 {
        return Err(fail(
            "",
            "Argument 3 of function \"range\" (the step) must not be zero",
        ));
    }
    let count = if (step > 0 && end >= start) || (step < 0 && end <= start) {
        (end - start) / step + 1
    } else {
        0
    };
    if count > MAX_RANGE_ITEMS {
        return Err(fail(
            "",
            format_args!(
                "The function \"range\" would produce {count} items; at most {MAX_RANGE_ITEMS} are allowed"
            ),
        ));
    }
    Ok(JValue::array(
        (0..count)
            .map(|i| JValue::Number((start + i * step) as f64))
            .collect(),
    ))
}

fn hash(args: &[JValue]) -> HostResult {
    check_arity("hash", args, 2)?;
    let data = match &args[0] {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s.to_string(),
        other => match convert::from_jvalue(other) {
            Ok(Some(value)) => value.to_string(),
            _ => return Err(bad_argument("hash", 0)),
        },
    };
    let Some(algorithm) = args[1].as_str() else {
        return Err(bad_argument("hash", 1));
    };
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(fail(
                "",
                format_args!(
                    "The hash algorithm \"{other}\" is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
                ),
            ));
        }
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(JValue::string(hex))
}

fn parse(args: &[JValue]) -> HostResult {
    check_arity("parse", args, 1)?;
    let text = match &args[0] {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s,
        _ => return Err(bad_argument("parse", 0)),
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(convert::to_jvalue(&value)),
        Err(e) => Err(fail(
            "",
            format_args!("The function \"parse\" was given text that is not JSON: {e}"),
        )),
    }
}

fn uuid(stream: &Stream) -> HostResult {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&stream.next().to_be_bytes());
    bytes[8..].copy_from_slice(&stream.next().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    Ok(JValue::string(out))
}

fn random(args: &[JValue], stream: &Stream) -> HostResult {
    let bits = match args.first() {
        None | Some(JValue::Undefined) => stream.next(),
        Some(seed) => {
            // The same seed gives the same number, whatever the engine's source does.
            let mut state = seed_bits(seed).ok_or_else(|| bad_argument("random", 0))?;
            splitmix64(&mut state)
        }
    };
    Ok(JValue::Number(unit_interval(bits)))
}

/// 64 bits from a seed: an integer's own value (as `States.MathRandom` seeds), or a hash of
/// any other number's or string's text.
fn seed_bits(seed: &JValue) -> Option<u64> {
    match seed {
        JValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => Some(*n as i64 as u64),
        JValue::Number(n) => Some(fnv1a(n.to_string().as_bytes())),
        JValue::String(s) => Some(fnv1a(s.as_bytes())),
        _ => None,
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn shuffle(args: &[JValue], stream: &Stream) -> HostResult {
    check_arity("shuffle", args, 1)?;
    if args[0].is_undefined() {
        return Ok(JValue::Undefined);
    }
    let mut items = items(&args[0]);
    // Fisher-Yates.
    for i in (1..items.len()).rev() {
        let j = (stream.next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    Ok(JValue::array(items))
}

fn now(args: &[JValue], now_millis: i64) -> HostResult {
    if args.iter().all(JValue::is_undefined) {
        return Ok(JValue::string(iso8601(now_millis)));
    }
    // `$now(picture, timezone)` is `$fromMillis($millis(), picture, timezone)`.
    let ast = jsonata_core::parser::parse("$fromMillis($m, $p, $t)")
        .map_err(|e| fail("", e.to_string()))?;
    let mut context = Context::new();
    context.bind("m".to_owned(), JValue::Number(now_millis as f64));
    context.bind("p".to_owned(), args[0].clone());
    context.bind(
        "t".to_owned(),
        args.get(1).cloned().unwrap_or(JValue::Undefined),
    );
    Evaluator::with_context(context).evaluate(&ast, &JValue::Undefined)
}

/// `2024-01-02T03:04:05.678Z`, as JavaScript's `Date.prototype.toISOString` writes it.
pub(crate) fn iso8601(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let ms_of_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, rem) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
