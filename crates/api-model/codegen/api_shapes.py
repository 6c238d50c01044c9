#!/usr/bin/env python3
"""Generate crates/api-model/src/shapes.rs from the botocore Step Functions model.

The server and the CLI of aslan speak the AWS Step Functions API (AWS JSON 1.0
protocol), so their request and response types must have exactly the names and
shapes of AWS's service model
(`botocore/data/stepfunctions/2016-11-23/service-2.json[.gz]`). This script
reads the model and writes, for every operation, `<Op>Input` and `<Op>Output`
structs, every structure and enumeration they use, and an `OperationInput`
impl per input that names the operation and reports a missing required member.

Conventions shared with `crates/types/codegen/history_events.py`, whose helpers
this script imports:

- members are camelCase on the wire; a field is renamed only where serde's
  `rename_all = "camelCase"` would not give the model's name back;
- optional members are `Option`s, left out when `None`;
- timestamps are `aslan_types::Timestamp` (epoch seconds with a fraction);
- the history shapes (everything `GetExecutionHistoryOutput` reaches) are not
  generated again: they are `aslan_types::history`'s, and so are
  `ExecutionStatus` and `StateMachineType` from `aslan_types`.

Input structs deserialize leniently: a required member that is absent or null
becomes empty instead of a serde error, so that the server can answer with AWS's
`ValidationException` after asking `OperationInput::missing_required`.

Usage:
    python3 -m venv /tmp/bc && /tmp/bc/bin/pip install botocore
    /tmp/bc/bin/python crates/api-model/codegen/api_shapes.py
    python3 crates/api-model/codegen/api_shapes.py --model path/to/service-2.json.gz

The script needs only the standard library once it has the model file. With
no `--model`, it imports botocore to find the file. The output is formatted
with `rustfmt --edition 2024` when rustfmt is on PATH.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE.parent / "src" / "shapes.rs"

# The history generator owns the model loading and the HTML-to-Markdown conversion.
sys.path.insert(0, str(HERE.parent.parent / "types" / "codegen"))
import history_events as shared  # noqa: E402

# The output of GetExecutionHistory and every shape it reaches are generated into
# `aslan_types::history` by `history_events.py`.
HISTORY_ROOT = "GetExecutionHistoryOutput"

# Enumerations that `aslan_types` already defines, with the values they must have. The
# generator stops if the model disagrees, so that a new AWS value is not silently lost.
REUSED_ENUMS = {
    "ExecutionStatus": [
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
        "ABORTED",
        "PENDING_REDRIVE",
    ],
    "StateMachineType": ["STANDARD", "EXPRESS"],
}

# Types from elsewhere that implement `Default`.
DEFAULT_REUSED = {"StateMachineType", "Timestamp", "String"}

RUST_KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
    "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
}  # fmt: skip

# Clippy's `too_many_arguments` threshold.
MAX_ARGUMENTS = 7


def snake(name: str) -> str:
    """Turn an AWS camelCase name into a Rust snake_case name."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def field_name(member: str, member_shape: str) -> str:
    """The Rust field of a member; a keyword is named after the member's shape (`type`)."""
    field = snake(member)
    if field in RUST_KEYWORDS:
        field = snake(member_shape)
        if field in RUST_KEYWORDS:
            sys.exit(f"member {member} cannot be named: extend field_name")
    return field


def variant_name(value: str) -> str:
    """Turn an enumeration value such as `TIMED_OUT` into a Rust variant such as `TimedOut`."""
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
        sys.exit(f"enumeration value {value} is not SCREAMING_SNAKE_CASE: extend variant_name")
    return "".join(part[:1] + part[1:].lower() for part in value.split("_"))


