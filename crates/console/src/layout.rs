//! A layered (Sugiyama-style) layout of a state machine, drawn top to bottom.
//!
//! Each scope (the top level, a Parallel branch, a Map processor) is laid out on its own, inner
//! scopes first, so that a Parallel or Map state is one box of known size in its parent's
//! layout. Within a scope:
//!
//! 1. Back edges (loops) are found by a depth-first walk from the start and reversed.
//! 2. Ranks are longest paths from the start, doubled so that every edge crosses at least one
//!    odd rank: that is where its label sits, as a node of its own, so labels never overlap.
//! 3. Edges longer than one rank get a dummy node per rank they cross.
//! 4. Barycenter sweeps, down and up, reduce crossings; the order with fewest crossings wins.
//! 5. Each rank's x positions are the closest to the mean of their neighbours' that keeps the
//!    order and the spacing (an isotonic regression, solved exactly by pooling adjacent
//!    violators), repeated down and up until the picture settles.
//!
//! The result is plain geometry ([`Layout`]) that the console draws as SVG ([`crate::svg`]).

use std::collections::HashMap;

use aslan_asl::choice::{ChoiceRule, Comparison, Operand};
use aslan_asl::definition::{
    Catcher, Definition, ResourceKind, ScopeId, State, StateId, StateKind, Transition, WaitUntil,
};
use aslan_asl::template::Template;
use serde::Serialize;

/// Font size of state names, in pixels (the SVG uses the same).
pub const NAME_FONT: f64 = 13.0;
/// Font size of the type line and of edge labels, in pixels.
pub const SMALL_FONT: f64 = 11.0;

const NODE_HEIGHT: f64 = 46.0;
const NODE_MIN_WIDTH: f64 = 132.0;
const NODE_MAX_WIDTH: f64 = 300.0;
const MARKER_WIDTH: f64 = 58.0;
const MARKER_HEIGHT: f64 = 24.0;
const NESTED_MARKER: f64 = 14.0;
const LABEL_HEIGHT: f64 = 18.0;
const LABEL_MAX_CHARS: usize = 40;
const RANK_GAP: f64 = 12.0;
const EMPTY_RANK: f64 = 8.0;
const NODE_GAP: f64 = 28.0;
const DUMMY_GAP: f64 = 10.0;
const DUMMY_WIDTH: f64 = 6.0;
const COMPOUND_HEADER: f64 = 38.0;
const COMPOUND_PAD: f64 = 12.0;
const GROUP_HEADER: f64 = 20.0;
const GROUP_PAD: f64 = 10.0;
const GROUP_GAP: f64 = 16.0;
const MARGIN: f64 = 16.0;
const SWEEPS: usize = 24;
const PLACEMENT_ROUNDS: usize = 8;

/// A laid-out state machine: everything in pixels, origin at the top left.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Layout {
    /// Total width.
    pub width: f64,
    /// Total height.
    pub height: f64,
    /// Every state, in every scope.
    pub nodes: Vec<Node>,
    /// The start and end marker of every scope.
    pub markers: Vec<Marker>,
    /// Parallel branches and Map processors, drawn as boxes inside their state.
    pub groups: Vec<Group>,
    /// Every transition.
    pub edges: Vec<Edge>,
}

/// One state. `x`, `y` are its top left corner.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// The state's name (unique in a definition).
    pub name: String,
    /// `Pass`, `Task`, `Choice`, ...
    #[serde(rename = "type")]
    pub state_type: &'static str,
    /// A short second line: the Task's resource, the Wait's duration, ...
    pub detail: Option<String>,
    /// The scope it belongs to.
    pub scope: u32,
    /// How many Parallel/Map states it is inside.
    pub depth: u32,
    /// A Parallel or Map: a box holding its branches or processor.
    pub compound: bool,
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Whether a marker starts or ends a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkerKind {
    /// Where the scope starts.
    Start,
    /// Where the scope ends.
    End,
}

/// The start or end of a scope.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    /// The id edges refer to, e.g. `__start_0`.
    pub id: String,
    /// Start or end.
    pub kind: MarkerKind,
    /// The scope.
    pub scope: u32,
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// What a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    /// One branch of a Parallel state.
    Branch,
    /// The item processor of a Map state.
    Processor,
}

/// A Parallel branch or a Map processor.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The scope it draws.
    pub scope: u32,
    /// The Parallel or Map state it belongs to.
    pub owner: String,
    /// Branch or processor.
    pub kind: GroupKind,
    /// `Branch 1`, `Item processor`.
    pub label: String,
    /// How many Parallel/Map states the group is inside (1 for a top-level Parallel's branch).
    pub depth: u32,
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// What a transition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// From a scope's start marker to its `StartAt`.
    Start,
    /// `Next`.
    Next,
    /// A Choice rule.
    Choice,
    /// A Choice's `Default`.
    Default,
    /// A `Catch`.
    Catch,
    /// From a terminal state to its scope's end marker.
    End,
}

/// One transition, as a polyline from `from` to `to`.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// A state name or a marker id.
    pub from: String,
    /// A state name or a marker id.
    pub to: String,
    /// What the transition is.
    pub kind: EdgeKind,
    /// The Choice rule, `Default`, or the errors a Catch handles (shortened).
    pub label: Option<String>,
    /// The label in full, when it was shortened.
    pub title: Option<String>,
    /// Goes back up (a loop).
    pub back: bool,
    /// The points it passes through, first at `from`, last at `to`.
    pub points: Vec<[f64; 2]>,
    /// The centre of the label.
    pub label_at: Option<[f64; 2]>,
    /// The label's width.
    pub label_w: f64,
}

