//! Choice rules and how each comparison operator decides.
//!
//! Rules are compiled by the loader; this module holds their shape and the pure comparison
//! semantics AWS documents: a comparison whose variable has the wrong type is simply false,
//! `StringMatches` knows `*` and its escapes, timestamps compare as RFC 3339 instants.

use std::cmp::Ordering;

use aslan_types::Timestamp;
use serde_json::Value;

use crate::jsonpath::JsonPath;
use crate::template::Template;

/// A Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceRule {
    /// `And`: every rule matches.
    And(Vec<ChoiceRule>),
    /// `Or`: some rule matches.
    Or(Vec<ChoiceRule>),
    /// `Not`.
    Not(Box<ChoiceRule>),
    /// `Variable` + one comparison operator.
    Compare {
        /// `Variable`.
        variable: JsonPath,
        /// The operator.
        op: Comparison,
        /// The operand, literal or (for the `...Path` twins) read at run time.
        operand: Operand,
    },
    /// JSONata `Condition`.
    Condition(Template),
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal from the definition (already checked to have the operator's type).
    Literal(Value),
    /// A timestamp literal, parsed once.
    Timestamp(Timestamp),
    /// A path (`StringEqualsPath`, ...).
    Path(JsonPath),
}

/// Every comparison operator. The `...Path` twins share the operator and differ in [`Operand`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

/// What type of literal an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandType {
    /// A string.
    String,
    /// A number.
    Number,
    /// A boolean.
    Boolean,
    /// An RFC 3339 timestamp string.
    Timestamp,
}

impl Comparison {
    /// Every operator with its name; the `Path` twin is the name followed by `Path`
    /// (not for `Is*`, which have none).
    pub const ALL: [(&'static str, Comparison); 23] = [
        ("StringEquals", Comparison::StringEquals),
        ("StringLessThan", Comparison::StringLessThan),
        ("StringGreaterThan", Comparison::StringGreaterThan),
        ("StringLessThanEquals", Comparison::StringLessThanEquals),
        (
            "StringGreaterThanEquals",
            Comparison::StringGreaterThanEquals,
        ),
        ("StringMatches", Comparison::StringMatches),
        ("NumericEquals", Comparison::NumericEquals),
        ("NumericLessThan", Comparison::NumericLessThan),
        ("NumericGreaterThan", Comparison::NumericGreaterThan),
        ("NumericLessThanEquals", Comparison::NumericLessThanEquals),
        (
            "NumericGreaterThanEquals",
            Comparison::NumericGreaterThanEquals,
        ),
        ("BooleanEquals", Comparison::BooleanEquals),
        ("TimestampEquals", Comparison::TimestampEquals),
        ("TimestampLessThan", Comparison::TimestampLessThan),
        ("TimestampGreaterThan", Comparison::TimestampGreaterThan),
        (
            "TimestampLessThanEquals",
            Comparison::TimestampLessThanEquals,
        ),
        (
            "TimestampGreaterThanEquals",
            Comparison::TimestampGreaterThanEquals,
        ),
        ("IsNull", Comparison::IsNull),
        ("IsPresent", Comparison::IsPresent),
        ("IsNumeric", Comparison::IsNumeric),
        ("IsString", Comparison::IsString),
        ("IsBoolean", Comparison::IsBoolean),
        ("IsTimestamp", Comparison::IsTimestamp),
    ];

    /// Looks an operator up by field name; the flag says whether it is the `Path` twin.
    pub fn from_field(field: &str) -> Option<(Comparison, bool)> {
        if let Some((_, op)) = Self::ALL.iter().find(|(name, _)| *name == field) {
            return Some((*op, false));
        }
        let base = field.strip_suffix("Path")?;
        let (_, op) = Self::ALL.iter().find(|(name, _)| *name == base)?;
        if op.operand_type() == OperandType::Boolean && op.is_type_test() {
            return None;
        }
        Some((*op, true))
    }

    /// True for `IsNull`, `IsPresent` and the other type tests.
    pub fn is_type_test(self) -> bool {
        matches!(
            self,
            Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp
        )
    }

    /// The literal type the operator takes.
    pub fn operand_type(self) -> OperandType {
        use Comparison::*;
        match self {
            StringEquals
            | StringLessThan
            | StringGreaterThan
            | StringLessThanEquals
            | StringGreaterThanEquals
            | StringMatches => OperandType::String,
            NumericEquals
            | NumericLessThan
            | NumericGreaterThan
            | NumericLessThanEquals
            | NumericGreaterThanEquals => OperandType::Number,
            TimestampEquals
            | TimestampLessThan
            | TimestampGreaterThan
            | TimestampLessThanEquals
            | TimestampGreaterThanEquals => OperandType::Timestamp,
            BooleanEquals | IsNull | IsPresent | IsNumeric | IsString | IsBoolean | IsTimestamp => {
                OperandType::Boolean
            }
        }
    }

    /// Decides the comparison. `variable` is `None` when the variable's path matched nothing
    /// (only meaningful for `IsPresent`; the caller raises `States.Runtime` for the others).
    pub fn test(
        self,
        variable: Option<&Value>,
        operand: &Operand,
        resolved: Option<&Value>,
    ) -> bool {
        use Comparison::*;
        let operand_value = match operand {
            Operand::Literal(v) => Some(v),
            Operand::Path(_) => resolved,
            Operand::Timestamp(_) => None,
        };
        let Some(variable) = variable else {
            return self == IsPresent && operand_value == Some(&Value::Bool(false));
        };
        match self {
            IsPresent => operand_value == Some(&Value::Bool(true)),
            IsNull => operand_value == Some(&Value::Bool(variable.is_null())),
            IsNumeric => operand_value == Some(&Value::Bool(variable.is_number())),
            IsString => operand_value == Some(&Value::Bool(variable.is_string())),
            IsBoolean => operand_value == Some(&Value::Bool(variable.is_boolean())),
            IsTimestamp => {
                let is_timestamp = variable
                    .as_str()
                    .is_some_and(|s| Timestamp::parse_rfc3339(s).is_ok());
                operand_value == Some(&Value::Bool(is_timestamp))
            }
            BooleanEquals => match (variable, operand_value) {
                (Value::Bool(a), Some(Value::Bool(b))) => a == b,
                _ => false,
            },
            StringMatches => match (variable, operand_value) {
                (Value::String(s), Some(Value::String(pattern))) => string_matches(s, pattern),
                _ => false,
            },
            StringEquals
            | StringLessThan
            | StringGreaterThan
            | StringLessThanEquals
            | StringGreaterThanEquals => match (variable, operand_value) {
                (Value::String(a), Some(Value::String(b))) => {
                    self.holds(a.as_str().cmp(b.as_str()))
                }
                _ => false,
            },
            NumericEquals
            | NumericLessThan
            | NumericGreaterThan
            | NumericLessThanEquals
            | NumericGreaterThanEquals => match (variable, operand_value) {
                (Value::Number(a), Some(Value::Number(b))) => {
                    compare_numbers(a, b).is_some_and(|ordering| self.holds(ordering))
                }
                _ => false,
            },
            TimestampEquals
            | TimestampLessThan
            | TimestampGreaterThan
            | TimestampLessThanEquals
            | TimestampGreaterThanEquals => {
                let Some(left) = variable
                    .as_str()
                    .and_then(|s| Timestamp::parse_rfc3339(s).ok())
                else {
                    return false;
                };
                let right = match operand {
                    Operand::Timestamp(t) => Some(*t),
                    _ => operand_value
                        .and_then(Value::as_str)
                        .and_then(|s| Timestamp::parse_rfc3339(s).ok()),
                };
                right.is_some_and(|right| self.holds(left.cmp(&right)))
            }
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        use Comparison::*;
        match self {
            StringEquals | NumericEquals | TimestampEquals => ordering == Ordering::Equal,
            StringLessThan | NumericLessThan | TimestampLessThan => ordering == Ordering::Less,
            StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => {
                ordering == Ordering::Greater
            }
            StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
                ordering != Ordering::Greater
            }
            StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
                ordering != Ordering::Less
            }
            _ => false,
        }
    }
}

