use jsonata_core::parser::parse;
fn main() {
    for src in std::env::args().skip(1) {
        match parse(&src) {
            Ok(ast) => println!("{src}\n{ast:#?}"),
            Err(e) => println!("{src}\nERR {e:?} / {e}"),
        }
    }
}