/// Lays out a whole definition.
pub fn layout(definition: &Definition) -> Layout {
    let mut result = layout_scope(definition, Definition::ROOT, 0);
    result.translate(MARGIN, MARGIN);
    result.width += 2.0 * MARGIN;
    result.height += 2.0 * MARGIN;
    result
}

impl Layout {
    fn translate(&mut self, dx: f64, dy: f64) {
        for node in &mut self.nodes {
            node.x += dx;
            node.y += dy;
        }
        for marker in &mut self.markers {
            marker.x += dx;
            marker.y += dy;
        }
        for group in &mut self.groups {
            group.x += dx;
            group.y += dy;
        }
        for edge in &mut self.edges {
            for point in &mut edge.points {
                point[0] += dx;
                point[1] += dy;
            }
            if let Some(at) = &mut edge.label_at {
                at[0] += dx;
                at[1] += dy;
            }
        }
    }

    fn append(&mut self, other: Layout) {
        self.nodes.extend(other.nodes);
        self.markers.extend(other.markers);
        self.groups.extend(other.groups);
        self.edges.extend(other.edges);
    }

    /// A node by state name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.name == name)
    }
}

/// Estimated width of `text` at `font` pixels in a sans-serif face. Generous, so that names
/// fit in any of the usual fonts.
pub fn text_width(text: &str, font: f64) -> f64 {
    let units: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.32,
            'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '-' | '"' => 0.42,
            'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.9,
            c if c.is_ascii_uppercase() => 0.7,
            c if c.is_ascii() => 0.58,
            _ => 0.9,
        })
        .sum();
    units * font
}

/// Shortens `text` to at most `max` characters with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// The second line of a state's box.
fn detail(state: &State) -> Option<String> {
    match &state.kind {
        StateKind::Task(task) => Some(match &task.resource.kind {
            ResourceKind::Service { service, action } => format!("{service}:{action}"),
            ResourceKind::Activity => format!(
                "activity:{}",
                task.resource.arn.rsplit(':').next().unwrap_or_default()
            ),
            ResourceKind::LambdaFunction { name } => format!("lambda:{name}"),
            ResourceKind::Other => task.resource.arn.clone(),
        }),
        StateKind::Wait(wait) => Some(match &wait.until {
            WaitUntil::Seconds(aslan_asl::definition::Seconds::Fixed(seconds)) => {
                format!("{seconds} s")
            }
            WaitUntil::Seconds(_) => "seconds from input".into(),
            WaitUntil::Timestamp(_) | WaitUntil::TimestampPath(_) => "until a time".into(),
            WaitUntil::TimestampExpression(_) => "until a time".into(),
        }),
        StateKind::Map(map) => match map.mode {
            aslan_asl::definition::MapMode::Distributed => Some("distributed".into()),
            aslan_asl::definition::MapMode::Inline => None,
        },
        _ => None,
    }
    .map(|text| shorten(&text, 44))
}

fn operator(op: Comparison) -> &'static str {
    use Comparison::*;
    match op {
        StringEquals | NumericEquals | BooleanEquals | TimestampEquals => "==",
        StringLessThan | NumericLessThan | TimestampLessThan => "<",
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => ">",
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => "<=",
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => ">=",
        StringMatches => "matches",
        IsNull => "is null",
        IsPresent => "is present",
        IsNumeric => "is numeric",
        IsString => "is string",
        IsBoolean => "is boolean",
        IsTimestamp => "is timestamp",
    }
}

/// A Choice rule as a short expression: `$.mode == "fail"`, `not($.x is null)`, ...
pub fn rule_label(rule: &ChoiceRule) -> String {
    match rule {
        ChoiceRule::And(rules) => rules
            .iter()
            .map(nested_label)
            .collect::<Vec<_>>()
            .join(" and "),
        ChoiceRule::Or(rules) => rules
            .iter()
            .map(nested_label)
            .collect::<Vec<_>>()
            .join(" or "),
        ChoiceRule::Not(rule) => format!("not {}", nested_label(rule)),
        ChoiceRule::Compare {
            variable,
            op,
            operand,
        } => {
            let operand_text = match operand {
                Operand::Literal(value) => value.to_string(),
                Operand::Timestamp(timestamp) => timestamp.to_string(),
                Operand::Path(path) => path.source().to_owned(),
            };
            if op.is_type_test() {
                if matches!(operand, Operand::Literal(serde_json::Value::Bool(false))) {
                    format!("{} not {}", variable.source(), &operator(*op)[3..])
                } else {
                    format!("{} {}", variable.source(), operator(*op))
                }
            } else {
                format!("{} {} {operand_text}", variable.source(), operator(*op))
            }
        }
        ChoiceRule::Condition(template) => match template {
            Template::Expression(expression) => format!("{{% {} %}}", expression.source()),
            Template::Const(value) => value.to_string(),
            _ => "condition".into(),
        },
    }
}

fn nested_label(rule: &ChoiceRule) -> String {
    match rule {
        ChoiceRule::And(_) | ChoiceRule::Or(_) => format!("({})", rule_label(rule)),
        _ => rule_label(rule),
    }
}

fn catch_label(catcher: &Catcher) -> String {
    catcher.errors.names.join(", ")
}

/// A vertex of one scope's graph: a state, a marker, or a dummy on a long edge.
#[derive(Debug, Clone)]
enum Vertex {
    Start,
    End,
    State(StateId),
    Dummy { edge: usize },
}