/// Compares two JSON numbers exactly when both are integers, as floats otherwise.
pub fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star and `\\` a
/// literal backslash.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Char(char),
        Star,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => tokens.push(Token::Char(escaped)),
                None => tokens.push(Token::Char('\\')),
            },
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking to the last star: linear in practice, never exponential.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("abc", "*"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "a*d"));
        assert!(string_matches("a*c", "a\\*c"));
        assert!(!string_matches("abc", "a\\*c"));
        assert!(string_matches("a\\c", "a\\\\c"));
        assert!(string_matches("xxaxxb", "*a*b"));
    }

    #[test]
    fn wrong_types_are_false_not_errors() {
        let op = Operand::Literal(json!("x"));
        assert!(!Comparison::StringEquals.test(Some(&json!(1)), &op, None));
        let op = Operand::Literal(json!(1));
        assert!(Comparison::NumericEquals.test(Some(&json!(1.0)), &op, None));
        assert!(!Comparison::NumericLessThan.test(Some(&json!("0")), &op, None));
    }

    #[test]
    fn is_present_on_missing() {
        let yes = Operand::Literal(json!(true));
        let no = Operand::Literal(json!(false));
        assert!(!Comparison::IsPresent.test(None, &yes, None));
        assert!(Comparison::IsPresent.test(None, &no, None));
        assert!(Comparison::IsPresent.test(Some(&json!(null)), &yes, None));
    }

    #[test]
    fn operator_names() {
        assert_eq!(
            Comparison::from_field("StringEqualsPath"),
            Some((Comparison::StringEquals, true))
        );
        assert_eq!(Comparison::from_field("IsNullPath"), None);
        assert_eq!(Comparison::from_field("Bogus"), None);
    }
}
