//! Conversion between `serde_json::Value` and jsonata-core's `JValue` at the boundary.
//!
//! jsonata-core's own conversions are not used: its `JValue → Value` turns every number into a
//! float (`3` would come back as `3.0`) and neither direction guards its stack.

use jsonata_core::value::{JValue, with_stack};
use serde_json::{Map, Number, Value};

use crate::Error;

/// The deepest nesting a result may have. A recursive function or `$reduce` can build values
/// nested far deeper than any JSON parser accepts (serde_json stops at 128) or than a
/// recursive drop or serializer can survive, so such a result is an error instead.
pub(crate) const MAX_RESULT_DEPTH: usize = 1000;

pub(crate) fn to_jvalue(value: &Value) -> JValue {
    with_stack(|| match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(items) => JValue::array(items.iter().map(to_jvalue).collect()),
        Value::Object(map) => {
            JValue::object(map.iter().map(|(k, v)| (k.clone(), to_jvalue(v))).collect())
        }
    })
}

/// Converts a result. `None` is *undefined*: the value itself, or a function at the top.
pub(crate) fn from_jvalue(value: &JValue) -> Result<Option<Value>, Error> {
    convert(value, 0)
}

fn convert(value: &JValue, depth: usize) -> Result<Option<Value>, Error> {
    if depth > MAX_RESULT_DEPTH {
        return Err(Error::new(
            "",
            format!("The result is nested more than {MAX_RESULT_DEPTH} levels deep"),
        ));
    }
    with_stack(|| {
        Ok(Some(match value {
            JValue::Null => Value::Null,
            JValue::Bool(b) => Value::Bool(*b),
            JValue::Number(n) => number(*n),
            JValue::String(s) => Value::String(s.to_string()),
            JValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    // As JSON.stringify: undefined and functions become null in an array.
                    out.push(convert(item, depth + 1)?.unwrap_or(Value::Null));
                }
                Value::Array(out)
            }
            JValue::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, item) in map.iter() {
                    // As JSON.stringify: undefined and functions leave the field out.
                    if let Some(item) = convert(item, depth + 1)? {
                        out.insert(key.clone(), item);
                    }
                }
                Value::Object(out)
            }
            JValue::Undefined
            | JValue::Lambda(_)
            | JValue::Builtin { .. }
            | JValue::Regex { .. } => return Ok(None),
        }))
    })
}

/// A JSON number for `n`: an integer when `n` is one (within `i64`), so `3` stays `3` rather
/// than `3.0`, as JavaScript writes it; `null` for NaN and the infinities, as `JSON.stringify`
/// writes them.
pub(crate) fn number(n: f64) -> Value {
    // i64::MIN is exact as a double; 2^63 is the first double past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && (-LIMIT..LIMIT).contains(&n) {
        // -0.0 becomes 0, as JSON.stringify writes it.
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}
