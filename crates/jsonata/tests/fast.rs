//! The fast path against jsonata-core: generated expressions of the shapes the fast path knows
//! (and some it does not), over values of every kind, must give what jsonata-core gives
//! whenever the fast path answers; and a `$merge` applied in place must give the merged object.

use aslan_jsonata::{Binding, Env, Expression};
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000_123;

/// splitmix64, so that every run generates the same expressions.
struct Generator {
    state: u64,
    locals: Vec<String>,
    next_local: usize,
}

impl Generator {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn path(&mut self) -> String {
        const KEYS: &[&str] = &[
            "n", "i", "f", "z", "neg", "big", "huge", "tiny", "s", "e", "u", "emoji", "digits",
            "t", "fl", "nul", "arr", "nums", "nested", "objs", "empty", "none", "o", "missing",
            "deep", "one", "a", "b", "k", "v",
        ];
        const INDEXES: &[&str] = &["[0]", "[1]", "[-1]", "[2]", "[-3]", "[0.5]", "[9]"];
        let mut path = match self.below(10) {
            0..=3 => "$v".to_owned(),
            4..=6 => "$states.input".to_owned(),
            7 => "$states.context.Map.Item".to_owned(),
            8 => "$states".to_owned(),
            _ => "$unbound".to_owned(),
        };
        if self.below(4) == 0 {
            path.push_str(self.pick(INDEXES));
        }
        for _ in 0..self.below(3) {
            path.push('.');
            path.push_str(self.pick(KEYS));
            if self.below(4) == 0 {
                path.push_str(self.pick(INDEXES));
            }
        }
        path
    }

    fn atom(&mut self) -> String {
        const LITERALS: &[&str] = &[
            "0",
            "1",
            "7",
            "2.5",
            "0.1",
            "1e20",
            "1e-7",
            "100000000000000",
            "123456.789",
            "'a'",
            "''",
            "'é'",
            "'😀'",
            "'10'",
            "'B'",
            "true",
            "false",
            "null",
        ];
        match self.below(10) {
            0..=2 => self.pick(LITERALS).to_owned(),
            3 if !self.locals.is_empty() => {
                let at = self.below(self.locals.len());
                self.locals[at].clone()
            }
            _ => self.path(),
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        const OPS: &[&str] = &[
            "+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "and", "or", "&", "in",
        ];
        const FUNCTIONS: &[&str] = &[
            "$exists", "$string", "$count", "$sum", "$merge", "$not", "$boolean", "$keys",
        ];
        if depth == 0 || self.below(10) < 3 {
            return self.atom();
        }
        let d = depth - 1;
        match self.below(9) {
            0 => format!("-{}", self.expr(d)),
            1 | 2 => {
                let op = self.pick(OPS);
                format!("({} {op} {})", self.expr(d), self.expr(d))
            }
            3 => {
                if self.below(3) == 0 {
                    format!("({} ? {})", self.expr(d), self.expr(d))
                } else {
                    format!("({} ? {} : {})", self.expr(d), self.expr(d), self.expr(d))
                }
            }
            4 => {
                let name = format!("$l{}", self.next_local);
                self.next_local += 1;
                let value = self.expr(d);
                self.locals.push(name.clone());
                let body = self.expr(d);
                self.locals.pop();
                format!("({name} := {value}; {body})")
            }
            5 => {
                let keys = ["a", "b", "a"];
                let n = self.below(3);
                let members: Vec<String> = (0..n)
                    .map(|k| format!("'{}': {}", keys[k], self.expr(d)))
                    .collect();
                format!("{{{}}}", members.join(", "))
            }
            6 => match self.below(3) {
                0 => format!("[{}, {}]", self.expr(d), self.expr(d)),
                1 => format!("[[{}], {}]", self.expr(d), self.expr(d)),
                _ => "[]".to_owned(),
            },
            _ => {
                let function = self.pick(FUNCTIONS);
                format!("{function}({})", self.expr(d))
            }
        }
    }
}

fn values() -> (Value, Value) {
    let v = json!({
        "n": 41, "i": 7, "f": 2.5, "z": 0, "neg": -0.0, "big": 9007199254740993u64,
        "huge": 1e300, "tiny": 1e-9, "whole": 3.0,
        "s": "text", "e": "", "u": "é", "emoji": "😀", "digits": "10",
        "t": true, "fl": false, "nul": null,
        "arr": [1, "x", null, {"k": 1}, [1, 2]], "nums": [1, 2.5, 3.0],
        "nested": {"deep": {"x": 1.0, "y": [1]}, "n": 2},
        "objs": [{"k": 1, "v": "one"}, {"k": 2.0}],
        "deep": [{"a": [{"b": 1}, {"b": [2, 3.0]}]}, {"a": {"b": 4}}, {"a": []}, 5, {"a": [[6]]}],
        "one": [{"t": [1, 2]}, {"u": 1}],
        "empty": {}, "none": [], "o": {"a": 1, "b": "two"}
    });
    let item = json!({"k": 3, "v": [3.0]});
    (v, item)
}

fn env_with<'a>(random: &'a mut dyn FnMut() -> u64) -> Env<'a> {
    Env::new(NOW, random)
}

