//! Prints what the extractor reads from each file named on the command line: one line per
//! segment (`location | role | text`, text escaped and cut at 80 characters), then the errors.

fn main() {
    let extractor = miji_extract::Extractor::default();
    for arg in std::env::args_os().skip(1) {
        let doc = extractor.extract_path(std::path::Path::new(&arg));
        println!(
            "== {} ({} bytes, encoding {:?})",
            arg.to_string_lossy(),
            doc.bytes,
            doc.encoding
        );
        for s in &doc.segments {
            let text: String = s.text.escape_debug().take(80).collect();
            println!("  {} | {} | {}", s.location.join("!/"), s.role, text);
        }
        for e in &doc.errors {
            println!(
                "  ERROR {} at {:?}: {}",
                e.kind,
                e.location.join("!/"),
                e.message
            );
        }
        for m in &doc.members {
            println!("  member {}", m.join("!/"));
        }
    }
}
