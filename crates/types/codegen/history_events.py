#!/usr/bin/env python3
"""Generate crates/types/src/history.rs from the botocore Step Functions model.

The execution-history types of aslan must have exactly the names and shapes
that AWS Step Functions returns from GetExecutionHistory. The botocore service
model (`botocore/data/stepfunctions/2016-11-23/service-2.json[.gz]`) is the
machine-readable source of truth, so this script reads it and writes Rust.

Usage:
    python3 -m venv /tmp/bc && /tmp/bc/bin/pip install botocore
    /tmp/bc/bin/python crates/types/codegen/history_events.py
    python3 crates/types/codegen/history_events.py --model path/to/service-2.json.gz

The script needs only the standard library once it has the model file. With
no `--model`, it imports botocore to find the file. The output is formatted
with `rustfmt --edition 2024` when rustfmt is on PATH.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

ROOT_SHAPES = ["GetExecutionHistoryOutput"]
MODEL_RELATIVE = "data/stepfunctions/2016-11-23"
OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "history.rs"

RUST_KEYWORDS = {"type", "match", "ref", "self", "mod", "use", "fn", "impl", "loop", "move"}

# Shapes whose `new` is hand-written in events.rs, with a signature that suits the interpreter.
NO_GENERATED_NEW = {"HistoryEvent"}

# Members whose Rust name cannot be the snake_case of the AWS name.
FIELD_RENAMES = {"type": "event_type"}


def find_model() -> tuple[pathlib.Path, str]:
    """Locate the model inside an installed botocore and return it with botocore's version."""
    try:
        import botocore  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("botocore is not importable: pass --model or install botocore")
    base = pathlib.Path(botocore.__file__).resolve().parent / MODEL_RELATIVE
    for name in ("service-2.json.gz", "service-2.json"):
        if (base / name).exists():
            return base / name, f"botocore {botocore.__version__}"
    sys.exit(f"no service-2.json under {base}")


def load_model(path: pathlib.Path) -> dict:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def snake(name: str) -> str:
    """Turn an AWS camelCase member name into a Rust field name."""
    if name in FIELD_RENAMES:
        return FIELD_RENAMES[name]
    out = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    if out in RUST_KEYWORDS:
        sys.exit(f"member {name} is a Rust keyword: add it to FIELD_RENAMES")
    return out


def serde_camel(field: str) -> str:
    """Mirror serde's `rename_all = "camelCase"` applied to a snake_case field."""
    parts = field.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def doc_text(raw: str | None) -> str:
    """Turn the model's HTML documentation into Markdown sentences for rustdoc."""
    if not raw:
        return ""
    text = raw
    # Code spans keep their content verbatim; everything else is escaped below.
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip())
        return f"\x00{len(spans) - 1}\x00"

    text = re.sub(r"<code>(.*?)</code>", keep, text, flags=re.S)
    text = re.sub(r"<li>\s*", "\n- ", text)
    text = re.sub(r"</ul>\s*", "\n\n", text)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("[", "\\[").replace("]", "\\]")

    def restore(match: re.Match[str]) -> str:
        code = spans[int(match.group(1))]
        fence = "``" if "`" in code else "`"
        pad = " " if "`" in code else ""
        return f"{fence}{pad}{code}{pad}{fence}"

    text = re.sub("\x00(\\d+)\x00", restore, text)
    paragraphs = []
    for para in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in para.split("\n")]
        lines = [ln for ln in lines if ln]
        if lines:
            paragraphs.append(lines)
    out: list[str] = []
    for lines in paragraphs:
        if out:
            out.append("")
        buf: list[str] = []
        for ln in lines:
            if ln.startswith("- "):
                if buf:
                    out.extend(textwrap.wrap(" ".join(buf), 90))
                    buf = []
                out.extend(textwrap.wrap(ln, 90, subsequent_indent="  "))
            else:
                buf.append(ln)
        if buf:
            out.extend(textwrap.wrap(" ".join(buf), 90))
    if out and not out[-1].startswith("- ") and not out[-1].endswith((".", ":", "!", "?")):
        out[-1] += "."
    return "\n".join(out)


