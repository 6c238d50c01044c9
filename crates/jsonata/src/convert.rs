//! Conversion between `serde_json::Value` and jsonata-core's `JValue` at the boundary.
//!
//! jsonata-core's own conversions are not used: its `JValue → Value` turns every number into a
//! float (`3` would come back as `3.0`) and neither direction guards its stack.

use std::collections::BTreeMap;

use jsonata_core::value::{JValue, with_stack};
use serde_json::{Map, Number, Value};

use crate::analysis::Need;
use crate::{Binding, Error};

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

/// Converts a binding: all of it (`need` is `None`), or only the listed fields, each pruned in
/// turn (see `to_jvalue_fields`).
pub(crate) fn binding_to_jvalue(
    binding: &Binding<'_>,
    need: Option<&BTreeMap<String, Need>>,
) -> JValue {
    match (binding, need) {
        (Binding::Value(value), None) => to_jvalue(value),
        (Binding::Owned(value), None) => to_jvalue(value),
        (Binding::Value(value), Some(fields)) => to_jvalue_fields(value, fields),
        (Binding::Owned(value), Some(fields)) => to_jvalue_fields(value, fields),
        (Binding::Object(members), need) => binding_to_jvalue(&Binding::Members(members), need),
        (Binding::Members(members), need) => with_stack(|| {
            JValue::object(
                members
                    .iter()
                    .filter_map(|(name, member)| {
                        let need = match need {
                            None => None,
                            Some(fields) => match fields.get(*name)? {
                                Need::Whole => None,
                                Need::Fields(fields) => Some(fields),
                            },
                        };
                        Some(((*name).to_owned(), binding_to_jvalue(member, need)))
                    })
                    .collect(),
            )
        }),
    }
}

/// Converts only the parts of `value` an expression can read (see `analysis::Need`): when
/// `value` is an object, the listed fields, each pruned in turn; anything else, whole.
pub(crate) fn to_jvalue_fields(value: &Value, fields: &BTreeMap<String, Need>) -> JValue {
    match value {
        Value::Object(map) => with_stack(|| {
            JValue::object(
                fields
                    .iter()
                    .filter_map(|(key, need)| {
                        let item = map.get(key)?;
                        Some((
                            key.clone(),
                            match need {
                                Need::Whole => to_jvalue(item),
                                Need::Fields(fields) => to_jvalue_fields(item, fields),
                            },
                        ))
                    })
                    .collect(),
            )
        }),
        other => to_jvalue(other),
    }
}

/// The error for a result nested more than [`MAX_RESULT_DEPTH`] levels deep.
pub(crate) fn too_deep() -> Error {
    Error::new(
        "",
        format!("The result is nested more than {MAX_RESULT_DEPTH} levels deep"),
    )
}

/// Converts a result. `None` is *undefined*: the value itself, or a function at the top.
pub(crate) fn from_jvalue(value: &JValue) -> Result<Option<Value>, Error> {
    convert(value, 0)
}

fn convert(value: &JValue, depth: usize) -> Result<Option<Value>, Error> {
    if depth > MAX_RESULT_DEPTH {
        return Err(too_deep());
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