#[derive(Debug, Clone)]
struct ScopeEdge {
    from: usize,
    to: usize,
    kind: EdgeKind,
    label: Option<String>,
}

/// One scope's vertices (with sizes) and edges, before layering.
struct ScopeGraph {
    vertices: Vec<Vertex>,
    sizes: Vec<(f64, f64)>,
    edges: Vec<ScopeEdge>,
    /// The inner layouts of Parallel and Map states, by vertex.
    inner: HashMap<usize, Layout>,
}

fn build_graph(definition: &Definition, scope_id: ScopeId, depth: u32) -> ScopeGraph {
    let scope = definition.scope(scope_id);
    let nested = scope_id != Definition::ROOT;
    let marker = if nested {
        (NESTED_MARKER, NESTED_MARKER)
    } else {
        (MARKER_WIDTH, MARKER_HEIGHT)
    };
    let mut vertices = vec![Vertex::Start, Vertex::End];
    let mut sizes = vec![marker, marker];
    let mut index = HashMap::new();
    let mut inner = HashMap::new();
    for &id in &scope.states {
        let state = definition.state(id);
        let vertex = vertices.len();
        index.insert(id, vertex);
        vertices.push(Vertex::State(id));
        match &state.kind {
            StateKind::Parallel(_) | StateKind::Map(_) => {
                let content = layout_compound(definition, id, depth + 1);
                sizes.push((content.width, content.height));
                inner.insert(vertex, content);
            }
            _ => {
                let name_width = text_width(&state.name, NAME_FONT) + 36.0;
                let detail_width = detail(state)
                    .map(|d| text_width(&d, SMALL_FONT) + text_width("Task · ", SMALL_FONT) + 36.0)
                    .unwrap_or(0.0);
                let width = name_width
                    .max(detail_width)
                    .clamp(NODE_MIN_WIDTH, NODE_MAX_WIDTH);
                sizes.push((width.round(), NODE_HEIGHT));
            }
        }
    }
    let mut edges = Vec::new();
    let push = |edges: &mut Vec<ScopeEdge>, from, to, kind, label| {
        edges.push(ScopeEdge {
            from,
            to,
            kind,
            label,
        });
    };
    if let Some(&first) = index.get(&scope.start_at) {
        push(&mut edges, 0, first, EdgeKind::Start, None);
    }
    for &id in &scope.states {
        let state = definition.state(id);
        let from = index[&id];
        let catchers: &[Catcher] = match &state.kind {
            StateKind::Task(task) => &task.catch,
            StateKind::Parallel(parallel) => &parallel.catch,
            StateKind::Map(map) => &map.catch,
            _ => &[],
        };
        match &state.kind {
            StateKind::Choice(choice) => {
                for branch in &choice.choices {
                    if let Some(&to) = index.get(&branch.next) {
                        let label = rule_label(&branch.rule);
                        push(&mut edges, from, to, EdgeKind::Choice, Some(label));
                    }
                }
                if let Some(&to) = choice.default.as_ref().and_then(|d| index.get(d)) {
                    push(
                        &mut edges,
                        from,
                        to,
                        EdgeKind::Default,
                        Some("Default".into()),
                    );
                }
            }
            StateKind::Succeed | StateKind::Fail(_) => {
                push(&mut edges, from, 1, EdgeKind::End, None);
            }
            _ => match state.transition {
                Transition::Next(next) => {
                    if let Some(&to) = index.get(&next) {
                        push(&mut edges, from, to, EdgeKind::Next, None);
                    }
                }
                Transition::End => push(&mut edges, from, 1, EdgeKind::End, None),
            },
        }
        for catcher in catchers {
            if let Some(&to) = index.get(&catcher.next) {
                push(
                    &mut edges,
                    from,
                    to,
                    EdgeKind::Catch,
                    Some(catch_label(catcher)),
                );
            }
        }
    }
    ScopeGraph {
        vertices,
        sizes,
        edges,
        inner,
    }
}

/// The content of a Parallel or Map state: a header, then its branches side by side (or its
/// processor), each in a group box. The size is the state's box.
fn layout_compound(definition: &Definition, id: StateId, depth: u32) -> Layout {
    let state = definition.state(id);
    let (scopes, kind): (Vec<ScopeId>, GroupKind) = match &state.kind {
        StateKind::Parallel(parallel) => (parallel.branches.clone(), GroupKind::Branch),
        StateKind::Map(map) => (vec![map.processor], GroupKind::Processor),
        _ => (Vec::new(), GroupKind::Branch),
    };
    let mut result = Layout::default();
    let mut x = COMPOUND_PAD;
    let top = COMPOUND_HEADER;
    let mut inner_height: f64 = 0.0;
    let mut parts = Vec::new();
    for (i, &scope) in scopes.iter().enumerate() {
        let content = layout_scope(definition, scope, depth);
        let w = content.width + 2.0 * GROUP_PAD;
        let h = content.height + GROUP_HEADER + GROUP_PAD;
        inner_height = inner_height.max(h);
        let label = match kind {
            GroupKind::Branch => format!("Branch {}", i + 1),
            GroupKind::Processor => "Item processor".to_owned(),
        };
        parts.push((content, x, w, label, scope));
        x += w + GROUP_GAP;
    }
    let header_width = text_width(&state.name, NAME_FONT) + 2.0 * COMPOUND_PAD + 80.0;
    let content_width = (x - GROUP_GAP + COMPOUND_PAD).max(header_width);
    // Centre the groups when the header is wider than they are.
    let shift = (content_width - (x - GROUP_GAP + COMPOUND_PAD)) / 2.0;
    for (mut content, left, w, label, scope) in parts {
        let h = inner_height;
        // Each group is as tall as the tallest; its content sits at the top.
        let dx = left + shift + (w - content.width) / 2.0;
        content.translate(dx, top + GROUP_HEADER);
        result.groups.push(Group {
            scope: scope.0,
            owner: state.name.clone(),
            kind,
            label,
            depth,
            x: left + shift,
            y: top,
            w,
            h,
        });
        let Layout {
            nodes,
            markers,
            groups,
            edges,
            ..
        } = content;
        result.nodes.extend(nodes);
        result.markers.extend(markers);
        result.groups.extend(groups);
        result.edges.extend(edges);
    }
    result.width = content_width.round();
    result.height = (top + inner_height + COMPOUND_PAD).round();
    result
}

