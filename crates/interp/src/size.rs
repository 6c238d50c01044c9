//! The size of a JSON value as compact text, without writing the text.
//!
//! AWS limits every state's input and output to 256 KiB. Measuring a document costs a walk over
//! it, so the interpreter keeps an upper bound per branch and measures only when the bound says
//! the limit might be near (see `exec.rs`).

use serde_json::Value;

/// Bytes of `value` as compact JSON (what `serde_json::to_string` would produce).
pub(crate) fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_size(n),
        Value::String(s) => string_size(s),
        Value::Array(items) => {
            2 + items.iter().map(json_size).sum::<usize>() + items.len().saturating_sub(1)
        }
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| string_size(k) + 1 + json_size(v))
                .sum::<usize>()
                + map.len().saturating_sub(1)
        }
    }
}

fn number_size(n: &serde_json::Number) -> usize {
    if let Some(i) = n.as_i64() {
        let mut digits = if i < 0 { 2 } else { 1 };
        let mut rest = i.unsigned_abs() / 10;
        while rest > 0 {
            digits += 1;
            rest /= 10;
        }
        digits
    } else {
        n.to_string().len()
    }
}

fn string_size(s: &str) -> usize {
    let mut size = 2 + s.len();
    for b in s.bytes() {
        match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => size += 1,
            0..=0x1f => size += 5,
            _ => {}
        }
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_serde_json() {
        for value in [
            json!(null),
            json!({"a": [1, -20, 3.5, "x\"y\n\u{1}"], "b": {"c": true, "d": false}}),
            json!([]),
            json!({}),
            json!("héllo"),
            json!(u64::MAX),
            json!(-1234567),
        ] {
            assert_eq!(
                json_size(&value),
                serde_json::to_string(&value).unwrap().len(),
                "{value}"
            );
        }
    }
}