def serde_screaming_snake(variant: str) -> str:
    """Mirror serde's `rename_all = "SCREAMING_SNAKE_CASE"` applied to a variant."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", variant).upper()


def first_sentence(raw: str | None) -> str:
    """The first sentence of the model's HTML documentation, as Markdown wrapped for rustdoc."""
    text = shared.doc_text(raw)
    if not text:
        return ""
    lines = []
    for line in text.split("\n\n")[0].split("\n"):
        if line.startswith("- "):
            break
        lines.append(line.strip())
    flat = " ".join(lines).strip()
    end = None
    for match in re.finditer(r"[.!?](?=\s|$)", flat):
        before = flat[: match.start()]
        if before.endswith(("e.g", "i.e", "etc")) or before.count("`") % 2 == 1:
            continue
        end = match.end()
        break
    sentence = flat[:end] if end else flat
    if sentence.endswith(":"):
        # "..., for example:" introduces an example that the first sentence leaves out.
        sentence = re.sub(r",? (for example|such as|as follows)$", "", sentence[:-1]) + "."
    elif not sentence.endswith((".", "!", "?")):
        sentence += "."
    wrapped = textwrap.wrap(sentence, 90, break_long_words=False, break_on_hyphens=False)
    return "\n".join(wrapped)


class Generator:
    def __init__(self, model: dict):
        self.model = model
        self.shapes = model["shapes"]
        self.operations = model["operations"]
        self.history = self.reachable(HISTORY_ROOT)
        self.items: list[str] = []
        self.seen: set[str] = set()
        self.n_structs = 0
        self.n_enums = 0
        # Input shape name -> operation name.
        self.input_of = {op["input"]["shape"]: name for name, op in self.operations.items()}
        self.output_of = {op["output"]["shape"]: name for name, op in self.operations.items()}
        for name, op in self.operations.items():
            if op["input"]["shape"] != f"{name}Input" or op["output"]["shape"] != f"{name}Output":
                sys.exit(f"operation {name} does not use <Op>Input/<Op>Output shapes")
        for shape in self.input_of:
            if shape in self.history:
                sys.exit(f"input shape {shape} is a history shape")

    def reachable(self, root: str) -> set[str]:
        out: set[str] = set()
        stack = [root]
        while stack:
            name = stack.pop()
            if name in out:
                continue
            out.add(name)
            shape = self.shapes[name]
            if shape["type"] == "structure":
                stack.extend(m["shape"] for m in shape["members"].values())
            elif shape["type"] == "list":
                stack.append(shape["member"]["shape"])
            elif shape["type"] == "map":
                stack.extend([shape["key"]["shape"], shape["value"]["shape"]])
        return out

    # --- Types -----------------------------------------------------------------------------

    def rust_type(self, shape_name: str) -> str:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "string":
            if "enum" in shape:
                self.visit(shape_name)
                return shape_name
            return "String"
        if kind == "long":
            return "i64"
        if kind == "integer":
            return "i32"
        if kind == "boolean":
            return "bool"
        if kind == "float":
            return "f32"
        if kind == "double":
            return "f64"
        if kind == "timestamp":
            if shape.get("timestampFormat", "unixTimestamp") != "unixTimestamp":
                sys.exit(f"timestamp {shape_name} is not epoch seconds: Timestamp cannot carry it")
            return "Timestamp"
        if kind == "structure":
            self.visit(shape_name)
            return shape_name
        if kind == "list":
            return f"Vec<{self.rust_type(shape['member']['shape'])}>"
        if kind == "map":
            key = self.rust_type(shape["key"]["shape"])
            if key != "String":
                sys.exit(f"map {shape_name} has non-string keys")
            return f"BTreeMap<String, {self.rust_type(shape['value']['shape'])}>"
        sys.exit(f"unsupported shape type {kind} for {shape_name}")

    def has_float(self, shape_name: str) -> bool:
        return any(self.shapes[n]["type"] in ("float", "double") for n in self.reachable(shape_name))

    def can_default(self, shape_name: str) -> bool:
        """Whether the Rust type of a shape implements `Default`."""
        shape = self.shapes[shape_name]
        if shape["type"] == "string" and "enum" in shape:
            return shape_name in DEFAULT_REUSED
        if shape["type"] == "structure":
            if shape_name in self.history:
                # history_events.py derives Default only without required members.
                return not shape.get("required")
            return self.struct_can_default(shape_name)
        return True

    def struct_can_default(self, name: str) -> bool:
        shape = self.shapes[name]
        required = set(shape.get("required", []))
        return all(
            self.can_default(spec["shape"])
            for member, spec in shape["members"].items()
            if member in required
        )

    # --- Shapes ----------------------------------------------------------------------------

    def visit(self, name: str) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        shape = self.shapes[name]
        if name in REUSED_ENUMS:
            if shape.get("enum") != REUSED_ENUMS[name]:
                sys.exit(f"the model's {name} differs from aslan_types::{name}: update both")
            return
        if name in self.history:
            if name != HISTORY_ROOT:
                sys.exit(f"history shape {name} used outside GetExecutionHistoryOutput")
            return
        # Reserve the slot first so that a shape comes before the shapes it uses.
        slot = len(self.items)
        self.items.append("")
        if shape["type"] == "string":
            self.items[slot] = self.render_enum(name, shape)
            self.n_enums += 1
        else:
            self.items[slot] = self.render_struct(name, shape)
            self.n_structs += 1

    def render_enum(self, name: str, shape: dict) -> str:
        values = shape["enum"]
        variants = [variant_name(v) for v in values]
        uniform = all(serde_screaming_snake(var) == v for var, v in zip(variants, values))
        out: list[str] = []
        doc = first_sentence(shape.get("documentation")) or f"The values of `{name}`."
        out.extend(shared.doc_lines(doc, ""))
        out.append("///")
        out.append(f"/// AWS shape: `{name}`.")
        out.append("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]")
        if uniform:
            out.append('#[serde(rename_all = "SCREAMING_SNAKE_CASE")]')
        out.append(f"pub enum {name} {{")
        for var, value in zip(variants, values):
            out.append(f"    /// `{value}`.")
            if not uniform:
                out.append(f'    #[serde(rename = "{value}")]')
            out.append(f"    {var},")
        out.append("}")
        out.append("")
        out.append(f"impl {name} {{")
        out.append("    /// Every value, in the order of the AWS model.")
        out.append(f"    pub const ALL: &'static [{name}] = &[")
        for var in variants:
            out.append(f"        {name}::{var},")
        out.append("    ];")
        out.append("")
        out.append("    /// Returns the name AWS uses on the wire.")
        out.append("    pub const fn as_str(self) -> &'static str {")
        out.append("        match self {")
        for var, value in zip(variants, values):
            out.append(f'            {name}::{var} => "{value}",')
        out.append("        }")
        out.append("    }")
        out.append("}")
        out.append("")
        out.append(f"impl fmt::Display for {name} {{")
        out.append("    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {")
        out.append("        f.write_str(self.as_str())")
        out.append("    }")
        out.append("}")
        out.append("")
        out.append(f"impl FromStr for {name} {{")
        out.append("    type Err = UnknownVariant;")
        out.append("")
        out.append("    fn from_str(s: &str) -> Result<Self, Self::Err> {")
        out.append(f"        {name}::ALL")
        out.append("            .iter()")
        out.append("            .copied()")
        out.append("            .find(|value| value.as_str() == s)")
        out.append("            .ok_or_else(|| UnknownVariant {")
        out.append(f'                kind: "{name}",')
        out.append("                value: s.to_owned(),")
        out.append("            })")
        out.append("    }")
        out.append("}")
        return "\n".join(out)

    def render_struct(self, name: str, shape: dict) -> str:
        is_input = name in self.input_of
        required = set(shape.get("required", []))
        fields = []
        for member, spec in shape["members"].items():
            target = spec["shape"]
            field = field_name(member, target)
            ty = self.rust_type(target)
            doc = first_sentence(spec.get("documentation")) or first_sentence(
                self.shapes[target].get("documentation")
            )
            if not doc:
                doc = f"The `{member}` member of `{name}`."
            fields.append((member, field, ty, member in required, doc, target))

        out: list[str] = []
        if is_input or name in self.output_of:
            op = self.input_of.get(name) or self.output_of[name]
            what = "request" if is_input else "response"
            out.append(f"/// The {what} of the `{op}` operation.")
            op_doc = first_sentence(self.operations[op].get("documentation"))
            if op_doc:
                out.append("///")
                out.extend(shared.doc_lines(op_doc, ""))
        else:
            doc = first_sentence(shape.get("documentation")) or f"The `{name}` shape of the AWS API."
            out.extend(shared.doc_lines(doc, ""))
        out.append("///")
        out.append(f"/// AWS shape: `{name}`.")
        derives = ["Debug", "Clone", "PartialEq"]
        if not self.has_float(name):
            derives.append("Eq")
        derives += ["Serialize", "Deserialize"]
        if self.struct_can_default(name):
            derives.append("Default")
        elif is_input:
            sys.exit(f"input {name} cannot derive Default: lenient deserialization needs it")
        out.append(f"#[derive({', '.join(derives)})]")
        out.append('#[serde(rename_all = "camelCase")]')
        out.append(f"pub struct {name} {{")
        for member, field, ty, req, fdoc, _ in fields:
            out.extend(shared.doc_lines(fdoc, "    "))
            attrs = []
            if shared.serde_camel(field) != member:
                attrs.append(f'rename = "{member}"')
            if req:
                if is_input:
                    # Absent or null becomes empty; `missing_required` reports it as AWS does.
                    attrs += ["default", 'deserialize_with = "crate::null_as_default"']
                if attrs:
                    out.append(f"    #[serde({', '.join(attrs)})]")
                out.append(f"    pub {field}: {ty},")
            else:
                attrs += ["default", 'skip_serializing_if = "Option::is_none"']
                out.append(f"    #[serde({', '.join(attrs)})]")
                out.append(f"    pub {field}: Option<{ty}>,")
        out.append("}")
        out.extend(self.render_new(name, fields))
        if is_input:
            out.extend(self.render_operation_input(name, fields))
        return "\n".join(out)

    def render_new(self, name: str, fields: list) -> list[str]:
        required = [(f, t) for (_, f, t, r, _, _) in fields if r]
        if not required:
            return []
        out = ["", f"impl {name} {{"]
        names = ", ".join(f"`{f}`" for f, _ in required)
        if len(required) == len(fields):
            sentence = f"Builds the shape from its members ({names})."
        else:
            sentence = f"Builds the shape from its required members ({names}), leaving the rest unset."
        out.extend(shared.doc_lines("\n".join(textwrap.wrap(sentence, 90)), "    "))
        if len(required) > MAX_ARGUMENTS:
            out.append(
                '    #[allow(clippy::too_many_arguments, reason = "one argument per required member")]'
            )
        params = ", ".join(
            f"{f}: impl Into<String>" if t == "String" else f"{f}: {t}" for f, t in required
        )
        out.append(f"    pub fn new({params}) -> Self {{")
        out.append("        Self {")
        for _, field, ty, req, _, _ in fields:
            if not req:
                out.append(f"            {field}: None,")
            elif ty == "String":
                out.append(f"            {field}: {field}.into(),")
            else:
                out.append(f"            {field},")
        out.append("        }")
        out.append("    }")
        out.append("}")
        return out

    def render_operation_input(self, name: str, fields: list) -> list[str]:
        op = self.input_of[name]
        output = self.operations[op]["output"]["shape"]
        checks = []
        unchecked = []
        for member, field, ty, req, _, target in fields:
            if not req:
                continue
            target_shape = self.shapes[target]
            if ty == "String" or (ty.startswith("Vec<") and target_shape.get("min", 0) >= 1):
                checks.append((member, field))
            elif ty.startswith("Vec<"):
                unchecked.append(member)
            else:
                sys.exit(f"required input member {name}.{member} of type {ty}: extend the generator")
        out = ["", f"impl OperationInput for {name} {{"]
        out.append(f'    const OPERATION: &\'static str = "{op}";')
        out.append(f"    type Output = {output};")
        out.append("")
        out.append("    fn missing_required(&self) -> Option<&'static str> {")
        for member in unchecked:
            out.append(
                f"        // `{member}` may be empty, and an absent `{member}` reads as empty: never reported."
            )
        if not checks:
            out.append("        None")
        else:
            for i, (member, field) in enumerate(checks):
                keyword = "if" if i == 0 else "} else if"
                out.append(f"        {keyword} self.{field}.is_empty() {{")
                out.append(f'            Some("{member}")')
            out.append("        } else {")
            out.append("            None")
            out.append("        }")
        out.append("    }")
        out.append("}")
        return out

    # --- File ------------------------------------------------------------------------------

    def render(self, source: str) -> str:
        for op in self.operations.values():
            self.visit(op["input"]["shape"])
            self.visit(op["output"]["shape"])
        exceptions = [n for n, s in self.shapes.items() if s.get("exception")]
        for name in exceptions:
            for spec in self.shapes[name]["members"].values():
                self.rust_type(spec["shape"])

        tail: list[str] = []
        tail.append("/// Every operation of the model, in the model's order.")
        tail.append("pub(crate) const OPERATION_NAMES: &[&str] = &[")
        for name in self.operations:
            tail.append(f'    "{name}",')
        tail.append("];")
        tail.append("")
        tail.append("/// Every exception shape of the model with its members, for `error.rs`'s tests.")
        tail.append("#[cfg(test)]")
        tail.append("pub(crate) const EXCEPTION_SHAPES: &[(&str, &[&str])] = &[")
        for name in exceptions:
            members = ", ".join(f'"{m}"' for m in self.shapes[name]["members"])
            tail.append(f'    ("{name}", &[{members}]),')
        tail.append("];")

        header = [
            "//! Request, response and shared shapes of the AWS Step Functions API.",
            "//!",
            "//! GENERATED FILE: do not edit by hand. It is generated by",
            "//! `crates/api-model/codegen/api_shapes.py` from the AWS Step Functions service model",
            f"//! `botocore/{shared.MODEL_RELATIVE}/service-2.json` ({source}).",
            "//! To regenerate, run the script with a Python that has botocore installed.",
            "//!",
            "//! Every operation has an `<Op>Input` and an `<Op>Output`; the structures and",
            "//! enumerations they use follow them. `GetExecutionHistoryOutput` and the history",
            "//! shapes are `aslan_types::history`'s, and `ExecutionStatus`, `StateMachineType` and",
            "//! `Timestamp` are `aslan_types`'s. Members are camelCase on the wire; optional members",
            "//! are `Option`s left out when `None`; timestamps are epoch seconds with a fraction.",
            "//! Required members of inputs read as empty when absent or null: see",
            "//! [`OperationInput::missing_required`].",
            "",
            "use std::collections::BTreeMap;",
            "use std::fmt;",
            "use std::str::FromStr;",
            "",
            "use serde::{Deserialize, Serialize};",
            "",
            "pub use aslan_types::history::GetExecutionHistoryOutput;",
            "pub use aslan_types::{ExecutionStatus, StateMachineType, Timestamp, UnknownVariant};",
            "",
            "use crate::OperationInput;",
            "",
        ]
        body = self.items + ["\n".join(tail)]
        return "\n".join(header) + "\n" + "\n\n".join(body) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=pathlib.Path, help="path to service-2.json or .json.gz")
    parser.add_argument("--source", help="what to name as the model's origin in the header")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args()
    if args.model:
        path, source = args.model, args.source or args.model.name
    else:
        path, source = shared.find_model()
        source = args.source or source
    model = shared.load_model(path)
    generator = Generator(model)
    text = generator.render(source)
    args.output.write_text(text, encoding="utf-8")
    rustfmt = shutil.which("rustfmt")
    if rustfmt:
        subprocess.run([rustfmt, "--edition", "2024", str(args.output)], check=True)
    print(
        f"wrote {args.output}: {generator.n_structs} structures and {generator.n_enums} "
        f"enumerations for {len(model['operations'])} operations"
    )


if __name__ == "__main__":
    main()
