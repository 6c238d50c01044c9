//! Draws a [`Layout`] as SVG.
//!
//! The drawing carries what the console's script needs to bring it to life: every state is a
//! `<g class="g-node" data-state="NAME">`, every transition a `<g class="g-edge"
//! data-from="A" data-to="B">`, so that an execution's outcome can colour them by class. The
//! embedded style makes the file stand alone (`GET /console/api/graph.svg`).

use std::fmt::Write;

use crate::layout::{
    Edge, EdgeKind, Layout, MarkerKind, NAME_FONT, Node, SMALL_FONT, shorten, text_width,
};

/// The style of a standalone drawing. The console page adds the execution colours.
const STYLE: &str = r#"
.g-root { font-family: "Inter", "Segoe UI", "Liberation Sans", "DejaVu Sans", Arial, sans-serif; }
.g-node > rect.g-box { fill: #ffffff; stroke: #b4bcc7; stroke-width: 1; }
.g-node > rect.g-accent { stroke: none; }
.g-node .g-name { font-size: 13px; font-weight: 600; fill: #16191f; }
.g-node .g-type { font-size: 11px; fill: #5f6b7a; }
.g-compound > rect.g-box { fill: #f6f7f9; stroke: #b4bcc7; stroke-width: 1; }
.g-group > rect { fill: #ffffff; fill-opacity: 0.7; stroke: #aab3bf; stroke-dasharray: 4 3; }
.g-group > text { font-size: 11px; fill: #5f6b7a; font-weight: 500; }
.g-edge > path { fill: none; stroke: #8c96a3; stroke-width: 1.4; marker-end: url(#g-arrow); }
.g-edge.kind-catch > path { stroke: #c9711a; stroke-dasharray: 5 3; marker-end: url(#g-arrow-catch); }
.g-edge.back > path { stroke-dasharray: 2 3; }
.g-label > rect { fill: #ffffff; stroke: #dde1e6; }
.g-label > text { font-size: 11px; fill: #414d5c; }
.g-edge.kind-default .g-label > text { font-style: italic; }
.g-edge.kind-catch .g-label > text { fill: #9a4f05; }
.g-marker > rect { fill: #414d5c; }
.g-marker > text { font-size: 11px; font-weight: 600; fill: #ffffff; letter-spacing: 0.02em; }
.g-marker > circle { fill: #414d5c; stroke: #414d5c; }
.g-marker.end > circle.g-ring { fill: #ffffff; stroke: #414d5c; stroke-width: 1.5; }
"#;

/// Accent colour of each state type (the bar on a box's left edge).
fn accent(state_type: &str) -> &'static str {
    match state_type {
        "Task" => "#0972d3",
        "Choice" => "#8a6d00",
        "Parallel" | "Map" => "#6b40c4",
        "Wait" => "#00819c",
        "Succeed" => "#037f0c",
        "Fail" => "#d91515",
        _ => "#7d8998",
    }
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `text` until it fits `width` pixels at `font`.
fn fit(text: &str, width: f64, font: f64) -> String {
    if text_width(text, font) <= width {
        return text.to_owned();
    }
    let mut chars = text.chars().count();
    while chars > 1 {
        chars -= 1;
        let candidate = shorten(text, chars);
        if text_width(&candidate, font) <= width {
            return candidate;
        }
    }
    "…".to_owned()
}

fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// The SVG path of an edge through its points: vertical S-curves top to bottom, and loops
/// that leave and enter on the right.
pub fn edge_path(edge: &Edge) -> String {
    let p = &edge.points;
    let mut d = String::new();
    let pt = |point: [f64; 2]| format!("{} {}", number(point[0]), number(point[1]));
    let _ = write!(d, "M{}", pt(p[0]));
    if edge.from == edge.to {
        let reach = 34.0;
        let _ = write!(
            d,
            " C{} {} {}",
            pt([p[0][0] + reach, p[0][1] - 6.0]),
            pt([p[1][0] + reach, p[1][1] + 6.0]),
            pt(p[1])
        );
        return d;
    }
    if edge.back {
        if p.len() == 2 {
            let reach = 40.0 + 0.15 * (p[1][1] - p[0][1]).abs();
            let _ = write!(
                d,
                " C{} {} {}",
                pt([p[0][0] + reach, p[0][1]]),
                pt([p[1][0] + reach, p[1][1]]),
                pt(p[1])
            );
            return d;
        }
        let last = p.len() - 1;
        for i in 1..=last {
            let (a, b) = (p[i - 1], p[i]);
            let dy = b[1] - a[1];
            let (c1, c2) = if i == 1 {
                ([a[0] + 30.0, a[1]], [b[0], b[1] - dy * 0.5])
            } else if i == last {
                ([a[0], a[1] + dy * 0.5], [b[0] + 30.0, b[1]])
            } else {
                ([a[0], a[1] + dy * 0.5], [b[0], b[1] - dy * 0.5])
            };
            let _ = write!(d, " C{} {} {}", pt(c1), pt(c2), pt(b));
        }
        return d;
    }
    for pair in p.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let dy = b[1] - a[1];
        if (a[0] - b[0]).abs() < 0.5 {
            let _ = write!(d, " L{}", pt(b));
        } else {
            let _ = write!(
                d,
                " C{} {} {}",
                pt([a[0], a[1] + dy * 0.5]),
                pt([b[0], b[1] - dy * 0.5]),
                pt(b)
            );
        }
    }
    d
}

fn kind_class(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Start => "kind-start",
        EdgeKind::Next => "kind-next",
        EdgeKind::Choice => "kind-choice",
        EdgeKind::Default => "kind-default",
        EdgeKind::Catch => "kind-catch",
        EdgeKind::End => "kind-end",
    }
}

fn draw_node(out: &mut String, node: &Node) {
    let class = if node.compound {
        "g-node g-compound"
    } else {
        "g-node"
    };
    let _ = write!(
        out,
        r#"<g class="{class}" data-state="{}" data-type="{}" transform="translate({} {})">"#,
        escape(&node.name),
        node.state_type,
        number(node.x),
        number(node.y)
    );
    let radius = if node.compound { 8 } else { 6 };
    let _ = write!(
        out,
        r#"<rect class="g-box" width="{}" height="{}" rx="{radius}"/>"#,
        number(node.w),
        number(node.h)
    );
    let accent_height = if node.compound { 36.0 } else { node.h };
    let _ = write!(
        out,
        r#"<rect class="g-accent" x="0.5" y="{}" width="4" height="{}" rx="2" fill="{}"/>"#,
        number(if node.compound { 8.0 } else { 6.0 }),
        number(accent_height - if node.compound { 16.0 } else { 12.0 }),
        accent(node.state_type)
    );
    if node.compound {
        let name = fit(&node.name, node.w - 100.0, NAME_FONT);
        let type_x = 14.0 + text_width(&name, NAME_FONT) + 10.0;
        let type_line = match &node.detail {
            Some(detail) => format!("{} · {detail}", node.state_type),
            None => node.state_type.to_owned(),
        };
        let _ = write!(
            out,
            r#"<text class="g-name" x="14" y="23">{}</text><text class="g-type" x="{}" y="23">{}</text>"#,
            escape(&name),
            number(type_x),
            escape(&type_line)
        );
        let _ = write!(out, "<title>{}</title></g>", escape(&node.name));
        return;
    }
    let name = fit(&node.name, node.w - 28.0, NAME_FONT);
    let type_line = match &node.detail {
        Some(detail) => format!("{} · {detail}", node.state_type),
        None => node.state_type.to_owned(),
    };
    let type_line = fit(&type_line, node.w - 28.0, SMALL_FONT);
    let _ = write!(
        out,
        r#"<text class="g-name" x="14" y="19">{}</text><text class="g-type" x="14" y="35">{}</text>"#,
        escape(&name),
        escape(&type_line)
    );
    let _ = write!(out, "<title>{}</title></g>", escape(&node.name));
}

/// Draws a layout as a standalone SVG document.
pub fn render(layout: &Layout) -> String {
    let mut out = String::with_capacity(4096 + layout.nodes.len() * 600);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="g-root" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
        w = number(layout.width),
        h = number(layout.height)
    );
    let _ = write!(out, "<style>{STYLE}</style>");
    out.push_str("<defs>");
    for (id, fill) in [
        ("g-arrow", "#8c96a3"),
        ("g-arrow-catch", "#c9711a"),
        ("g-arrow-taken", "#037f0c"),
        ("g-arrow-caught", "#e07700"),
        ("g-arrow-failed", "#d91515"),
    ] {
        let _ = write!(
            out,
            r#"<marker id="{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="{fill}"/></marker>"#
        );
    }
    out.push_str("</defs>");
    // Containers first, outermost first: a compound state at depth d, then its groups.
    let mut containers: Vec<(u32, usize, bool)> = Vec::new();
    for (i, node) in layout.nodes.iter().enumerate() {
        if node.compound {
            containers.push((2 * node.depth, i, true));
        }
    }
    for (i, group) in layout.groups.iter().enumerate() {
        containers.push((2 * group.depth - 1, i, false));
    }
    containers.sort();
    out.push_str(r#"<g class="g-containers">"#);
    for (_, i, is_node) in containers {
        if is_node {
            draw_node(&mut out, &layout.nodes[i]);
        } else {
            let group = &layout.groups[i];
            let _ = write!(
                out,
                r#"<g class="g-group" data-scope="{}" data-owner="{}"><rect x="{}" y="{}" width="{}" height="{}" rx="6"/><text x="{}" y="{}">{}</text></g>"#,
                group.scope,
                escape(&group.owner),
                number(group.x),
                number(group.y),
                number(group.w),
                number(group.h),
                number(group.x + 8.0),
                number(group.y + 14.0),
                escape(&group.label)
            );
        }
    }
    out.push_str("</g><g class=\"g-edges\">");
    for edge in &layout.edges {
        let back = if edge.back { " back" } else { "" };
        let _ = write!(
            out,
            r#"<g class="g-edge {}{back}" data-from="{}" data-to="{}"><path d="{}"/>"#,
            kind_class(edge.kind),
            escape(&edge.from),
            escape(&edge.to),
            edge_path(edge)
        );
        if let (Some(label), Some(at)) = (&edge.label, edge.label_at) {
            let w = edge.label_w;
            let _ = write!(
                out,
                r#"<g class="g-label"><rect x="{}" y="{}" width="{}" height="16" rx="4"/><text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                number(at[0] - w / 2.0),
                number(at[1] - 8.0),
                number(w),
                number(at[0]),
                number(at[1] + 4.0),
                escape(label)
            );
            if let Some(title) = &edge.title {
                let _ = write!(out, "<title>{}</title>", escape(title));
            }
            out.push_str("</g>");
        }
        out.push_str("</g>");
    }
    out.push_str("</g><g class=\"g-nodes\">");
    for node in layout.nodes.iter().filter(|n| !n.compound) {
        draw_node(&mut out, node);
    }
    for marker in &layout.markers {
        let kind = match marker.kind {
            MarkerKind::Start => "start",
            MarkerKind::End => "end",
        };
        let _ = write!(
            out,
            r#"<g class="g-marker {kind}" data-marker="{}">"#,
            escape(&marker.id)
        );
        if marker.w > 20.0 {
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}"/><text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                number(marker.x),
                number(marker.y),
                number(marker.w),
                number(marker.h),
                number(marker.h / 2.0),
                number(marker.x + marker.w / 2.0),
                number(marker.y + marker.h / 2.0 + 4.0),
                if kind == "start" { "Start" } else { "End" }
            );
        } else {
            let (cx, cy) = (marker.x + marker.w / 2.0, marker.y + marker.h / 2.0);
            if kind == "start" {
                let _ = write!(
                    out,
                    r#"<circle cx="{}" cy="{}" r="5"/>"#,
                    number(cx),
                    number(cy)
                );
            } else {
                let _ = write!(
                    out,
                    r#"<circle class="g-ring" cx="{x}" cy="{y}" r="6.5"/><circle cx="{x}" cy="{y}" r="3.5"/>"#,
                    x = number(cx),
                    y = number(cy)
                );
            }
        }
        out.push_str("</g>");
    }
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_every_part_is_drawn() {
        let parsed = aslan_asl::parse(
            r#"{"StartAt": "A <&> \"B\"", "States": {
                "A <&> \"B\"": {"Type": "Pass", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "<y>", "Next": "D"}], "Default": "D"},
                "D": {"Type": "Succeed"}}}"#,
            aslan_asl::LoadOptions::default(),
        );
        let layout = crate::layout::layout(&parsed.definition.expect("valid"));
        let svg = render(&layout);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"data-state="A &lt;&amp;&gt; &quot;B&quot;""#));
        assert!(svg.contains("$.x == &quot;&lt;y&gt;&quot;"));
        assert_eq!(svg.matches("class=\"g-node\"").count(), 3);
        assert_eq!(svg.matches("<g class=\"g-edge ").count(), 5);
        assert!(svg.contains(r#"data-from="C" data-to="D""#));
        assert!(svg.contains(">Start</text>") && svg.contains(">End</text>"));
    }

    #[test]
    fn long_names_are_shortened_to_fit() {
        let name = "A".repeat(120);
        let fitted = fit(&name, 200.0, NAME_FONT);
        assert!(fitted.ends_with('…'));
        assert!(text_width(&fitted, NAME_FONT) <= 200.0);
    }
}
