//! Prints the console's drawing of a definition: `cargo run -p aslan-console --example
//! graph_svg -- DEFINITION > graph.svg`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: graph_svg DEFINITION");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            std::process::exit(2);
        }
    };
    let parsed = aslan_asl::parse(&text, aslan_asl::LoadOptions::default());
    let Some(definition) = parsed.definition else {
        eprintln!("invalid definition: {:?}", parsed.diagnostics);
        std::process::exit(1);
    };
    let layout = aslan_console::layout::layout(&definition);
    let svg = aslan_console::svg::render(&layout);
    std::io::Write::write_all(&mut std::io::stdout(), svg.as_bytes()).expect("stdout");
}
