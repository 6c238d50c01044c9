//! The facade's own contract: errors, conversion, the injected clock and random source, the
//! limits, the functions AWS adds, and the static checks.

use std::time::{Duration, Instant};

use aslan_jsonata::{Binding, Env, Error, Expression, Limits};
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z

fn counter() -> impl FnMut() -> u64 {
    let mut n = 0u64;
    move || {
        n += 1;
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

fn eval_with(
    source: &str,
    input: &Value,
    bindings: &[(&str, &Value)],
    limits: Limits,
) -> Result<Option<Value>, Error> {
    let mut random = counter();
    let mut env = Env {
        now_millis: NOW,
        random: &mut random,
        limits,
    };
    Expression::parse(source)?.evaluate(input, bindings, &mut env)
}

fn eval(source: &str) -> Result<Option<Value>, Error> {
    eval_with(source, &json!({}), &[], Limits::default())
}

/// The value of an expression that must succeed with a defined result.
fn value(source: &str) -> Value {
    match eval(source) {
        Ok(Some(value)) => value,
        other => panic!("{source}: {other:?}"),
    }
}

fn error(source: &str) -> Error {
    match eval(source) {
        Err(e) => e,
        other => panic!("{source}: expected an error, got {other:?}"),
    }
}

#[test]
fn parse_errors_carry_the_code_apart_from_the_message() {
    let e = Expression::parse("(1 + 2").unwrap_err();
    assert_eq!(e.code, "S0203");
    assert!(!e.message.starts_with("S0203"), "{}", e.message);
    assert_eq!(e.to_string(), format!("S0203: {}", e.message));
    assert_eq!(Expression::parse("'abc").unwrap_err().code, "S0101");
    assert_eq!(Expression::parse("1e999").unwrap_err().code, "S0102");
    let comment = Expression::parse("1 /* no end").unwrap_err();
    assert_eq!(
        (comment.code.as_str(), comment.message.as_str()),
        ("S0106", "Comment has no closing tag")
    );
    assert_eq!(Expression::parse("a b").unwrap_err().code, "S0201");
}

#[test]
fn parse_errors_are_worded_as_jsonata_js_words_them() {
    // Step Functions shows these messages (without the code) in INVALID_JSONATA_EXPRESSION.
    for (source, code, message) in [
        ("1 +", "S0207", "Unexpected end of expression"),
        ("[1, 2", "S0203", r#"Expected "]" before end of expression"#),
        ("[1, 2 3]", "S0202", r#"Expected "]", got 3"#),
        ("{'a' 1}", "S0202", r#"Expected ":", got 1"#),
        ("(1; a 'b')", "S0202", r#"Expected ")", got "b""#),
        (
            "}",
            "S0211",
            r#"The symbol "}" cannot be used as a unary operator"#,
        ),
        ("a, b", "S0201", r#"Syntax error: ",""#),
        (
            "'abc",
            "S0101",
            "String literal must be terminated by a matching quote",
        ),
        ("/abc", "S0302", "No terminating / in regular expression"),
        (
            "$replace('x', /a",
            "S0302",
            "No terminating / in regular expression",
        ),
        (
            "1 / 'abc",
            "S0101",
            "String literal must be terminated by a matching quote",
        ),
        (
            "a@",
            "S0214",
            r#"The right side of "@" must be a variable name (start with $)"#,
        ),
    ] {
        let e = Expression::parse(source).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (code, message),
            "{source}"
        );
    }
}

#[test]
fn evaluation_errors_carry_the_code_apart_from_the_message() {
    let e = error("'a' + 1");
    assert_eq!(e.code, "T2001");
    assert!(!e.message.contains("T2001"), "{}", e.message);
    let e = error("$error('boom')");
    assert_eq!((e.code.as_str(), e.message.as_str()), ("D3137", "boom"));
    assert_eq!(error("$undefinedFunction(1)").code, "T1006");
}

#[test]
fn input_and_bindings() {
    let states = json!({"input": {"x": 2}});
    let v = json!(3);
    let out = eval_with(
        "$states.input.x * $v + $",
        &json!(1),
        &[("states", &states), ("$v", &v)],
        Limits::default(),
    );
    assert_eq!(out, Ok(Some(json!(7))));
    // A binding that the expression does not name is not converted, and changes nothing.
    let big = json!({"a": [1, 2, 3]});
    let out = eval_with("1", &json!(null), &[("unused", &big)], Limits::default());
    assert_eq!(out, Ok(Some(json!(1))));
}

#[test]
fn results_convert_as_json_stringify_does() {
    // Integers stay integers; floats keep every digit.
    assert_eq!(serde_json::to_string(&value("1 + 2")).unwrap(), "3");
    assert_eq!(serde_json::to_string(&value("-0")).unwrap(), "0");
    assert_eq!(value("0.1 + 0.2"), json!(0.30000000000000004));
    assert_eq!(value("90.57"), json!(90.57));
    assert_eq!(
        value("2 * 4503599627370496"),
        json!(9_007_199_254_740_992_i64)
    );
    assert_eq!(value("1e300"), json!(1e300));
    // Undefined.
    assert_eq!(eval("nothing"), Ok(None));
    assert_eq!(eval("$states"), Ok(None));
    // A function is left out: undefined at the top, dropped in an object, null in an array.
    assert_eq!(eval("$uppercase"), Ok(None));
    assert_eq!(value("{'a': 1, 'f': function($x) { $x }}"), json!({"a": 1}));
    assert_eq!(value("[1, $sum]"), json!([1, null]));
    // Object keys keep their order.
    let out = serde_json::to_string(&value("{'z': 1, 'a': 2, 'm': 3}")).unwrap();
    assert_eq!(out, r#"{"z":1,"a":2,"m":3}"#);
}

#[test]
fn undefined_input() {
    let mut random = counter();
    let mut env = Env::new(NOW, &mut random);
    let expr = Expression::parse("$ ? 'defined' : 'undefined'").unwrap();
    let out = expr.evaluate_input(None, &[], &mut env).unwrap();
    assert_eq!(out, Some(json!("undefined")));
    assert_eq!(
        Expression::parse("$")
            .unwrap()
            .evaluate_input(None, &[], &mut env),
        Ok(None)
    );
}

#[test]
fn the_clock_is_the_engines() {
    assert_eq!(value("$now()"), json!("2023-11-14T22:13:20.123Z"));
    assert_eq!(value("$millis()"), json!(NOW));
    assert_eq!(value("$now() = $fromMillis($millis())"), json!(true));
    assert_eq!(value("$now('[Y0001]-[M01]-[D01]')"), json!("2023-11-14"));
    assert_eq!(value("$now('[H01]:[m01]', '+0100')"), json!("23:13"));
    // Before the epoch, and far from it.
    let mut random = counter();
    for (millis, iso) in [
        (-1_i64, "1969-12-31T23:59:59.999Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ] {
        let mut env = Env::new(millis, &mut random);
        let out = Expression::parse("$now()")
            .unwrap()
            .evaluate(&json!(null), &[], &mut env);
        assert_eq!(out, Ok(Some(json!(iso))), "{millis}");
    }
}

#[test]
fn randomness_comes_from_the_engine() {
    let expr =
        Expression::parse("{'a': $random(), 'b': $random(), 'u': $uuid(), 's': $shuffle([1..20])}")
            .unwrap();
    let run = |seed: u64| {
        let mut next = seed;
        let mut random = move || {
            next = next.wrapping_add(1);
            next
        };
        let mut env = Env::new(NOW, &mut random);
        expr.evaluate(&json!(null), &[], &mut env).unwrap().unwrap()
    };
    assert_eq!(run(1), run(1), "the same source gives the same numbers");
    assert_ne!(run(1), run(2), "another source gives others");
    let out = run(7);
    let (a, b) = (out["a"].as_f64().unwrap(), out["b"].as_f64().unwrap());
    assert!((0.0..1.0).contains(&a) && (0.0..1.0).contains(&b) && a != b);
    assert_eq!(out["u"].as_str().map(str::len), Some(36));
    let mut shuffled: Vec<i64> = out["s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_ne!(shuffled, (1..=20).collect::<Vec<_>>());
    shuffled.sort_unstable();
    assert_eq!(shuffled, (1..=20).collect::<Vec<_>>());

    // An expression that cannot draw leaves the engine's source alone.
    let mut draws = 0;
    let mut random = || {
        draws += 1;
        4
    };
    let mut env = Env::new(NOW, &mut random);
    Expression::parse("$sum([1, 2])")
        .unwrap()
        .evaluate(&json!(null), &[], &mut env)
        .unwrap();
    Expression::parse("$random() + $random()")
        .unwrap()
        .evaluate(&json!(null), &[], &mut env)
        .unwrap();
    assert_eq!(draws, 1, "one draw seeds a whole evaluation");
}

#[test]
fn random_with_a_seed_repeats() {
    let a = value("$random(42)");
    assert_eq!(value("$random(42)"), a);
    assert_eq!(value("[$random(42), $random(42)]"), json!([a, a]));
    assert_ne!(value("$random(43)"), a);
    assert!((0.0..1.0).contains(&a.as_f64().unwrap()));
    assert_eq!(value("$random('seed') = $random('seed')"), json!(true));
    assert_eq!(error("$random([1])").code, "T0410");
}

#[test]
fn uuid_is_version_4() {
    let out = value("[$uuid(), $uuid()]");
    let (a, b) = (out[0].as_str().unwrap(), out[1].as_str().unwrap());
    assert_ne!(a, b);
    for id in [a, b] {
        assert_eq!(id.len(), 36, "{id}");
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'), "{id}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}

#[test]
fn partition() {
    assert_eq!(
        value("$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)"),
        json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    );
    assert_eq!(value("$partition([1, 2, 3], 2)"), json!([[1, 2], [3]]));
    assert_eq!(value("$partition([0], 5)"), json!([[0]]));
    assert_eq!(value("$partition([], 2)"), json!([]));
    assert_eq!(value("$partition('a', 2)"), json!([["a"]]));
    assert_eq!(eval("$partition(nothing, 2)"), Ok(None));
    assert_eq!(error("$partition([1], 0)").code, "");
    assert!(error("$partition([1], 1.5)").message.contains("integer"));
    assert_eq!(error("$partition([1], 'x')").code, "T0410");
    assert_eq!(error("$partition([1])").code, "T0410");
}

#[test]
fn range() {
    assert_eq!(value("$range(0, 10, 2)"), json!([0, 2, 4, 6, 8, 10]));
    assert_eq!(value("$range(0, 9, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(value("$range(0, 10, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(value("$range(10, 0, -5)"), json!([10, 5, 0]));
    assert_eq!(value("$range(1, 0, 1)"), json!([]));
    assert_eq!(value("$count($range(1, 1000, 1))"), json!(1000));
    assert!(error("$range(1, 1001, 1)").message.contains("1000"));
    assert!(error("$range(0, 10, 0)").message.contains("zero"));
    assert_eq!(error("$range(0, 10)").code, "T0410");
    assert_eq!(error("$range(0, 'a', 1)").code, "T0410");
}

#[test]
fn hash() {
    assert_eq!(
        value("$hash('', 'MD5')"),
        json!("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(
        value("$hash('abc', 'SHA-1')"),
        json!("a9993e364706816aba3e25717850c26c9cd0d89d")
    );
    assert_eq!(
        value("$hash('abc', 'SHA-256')"),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        value("$hash('abc', 'SHA-384')"),
        json!(
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        )
    );
    assert_eq!(
        value("$hash('abc', 'SHA-512')"),
        json!(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    );
    // Another value hashes as its JSON text.
    assert_eq!(
        value("$hash({'a': 1}, 'MD5') = $hash('{\"a\":1}', 'MD5')"),
        json!(true)
    );
    assert!(error("$hash('abc', 'SHA-3')").message.contains("SHA-3"));
    assert_eq!(error("$hash('abc', 1)").code, "T0410");
    assert_eq!(eval("$hash(nothing, 'MD5')"), Ok(None));
}

#[test]
fn parse() {
    assert_eq!(
        value("$parse('{\"a\": [1, 2.5, \"x\"]}')"),
        json!({"a": [1, 2.5, "x"]})
    );
    assert_eq!(value("$parse('1.1')"), json!(1.1));
    assert_eq!(value("$parse('true')"), json!(true));
    assert_eq!(value("$parse('null')"), json!(null));
    assert_eq!(value("$parse('\"s\"')"), json!("s"));
    assert_eq!(value("$parse('[1]').$count($)"), json!(1));
    assert!(error("$parse('{')").message.contains("not JSON"));
    assert_eq!(error("$parse(1)").code, "T0410");
    assert_eq!(eval("$parse(nothing)"), Ok(None));
}

#[test]
fn aws_functions_can_be_passed_around() {
    assert_eq!(
        value("$map([[1, 2, 3]], function($a) { $partition($a, 2) })"),
        json!([[1, 2], [3]])
    );
    assert_eq!(value("$range(1, 3, 1) ~> $sum()"), json!(6));
    // A function given to $map gets (value, index, array); the extra arguments are ignored.
    assert_eq!(value("$map(['1', '[2]'], $parse)"), json!([1, [2]]));
    assert_eq!(value("$count($distinct($map([1, 2, 3], $uuid)))"), json!(3));
    assert_eq!(
        value("$map([7, 7], $random) ~> $distinct() ~> $count()"),
        json!(1)
    );
}

#[test]
fn runaway_recursion_stops_at_the_depth_limit() {
    let limits = Limits {
        max_depth: 200,
        timeout_ms: 10_000,
    };
    let out = eval_with(
        "($f := function($n) { $n + $f($n + 1) }; $f(1))",
        &json!(null),
        &[],
        limits,
    );
    assert_eq!(out.unwrap_err().code, "D1011");
    // Within the limit, the same recursion works.
    let out = eval_with(
        "($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(30))",
        &json!(null),
        &[],
        limits,
    );
    assert_eq!(out, Ok(Some(json!(30))));
    // The default depth allows a few hundred nested calls.
    assert_eq!(
        value("($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(300))"),
        json!(300)
    );
}

#[test]
fn an_endless_loop_stops_at_the_time_limit() {
    let limits = Limits {
        max_depth: 1000,
        timeout_ms: 100,
    };
    for source in [
        "($f := function() { $f() }; $f())",
        "($f := function($n) { $n > 0 ? $f($n + 1) : 0 }; $f(1))",
        "$count([1..10000000].($ * 2))",
    ] {
        let started = Instant::now();
        let out = eval_with(source, &json!(null), &[], limits);
        assert_eq!(out.unwrap_err().code, "D1012", "{source}");
        assert!(started.elapsed() < Duration::from_secs(5), "{source}");
    }
}

#[test]
fn a_result_nested_too_deep_is_an_error_not_a_crash() {
    let e = error("$reduce([1..5000], function($acc, $v) { {'a': $acc} }, {})");
    assert!(e.message.contains("nested"), "{e}");
    assert_eq!(
        value("$reduce([1..500], function($acc, $v) { {'a': $acc} }, {}) ~> $type()"),
        json!("object")
    );
}

#[test]
fn a_variable_nested_too_deep_is_an_error_on_the_fast_path_too() {
    let mut deep = json!(1.0);
    for _ in 0..1100 {
        deep = json!({ "a": deep });
    }
    let bindings: [(&str, &Value); 1] = [("v", &deep)];
    let run = |source: &str| {
        let mut random = counter();
        let mut env = Env::new(NOW, &mut random);
        Expression::parse(source)
            .unwrap()
            .evaluate_input(None, &bindings, &mut env)
    };
    let fast = run("$v");
    assert!(
        fast.as_ref().is_err_and(|e| e.message.contains("nested")),
        "{fast:?}"
    );
    assert_eq!(fast, run("($v)"));
    // 900 levels left: a value, the same on both paths.
    let path = format!("$v{}", ".a".repeat(200));
    let shallower = run(&path);
    assert!(
        shallower.as_ref().is_ok_and(Option::is_some),
        "{shallower:?}"
    );
    assert_eq!(shallower, run(&format!("({path})")));
}

#[test]
fn expressions_cross_threads() {
    let expr = Expression::parse("$states.input.n * 2").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let expr = expr.clone();
            std::thread::spawn(move || {
                let states = json!({"input": {"n": n}});
                let mut random = counter();
                let mut env = Env::new(NOW, &mut random);
                expr.evaluate(&json!(null), &[("states", &states)], &mut env)
            })
        })
        .collect();
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.join().unwrap(), Ok(Some(json!(n * 2))));
    }
    assert_eq!(format!("{expr:?}"), r#"Expression("$states.input.n * 2")"#);
    assert_eq!(expr.source(), "$states.input.n * 2");
    assert_eq!(expr, Expression::parse("$states.input.n * 2").unwrap());
}

fn aws(source: &str) -> Result<(), Error> {
    Expression::parse(source).unwrap().check_aws_subset()
}

#[test]
fn aws_subset() {
    assert_eq!(aws("$states.input.a ? 1 : 2"), Ok(()));
    assert_eq!(aws("$partition([1], 1)"), Ok(()));
    assert_eq!(aws("$parse('1')"), Ok(()));
    assert_eq!(aws("λ($a)<n:n>{$a}(1)"), Ok(()));
    assert!(
        aws("$states.input.a ?? 1")
            .unwrap_err()
            .message
            .contains("??")
    );
    assert!(
        aws("$states.input.a ?: 1")
            .unwrap_err()
            .message
            .contains("?:")
    );
    assert!(aws("$eval('1 + 1')").unwrap_err().message.contains("$eval"));
    assert!(
        aws("$map(['1'], $eval)")
            .unwrap_err()
            .message
            .contains("$eval")
    );
    assert!(aws("[1, 2].(function($x) { $x ?? 0 })($)").is_err());
    // A function the expression defines itself may be called eval.
    assert_eq!(aws("($eval := function($x) { $x }; $eval(1))"), Ok(()));
}

fn free(source: &str) -> Vec<String> {
    Expression::parse(source).unwrap().free_variables()
}

#[test]
fn free_variables() {
    assert_eq!(free("$states.input.x"), ["states"]);
    assert_eq!(free("$b + $a + $b"), ["a", "b"]);
    assert_eq!(free("($x := 1; $x + $y)"), ["y"]);
    assert_eq!(
        free("($y := $x; $x := 1; $y)"),
        ["x"],
        "read before its binding"
    );
    assert_eq!(free("($x := $x + 1; $x)"), ["x"], "the outer $x");
    assert_eq!(free("function($a) { $a + $b }"), ["b"]);
    assert_eq!(free("$map($l, function($v) { $v * $k })"), ["k", "l"]);
    assert_eq!(
        free("$sum($x) + $count($now())"),
        ["x"],
        "built-ins are not variables"
    );
    assert_eq!(free("$partition($a, 2) ~> $hash('MD5')"), ["a"]);
    assert_eq!(free("$myFunction(1)"), ["myFunction"]);
    assert!(free("($f := function($n) { $n = 0 ? 0 : $f($n - 1) }; $f(3))").is_empty());
    assert!(
        free(
            "($even := function($n) { $n = 0 ? true : $odd($n - 1) };
              $odd := function($n) { $n = 0 ? false : $even($n - 1) };
              $odd(3))"
        )
        .is_empty(),
        "mutual recursion"
    );
    assert!(free("books@$b.authors[$b.x]").is_empty(), "a focus binding");
    assert!(free("items#$i[$i > 1]").is_empty(), "an index binding");
    assert!(
        free("books@$b^($b.title)").is_empty(),
        "a focus binding in a sort"
    );
    assert_eq!(
        free("[(a; $x := 1), $x]"),
        ["x"],
        "a block's binding ends with it"
    );
    assert_eq!(free("$ + $$ + a.b"), Vec::<String>::new());
    assert_eq!(free("|$|{'a': $v}|"), ["v"]);
}

fn top(source: &str) -> Vec<String> {
    Expression::parse(source)
        .unwrap()
        .top_level_input_reads()
        .to_vec()
}

#[test]
fn top_level_input_reads() {
    assert_eq!(top("phone"), ["phone"]);
    assert_eq!(top("phone.number"), ["phone"]);
    assert_eq!(top("$.phone"), ["$"]);
    assert_eq!(top("$"), ["$"]);
    assert_eq!(top("$$.a"), ["$$"]);
    assert_eq!(top("$states.input.a[b > 1].c"), Vec::<String>::new());
    assert_eq!(top("$count(items) + x"), ["items", "x"]);
    assert_eq!(top("{'a': b}"), ["b"]);
    assert_eq!(top("$states.input.items.($.x)"), Vec::<String>::new());
    assert_eq!(
        top("$map($states.input.l, function($v) { $v.x })"),
        Vec::<String>::new()
    );
    assert_eq!(top("$states.input.l^(name)"), Vec::<String>::new());
    assert_eq!(top("$states.input ~> |a|{'b': c}|"), Vec::<String>::new());
}

#[test]
fn error_display() {
    let e = Error {
        code: String::new(),
        message: "plain".to_owned(),
        position: None,
    };
    assert_eq!(e.to_string(), "plain");
}

/// The facade converts only the fields a variable is read through (`$v.a.b` converts `a.b`,
/// not the rest of `$v`) and evaluates the simplest expressions (`$v.a`, `$v.i + 1`,
/// `$v.x >= 0`) on the `serde_json` values without jsonata-core. Neither may change a result:
/// each expression must give what it gives through jsonata-core with every variable converted
/// whole (`Expression::evaluate_general`).
#[test]
fn pruned_and_fast_evaluation_agree_with_the_general_path() {
    let v = json!({
        "a": {"b": 1, "c": [1, 2, 3], "d": {"e": "x"}, "f": [], "g": [7], "h": [[1, 2], [3]]},
        "arr": [{"x": 1}, {"x": 2, "y": {"z": 3}}],
        "n": 2.5, "i": 7, "big": 18446744073709551615u64, "whole": 3.0, "neg": -0.0,
        "s": "text", "t": true, "nul": null,
        "k e y": {"a.b": 5},
        "nested": {"deep": {"deeper": {"deepest": [1.0, {"q": 2.0}]}}}
    });
    let states = json!({"input": v, "context": {"Map": {"Item": {"Index": 3, "Value": {"k": 9}}}}});
    let cases = [
        // paths
        "$v",
        "$v.a",
        "$v.a.b",
        "$v.a.c",
        "$v.a.f",
        "$v.a.g",
        "$v.a.h",
        "$v.a.d.e",
        "$v.missing",
        "$v.missing.x",
        "$v.a.b.x",
        "$v.s.x",
        "$v.nul.x",
        "$v.arr",
        "$v.arr.x",
        "$v.arr.y.z",
        "$v.n",
        "$v.big",
        "$v.whole",
        "$v.neg",
        "$v.nested",
        "$v.`k e y`.`a.b`",
        "$nothere.a",
        "$states.input.a.b",
        "$states.context.Map.Item.Value.k",
        "$states.context.Map.Item.Index",
        "$states.input.arr[1].y",
        "$states.input.arr[x = 2]",
        "$states.input.a.c[0]",
        "$states.input.a.c[]",
        "$states.input.a.g[]",
        "$states.input.a.*",
        "$states.input.a.**",
        "$states.input.a.b.%",
        "$states.input.a.d.e.%.%.b",
        "$states.input.a.c[%.b = 1]",
        "$states.input.a.d.%.b",
        "$states.input.a@$x.$x.b",
        "$states.input.arr#$i.x",
        "$states.input.arr@$it & ''",
        "$states.input.a@$x",
        "$states.input.arr@$x.x",
        "$states.input.arr#$i",
        "$states.input.arr[0]#$i",
        "$states.input.a.c@$c.b",
        "$string($states.input.arr@$it.$it)",
        "$states.input.a.{'k': b}",
        "$states.input.a.$keys()",
        "$keys($states.input.a)",
        "$states.input.arr^(>x).x",
        "$states.input.a.(b + 1)",
        "$string($states.input.a.d)",
        "$states.input.a.d ~> $keys",
        "$states.input.a.d.e & $v.s",
        "$states",
        "$lookup($states.input, 'i')",
        "$states.input.a.c.$",
        // arithmetic and comparisons
        "$v.i + 1",
        "$v.i - $v.n",
        "$v.i * 2",
        "$v.i / 4",
        "$v.i % 4",
        "$v.i / 0",
        "-$v.i",
        "$v.i + $v.missing",
        "$v.i + $v.s",
        "$v.s + 1",
        "$v.big * 1000",
        "$v.i < 10",
        "$v.i <= 7",
        "$v.i > 7",
        "$v.i >= 7.5",
        "$v.i = 7",
        "$v.i != 7",
        "$v.s = 'text'",
        "$v.s != 'text'",
        "$v.s = 1",
        "$v.s < 'u'",
        "$v.i < $v.missing",
        "$v.i = $v.missing",
        "$v.t = true",
        "$v.a.c = [1, 2, 3]",
        "$v.nul = null",
        "$v.i > 0 and $v.i < 10",
        "$v.i > 9 and $v.s",
        "$v.i > 0 or $v.missing",
        "$v.i < 0 or $v.i > 100",
        "$v.t and $v.i",
        "$v.t or $v.s",
        "$exists($v.i)",
        "$exists($v.missing)",
        "$exists($v.nul)",
        "$exists($v.arr.x)",
        "$exists($v.i) and $v.i >= 0",
        "1 + 2",
        "'a' = 'a'",
        "true",
        "null",
        "1.5",
        "'s'",
        "($v.i + 1) * 2",
        "$v.i + 1 = 8",
        "$states.input.i < 10000",
        "$states.input.sum + $states.input.i",
    ];
    let fresh = || counter();
    for source in cases {
        let mut random = fresh();
        let mut env = Env::new(NOW, &mut random);
        let bindings: [(&str, &Value); 2] = [("v", &v), ("states", &states)];
        let got = Expression::parse(source)
            .unwrap()
            .evaluate_input(None, &bindings, &mut env);
        let mut random = fresh();
        let mut env = Env::new(NOW, &mut random);
        let general: Vec<(&str, Binding<'_>)> = bindings
            .iter()
            .map(|(name, value)| (*name, Binding::Value(value)))
            .collect();
        let want = Expression::parse(source)
            .unwrap()
            .evaluate_general(None, &general, &mut env);
        assert_eq!(got, want, "{source}");

        // `$states` assembled from borrowed parts gives the same.
        let item = json!({"k": 9});
        let assembled = [
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
                                    ("Index", Binding::Owned(json!(3))),
                                    ("Value", Binding::Value(&item)),
                                ]),
                            )]),
                        )]),
                    ),
                ]),
            ),
        ];
        let mut random = fresh();
        let mut env = Env::new(NOW, &mut random);
        let got = Expression::parse(source)
            .unwrap()
            .evaluate_bindings(None, &assembled, &mut env);
        assert_eq!(got, want, "{source} (assembled)");
    }
}

#[test]
fn an_assembled_binding_is_the_object_of_its_members() {
    let input = json!({"a": 1});
    let binding = Binding::Object(vec![
        ("input", Binding::Value(&input)),
        ("x", Binding::Owned(json!("first"))),
        ("x", Binding::Owned(json!("last"))),
    ]);
    assert_eq!(binding.to_value(), json!({"input": {"a": 1}, "x": "last"}));
    for source in [
        "$states",
        "$states.x",
        "$keys($states)",
        "$states.input.a + 1",
    ] {
        let mut random = counter();
        let mut env = Env::new(NOW, &mut random);
        let expression = Expression::parse(source).unwrap();
        let assembled =
            expression.evaluate_bindings(None, &[("states", binding.clone())], &mut env);
        let whole = binding.to_value();
        let mut env = Env::new(NOW, &mut random);
        let plain = expression.evaluate_input(None, &[("states", &whole)], &mut env);
        assert_eq!(assembled, plain, "{source}");
    }
}
