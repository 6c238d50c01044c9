//! How big and how deep a JSON value is, measured without writing it out and without recursion.
//!
//! AWS limits every state's input and output to 256 KiB. Measuring a document costs a walk over
//! it, so the interpreter keeps an upper [`Bound`] per branch and measures only when the bound
//! says a limit might be near. Depth is bounded too: a loop that nests a state's input into
//! itself must fail cleanly long before cloning or dropping the value could exhaust the stack.

use serde_json::Value;

/// The deepest nesting a state's output may have (Jackson's default limit, which AWS's JSON
/// processing is built on).
pub(crate) const MAX_DEPTH: usize = 1000;

/// An upper bound of a value's compact JSON size and nesting depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Bound {
    pub(crate) size: usize,
    pub(crate) depth: usize,
}

impl Bound {
    /// The exact size and depth of `value`.
    pub(crate) fn of(value: &Value) -> Bound {
        let mut size = 0usize;
        let mut deepest = 0usize;
        let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
        while let Some((value, depth)) = stack.pop() {
            deepest = deepest.max(depth);
            match value {
                Value::Null => size += 4,
                Value::Bool(true) => size += 4,
                Value::Bool(false) => size += 5,
                Value::Number(n) => size += number_size(n),
                Value::String(s) => size += string_size(s),
                Value::Array(items) => {
                    size += 2 + items.len().saturating_sub(1);
                    stack.extend(items.iter().map(|item| (item, depth + 1)));
                }
                Value::Object(map) => {
                    size += 2 + map.len().saturating_sub(1);
                    for (key, item) in map {
                        size += string_size(key) + 1;
                        stack.push((item, depth + 1));
                    }
                }
            }
        }
        Bound {
            size,
            depth: deepest,
        }
    }

    /// The bound of a document after `result` is written into it `segments` levels down.
    pub(crate) fn merged(self, result: Bound, segments: usize, path_length: usize) -> Bound {
        Bound {
            size: self.size + result.size + path_length + 4,
            depth: self.depth.max(result.depth + segments),
        }
    }
}

/// Bytes of `value` as compact JSON (what `serde_json::to_string` would produce).
pub(crate) fn json_size(value: &Value) -> usize {
    Bound::of(value).size
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

    #[test]
    fn depth() {
        assert_eq!(Bound::of(&json!(1)).depth, 1);
        assert_eq!(Bound::of(&json!({"a": [1]})).depth, 3);
        let mut deep = json!(0);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        // Measuring never recurses, however deep.
        assert_eq!(Bound::of(&deep).depth, 100_001);
        // Dropping such a value would recurse; unwrap it level by level instead.
        while let Value::Array(mut items) = deep {
            deep = items.pop().unwrap_or(Value::Null);
        }
    }
}