#[test]
fn generated_expressions_agree_with_jsonata_core() {
    let (v, item) = values();
    let index = json!(2);
    let bindings = [
        ("v", Binding::Value(&v)),
        (
            "states",
            Binding::Object(vec![
                ("input", Binding::Value(&v)),
                (
                    "context",
                    Binding::Object(vec![(
                        "Map",
                        Binding::Object(vec![(
                            "Item",
                            Binding::Object(vec![
                                ("Index", Binding::Value(&index)),
                                ("Value", Binding::Value(&item)),
                            ]),
                        )]),
                    )]),
                ),
            ]),
        ),
    ];
    let mut generator = Generator {
        state: 6,
        locals: Vec::new(),
        next_local: 0,
    };
    let mut random = || 4u64;
    let (mut parsed, mut answered, mut defined) = (0, 0, 0);
    for _ in 0..30_000 {
        let source = generator.expr(4);
        let Ok(expression) = Expression::parse(&source) else {
            continue;
        };
        parsed += 1;
        let general = expression.evaluate_general(None, &bindings, &mut env_with(&mut random));
        let shortcut = expression.evaluate_bindings(None, &bindings, &mut env_with(&mut random));
        assert_eq!(shortcut, general, "{source}");
        if let Some(fast) = expression.evaluate_fast(&bindings) {
            assert_eq!(fast, general, "{source} (fast path)");
            answered += 1;
            if matches!(fast, Ok(Some(_))) {
                defined += 1;
            }
        }
    }
    eprintln!("parsed {parsed}, answered {answered}, defined {defined}");
    // The generator must reach the fast path often, or the test proves little.
    assert!(answered > parsed / 5, "{answered} of {parsed}");
    assert!(defined > answered / 3, "{defined} of {answered}");
}

#[test]
fn merges_in_place_agree_with_jsonata_core() {
    let (v, _) = values();
    let mut generator = Generator {
        state: 11,
        locals: Vec::new(),
        next_local: 0,
    };
    let mut random = || 4u64;
    let mut applied = 0;
    for round in 0..3_000 {
        let base = [
            "$v",
            "$states.input",
            "$v.nested",
            "$v.o",
            "$v.arr",
            "$v.nul",
        ][round % 6];
        let mut elements = vec![base.to_owned()];
        for _ in 0..generator.below(3) {
            elements.push(match generator.below(4) {
                0 => generator.expr(2),
                1 => "$v.o".to_owned(),
                _ => format!("{{'a': {}, 'n': {}}}", generator.expr(2), generator.expr(1)),
            });
        }
        let merge = format!("$merge([{}])", elements.join(", "));
        let source = if generator.below(2) == 0 {
            format!("($r := {}; {merge})", generator.expr(2))
        } else {
            merge
        };
        let Ok(expression) = Expression::parse(&source) else {
            continue;
        };
        let bindings = [
            ("v", Binding::Value(&v)),
            (
                "states",
                Binding::Object(vec![("input", Binding::Value(&v))]),
            ),
        ];
        let general = expression.evaluate_general(None, &bindings, &mut env_with(&mut random));
        let Some((variable, keys)) = expression.merge_base() else {
            continue;
        };
        let Some(merge) = expression.evaluate_merge(&bindings, false) else {
            continue;
        };
        let mut target = if variable == "v" {
            &v
        } else {
            assert_eq!(variable, "states");
            assert_eq!(keys.first().map(String::as_str), Some("input"));
            &v
        };
        let skip = usize::from(variable == "states");
        for key in &keys[skip..] {
            target = &target[key.as_str()];
        }
        let merged = merge.map(|merge| Some(merge.apply(target.clone())));
        assert_eq!(merged, general, "{source}");
        applied += 1;
    }
    eprintln!("applied {applied}");
    assert!(applied > 300, "{applied}");
}

/// Paths through arrays, where JSONata's sequence rules apply (flattening, a single value
/// unwrapped, a single array found at the last step kept whole).
#[test]
fn paths_through_arrays_agree_with_jsonata_core() {
    let (v, _) = values();
    let bindings = [
        ("v", Binding::Value(&v)),
        (
            "states",
            Binding::Object(vec![("input", Binding::Value(&v))]),
        ),
    ];
    let cases = [
        "$v.objs.k",
        "$v.objs.v",
        "$v.objs.missing",
        "$v.deep.a",
        "$v.deep.a.b",
        "$v.one.t",
        "$v.one.u",
        "$v.one.t.x",
        "$v.nums.x",
        "$v.arr.k",
        "$v.none.k",
        "$v.objs.k[0]",
        "$states.input.objs.k",
        "$sum($v.objs.k)",
        "$sum($v.deep.a.b)",
        "$count($v.deep.a.b)",
        "$count($v.objs.missing)",
        "[$v.objs.k, 9]",
        "[[$v.objs.k], $v.one.t]",
        "{'k': $v.objs.k, 'one': $v.one.u}",
        "$merge($v.objs)",
        "$v.objs.k = 1",
        "3 in $v.deep.a.b",
        "$exists($v.objs.missing)",
    ];
    let mut answered = 0;
    for source in cases {
        let expression = Expression::parse(source).expect("parses");
        let mut random = || 4u64;
        let general = expression.evaluate_general(None, &bindings, &mut env_with(&mut random));
        let shortcut = expression.evaluate_bindings(None, &bindings, &mut env_with(&mut random));
        assert_eq!(shortcut, general, "{source}");
        if let Some(fast) = expression.evaluate_fast(&bindings) {
            assert_eq!(fast, general, "{source} (fast path)");
            answered += 1;
        }
    }
    assert!(answered >= 15, "{answered}");
}
