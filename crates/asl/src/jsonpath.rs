//! JSONPath as the Amazon States Language uses it: a parser and evaluator that follow the Jayway
//! library AWS Step Functions runs on (roots `$`, `$$` and `$variable`, names, indexes, unions,
//! slices, wildcards, deep scans, filters and trailing functions), plus in-place writing of
//! reference paths for `ResultPath`.
//!
//! A path is compiled once into a list of segments. Definite paths (names and single indexes)
//! are walked by reference, so a lookup such as `$.a.b` costs two map probes and no allocation
//! until the caller clones the result.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

/// The deepest nesting of filters, parentheses, negations and JSON literals a path may contain;
/// deeper input is rejected so parsing and evaluation never exhaust the stack.
const MAX_DEPTH: usize = 64;

/// The largest compiled size of a filter's regular expression, so a hostile pattern cannot
/// make compilation take unbounded memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled JSONPath expression.
#[derive(Clone, Debug)]
pub struct JsonPath {
    source: String,
    root: PathRoot,
    body: Body,
}

/// The document a path starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathRoot {
    /// `$`: the state input (or whichever document the caller evaluates against).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// A path that could not be parsed; `offset` is a byte offset into the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct PathParseError {
    pub message: String,
    pub offset: usize,
}

/// A path that selected nothing where a value was required.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectError {
    pub message: String,
}

/// A value that could not be written at a reference path.
#[derive(Debug, Clone, PartialEq)]
pub struct SetError {
    pub message: String,
}

impl fmt::Display for PathParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

impl std::error::Error for PathParseError {}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SelectError {}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SetError {}

/// Two paths are equal when they were written identically; the compiled form is a pure
/// function of the text, and compiled regular expressions cannot be compared.
impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The compiled part of a path after its root; filters reuse it for `@` and `$` operands.
#[derive(Clone, Debug)]
struct Body {
    segments: Vec<Segment>,
    function: Option<PathFunction>,
    /// True when every segment is a name or a single index, except that the last may be a name
    /// union: evaluation then yields one value rather than a list of matches.
    single: bool,
    /// True when the last segment is a multi-name union, which Jayway merges into one object.
    merge_leaf: bool,
}