def doc_lines(text: str, indent: str) -> list[str]:
    return [f"{indent}///{' ' + ln if ln else ''}" for ln in text.split("\n")]


class Generator:
    def __init__(self, model: dict):
        self.shapes = model["shapes"]
        self.structs: list[str] = []
        self.seen: set[str] = set()

    def rust_type(self, shape_name: str) -> str:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if shape_name == "HistoryEventType":
            return "HistoryEventType"
        if kind == "string":
            if "enum" in shape:
                sys.exit(f"string enum {shape_name} needs a hand-written mapping")
            return "String"
        if kind == "long":
            return "i64"
        if kind == "integer":
            return "i32"
        if kind == "boolean":
            return "bool"
        if kind == "timestamp":
            return "Timestamp"
        if kind == "structure":
            self.visit(shape_name)
            return shape_name
        if kind == "list":
            return f"Vec<{self.rust_type(shape['member']['shape'])}>"
        if kind == "map":
            key = self.rust_type(shape["key"]["shape"])
            value = self.rust_type(shape["value"]["shape"])
            return f"BTreeMap<{key}, {value}>"
        sys.exit(f"unsupported shape type {kind} for {shape_name}")

    def visit(self, name: str) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        # Reserve the slot first so that a shape comes before the shapes it uses.
        slot = len(self.structs)
        self.structs.append("")
        shape = self.shapes[name]
        required = set(shape.get("required", []))
        fields = []
        for member, spec in shape["members"].items():
            field = snake(member)
            ty = self.rust_type(spec["shape"])
            doc = doc_text(spec.get("documentation")) or doc_text(
                self.shapes[spec["shape"]].get("documentation")
            )
            if not doc:
                doc = f"The `{member}` member of `{name}`."
            fields.append((member, field, ty, member in required, doc))
        self.structs[slot] = self.render_struct(name, shape, fields)

    def render_struct(self, name: str, shape: dict, fields: list) -> str:
        out: list[str] = []
        doc = doc_text(shape.get("documentation")) or f"The `{name}` shape of the AWS API."
        out.extend(doc_lines(doc, ""))
        out.append("///")
        out.append(f"/// AWS shape: `{name}`.")
        derives = ["Debug", "Clone", "PartialEq", "Eq", "Serialize", "Deserialize"]
        if not any(req for (_, _, _, req, _) in fields):
            derives.append("Default")
        out.append(f"#[derive({', '.join(derives)})]")
        out.append('#[serde(rename_all = "camelCase")]')
        out.append(f"pub struct {name} {{")
        for member, field, ty, req, fdoc in fields:
            out.extend(doc_lines(fdoc, "    "))
            if serde_camel(field) != member:
                out.append(f'    #[serde(rename = "{member}")]')
            if req:
                out.append(f"    pub {field}: {ty},")
            else:
                out.append('    #[serde(default, skip_serializing_if = "Option::is_none")]')
                out.append(f"    pub {field}: Option<{ty}>,")
        out.append("}")
        required = [(f, t) for (_, f, t, r, _) in fields if r]
        if required and name not in NO_GENERATED_NEW:
            out.append("")
            out.append(f"impl {name} {{")
            names = ", ".join(f"`{f}`" for f, _ in required)
            sentence = f"Builds the shape from its required members ({names}), leaving the rest unset."
            out.extend(doc_lines("\n".join(textwrap.wrap(sentence, 90)), "    "))
            params = ", ".join(
                f"{f}: impl Into<String>" if t == "String" else f"{f}: {t}" for f, t in required
            )
            out.append(f"    pub fn new({params}) -> Self {{")
            out.append("        Self {")
            for member, field, ty, req, _ in fields:
                if req:
                    if ty == "String":
                        out.append(f"            {field}: {field}.into(),")
                    else:
                        out.append(f"            {field},")
                else:
                    out.append(f"            {field}: None,")
            out.append("        }")
            out.append("    }")
            out.append("}")
        return "\n".join(out)

    def render_event_type(self) -> str:
        shape = self.shapes["HistoryEventType"]
        values = shape["enum"]
        out: list[str] = []
        out.append("/// The type of a history event, spelled as AWS spells it in `HistoryEvent.type`.")
        out.append("///")
        out.append("/// AWS shape: `HistoryEventType`.")
        out.append("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]")
        out.append("pub enum HistoryEventType {")
        for v in values:
            if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", v):
                sys.exit(f"event type {v} is not a valid Rust identifier")
            out.append(f"    /// The `{v}` event.")
            out.append(f"    {v},")
        out.append("}")
        out.append("")
        out.append("impl HistoryEventType {")
        out.append("    /// Every event type, in the order of the AWS model.")
        out.append("    pub const ALL: &'static [HistoryEventType] = &[")
        for v in values:
            out.append(f"        HistoryEventType::{v},")
        out.append("    ];")
        out.append("")
        out.append("    /// Returns the name AWS uses for this event type.")
        out.append("    pub const fn as_str(self) -> &'static str {")
        out.append("        match self {")
        for v in values:
            out.append(f'            HistoryEventType::{v} => "{v}",')
        out.append("        }")
        out.append("    }")
        out.append("")
        out.append("    /// Returns the event type AWS names `name`, if there is one.")
        out.append("    pub fn from_name(name: &str) -> Option<Self> {")
        out.append("        Some(match name {")
        for v in values:
            out.append(f'            "{v}" => HistoryEventType::{v},')
        out.append("            _ => return None,")
        out.append("        })")
        out.append("    }")
        out.append("}")
        return "\n".join(out)

    def render(self, source: str) -> str:
        for root in ROOT_SHAPES:
            self.visit(root)
        header = [
            "//! Execution-history types with the names and shapes of the AWS Step Functions API.",
            "//!",
            "//! GENERATED FILE: do not edit by hand. It is generated by",
            "//! `crates/types/codegen/history_events.py` from the AWS Step Functions service model",
            f"//! `botocore/{MODEL_RELATIVE}/service-2.json` ({source}), starting at",
            f"//! {', '.join('`' + r + '`' for r in ROOT_SHAPES)}. Hand-written helpers live in `events.rs`.",
            "//! To regenerate, run the script with a Python that has botocore installed.",
            "//!",
            "//! Every structure serializes with camelCase member names, as the AWS JSON protocol does;",
            "//! optional members are `Option`s that are left out when `None`. Timestamps are",
            "//! [`Timestamp`]s, which serialize as epoch seconds with a fraction.",
            "",
            "use std::collections::BTreeMap;",
            "",
            "use serde::{Deserialize, Serialize};",
            "",
            "use crate::timestamp::Timestamp;",
            "",
        ]
        body = [self.render_event_type()] + self.structs
        text = "\n".join(header) + "\n" + "\n\n".join(body) + "\n"
        if "BTreeMap<" not in "\n".join(self.structs):
            text = text.replace("use std::collections::BTreeMap;\n\n", "")
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=pathlib.Path, help="path to service-2.json or .json.gz")
    parser.add_argument("--source", help="what to name as the model's origin in the header")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args()
    if args.model:
        path, source = args.model, args.source or args.model.name
    else:
        path, source = find_model()
        source = args.source or source
    model = load_model(path)
    text = Generator(model).render(source)
    args.output.write_text(text, encoding="utf-8")
    rustfmt = shutil.which("rustfmt")
    if rustfmt:
        subprocess.run([rustfmt, "--edition", "2024", str(args.output)], check=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
