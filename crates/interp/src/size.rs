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

/// An upper bound of a value's compact JSON size and nesting depth, and what else is known of
/// the value without looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Bound {
    pub(crate) size: usize,
    pub(crate) depth: usize,
    /// The value is known to be as a JSONata evaluation returns it (numbers written as
    /// JavaScript writes doubles, nesting within the limit of a result): it came out of one.
    /// Lets `$merge([$states.input, ...])` extend the input without walking it first.
    pub(crate) normalised: bool,
}

impl Bound {
    /// The exact size and depth of `value`.
    pub(crate) fn of(value: &Value) -> Bound {
        let mut bound = Bound::default();
        measure(value, 1, &mut bound);
        bound
    }

    /// The bound of a document after `result` is written into it `segments` levels down.
    pub(crate) fn merged(self, result: Bound, segments: usize, path_length: usize) -> Bound {
        Bound {
            size: self.size + result.size + path_length + 4,
            depth: self.depth.max(result.depth + segments),
            normalised: self.normalised && result.normalised,
        }
    }
}

impl Bound {
    /// The bound of an empty object or array that will hold `len` members or items (the
    /// brackets and the commas between them).
    pub(crate) fn container(len: usize) -> Bound {
        Bound {
            size: 2 + len.saturating_sub(1),
            depth: 1,
            normalised: false,
        }
    }

    /// Adds an object member (its key, colon and value) to a container's bound.
    pub(crate) fn add_member(&mut self, key: &str, value: Bound) {
        self.size += string_size(key) + 1 + value.size;
        self.depth = self.depth.max(value.depth + 1);
    }

    /// Adds an array item to a container's bound.
    pub(crate) fn add_item(&mut self, item: Bound) {
        self.size += item.size;
        self.depth = self.depth.max(item.depth + 1);
    }

    /// The bound of an object after `members` are inserted into it. A member that replaces one
    /// is counted as added, so the bound stays an upper bound. The flag `normalised` is kept:
    /// the caller knows whether the result is.
    pub(crate) fn with_members<'a>(
        self,
        members: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> Bound {
        let mut bound = self;
        for (key, value) in members {
            let member = Bound::of(value);
            // The key, its colon, the value and a comma.
            bound.size += string_size(key) + 2 + member.size;
            bound.depth = bound.depth.max(member.depth + 1);
        }
        bound
    }
}

/// How deep [`measure`] recurses before it walks the rest with a stack of its own.
const RECURSION_LEVELS: usize = 64;

/// Adds the size of `value`, found at `depth`, to `bound` and raises its depth. Recurses for
/// the first levels, which needs no allocation (most values are shallow), and walks deeper
/// levels with an explicit stack, so no value is too deep to measure.
fn measure(value: &Value, depth: usize, bound: &mut Bound) {
    if depth > RECURSION_LEVELS {
        measure_deep(value, depth, bound);
        return;
    }
    bound.depth = bound.depth.max(depth);
    match value {
        Value::Array(items) => {
            bound.size += 2 + items.len().saturating_sub(1);
            for item in items {
                measure(item, depth + 1, bound);
            }
        }
        Value::Object(map) => {
            bound.size += 2 + map.len().saturating_sub(1);
            for (key, item) in map {
                bound.size += string_size(key) + 1;
                measure(item, depth + 1, bound);
            }
        }
        scalar => bound.size += scalar_size(scalar),
    }
}

fn measure_deep(value: &Value, depth: usize, bound: &mut Bound) {
    let mut stack: Vec<(&Value, usize)> = vec![(value, depth)];
    while let Some((value, depth)) = stack.pop() {
        bound.depth = bound.depth.max(depth);
        match value {
            Value::Array(items) => {
                bound.size += 2 + items.len().saturating_sub(1);
                stack.extend(items.iter().map(|item| (item, depth + 1)));
            }
            Value::Object(map) => {
                bound.size += 2 + map.len().saturating_sub(1);
                for (key, item) in map {
                    bound.size += string_size(key) + 1;
                    stack.push((item, depth + 1));
                }
            }
            scalar => bound.size += scalar_size(scalar),
        }
    }
}

fn scalar_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_size(n),
        Value::String(s) => string_size(s),
        Value::Array(_) | Value::Object(_) => 0,
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
            json!([
                0,
                9,
                10,
                99,
                100,
                -1,
                -10,
                i64::MIN,
                i64::MAX,
                1.5,
                -0.25,
                1e300
            ]),
            json!("plain text, no escapes"),
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