/// Lays out one scope; the result's origin is its top left corner.
fn layout_scope(definition: &Definition, scope_id: ScopeId, depth: u32) -> Layout {
    let mut graph = build_graph(definition, scope_id, depth);
    let n_real = graph.vertices.len();

    // 1. Back edges: a depth-first walk from the start that follows edges to states in the
    // order they are written in the definition, which is usually the order they run in. So a
    // loop's edge back to an earlier state is the one reversed, as a reader expects.
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n_real];
    for (i, edge) in graph.edges.iter().enumerate() {
        outgoing[edge.from].push(i);
    }
    for edges in &mut outgoing {
        // Vertex 1 is the end marker: last.
        edges.sort_by_key(|&i| {
            let to = graph.edges[i].to;
            (to == 1, to)
        });
    }
    let mut back = vec![false; graph.edges.len()];
    let mut preorder = vec![usize::MAX; n_real];
    {
        let mut on_stack = vec![false; n_real];
        let mut visited = vec![false; n_real];
        let mut counter = 0;
        let mut roots: Vec<usize> = vec![0];
        roots.extend(2..n_real);
        roots.push(1);
        for root in roots {
            if visited[root] {
                continue;
            }
            // Iterative DFS: (vertex, next outgoing edge index).
            let mut stack = vec![(root, 0usize)];
            visited[root] = true;
            on_stack[root] = true;
            preorder[root] = counter;
            counter += 1;
            while let Some((vertex, next)) = stack.last_mut() {
                let vertex = *vertex;
                if *next < outgoing[vertex].len() {
                    let edge = outgoing[vertex][*next];
                    *next += 1;
                    let to = graph.edges[edge].to;
                    if on_stack[to] {
                        back[edge] = true;
                    } else if !visited[to] {
                        visited[to] = true;
                        on_stack[to] = true;
                        preorder[to] = counter;
                        counter += 1;
                        stack.push((to, 0));
                    }
                } else {
                    on_stack[vertex] = false;
                    stack.pop();
                }
            }
        }
    }

    // 2. Ranks: longest path over the edges with back edges reversed, doubled.
    let mut level = vec![0usize; n_real];
    {
        let mut indegree = vec![0usize; n_real];
        let mut forward: Vec<Vec<usize>> = vec![Vec::new(); n_real];
        for (i, edge) in graph.edges.iter().enumerate() {
            if edge.from == edge.to {
                continue;
            }
            let (a, b) = if back[i] {
                (edge.to, edge.from)
            } else {
                (edge.from, edge.to)
            };
            forward[a].push(b);
            indegree[b] += 1;
        }
        let mut ready: Vec<usize> = (0..n_real).filter(|&v| indegree[v] == 0).collect();
        while let Some(v) = ready.pop() {
            for &w in &forward[v] {
                level[w] = level[w].max(level[v] + 1);
                indegree[w] -= 1;
                if indegree[w] == 0 {
                    ready.push(w);
                }
            }
        }
        // The end marker sits below everything.
        let deepest = (2..n_real).map(|v| level[v]).max().unwrap_or(0);
        level[1] = deepest + 1;
        level[0] = 0;
    }
    let mut rank: Vec<usize> = level.iter().map(|l| l * 2).collect();

    // 3. Dummies: every edge becomes a chain top to bottom; the chain's first dummy after the
    // edge's source carries the label.
    struct Chain {
        vertices: Vec<usize>,
        label_vertex: Option<usize>,
    }
    let mut chains = Vec::with_capacity(graph.edges.len());
    let edges = graph.edges.clone();
    for (i, edge) in edges.into_iter().enumerate() {
        if edge.from == edge.to {
            chains.push(Chain {
                vertices: vec![edge.from],
                label_vertex: None,
            });
            continue;
        }
        let (top, bottom) = if back[i] {
            (edge.to, edge.from)
        } else {
            (edge.from, edge.to)
        };
        let mut vertices = vec![top];
        let mut label_vertex = None;
        let label_size = edge.label.as_ref().map(|label| {
            let shown = shorten(label, LABEL_MAX_CHARS);
            (text_width(&shown, SMALL_FONT) + 12.0, LABEL_HEIGHT)
        });
        let label_rank = if back[i] {
            rank[bottom].saturating_sub(1)
        } else {
            rank[top] + 1
        };
        for r in rank[top] + 1..rank[bottom] {
            let dummy = graph.vertices.len();
            graph.vertices.push(Vertex::Dummy { edge: i });
            rank.push(r);
            let size = match label_size {
                Some(size) if r == label_rank => {
                    label_vertex = Some(dummy);
                    size
                }
                _ => (DUMMY_WIDTH, 0.0),
            };
            graph.sizes.push(size);
            vertices.push(dummy);
        }
        vertices.push(bottom);
        chains.push(Chain {
            vertices,
            label_vertex,
        });
    }
    let n = graph.vertices.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    for chain in &chains {
        for pair in chain.vertices.windows(2) {
            down[pair[0]].push(pair[1]);
            up[pair[1]].push(pair[0]);
        }
    }
    let is_dummy = |v: usize| v >= n_real;

    // 4. Order within ranks: start from the depth-first order, then barycenter sweeps.
    let ranks = rank.iter().copied().max().unwrap_or(0) + 1;
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); ranks];
    let mut key: Vec<f64> = vec![0.0; n];
    for v in 0..n {
        key[v] = if v < n_real {
            preorder[v] as f64
        } else {
            f64::MAX
        };
    }
    for v in 0..n {
        layers[rank[v]].push(v);
    }
    let mut position = vec![0usize; n];
    // Initial order: real vertices by preorder; each layer's dummies after their upper
    // neighbour's place.
    for (r, layer) in layers.iter_mut().enumerate() {
        let keys: Vec<f64> = layer
            .iter()
            .map(|&v| {
                if is_dummy(v) {
                    up[v]
                        .first()
                        .map(|&u| position[u] as f64 + 0.5)
                        .unwrap_or(0.0)
                } else if r > 0 && !up[v].is_empty() {
                    let sum: f64 = up[v].iter().map(|&u| position[u] as f64).sum();
                    sum / up[v].len() as f64 + key[v] * 1e-6
                } else {
                    key[v]
                }
            })
            .collect();
        sort_layer(layer, &keys);
        for (i, &v) in layer.iter().enumerate() {
            position[v] = i;
        }
    }
    let mut best = layers.clone();
    let mut best_crossings = count_crossings(&layers, &down, &position);
    for sweep in 0..SWEEPS {
        if best_crossings == 0 {
            break;
        }
        let downward = sweep % 2 == 0;
        let order: Vec<usize> = if downward {
            (1..ranks).collect()
        } else {
            (0..ranks.saturating_sub(1)).rev().collect()
        };
        for r in order {
            let neighbours = if downward { &up } else { &down };
            let keys: Vec<f64> = layers[r]
                .iter()
                .map(|&v| {
                    let adjacent = &neighbours[v];
                    if adjacent.is_empty() {
                        position[v] as f64
                    } else {
                        adjacent.iter().map(|&u| position[u] as f64).sum::<f64>()
                            / adjacent.len() as f64
                    }
                })
                .collect();
            sort_layer(&mut layers[r], &keys);
            for (i, &v) in layers[r].iter().enumerate() {
                position[v] = i;
            }
        }
        let crossings = count_crossings(&layers, &down, &position);
        if crossings < best_crossings {
            best_crossings = crossings;
            best = layers.clone();
        }
    }
    let layers = best;
    for layer in &layers {
        for (i, &v) in layer.iter().enumerate() {
            position[v] = i;
        }
    }

    // 5. x: each rank as close to its neighbours' mean as the order and spacing allow.
    let mut x = vec![0.0f64; n];
    for layer in &layers {
        let mut left = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                left += separation(&graph.sizes, layer[i - 1], v, is_dummy);
            }
            x[v] = left;
        }
        let middle = left / 2.0;
        for &v in layer {
            x[v] -= middle;
        }
    }
    let weight = |a: usize, b: usize| {
        if is_dummy(a) && is_dummy(b) { 4.0 } else { 1.0 }
    };
    for round in 0..PLACEMENT_ROUNDS * 2 + 1 {
        let last = round == PLACEMENT_ROUNDS * 2;
        let downward = round % 2 == 0;
        let order: Vec<usize> = if last || downward {
            (0..ranks).collect()
        } else {
            (0..ranks).rev().collect()
        };
        for r in order {
            let layer = &layers[r];
            let targets: Vec<f64> = layer
                .iter()
                .map(|&v| {
                    let mut sum = 0.0;
                    let mut total = 0.0;
                    let mut add = |u: usize| {
                        let w = weight(u, v);
                        sum += w * x[u];
                        total += w;
                    };
                    if last || downward {
                        up[v].iter().for_each(|&u| add(u));
                    }
                    if last || !downward {
                        down[v].iter().for_each(|&u| add(u));
                    }
                    if total == 0.0 { x[v] } else { sum / total }
                })
                .collect();
            let placed = place_layer(layer, &targets, &graph.sizes, is_dummy);
            for (&v, value) in layer.iter().zip(placed) {
                x[v] = value;
            }
        }
    }

    // 6. y: ranks stacked, each as tall as its tallest vertex, vertices centred in it.
    let mut rank_height = vec![0.0f64; ranks];
    for v in 0..n {
        rank_height[rank[v]] = rank_height[rank[v]].max(graph.sizes[v].1);
    }
    let mut rank_top = vec![0.0f64; ranks];
    let mut cursor = 0.0;
    for r in 0..ranks {
        if rank_height[r] == 0.0 {
            rank_height[r] = EMPTY_RANK;
        }
        rank_top[r] = cursor;
        cursor += rank_height[r] + RANK_GAP;
    }
    let total_height = (cursor - RANK_GAP).max(0.0);
    let y = |v: usize| rank_top[rank[v]] + rank_height[rank[v]] / 2.0;
    let min_left = (0..n)
        .map(|v| x[v] - graph.sizes[v].0 / 2.0)
        .fold(f64::INFINITY, f64::min);
    let max_right = (0..n)
        .map(|v| x[v] + graph.sizes[v].0 / 2.0)
        .fold(f64::NEG_INFINITY, f64::max);
    // Room on the right for loops drawn beside their nodes.
    let loop_room = if back.iter().any(|&b| b) { 24.0 } else { 0.0 };
    for value in &mut x {
        *value -= min_left;
    }

    // 7. Emit geometry.
    let mut result = Layout {
        width: (max_right - min_left + loop_room).round(),
        height: total_height.round(),
        ..Layout::default()
    };
    let id_of = |v: usize| -> String {
        match &graph.vertices[v] {
            Vertex::Start => format!("__start_{}", scope_id.0),
            Vertex::End => format!("__end_{}", scope_id.0),
            Vertex::State(id) => definition.state(*id).name.clone(),
            Vertex::Dummy { edge } => format!("__dummy_{edge}"),
        }
    };
    let rect = |v: usize| {
        let (w, h) = graph.sizes[v];
        (x[v] - w / 2.0, y(v) - h / 2.0, w, h)
    };
    for v in 0..n_real {
        let (left, top, w, h) = rect(v);
        match &graph.vertices[v] {
            Vertex::Start | Vertex::End => result.markers.push(Marker {
                id: id_of(v),
                kind: if v == 0 {
                    MarkerKind::Start
                } else {
                    MarkerKind::End
                },
                scope: scope_id.0,
                x: left,
                y: top,
                w,
                h,
            }),
            Vertex::State(id) => {
                let state = definition.state(*id);
                let compound = graph.inner.contains_key(&v);
                result.nodes.push(Node {
                    name: state.name.clone(),
                    state_type: state.kind.type_name(),
                    detail: detail(state),
                    scope: scope_id.0,
                    depth,
                    compound,
                    x: left,
                    y: top,
                    w,
                    h,
                });
            }
            Vertex::Dummy { .. } => {}
        }
    }
    for (i, chain) in chains.iter().enumerate() {
        let edge = &graph.edges[i];
        let label_at = chain.label_vertex.map(|v| [x[v], y(v)]);
        let label_w = chain.label_vertex.map(|v| graph.sizes[v].0).unwrap_or(0.0);
        let mut points = Vec::new();
        if edge.from == edge.to {
            let (left, top, w, h) = rect(edge.from);
            points.push([left + w, top + h * 0.3]);
            points.push([left + w, top + h * 0.7]);
        } else if back[i] {
            // Drawn from the source's right side, up through the dummies, into the target's
            // right side.
            let (left, top, w, h) = rect(edge.from);
            points.push([left + w, top + h / 2.0]);
            for &v in chain.vertices[1..chain.vertices.len() - 1].iter().rev() {
                points.push([x[v], y(v)]);
            }
            let (left, top, w, h) = rect(edge.to);
            points.push([left + w, top + h / 2.0]);
        } else {
            let (left, top, w, h) = rect(edge.from);
            points.push([left + w / 2.0, top + h]);
            for &v in &chain.vertices[1..chain.vertices.len() - 1] {
                points.push([x[v], y(v)]);
            }
            let (left, top, w, _) = rect(edge.to);
            points.push([left + w / 2.0, top]);
        }
        let (label, title) = match &edge.label {
            Some(full) => {
                let shown = shorten(full, LABEL_MAX_CHARS);
                let title = (shown != *full).then(|| full.clone());
                (Some(shown), title)
            }
            None => (None, None),
        };
        result.edges.push(Edge {
            from: id_of(edge.from),
            to: id_of(edge.to),
            kind: edge.kind,
            label,
            title,
            back: back[i] || edge.from == edge.to,
            points,
            label_at,
            label_w,
        });
    }
    // Compound states: their content, moved into their box.
    for (v, mut content) in std::mem::take(&mut graph.inner) {
        let (left, top, _, _) = rect(v);
        content.translate(left, top);
        result.append(content);
    }
    result
}

