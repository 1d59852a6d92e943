//! The C ABI turns panics into `MIJI_ERR_PANIC` with `catch_unwind`; that only works when the
//! workspace's release profile unwinds. `panic = "abort"` would turn every bug into a crash of
//! the host process.

#[test]
fn release_profile_does_not_abort_on_panic() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let text = std::fs::read_to_string(&manifest).expect("the workspace Cargo.toml is readable");
    let doc: toml::Table = text.parse().expect("the workspace Cargo.toml parses");
    let profiles = doc.get("profile").and_then(|p| p.as_table());
    let panic_of = |name: &str| {
        profiles
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("panic"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    assert_ne!(
        panic_of("release").as_deref(),
        Some("abort"),
        "[profile.release] sets panic = \"abort\" in {}",
        manifest.display()
    );
    // Profiles that inherit from release (or are used for the shipped library) must not abort either.
    for (name, profile) in profiles.into_iter().flatten() {
        let panic = profile.get("panic").and_then(|v| v.as_str());
        assert_ne!(
            panic,
            Some("abort"),
            "[profile.{name}] sets panic = \"abort\": the C ABI needs unwinding"
        );
    }
}
