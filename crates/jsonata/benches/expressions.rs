//! Evaluation throughput of representative Step Functions JSONata expressions, through the
//! facade as the interpreter calls it: `$states` assembled from a borrowed input and context,
//! `Expression::evaluate_bindings`. Prints one line per expression: evaluations per second,
//! nanoseconds per evaluation, the same through jsonata-core with the input converted whole
//! (what every evaluation cost before the facade had shortcuts), and whether the facade's fast
//! path answered it (otherwise jsonata-core evaluated it, converting only what it reads). The
//! allocator is the binary's (mimalloc), since evaluation allocates.
//!
//! Run: `cargo bench -p aslan-jsonata --bench expressions` (add `-- FILTER` to run the
//! expressions whose name contains FILTER). The figures are recorded in docs/benchmarks.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aslan_jsonata::{Binding, Env, Expression};
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long each expression is timed (twice: through the facade and through jsonata-core),
/// after a tenth of that as warm-up.
const MEASURE: Duration = Duration::from_millis(400);

/// The expressions: a name for the table and the source, as it would appear in `{% %}`.
const EXPRESSIONS: &[(&str, &str)] = &[
    ("path", "$states.input.order.id"),
    ("path to an object", "$states.input.customer"),
    ("arithmetic", "$states.input.n + 1"),
    (
        "Choice condition",
        "$states.input.n > 10 and $states.input.status = 'active'",
    ),
    (
        "exists and compare",
        "$exists($states.input.n) and $states.input.n >= 0",
    ),
    ("concatenation", "$states.input.a & '-' & $states.input.b"),
    ("$string", "$string($states.input.n)"),
    ("conditional", "$states.input.n > 10 ? 'big' : 'small'"),
    (
        "object constructor",
        "{'id': $states.input.order.id, 'total': $states.input.n * 2}",
    ),
    ("context field", "$states.context.Execution.Name"),
    ("Map item field", "$states.context.Map.Item.Value.sku"),
    ("$count", "$count($states.input.items)"),
    ("$merge with the input", "$merge([$states.input, {'x': 1}])"),
    (
        "block and index",
        "($r := $states.input.items[0]; {'sku': $r.sku, 'price': $r.price})",
    ),
    ("filter", "$states.input.order.items[price > 10].sku"),
    ("$sum over a path", "$sum($states.input.items.price)"),
    (
        "$map with a lambda",
        "$map($states.input.items, function($v) { $v.price * $v.qty })",
    ),
    (
        "$filter with a lambda",
        "$filter($states.input.items, function($v) { $v.qty > 1 })",
    ),
    (
        "string functions",
        "$uppercase($substring($states.input.customer.name, 0, 3))",
    ),
    ("group by", "$states.input.items{sku: $sum(price)}"),
];

fn input() -> Value {
    let items = || -> Vec<Value> {
        (0..10)
            .map(|i| json!({"sku": format!("sku-{i}"), "price": 4 + i * 2, "qty": 1 + i % 3}))
            .collect()
    };
    json!({
        "order": {"id": "order-1234", "items": items(), "placed": "2024-11-01T10:00:00Z"},
        "customer": {"id": "c-42", "name": "Alice Example", "email": "alice@example.com",
                     "address": {"city": "Lyon", "zip": "69001"}},
        "items": items(),
        "n": 42,
        "status": "active",
        "a": "left",
        "b": "right"
    })
}

/// Nanoseconds per call of `evaluate`, after a warm-up.
fn time(mut evaluate: impl FnMut()) -> f64 {
    let warm_up = Instant::now();
    while warm_up.elapsed() < MEASURE / 10 {
        evaluate();
    }
    let start = Instant::now();
    let mut count = 0u64;
    // Check the clock every 64 evaluations: reading it costs as much as the fastest ones.
    while start.elapsed() < MEASURE {
        for _ in 0..64 {
            evaluate();
        }
        count += 64;
    }
    start.elapsed().as_secs_f64() * 1e9 / count as f64
}

fn main() {
    let filter = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .unwrap_or_default();
    let input = input();
    let item = json!({"sku": "sku-3", "price": 10, "qty": 1});
    let name = Value::from("bench-execution");
    let id = Value::from("arn:aws:states:us-east-1:123456789012:execution:Bench:bench-execution");
    let index = json!(3);
    let execution = [("Id", Binding::Value(&id)), ("Name", Binding::Value(&name))];
    let map_item = [
        ("Index", Binding::Value(&index)),
        ("Value", Binding::Value(&item)),
    ];
    let map = [("Item", Binding::Members(&map_item))];
    let context = [
        ("Execution", Binding::Members(&execution)),
        ("Map", Binding::Members(&map)),
    ];
    let states = [
        ("input", Binding::Value(&input)),
        ("context", Binding::Members(&context)),
    ];
    let bindings = [("states", Binding::Members(&states))];
    let mut state = 1u64;
    let mut random = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state
    };

    println!(
        "{:<24} {:>14} {:>10} {:>12}  fast path",
        "expression", "evaluations/s", "ns each", "core ns each"
    );
    for (label, source) in EXPRESSIONS {
        if !label.contains(filter.as_str()) {
            continue;
        }
        let expression = Expression::parse(source).expect("the benchmark's expressions parse");
        let facade = time(|| {
            let mut env = Env::new(1_700_000_000_000, &mut random);
            let result = expression.evaluate_bindings(None, black_box(&bindings), &mut env);
            black_box(result).expect("the benchmark's expressions evaluate");
        });
        // The same through jsonata-core alone, with the input converted whole: what every
        // evaluation cost before the facade had its shortcuts.
        let core = time(|| {
            let mut env = Env::new(1_700_000_000_000, &mut random);
            let result = expression.evaluate_general(None, black_box(&bindings), &mut env);
            black_box(result).expect("the benchmark's expressions evaluate");
        });
        let answered = expression.evaluate_fast(&bindings).is_some();
        println!(
            "{label:<24} {:>14.0} {:>10.0} {:>12.0}  {}",
            1e9 / facade,
            facade,
            core,
            if answered { "yes" } else { "no" }
        );
    }
    // The interpreter's way with `$merge([$states.input, ...])`: the members only, inserted
    // into the input it owns (the copy below stands for that input and is not timed).
    if "$merge in place".contains(filter.as_str()) {
        let expression = Expression::parse("$merge([$states.input, {'x': 1}])").expect("parses");
        let mut count = 0u64;
        let mut busy = Duration::ZERO;
        while busy < MEASURE {
            let owned = input.clone();
            let start = Instant::now();
            for _ in 0..64 {
                let merge = expression
                    .evaluate_merge(black_box(&bindings), true)
                    .expect("a simple merge")
                    .expect("no error");
                black_box(&merge);
            }
            let merged = expression
                .evaluate_merge(&bindings, true)
                .expect("a simple merge")
                .expect("no error")
                .apply(owned);
            busy += start.elapsed();
            black_box(merged);
            count += 65;
        }
        let seconds = busy.as_secs_f64();
        println!(
            "{:<24} {:>14.0} {:>10.0} {:>12}  yes",
            "$merge in place",
            count as f64 / seconds,
            seconds * 1e9 / count as f64,
            "-"
        );
    }
}
