//! The committed `include/miji.h` must be exactly what cbindgen generates from the sources.
//! Run with `MIJI_UPDATE_HEADER=1` to regenerate it.

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = dir.join("include/miji.h");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("MIJI_UPDATE_HEADER").is_some_and(|v| v == "1") {
        if committed != generated {
            std::fs::write(&path, &generated).expect("write include/miji.h");
        }
        return;
    }
    assert!(
        committed == generated,
        "bindings/c/include/miji.h is stale: run `MIJI_UPDATE_HEADER=1 cargo test -p miji-capi --test header` and commit it"
    );
    for export in [
        "miji_scan",
        "miji_scan_file",
        "miji_report_json",
        "miji_last_error",
        "MIJI_ABI_VERSION",
    ] {
        assert!(
            generated.contains(export),
            "{export} missing from the header"
        );
    }
}