#[derive(Clone, Debug)]
enum Segment {
    /// `.name` or `['name']`.
    Name(Box<str>),
    /// `[3]` or `[-1]`.
    Index(i64),
    /// `['a','b']`.
    Names(Vec<Box<str>>),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[start:end:step]`, each part optional.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `.*` or `[*]`.
    Wildcard,
    /// `..`, always followed by the segment it applies to.
    Scan,
    /// `[?(...)]`.
    Filter(Box<Filter>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathFunction {
    Length,
    Size,
    Min,
    Max,
    Avg,
    Sum,
    Stddev,
    Keys,
    First,
    Last,
}

impl PathFunction {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "length" => Self::Length,
            "size" => Self::Size,
            "min" => Self::Min,
            "max" => Self::Max,
            "avg" => Self::Avg,
            "sum" => Self::Sum,
            "stddev" => Self::Stddev,
            "keys" => Self::Keys,
            "first" => Self::First,
            "last" => Self::Last,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Size => "size",
            Self::Min => "min",
            Self::Max => "max",
            Self::Avg => "avg",
            Self::Sum => "sum",
            Self::Stddev => "stddev",
            Self::Keys => "keys",
            Self::First => "first",
            Self::Last => "last",
        }
    }
}

#[derive(Clone, Debug)]
enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    /// A bare path: true when it selects something.
    Exists(Operand),
    /// A bare `true` or `false`.
    Const(bool),
    Compare(Operand, RelOp, Operand),
}

#[derive(Clone, Debug)]
enum Operand {
    /// `@...`: relative to the item being tested.
    Current(Body),
    /// `$...`: relative to the document the whole path is evaluated against.
    Root(Body),
    Literal(Value),
    Regex(Regex),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RelOp {
    Eq,
    Ne,
    StrictEq,
    StrictNe,
    Lt,
    Le,
    Gt,
    Ge,
    Matches,
    In,
    Nin,
    SubsetOf,
    AnyOf,
    NoneOf,
    Contains,
    All,
    Size,
    Empty,
}

/// Why walking a definite path stopped, and where.
enum Miss<'a> {
    /// A name was absent from an object.
    MissingName { at: usize },
    /// An index was outside an array.
    OutOfRange,
    /// A name (or names) was applied to something that is not an object.
    NotObject { at: usize, found: &'a Value },
    /// An index was applied to something that is not an array.
    NotArray { at: usize, found: &'a Value },
}

impl JsonPath {
    /// Compiles a path. Leading and trailing whitespace is ignored, as Jayway does.
    pub fn parse(source: &str) -> Result<JsonPath, PathParseError> {
        let trimmed_start = source.len() - source.trim_start().len();
        let trimmed = source.trim();
        let end = trimmed_start + trimmed.len();
        let mut parser = Parser::new(source, trimmed_start, end);
        if parser.peek() != Some(b'$') {
            return parser.fail("a path must start with '$'");
        }
        parser.pos += 1;
        let root = match parser.peek() {
            Some(b'$') => {
                parser.pos += 1;
                Ok(PathRoot::Context)
            }
            Some(b'.') | Some(b'[') | None => Ok(PathRoot::Input),
            Some(_) => parser.variable_name().map(PathRoot::Variable),
        }?;
        let body = parser.body(Mode::Top, 0)?;
        if parser.pos != parser.end {
            return parser.fail("unexpected character in path");
        }
        Ok(JsonPath {
            source: source.to_owned(),
            root,
            body,
        })
    }

    /// The text the path was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The document the path starts from.
    pub fn root(&self) -> &PathRoot {
        &self.root
    }

    /// True when the path identifies one stored node: only names and single (possibly negative)
    /// indexes, no trailing function and no name union. [`select_ref`](Self::select_ref) can
    /// borrow exactly these. Wildcards, deep scans, slices, unions and filters make a path
    /// indefinite.
    pub fn is_definite(&self) -> bool {
        self.body.single && !self.body.merge_leaf && self.body.function.is_none()
    }

    /// True when [`select`](Self::select) yields the selected value itself rather than an array of
    /// matches: definite paths, and (as in Jayway) paths ending in a function such as
    /// `.length()` or in a name union such as `['a','b']`, which is merged into one object.
    pub fn is_single_value(&self) -> bool {
        self.body.single || self.body.function.is_some()
    }

    /// True for the paths AWS accepts in `InputPath`, `OutputPath`, `ResultPath` and
    /// `ItemsPath`: only names and single indexes, identifying exactly one node (no `@ , : ? *`
    /// and no functions). This is the same set as [`is_definite`](Self::is_definite); the two
    /// are kept apart because one answers validation and the other evaluation.
    pub fn is_reference_path(&self) -> bool {
        self.body.function.is_none()
            && self
                .body
                .segments
                .iter()
                .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
    }

    /// True for `$`, `$$` or `$name` with nothing after it.
    pub fn is_root_only(&self) -> bool {
        self.body.segments.is_empty() && self.body.function.is_none()
    }

    /// The Jayway-normalized text, e.g. `$['a'][0]`, used in error messages. Every root is
    /// written `$`, since Jayway evaluates the rest of the path against the chosen document.
    pub fn normalized(&self) -> String {
        self.normalized_prefix(self.body.segments.len(), true)
    }

    /// Selects from `doc`: the value itself when [`is_single_value`](Self::is_single_value)
    /// (an error when it is missing), otherwise a JSON array of every match (possibly empty;
    /// missing parts are skipped, never an error). A trailing function applies to that result.
    pub fn select(&self, doc: &Value) -> Result<Value, SelectError> {
        self.select_from(0, doc)
    }

    /// Borrows the node a [definite](Self::is_definite) path identifies. Fails for other paths
    /// (including trailing functions and merged unions, which build new values) and for
    /// missing values.
    pub fn select_ref<'a>(&self, doc: &'a Value) -> Result<&'a Value, SelectError> {
        self.select_ref_from(0, doc)
    }

    /// The number of segments after the root.
    pub fn segments_len(&self) -> usize {
        self.body.segments.len()
    }

    /// The first `n` segments when they are all plain names (`.a` or `['a']`).
    pub fn first_names(&self, n: usize) -> Option<Vec<&str>> {
        let segments = self.body.segments.get(..n)?;
        segments
            .iter()
            .map(|s| match s {
                Segment::Name(name) => Some(name.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// Like [`select`](Self::select), but `doc` is the value the first `skip` segments already
    /// led to (the caller resolved them itself, e.g. the `Execution.Input` of `$$` paths).
    /// Filters' `$` operands then refer to `doc`.
    pub fn select_from(&self, skip: usize, doc: &Value) -> Result<Value, SelectError> {
        let body = &self.body;
        if skip > body.segments.len() {
            return Err(self.skip_error(skip));
        }
        if body.single {
            let end = body.segments.len() - usize::from(body.merge_leaf);
            let found = if skip <= end {
                self.walk_or_error(skip, end, doc)?
            } else {
                doc
            };
            let value = match (body.merge_leaf, body.segments.last()) {
                (true, Some(Segment::Names(names))) => match merge_names(found, names) {
                    Some(merged) => Cow::Owned(merged),
                    None => {
                        return Err(SelectError {
                            message: not_object_message(
                                &names_fragment(names),
                                &self.normalized_prefix(end, false),
                                found,
                            ),
                        });
                    }
                },
                _ => Cow::Borrowed(found),
            };
            match body.function {
                Some(function) => apply_function(function, value),
                None => Ok(value.into_owned()),
            }
        } else {
            let all = body.select_all(skip, doc, doc);
            match body.function {
                Some(function) => apply_function(function, Cow::Owned(Value::Array(all))),
                None => Ok(Value::Array(all)),
            }
        }
    }

    /// Like [`select_ref`](Self::select_ref), starting after the first `skip` segments.
    pub fn select_ref_from<'a>(
        &self,
        skip: usize,
        doc: &'a Value,
    ) -> Result<&'a Value, SelectError> {
        let body = &self.body;
        if !self.is_definite() {
            return Err(SelectError {
                message: format!(
                    "The path {} does not identify a single stored value",
                    self.source
                ),
            });
        }
        if skip > body.segments.len() {
            return Err(self.skip_error(skip));
        }
        self.walk_or_error(skip, body.segments.len(), doc)
    }

    /// Writes `value` at this reference path, in place. `$` replaces the whole document; missing
    /// object keys along the way are created as `{}`; an index must name an existing element.
    /// Nothing is modified when the write fails.
    pub fn set(&self, doc: &mut Value, value: Value) -> Result<(), SetError> {
        if !self.is_reference_path() {
            return Err(SetError {
                message: format!(
                    "The path {} is not a reference path; only names and single indexes can be written",
                    self.source
                ),
            });
        }
        let segments = &self.body.segments;
        // Checking first keeps a failed write from leaving half-created objects behind.
        if !can_set(segments, doc) {
            return Err(SetError {
                message: format!(
                    "Unable to apply ReferencePath {} to input {}",
                    self.source,
                    compact_json(doc)
                ),
            });
        }
        if set_checked(segments, doc, value) {
            Ok(())
        } else {
            Err(SetError {
                message: format!("Unable to apply ReferencePath {}", self.source),
            })
        }
    }

    fn skip_error(&self, skip: usize) -> SelectError {
        SelectError {
            message: format!(
                "Cannot skip {skip} segments of the path {}, which has {}",
                self.source,
                self.body.segments.len()
            ),
        }
    }

    /// Walks segments `start..end` (all names or single indexes) and words a failure as Jayway.
    fn walk_or_error<'a>(
        &self,
        start: usize,
        end: usize,
        doc: &'a Value,
    ) -> Result<&'a Value, SelectError> {
        let segments = self.body.segments.get(start..end).unwrap_or(&[]);
        walk_definite(segments, doc).map_err(|miss| {
            let message = match miss {
                Miss::OutOfRange => format!("No results for path: {}", self.normalized()),
                Miss::MissingName { at } => {
                    let at = start + at;
                    if at + 1 == self.body.segments.len() && self.body.function.is_none() {
                        format!("No results for path: {}", self.normalized())
                    } else {
                        format!(
                            "Missing property in path {}",
                            self.normalized_prefix(at + 1, false)
                        )
                    }
                }
                Miss::NotObject { at, found } => {
                    let at = start + at;
                    let fragment = self
                        .body
                        .segments
                        .get(at)
                        .map(segment_fragment)
                        .unwrap_or_default();
                    not_object_message(&fragment, &self.normalized_prefix(at, false), found)
                }
                Miss::NotArray { at, found } => {
                    let at = start + at;
                    if found.is_null() {
                        format!("The path {} is null", self.normalized_prefix(at, false))
                    } else {
                        let fragment = self
                            .body
                            .segments
                            .get(at)
                            .map(segment_fragment)
                            .unwrap_or_default();
                        format!(
                            "Filter: {fragment} can only be applied to arrays. Current context is: {}",
                            compact_json(found)
                        )
                    }
                }
            };
            SelectError { message }
        })
    }

    /// The normalized text of the root and the first `n` segments, plus the trailing function
    /// when asked.
    fn normalized_prefix(&self, n: usize, with_function: bool) -> String {
        let mut out = String::from("$");
        for segment in self.body.segments.iter().take(n) {
            out.push_str(&segment_fragment(segment));
        }
        if with_function && let Some(function) = self.body.function {
            out.push('.');
            out.push_str(function.name());
            out.push_str("()");
        }
        out
    }
}

impl Body {
    /// Evaluates an indefinite body, cloning every match.
    fn select_all(&self, start: usize, node: &Value, root: &Value) -> Vec<Value> {
        let segments = self.segments.get(start..).unwrap_or(&[]);
        if let (true, Some((Segment::Names(names), init))) =
            (self.merge_leaf, segments.split_last())
        {
            // After `..`, Jayway merges only objects that hold every one of the names.
            let after_scan = matches!(init.last(), Some(Segment::Scan));
            collect_refs(init, node, root)
                .into_iter()
                .filter(|v| {
                    !after_scan
                        || v.as_object()
                            .is_some_and(|m| names.iter().all(|n| m.contains_key(n.as_ref())))
                })
                .filter_map(|v| merge_names(v, names))
                .collect()
        } else {
            collect_refs(segments, node, root)
                .into_iter()
                .cloned()
                .collect()
        }
    }

    /// Evaluates the body as a filter operand: `None` when it selects nothing (a definite path
    /// that is missing, or a function that cannot apply).
    fn operand_value<'a>(&self, node: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
        if self.single {
            let end = self.segments.len() - usize::from(self.merge_leaf);
            let found = walk_definite(self.segments.get(..end).unwrap_or(&[]), node).ok()?;
            let value = match (self.merge_leaf, self.segments.last()) {
                (true, Some(Segment::Names(names))) => Cow::Owned(merge_names(found, names)?),
                _ => Cow::Borrowed(found),
            };
            match self.function {
                Some(function) => apply_function(function, value).ok().map(Cow::Owned),
                None => Some(value),
            }
        } else {
            let all = Value::Array(self.select_all(0, node, root));
            match self.function {
                Some(function) => apply_function(function, Cow::Owned(all))
                    .ok()
                    .map(Cow::Owned),
                None => Some(Cow::Owned(all)),
            }
        }
    }

    /// True when the body selects something from `node`.
    fn exists(&self, node: &Value, root: &Value) -> bool {
        if self.single || self.function.is_some() {
            self.operand_value(node, root).is_some()
        } else {
            let end = self.segments.len() - usize::from(self.merge_leaf);
            !collect_refs(self.segments.get(..end).unwrap_or(&[]), node, root).is_empty()
        }
    }
}

/// Walks names and single indexes by reference.
fn walk_definite<'a>(segments: &[Segment], doc: &'a Value) -> Result<&'a Value, Miss<'a>> {
    let mut current = doc;
    for (at, segment) in segments.iter().enumerate() {
        current = match segment {
            Segment::Name(name) => match current {
                Value::Object(map) => get_member(map, name).ok_or(Miss::MissingName { at })?,
                other => return Err(Miss::NotObject { at, found: other }),
            },
            Segment::Index(index) => match current {
                Value::Array(items) => resolve_index(*index, items.len())
                    .and_then(|i| items.get(i))
                    .ok_or(Miss::OutOfRange)?,
                other => return Err(Miss::NotArray { at, found: other }),
            },
            // Only names and single indexes reach here; anything else selects nothing.
            _ => return Err(Miss::OutOfRange),
        };
    }
    Ok(current)
}

/// Looks up an object member. Small objects are scanned, which beats hashing the key: most
/// state inputs are small, and this lookup is on every definite path.
fn get_member<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| value)
    } else {
        map.get(name)
    }
}

fn get_member_mut<'a>(map: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    if map.len() <= 8 {
        map.iter_mut()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| value)
    } else {
        map.get_mut(name)
    }
}

/// Evaluates any segments over `node`, returning every match in Jayway's order. Each segment maps
/// the current list of nodes to the next, so evaluation depth does not grow with path length.
fn collect_refs<'a>(segments: &[Segment], node: &'a Value, root: &'a Value) -> Vec<&'a Value> {
    let mut current = vec![node];
    let mut i = 0;
    while let Some(segment) = segments.get(i) {
        if current.is_empty() {
            break;
        }
        let mut next = Vec::new();
        match segment {
            Segment::Scan => {
                let target = segments.get(i + 1);
                for &start in &current {
                    scan(start, &mut |visited| match target {
                        None => next.push(visited),
                        // A filter after `..` tests each container itself, as Jayway's scan does;
                        // testing array elements too would report every match twice.
                        Some(Segment::Filter(filter)) => {
                            if filter.eval(visited, root) {
                                next.push(visited);
                            }
                        }
                        Some(segment) => apply_segment(segment, visited, root, &mut next),
                    });
                }
                i += 2;
            }
            segment => {
                for &n in &current {
                    apply_segment(segment, n, root, &mut next);
                }
                i += 1;
            }
        }
        current = next;
    }
    current
}

/// Visits `node` and every container below it in document order, parents before children.
fn scan<'a>(node: &'a Value, visit: &mut impl FnMut(&'a Value)) {
    let mut stack = vec![node];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                visit(value);
                stack.extend(map.values().rev().filter(|v| is_container(v)));
            }
            Value::Array(items) => {
                visit(value);
                stack.extend(items.iter().rev().filter(|v| is_container(v)));
            }
            _ => {}
        }
    }
}

fn is_container(value: &Value) -> bool {
    matches!(value, Value::Object(_) | Value::Array(_))
}

/// Applies one non-scan segment to one node, pushing what it selects; mismatched types select
/// nothing, as in an indefinite Jayway path.
fn apply_segment<'a>(
    segment: &Segment,
    node: &'a Value,
    root: &'a Value,
    out: &mut Vec<&'a Value>,
) {
    match (segment, node) {
        (Segment::Name(name), Value::Object(map)) => out.extend(get_member(map, name)),
        (Segment::Names(names), Value::Object(map)) => {
            out.extend(names.iter().filter_map(|n| map.get(n.as_ref())));
        }
        (Segment::Index(index), Value::Array(items)) => {
            out.extend(resolve_index(*index, items.len()).and_then(|i| items.get(i)));
        }
        (Segment::Indexes(indexes), Value::Array(items)) => {
            out.extend(
                indexes.iter().filter_map(|&index| {
                    resolve_index(index, items.len()).and_then(|i| items.get(i))
                }),
            );
        }
        (Segment::Slice(start, end, step), Value::Array(items)) => {
            for_each_slice_index(items.len(), *start, *end, *step, |i| {
                out.extend(items.get(i));
            });
        }
        (Segment::Wildcard, Value::Object(map)) => out.extend(map.values()),
        (Segment::Wildcard, Value::Array(items)) => out.extend(items.iter()),
        (Segment::Filter(filter), Value::Array(items)) => {
            out.extend(items.iter().filter(|item| filter.eval(item, root)));
        }
        // Jayway applies a filter to an object as a whole.
        (Segment::Filter(filter), Value::Object(_)) if filter.eval(node, root) => out.push(node),
        _ => {}
    }
}

/// Resolves a possibly negative index against a length.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let resolved = if index < 0 {
        len.checked_add(index)?
    } else {
        index
    };
    if (0..len).contains(&resolved) {
        usize::try_from(resolved).ok()
    } else {
        None
    }
}

/// Calls `f` with each index a Python-style slice selects (negative bounds count from the end,
/// out-of-range bounds are clamped, a negative step walks backwards).
fn for_each_slice_index(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    mut f: impl FnMut(usize),
) {
    let Ok(n) = i64::try_from(len) else {
        return;
    };
    let step = step.unwrap_or(1);
    let normalize = |x: i64| if x < 0 { n.saturating_add(x) } else { x };
    let emit = |i: i64, f: &mut dyn FnMut(usize)| {
        if let Ok(i) = usize::try_from(i) {
            f(i);
        }
    };
    if step > 0 {
        let from = start.map_or(0, normalize).clamp(0, n);
        let to = end.map_or(n, normalize).clamp(0, n);
        let mut i = from;
        while i < to {
            emit(i, &mut f);
            match i.checked_add(step) {
                Some(next) => i = next,
                None => break,
            }
        }
    } else if step < 0 {
        let from = start.map_or(n - 1, normalize).clamp(-1, n - 1);
        let to = end.map_or(-1, normalize).clamp(-1, n - 1);
        let mut i = from;
        while i > to {
            emit(i, &mut f);
            match i.checked_add(step) {
                Some(next) => i = next,
                None => break,
            }
        }
    }
}

/// Jayway's merge of a trailing name union: an object holding those of the names present.
fn merge_names(value: &Value, names: &[Box<str>]) -> Option<Value> {
    let Value::Object(map) = value else {
        return None;
    };
    let mut merged = Map::new();
    for name in names {
        if let Some(v) = map.get(name.as_ref()) {
            merged.insert(name.to_string(), v.clone());
        }
    }
    Some(Value::Object(merged))
}

fn apply_function(function: PathFunction, value: Cow<'_, Value>) -> Result<Value, SelectError> {
    let fail = |what: &str| SelectError {
        message: format!("Function {}() {what}", function.name()),
    };
    match function {
        PathFunction::Length | PathFunction::Size => match value.as_ref() {
            Value::Array(items) => Ok(Value::from(items.len())),
            Value::Object(map) => Ok(Value::from(map.len())),
            Value::String(s) => Ok(Value::from(s.encode_utf16().count())),
            _ => Err(fail(
                "can only be applied to an array, an object or a string",
            )),
        },
        PathFunction::Keys => match value.as_ref() {
            Value::Object(map) => Ok(Value::Array(
                map.keys().map(|k| Value::String(k.clone())).collect(),
            )),
            _ => Err(fail("can only be applied to an object")),
        },
        PathFunction::First | PathFunction::Last => {
            let Value::Array(items) = value.as_ref() else {
                return Err(fail("can only be applied to an array"));
            };
            let item = if function == PathFunction::First {
                items.first()
            } else {
                items.last()
            };
            item.cloned()
                .ok_or_else(|| fail("attempted to read an element of an empty array"))
        }
        PathFunction::Min
        | PathFunction::Max
        | PathFunction::Avg
        | PathFunction::Sum
        | PathFunction::Stddev => {
            // Jayway aggregates the numbers of an array and ignores everything else.
            let numbers: Vec<f64> = match value.as_ref() {
                Value::Array(items) => items.iter().filter_map(Value::as_f64).collect(),
                _ => Vec::new(),
            };
            if numbers.is_empty() {
                return Err(SelectError {
                    message: "Aggregation function attempted to calculate value using empty array"
                        .to_owned(),
                });
            }
            let count = numbers.len() as f64;
            let sum: f64 = numbers.iter().sum();
            let result = match function {
                PathFunction::Min => numbers.iter().copied().fold(f64::INFINITY, f64::min),
                PathFunction::Max => numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                PathFunction::Sum => sum,
                PathFunction::Avg => sum / count,
                _ => {
                    let mean = sum / count;
                    let squares: f64 = numbers.iter().map(|x| x * x).sum();
                    (squares / count - mean * mean).max(0.0).sqrt()
                }
            };
            Number::from_f64(result)
                .map(Value::Number)
                .ok_or_else(|| fail("produced a value that is not a finite number"))
        }
    }
}

impl Filter {
    fn eval(&self, current: &Value, root: &Value) -> bool {
        match self {
            Filter::Or(terms) => terms.iter().any(|t| t.eval(current, root)),
            Filter::And(terms) => terms.iter().all(|t| t.eval(current, root)),
            Filter::Not(inner) => !inner.eval(current, root),
            Filter::Const(value) => *value,
            Filter::Exists(operand) => match operand {
                Operand::Current(body) => body.exists(current, root),
                Operand::Root(body) => body.exists(root, root),
                Operand::Literal(_) | Operand::Regex(_) => true,
            },
            Filter::Compare(left, op, right) => {
                compare(*op, left.value(current, root), right.value(current, root))
            }
        }
    }
}

enum OperandValue<'a> {
    Missing,
    Json(Cow<'a, Value>),
    Regex(&'a Regex),
}

impl Operand {
    fn value<'a>(&'a self, current: &'a Value, root: &'a Value) -> OperandValue<'a> {
        let found = match self {
            Operand::Current(body) => body.operand_value(current, root),
            Operand::Root(body) => body.operand_value(root, root),
            Operand::Literal(value) => Some(Cow::Borrowed(value)),
            Operand::Regex(regex) => return OperandValue::Regex(regex),
        };
        found.map_or(OperandValue::Missing, OperandValue::Json)
    }
}

fn compare(op: RelOp, left: OperandValue<'_>, right: OperandValue<'_>) -> bool {
    use OperandValue::{Json, Regex as Pattern};
    match op {
        RelOp::Ne => return !compare(RelOp::Eq, left, right),
        RelOp::StrictNe => return !compare(RelOp::StrictEq, left, right),
        RelOp::Nin => return !compare(RelOp::In, left, right),
        RelOp::Matches => {
            return match (left, right) {
                (Json(value), Pattern(regex)) | (Pattern(regex), Json(value)) => {
                    value.as_str().is_some_and(|s| regex.is_match(s))
                }
                _ => false,
            };
        }
        _ => {}
    }
    let (Json(left), Json(right)) = (left, right) else {
        return false;
    };
    let (left, right) = (left.as_ref(), right.as_ref());
    match op {
        RelOp::Eq => loose_eq(left, right),
        RelOp::StrictEq => json_eq(left, right),
        RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge => {
            let ordering = match (left, right) {
                (Value::Number(a), Value::Number(b)) => cmp_numbers(a, b),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            ordering.is_some_and(|o| match op {
                RelOp::Lt => o == Ordering::Less,
                RelOp::Le => o != Ordering::Greater,
                RelOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            })
        }
        RelOp::In => match right {
            Value::Array(items) => items.iter().any(|item| loose_eq(left, item)),
            _ => false,
        },
        RelOp::Contains => match (left, right) {
            (Value::Array(items), _) => items.iter().any(|item| loose_eq(item, right)),
            (Value::String(haystack), Value::String(needle)) => haystack.contains(needle.as_str()),
            _ => false,
        },
        RelOp::All | RelOp::SubsetOf | RelOp::AnyOf | RelOp::NoneOf => {
            let (Value::Array(l), Value::Array(r)) = (left, right) else {
                return false;
            };
            let contains = |items: &[Value], x: &Value| items.iter().any(|i| loose_eq(i, x));
            match op {
                RelOp::All => r.iter().all(|x| contains(l, x)),
                RelOp::SubsetOf => l.iter().all(|x| contains(r, x)),
                RelOp::AnyOf => l.iter().any(|x| contains(r, x)),
                _ => !l.iter().any(|x| contains(r, x)),
            }
        }
        RelOp::Size => {
            let size = match left {
                Value::String(s) => s.encode_utf16().count(),
                Value::Array(items) => items.len(),
                _ => return false,
            };
            right
                .as_u64()
                .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n == size))
        }
        RelOp::Empty => {
            let empty = match left {
                Value::String(s) => s.is_empty(),
                Value::Array(items) => items.is_empty(),
                Value::Object(map) => map.is_empty(),
                _ => return false,
            };
            right.as_bool() == Some(empty)
        }
        // Handled before unwrapping the operands.
        RelOp::Ne | RelOp::StrictNe | RelOp::Nin | RelOp::Matches => false,
    }
}

/// Jayway's `==`: like [`json_eq`], except that a number equals a string holding that number.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            number_from_text(s).is_some_and(|parsed| n.as_f64() == Some(parsed))
        }
        _ => json_eq(a, b),
    }
}

/// Parses text as Java's `BigDecimal` would accept it (digits, sign, point, exponent only).
fn number_from_text(s: &str) -> Option<f64> {
    let plausible = !s.is_empty()
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if plausible { s.parse().ok() } else { None }
}

/// Structural JSON equality where numbers compare by value (`1 == 1.0`) and object key order
/// does not matter.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Orders two JSON numbers by value, exactly for integers and as `f64` otherwise.
pub(crate) fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    // One is a u64 above i64::MAX and the other a negative i64.
    if a.is_u64() && b.is_i64() {
        return Some(Ordering::Greater);
    }
    if a.is_i64() && b.is_u64() && !a.is_f64() && !b.is_f64() {
        return Some(Ordering::Less);
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn compact_json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The Java class name Jayway reports for a value in its error messages.
fn java_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => "java.lang.Integer",
            Some(_) => "java.lang.Long",
            None if n.is_u64() => "java.math.BigInteger",
            None => "java.lang.Double",
        },
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "net.minidev.json.JSONArray",
        Value::Object(_) => "net.minidev.json.JSONObject",
    }
}

fn not_object_message(fragment: &str, path: &str, found: &Value) -> String {
    format!(
        "Expected to find an object with property {fragment} in path {path} but found '{}'. \
         This is not a json object according to the JsonProvider: \
         'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
        java_type_name(found)
    )
}

fn names_fragment(names: &[Box<str>]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(","))
}

/// A segment as Jayway prints it in normalized paths.
fn segment_fragment(segment: &Segment) -> String {
    match segment {
        Segment::Name(name) => format!("['{name}']"),
        Segment::Index(index) => format!("[{index}]"),
        Segment::Names(names) => names_fragment(names),
        Segment::Indexes(indexes) => {
            let parts: Vec<String> = indexes.iter().map(i64::to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Segment::Slice(start, end, step) => {
            let part = |x: &Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
            match step {
                Some(step) => format!("[{}:{}:{step}]", part(start), part(end)),
                None => format!("[{}:{}]", part(start), part(end)),
            }
        }
        Segment::Wildcard => "[*]".to_owned(),
        Segment::Scan => "..".to_owned(),
        Segment::Filter(_) => "[?]".to_owned(),
    }
}

/// Whether a write at `segments` can succeed: names need objects (or keys that will be created
/// as `{}`), indexes need existing elements.
fn can_set(segments: &[Segment], doc: &Value) -> bool {
    let Some((last, init)) = segments.split_last() else {
        return true;
    };
    // `None` stands for an object the write would create.
    let mut current = Some(doc);
    for segment in init {
        current = match (segment, current) {
            (Segment::Name(_), None) => None,
            (Segment::Name(name), Some(Value::Object(map))) => get_member(map, name),
            (Segment::Index(index), Some(Value::Array(items))) => {
                match resolve_index(*index, items.len()).and_then(|i| items.get(i)) {
                    Some(item) => Some(item),
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match (last, current) {
        (Segment::Name(_), None | Some(Value::Object(_))) => true,
        (Segment::Index(index), Some(Value::Array(items))) => {
            resolve_index(*index, items.len()).is_some()
        }
        _ => false,
    }
}

/// Performs a write that [`can_set`] approved.
fn set_checked(segments: &[Segment], doc: &mut Value, value: Value) -> bool {
    let Some((last, init)) = segments.split_last() else {
        *doc = value;
        return true;
    };
    let mut current = doc;
    for segment in init {
        current = match (segment, current) {
            (Segment::Name(name), Value::Object(map)) => {
                // Probing first avoids allocating the key when it already exists.
                if get_member(map, name).is_none() {
                    map.insert(name.to_string(), Value::Object(Map::new()));
                }
                match get_member_mut(map, name) {
                    Some(next) => next,
                    None => return false,
                }
            }
            (Segment::Index(index), Value::Array(items)) => {
                match resolve_index(*index, items.len()).and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match (last, current) {
        (Segment::Name(name), Value::Object(map)) => {
            if let Some(slot) = get_member_mut(map, name) {
                *slot = value;
            } else {
                map.insert(name.to_string(), value);
            }
            true
        }
        (Segment::Index(index), Value::Array(items)) => {
            match resolve_index(*index, items.len()).and_then(|i| items.get_mut(i)) {
                Some(slot) => {
                    *slot = value;
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// Where a path body ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A whole path: it runs to the end of the text.
    Top,
    /// A path inside a filter: it stops at whitespace, an operator or a closing parenthesis.
    Filter,
}

struct Parser<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    end: usize,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, start: usize, end: usize) -> Self {
        Parser {
            src,
            bytes: src.as_bytes(),
            pos: start,
            end,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        let at = self.pos.checked_add(ahead)?;
        if at < self.end {
            self.bytes.get(at).copied()
        } else {
            None
        }
    }

    fn rest(&self) -> &'s str {
        self.src.get(self.pos..self.end).unwrap_or("")
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, PathParseError> {
        self.fail_at(self.pos, message)
    }

    fn fail_at<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, PathParseError> {
        Err(PathParseError {
            message: message.into(),
            offset,
        })
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), PathParseError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(format!("expected {what}"))
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), PathParseError> {
        if depth > MAX_DEPTH {
            self.fail(format!("the path nests deeper than {MAX_DEPTH} levels"))
        } else {
            Ok(())
        }
    }

    /// Reads the name of a `$name` variable root.
    fn variable_name(&mut self) -> Result<String, PathParseError> {
        let start = self.pos;
        let rest = self.rest();
        let mut len = 0;
        for (i, c) in rest.char_indices() {
            let ok = if i == 0 {
                c.is_alphabetic() || c == '_'
            } else {
                c.is_alphanumeric() || c == '_'
            };
            if !ok {
                break;
            }
            len = i + c.len_utf8();
        }
        if len == 0 {
            return self.fail("expected '.', '[', '$' or a variable name after '$'");
        }
        self.pos = start + len;
        Ok(rest.get(..len).unwrap_or("").to_owned())
    }

    /// Parses the segments and optional trailing function that follow a root.
    fn body(&mut self, mode: Mode, depth: usize) -> Result<Body, PathParseError> {
        self.check_depth(depth)?;
        let mut segments = Vec::new();
        let mut function = None;
        while let Some(c) = self.peek() {
            if function.is_some() && matches!(c, b'.' | b'[') {
                return self.fail("a path function must end the path");
            }
            match c {
                b'.' if self.peek_at(1) == Some(b'.') => {
                    self.pos += 2;
                    segments.push(Segment::Scan);
                    match self.peek() {
                        None => return self.fail("a path must not end with '..'"),
                        Some(b'.') => return self.fail("unexpected '.' after '..'"),
                        Some(b'[') => segments.push(self.bracket(depth)?),
                        Some(b'*') => {
                            self.pos += 1;
                            segments.push(Segment::Wildcard);
                        }
                        Some(_) => {
                            let name = self.dot_name(mode)?;
                            if self.peek() == Some(b'(') {
                                return self.fail("a path function cannot follow '..'");
                            }
                            segments.push(Segment::Name(name.into()));
                        }
                    }
                }
                b'.' => {
                    self.pos += 1;
                    match self.peek() {
                        None => return self.fail("a path must not end with '.'"),
                        Some(b'[') => segments.push(self.bracket(depth)?),
                        Some(b'*') => {
                            self.pos += 1;
                            segments.push(Segment::Wildcard);
                        }
                        Some(_) => {
                            let start = self.pos;
                            let name = self.dot_name(mode)?;
                            if self.peek() == Some(b'(') {
                                function = Some(self.function(name, start)?);
                            } else {
                                segments.push(Segment::Name(name.into()));
                            }
                        }
                    }
                }
                b'[' => segments.push(self.bracket(depth)?),
                _ if mode == Mode::Filter => break,
                _ => return self.fail("unexpected character; expected '.' or '['"),
            }
        }
        let last = segments.len().saturating_sub(1);
        let merge_leaf = matches!(segments.last(), Some(Segment::Names(_)));
        let single = segments.iter().enumerate().all(|(i, s)| match s {
            Segment::Name(_) | Segment::Index(_) => true,
            Segment::Names(_) => i == last,
            _ => false,
        });
        Ok(Body {
            segments,
            function,
            single,
            merge_leaf,
        })
    }

    /// Reads a name after `.`; it runs to the next `.`, `[` or `(` (and, inside filters, to
    /// whitespace or an operator).
    fn dot_name(&mut self, mode: Mode) -> Result<&'s str, PathParseError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'.' | b'[' | b'(' => break,
                b' ' | b'\t' | b'\n' | b'\r' if mode == Mode::Top => {
                    return self.fail(
                        "use bracket notation ['my prop'] for property names that contain blank characters",
                    );
                }
                b' ' | b'\t' | b'\n' | b'\r' | b')' | b']' | b'<' | b'>' | b'=' | b'!' | b'~'
                | b'&' | b'|' | b',' | b'+' | b'*' | b'/'
                    if mode == Mode::Filter =>
                {
                    break;
                }
                _ => self.pos += 1,
            }
        }
        if self.pos == start {
            return self.fail("expected a property name");
        }
        match self.src.get(start..self.pos) {
            Some(name) => Ok(name),
            None => self.fail_at(start, "invalid property name"),
        }
    }

    /// Reads `()` after a function name.
    fn function(&mut self, name: &str, start: usize) -> Result<PathFunction, PathParseError> {
        let Some(function) = PathFunction::from_name(name) else {
            return self.fail_at(start, format!("unknown path function '{name}()'"));
        };
        self.pos += 1;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return self.fail("path functions with arguments are not supported");
        }
        self.pos += 1;
        Ok(function)
    }

    /// Parses a `[...]` segment.
    fn bracket(&mut self, depth: usize) -> Result<Segment, PathParseError> {
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            Some(b'\'' | b'"') => self.quoted_names(),
            Some(b'*') => {
                self.pos += 1;
                self.skip_ws();
                self.expect(b']', "']' after '*'")?;
                Ok(Segment::Wildcard)
            }
            Some(b'?') => {
                self.pos += 1;
                self.skip_ws();
                self.expect(b'(', "'(' after '[?'")?;
                let filter = self.filter_or(depth + 1)?;
                self.skip_ws();
                self.expect(b')', "')' to close the filter")?;
                self.skip_ws();
                self.expect(b']', "']' to close the filter")?;
                Ok(Segment::Filter(Box::new(filter)))
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b':' => self.array_selector(),
            _ => self.fail("expected a quoted name, an index, a slice, '*' or '?(' after '['"),
        }
    }

    /// Parses `'a'` or `'a','b'` up to and including the closing `]`. Names are taken verbatim:
    /// a backslash only keeps the next character from closing the name, as in the Jayway
    /// version AWS runs.
    fn quoted_names(&mut self) -> Result<Segment, PathParseError> {
        let mut names: Vec<Box<str>> = Vec::new();
        loop {
            self.skip_ws();
            let Some(quote @ (b'\'' | b'"')) = self.peek() else {
                return self.fail("expected a quoted property name");
            };
            let open = self.pos;
            self.pos += 1;
            let start = self.pos;
            loop {
                match self.peek() {
                    None => return self.fail_at(open, "unterminated quoted property name"),
                    Some(b'\\') => self.pos += 2,
                    Some(c) if c == quote => break,
                    Some(_) => self.pos += 1,
                }
            }
            let Some(name) = self.src.get(start..self.pos) else {
                return self.fail_at(open, "invalid quoted property name");
            };
            names.push(name.into());
            self.pos += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return self.fail("expected ',' or ']' after a quoted property name"),
            }
        }
        Ok(match names.len() {
            1 => match names.pop() {
                Some(name) => Segment::Name(name),
                None => Segment::Names(names),
            },
            _ => Segment::Names(names),
        })
    }

    /// Parses indexes, unions of indexes and slices up to and including the closing `]`.
    fn array_selector(&mut self) -> Result<Segment, PathParseError> {
        let start = self.pos;
        let Some(close) = self.rest().find(']') else {
            return self.fail("expected ']' to close the array selector");
        };
        let text = self.rest().get(..close).unwrap_or("");
        if let Some(bad) = text
            .bytes()
            .position(|b| !(b.is_ascii_digit() || matches!(b, b'-' | b':' | b',' | b' ')))
        {
            return self.fail_at(start + bad, "unexpected character in array selector");
        }
        let number = |part: &str, offset: usize| -> Result<i64, PathParseError> {
            part.trim().parse::<i64>().map_err(|_| PathParseError {
                message: format!("invalid array index '{}'", part.trim()),
                offset,
            })
        };
        let segment = if text.contains(':') {
            let parts: Vec<&str> = text.split(':').collect();
            if parts.len() > 3 {
                return self.fail_at(start, "a slice has at most three parts");
            }
            let optional = |i: usize| -> Result<Option<i64>, PathParseError> {
                match parts.get(i).map(|p| p.trim()) {
                    None | Some("") => Ok(None),
                    Some(p) => number(p, start).map(Some),
                }
            };
            let step = optional(2)?;
            if step == Some(0) {
                return self.fail_at(start, "a slice step cannot be zero");
            }
            Segment::Slice(optional(0)?, optional(1)?, step)
        } else {
            let indexes = text
                .split(',')
                .map(|p| number(p, start))
                .collect::<Result<Vec<i64>, _>>()?;
            match indexes.as_slice() {
                [single] => Segment::Index(*single),
                _ => Segment::Indexes(indexes),
            }
        };
        self.pos = start + close + 1;
        Ok(segment)
    }

    fn filter_or(&mut self, depth: usize) -> Result<Filter, PathParseError> {
        self.check_depth(depth)?;
        let mut terms = vec![self.filter_and(depth)?];
        loop {
            self.skip_ws();
            if self.rest().starts_with("||") {
                self.pos += 2;
                terms.push(self.filter_and(depth)?);
            } else {
                break;
            }
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Filter::Const(false))
        } else {
            Filter::Or(terms)
        })
    }

    fn filter_and(&mut self, depth: usize) -> Result<Filter, PathParseError> {
        let mut terms = vec![self.filter_unary(depth)?];
        loop {
            self.skip_ws();
            if self.rest().starts_with("&&") {
                self.pos += 2;
                terms.push(self.filter_unary(depth)?);
            } else {
                break;
            }
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Filter::Const(false))
        } else {
            Filter::And(terms)
        })
    }

    fn filter_unary(&mut self, depth: usize) -> Result<Filter, PathParseError> {
        self.check_depth(depth)?;
        self.skip_ws();
        match self.peek() {
            Some(b'!') if self.peek_at(1) != Some(b'=') => {
                self.pos += 1;
                Ok(Filter::Not(Box::new(self.filter_unary(depth + 1)?)))
            }
            Some(b'(') => {
                self.pos += 1;
                let inner = self.filter_or(depth + 1)?;
                self.skip_ws();
                self.expect(b')', "')'")?;
                Ok(inner)
            }
            _ => self.filter_relation(depth),
        }
    }

    fn filter_relation(&mut self, depth: usize) -> Result<Filter, PathParseError> {
        let start = self.pos;
        let left = self.operand(depth)?;
        self.skip_ws();
        match self.relational_operator() {
            Some(op) => {
                self.skip_ws();
                let right = self.operand(depth)?;
                Ok(Filter::Compare(left, op, right))
            }
            None => match left {
                Operand::Current(_) | Operand::Root(_) => Ok(Filter::Exists(left)),
                Operand::Literal(Value::Bool(b)) => Ok(Filter::Const(b)),
                _ => self.fail_at(start, "expected a comparison after this operand"),
            },
        }
    }

    fn relational_operator(&mut self) -> Option<RelOp> {
        const SYMBOLS: [(&str, RelOp); 9] = [
            ("===", RelOp::StrictEq),
            ("!==", RelOp::StrictNe),
            ("==", RelOp::Eq),
            ("!=", RelOp::Ne),
            ("<=", RelOp::Le),
            (">=", RelOp::Ge),
            ("=~", RelOp::Matches),
            ("<", RelOp::Lt),
            (">", RelOp::Gt),
        ];
        const WORDS: [(&str, RelOp); 9] = [
            ("subsetof", RelOp::SubsetOf),
            ("anyof", RelOp::AnyOf),
            ("noneof", RelOp::NoneOf),
            ("contains", RelOp::Contains),
            ("empty", RelOp::Empty),
            ("size", RelOp::Size),
            ("nin", RelOp::Nin),
            ("in", RelOp::In),
            ("all", RelOp::All),
        ];
        let rest = self.rest();
        for (text, op) in SYMBOLS {
            if rest.starts_with(text) {
                self.pos += text.len();
                return Some(op);
            }
        }
        for (text, op) in WORDS {
            let boundary = rest
                .as_bytes()
                .get(text.len())
                .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
            if rest.starts_with(text) && boundary {
                self.pos += text.len();
                return Some(op);
            }
        }
        None
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, PathParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.pos += 1;
                Ok(Operand::Current(self.body(Mode::Filter, depth + 1)?))
            }
            Some(b'$') => {
                self.pos += 1;
                match self.peek() {
                    Some(b'.' | b'[') | None => {}
                    Some(c) if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'$') => {}
                    Some(_) => {
                        return self.fail("only '$' and '@' paths can be used inside filters");
                    }
                }
                Ok(Operand::Root(self.body(Mode::Filter, depth + 1)?))
            }
            Some(b'/') => self.regex(),
            Some(_) => Ok(Operand::Literal(self.literal(depth)?)),
            None => self.fail("expected an operand"),
        }
    }

    /// Parses `/pattern/flags`. Jayway matches the whole string (Java's `matches`), so the
    /// pattern is anchored at both ends.
    fn regex(&mut self) -> Result<Operand, PathParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut pattern = String::new();
        loop {
            let rest = self.rest();
            let mut chars = rest.chars();
            match chars.next() {
                None => return self.fail_at(open, "unterminated regular expression"),
                Some('/') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => match chars.next() {
                    Some('/') => {
                        pattern.push('/');
                        self.pos += 2;
                    }
                    Some(c) => {
                        pattern.push('\\');
                        pattern.push(c);
                        self.pos += 1 + c.len_utf8();
                    }
                    None => return self.fail_at(open, "unterminated regular expression"),
                },
                Some(c) => {
                    pattern.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        let mut builder_flags = (false, false, false, false);
        while let Some(c) = self.peek().filter(u8::is_ascii_alphabetic) {
            match c {
                b'i' => builder_flags.0 = true,
                b'm' => builder_flags.1 = true,
                b's' => builder_flags.2 = true,
                b'x' => builder_flags.3 = true,
                // Java's UNICODE_CASE, UNICODE_CHARACTER_CLASS and UNIX_LINES are the regex
                // crate's defaults or have no effect on matching here.
                b'u' | b'U' | b'd' => {}
                _ => return self.fail(format!("unknown regular expression flag '{}'", c as char)),
            }
            self.pos += 1;
        }
        let (ignore_case, multi_line, dot_all, extended) = builder_flags;
        // In extended mode a `#` comment would swallow the closing group, so end it on a new line.
        let anchored = if extended {
            format!("\\A(?:{pattern}\n)\\z")
        } else {
            format!("\\A(?:{pattern})\\z")
        };
        RegexBuilder::new(&anchored)
            .case_insensitive(ignore_case)
            .multi_line(multi_line)
            .dot_matches_new_line(dot_all)
            .ignore_whitespace(extended)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Operand::Regex)
            .map_err(|e| PathParseError {
                message: format!("invalid regular expression: {e}"),
                offset: open,
            })
    }

    /// Parses a literal: a number, a quoted string, `true`, `false`, `null`, or a JSON array or
    /// object (whose strings may use single quotes, as Jayway allows).
    fn literal(&mut self, depth: usize) -> Result<Value, PathParseError> {
        self.check_depth(depth)?;
        self.skip_ws();
        match self.peek() {
            Some(b'\'' | b'"') => self.string_literal().map(Value::String),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number_literal(),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.literal(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return self.fail("expected ',' or ']' in a JSON array"),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut map = Map::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                loop {
                    self.skip_ws();
                    if !matches!(self.peek(), Some(b'\'' | b'"')) {
                        return self.fail("expected a quoted key in a JSON object");
                    }
                    let key = self.string_literal()?;
                    self.skip_ws();
                    self.expect(b':', "':' after a key in a JSON object")?;
                    let value = self.literal(depth + 1)?;
                    map.insert(key, value);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Object(map));
                        }
                        _ => return self.fail("expected ',' or '}' in a JSON object"),
                    }
                }
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.pos += 1;
                }
                match self.src.get(start..self.pos) {
                    Some("true") => Ok(Value::Bool(true)),
                    Some("false") => Ok(Value::Bool(false)),
                    Some("null") => Ok(Value::Null),
                    _ => self.fail_at(start, "expected a path, a literal or a regular expression"),
                }
            }
            _ => self.fail("expected a path, a literal or a regular expression"),
        }
    }

    fn number_literal(&mut self) -> Result<Value, PathParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            self.pos += 1;
        }
        let text = self.src.get(start..self.pos).unwrap_or("");
        match text.parse::<Number>() {
            Ok(number) => Ok(Value::Number(number)),
            Err(_) => self.fail_at(start, format!("invalid number '{text}'")),
        }
    }

    /// Parses a quoted string, undoing the usual backslash escapes.
    fn string_literal(&mut self) -> Result<String, PathParseError> {
        let open = self.pos;
        let Some(quote) = self.peek() else {
            return self.fail("expected a string");
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = self.rest();
            let mut chars = rest.chars();
            match chars.next() {
                None => return self.fail_at(open, "unterminated string literal"),
                Some(c) if c as u32 == u32::from(quote) => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    let Some(escaped) = chars.next() else {
                        return self.fail_at(open, "unterminated string literal");
                    };
                    let mut consumed = 1 + escaped.len_utf8();
                    match escaped {
                        '\\' | '\'' | '"' | '/' => out.push(escaped),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let hex = rest.get(2..6).unwrap_or("");
                            match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                                Some(c) if hex.len() == 4 => {
                                    out.push(c);
                                    consumed = 6;
                                }
                                _ => return self.fail("invalid \\u escape in string literal"),
                            }
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                    self.pos += consumed;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
                    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
                    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
                    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "expensive": 10
        })
    }

    fn p(source: &str) -> JsonPath {
        match JsonPath::parse(source) {
            Ok(path) => path,
            Err(e) => panic!("failed to parse {source:?}: {e}"),
        }
    }

    fn sel(source: &str, doc: &Value) -> Value {
        match p(source).select(doc) {
            Ok(v) => v,
            Err(e) => panic!("failed to select {source:?}: {e}"),
        }
    }

    fn sel_err(source: &str, doc: &Value) -> String {
        match p(source).select(doc) {
            Ok(v) => panic!("expected {source:?} to fail, got {v}"),
            Err(e) => e.message,
        }
    }

    fn authors(books: &Value) -> Vec<String> {
        books
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["author"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn roots() {
        assert_eq!(p("$").root(), &PathRoot::Input);
        assert_eq!(p("$$").root(), &PathRoot::Context);
        assert_eq!(p("$$.Execution.Id").root(), &PathRoot::Context);
        assert_eq!(p("$myVar").root(), &PathRoot::Variable("myVar".into()));
        assert_eq!(
            p("$my_var2.field").root(),
            &PathRoot::Variable("my_var2".into())
        );
        assert_eq!(p("$_x[0]").root(), &PathRoot::Variable("_x".into()));
        assert!(p("$").is_root_only());
        assert!(p("$$").is_root_only());
        assert!(p("$v").is_root_only());
        assert!(!p("$.a").is_root_only());
        assert!(JsonPath::parse("$1abc").is_err());
        assert!(JsonPath::parse("a.b").is_err());
        assert!(JsonPath::parse("").is_err());
        assert!(JsonPath::parse("$$$").is_err());
        let doc = json!({"a": 1});
        assert_eq!(sel("$", &doc), doc);
        assert_eq!(sel("$v.a", &doc), json!(1));
    }

    #[test]
    fn goessner_examples() {
        let doc = store();
        assert_eq!(
            authors(&json!(sel("$.store.book[*]", &doc))),
            [
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ]
        );
        assert_eq!(
            sel("$.store.book[*].author", &doc),
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])
        );
        assert_eq!(
            sel("$..author", &doc),
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])
        );
        let store_all = sel("$.store.*", &doc);
        assert_eq!(store_all.as_array().map(Vec::len), Some(2));
        assert_eq!(store_all[1], json!({"color": "red", "price": 19.95}));
        assert_eq!(
            sel("$.store..price", &doc),
            json!([8.95, 12.99, 8.99, 22.99, 19.95])
        );
        assert_eq!(authors(&sel("$..book[2]", &doc)), ["Herman Melville"]);
        assert_eq!(authors(&sel("$..book[-2]", &doc)), ["Herman Melville"]);
        assert_eq!(authors(&sel("$..book[-1:]", &doc)), ["J. R. R. Tolkien"]);
        assert_eq!(
            authors(&sel("$..book[0,1]", &doc)),
            ["Nigel Rees", "Evelyn Waugh"]
        );
        assert_eq!(
            authors(&sel("$..book[:2]", &doc)),
            ["Nigel Rees", "Evelyn Waugh"]
        );
        assert_eq!(authors(&sel("$..book[1:2]", &doc)), ["Evelyn Waugh"]);
        assert_eq!(
            authors(&sel("$..book[-2:]", &doc)),
            ["Herman Melville", "J. R. R. Tolkien"]
        );
        assert_eq!(
            authors(&sel("$..book[2:]", &doc)),
            ["Herman Melville", "J. R. R. Tolkien"]
        );
        assert_eq!(
            authors(&sel("$..book[?(@.isbn)]", &doc)),
            ["Herman Melville", "J. R. R. Tolkien"]
        );
        assert_eq!(
            authors(&sel("$.store.book[?(@.price < 10)]", &doc)),
            ["Nigel Rees", "Herman Melville"]
        );
        assert_eq!(
            authors(&sel("$..book[?(@.price < 10)]", &doc)),
            ["Nigel Rees", "Herman Melville"]
        );
        assert_eq!(
            authors(&sel("$..book[?(@.price <= $['expensive'])]", &doc)),
            ["Nigel Rees", "Herman Melville"]
        );
        assert_eq!(
            authors(&sel("$..book[?(@.author =~ /.*REES/i)]", &doc)),
            ["Nigel Rees"]
        );
        assert_eq!(sel("$.store.book.length()", &doc), json!(4));
        assert_eq!(sel("$..book[?(@.price > 100)]", &doc), json!([]));
    }

    #[test]
    fn deep_scan_everything_in_jayway_order() {
        let doc = json!({"a": {"b": 1, "c": [2, {"d": 3}]}, "e": 4});
        assert_eq!(
            sel("$..*", &doc),
            json!([{"b": 1, "c": [2, {"d": 3}]}, 4, 1, [2, {"d": 3}], 2, {"d": 3}, 3])
        );
        let all = sel("$..*", &store());
        // Two store members, four books and a bicycle, then every leaf under them.
        assert_eq!(all.as_array().map(Vec::len), Some(28));
        assert_eq!(sel("$..[0]", &doc), json!([2]));
        assert_eq!(sel("$..d", &doc), json!([3]));
        assert_eq!(sel("$..['d']", &doc), json!([3]));
        assert_eq!(sel("$..nothing", &doc), json!([]));
        assert_eq!(sel("$..[?(@.d == 3)]", &doc), json!([{"d": 3}]));
    }

    #[test]
    fn bracket_names() {
        let doc = json!({"a": {"b c": 1, "def ghi": 2, "x.y": 3, "q\"": 4}, "abc": {"def ghi": 5}});
        assert_eq!(sel("$.a['b c']", &doc), json!(1));
        assert_eq!(sel("$.a[\"b c\"]", &doc), json!(1));
        assert_eq!(sel("$.abc.['def ghi']", &doc), json!(5));
        assert_eq!(sel("$['a']['x.y']", &doc), json!(3));
        assert_eq!(sel("$[ 'a' ][ 'x.y' ]", &doc), json!(3));
        assert_eq!(sel("$.a['q\"']", &doc), json!(4));
        assert!(p("$.abc.['def ghi']").is_reference_path());
        assert_eq!(p("$.abc.['def ghi']").normalized(), "$['abc']['def ghi']");
    }

    #[test]
    fn escaped_quote_in_bracket_name_is_kept_verbatim() {
        // AWS looks up the key with the backslash still in it.
        let doc = json!({"Test\\\"\"Name\"": "Value\"\\"});
        assert_eq!(sel("$['Test\\\"\"Name\"']", &doc), json!("Value\"\\"));
        let doc = json!({"it\\'s": 1});
        assert_eq!(sel("$['it\\'s']", &doc), json!(1));
    }

    #[test]
    fn name_unions_merge_at_the_leaf() {
        let doc = json!({"a": 1, "b": 2, "c": 3, "o": {"x": {"v": 1}, "y": {"v": 2}}});
        let merged = p("$['a','b','zz']");
        assert!(!merged.is_definite());
        assert!(merged.is_single_value());
        assert!(!merged.is_reference_path());
        assert_eq!(merged.select(&doc), Ok(json!({"a": 1, "b": 2})));
        assert!(merged.select_ref(&doc).is_err());
        assert_eq!(sel("$.o['x','y'].v", &doc), json!([1, 2]));
        assert_eq!(sel("$.o[*]['v','w']", &doc), json!([{"v": 1}, {"v": 2}]));
        assert_eq!(merged.normalized(), "$['a','b','zz']");
    }

    #[test]
    fn scan_with_name_union_and_large_objects() {
        // After `..`, only objects holding every name are merged.
        let doc = json!({"x": {"v": 1, "w": 2}, "y": {"v": 3}, "z": [{"w": 5, "v": 4}]});
        assert_eq!(
            sel("$..['v','w']", &doc),
            json!([{"v": 1, "w": 2}, {"v": 4, "w": 5}])
        );
        // Objects above the linear-scan threshold are looked up by hash.
        let mut big = Map::new();
        for i in 0..20 {
            big.insert(format!("k{i}"), json!(i));
        }
        let mut doc = Value::Object(big);
        assert_eq!(sel("$.k17", &doc), json!(17));
        assert_eq!(sel_err("$.k20", &doc), "No results for path: $['k20']");
        assert_eq!(p("$.k5").set(&mut doc, json!("five")), Ok(()));
        assert_eq!(p("$.new.inner").set(&mut doc, json!(true)), Ok(()));
        assert_eq!(doc["k5"], json!("five"));
        assert_eq!(doc["new"], json!({"inner": true}));
        assert_eq!(doc.as_object().map(Map::len), Some(21));
    }

    #[test]
    fn array_roots_and_indexes() {
        let doc = json!(["a", "b", "c", "d", "e"]);
        assert_eq!(sel("$[0]", &doc), json!("a"));
        assert_eq!(sel("$[-1]", &doc), json!("e"));
        assert_eq!(sel("$[0,2]", &doc), json!(["a", "c"]));
        assert_eq!(sel("$[0, 9, -1]", &doc), json!(["a", "e"]));
        assert_eq!(sel("$[1:3]", &doc), json!(["b", "c"]));
        assert_eq!(sel("$[:2]", &doc), json!(["a", "b"]));
        assert_eq!(sel("$[-2:]", &doc), json!(["d", "e"]));
        assert_eq!(sel("$[::2]", &doc), json!(["a", "c", "e"]));
        assert_eq!(sel("$[1::2]", &doc), json!(["b", "d"]));
        assert_eq!(sel("$[::-1]", &doc), json!(["e", "d", "c", "b", "a"]));
        assert_eq!(sel("$[-10:100]", &doc), json!(["a", "b", "c", "d", "e"]));
        assert_eq!(sel("$[3:1]", &doc), json!([]));
        assert_eq!(sel("$[*]", &doc), doc);
        assert_eq!(sel_err("$[5]", &doc), "No results for path: $[5]");
        assert_eq!(sel_err("$[-6]", &doc), "No results for path: $[-6]");
        assert!(JsonPath::parse("$[::0]").is_err());
        assert!(JsonPath::parse("$[1:2:3:4]").is_err());
        assert!(JsonPath::parse("$[a]").is_err());
        assert!(JsonPath::parse("$[1").is_err());
        assert!(JsonPath::parse("$[99999999999999999999]").is_err());
        assert_eq!(p("$[1:3]").normalized(), "$[1:3]");
        assert_eq!(p("$[-2:]").normalized(), "$[-2:]");
        assert_eq!(p("$[::2]").normalized(), "$[::2]");
        assert_eq!(p("$[0,2]").normalized(), "$[0,2]");
    }

    #[test]
    fn definite_and_reference_paths() {
        for (source, definite, reference, single) in [
            ("$", true, true, true),
            ("$$", true, true, true),
            ("$v", true, true, true),
            ("$.a.b", true, true, true),
            ("$.a[0].b", true, true, true),
            ("$.a[-1]", true, true, true),
            ("$['a']['b c']", true, true, true),
            ("$.a.length()", false, false, true),
            ("$.a['b','c']", false, false, true),
            ("$.a[*]", false, false, false),
            ("$..a", false, false, false),
            ("$.a[0:1]", false, false, false),
            ("$.a[0,1]", false, false, false),
            ("$.a[?(@.x)]", false, false, false),
            ("$.a[*].length()", false, false, true),
            ("$.*", false, false, false),
        ] {
            let path = p(source);
            assert_eq!(path.is_definite(), definite, "definite {source}");
            assert_eq!(path.is_reference_path(), reference, "reference {source}");
            assert_eq!(path.is_single_value(), single, "single {source}");
            // Whatever is definite can be borrowed.
            if definite {
                let doc = json!({"a": {"b": 1, "c": 2, "x": 3}});
                let borrowed = path.select_ref(&doc).cloned();
                assert_eq!(borrowed.is_ok(), path.select(&doc).is_ok(), "{source}");
            }
        }
    }

    #[test]
    fn missing_values() {
        let doc = json!({"a": {"b": [1, 2]}, "s": "str", "n": null});
        assert_eq!(sel_err("$.x", &doc), "No results for path: $['x']");
        assert_eq!(sel_err("$.a.x", &doc), "No results for path: $['a']['x']");
        assert_eq!(sel_err("$.x.y", &doc), "Missing property in path $['x']");
        assert_eq!(
            sel_err("$.a.b[5]", &doc),
            "No results for path: $['a']['b'][5]"
        );
        assert_eq!(
            sel_err("$.s.x", &doc),
            "Expected to find an object with property ['x'] in path $['s'] but found \
             'java.lang.String'. This is not a json object according to the JsonProvider: \
             'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'."
        );
        assert!(
            sel_err("$.a.b.c", &doc)
                .starts_with("Expected to find an object with property ['c'] in path $['a']['b']")
        );
        assert_eq!(sel_err("$.n[0]", &doc), "The path $['n'] is null");
        assert_eq!(
            sel_err("$.a[0]", &doc),
            "Filter: [0] can only be applied to arrays. Current context is: {\"b\":[1,2]}"
        );
        assert_eq!(sel("$.n", &doc), Value::Null);
        // A string input and a definite path: an error, not an empty result.
        let text = json!("hello");
        assert!(p("$.x").select(&text).is_err());
        assert!(p("$[0]").select(&text).is_err());
        // Indefinite paths skip missing branches.
        assert_eq!(sel("$.x[*]", &doc), json!([]));
        assert_eq!(sel("$.items[:1]", &json!({})), json!([]));
        assert_eq!(sel("$.items[:1].itemValue", &json!({})), json!([]));
        assert_eq!(sel("$.s[*]", &doc), json!([]));
        assert_eq!(
            sel(
                "$.list[*].v",
                &json!({"list": [{"v": 1}, {"w": 2}, "str", {"v": 3}]})
            ),
            json!([1, 3])
        );
    }

    #[test]
    fn select_ref_borrows() {
        let doc = json!({"a": {"b": {"c": [10, 20]}}});
        let path = p("$.a.b.c[1]");
        let found = path.select_ref(&doc);
        assert_eq!(found, Ok(&json!(20)));
        assert!(std::ptr::eq(
            path.select_ref(&doc).unwrap_or(&Value::Null),
            &doc["a"]["b"]["c"][1]
        ));
        assert!(p("$.a[*]").select_ref(&doc).is_err());
        assert!(p("$.a.length()").select_ref(&doc).is_err());
        assert_eq!(
            p("$.a.x").select_ref(&doc).map_err(|e| e.message),
            Err("No results for path: $['a']['x']".to_owned())
        );
    }

    #[test]
    fn skipping_resolved_prefixes() {
        let path = p("$$.Execution.Input.x[0]");
        assert_eq!(path.segments_len(), 4);
        assert_eq!(path.first_names(2), Some(vec!["Execution", "Input"]));
        assert_eq!(path.first_names(3), Some(vec!["Execution", "Input", "x"]));
        assert_eq!(path.first_names(4), None);
        assert_eq!(path.first_names(5), None);
        let input = json!({"x": ["first"]});
        assert_eq!(path.select_from(2, &input), Ok(json!("first")));
        assert_eq!(path.select_ref_from(2, &input), Ok(&json!("first")));
        assert_eq!(
            path.select_from(2, &json!({})).map_err(|e| e.message),
            Err("Missing property in path $['Execution']['Input']['x']".to_owned())
        );
        assert_eq!(path.select_from(4, &json!(7)), Ok(json!(7)));
        assert!(path.select_from(5, &input).is_err());
        let indefinite = p("$$.Execution.Input.items[*].id");
        assert_eq!(
            indefinite.select_from(2, &json!({"items": [{"id": 1}, {"id": 2}]})),
            Ok(json!([1, 2]))
        );
    }

    #[test]
    fn functions() {
        let doc = json!({"items": [3, 1, 2, "x"], "o": {"a": 1, "b": 2}, "s": "héllo", "e": []});
        assert_eq!(sel("$.items.length()", &doc), json!(4));
        assert_eq!(sel("$.items.size()", &doc), json!(4));
        assert_eq!(sel("$.o.length()", &doc), json!(2));
        assert_eq!(sel("$.s.length()", &doc), json!(5));
        assert_eq!(sel("$.items.min()", &doc), json!(1.0));
        assert_eq!(sel("$.items.max()", &doc), json!(3.0));
        assert_eq!(sel("$.items.sum()", &doc), json!(6.0));
        assert_eq!(sel("$.items.avg()", &doc), json!(2.0));
        assert_eq!(sel("$.o.keys()", &doc), json!(["a", "b"]));
        assert_eq!(sel("$.items.first()", &doc), json!(3));
        assert_eq!(sel("$.items.last()", &doc), json!("x"));
        assert_eq!(sel("$.o.*.sum()", &doc), json!(3.0));
        assert_eq!(sel("$..a.length()", &doc), json!(1));
        let stddev = sel("$.items.stddev()", &doc).as_f64().unwrap_or(f64::NAN);
        assert!((stddev - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!(p("$.e.sum()").select(&doc).is_err());
        assert!(p("$.s.keys()").select(&doc).is_err());
        assert!(p("$.x.length()").select(&doc).is_err());
        assert!(JsonPath::parse("$.items.nope()").is_err());
        assert!(JsonPath::parse("$.items.length(1)").is_err());
        assert!(JsonPath::parse("$.items.length().x").is_err());
        assert!(JsonPath::parse("$..length()").is_err());
        assert_eq!(p("$.items.length()").normalized(), "$['items'].length()");
        assert_eq!(
            sel(
                "$.list[?(@.tags.length() > 1)].id",
                &json!({"list": [{"id": 1, "tags": [1]}, {"id": 2, "tags": [1, 2]}]})
            ),
            json!([2])
        );
    }

    #[test]
    fn filters() {
        let doc = json!({"users": [
            {"name": "a", "status": 0, "age": 30, "tags": ["x", "y"], "nick": null},
            {"name": "b", "status": 1, "age": 17, "tags": [], "code": "7"},
            {"name": "c", "status": 0, "age": 45, "tags": ["y"], "role": {"admin": true}}
        ], "limit": 18, "wanted": ["a", "c"]});
        let names = |source: &str| -> Vec<String> {
            sel(source, &doc)
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(names("$.users[?(@.status == 0)]"), ["a", "c"]);
        assert_eq!(names("$.users[?(@.status != 0)]"), ["b"]);
        assert_eq!(names("$.users[?(@.age >= $.limit)]"), ["a", "c"]);
        assert_eq!(names("$.users[?(@.age > 20 && @.age < 40)]"), ["a"]);
        assert_eq!(names("$.users[?(@.age < 20 || @.age > 40)]"), ["b", "c"]);
        assert_eq!(names("$.users[?(!(@.age < 20))]"), ["a", "c"]);
        assert_eq!(names("$.users[?(!@.role)]"), ["a", "b"]);
        assert_eq!(names("$.users[?(@.role.admin == true)]"), ["c"]);
        assert_eq!(names("$.users[?(@.nick)]"), ["a"]);
        assert_eq!(names("$.users[?(@.nick == null)]"), ["a"]);
        assert_eq!(names("$.users[?(@.name in ['a','b'])]"), ["a", "b"]);
        assert_eq!(names("$.users[?(@.name in $.wanted)]"), ["a", "c"]);
        assert_eq!(names("$.users[?(@.name nin ['a','b'])]"), ["c"]);
        assert_eq!(
            names("$.users[?(@.tags subsetof ['x','y','z'])]"),
            ["a", "b", "c"]
        );
        assert_eq!(names("$.users[?(@.tags anyof ['x'])]"), ["a"]);
        assert_eq!(names("$.users[?(@.tags noneof ['x'])]"), ["b", "c"]);
        assert_eq!(names("$.users[?(@.tags contains 'y')]"), ["a", "c"]);
        assert_eq!(names("$.users[?(@.tags all ['x','y'])]"), ["a"]);
        assert_eq!(names("$.users[?(@.tags size 2)]"), ["a"]);
        assert_eq!(names("$.users[?(@.name size 1)]"), ["a", "b", "c"]);
        assert_eq!(names("$.users[?(@.tags empty true)]"), ["b"]);
        assert_eq!(names("$.users[?(@.tags empty false)]"), ["a", "c"]);
        assert_eq!(names("$.users[?(@.name =~ /[AB]/i)]"), ["a", "b"]);
        assert_eq!(names("$.users[?(@.name =~ /a|c/)]"), ["a", "c"]);
        // Jayway's `==` treats a numeric string as the number; `===` does not.
        assert_eq!(names("$.users[?(@.code == 7)]"), ["b"]);
        assert_eq!(names("$.users[?(@.code === 7)]"), Vec::<String>::new());
        assert_eq!(names("$.users[?(@.code === '7')]"), ["b"]);
        assert_eq!(names("$.users[?(@.name == \"b\")]"), ["b"]);
        assert_eq!(names("$.users[?(@.name > 'a')]"), ["b", "c"]);
        assert_eq!(names("$.users[?(@.age == 30.0)]"), ["a"]);
        assert_eq!(names("$.users[?(@.missing != 1)]"), ["a", "b", "c"]);
        assert_eq!(names("$.users[?(true)]"), ["a", "b", "c"]);
        assert_eq!(names("$.users[?(@['name'] == 'c')]"), ["c"]);
        assert_eq!(names("$.users[?(@.tags[0] == 'y')]"), ["c"]);
        assert_eq!(names("$.users[?(@.tags[*] contains 'x')]"), ["a"]);
        assert_eq!(names("$.users[?(@.role == {'admin': true})]"), ["c"]);
        assert_eq!(names("$.users[?( @.status==0 )]"), ["a", "c"]);
        assert_eq!(names("$.users[?(@.name == 'a') ]"), ["a"]);
        assert_eq!(
            sel("$.users[?(@.status == 0)].name", &doc),
            json!(["a", "c"])
        );
        // A filter applied to an object tests the object itself.
        assert_eq!(
            sel("$.users[2].role[?(@.admin)]", &doc),
            json!([{"admin": true}])
        );
        assert_eq!(sel("$.limit[?(@ > 1)]", &doc), json!([]));
        assert_eq!(
            sel("$.nums[?(@ > 1)]", &json!({"nums": [1, 2, 3]})),
            json!([2, 3])
        );
        // The recorded AWS example.
        let doc = json!({"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]});
        assert_eq!(
            sel("$.users[?(@.status == 0)]", &doc),
            json!([{"year": 1997, "status": 0}])
        );
        assert_eq!(p("$.users[?(@.status == 0)]").normalized(), "$['users'][?]");
    }

    #[test]
    fn filter_parse_errors() {
        for bad in [
            "$.a[?(@.x ==)]",
            "$.a[?(@.x == 1]",
            "$.a[?(@.x == 1)",
            "$.a[?(@.x =~ /abc)]",
            "$.a[?(@.x =~ /abc/q)]",
            "$.a[?(@.x =~ /(/)]",
            "$.a[?('abc)]",
            "$.a[?(1)]",
            "$.a[?(@.x == [1,2)]",
            "$.a[?(@.x == {'a' 1})]",
            "$.a[?(@.x == nope)]",
            "$.a[?()]",
            "$.a[?(@.x && )]",
            "$.a[?(@.x == $v.y)]",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad} should not parse");
        }
        let deep = format!("$.a[?({}@.x{})]", "(".repeat(100), ")".repeat(100));
        let err = JsonPath::parse(&deep).map_err(|e| e.message);
        assert!(matches!(err, Err(ref m) if m.contains("deeper")), "{err:?}");
        let nots = format!("$.a[?({}@.x)]", "!".repeat(500));
        assert!(JsonPath::parse(&nots).is_err());
        let literal = format!("$.a[?(@.x in {}1{})]", "[".repeat(200), "]".repeat(200));
        assert!(JsonPath::parse(&literal).is_err());
        let nested = format!("$.a{}", "[?(@.b".repeat(80) + &")]".repeat(80));
        assert!(JsonPath::parse(&nested).is_err());
        // Long but flat chains are fine.
        let chain = format!("$.a[?({})]", vec!["@.x == 1"; 2000].join(" || "));
        assert_eq!(
            p(&chain).select(&json!({"a": [{"x": 1}, {"x": 2}]})),
            Ok(json!([{"x": 1}]))
        );
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "$.",
            "$..",
            "$.a.",
            "$.a..",
            "$...a",
            "$.a b",
            "$ .a",
            "$[",
            "$['a'",
            "$['a]",
            "$['a' 'b']",
            "$['a',]",
            "$[]",
            "$[?]",
            "$.*a",
            "$a b",
            "$.a[*",
            "$.a[* 1]",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
        let e = JsonPath::parse("$.a b");
        assert!(matches!(e, Err(ref e) if e.offset == 3), "{e:?}");
        // Jayway trims surrounding whitespace and accepts unusual characters in dot names.
        assert_eq!(sel(" $.a ", &json!({"a": 1})), json!(1));
        assert_eq!(sel("$.a-b", &json!({"a-b": 1})), json!(1));
        assert_eq!(
            sel("$.delivery-partner", &json!({"delivery-partner": 2})),
            json!(2)
        );
        assert_eq!(sel("$.ünï.çødé", &json!({"ünï": {"çødé": 3}})), json!(3));
        assert_eq!(sel("$.a:b", &json!({"a:b": 4})), json!(4));
    }

    #[test]
    fn set_values() {
        let mut doc = json!({"a": {"x": 1}});
        assert_eq!(p("$.a.b").set(&mut doc, json!(2)), Ok(()));
        assert_eq!(doc, json!({"a": {"x": 1, "b": 2}}));
        assert_eq!(p("$.n.m.o").set(&mut doc, json!(3)), Ok(()));
        assert_eq!(doc["n"], json!({"m": {"o": 3}}));
        assert_eq!(p("$.a.x").set(&mut doc, json!("new")), Ok(()));
        assert_eq!(doc["a"]["x"], json!("new"));
        // Key order is kept when a value is replaced.
        let keys: Vec<&String> = doc["a"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["x", "b"]);
        assert_eq!(p("$").set(&mut doc, json!([1])), Ok(()));
        assert_eq!(doc, json!([1]));
        assert_eq!(p("$[0]").set(&mut doc, json!({"k": 1})), Ok(()));
        assert_eq!(p("$[-1].k").set(&mut doc, json!(2)), Ok(()));
        assert_eq!(doc, json!([{"k": 2}]));
        assert!(p("$[1]").set(&mut doc, json!(0)).is_err());
        assert!(p("$.a").set(&mut doc, json!(0)).is_err());
        assert_eq!(doc, json!([{"k": 2}]));

        let mut text = json!("str");
        let err = p("$.a.b").set(&mut text, json!(1)).map_err(|e| e.message);
        assert_eq!(
            err,
            Err("Unable to apply ReferencePath $.a.b to input \"str\"".to_owned())
        );
        assert_eq!(text, json!("str"));

        // A failed write leaves no half-created objects.
        let mut doc = json!({"a": {}});
        assert!(p("$.a.b.c[0]").set(&mut doc, json!(1)).is_err());
        assert_eq!(doc, json!({"a": {}}));
        let mut doc = json!({"a": 5});
        assert!(p("$.a.b").set(&mut doc, json!(1)).is_err());
        assert!(p("$.a[*]").set(&mut doc, json!(1)).is_err());
        let mut doc = json!({"a": null});
        assert!(p("$.a.b").set(&mut doc, json!(1)).is_err());
        let mut vars = json!({});
        assert_eq!(p("$v.a").set(&mut vars, json!(1)), Ok(()));
        assert_eq!(vars, json!({"a": 1}));
    }

    #[test]
    fn equality_and_display() {
        assert_eq!(p("$.a"), p("$.a"));
        assert_ne!(p("$.a"), p("$['a']"));
        assert_eq!(p("$.a").source(), "$.a");
        assert_eq!(p("$.a").to_string(), "$.a");
        assert_eq!(p("$$.a[0]").normalized(), "$['a'][0]");
        assert_eq!(p("$..a[*]").normalized(), "$..['a'][*]");
        let e = PathParseError {
            message: "bad".into(),
            offset: 2,
        };
        assert_eq!(e.to_string(), "bad (at offset 2)");
    }

    #[test]
    fn json_equality() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(
            &json!({"a": 1, "b": [1, 2]}),
            &json!({"b": [1.0, 2], "a": 1})
        ));
        assert!(!json_eq(&json!([1, 2]), &json!([2, 1])));
        assert!(!json_eq(&json!("1"), &json!(1)));
        assert!(json_eq(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!json_eq(&json!(u64::MAX), &json!(-1)));
        assert_eq!(
            cmp_numbers(&Number::from(-1), &Number::from(u64::MAX)),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_numbers(&Number::from(u64::MAX), &Number::from(-1)),
            Some(Ordering::Greater)
        );
    }

    /// A tiny deterministic generator, so the fuzz test needs no dependency.
    fn next_random(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn parsing_never_panics() {
        let valid = [
            "$.store.book[*].author",
            "$..author",
            "$.store.*",
            "$..book[2]",
            "$..book[-1:]",
            "$..book[0,1]",
            "$..book[:2]",
            "$..book[?(@.isbn)]",
            "$..book[?(@.price < 10 && @.category == 'fiction' || !(@.x =~ /a\\/b/i))]",
            "$..*",
            "$.a['b c']",
            "$.abc.['def ghi']",
            "$[0]",
            "$.items.length()",
            "$$.Execution.Input['a','b']",
            "$var.x[1:3:2]",
            "$.a[?(@.b in ['x', \"y\", {'k': [1, 2.5e3, null, true]}])]",
            "$['it\\'s'][?(@ size 2)]",
        ];
        let doc = store();
        let mut count = 0usize;
        for source in valid {
            for end in 0..=source.len() {
                if let Some(prefix) = source.get(..end)
                    && let Ok(path) = JsonPath::parse(prefix)
                {
                    count += 1;
                    let _ = path.select(&doc);
                    let mut copy = doc.clone();
                    let _ = path.set(&mut copy, Value::Null);
                }
            }
            for start in 0..source.len() {
                if let Some(suffix) = source.get(start..) {
                    let _ = JsonPath::parse(suffix);
                }
            }
        }
        assert!(count > valid.len());
        let alphabet = b"$@.[]()?*:,'\"\\/=!<>&|~-0123456789abc xyz\t{}";
        let mut state = 42u64;
        for _ in 0..20_000 {
            let len = (next_random(&mut state) % 24) as usize;
            let mut bytes = vec![b'$'];
            for _ in 0..len {
                let r = next_random(&mut state);
                let byte = if r.is_multiple_of(17) {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                };
                bytes.push(byte);
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(path) = JsonPath::parse(&text) {
                let _ = path.select(&doc);
                let _ = path.select_ref(&doc);
            }
        }
    }
}