fn sort_layer(layer: &mut [usize], keys: &[f64]) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (&v, &k))| (k, i, v))
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (slot, (_, _, v)) in layer.iter_mut().zip(keyed) {
        *slot = v;
    }
}

/// Edge crossings between every pair of adjacent ranks.
fn count_crossings(layers: &[Vec<usize>], down: &[Vec<usize>], position: &[usize]) -> usize {
    let mut total = 0;
    for layer in layers {
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for &v in layer {
            for &w in &down[v] {
                pairs.push((position[v], position[w]));
            }
        }
        pairs.sort_unstable();
        for i in 0..pairs.len() {
            for j in i + 1..pairs.len() {
                if pairs[i].0 < pairs[j].0 && pairs[i].1 > pairs[j].1 {
                    total += 1;
                }
            }
        }
    }
    total
}

fn separation(sizes: &[(f64, f64)], a: usize, b: usize, is_dummy: impl Fn(usize) -> bool) -> f64 {
    let gap = match (is_dummy(a), is_dummy(b)) {
        (false, false) => NODE_GAP,
        (true, true) => DUMMY_GAP,
        _ => (NODE_GAP + DUMMY_GAP) / 2.0,
    };
    (sizes[a].0 + sizes[b].0) / 2.0 + gap
}

/// Positions for one rank's vertices, in order, as close as possible (least squares) to
/// `targets` while keeping each at least its separation right of the previous one. With
/// `q_i = x_i - offset_i` the constraint is `q` non-decreasing: pool adjacent violators.
fn place_layer(
    layer: &[usize],
    targets: &[f64],
    sizes: &[(f64, f64)],
    is_dummy: impl Fn(usize) -> bool + Copy,
) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(layer.len());
    let mut offset = 0.0;
    for (i, &v) in layer.iter().enumerate() {
        if i > 0 {
            offset += separation(sizes, layer[i - 1], v, is_dummy);
        }
        offsets.push(offset);
    }
    // Blocks of (mean, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for (i, &target) in targets.iter().enumerate() {
        blocks.push((target - offsets[i], 1.0, 1));
        while blocks.len() > 1 {
            let (m2, w2, c2) = blocks[blocks.len() - 1];
            let (m1, w1, c1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.pop();
            let merged = ((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2);
            *blocks.last_mut().expect("two blocks") = merged;
        }
    }
    let mut placed = Vec::with_capacity(layer.len());
    for (mean, _, count) in blocks {
        for _ in 0..count {
            placed.push(mean + offsets[placed.len()]);
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use aslan_asl::{LoadOptions, parse};

    fn definition(text: &str) -> Definition {
        let parsed = parse(text, LoadOptions::default());
        assert!(!parsed.diagnostics.has_errors(), "{:?}", parsed.diagnostics);
        parsed.definition.expect("definition")
    }

    const DEMO: &str = r#"{
      "StartAt": "Validate",
      "States": {
        "Validate": {"Type": "Pass", "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$.mode", "StringEquals": "fail", "Next": "Reject"},
            {"Not": {"Variable": "$.n", "IsPresent": true}, "Next": "Fanout"}
          ], "Default": "Fanout"},
        "Fanout": {"Type": "Parallel", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
            {"StartAt": "Charge", "States": {
                "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}], "End": true},
                "Recover": {"Type": "Pass", "End": true}}}
          ], "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$[0].items", "ItemProcessor": {"StartAt": "Item",
            "States": {"Item": {"Type": "Pass", "End": true}}}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Reject": {"Type": "Fail", "Error": "Rejected", "Cause": "mode was fail"}
      }
    }"#;

    type Rect = (f64, f64, f64, f64);

    fn overlaps(a: Rect, b: Rect) -> bool {
        a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
    }

    /// No two boxes of the same scope overlap, and every box of a scope lies inside its group.
    fn check_geometry(layout: &Layout) {
        let mut boxes: Vec<(u32, String, Rect)> = Vec::new();
        for node in &layout.nodes {
            boxes.push((
                node.scope,
                node.name.clone(),
                (node.x, node.y, node.w, node.h),
            ));
        }
        for marker in &layout.markers {
            boxes.push((
                marker.scope,
                marker.id.clone(),
                (marker.x, marker.y, marker.w, marker.h),
            ));
        }
        for (i, a) in boxes.iter().enumerate() {
            assert!(a.2.0 >= 0.0 && a.2.1 >= 0.0, "{} is off the canvas", a.1);
            assert!(
                a.2.0 + a.2.2 <= layout.width + 0.5 && a.2.1 + a.2.3 <= layout.height + 0.5,
                "{} is off the canvas",
                a.1
            );
            for b in &boxes[i + 1..] {
                if a.0 == b.0 {
                    assert!(!overlaps(a.2, b.2), "{} overlaps {}", a.1, b.1);
                }
            }
        }
        for group in &layout.groups {
            let owner = layout.node(&group.owner).expect("owner");
            let inside = |r: Rect, outer: Rect| {
                r.0 >= outer.0 - 0.5
                    && r.1 >= outer.1 - 0.5
                    && r.0 + r.2 <= outer.0 + outer.2 + 0.5
                    && r.1 + r.3 <= outer.1 + outer.3 + 0.5
            };
            let group_box = (group.x, group.y, group.w, group.h);
            assert!(
                inside(group_box, (owner.x, owner.y, owner.w, owner.h)),
                "group of {} sticks out of it",
                group.owner
            );
            for (scope, name, rect) in &boxes {
                if *scope == group.scope {
                    assert!(inside(*rect, group_box), "{name} sticks out of its group");
                }
            }
        }
    }

    #[test]
    fn every_state_edge_group_and_marker_is_laid_out() {
        let layout = layout(&definition(DEMO));
        let names: Vec<&str> = layout.nodes.iter().map(|n| n.name.as_str()).collect();
        for name in [
            "Validate", "Route", "Fanout", "Left", "Charge", "Recover", "Each", "Item", "Done",
            "Reject",
        ] {
            assert!(names.contains(&name), "{name} missing");
        }
        let edge = |from: &str, to: &str| {
            layout
                .edges
                .iter()
                .find(|e| e.from == from && e.to == to)
                .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
        };
        assert_eq!(edge("__start_0", "Validate").kind, EdgeKind::Start);
        assert_eq!(edge("Validate", "Route").kind, EdgeKind::Next);
        let rule = edge("Route", "Reject");
        assert_eq!(rule.kind, EdgeKind::Choice);
        assert_eq!(rule.label.as_deref(), Some("$.mode == \"fail\""));
        assert!(layout.edges.iter().any(|e| e.from == "Route"
            && e.to == "Fanout"
            && e.label.as_deref() == Some("not $.n is present")));
        assert_eq!(edge("Route", "Fanout").kind, EdgeKind::Choice);
        assert!(
            layout
                .edges
                .iter()
                .any(|e| e.kind == EdgeKind::Default && e.to == "Fanout")
        );
        let catch = edge("Charge", "Recover");
        assert_eq!(catch.kind, EdgeKind::Catch);
        assert_eq!(catch.label.as_deref(), Some("States.ALL"));
        assert_eq!(edge("Done", "__end_0").kind, EdgeKind::End);
        assert_eq!(edge("Reject", "__end_0").kind, EdgeKind::End);
        assert_eq!(edge("Fanout", "Each").kind, EdgeKind::Next);
        assert_eq!(layout.groups.len(), 3);
        assert_eq!(layout.markers.len(), 8);
        for edge in &layout.edges {
            assert!(edge.points.len() >= 2);
            if edge.label.is_some() {
                assert!(edge.label_at.is_some());
            }
        }
        let charge = layout.node("Charge").expect("Charge");
        assert_eq!(charge.detail.as_deref(), Some("lambda:invoke"));
        assert_eq!(charge.depth, 1);
        assert!(layout.node("Fanout").expect("Fanout").compound);
        check_geometry(&layout);
        // Top to bottom: every forward edge ends below where it starts.
        for edge in layout.edges.iter().filter(|e| !e.back) {
            let first = edge.points[0];
            let last = edge.points[edge.points.len() - 1];
            assert!(last[1] > first[1], "{} -> {} goes up", edge.from, edge.to);
        }
    }

    #[test]
    fn loops_are_back_edges_and_labels_do_not_overlap() {
        let layout = layout(&definition(
            r#"{"StartAt": "Wait", "States": {
                "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Check"},
                "Check": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:poll", "Next": "Done?"},
                "Done?": {"Type": "Choice", "Choices": [
                    {"Variable": "$.status", "StringEquals": "RUNNING", "Next": "Wait"},
                    {"Variable": "$.status", "StringEquals": "FAILED", "Next": "Failed"},
                    {"And": [{"Variable": "$.n", "NumericGreaterThan": 3},
                             {"Variable": "$.n", "NumericLessThanEquals": 10}], "Next": "Finish"}],
                  "Default": "Finish"},
                "Failed": {"Type": "Fail"},
                "Finish": {"Type": "Succeed"}}}"#,
        ));
        check_geometry(&layout);
        let back: Vec<_> = layout.edges.iter().filter(|e| e.back).collect();
        assert_eq!(back.len(), 1);
        assert_eq!(
            (back[0].from.as_str(), back[0].to.as_str()),
            ("Done?", "Wait")
        );
        assert_eq!(
            layout.node("Wait").expect("Wait").detail.as_deref(),
            Some("5 s")
        );
        assert_eq!(
            layout.node("Check").expect("Check").detail.as_deref(),
            Some("activity:poll")
        );
        let labels: Vec<(f64, f64, f64)> = layout
            .edges
            .iter()
            .filter_map(|e| e.label_at.map(|at| (at[0], at[1], e.label_w)))
            .collect();
        assert_eq!(labels.len(), 4);
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                let apart = (a.0 - b.0).abs() >= (a.2 + b.2) / 2.0 || (a.1 - b.1).abs() >= 18.0;
                assert!(apart, "labels at {a:?} and {b:?} overlap");
            }
        }
        assert!(
            layout
                .edges
                .iter()
                .any(|e| e.label.as_deref() == Some("($.n > 3 and $.n <= 10)")
                    || e.label.as_deref() == Some("$.n > 3 and $.n <= 10"))
        );
    }

    #[test]
    fn nested_maps_and_parallels_contain_their_children() {
        let layout = layout(&definition(
            r#"{"StartAt": "Outer", "States": {
                "Outer": {"Type": "Map", "ItemProcessor": {"StartAt": "Inner", "States": {
                    "Inner": {"Type": "Parallel", "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": true}}},
                        {"StartAt": "C", "States": {"C": {"Type": "Map", "ItemProcessor": {"StartAt": "D",
                            "States": {"D": {"Type": "Pass", "End": true}}}, "End": true}}}
                    ], "End": true}}}, "End": true}}}"#,
        ));
        check_geometry(&layout);
        assert_eq!(layout.node("D").expect("D").depth, 3);
        assert_eq!(layout.groups.len(), 4);
        // A group lies inside its owner, and the owner inside the group of its own scope.
        let inner = layout.node("Inner").expect("Inner");
        let outer = layout.node("Outer").expect("Outer");
        assert!(inner.x > outer.x && inner.y > outer.y);
        assert!(inner.x + inner.w < outer.x + outer.w && inner.y + inner.h < outer.y + outer.h);
    }

    #[test]
    fn a_large_definition_lays_out() {
        // 240 states: a chain with a Choice every fifth state that skips ahead or loops back,
        // and a Catch on every seventh.
        let mut states = serde_json::Map::new();
        let n = 240;
        for i in 0..n {
            let name = format!("Step{i:03}");
            let next = format!("Step{:03}", i + 1);
            let state = if i == n - 1 {
                serde_json::json!({"Type": "Succeed"})
            } else if i % 5 == 4 {
                let skip = format!("Step{:03}", (i + 3).min(n - 1));
                let back = format!("Step{:03}", i - 3);
                serde_json::json!({"Type": "Choice", "Choices": [
                    {"Variable": "$.skip", "BooleanEquals": true, "Next": skip},
                    {"Variable": "$.again", "BooleanEquals": true, "Next": back}],
                  "Default": next})
            } else if i % 7 == 0 {
                serde_json::json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": format!("Step{:03}", n - 1)}],
                    "Next": next})
            } else {
                serde_json::json!({"Type": "Pass", "Next": next})
            };
            states.insert(name, state);
        }
        let text = serde_json::json!({"StartAt": "Step000", "States": states}).to_string();
        let layout = layout(&definition(&text));
        assert_eq!(layout.nodes.len(), n);
        check_geometry(&layout);
        assert!(layout.edges.iter().filter(|e| e.back).count() >= 40);
    }
}
